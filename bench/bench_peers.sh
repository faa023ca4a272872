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

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_install_peers
bench_binaries

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-peers.XXXXXX")
trap 'rm -rf "$work"' EXIT
m=$work/m.csv
bench_manifest "$RUNS" "$m"
bench_write_treerss

# run_one NAME: one contender against a fresh florasim; appends a row to $work/rows
run_one() {
	local row
	row=$(bench_contend peers "$1" "$m" "$RUNS" "$CONC" --run-time 1s)
	# name wall user sys rss requests correct
	awk '{print $2, $3, $4, $5, $6, $7, $12}' <<<"$row" >>"$work/rows"
	echo "  $1: $(awk '{print $3}' <<<"$row")s, correct $(awk '{print $12}' <<<"$row")" >&2
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
