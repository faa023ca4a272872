#!/bin/sh
# The checks too long for CI (./scripts/test.sh), run once a night: data
# races under ThreadSanitizer (scripts/tsan.sh), memory errors and leaks of
# the end-to-end tests under valgrind (scripts/valgrind.sh), five minutes
# of fuzzing per harness (scripts/fuzz.sh 300) and the full benchmarks
# (bench/run.sh). About two hours on 2 cores. Every check runs
# whatever the others did; a line for each at the end says how it went and
# how long it took. Exits 1 when any failed (a skipped one, for want of
# clang's libFuzzer, does not fail).
set -u
cd "$(dirname "$0")/.." || exit 2

status=0
summary=""
check() { # NAME COMMAND...
	name=$1
	shift
	echo "== nightly: $name: $*"
	t0=$(date +%s)
	rc=0
	"$@" || rc=$?
	case $rc in
	0) result=ok ;;
	77) result=skipped ;;
	*)
		result="FAILED (exit $rc)"
		status=1
		;;
	esac
	summary="$summary$(printf '%-9s %s in %s s' "$name" "$result" $(($(date +%s) - t0)))
"
}

check tsan ./scripts/tsan.sh
check valgrind ./scripts/valgrind.sh
check fuzz ./scripts/fuzz.sh 300
check bench ./bench/run.sh

printf '== nightly summary\n%s' "$summary"
exit "$status"
