#!/usr/bin/env bash
# Several manifests side by side: one florabatch per manifest, each in an
# output folder of its own (OUT/<manifest name>/), at most JOBS at once.
#
#   JOBS=2 OUT=parallel-out examples/parallel.sh MANIFEST...
#   examples/parallel.sh examples/technique-slug.csv examples/technique-id.jsonl \
#       examples/generation.jsonl
#
# One florabatch already runs --concurrency runs at once (16 by default), so
# this is for manifests that belong apart (a customer, a day, a shard of a
# JSONL file cut with `split -n l/4`), not for speed: JOBS x --concurrency
# runs are in flight in all, each process with its own --rate.
# Rows that name no workspace or project get WORKSPACE and PROJECT (the
# defaults are florasim's; put your own ws_ and prj_ ids).
# Exits 0 when every item of every manifest completed; otherwise xargs exits
# 123 and each folder's results.jsonl (or `florabatch status OUT/NAME`) tells
# which items did not.
set -euo pipefail
export OUT=${OUT:-parallel-out} WORKSPACE=${WORKSPACE:-ws_accept} PROJECT=${PROJECT:-prj_accept}
jobs=${JOBS:-2}
[ $# -gt 0 ] || { echo "usage: $0 MANIFEST..." >&2; exit 2; }
mkdir -p "$OUT"

# -0: names may hold spaces. Each sh gets one manifest as $1; its folder is
# the manifest's name without the extension. --quiet: the summaries of
# parallel processes would interleave on the terminal; errors still show.
printf '%s\0' "$@" | xargs -0 -n 1 -P "$jobs" sh -c '
	name=$(basename "$1"); name=${name%.*}
	exec florabatch run "$1" --transport http --technique studio-shot \
		--workspace "$WORKSPACE" --project "$PROJECT" --out "$OUT/$name" --quiet
' sh
