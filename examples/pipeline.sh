#!/usr/bin/env bash
# From standard input to standard output: a command makes manifest lines,
# florabatch runs them as they arrive, jq reads the results as items end.
#
#   examples/pipeline.sh [URLS [OUT]]
#
# URLS is a list of image URLs, one a line (default examples/urls.txt);
# each becomes a studio-shot run. Prints one tab-separated line per item:
# id, status, and the output's archive path (or the error code). The output
# folder OUT (default pipeline-out) keeps results.jsonl and the archive, so
# running the same command again creates no run twice.
# Needs FLORA_API_KEY (and FLORA_BASE_URL to use another API, or florasim).
set -euo pipefail
urls=${1:-examples/urls.txt}
out=${2:-pipeline-out}

# 1. The producer: any command that prints one JSON object per line. Here jq
#    turns each URL into {"id":"lamp-01","inputs":{"input_image":URL}}.
# 2. florabatch reads "-" (standard input) and, with --results -, writes each
#    result line to standard output the moment its item ends. Its summary and
#    warnings go to standard error.
# 3. The consumer: jq picks the fields it wants.
# pipefail: the script fails when florabatch does (exit 1: some item failed).
jq -R -c 'select(length > 0)
	| {id: (split("/") | last | sub("\\.[A-Za-z0-9]+$"; "")),
	   inputs: {input_image: .}}' "$urls" |
	florabatch run - --transport http --technique studio-shot --out "$out" --results - |
	jq -r '[.id, .status, (.outputs[0].path // .error.code)] | @tsv'
