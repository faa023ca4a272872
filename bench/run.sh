#!/bin/sh
# Runs the benchmarks in bench/ on an optimised build: one command, no set-up
# beyond README's first command. Figures go to standard output; bench/README.md
# keeps the latest table.
#   ITEMS=100000 CONCURRENCY=256          the engine benchmark (sim, virtual clock)
#   HTTP_RUNS=1000 HTTP_CONCURRENCY=1000 HTTP_RUN_TIME=2   the HTTP benchmark (florasim)
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" >/dev/null
./build-bench/bench/bench_engine ./build-bench/cmd/florabatch "${ITEMS:-100000}" "${CONCURRENCY:-256}"
./build-bench/bench/bench_http ./build-bench/cmd/florabatch ./build-bench/cmd/florasim \
	"${HTTP_RUNS:-1000}" "${HTTP_CONCURRENCY:-1000}" "${HTTP_RUN_TIME:-2}"
./build-bench/bench/bench_hash
./build-bench/bench/bench_archive
