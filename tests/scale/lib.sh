# shellcheck shell=bash
# What the scale-out tests share (sourced, not run): florasim on a free
# port, a manifest, florabatch on PATH, and the check of a merged folder.
#
# After `scale_init FLORABATCH FLORASIM` a test has: $work (a temporary
# folder, removed at exit), $base and $key (florasim's URL and key, also
# exported as FLORA_BASE_URL and FLORA_API_KEY), $top (the repository),
# $work/bin on PATH with `florabatch` in it, and ok/fail/finish.

# Items in the test manifest, and outputs per run: enough that every shard
# of four gets several items, few enough to run in seconds.
SCALE_ITEMS=${SCALE_ITEMS:-40}
SCALE_OUTPUTS=2

scale_fails=0
scale_passes=0
ok() {
	scale_passes=$((scale_passes + 1))
	echo "ok: $*"
}
fail() {
	scale_fails=$((scale_fails + 1))
	echo "FAIL: $*"
}
# The test's last line and exit status.
finish() {
	echo "$scale_name: $scale_passes passed, $scale_fails failed"
	[ "$scale_fails" -eq 0 ]
	exit
}
skip() {
	echo "$scale_name: skipped: $*"
	exit 77
}

scale_sim_pid=
scale_cleanup() {
	if [ -n "$scale_sim_pid" ]; then
		kill "$scale_sim_pid" 2>/dev/null
		wait "$scale_sim_pid" 2>/dev/null
	fi
	rm -rf "$work"
}

# scale_init FLORABATCH FLORASIM
scale_init() {
	fb=$(realpath "$1")
	sim=$(realpath "$2")
	# shellcheck disable=SC2034 # the tests' own
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	scale_name=$(basename "$0" .sh)
	command -v jq >/dev/null || {
		echo "$scale_name: jq is needed (scripts/install-deps.sh)"
		exit 1
	}
	work=$(mktemp -d)
	trap scale_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir "$work/bin"
	ln -s "$fb" "$work/bin/florabatch"
	export PATH=$work/bin:$PATH
}

# The features the recipes use, which a florabatch without them lacks: the
# test is then skipped, not failed.
scale_need_features() {
	"$fb" run --help 2>/dev/null | grep -q -- --shard ||
		skip "this florabatch has no --shard (florabatch run --help)"
	"$fb" merge --help >/dev/null 2>&1 ||
		skip "this florabatch has no merge command (florabatch merge --help)"
}

# florasim on a free port, for at most $1 seconds: runs take 200 ms and say
# so, each makes SCALE_OUTPUTS outputs.
scale_start_sim() {
	key=sk_test_scale
	"$sim" --port 0 --max-seconds "$1" --quiet --api-key "$key" --run-time 200ms \
		--run-time-sigma 0 --estimate exact --outputs "$SCALE_OUTPUTS" \
		>"$work/sim.port" 2>"$work/sim.err" &
	scale_sim_pid=$!
	local i=0
	while ! grep -q listening "$work/sim.port" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt 100 ] && {
			echo "$scale_name: florasim did not start"
			cat "$work/sim.err"
			exit 1
		}
		sleep 0.1
	done
	base=$(sed -n 's/^florasim listening on //p' "$work/sim.port")
	export FLORA_BASE_URL=$base FLORA_API_KEY=$key
}

# Stops florasim and checks from its summary that it made one run per item,
# none twice.
scale_stop_sim() {
	kill "$scale_sim_pid" 2>/dev/null
	wait "$scale_sim_pid" 2>/dev/null
	scale_sim_pid=
	local runs most
	runs=$(sed -n 's/.* \([0-9]*\) runs created.*/\1/p' "$work/sim.err")
	most=$(sed -n 's/.*most runs for one key \([0-9]*\).*/\1/p' "$work/sim.err")
	if [ "$runs" = "$SCALE_ITEMS" ] && [ "$most" = 1 ]; then
		ok "florasim made $runs runs, one per item"
	else
		fail "florasim made ${runs:-?} runs for $SCALE_ITEMS items (most for one key: ${most:-?}):"
		cat "$work/sim.err"
	fi
}

# A CSV manifest of SCALE_ITEMS items at $1; their ids, sorted, at $1.ids.
scale_manifest() {
	local i
	{
		echo "id,input_image"
		for i in $(seq "$SCALE_ITEMS"); do
			printf 'item-%03d,https://example.com/catalog/item-%03d.png\n' "$i" "$i"
		done
	} >"$1"
	tail -n +2 "$1" | cut -d, -f1 | sort >"$1.ids"
}

