# bash completion for florasim(1)                          -*- shell-script -*-
#
# The option lists are the tables of cmd/florasim/flags.c (valued[] and
# shares[] take a value, switches[] do not): tests/docs/check-docs.sh fails
# when they differ.

_florasim_valued='--port --latency --latency-p99 --close-rate --max-seconds
--seed --run-time --run-time-sigma --run-time-jitter --run-time-by --estimate
--list-lag --page-cap --fail-rate --outputs --output-bytes --casing
--duplicates --retain-runs --api-key --credits --forbidden --rate-limit
--burst --fault-5xx --fault-html --fault-reset-before --fault-reset-after
--fault-truncate --fault-slow'
_florasim_flags='--quiet --hostile-names -h --help --version'

_florasim()
{
	local cur prev words cword split
	_init_completion -s || return

	case $prev in
	--run-time-by)
		COMPREPLY=($(compgen -W 'key order' -- "$cur"))
		return
		;;
	--estimate)
		COMPREPLY=($(compgen -W 'absent exact wrong' -- "$cur"))
		return
		;;
	--casing)
		COMPREPLY=($(compgen -W 'snake camel mixed' -- "$cur"))
		return
		;;
	--duplicates)
		COMPREPLY=($(compgen -W 'replay conflict' -- "$cur"))
		return
		;;
	esac
	# Any other option's value is the user's to type.
	[[ " "${_florasim_valued//$'\n'/ }" " == *" $prev "* ]] && return
	$split && return
	COMPREPLY=($(compgen -W "$_florasim_valued $_florasim_flags" -- "$cur"))
} &&
	complete -F _florasim florasim

# ex: filetype=sh
