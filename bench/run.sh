#!/bin/sh
# Runs every benchmark in bench/ on an optimised build: one command, no set-up
# beyond README's first command (the peers' own dependencies are installed by
# bench_peers.sh). Figures go to standard output, as text and one JSON line
# each; bench/README.md keeps the latest table.
#
#   ./bench/run.sh              the full suite (about 70 minutes on 2 cores, 30 of
#                               them the grid, 20 the shards; GRID=0 leaves the
#                               grid out, SHARDS=0 the shards)
#   SMOKE=1 ./bench/run.sh      every benchmark at a size of seconds: what CI
#                               runs, so the scripts cannot rot
#   BUILD=dir                   use the binaries of an existing build instead
#                               of building build-bench/
#
# Sizes (defaults are the issue's): ITEMS CONCURRENCY (engine), HTTP_RUNS
# HTTP_CONCURRENCY HTTP_RUN_TIME (HTTP at scale), MEM_SMALL MEM_LARGE
# (memory), POLL_RUNS POLL_RUN_TIME (polling, real-time row), PEER_RUNS
# PEER_CONCURRENCY (peers), ARCHIVE_FILES ARCHIVE_MB (archive), MERGE_FOLDERS
# MERGE_ITEMS (merge: bench_merge.sh reads them itself), SHARD_ITEMS
# SHARD_CONCURRENCY SHARD_RATE SHARD_ROWS (shards: bench_shards.sh reads them).
set -eu
cd "$(dirname "$0")/.."
if [ "${SMOKE:-0}" = 1 ]; then
	: "${ITEMS:=2000}" "${HTTP_RUNS:=200}" "${HTTP_CONCURRENCY:=100}" "${HTTP_RUN_TIME:=1}"
	: "${MEM_SMALL:=1000}" "${MEM_LARGE:=20000}" "${POLL_RUNS:=50}" "${POLL_RUN_TIME:=1}"
	: "${PEER_RUNS:=20}" "${PEER_CONCURRENCY:=10}" "${ARCHIVE_FILES:=20}" "${ARCHIVE_MB:=1}"
	: "${HASH_FILES:=8}"
fi
if [ -z "${BUILD:-}" ]; then
	./scripts/install-deps.sh
	BUILD=build-bench
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" >/dev/null
fi
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
fb=$BUILD/cmd/florabatch
sim=$BUILD/cmd/florasim
b=$BUILD/bench

echo "== 1. engine overhead"
"$b/bench_engine" "$fb" "${ITEMS:-100000}" "${CONCURRENCY:-256}"
echo "== 2. HTTP at scale"
"$b/bench_http" "$fb" "$sim" "${HTTP_RUNS:-10000}" "${HTTP_CONCURRENCY:-1000}" \
	"${HTTP_RUN_TIME:-2}"
echo "== 3. peers on the same work"
RUNS=${PEER_RUNS:-2000} CONCURRENCY=${PEER_CONCURRENCY:-200} \
	FLORABATCH=$fb FLORASIM=$sim ./bench/bench_peers.sh
echo "== 3b. the grid: estimate x latency x run time x in flight, against the peers"
if [ "${SMOKE:-0}" = 1 ]; then
	SMOKE=1 FLORABATCH=$fb FLORASIM=$sim ./bench/bench_grid.sh
elif [ "${GRID:-1}" = 1 ]; then
	FLORABATCH=$fb FLORASIM=$sim ./bench/bench_grid.sh
fi
echo "== 3c. pipes: a line's arrival to its create, at 1,000 lines a second"
SMOKE=${SMOKE:-0} FLORABATCH=$fb FLORASIM=$sim ./bench/bench_stream.sh
echo "== 3d. storage: memory and disk against the size of outputs"
SMOKE=${SMOKE:-0} FLORABATCH=$fb FLORASIM=$sim ./bench/bench_storage.sh
echo "== 3e. history: a re-run adding one item to 100 MB, 1 GB, 10 GB; re-scan of a folder"
SMOKE=${SMOKE:-0} FLORABATCH=$fb FLORASIM=$sim ./bench/bench_history.sh
echo "== 3f. merge: 4 shard folders of 25,000 items into one"
SMOKE=${SMOKE:-0} FLORABATCH=$fb FLORASIM=$sim ./bench/bench_merge.sh
echo "== 3g. shards: 100,000 items as 1, 2 and 4 shards on one florasim, then merged"
if [ "${SMOKE:-0}" = 1 ] || [ "${SHARDS:-1}" = 1 ]; then
	SMOKE=${SMOKE:-0} FLORABATCH=$fb FLORASIM=$sim ./bench/bench_shards.sh
fi
echo "== 4. memory against manifest size"
"$b/bench_memory" "$fb" "${MEM_SMALL:-10000}" "${MEM_LARGE:-1000000}"
echo "== 5. polling efficiency"
"$b/bench_poll" "$fb" "$sim" "${POLL_RUNS:-1000}" "${POLL_RUN_TIME:-30}"
echo "== 6. archive"
"$b/bench_archive" "${ARCHIVE_FILES:-1000}" "${ARCHIVE_MB:-1}"
echo "== hashing (folders of local files)"
"$b/bench_hash" "${HASH_FILES:-256}"
