#!/bin/sh
# The first command of README.md: installs what is missing, builds, and runs
# the demo batch on the built-in simulator.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

echo
echo "Demo: examples/demo.csv through the simulator (--transport sim), --technique cctv-cam"
echo "for the rows that name none; results and outputs go to demo-out/."
rm -rf demo-out
status=0
./build/cmd/florabatch run examples/demo.csv --technique cctv-cam --out demo-out \
	--sim-run-time 1s || status=$?
echo
echo "First result line (demo-out/results.jsonl):"
head -n 1 demo-out/results.jsonl
echo
tar tzf demo-out/outputs.tar.gz | head -n 5
echo "... ($(tar tzf demo-out/outputs.tar.gz | wc -l) entries in demo-out/outputs.tar.gz)"
exit "$status"
