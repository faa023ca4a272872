#!/usr/bin/env bash
# lib.sh: what the benchmarks that race florabatch against the scripts a
# user would write share (bench_peers.sh, bench_grid.sh): installing the
# peers, a fresh florasim per contender, one contender's run measured (wall;
# CPU and peak RSS of its whole process tree; API requests from florasim's
# stats) and checked (every item once and completed, its output archived,
# one run per idempotency key). Sourced, not run.
#
# The caller sets: FB and SIM (the binaries), work (a scratch folder), KEY,
# TMO (seconds a contender may take), PEERS (bench/peers).

# Installs what the peers need when it is missing: Debian's python3-aiohttp,
# jq, curl, time (apt-get, with sudo when not root) and the SDK
# @flora-ai/flora into bench/peers/node_modules (npm ci).
bench_install_peers() {
	local missing=()
	command -v jq >/dev/null || missing+=(jq)
	command -v curl >/dev/null || missing+=(curl)
	[ -x /usr/bin/time ] || missing+=(time)
	/usr/bin/python3 -c 'import aiohttp' 2>/dev/null || missing+=(python3-aiohttp)
	command -v node >/dev/null || missing+=(nodejs)
	command -v npm >/dev/null || missing+=(npm)
	if [ ${#missing[@]} -gt 0 ]; then
		echo "installing Debian packages: ${missing[*]}" >&2
		local sudo=""
		[ "$(id -u)" -eq 0 ] || sudo=sudo
		$sudo apt-get install -y "${missing[@]}" >&2 ||
			{ $sudo apt-get update >&2 && $sudo apt-get install -y "${missing[@]}" >&2; }
	fi
	if [ ! -d "$PEERS/node_modules/@flora-ai/flora" ]; then
		echo "installing @flora-ai/flora into $PEERS/node_modules" >&2
		(cd "$PEERS" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi) >&2
	fi
}

# Builds build-bench/ unless FLORABATCH and FLORASIM name other binaries; sets FB and SIM.
bench_binaries() {
	if [ -z "${FLORABATCH:-}" ] && { [ ! -x build-bench/cmd/florabatch ] || [ ! -x build-bench/cmd/florasim ]; }; then
		cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
		cmake --build build-bench -j"$(nproc)" >/dev/null
	fi
	FB=${FLORABATCH:-$PWD/build-bench/cmd/florabatch}
	SIM=${FLORASIM:-$PWD/build-bench/cmd/florasim}
}

# A manifest of n cctv-cam items: id,input_image.
bench_manifest() {
	local n=$1 out=$2
	{
		echo id,input_image
		for i in $(seq -f %06g 1 "$n"); do echo "item-$i,https://storage.googleapis.com/bench/$i.png"; done
	} >"$out"
}

# Peak RSS of a whole process tree (the sum over the root and all its
# descendants, sampled every 100 ms): /usr/bin/time's %M is only the largest
# single process, which undercounts xargs' hundreds of curls.
bench_write_treerss() {
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
    total, stack = 0, [root]
    while stack:
        p = stack.pop()
        stack += kids.get(p, [])
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
}

# bench_contend TAG NAME MANIFEST RUNS CONC SIM_ARGS...: one contender against a
# fresh florasim started with SIM_ARGS. Prints one row:
#   TAG NAME wall user sys rssMiB api_requests creates polls lists fetches correct
bench_contend() {
	local tag=$1 name=$2 m=$3 runs=$4 conc=$5
	shift 5
	local id=$tag-$name dir=$work/out-$tag-$name rc=0
	local tf=$work/time-$id rf=$work/rss-$id log=$work/log-$id
	rm -rf "$dir"
	mkdir -p "$dir"
	local sim_pid url line
	exec {simfd}< <(exec "$SIM" --port 0 --max-seconds "$((TMO + 60))" --quiet --api-key "$KEY" "$@" 2>>"$work/florasim-$id.log")
	sim_pid=$!
	read -r line <&"$simfd"
	url=${line##* }
	local cmd
	case $name in
	florabatch) cmd=("$FB" run "$m" --transport http --base-url "$url" --technique cctv-cam
		--out "$dir" --concurrency "$conc" --quiet) ;;
	bash) cmd=(bash "$PEERS/bash_xargs.sh" "$m" "$dir" "$conc") ;;
	python) cmd=(/usr/bin/python3 "$PEERS/py_aiohttp.py" "$m" "$dir" "$conc") ;;
	node) cmd=(node "$PEERS/node_sdk.mjs" "$m" "$dir" "$conc") ;;
	esac
	FLORA_BASE_URL=$url FLORA_API_KEY=$KEY timeout "$TMO" \
		/usr/bin/time -f '%e %U %S %M' -o "$tf" "${cmd[@]}" >"$log" 2>&1 &
	local pid=$!
	/usr/bin/python3 "$work/treerss.py" "$pid" "$rf" &
	local spid=$!
	wait "$pid" || rc=$?
	wait "$spid" || true
	local stats
	stats=$(curl -s "$url/_sim/stats")
	kill "$sim_pid" 2>/dev/null || true
	wait "$sim_pid" 2>/dev/null || true
	exec {simfd}<&-
	local wall=NA user=0 sys=0 rss
	if [ -s "$tf" ] && read -r wall user sys _ < <(tail -n 1 "$tf") && [[ $wall =~ ^[0-9.]+$ ]]; then :; else wall=NA; fi
	rss=$(cat "$rf" 2>/dev/null || echo NA)
	local lines ids done created maxkey tarn correct=no
	lines=$(wc -l <"$dir/results.jsonl" 2>/dev/null || echo 0)
	ids=$(jq -r .id "$dir/results.jsonl" 2>/dev/null | sort -u | wc -l)
	done=$(jq -r 'select(.status=="completed") | .id' "$dir/results.jsonl" 2>/dev/null | sort -u | wc -l)
	created=$(jq .runs_created <<<"$stats")
	maxkey=$(jq .max_runs_per_key <<<"$stats")
	tarn=$(tar tzf "$dir/outputs.tar.gz" 2>/dev/null | grep -c '\.png$' || true)
	if [ "$rc" -eq 0 ] && [ "$lines" -eq "$runs" ] && [ "$ids" -eq "$runs" ] && [ "$done" -eq "$runs" ] &&
		[ "$created" -eq "$runs" ] && [ "$maxkey" -eq 1 ] && [ "$tarn" -eq "$runs" ]; then
		correct=yes
	else
		echo "$id: exit $rc, $lines lines, $ids ids, $done completed, $created runs created," \
			"max runs per key $maxkey, $tarn outputs in the archive; log:" >&2
		tail -n 5 "$log" >&2
	fi
	local reqs creates polls lists fetches
	reqs=$(jq '.requests - (.endpoints["GET /_sim/stats"] // 0)' <<<"$stats")
	creates=$(jq '.creates // 0' <<<"$stats")
	polls=$(jq '.polls // 0' <<<"$stats")
	lists=$(jq '.lists // 0' <<<"$stats")
	fetches=$(jq '.fetches // 0' <<<"$stats")
	echo "$tag $name $wall $user $sys $rss $reqs $creates $polls $lists $fetches $correct"
	rm -rf "$dir"
}
