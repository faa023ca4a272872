#!/bin/sh
# Installs the Debian packages florabatch needs to build, test and benchmark
# (scdoc builds the man pages; bash-completion and zsh check the completions;
# clang, its libFuzzer runtime and its OpenMP build the fuzz harnesses and
# the ThreadSanitizer build, LLVM's OpenMP bringing the Archer tool that
# TSan needs; valgrind runs the end-to-end tests in scripts/valgrind.sh;
# openssl makes the self-signed certificate of the TLS test; GNU parallel,
# Slurm and munge run the scale-out recipes of examples/scale-out: the Slurm
# test starts daemons of its own, so the packages' services are neither
# configured nor needed).
# The one place that names them; README's set-up command and .ci/run call it.
# Installs only what is missing, so a second run costs nothing.
set -eu

PKGS="build-essential cmake pkg-config git ca-certificates
libcurl4-openssl-dev libyajl-dev libarchive-dev libssl-dev libzstd-dev
libcmocka-dev libmicrohttpd-dev zlib1g-dev zstd jq openssl
scdoc bash-completion zsh
clang libclang-rt-14-dev libomp-dev valgrind
parallel slurm-wlm munge"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
