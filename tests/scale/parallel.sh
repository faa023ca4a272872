#!/usr/bin/env bash
# scale.parallel: examples/scale-out/parallel.sh as the README runs it, four
# shards of a 40-item manifest against florasim, then its merge, then the
# check that every item is in the merged results once, completed, and every
# output in the merged archive matches its line's sha256.
# Usage: parallel.sh FLORABATCH FLORASIM
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
scale_init "$1" "$2"

command -v parallel >/dev/null || {
	echo "$scale_name: GNU parallel is needed (scripts/install-deps.sh)"
	exit 1
}
parallel --version 2>/dev/null | grep -q 'GNU parallel' || {
	echo "$scale_name: 'parallel' is not GNU parallel (moreutils' has the same name): install the parallel package"
	exit 1
}
scale_need_features
scale_start_sim 60
scale_manifest "$work/manifest.csv"

cd "$work" || exit 1
# GNU parallel keeps its files under PARALLEL_HOME (else ~/.parallel).
rc=0
PARALLEL_HOME=$work/parallel-home SHARDS=4 OUT=out TECHNIQUE=studio-shot \
	"$top/examples/scale-out/parallel.sh" manifest.csv </dev/null >run.out 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
	ok "SHARDS=4 OUT=out examples/scale-out/parallel.sh manifest.csv: exit 0"
else
	fail "examples/scale-out/parallel.sh exited $rc:"
	cat run.out
	[ -f out/parallel.log ] && cat out/parallel.log
fi
scale_stop_sim
scale_check out/merged manifest.csv out/shard-1 out/shard-2 out/shard-3 out/shard-4
finish
