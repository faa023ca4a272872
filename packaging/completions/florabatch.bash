# bash completion for florabatch(1)                        -*- shell-script -*-
#
# The option lists are the getopt_long tables of cmd/florabatch (options.c
# for run, status.c, pack.c, techniques.c, merge.c), split into options that take a
# value and options that do not (validate takes run's):
# tests/docs/check-docs.sh fails when they differ.

_florabatch_run_valued='--technique --technique-id --generation --workspace
--project --model --generation-route --format --namespace --input-id --glob
--out --results --archive --archive-format --outputs-dir --roll
--max-output-bytes --request-timeout --stall-timeout --transport --base-url
--api-key-file --concurrency
--poll-interval --poll-mode --grace --seed --progress --summary --retries --backoff-base
--backoff-cap --rate --burst --retry-failed --run-timeout --max-cost
--shard --shard-count
--sim-run-time --sim-fail-rate --sim-latency --sim-outputs --sim-output-bytes
--sim-estimate --sim-run-time-sigma --sim-list-lag --sim-page-cap --sim-seed
--sim-clock'
_florabatch_run_flags='--strict --hidden --keep-order --fresh --insecure
--quiet --verbose --dry-run --recreate-unresolved -h --help'
_florabatch_status_valued=''
_florabatch_status_flags='--json -h --help'
_florabatch_pack_valued='--to --archive-format'
_florabatch_pack_flags='-h --help'
_florabatch_techniques_valued='--query --transport --base-url --api-key-file'
_florabatch_techniques_flags='--json --insecure -h --help'
_florabatch_merge_valued='--archive-format'
_florabatch_merge_flags='--allow-mixed --quiet -h --help'

_florabatch()
{
	local cur prev words cword split
	_init_completion -s || return

	if ((cword == 1)); then
		COMPREPLY=($(compgen -W 'run validate status techniques pack merge help --help --version' -- "$cur"))
		return
	fi
	local cmd=${words[1]}
	case $cmd in
	help | --help | -h)
		((cword == 2)) && COMPREPLY=($(compgen -W 'run validate status techniques pack merge' -- "$cur"))
		return
		;;
	validate) cmd=run ;; # run --dry-run: the same options
	run | status | pack | techniques | merge) ;;
	*) return ;;
	esac

	# The value of the option before the cursor.
	case $prev in
	--generation)
		COMPREPLY=($(compgen -W 'image video audio text' -- "$cur"))
		return
		;;
	--generation-route)
		COMPREPLY=($(compgen -W 'generate runs' -- "$cur"))
		return
		;;
	--format)
		COMPREPLY=($(compgen -W 'csv jsonl' -- "$cur"))
		return
		;;
	--transport)
		COMPREPLY=($(compgen -W 'sim http' -- "$cur"))
		return
		;;
	--poll-mode)
		COMPREPLY=($(compgen -W 'list get' -- "$cur"))
		return
		;;
	--archive-format)
		COMPREPLY=($(compgen -W 'tar.gz tar.zst tar' -- "$cur"))
		return
		;;
	--sim-estimate)
		COMPREPLY=($(compgen -W 'absent exact wrong' -- "$cur"))
		return
		;;
	--sim-clock)
		COMPREPLY=($(compgen -W 'real virtual' -- "$cur"))
		return
		;;
	--progress)
		COMPREPLY=($(compgen -W 'auto bar jsonl none' -- "$cur"))
		return
		;;
	--summary)
		COMPREPLY=($(compgen -W 'block line none' -- "$cur"))
		return
		;;
	--shard)
		COMPREPLY=($(compgen -W 'auto' -- "$cur"))
		return
		;;
	--out | --outputs-dir)
		_filedir -d
		return
		;;
	--archive)
		COMPREPLY=($(compgen -W 'none' -- "$cur"))
		_filedir
		return
		;;
	--results | --api-key-file | --to)
		_filedir
		return
		;;
	esac
	local valued=_florabatch_${cmd}_valued flags=_florabatch_${cmd}_flags
	# Any other option's value is the user's to type.
	[[ " "${!valued//$'\n'/ }" " == *" $prev "* ]] && return
	$split && return

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "${!valued} ${!flags}" -- "$cur"))
		return
	fi
	# run takes a manifest (a file, a folder or -); status, pack and merge
	# output folders; techniques a technique's slug or id, which only the API knows.
	case $cmd in
	run) _filedir ;;
	status | pack | merge) _filedir -d ;;
	esac
} &&
	complete -F _florabatch florabatch

# ex: filetype=sh
