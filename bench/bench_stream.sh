#!/usr/bin/env bash
# bench_stream.sh: how soon a line that arrives on a pipe becomes a create.
#
# A producer writes JSONL lines to florabatch's standard input at RATE lines
# a second (each flushed on its own, as a queue consumer or `tail -F`
# would), noting when it wrote each; florabatch runs them against florasim
# (no latency, runs of 500 ms) with room for every line. florasim notes
# when each create reached it (the run's created_at, read back from its
# list pages); the difference is the line's latency from its arrival to its
# create. Reported: median, p99 and the largest, in milliseconds.
#
#   bench/bench_stream.sh            10,000 lines at 1,000 a second
#   LINES=N RATE=R bench/bench_stream.sh
#   SMOKE=1 bench/bench_stream.sh    500 lines (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_binaries
if [ "${SMOKE:-0}" = 1 ]; then LINES=${LINES:-500}; fi
LINES=${LINES:-10000}
RATE=${RATE:-1000}
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-stream.XXXXXX")
trap 'kill "$sim_pid" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

exec {simfd}< <(exec "$SIM" --port 0 --max-seconds 600 --quiet --api-key bench-stream-key \
	--latency 0 --run-time 500ms --run-time-sigma 0 2>"$work/florasim.log")
sim_pid=$!
read -r line <&"$simfd"
url=${line##* }

cat >"$work/produce.py" <<'PY'
import sys, time
n, rate, log = int(sys.argv[1]), float(sys.argv[2]), open(sys.argv[3], "w")
out = sys.stdout
t0 = time.time()
for i in range(n):
    due = t0 + i / rate
    now = time.time()
    if due > now:
        time.sleep(due - now)
    log.write("s%06d %d\n" % (i, int(time.time() * 1000)))
    out.write('{"id":"s%06d","inputs":{"input_image":"https://storage.googleapis.com/s/%d.png"}}\n' % (i, i))
    out.flush()
log.close()
PY
cat >"$work/report.py" <<'PY'
import json, sys, urllib.request
written_f, results_f, rate, lines, url, key = sys.argv[1:7]
written = {}
for line in open(written_f):
    k, t = line.split()
    written[k] = float(t)
run_of = {}
for line in open(results_f):
    r = json.loads(line)
    if r.get("id") in written and r.get("run_id"):
        run_of[r["run_id"]] = r["id"]
# When each create reached the server: florasim's created_at (wall ms), from its list pages.
created, cursor = {}, ""
while True:
    q = url + "/technique-runs?limit=100" + ("&cursor=" + cursor if cursor else "")
    req = urllib.request.Request(q, headers={"Authorization": "Bearer " + key})
    page = json.load(urllib.request.urlopen(req))
    for run in page.get("technique_runs", []):
        created[run["run_id"]] = run["created_at"]
    cursor = (page.get("meta") or {}).get("next_cursor")
    if not cursor:
        break
lat = sorted(created[r] - written[i] for r, i in run_of.items() if r in created)
n = len(lat)
if n == 0:
    sys.exit("bench_stream: no run of the results was found on the server")
med, p99, mx = lat[n // 2], lat[min(n - 1, int(n * 0.99))], lat[-1]
print("  %d lines at %s a second: line written to create received median %.1f ms, "
      "p99 %.1f ms, max %.1f ms" % (n, rate, med, p99, mx))
print(json.dumps({"bench": "stream_latency", "lines": n, "rate": float(rate),
                  "median_ms": round(med, 1), "p99_ms": round(p99, 1), "max_ms": round(mx, 1)}))
if n != int(lines):
    sys.exit("bench_stream: %d runs for %s lines" % (n, lines))
PY

/usr/bin/python3 "$work/produce.py" "$LINES" "$RATE" "$work/written" |
	FLORA_API_KEY=bench-stream-key "$FB" run - --transport http --base-url "$url" \
		--technique cctv-cam --out "$work/out" --results - --concurrency 4000 --quiet \
		>"$work/results.jsonl"
/usr/bin/python3 "$work/report.py" "$work/written" "$work/results.jsonl" "$RATE" "$LINES" \
	"$url" bench-stream-key
