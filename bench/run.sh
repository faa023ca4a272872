#!/bin/sh
# Runs the benchmarks in bench/ on an optimised build. One command, no set-up
# beyond README's first command. Figures go to standard output.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" >/dev/null
items=${ITEMS:-100000}
./build-bench/bench/bench_engine ./build-bench/cmd/florabatch "$items" "${CONCURRENCY:-256}"
