#!/bin/sh
# The second command of README.md, and what CI runs: the whole test suite
# (cmocka unit tests and end-to-end tests of the built binary), twice: a
# warnings-as-errors build, and an AddressSanitizer + UBSan build. Also
# checks that every C file is formatted as .clang-format says.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

jobs=$(nproc)
# One test more than cores: most end-to-end tests spend their time waiting
# on runs, timers and a local server, not on a core (2 cores: 290 s of
# tests at -j2, 226 s at -j3).
tjobs=$((jobs + 1))
echo "== format check"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files

echo "== build (warnings are errors) and test"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFB_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$tjobs"

echo "== build with AddressSanitizer + UBSan and test"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFB_WERROR=ON -DFB_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --test-dir build-asan --output-on-failure -j"$tjobs"
