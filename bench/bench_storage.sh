#!/usr/bin/env bash
# bench_storage.sh: florabatch's memory and disk against the size of outputs.
#
# Each cell runs N items whose runs each make one output of SIZE bytes
# (florasim --output-bytes: real media followed by filler made as it is
# sent), all N in flight, over loopback, into a fresh folder. Reported:
# peak RSS of florabatch, wall, and the folder's bytes at rest against the
# outputs' bytes (the volume, the record, the journal; no second copy).
#
#   bench/bench_storage.sh                   2M x 1000, 50M x 16, 500M x 16
#   CELLS='50M:16' bench/bench_storage.sh    one cell (SIZE:IN_FLIGHT)
#   SMOKE=1 bench/bench_storage.sh           2M x 16 (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_binaries
if [ "${SMOKE:-0}" = 1 ]; then CELLS=${CELLS:-2M:16}; fi
CELLS=${CELLS:-2M:1000 50M:16 500M:16}
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-storage.XXXXXX")
trap 'rm -rf "$work"' EXIT
bytes_of() {
	case $1 in
	*K) echo $((${1%K} * 1024)) ;; *M) echo $((${1%M} * 1048576)) ;;
	*G) echo $((${1%G} * 1073741824)) ;; *) echo "$1" ;;
	esac
}
echo "| output size | in flight | runs | peak RSS MiB | wall s | folder at rest / outputs |"
echo "|---|---|---|---|---|---|"
for cell in $CELLS; do
	size=${cell%%:*} n=${cell##*:}
	m=$work/m.csv
	bench_manifest "$n" "$m"
	exec {simfd}< <(exec "$SIM" --port 0 --max-seconds 3600 --quiet --api-key k --latency 0 \
		--run-time 1s --run-time-sigma 0 --output-bytes "$size" 2>/dev/null)
	sim_pid=$!
	read -r line <&"$simfd"
	url=${line##* }
	rm -rf "$work/out"
	FLORA_API_KEY=k /usr/bin/time -f '%e %M' -o "$work/time" "$FB" run "$m" --transport http \
		--base-url "$url" --technique cctv-cam --out "$work/out" --concurrency "$n" --quiet
	kill "$sim_pid" 2>/dev/null || true
	exec {simfd}<&-
	read -r wall rss_kb <"$work/time"
	done=$(jq -r 'select(.status=="completed") | .id' "$work/out/results.jsonl" | wc -l)
	[ "$done" -eq "$n" ] || { echo "bench_storage: $done of $n completed" >&2; exit 1; }
	folder=$(du -sb "$work/out" | cut -f1)
	outputs=$(($(bytes_of "$size") * n))
	ratio=$(awk -v f="$folder" -v o="$outputs" 'BEGIN { printf "%.3f", f / o }')
	rss=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
	echo "| $size | $n | $n | $rss | $wall | $ratio |"
	echo "{\"bench\":\"storage\",\"output_size\":\"$size\",\"in_flight\":$n,\"peak_rss_mib\":$rss,\"wall_s\":$wall,\"folder_over_outputs\":$ratio}"
done
