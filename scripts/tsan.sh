#!/bin/sh
# ThreadSanitizer over the code that runs on more than one thread: the
# OpenMP file hashing (hashfiles, and the folder runs that use it), the
# live manifest's reader thread (feed, through the streaming tests), and
# the driver and poller around them. Builds with clang in build-tsan/
# (-DFB_TSAN=ON) and runs those unit and end-to-end tests, florabatch and
# florasim built with TSan too. Exits 1 on a failed test or any TSan report
# (printed at the end, one file per process).
#
# Why clang: GCC's libgomp is not instrumented, so TSan cannot see the
# order its barriers give and reports every parallel loop. LLVM's libomp
# loads its Archer tool (libarcher, in libomp-14-dev) when the program runs
# under TSan, and Archer tells TSan what the barriers order. The runtime's
# own internals are still uninstrumented code TSan would misread, hence
# ignore_noninstrumented_modules=1: accesses made inside libomp and the
# other uninstrumented libraries (libcurl, libarchive, libmicrohttpd) are
# not checked; ours, and the synchronisation those libraries do through
# pthreads, are. The run stops if Archer did not load, since without it
# the result cannot be trusted either way.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

build="build-tsan"
units="hashfiles driver poller"
e2es="folder symlinks stream batch"
jobs=$(nproc)

targets="florabatch florasim"
regex=""
for t in $units; do
	targets="$targets test_$t"
	regex="$regex|unit\\.test_$t\$"
done
for t in $e2es; do
	targets="$targets test_$t"
	regex="$regex|e2e\\.test_$t\$"
done
regex=${regex#|}

echo "== build with ThreadSanitizer in $build"
# The week-long stream takes a minute under TSan on 2 idle cores: room for a busy machine.
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFB_WERROR=ON \
	-DFB_TSAN=ON -DFB_E2E_TIMEOUT=900 >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j"$jobs" --target $targets

logs=$(pwd)/$build/tsan
rm -rf "$logs"
mkdir -p "$logs"
# halt_on_error=0: every race of a process is reported, not only the first;
# a process that saw one still exits 66, so its test fails too.
TSAN_OPTIONS="ignore_noninstrumented_modules=1 halt_on_error=0 second_deadlock_stack=1 \
log_path=$logs/tsan ${TSAN_OPTIONS:-}"
OMP_TOOL_VERBOSE_INIT=$logs/omp-tool.txt
export TSAN_OPTIONS OMP_TOOL_VERBOSE_INIT

echo "== threaded tests under ThreadSanitizer (reports in $logs)"
status=0
ctest --test-dir "$build" --output-on-failure -j"$jobs" -R "$regex" || status=1

if ! grep -q "Tool was started" "$logs/omp-tool.txt" 2>/dev/null; then
	echo "tsan: LLVM's OpenMP did not load its Archer tool, so OpenMP races cannot be told" >&2
	echo "tsan: from false reports (libomp-14-dev ships libarcher.so):" >&2
	cat "$logs/omp-tool.txt" >&2 2>/dev/null || true
	status=1
fi
bad=0
for f in "$logs"/tsan.*; do
	[ -e "$f" ] || continue
	bad=$((bad + 1))
	echo "== ThreadSanitizer report $f"
	cat "$f"
done
if [ "$bad" -gt 0 ]; then
	echo "tsan: $bad process(es) reported races or other thread errors" >&2
	status=1
fi
exit "$status"
