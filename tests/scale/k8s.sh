#!/usr/bin/env bash
# scale.k8s: examples/scale-out/k8s-indexed-job.yaml holds together, read
# without Kubernetes and without a YAML library (yamlflat.awk):
#   - the shards' Job is Indexed, all at once (parallelism = completions),
#     and FLORABATCH_SHARD_COUNT, which --shard auto reads, equals
#     completions;
#   - every $(NAME) of its command is in its env (JOB_COMPLETION_INDEX,
#     which --shard auto reads, Kubernetes adds to every pod of an Indexed
#     Job; where env names it too, it must be the completion-index
#     annotation);
#   - every path of its command lies on a mounted volume: the output folder
#     on the claim this file makes (ReadWriteMany), the key file on a Secret
#     with a mode florabatch accepts (no read for others);
#   - the merge Job mounts the same claim and merges the folders the shards
#     write; the kubectl -l selectors of the comments pick the shards, then
#     the merge.
# Then, when florabatch has --shard and merge, each pod's command is run
# here as Kubernetes would: in its env alone (plus FLORA_BASE_URL, for
# florasim), $(NAME)s expanded, each volume a local folder; every pod at
# once, then the merge's; and the merged folder is checked as for the
# other recipes.
# Usage: k8s.sh FLORABATCH FLORASIM
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
scale_init "$1" "$2"
yaml=$top/examples/scale-out/k8s-indexed-job.yaml
flat=$work/flat

if ! awk -f "$here/yamlflat.awk" "$yaml" >"$flat"; then
	fail "examples/scale-out/k8s-indexed-job.yaml: not read (above)"
	finish
fi

# get KEY: the value at KEY ("D1.spec.completions"), or nothing.
get() {
	awk -v k="$1=" 'index($0, k) == 1 { print substr($0, length(k) + 1); exit }' "$flat"
}
# items PREFIX: the values of PREFIX[0], PREFIX[1], ... one a line.
items() {
	local i=0 v
	while v=$(get "$1[$i]") && [ -n "$v" ]; do
		printf '%s\n' "$v"
		i=$((i + 1))
	done
}
# docs KEY VALUE: the documents (numbers) where KEY (without D<n>.) is VALUE.
docs() {
	awk -v k="$1" -v v="$2" '{
		d = $0; sub(/\..*/, "", d); rest = substr($0, length(d) + 2)
		if (rest == k "=" v) print substr(d, 2)
	}' "$flat"
}
# A container's list (env, volumeMounts, ...) as "name<TAB>field=value" lines.
entries() {
	local i=0 name
	while name=$(get "$1[$i].name") && [ -n "$name" ]; do
		awk -v p="$1[$i]." -v n="$name" 'index($0, p) == 1 {
			print n "\t" substr($0, length(p) + 1) }' "$flat"
		i=$((i + 1))
	done
}

# ---- the shards' Job
job=$(comm -12 <(docs kind Job | sort) <(docs spec.completionMode Indexed | sort) | head -n 1)
if [ -z "$job" ]; then
	fail "no Job with completionMode: Indexed"
	finish
fi
ok "the shards' Job (document $((job + 1))) has completionMode: Indexed"
J=D$job.spec
completions=$(get "$J.completions")
parallelism=$(get "$J.parallelism")
if [ -n "$completions" ] && [ "$completions" = "$parallelism" ]; then
	ok "completions = parallelism = $completions: every shard at once"
else
	fail "completions '$completions' and parallelism '$parallelism' differ (or are missing)"
fi
if [ -n "$(get "$J.backoffLimitPerIndex")$(get "$J.podFailurePolicy.rules[0].action")" ] &&
	[ "$(get "$J.template.spec.restartPolicy")" != Never ]; then
	fail "backoffLimitPerIndex and podFailurePolicy need restartPolicy: Never"
fi

# The container that runs florabatch, its command and args as one list.
C=
i=0
while [ -n "$(get "$J.template.spec.containers[$i].name")" ]; do
	if [ "$(get "$J.template.spec.containers[$i].command[0]")" = florabatch ]; then
		C=$J.template.spec.containers[$i]
		break
	fi
	i=$((i + 1))
done
if [ -z "$C" ]; then
	fail "no container of the shards' Job runs florabatch (command: [florabatch, ...])"
	finish
fi
mapfile -t cmd < <(items "$C.command"; items "$C.args")
if [ "${cmd[1]:-}" = run ]; then
	ok "the container runs: ${cmd[*]}"
