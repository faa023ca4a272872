#!/usr/bin/env bash
# bench_peers.sh: florabatch against the scripts a user would write instead
# (bench/peers/: curl+jq+xargs, Python asyncio+aiohttp, Node.js with the
# official SDK), each doing the same full job on the same manifest against a
# fresh florasim: create every cctv-cam run with an idempotency key, poll it
# every 2 s until it ends, download every output, write results.jsonl and
# outputs.tar.gz. Measures wall time, user+sys CPU and peak RSS of each
# contender's whole process tree, requests sent, and checks the result.
#
#   RUNS=2000 CONCURRENCY=200 ROUNDS=1 TIMEOUT=900 bench/bench_peers.sh
#
# Installs what the peers need when it is missing: the Debian packages
# python3-aiohttp, jq, curl, time (apt-get, with sudo when not root) and the
# SDK @flora-ai/flora 0.11.0 into bench/peers/node_modules (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-2000}
CONC=${CONCURRENCY:-200}
ROUNDS=${ROUNDS:-1}
TMO=${TIMEOUT:-900}
KEY=bench-peers-key
PEERS=bench/peers

# ---- what the peers need --------------------------------------------------
missing=()
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
[ -x /usr/bin/time ] || missing+=(time)
/usr/bin/python3 -c 'import aiohttp' 2>/dev/null || missing+=(python3-aiohttp)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing Debian packages: ${missing[*]}" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get install -y "${missing[@]}" >&2 ||
		{ $sudo apt-get update >&2 && $sudo apt-get install -y "${missing[@]}" >&2; }
fi
if [ ! -d $PEERS/node_modules/@flora-ai/flora ]; then
	echo "installing @flora-ai/flora 0.11.0 into $PEERS/node_modules" >&2
	(cd $PEERS && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi) >&2
fi
# FLORABATCH and FLORASIM name other builds (the CI smoke run uses its own).
if [ -z "${FLORABATCH:-}" ] && { [ ! -x build-bench/cmd/florabatch ] || [ ! -x build-bench/cmd/florasim ]; }; then
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
	cmake --build build-bench -j"$(nproc)" >/dev/null
fi
FB=${FLORABATCH:-$PWD/build-bench/cmd/florabatch}
SIM=${FLORASIM:-$PWD/build-bench/cmd/florasim}

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-peers.XXXXXX")
sim_pid=""
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

m=$work/m.csv
{
	echo id,input_image
	for i in $(seq -f %06g 1 "$RUNS"); do echo "item-$i,https://example.com/img/$i.png"; done
} >"$m"

# Peak RSS of a whole process tree (the sum over the root and all its
# descendants, sampled every 100 ms): /usr/bin/time's %M is only the largest
# single process, which undercounts xargs' hundreds of curls.
cat >"$work/treerss.py" <<'PY'
import os, sys, time
root, out = int(sys.argv[1]), sys.argv[2]
page, peak = os.sysconf("SC_PAGE_SIZE"), 0
while os.path.exists(f"/proc/{root}"):
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(p))
            except (OSError, ValueError, IndexError):
                pass
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        todo += kids.get(p, [])
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, ValueError):
            pass
    peak = max(peak, total)
    time.sleep(0.1)
with open(out, "w") as f:
    f.write(f"{peak / 1048576:.1f}\n")
PY

