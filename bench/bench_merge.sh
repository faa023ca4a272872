#!/usr/bin/env bash
# bench_merge.sh: what `florabatch merge` costs, and that its memory does
# not follow the folders' size beyond its 56-byte record a line.
#
# MERGE_FOLDERS folders of MERGE_ITEMS items each (the shards of one manifest) are made
# with the in-process simulator on a virtual clock, one output each; then
# three merges are measured with /usr/bin/time (wall, user + system CPU,
# peak RSS):
#   shards   the MERGE_FOLDERS folders into a new folder (every volume copied whole)
#   again    the same merge into the same folder (it is made again, the same)
#   overlap  the folders and one more, a later run of half of the first
#            folder's items: that half is taken from the last folder, so the
#            first folder's volume is written again with the other half only
# Each merged folder is checked: one line per item, every output once.
#
#   bench/bench_merge.sh                       4 x 25,000 (about a minute to make)
#   MERGE_FOLDERS=4 MERGE_ITEMS=2500 bench/bench_merge.sh  a size of seconds
#   SMOKE=1 bench/bench_merge.sh               4 x 500 (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_binaries
if [ "${SMOKE:-0}" = 1 ]; then MERGE_FOLDERS=${MERGE_FOLDERS:-4} MERGE_ITEMS=${MERGE_ITEMS:-500}; fi
MERGE_FOLDERS=${MERGE_FOLDERS:-4}
MERGE_ITEMS=${MERGE_ITEMS:-25000}
work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/bench-merge.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Folder k holds items s<k>-000001 ... of cctv-cam.
shard() {
	local k=$1 from=$2 to=$3 out=$4
	shift 4
	{
		echo id,input_image
		for i in $(seq -f %06g "$from" "$to"); do
			echo "s$k-$i,https://storage.googleapis.com/bench/$k/$i.png"
		done
	} >"$work/m-$k-$from.csv"
	"$FB" run "$work/m-$k-$from.csv" --technique cctv-cam --out "$out" --quiet \
		--concurrency 1000 "$@"
}
for k in $(seq 1 "$MERGE_FOLDERS"); do
	shard "$k" 1 "$MERGE_ITEMS" "$work/shard-$k" --sim-clock virtual
done
# Later than every virtual-clock line: the real clock, runs of 10 ms.
shard 1 1 $((MERGE_ITEMS / 2)) "$work/later" --sim-run-time 10ms --sim-latency 1ms

total=$((MERGE_FOLDERS * MERGE_ITEMS))
echo "| merge | folders | lines in | items out | volumes (copied) | wall s | CPU s | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
measure() {
	local name=$1 out=$2
	shift 2
	local st=0
	/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$FB" merge "$out" "$@" 2>"$work/err" || st=$?
	if [ "$st" -gt 1 ]; then
		cat "$work/err" >&2
		echo "bench_merge: merge $name exited $st" >&2
		exit 1
	fi
	read -r wall user sys rss_kb <"$work/time"
	local lines items ids vols copied cpu rss
	lines=0
	for d in "$@"; do lines=$((lines + $(wc -l <"$d/results.jsonl"))); done
	items=$(wc -l <"$out/results.jsonl")
	ids=$(jq -r .id "$out/results.jsonl" | sort -u | wc -l)
	if [ "$items" -ne "$total" ] || [ "$ids" -ne "$total" ]; then
		echo "bench_merge: $name: $items lines, $ids ids, for $total items" >&2
		exit 1
	fi
	# every output once: the volumes' entries against the lines' paths
	local entries paths
	entries=$(for v in "$out"/outputs*.tar.gz; do tar -tzf "$v"; done | sort | uniq | wc -l)
	paths=$(jq -r '.outputs[].path' "$out/results.jsonl" | sort -u | wc -l)
	if [ "$entries" -ne "$paths" ]; then
		echo "bench_merge: $name: $entries entries, $paths outputs" >&2
		exit 1
	fi
	vols=$(jq .volumes "$out/merge.json")
	copied=$(jq .copied "$out/merge.json")
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	rss=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
	echo "| $name | $# | $lines | $items | $vols ($copied) | $wall | $cpu | $rss |"
	echo "{\"bench\":\"merge\",\"merge\":\"$name\",\"folders\":$#,\"lines_in\":$lines,\"items\":$items,\"volumes\":$vols,\"copied\":$copied,\"wall_s\":$wall,\"cpu_s\":$cpu,\"peak_rss_mib\":$rss}"
}
shards=()
for k in $(seq 1 "$MERGE_FOLDERS"); do shards+=("$work/shard-$k"); done
measure shards "$work/all" "${shards[@]}"
measure again "$work/all" "${shards[@]}"
measure overlap "$work/over" "${shards[@]}" "$work/later"
