#!/usr/bin/env bash
# bench_history.sh: what a nightly re-run costs as the folder's history grows.
#
# 1. Re-run cost. A folder is filled with a history of outputs of 40 MB
#    (100 MB, 1 GB, 10 GB of them, made by ten invocations, so it holds ten
#    volumes); then one invocation adds one more item. Reported: that
#    invocation's CPU (user + system) and wall, and the folder's bytes at
#    rest against the outputs'. The cost must not follow the history.
# 2. Re-scan of an unchanged folder of 10,000 images (100 KiB each): a
#    re-run of a finished batch, with and without the stat cache
#    (local-hashes.tsv), with the page cache warm and, when this user may
#    drop it (root), cold.
#
# Both use the in-process simulator on a virtual clock: only florabatch's
# own work is measured.
#
#   bench/bench_history.sh                    100M 1G 10G, and 10,000 files
#   HISTORIES='1G' FILES=2000 bench/bench_history.sh
#   SMOKE=1 bench/bench_history.sh            40M 80M, 200 files (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_binaries
if [ "${SMOKE:-0}" = 1 ]; then
	HISTORIES=${HISTORIES:-40M 80M} FILES=${FILES:-200} OUT_SIZE=${OUT_SIZE:-4M}
fi
HISTORIES=${HISTORIES:-100M 1G 10G}
FILES=${FILES:-10000}
OUT_SIZE=${OUT_SIZE:-40M}
work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/bench-history.XXXXXX")
trap 'rm -rf "$work"' EXIT
bytes_of() {
	case $1 in
	*K) echo $((${1%K} * 1024)) ;; *M) echo $((${1%M} * 1048576)) ;;
	*G) echo $((${1%G} * 1073741824)) ;; *) echo "$1" ;;
	esac
}
run_fb() { "$FB" run "$@" --technique cctv-cam --sim-clock virtual --quiet; }

echo "| history | outputs | volumes before | re-run CPU s | re-run wall s | folder at rest / outputs |"
echo "|---|---|---|---|---|---|"
out_bytes=$(bytes_of "$OUT_SIZE")
for h in $HISTORIES; do
	n=$(($(bytes_of "$h") / out_bytes))
	[ "$n" -ge 1 ] || n=1
	rm -rf "$work/hist"
	bench_manifest $((n + 1)) "$work/all.csv"
	# The history: ten invocations, each adding a tenth of the items.
	step=$(((n + 9) / 10))
	for ((k = step; k < n + step; k += step)); do
		upto=$((k < n ? k : n))
		head -n $((upto + 1)) "$work/all.csv" >"$work/m.csv"
		run_fb "$work/m.csv" --out "$work/hist" --sim-output-bytes "$OUT_SIZE"
	done
	vols=$(wc -l <"$work/hist/volumes.jsonl")
	/usr/bin/time -f '%U %S %e' -o "$work/time" \
		"$FB" run "$work/all.csv" --technique cctv-cam --sim-clock virtual --quiet \
		--out "$work/hist" --sim-output-bytes "$OUT_SIZE"
	read -r user sys wall <"$work/time"
	done=$(jq -r 'select(.status=="completed") | .id' "$work/hist/results.jsonl" | wc -l)
	[ "$done" -eq $((n + 1)) ] || { echo "bench_history: $done of $((n + 1)) completed" >&2; exit 1; }
	folder=$(du -sb "$work/hist" | cut -f1)
	ratio=$(awk -v f="$folder" -v o="$((out_bytes * (n + 1)))" 'BEGIN { printf "%.3f", f / o }')
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	echo "| $h | $n | $vols | $cpu | $wall | $ratio |"
	echo "{\"bench\":\"history\",\"history\":\"$h\",\"outputs\":$n,\"volumes\":$vols,\"rerun_cpu_s\":$cpu,\"rerun_wall_s\":$wall,\"folder_over_outputs\":$ratio}"
done
rm -rf "$work/hist"

# 2. Re-scan.
mkdir -p "$work/imgs"
python3 - "$work/imgs" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "%03d" % (i // 1000))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "%05d.png" % i), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + os.urandom(100 * 1024 - 8))
PY
touch -d '1 hour ago' "$work"/imgs/*/*
run_fb "$work/imgs" --out "$work/scan" --workspace ws_accept --concurrency 256
can_drop=0
if [ -w /proc/sys/vm/drop_caches ] && [ "${SMOKE:-0}" != 1 ]; then can_drop=1; fi
rescan() { # label, whether to keep the stat cache, whether to drop the page cache
	[ "$2" = 1 ] || rm -f "$work/scan/local-hashes.tsv"
	if [ "$3" = 1 ]; then sync && echo 3 >/proc/sys/vm/drop_caches; fi
	/usr/bin/time -f '%U %S %e' -o "$work/time" "$FB" run "$work/imgs" --technique cctv-cam \
		--sim-clock virtual --out "$work/scan" --workspace ws_accept --quiet
	read -r user sys wall <"$work/time"
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	echo "| $1 | $FILES | $cpu | $wall |"
	echo "{\"bench\":\"rescan\",\"case\":\"$1\",\"files\":$FILES,\"cpu_s\":$cpu,\"wall_s\":$wall}" >>"$work/json"
	# Leave the cache as a whole scan leaves it, for the next case.
	"$FB" run "$work/imgs" --technique cctv-cam --sim-clock virtual --out "$work/scan" \
		--workspace ws_accept --quiet
}
: >"$work/json"
echo
echo "| re-scan of an unchanged folder | files | CPU s | wall s |"
echo "|---|---|---|---|"
rescan "no stat cache, page cache warm" 0 0
[ "$can_drop" = 0 ] || rescan "no stat cache, page cache cold" 0 1
[ "$can_drop" = 0 ] || rescan "stat cache, page cache cold" 1 1
rescan "stat cache, page cache warm" 1 0
cat "$work/json"