else
	fail "the container's command is not 'florabatch run ...': ${cmd[*]}"
fi
# opt NAME: the value after option NAME in the command (or of NAME=VALUE).
opt() {
	local a prev=
	for a in "${cmd[@]}"; do
		[ "$prev" = "$1" ] && {
			printf '%s\n' "$a"
			return
		}
		case $a in "$1="*) printf '%s\n' "${a#*=}" && return ;; esac
		prev=$a
	done
}
if [ "$(opt --shard)" = auto ]; then
	ok "--shard auto"
else
	fail "the command has no --shard auto (it has '$(opt --shard)')"
fi

# ---- its env: every $(NAME) of the command, and what --shard auto reads
mapfile -t env_lines < <(entries "$C.env")
env_names=$(printf '%s\n' "${env_lines[@]}" | cut -f1 | sort -u)
envval() {
	printf '%s\n' "${env_lines[@]}" | awk -F'\t' -v n="$1" -v f="$2" \
		'$1 == n && index($2, f "=") == 1 { print substr($2, length(f) + 2); exit }'
}
# shellcheck disable=SC2016 # $(NAME) is Kubernetes' syntax, not the shell's
for name in $(printf '%s\n' "${cmd[@]}" | grep -o '\$([A-Za-z_][A-Za-z0-9_]*)' | sort -u | tr -d '$()'); do
	if [ "$name" = JOB_COMPLETION_INDEX ]; then
		ok "\$($name) of the command: Kubernetes adds it to the env of an Indexed Job's pods"
	elif grep -qx "$name" <<<"$env_names"; then
		ok "\$($name) of the command is in env"
	else
		fail "\$($name) of the command is not in env: Kubernetes leaves it as it is"
	fi
done
count=$(opt --shard-count)
if [ -z "$count" ]; then
	count=$(envval FLORABATCH_SHARD_COUNT value)
	[ -n "$count" ] || fail "FLORABATCH_SHARD_COUNT is not in env with a value (nor --shard-count in the command)"
fi
if [ -n "$count" ] && [ "$count" = "$completions" ]; then
	ok "the shard count ($count) equals completions"
else
	fail "the shard count '${count}' is not completions ($completions): items would be lost or run twice"
fi
if grep -qx JOB_COMPLETION_INDEX <<<"$env_names"; then
	idx=$(envval JOB_COMPLETION_INDEX valueFrom.fieldRef.fieldPath)
	if [ "$idx" = "metadata.annotations['batch.kubernetes.io/job-completion-index']" ]; then
		ok "JOB_COMPLETION_INDEX comes from the pod's completion-index annotation"
	else
		fail "JOB_COMPLETION_INDEX is in env, but not from the completion-index annotation: '$idx'"
	fi
else
	ok "JOB_COMPLETION_INDEX: set by Kubernetes in every pod of an Indexed Job"
fi

# ---- volumes: each path of the command on a mount
mapfile -t mounts < <(entries "$C.volumeMounts" | awk -F'\t' 'index($2, "mountPath=") == 1 {
	print $1 "\t" substr($2, 11) }')