start_sim() {
	coproc SIMP { exec "$SIM" --port 0 --max-seconds "$((TMO + 60))" --quiet --api-key "$KEY" --run-time 1s 2>>"$work/florasim.log"; }
	sim_pid=$SIMP_PID
	read -r line <&"${SIMP[0]}"
	URL=${line##* }
}

stop_sim() {
	kill "$sim_pid" 2>/dev/null || true
	wait "$sim_pid" 2>/dev/null || true
	sim_pid=""
}

# run_one NAME: one contender against a fresh florasim; appends a row to $work/rows
run_one() {
	local name=$1 dir=$work/out-$1 tf=$work/time-$1 rf=$work/rss-$1 rc=0
	rm -rf "$dir"
	mkdir -p "$dir"
	start_sim
	local cmd
	case $name in
	florabatch) cmd=("$FB" run "$m" --transport http --base-url "$URL" --technique cctv-cam
		--out "$dir" --concurrency "$CONC" --quiet) ;;
	bash) cmd=(bash $PEERS/bash_xargs.sh "$m" "$dir" "$CONC") ;;
	python) cmd=(/usr/bin/python3 $PEERS/py_aiohttp.py "$m" "$dir" "$CONC") ;;
	node) cmd=(node $PEERS/node_sdk.mjs "$m" "$dir" "$CONC") ;;
	esac
	FLORA_BASE_URL=$URL FLORA_API_KEY=$KEY timeout "$TMO" \
		/usr/bin/time -f '%e %U %S %M' -o "$tf" "${cmd[@]}" >"$work/log-$name" 2>&1 &
	local pid=$!
	/usr/bin/python3 "$work/treerss.py" "$pid" "$rf" &
	local spid=$!
	wait "$pid" || rc=$?
	wait "$spid" || true
	local stats
	stats=$(curl -s "$URL/_sim/stats")
	stop_sim
	local wall=NA user=0 sys=0 rss
	if [ -s "$tf" ] && read -r wall user sys _ < <(tail -n 1 "$tf") && [[ $wall =~ ^[0-9.]+$ ]]; then :; else wall=NA; fi
	rss=$(cat "$rf" 2>/dev/null || echo NA)
	local lines ids done reqs created maxkey correct=no
	lines=$(wc -l <"$dir/results.jsonl" 2>/dev/null || echo 0)
	ids=$(jq -r .id "$dir/results.jsonl" 2>/dev/null | sort -u | wc -l)
	done=$(jq -r 'select(.status=="completed") | .id' "$dir/results.jsonl" 2>/dev/null | sort -u | wc -l)
	reqs=$(jq '.requests - (.endpoints["GET /_sim/stats"] // 0)' <<<"$stats")
	created=$(jq .runs_created <<<"$stats")
	maxkey=$(jq .max_runs_per_key <<<"$stats")
	local tarn
	tarn=$(tar tzf "$dir/outputs.tar.gz" 2>/dev/null | grep -c '\.png$' || true)
	if [ "$rc" -eq 0 ] && [ "$lines" -eq "$RUNS" ] && [ "$ids" -eq "$RUNS" ] && [ "$done" -eq "$RUNS" ] &&
		[ "$created" -eq "$RUNS" ] && [ "$maxkey" -eq 1 ] && [ "$tarn" -eq "$RUNS" ]; then
		correct=yes
	else
		echo "$name: exit $rc, $lines lines, $ids ids, $done completed, $created runs created," \
			"max runs per key $maxkey, $tarn outputs in the archive; log:" >&2
		tail -n 5 "$work/log-$name" >&2
	fi
	echo "$name $wall $user $sys $rss $reqs $correct" >>"$work/rows"
	echo "  $name: ${wall}s, correct $correct" >&2
}

echo "bench_peers: $RUNS runs at concurrency $CONC, florasim --run-time 1s, $ROUNDS round(s)" >&2
: >"$work/rows"
for _ in $(seq "$ROUNDS"); do
	for c in florabatch bash python node; do run_one "$c"; done
done

# Median per contender over the rounds (one round: its figures), then ratios.
awk -v n="$RUNS" '
function med(a, k,   i, j, t) {
	for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
{
	c = $1; if (!(c in k)) order[++nc] = c
	i = ++k[c]; W[c, i] = $2; C[c, i] = $3 + $4; R[c, i] = $5; Q[c, i] = $6
	if ($7 != "yes") bad[c]++
}
END {
	printf "%-11s %8s %8s %11s %13s %13s %8s\n", "contender", "wall s", "CPU s", "CPU ms/run", "peak RSS MiB", "requests/run", "correct"
	for (x = 1; x <= nc; x++) {
		c = order[x]
		for (i = 1; i <= k[c]; i++) { w[i] = W[c, i]; cp[i] = C[c, i]; r[i] = R[c, i]; q[i] = Q[c, i] }
		mw = med(w, k[c]); mc = med(cp, k[c]); mr = med(r, k[c]); mq = med(q, k[c])
		cpu[c] = mc
		printf "%-11s %8.2f %8.2f %11.3f %13.1f %13.2f %8s\n", c, mw, mc, 1000 * mc / n, mr, mq / n, bad[c] ? "no" : "yes"
	}
	printf "\nCPU per run relative to florabatch:\n"
	for (x = 1; x <= nc; x++) {
		c = order[x]
		if (c != "florabatch" && cpu["florabatch"] > 0) printf "  %-8s %6.1fx\n", c, cpu[c] / cpu["florabatch"]
	}
}' "$work/rows"
