#!/usr/bin/env bash
# scale.slurm: examples/scale-out/slurm-array.sbatch as the README runs it,
# on a Slurm cluster of one node started for the test (slurm-node.sh): the
# script submits itself as an array of four tasks (SBATCH_ARRAY_INX=0-3,
# sbatch's own override of its --array=0-7 line) and the merge job after
# them; each task runs its shard of a 40-item manifest against florasim,
# reading the key from KEY_FILE. Then the same check as for the other
# recipes: every item in the merged results once, completed, and every
# output in the merged archive matches its line's sha256.
# Skipped (77), saying why, when a single-node Slurm cannot start here.
# Usage: slurm.sh FLORABATCH FLORASIM
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

# ---- inside the cluster (run by slurm-node.sh, SLURM_CONF set): submit
# the recipe, wait for its merge job to end, print each job's state.
if [ "${1:-}" = --in-cluster ]; then
	top=$2
	cd "$3" || exit 1
	# The key from a file only: FLORA_API_KEY is not passed on.
	env -u FLORA_API_KEY SBATCH_ARRAY_INX=0-3 OUT=out TECHNIQUE=studio-shot KEY_FILE="$PWD/flora-key" \
		"$top/examples/scale-out/slurm-array.sbatch" manifest.csv >submit.out 2>&1 || {
		echo "the recipe's submission failed:"
		cat submit.out
		exit 1
	}
	cat submit.out
	array=$(sed -n 's/^array job \([0-9]*\),.*/\1/p' submit.out)
	merge=$(sed -n 's/.*merge job \([0-9]*\) .*/\1/p' submit.out)
	if [ -z "$array" ] || [ -z "$merge" ]; then
		echo "the recipe did not print 'array job N, merge job M'"
		exit 1
	fi
	# The merge ends, or can never start (a task failed: afterok).
	i=0
	while :; do
		info=$(scontrol -o show job "$merge" 2>/dev/null)
		case $info in
		*JobState=COMPLETED* | *JobState=FAILED* | *JobState=CANCELLED* | *JobState=TIMEOUT* | *JobState=NODE_FAIL* | *JobState=OUT_OF_MEMORY*) break ;;
		*Reason=DependencyNeverSatisfied*) break ;;
		esac
		i=$((i + 1))
		if [ "$i" -gt 450 ]; then
			echo "the merge job did not end in 45 s:"
			break
		fi
		sleep 0.1
	done
	# One line per job: "array_N STATE EXIT" or "merge STATE EXIT".
	scontrol -o show job "$array" | sed -n \
		's/.*ArrayTaskId=\([^ ]*\) .*JobState=\([^ ]*\) .* ExitCode=\([^ ]*\) .*/array_\1 \2 \3/p' |
		sort >states
	scontrol -o show job "$merge" | sed -n \
		's/.*JobState=\([^ ]*\) .*Reason=\([^ ]*\) .* ExitCode=\([^ ]*\) .*/merge \1 \3 \2/p' >>states
	exit 0
fi

scale_init "$1" "$2"
scale_need_features
scale_start_sim 120
scale_manifest "$work/manifest.csv"
printf '%s\n' "$key" >"$work/flora-key"
chmod 600 "$work/flora-key"

rc=0
"$here/slurm-node.sh" "$0" --in-cluster "$top" "$work" || rc=$?
if [ "$rc" -eq 77 ]; then
	# slurm-node.sh said why.
	exit 77
fi
if [ "$rc" -ne 0 ]; then
	fail "the Slurm run failed (exit $rc)"
	finish
fi
cd "$work" || exit 1
want="array_0 COMPLETED 0:0
array_1 COMPLETED 0:0
array_2 COMPLETED 0:0
array_3 COMPLETED 0:0
merge COMPLETED 0:0 None"
if [ "$(cat states 2>/dev/null)" = "$want" ]; then
	ok "the array's four tasks, then the merge, each completed with exit 0"
else
	fail "the jobs ended so (task or merge, state, exit code), not each COMPLETED 0:0:"
	cat states 2>/dev/null
	for f in out/slurm-*.log; do
		[ -f "$f" ] && echo "--- $f" && cat "$f"
	done
fi
scale_stop_sim
scale_check out/merged manifest.csv out/shard-0 out/shard-1 out/shard-2 out/shard-3
finish