volume() { # volume NAME FIELD: a field of the pod's volume NAME
	local i=0 n
	while n=$(get "$J.template.spec.volumes[$i].name") && [ -n "$n" ]; do
		[ "$n" = "$1" ] && {
			get "$J.template.spec.volumes[$i].$2"
			return
		}
		i=$((i + 1))
	done
}
# mount_of PATH: "volume<TAB>mountPath" of the mount holding PATH.
mount_of() {
	local m best='' len=0 mp
	for m in "${mounts[@]}"; do
		mp=${m#*$'\t'}
		case $1 in "$mp" | "$mp"/*)
			[ "${#mp}" -gt "$len" ] && best=$m len=${#mp}
			;;
		esac
	done
	printf '%s\n' "$best"
}
pvc=$(docs kind PersistentVolumeClaim | head -n 1)
claim=
[ -n "$pvc" ] && claim=$(get "D$pvc.metadata.name")
out=$(opt --out)
out_vol=
out_mp=
m=$(mount_of "$out")
if [ -z "$out" ] || [ -z "$m" ]; then
	fail "--out '$out' is on no mounted volume: the pod's files would be lost with it"
else
	out_vol=${m%%$'\t'*}
	out_mp=${m#*$'\t'}
	out_claim=$(volume "$out_vol" persistentVolumeClaim.claimName)
	if [ -n "$out_claim" ] && [ "$out_claim" = "$claim" ]; then
		ok "--out $out is on volume $out_vol (mounted at $out_mp), the claim $claim of this file"
	else
		fail "--out $out: volume $out_vol is not this file's claim '$claim' (it is '$out_claim')"
	fi
fi
if [ -n "$pvc" ] && [ "${parallelism:-1}" -gt 1 ]; then
	if items "D$pvc.spec.accessModes" | grep -qx ReadWriteMany; then
		ok "the claim is ReadWriteMany: pods on several nodes write to it"
	else
		fail "the claim is not ReadWriteMany: pods on other nodes cannot mount it"
	fi
fi
manifest_path=${cmd[2]:-}
if [ -n "$(mount_of "$manifest_path")" ]; then
	ok "the manifest $manifest_path is on a mounted volume"
else
	fail "the manifest '$manifest_path' is on no mounted volume"
fi
keyfile=$(opt --api-key-file)
if [ -n "$keyfile" ]; then
	m=$(mount_of "$keyfile")
	secret=$(volume "${m%%$'\t'*}" secret.secretName)
	mode=$(volume "${m%%$'\t'*}" secret.defaultMode)
	if [ -z "$m" ] || [ -z "$secret" ]; then
		fail "--api-key-file $keyfile is not on a Secret's volume"
	else
		# YAML reads 0400 as octal; Kubernetes' default is 0644.
		case $mode in 0*) mode=$((8#$mode)) ;; "") mode=420 ;; esac
		if [ $((mode & 4)) -eq 0 ]; then
			ok "--api-key-file $keyfile: on the Secret $secret, which others cannot read"
		else
			fail "--api-key-file $keyfile: the Secret's files are readable by others (defaultMode $(printf '%o' "$mode")): florabatch refuses the key"
		fi
	fi
elif [ "$(envval FLORA_API_KEY valueFrom.secretKeyRef.name)" != "" ]; then
	ok "FLORA_API_KEY comes from a Secret"
else
	fail "neither --api-key-file on a Secret nor FLORA_API_KEY from a Secret: the pods have no key"
fi

# ---- the merge Job
merge=
for d in $(docs kind Job); do
	[ "$d" = "$job" ] && continue
	grep -q "^D$d\.spec\.template\.spec\.containers\[[0-9]*\]\.\(command\|args\)\[[0-9]*\]=.*florabatch merge" "$flat" &&
		merge=$d
done
if [ -z "$merge" ]; then
	fail "no other Job runs florabatch merge"
else
	M=D$merge.spec.template.spec
	merge_cmd=$(grep "^$M\.containers\[0\]\.\(command\|args\)\[" "$flat" | cut -d= -f2- | tr '\n' ' ')
	mapfile -t mmounts < <(entries "$M.containers[0].volumeMounts" | awk -F'\t' \
		'index($2, "mountPath=") == 1 { print $1 "\t" substr($2, 11) }')
	merge_mp=
	for m in "${mmounts[@]}"; do
		v=${m%%$'\t'*}
		i=0
		while n=$(get "$M.volumes[$i].name") && [ -n "$n" ]; do
			[ "$n" = "$v" ] && [ "$(get "$M.volumes[$i].persistentVolumeClaim.claimName")" = "$claim" ] &&
				merge_mp=${m#*$'\t'}
			i=$((i + 1))
		done
	done
	if [ -z "$merge_mp" ]; then
		fail "the merge Job does not mount the claim '$claim'"
	else
		# The shards write <mount>/REL$(JOB_COMPLETION_INDEX): the merge
		# must read <its mount>/REL*.
		rel=${out#"$out_mp"}
		rel=${rel%%\$(*}
		if [[ $merge_cmd == *" $merge_mp$rel"* ]]; then
			ok "the merge Job reads $merge_mp$rel* from the claim the shards write"
		else
			fail "the merge Job's command does not read $merge_mp$rel*: $merge_cmd"
		fi
	fi
	[ "$(get "D$merge.spec.completionMode")" = Indexed ] && fail "the merge Job is Indexed"
fi

# ---- the kubectl selectors of the comments: first the shards, then the merge
mapfile -t sels < <(grep '^#.*kubectl apply .* -l ' "$yaml" | sed 's/.* -l \([^ ]*\).*/\1/')
if [ "${#sels[@]}" -ne 2 ]; then
	fail "expected two 'kubectl apply -f ... -l SELECTOR' lines in the comments, found ${#sels[@]}"
else
	first=$(docs "metadata.labels.${sels[0]%%=*}" "${sels[0]#*=}" | tr '\n' ' ')
	second=$(docs "metadata.labels.${sels[1]%%=*}" "${sels[1]#*=}" | tr '\n' ' ')
	if [[ " $first" == *" $job "* && " $first" == *" $pvc "* && " $first" != *" ${merge:-x} "* &&
		" $second" == *" ${merge:-x} "* && " $second" != *" $job "* ]]; then
		ok "-l ${sels[0]} applies the claim and the shards, -l ${sels[1]} the merge"
	else
		fail "-l ${sels[0]} picks documents [ $first], -l ${sels[1]} [ $second]: not the claim and shards, then the merge"
	fi
fi

if [ "$scale_fails" -ne 0 ]; then
	finish
fi

# ---- the pods, run here
if ! "$fb" run --help 2>/dev/null | grep -q -- --shard || ! "$fb" merge --help >/dev/null 2>&1; then
	echo "$scale_name: $scale_passes passed, $scale_fails failed"
	skip "the manifest holds together; its commands were not run: this florabatch has no --shard or no merge"
fi
scale_start_sim 60
scale_manifest "$work/manifest.csv"
# Each volume a local folder; a path of a command moves with its mount.
vols=$work/volumes
local_path() {
	local m mp
	m=$(mount_of "$1")
	[ -n "$m" ] || {
		printf '%s\n' "$1"
		return
	}
	mp=${m#*$'\t'}
	printf '%s\n' "$vols/${m%%$'\t'*}${1#"$mp"}"
}
mkdir -p "$(dirname "$(local_path "$manifest_path")")"
cp "$work/manifest.csv" "$(local_path "$manifest_path")"
if [ -n "$keyfile" ]; then
	mkdir -p "$(dirname "$(local_path "$keyfile")")"
	printf '%s\n' "$key" >"$(local_path "$keyfile")"
	chmod 400 "$(local_path "$keyfile")"
fi
for m in "${mounts[@]}"; do mkdir -p "$vols/${m%%$'\t'*}"; done
pids=()
for k in $(seq 0 $((completions - 1))); do
	# The pod's environment: its env list, nothing of this shell's.
	penv=(PATH="$PATH" HOME="$work" FLORA_BASE_URL="$base" JOB_COMPLETION_INDEX="$k")
	for name in $env_names; do
		v=$(envval "$name" value)
		[ "$(envval "$name" valueFrom.fieldRef.fieldPath)" != "" ] && v=$k
		[ "$(envval "$name" valueFrom.secretKeyRef.name)" != "" ] && v=$key
		penv+=("$name=$v")
	done
	args=()
	for a in "${cmd[@]}"; do
		for e in "${penv[@]}"; do a=${a//\$(${e%%=*})/${e#*=}}; done
		args+=("$(local_path "$a")")
	done
	env -i "${penv[@]}" "${args[@]}" >"$work/pod-$k.out" 2>&1 &
	pids+=($!)
done
k=0
for p in "${pids[@]}"; do
	if wait "$p"; then
		ok "pod $k: exit 0"
	else
		fail "pod $k: exit $?:"
		cat "$work/pod-$k.out"
	fi
	k=$((k + 1))
done
mapfile -t margs < <(grep "^$M\.containers\[0\]\.\(command\|args\)\[" "$flat" | cut -d= -f2-)
for i in "${!margs[@]}"; do
	a=" ${margs[$i]}"
	a=${a// $merge_mp\// $vols/$out_vol/}
	margs[i]=${a# }
done
if env -i PATH="$PATH" HOME="$work" "${margs[@]}" >"$work/merge.out" 2>&1; then
	ok "the merge Job's command: exit 0"
else
	fail "the merge Job's command exited $?:"
	cat "$work/merge.out"
fi
scale_stop_sim
shards=()
for k in $(seq 0 $((completions - 1))); do
	shards+=("$(local_path "${out//\$(JOB_COMPLETION_INDEX)/$k}")")
done
merged=$(grep -o "$merge_mp/[^ ]*" <<<"$merge_cmd" | head -n 1)
scale_check "$(local_path "$merged")" "$work/manifest.csv" "${shards[@]}"
finish
