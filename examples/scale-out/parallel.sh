#!/usr/bin/env bash
# One manifest in SHARDS pieces on one machine: GNU parallel starts one
# florabatch per shard, each taking its share of the items (about one in
# SHARDS, chosen by a hash of each item) into a folder of its own
# (OUT/shard-K), then `florabatch merge` makes one results.jsonl and one
# archive of them all (OUT/merged).
#
#   examples/scale-out/parallel.sh MANIFEST
#   SHARDS=4 OUT=shards TECHNIQUE=studio-shot examples/scale-out/parallel.sh manifest.csv
#
# Needs FLORA_API_KEY (and FLORA_BASE_URL for another API, or florasim).
# One florabatch already has --concurrency runs in flight (16 by default):
# shards pay off when one process is the limit (its CPU, its downloads) or
# to spread the work over machines (the Slurm and Kubernetes recipes beside
# this one); SHARDS x --concurrency runs are in flight in all.
#
# Exits 0 when every shard completed every item and the merge is written.
# A shard that exits other than 0 stops the script before the merge, as
# Slurm's afterok does; OUT/parallel.log (GNU parallel's --joblog) lists
# each shard's exit status. 1: some item failed or was invalid (`florabatch
# status OUT/shard-K` says which and why); those ended, and a re-run does
# not run them again: merge by hand, `florabatch merge OUT/merged
# OUT/shard-*`, and the merged results keep their lines. 75, 130, 143: the
# shard stopped before the end; running the same command again goes on
# where each folder stopped, creating no run twice.
set -euo pipefail
manifest=${1:?usage: $0 MANIFEST}
out=${OUT:-parallel-shards}
shards=${SHARDS:-4}
technique=${TECHNIQUE:-studio-shot}
mkdir -p "$out"

# {} is the shard number, 1 to SHARDS: --shard {}/SHARDS takes that shard.
# -q hands each word to florabatch as it is (a manifest or folder name with
# spaces stays one argument); --quiet keeps the shards' summaries from
# interleaving on the terminal (errors still show).
rc=0
parallel -q -j "$shards" --joblog "$out/parallel.log" \
	florabatch run "$manifest" --shard "{}/$shards" --transport http \
	--technique "$technique" --out "$out/shard-{}" --quiet \
	::: $(seq "$shards") || rc=$?
if [ "$rc" -ne 0 ]; then
	# GNU parallel exits with the number of jobs that failed.
	echo "parallel.sh: $rc of $shards shards exited other than 0 (see $out/parallel.log); not merged" >&2
	exit 1
fi

# The folders of this SHARDS only, not those an earlier run with another
# count may have left in OUT.
dirs=()
for k in $(seq "$shards"); do dirs+=("$out/shard-$k"); done
florabatch merge "$out/merged" "${dirs[@]}"
