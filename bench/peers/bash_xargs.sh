#!/usr/bin/env bash
# bash_xargs.sh: the FLORA batch job written with curl, jq and xargs -P, the
# way a shell user would: one exported function per manifest row, run N at a
# time. For comparison with florabatch (bench/bench_peers.sh).
#
# Usage: FLORA_BASE_URL=... FLORA_API_KEY=... bash_xargs.sh MANIFEST.csv OUTDIR [CONCURRENCY]
# MANIFEST is `id,input_image` with a header row; ids and URLs hold no commas.
# Writes OUTDIR/results.jsonl (one line per row) and OUTDIR/outputs.tar.gz.
set -euo pipefail

manifest=${1:?usage: bash_xargs.sh MANIFEST.csv OUTDIR [CONCURRENCY]}
out=${2:?usage: bash_xargs.sh MANIFEST.csv OUTDIR [CONCURRENCY]}
conc=${3:-200}
: "${FLORA_BASE_URL:?set FLORA_BASE_URL}" "${FLORA_API_KEY:?set FLORA_API_KEY}"
export TECHNIQUE=${TECHNIQUE:-cctv-cam} OUT=$out
mkdir -p "$out/files"
: >"$out/results.jsonl"

# Retries resend the same body and Idempotency-Key, so a create whose answer
# was lost never becomes a second run.
c() {
	curl -sS --fail-with-body --retry 5 --retry-all-errors --retry-max-time 120 \
		--connect-timeout 10 --max-time 120 \
		-H "Authorization: Bearer $FLORA_API_KEY" "$@"
}

item() {
	local line=$1 id url key body run status polls=0
	id=${line%%,*}
	url=${line#*,}
	url=${url%$'\r'}
	# The key comes from the row's content, so a re-run sends the same key.
	key=peer-$(printf '%s|%s|%s' "$TECHNIQUE" "$id" "$url" | sha256sum | cut -c1-32)
	body=$(jq -cn --arg v "$url" --arg k "$key" \
		'{inputs:[{id:"input_image",type:"imageUrl",value:$v}],mode:"async",idempotency_key:$k}')
	if ! run=$(c -X POST -H 'Content-Type: application/json' \
		-H "Idempotency-Key: $key" -d "$body" \
		"$FLORA_BASE_URL/techniques/$TECHNIQUE/runs"); then
		result "$(jq -cn --arg id "$id" --arg e "$run" '{id:$id,status:"error",error:$e}')"
		return 0
	fi
	local run_id poll_url
	run_id=$(jq -r .run_id <<<"$run")
	poll_url=$(jq -r --arg d "$FLORA_BASE_URL/techniques/$TECHNIQUE/runs/$run_id" '.poll_url // $d' <<<"$run")
	status=$(jq -r .status <<<"$run")
	while [[ $status != completed && $status != failed ]]; do
		sleep 2
		run=$(c "$poll_url") || { status=poll_error; continue; }
		polls=$((polls + 1))
		status=$(jq -r .status <<<"$run")
	done
	local files=() oid ourl name
	if [[ $status == completed ]]; then
		mkdir -p "$OUT/files/$id"
		while IFS=$'\t' read -r oid ourl; do
			name=${oid//\//_}
			[[ ${ourl##*/} == *.* ]] && name+=.${ourl##*.}
			if ! c -o "$OUT/files/$id/$name" "$ourl"; then
				status=download_error
			fi
			files+=("$id/$name")
		done < <(jq -r '.outputs[]? | [.output_id, .url] | @tsv' <<<"$run")
	fi
	result "$(jq -c --arg id "$id" --arg st "$status" --argjson polls "$polls" \
		--args '{id:$id,status:$st,run_id,polls:$polls,outputs:$ARGS.positional,error_code}' \
		"${files[@]}" <<<"$run")"
}

# One writer at a time: appends of whole lines under a lock.
result() {
	{
		flock 9
		printf '%s\n' "$1" >&9
	} 9>>"$OUT/results.jsonl"
}
export -f c item result

tail -n +2 "$manifest" | grep -v '^[[:space:]]*$' |
	xargs -d '\n' -n 1 -P "$conc" bash -c 'item "$1"' _

tar czf "$out/outputs.tar.gz" -C "$out/files" .
echo "$(wc -l <"$out/results.jsonl") results in $out/results.jsonl, outputs in $out/outputs.tar.gz" >&2
