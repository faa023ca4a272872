#!/usr/bin/env bash
# bench_shards.sh: one manifest run as 1, 2 and 4 shards at once on this
# machine against one florasim over loopback HTTP, then the shard folders
# merged: what sharding costs (client CPU, memory, 429s, API requests) and
# that nothing is lost or done twice.
#
# Every row starts a fresh florasim that follows the contract: runs of
# SHARD_RUN_TIME on average (log-normal, florasim's default spread), no
# estimate in the create answer, every answer delayed by SHARD_LATENCY, and a
# workspace rate limit of SHARD_RATE requests a second (beyond it, 429 with
# Retry-After). The N shards of the same SHARD_ITEMS-row manifest are
# started at once, each with its own --out and `--shard K/N`, and every one
# is given the workspace's figures: --rate SHARD_RATE (florabatch gives each
# shard 1/N of it) and a share of SHARD_CONCURRENCY runs in flight. Rows
# are N:IN_FLIGHT_PER_SHARD; the default compares
#   1:C  2:C/2  4:C/4   the same runs in flight in total, split evenly
#   4:C                 every shard with the whole C (4 x C in flight)
# Measured per row: wall from the first start to the last exit, client CPU
# (user + system summed over the N processes, /usr/bin/time), peak RSS of
# each process, florasim's CPU, and from GET /_sim/stats the API requests
# (downloads included, the stats call not), the 429s and the runs created.
# The 1-minute load average is noted before and after each row (the row's
# own processes count in the second).
#
# Checks: every shard exits 0; the shards' lines together hold every item
# once, completed; florasim created one run per item (no key twice). Each
# row of more than one shard is then merged (`florabatch merge`, measured
# the same way: wall, CPU, peak RSS against the issue's 64 MiB), and the
# merged folder, like the 1-shard folder, is checked whole: one line per
# item, every item completed, and every output in the archive volumes exactly
# once with the sha256 its line gives.
#
#   bench/bench_shards.sh                       100,000 items (about 20 minutes)
#   SHARD_ITEMS=10000 SHARD_ROWS='1:1000 4:250' bench/bench_shards.sh
#   SMOKE=1 bench/bench_shards.sh               100 items, runs of 100 ms, 3 rows (CI)
#
# Also SHARD_CONCURRENCY (C, default 1000), SHARD_RATE (default 1000),
# SHARD_RUN_TIME (default 2s), SHARD_LATENCY (default 20-80ms),
# SHARD_TIMEOUT (seconds a row may take, default 3600).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
for tool in jq curl python3; do
	command -v "$tool" >/dev/null || {
		echo "bench_shards: $tool is missing (Debian: apt-get install $tool)" >&2
		exit 2
	}
done
[ -x /usr/bin/time ] || {
	echo "bench_shards: /usr/bin/time is missing (Debian: apt-get install time)" >&2
	exit 2
}
bench_binaries
if [ "${SMOKE:-0}" = 1 ]; then
	SHARD_ITEMS=${SHARD_ITEMS:-100} SHARD_CONCURRENCY=${SHARD_CONCURRENCY:-20}
	SHARD_RATE=${SHARD_RATE:-500} SHARD_RUN_TIME=${SHARD_RUN_TIME:-100ms}
	SHARD_LATENCY=${SHARD_LATENCY:-0-20ms} SHARD_ROWS=${SHARD_ROWS:-1:20 2:10 4:5}
fi
SHARD_ITEMS=${SHARD_ITEMS:-100000}
SHARD_CONCURRENCY=${SHARD_CONCURRENCY:-1000}
SHARD_RATE=${SHARD_RATE:-1000}
SHARD_RUN_TIME=${SHARD_RUN_TIME:-2s}
SHARD_LATENCY=${SHARD_LATENCY:-20-80ms}
SHARD_TIMEOUT=${SHARD_TIMEOUT:-3600}
C=$SHARD_CONCURRENCY
SHARD_ROWS=${SHARD_ROWS:-1:$C 2:$((C / 2)) 4:$((C / 4)) 4:$C}
KEY=sk_test_bench_shards
MERGE_LIMIT_MIB=64
work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/bench-shards.XXXXXX")
trap 'rm -rf "$work"' EXIT
bench_manifest "$SHARD_ITEMS" "$work/m.csv"
tick=$(getconf CLK_TCK)

load1() { cut -d' ' -f1 /proc/loadavg; }
fail() {
	echo "bench_shards: $*" >&2
	exit 1
}

# Every archive entry of a folder's volumes as "path sha256", one a line.
cat >"$work/entries.py" <<'PY'
import glob, hashlib, sys, tarfile
for vol in sorted(glob.glob(sys.argv[1] + "/outputs*.tar*")):
    with tarfile.open(vol, "r|*") as tar:
        for m in tar:
            if m.isfile():
                print(m.name, hashlib.sha256(tar.extractfile(m).read()).hexdigest())
