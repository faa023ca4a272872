#!/bin/sh
# Builds the libFuzzer harnesses of tests/fuzz (clang, -fsanitize=fuzzer,
# address,undefined; the core and transports libraries built with the same
# flags) and runs each for SECONDS (default 60) over a copy of its corpus
# in tests/fuzz/corpus/<name>/, printing one line per harness: its name,
# executions per second and the corpus size it reached. `fuzz.sh 0` or
# `fuzz.sh --replay` only runs every corpus file once. Exits 1 on any
# crash, leak or undefined behaviour, naming the saved input; 77 when
# clang with libFuzzer is missing (ctest counts that as skipped).
# FUZZ_BUILD names the build folder (default build-fuzz), FUZZ_ONLY a
# harness to run alone (e.g. csv). FUZZ_SAVE=1 merges what a run found
# into tests/fuzz/corpus/ (only inputs that reach new code), to commit.
set -eu
cd "$(dirname "$0")/.."

secs=60
case "${1:-}" in
--replay) secs=0 ;;
'') ;;
*[!0-9]*)
	echo "usage: scripts/fuzz.sh [SECONDS|--replay]" >&2
	exit 2
	;;
*) secs=$1 ;;
esac
build=${FUZZ_BUILD:-build-fuzz}
cc=${FUZZ_CC:-clang}

work=$(mktemp -d "${TMPDIR:-/tmp}/fb-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# libFuzzer ships with clang's runtime (Debian: libclang-rt-14-dev), not with clang itself.
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz: skipped: no $cc (scripts/install-deps.sh installs it)"
	exit 77
fi
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$work/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" >/dev/null 2>&1; then
	echo "fuzz: skipped: $cc cannot link libFuzzer (scripts/install-deps.sh installs it)"
	exit 77
fi

echo "== build harnesses in $build"
CC=$cc cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFB_FUZZ=ON \
	-DBUILD_TESTING=OFF >"$work/cmake.log" 2>&1 || {
	cat "$work/cmake.log"
	exit 1
}
cmake --build "$build" -j"$(nproc)" --target fuzz >"$work/build.log" 2>&1 || {
	cat "$work/build.log"
	exit 1
}

case $build in
/*) crashes=$build/fuzz-crashes ;;
*) crashes=$(pwd)/$build/fuzz-crashes ;;
esac
mkdir -p "$crashes"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
if [ "$secs" -eq 0 ]; then
	echo "== replay every corpus file once"
else
	echo "== fuzz each harness for ${secs}s"
fi
for src in tests/fuzz/fuzz_*.c; do
	name=${src##*/fuzz_}
	name=${name%.c}
	[ -z "${FUZZ_ONLY:-}" ] || [ "$FUZZ_ONLY" = "$name" ] || continue
	bin=$build/tests/fuzz/fuzz_$name
	seeds=tests/fuzz/corpus/$name
	log=$work/$name.log
	corpus=$work/corpus-$name
	mkdir -p "$corpus"
	[ -d "$seeds" ] && cp "$seeds"/* "$corpus"/ 2>/dev/null || true
	if [ "$secs" -eq 0 ]; then
		set -- -runs=0
	else
		set -- -max_total_time="$secs"
	fi
	if "$bin" "$@" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$crashes/$name-" "$corpus" >"$log" 2>&1; then
		execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
		printf '%-12s %8s exec/s  corpus %s files\n' "$name" "${execs:-?}" \
			"$(find "$corpus" -type f | wc -l)"
		if [ "${FUZZ_SAVE:-0}" = 1 ] && [ "$secs" -gt 0 ]; then
			mkdir -p "$seeds"
			"$bin" -merge=1 "$seeds" "$corpus" >"$log.merge" 2>&1 ||
				echo "  (could not merge into $seeds; see $log.merge)"
		fi
	else
		failed=1
		printf '%-12s CRASH\n' "$name"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5 | sed 's/^/  /'
		input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		echo "  input: ${input:-(see the log below)}"
		[ -n "$input" ] || tail -n 30 "$log"
	fi
done
exit "$failed"
