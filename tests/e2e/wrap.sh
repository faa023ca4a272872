#!/bin/sh
# Runs one end-to-end test program: wrap.sh PROGRAM [ARGS...]. With
# FB_E2E_WRAPPER set to a command and its options (shell words, as
# scripts/valgrind.sh sets it), the florabatch and florasim that the test
# drives run under that command: FB_BIN and FLORASIM_BIN point at two
# launchers that exec it with the real binary, so every way a test starts
# them (a shell command, execve, a pid it signals) goes through it, and a
# pid the test holds is still the program's. Without it the test runs as is.
set -eu
[ -n "${FB_E2E_WRAPPER:-}" ] || exec "$@"

dir=$(mktemp -d "${TMPDIR:-/tmp}/fb-e2e-wrap.XXXXXX")
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
launcher() { # NAME REAL
	case $2 in
	*\'*)
		echo "wrap.sh: a quote in $2" >&2
		exit 2
		;;
	esac
	printf '#!/bin/sh\nexec %s '\''%s'\'' "$@"\n' "$FB_E2E_WRAPPER" "$2" >"$dir/$1"
	chmod +x "$dir/$1"
}
launcher florabatch "${FB_BIN:?}"
launcher florasim "${FLORASIM_BIN:?}"
FB_BIN=$dir/florabatch FLORASIM_BIN=$dir/florasim
export FB_BIN FLORASIM_BIN
"$@"