PY

# check_folder NAME DIR: one line per item, each completed, and the volumes
# holding every output of the lines once, with the line's sha256.
check_folder() {
	local name=$1 dir=$2 lines ids completed
	lines=$(wc -l <"$dir/results.jsonl")
	ids=$(jq -r .id "$dir/results.jsonl" | sort -u | wc -l)
	completed=$(jq -r 'select(.status == "completed") | .id' "$dir/results.jsonl" | sort -u | wc -l)
	if [ "$lines" -ne "$SHARD_ITEMS" ] || [ "$ids" -ne "$SHARD_ITEMS" ] || [ "$completed" -ne "$SHARD_ITEMS" ]; then
		fail "$name: $lines lines, $ids ids, $completed completed, for $SHARD_ITEMS items"
	fi
	jq -r '.outputs[] | "\(.path) \(.sha256)"' "$dir/results.jsonl" | sort >"$work/want"
	python3 "$work/entries.py" "$dir" | sort >"$work/have"
	local outs entries twice
	outs=$(wc -l <"$work/want")
	entries=$(wc -l <"$work/have")
	twice=$(cut -d' ' -f1 "$work/have" | uniq -d | wc -l)
	[ "$twice" -eq 0 ] || fail "$name: $twice outputs are in the archive more than once"
	cmp -s "$work/want" "$work/have" ||
		fail "$name: the archive's $entries entries and the lines' $outs outputs differ" \
			"($(comm -3 "$work/want" "$work/have" | wc -l) path/sha256 pairs on one side only)"
	[ "$outs" -ge "$SHARD_ITEMS" ] || fail "$name: $outs outputs for $SHARD_ITEMS items"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "$SHARD_ITEMS items, workspace rate $SHARD_RATE/s, runs of $SHARD_RUN_TIME (log-normal)," \
	"latency $SHARD_LATENCY; $(nproc) cores"
echo "| shards | in flight per shard (total) | wall s | client CPU s | CPU µs / item | peak RSS MiB per shard | florasim CPU s | API requests | requests / item | own GETs / list pages | 429s | runs created | load before / after | correct |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
merges=()
for row in $SHARD_ROWS; do
	n=${row%%:*} conc=${row#*:}
	tag=$n-$conc
	rm -rf "$work/s-$tag-"*
	load_before=$(load1)
	exec {simfd}< <(exec "$SIM" --port 0 --quiet --api-key "$KEY" --run-time "$SHARD_RUN_TIME" \
		--latency "$SHARD_LATENCY" --rate-limit "$SHARD_RATE" \
		--max-seconds "$((SHARD_TIMEOUT + 60))" 2>>"$work/florasim-$tag.log")
	sim_pid=$!
	read -r line <&"$simfd"
	url=${line##* }
	pids=()
	t0=$(date +%s.%N)
	for k in $(seq 1 "$n"); do
		FLORA_API_KEY=$KEY timeout "$SHARD_TIMEOUT" /usr/bin/time -f '%e %U %S %M' -o "$work/time-$tag-$k" \
			"$FB" run "$work/m.csv" --transport http --base-url "$url" --technique cctv-cam \
			--shard "$k/$n" --out "$work/s-$tag-$k" --rate "$SHARD_RATE" --concurrency "$conc" \
			--quiet >"$work/log-$tag-$k" 2>&1 &
		pids+=($!)
	done
	rcs=()
	for p in "${pids[@]}"; do
		rc=0
		wait "$p" || rc=$?
		rcs+=("$rc")
	done
	t1=$(date +%s.%N)
	stats=$(curl -s "$url/_sim/stats")
	read -r sut sst < <(cut -d')' -f2- "/proc/$sim_pid/stat" | awk '{ print $12, $13 }')
	kill "$sim_pid" 2>/dev/null || true
	wait "$sim_pid" 2>/dev/null || true
	exec {simfd}<&-
	load_after=$(load1)

	cpu=0 rss_list="" rss_max=0
	for k in $(seq 1 "$n"); do
		[ "${rcs[k - 1]}" -eq 0 ] || {
			tail -n 5 "$work/log-$tag-$k" >&2
			fail "$tag: shard $k/$n exited ${rcs[k - 1]}"
		}
		read -r _ user sys rss_kb < <(tail -n 1 "$work/time-$tag-$k")
		cpu=$(awk -v c="$cpu" -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", c + u + s }')
		rss_list=${rss_list:+$rss_list, }$(mib "$rss_kb")
		[ "$rss_kb" -le "$rss_max" ] || rss_max=$rss_kb
	done
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	sim_cpu=$(awk -v u="$sut" -v s="$sst" -v t="$tick" 'BEGIN { printf "%.2f", (u + s) / t }')
	reqs=$(jq '.requests - (.endpoints["GET /_sim/stats"] // 0)' <<<"$stats")
	limited=$(jq .rate_limited <<<"$stats")
	polls=$(jq .polls <<<"$stats")
	lists=$(jq .lists <<<"$stats")
	created=$(jq .runs_created <<<"$stats")
	maxkey=$(jq .max_runs_per_key <<<"$stats")
	if [ "$created" -ne "$SHARD_ITEMS" ] || [ "$maxkey" -ne 1 ]; then
		fail "$tag: florasim created $created runs for $SHARD_ITEMS items (at most $maxkey for one key)"
	fi

	# The shards' lines together: every item once, in one shard only.
	cat "$work/s-$tag-"*/results.jsonl >"$work/all.jsonl"
	all=$(wc -l <"$work/all.jsonl")
	ids=$(jq -r 'select(.status == "completed") | .id' "$work/all.jsonl" | sort -u | wc -l)
	if [ "$all" -ne "$SHARD_ITEMS" ] || [ "$ids" -ne "$SHARD_ITEMS" ]; then
		fail "$tag: the shards hold $all lines, $ids items completed, for $SHARD_ITEMS items"
	fi
	[ "$n" -gt 1 ] || check_folder "$tag" "$work/s-$tag-1"

	per_item=$(awk -v c="$cpu" -v n="$SHARD_ITEMS" 'BEGIN { printf "%.0f", c * 1e6 / n }')
	rpi=$(awk -v r="$reqs" -v n="$SHARD_ITEMS" 'BEGIN { printf "%.2f", r / n }')
	echo "| $n | $conc ($((n * conc))) | $wall | $cpu | $per_item | $rss_list | $sim_cpu | $reqs | $rpi | $polls / $lists | $limited | $created | $load_before / $load_after | yes |"
	echo "{\"bench\":\"shards\",\"items\":$SHARD_ITEMS,\"shards\":$n,\"concurrency_per_shard\":$conc,\"rate\":$SHARD_RATE,\"wall_s\":$wall,\"client_cpu_s\":$cpu,\"peak_rss_mib_max\":$(mib "$rss_max"),\"florasim_cpu_s\":$sim_cpu,\"api_requests\":$reqs,\"polls\":$polls,\"lists\":$lists,\"rate_limited\":$limited,\"runs_created\":$created,\"load_before\":$load_before,\"load_after\":$load_after,\"correct\":true}"

	if [ "$n" -gt 1 ]; then
		dirs=()
		for k in $(seq 1 "$n"); do dirs+=("$work/s-$tag-$k"); done
		mload=$(load1)
		st=0
		/usr/bin/time -f '%e %U %S %M' -o "$work/time-merge-$tag" \
			"$FB" merge "$work/merged-$tag" "${dirs[@]}" >"$work/log-merge-$tag" 2>&1 || st=$?
		[ "$st" -eq 0 ] || {
			cat "$work/log-merge-$tag" >&2
			fail "$tag: merge exited $st"
		}
		read -r mwall muser msys mrss_kb < <(tail -n 1 "$work/time-merge-$tag")
		check_folder "merge of $tag" "$work/merged-$tag"
		mcpu=$(awk -v u="$muser" -v s="$msys" 'BEGIN { printf "%.2f", u + s }')
		mrss=$(mib "$mrss_kb")
		within=yes
		[ "$mrss_kb" -le $((MERGE_LIMIT_MIB * 1024)) ] || within=no
		vols=$(jq .volumes "$work/merged-$tag/merge.json")
		merges+=("| $n x ~$((SHARD_ITEMS / n)) (in flight $conc each) | $SHARD_ITEMS | $vols | $mwall | $mcpu | $mrss | $within | $mload | yes |")
		echo "{\"bench\":\"shards-merge\",\"items\":$SHARD_ITEMS,\"folders\":$n,\"volumes\":$vols,\"wall_s\":$mwall,\"cpu_s\":$mcpu,\"peak_rss_mib\":$mrss,\"within_${MERGE_LIMIT_MIB}_mib\":\"$within\",\"load\":$mload,\"correct\":true}"
		rm -rf "$work/merged-$tag"
	fi
	rm -rf "$work/s-$tag-"* "$work/all.jsonl"
done
if [ ${#merges[@]} -gt 0 ]; then
	echo
	echo "| merge | items out | volumes | wall s | CPU s | peak RSS MiB | ≤ $MERGE_LIMIT_MIB MiB | load before | correct |"
	echo "|---|---|---|---|---|---|---|---|---|"
	printf '%s\n' "${merges[@]}"
fi
