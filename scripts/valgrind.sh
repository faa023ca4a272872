#!/bin/sh
# The end-to-end tests (ctest -R '^e2e\.') with every florabatch and
# florasim they start run under valgrind's memcheck: any invalid read or
# write, use of an uninitialised value, bad free or definitely lost block
# fails the run. Builds in build-valgrind/ (an optimised build with debug
# information, like the one CI tests). The binaries are slowed some
# fifty times, so tests that measure memory or time check only what still
# holds there (tests/e2e/wrap.sh, e2e_wrapped). Each process writes its
# own report; the reports that hold anything are printed at the end.
# Exits 1 on a failed test or any report. VALGRIND_TESTS narrows the tests
# (a ctest regex, e.g. 'e2e\.test_folder').
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

build="build-valgrind"
tests=${VALGRIND_TESTS:-'^e2e\.'}
jobs=$(nproc)

echo "== build in $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFB_WERROR=ON \
	-DFB_E2E_TIMEOUT=3600 >/dev/null
targets="florabatch florasim"
for src in tests/e2e/test_*.c; do
	name=${src##*/}
	targets="$targets ${name%.c}"
done
# shellcheck disable=SC2086
cmake --build "$build" -j"$jobs" --target $targets

logs=$(pwd)/$build/valgrind
rm -rf "$logs"
mkdir -p "$logs"
# Definite leaks count as errors; memory still reachable at exit (libraries'
# caches, OpenMP's thread pool) and blocks only possibly lost (pointers into
# the middle of a block, as libgomp keeps its threads') do not. With
# --quiet a report holds only errors ("==pid==" lines) and valgrind's own
# notes ("--pid--" lines, e.g. that it does not know openat2, which makes
# the program take its fallback: not an error of the program).
FB_E2E_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full \
--show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=30 \
--log-file=$logs/%p.log"
export FB_E2E_WRAPPER

echo "== end-to-end tests under valgrind (reports in $logs)"
status=0
ctest --test-dir "$build" --output-on-failure -j"$jobs" -R "$tests" || status=1

bad=0
for f in "$logs"/*.log; do
	grep -q '^==[0-9]*==' "$f" || continue
	bad=$((bad + 1))
	echo "== valgrind report $f"
	cat "$f"
done
if [ "$bad" -gt 0 ]; then
	echo "valgrind: $bad process(es) with errors or definite leaks" >&2
	status=1
fi
exit "$status"