# scale_check MERGED MANIFEST SHARD_DIR...: the shards split the manifest
# (each item in exactly one; a shard may be empty, since items go to shards
# by a hash, but not all but one), the merged results.jsonl has every item
# exactly once, completed, and every file of the merged archive is an
# output of its lines, matching the line's sha256, and the other way round.
scale_check() {
	local merged=$1 manifest=$2 d n got counts='' busy=0
	shift 2

	# The shards: disjoint, together the manifest, the work spread.
	: >"$work/shard.ids"
	for d in "$@"; do
		if [ ! -d "$d" ]; then
			fail "shard ${d#"$work"/}: no such folder"
			continue
		fi
		n=0
		if [ -f "$d/results.jsonl" ]; then
			jq -r .id "$d/results.jsonl" >>"$work/shard.ids"
			n=$(jq -s length "$d/results.jsonl")
		fi
		counts="$counts${counts:+, }$n"
		[ "$n" -gt 0 ] && busy=$((busy + 1))
	done
	if sort "$work/shard.ids" | cmp -s - "$manifest.ids"; then
		ok "the $# shards split the $SCALE_ITEMS items ($counts), each item in one shard"
	else
		fail "the shards' items are not the manifest's, each once (missing <, extra >):"
		sort "$work/shard.ids" | diff "$manifest.ids" - | grep '^[<>]' | head -n 20
	fi
	if [ "$busy" -lt 2 ]; then
		fail "only $busy of the $# shards ran any item ($counts): the work was not spread"
	fi

	# The merged results: every item exactly once, completed.
	if [ ! -s "$merged/results.jsonl" ]; then
		fail "no merged results: $merged/results.jsonl"
		return
	fi
	if jq -r .id "$merged/results.jsonl" | sort | cmp -s - "$manifest.ids"; then
		ok "merged results.jsonl: each of the $SCALE_ITEMS items exactly once"
	else
		fail "merged results.jsonl: not each item exactly once (missing <, extra >):"
		jq -r .id "$merged/results.jsonl" | sort | diff "$manifest.ids" - | grep '^[<>]' | head -n 20
	fi
	n=$(jq -s 'map(select(.status == "completed")) | length' "$merged/results.jsonl")
	if [ "$n" -eq "$SCALE_ITEMS" ]; then
		ok "merged results.jsonl: every item completed"
	else
		fail "merged results.jsonl: $n of $SCALE_ITEMS items completed"
	fi

	# The merged archive: each volume the lines name, unpacked, holds
	# exactly the outputs the lines name, each with its line's sha256.
	jq -r '.volume as $v | .outputs[] | [$v // "", .path, .sha256 // ""] | @tsv' \
		"$merged/results.jsonl" | sort >"$work/outputs.tsv"
	n=$(wc -l <"$work/outputs.tsv")
	if [ "$n" -eq $((SCALE_ITEMS * SCALE_OUTPUTS)) ]; then
		ok "merged results.jsonl: $n outputs, $SCALE_OUTPUTS an item"
	else
		fail "merged results.jsonl: $n outputs, not $((SCALE_ITEMS * SCALE_OUTPUTS))"
	fi
	local x=$work/unpacked vol path sum bad=0
	rm -rf "$x"
	mkdir "$x"
	for vol in $(cut -f1 "$work/outputs.tsv" | sort -u); do
		if [ -z "$vol" ] || [ ! -f "$merged/$vol" ]; then
			fail "merged: a line names the volume '${vol}', which is not in $merged"
			return
		fi
		mkdir -p "$x/$vol"
		tar -xf "$merged/$vol" -C "$x/$vol" || {
			fail "merged: $vol does not unpack"
			return
		}
	done
	while IFS=$'\t' read -r vol path sum; do
		got=$(sha256sum <"$x/$vol/$path" 2>/dev/null | cut -d' ' -f1)
		if [ "$got" != "$sum" ]; then
			bad=$((bad + 1))
			[ "$bad" -le 5 ] && echo "  $vol: $path: sha256 ${got:-(no such file)}, the line says ${sum:-null}"
		fi
	done <"$work/outputs.tsv"
	if [ "$bad" -eq 0 ]; then
		ok "merged archive: every output matches its line's sha256"
	else
		fail "merged archive: $bad outputs missing or not matching their line's sha256"
	fi
	(cd "$x" && find . -type f | sed 's|^\./||' | sort) >"$work/archive.files"
	if awk -F'\t' '{ print $1 "/" $2 }' "$work/outputs.tsv" | sort | cmp -s - "$work/archive.files"; then
		ok "merged archive: holds exactly the outputs its lines name"
	else
		fail "merged archive: files no line names, or named twice (named <, in the archive >):"
		awk -F'\t' '{ print $1 "/" $2 }' "$work/outputs.tsv" | sort |
			diff - "$work/archive.files" | grep '^[<>]' | head -n 20
	fi
}
