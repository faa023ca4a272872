#!/usr/bin/env bash
# bench_grid.sh: florabatch against the peers a user would otherwise write
# (bench/peers/: Python asyncio + aiohttp, Node.js with the official SDK;
# both poll every run every 2 s), across what the API contract leaves open:
#
#   estimate   absent (the contract's nested create has none) | exact | wrong (x3 or /3)
#   latency    0 | uniform 0-300 ms per API answer
#   run time   1 s fixed | 20 s mean, log-normal (sigma 0.5)
#   in flight  50 | 1000
#
# Each contender runs the same cctv-cam job against a fresh florasim, with
# durations drawn by creation order (--run-time-by order), so every
# contender meets the same times. Per cell and contender: wall, wall /
# ideal (ideal = runs x mean run time / in flight: what a client that
# noticed every run the moment it ended would approach), API requests per
# completed run (creates + polls + list pages; downloads apart), client CPU
# per run (user + sys of the whole process tree), peak RSS, and whether the
# result is complete and correct (bench/lib.sh).
#
#   bench/bench_grid.sh                    the whole grid (about 30 minutes)
#   CELLS='absent/0-300/1s/50 exact/0/20s/1000' bench/bench_grid.sh
#   EST=absent LAT=0-300 RT=1s CONC=50 bench/bench_grid.sh   one value per axis
#   SMOKE=1 bench/bench_grid.sh            one cell at 40 runs (CI)
#   RUNS=N                                 runs per cell instead of the sizes below
#   CONTENDERS='florabatch python node'    who runs (default all three)
#
# Sizes: 1 s cells 300 runs at 50 in flight, 3000 at 1000; 20 s cells 200
# at 50, 2000 at 1000 (four rounds of in-flight runs, two at 1000). The 20 s
# cells run their contenders at the same time, each against its own florasim:
# they wait far more than they work. Rows go to standard output as a
# markdown table and as one JSON line each.
set -euo pipefail
cd "$(dirname "$0")/.."
TMO=${TIMEOUT:-900}
KEY=bench-grid-key
PEERS=bench/peers
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_install_peers
bench_binaries

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-grid.XXXXXX")
trap 'rm -rf "$work"' EXIT
bench_write_treerss

if [ "${SMOKE:-0}" = 1 ]; then
	CELLS=${CELLS:-absent/0-300/1s/50}
	RUNS=${RUNS:-40}
fi
contenders=${CONTENDERS:-florabatch python node}
cells=()
if [ -n "${CELLS:-}" ]; then
	read -r -a cells <<<"$CELLS"
else
	for rt in ${RT:-1s 20s}; do
		for conc in ${CONC:-50 1000}; do
			for lat in ${LAT:-0 0-300}; do
				for est in ${EST:-absent exact wrong}; do cells+=("$est/$lat/$rt/$conc"); done
			done
		done
	done
fi

rows=$work/rows
: >"$rows"
for cell in "${cells[@]}"; do
	IFS=/ read -r est lat rt conc <<<"$cell"
	case $rt in
	1s) simrt=(--run-time 1s --run-time-sigma 0) mean=1 ;;
	20s) simrt=(--run-time 20s --run-time-sigma 0.5) mean=20 ;;
	*) echo "bench_grid: run time $rt: expected 1s or 20s" >&2 && exit 2 ;;
	esac
	case $lat in
	0) simlat=(--latency 0) ;;
	0-300) simlat=(--latency 0-300ms) ;;
	*) echo "bench_grid: latency $lat: expected 0 or 0-300" >&2 && exit 2 ;;
	esac
	n=${RUNS:-}
	if [ -z "$n" ]; then
		case $rt/$conc in
		1s/50) n=300 ;; 1s/*) n=$((3 * conc)) ;;
		20s/50) n=200 ;; 20s/*) n=$((2 * conc)) ;;
		esac
	fi
	m=$work/m-$n.csv
	[ -f "$m" ] || bench_manifest "$n" "$m"
	tag=$(tr '/' '_' <<<"$cell")
	sim=("${simrt[@]}" "${simlat[@]}" --estimate "$est" --run-time-by order ${SIM_EXTRA:-})
	echo "== $cell: $n runs" >&2
	if [ "$rt" = 20s ]; then
		for c in $contenders; do
			bench_contend "$tag" "$c" "$m" "$n" "$conc" "${sim[@]}" >"$work/row-$c" &
		done
		wait
	else
		for c in $contenders; do bench_contend "$tag" "$c" "$m" "$n" "$conc" "${sim[@]}" >"$work/row-$c"; done
	fi
	# cell runs conc mean: appended so the report can compute ideal and ratios
	for c in $contenders; do
		awk -v s="$cell $n $conc $mean" '{print $0, s}' "$work/row-$c" | tee -a "$rows" |
			awk '{printf "  %-10s %6ss %s\n", $2, $3, $12}' >&2
	done
done

# Report: a markdown table, then one JSON line per row.
awk '
BEGIN {
	print "| estimate | latency | run time | in flight | runs | contender | wall s | wall / ideal | API requests / run | CPU ms / run | peak RSS MiB | correct |"
	print "|---|---|---|---|---|---|---|---|---|---|---|---|"
}
{
	split($13, c, "/"); runs = $14; conc = $15; mean = $16
	ideal = runs * mean / conc
	api = ($8 + $9 + $10) / runs
	cpu = 1000 * ($4 + $5) / runs
	printf "| %s | %s | %s | %s | %d | %s | %.1f | %.2f | %.2f | %.3f | %.1f | %s |\n", c[1], (c[2] == "0" ? "0" : c[2] " ms"), c[3], conc, runs, $2, $3, $3 / ideal, api, cpu, $6, $12
	json[NR] = sprintf("{\"bench\":\"grid\",\"estimate\":\"%s\",\"latency\":\"%s\",\"run_time\":\"%s\",\"in_flight\":%d,\"runs\":%d,\"contender\":\"%s\",\"wall_s\":%s,\"wall_over_ideal\":%.3f,\"api_requests_per_run\":%.3f,\"cpu_ms_per_run\":%.4f,\"peak_rss_mib\":%s,\"correct\":%s}", c[1], c[2], c[3], conc, runs, $2, $3, $3 / ideal, api, cpu, $6, ($12 == "yes" ? "true" : "false"))
}
END { for (i = 1; i <= NR; i++) print json[i] }' "$rows"
# A contender that is not correct fails the smoke run.
if [ "${SMOKE:-0}" = 1 ] && awk '$12 != "yes" { bad = 1 } END { exit !bad }' "$rows"; then
	echo "bench_grid: a contender's result was not complete and correct" >&2
	exit 1
fi
