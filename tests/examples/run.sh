#!/usr/bin/env bash
# Runs every file of examples/ against florasim, as examples/README.md tells
# a new user to, so the examples cannot rot:
#   - each command line of examples/README.md (the manifests of each kind,
#     pipeline.sh, parallel.sh), checking every item completed with the
#     kind its manifest stands for; those of scale-out/ need a scheduler,
#     shards and a merge, and are run by tests/scale/ instead;
#   - the crontab's command as cron would run it (a bare environment, the
#     crontab's own PATH), with /srv/catalog moved to a temporary folder:
#     a refused key is printed (mailed), a folder held by another
#     florabatch is silent and exits 0, then the batch completes, silently;
#   - the service's ExecStart in its WorkingDirectory with its credential,
#     exit 75 on a held folder being one of its SuccessExitStatus, and
#     `systemd-analyze verify` of the service and timer when it is there.
# Usage: run.sh FLORABATCH FLORASIM
set -euo pipefail
fb=$(realpath "$1")
sim=$(realpath "$2")
top=$(cd "$(dirname "$0")/../.." && pwd)
ex=$top/examples
key=sk_test_examples

command -v jq >/dev/null || { echo "examples: jq is needed (scripts/install-deps.sh)"; exit 1; }

work=$(mktemp -d)
sim_pid=
holder_pid=
cleanup() {
	[ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

fails=0
passes=0
ok() {
	passes=$((passes + 1))
	echo "ok: $*"
}
fail() {
	fails=$((fails + 1))
	echo "FAIL: $*"
}

# florasim on a free port; runs take 200 ms and say so, so no poll waits.
"$sim" --port 0 --max-seconds 120 --quiet --api-key "$key" --run-time 200ms \
	--run-time-sigma 0 --estimate exact >"$work/sim.port" 2>"$work/sim.err" &
sim_pid=$!
i=0
while ! grep -q listening "$work/sim.port" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -gt 100 ] && { echo "examples: florasim did not start"; exit 1; }
	sleep 0.1
done
base=$(sed -n 's/^florasim listening on //p' "$work/sim.port")

# `florabatch` on PATH, as an installed one would be.
mkdir "$work/bin"
ln -s "$fb" "$work/bin/florabatch"

# The rows of a manifest: non-empty lines, less a CSV's header. (The
# examples' CSV cells hold no line breaks.)
rows() {
	local n
	n=$(grep -c . "$1")
	case $1 in *.csv) n=$((n - 1)) ;; esac
	echo "$n"
}

# A jq filter's start: the result lines from the manifest named $m (source
# is the manifest's path as given, a colon and the line).
from='select((.source | sub(":[0-9]+$"; "") | split("/") | last) == $m'

# Every line of results file $1 from manifest $2 completed, one line per row,
# with kind $3; $4 names the check.
check_results() {
	local file=$1 manifest=$2 kind=$3 what=$4 want got
	[ -f "$file" ] || { fail "$what: no $file"; return; }
	want=$(rows "$manifest")
	got=$(jq -c --arg k "$kind" --arg m "$(basename "$manifest")" \
		"$from"' and .status == "completed" and .kind == $k)' \
		"$file" | jq -s 'map(.id) | unique | length')
	if [ "$got" -eq "$want" ] && [ "$(jq -c --arg m "$(basename "$manifest")" \
		"$from)" "$file" | wc -l)" -eq "$want" ]; then
		ok "$what: $want items completed as $kind"
	else
		fail "$what: $got of $want items completed as $kind in $file:"
		cat "$file"
	fi
}

# A streaming florabatch that holds folder $1 until release_folder: what
# a long batch, or one started by hand, does to the next invocation.
hold_folder() {
	mkfifo "$work/holder.fifo"
	"$fb" run - --sim-clock virtual --technique studio-shot --out "$1" --quiet \
		<"$work/holder.fifo" >/dev/null 2>"$work/holder.err" &
	holder_pid=$!
	exec 9>"$work/holder.fifo"
	echo '{"id":"holder","inputs":{"input_image":"https://example.com/h.png"}}' >&9
	# Held, and done with the folder: its own line is written (a re-run's
	# start also takes skipped lines out), so nothing else changes it.
	local i=0
	until "$fb" status "$1" --json 2>/dev/null | jq -e .running >/dev/null &&
		grep -q '"id":"holder"' "$1/results.jsonl" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt 100 ] && { echo "examples: the holder never held $1"; cat "$work/holder.err"; exit 1; }
		sleep 0.1
	done
}
release_folder() {
	exec 9>&-
	wait "$holder_pid" || { echo "examples: the holder failed"; cat "$work/holder.err"; exit 1; }
	holder_pid=
	rm -f "$work/holder.fifo"
}

# ---- examples/README.md: every command line of its sh blocks that runs an example
echo "== examples/README.md"
mkdir "$work/readme"
ln -s "$ex" "$work/readme/examples"
n=0
while IFS= read -r line; do
	n=$((n + 1))
	if (cd "$work/readme" && PATH=$work/bin:$PATH FLORA_BASE_URL=$base FLORA_API_KEY=$key \
		bash -c "$line") </dev/null >"$work/readme/stdout.$n" 2>"$work/readme/stderr.$n"; then
		ok "exit 0: $line"
	else
		fail "exit $?: $line"
		cat "$work/readme/stderr.$n"
	fi
	case $line in *pipeline.sh*)
		urls=$(rows "$ex/urls.txt")
		if [ "$(grep -c "	completed	" "$work/readme/stdout.$n")" -eq "$urls" ] &&
			[ "$(wc -l <"$work/readme/stdout.$n")" -eq "$urls" ]; then
			ok "pipeline.sh printed $urls completed items"
		else
			fail "pipeline.sh printed:"
			cat "$work/readme/stdout.$n"
		fi
		;;
	esac
done < <(awk '/^```/ { inblock = ($0 == "```sh"); next }
	inblock && /^([A-Z_]+=[^ ]* )*(florabatch run examples\/|examples\/)/ &&
	!/examples\/scale-out\//' "$ex/README.md")
if [ "$n" -ge 5 ]; then
	ok "examples/README.md has $n commands"
else
	fail "examples/README.md: $n commands found, expected the 3 manifests, pipeline.sh and parallel.sh"
fi
# Each kind's manifest ran wherever a command put it (its own --out, parallel.sh's folders).
for pair in technique-slug.csv:technique technique-id.jsonl:technique_id generation.jsonl:generation; do
	m=${pair%%:*}
	found=0
	while IFS= read -r f; do
		[ -n "$(jq -c --arg m "$m" "$from)" "$f")" ] || continue
		found=$((found + 1))
		check_results "$f" "$ex/$m" "${pair#*:}" "$m in ${f#"$work"/readme/}"
	done < <(find "$work/readme" -name results.jsonl)
	[ "$found" -ge 1 ] || fail "$m: no command of examples/README.md ran it"
done

# ---- examples/crontab: the job's command as cron runs it
echo "== examples/crontab"
cat=$work/catalog
mkdir "$cat"
cp "$ex/technique-slug.csv" "$cat/manifest.csv"
jobs=$(grep -Ev '^[[:space:]]*(#|$)' "$ex/crontab" | grep -Ev '^[A-Za-z_][A-Za-z0-9_]*=' || true)
if [ "$(printf '%s\n' "$jobs" | grep -c .)" -ne 1 ]; then
	fail "examples/crontab: expected one job line, found: $jobs"
fi
job=$(printf '%s\n' "$jobs" | head -n 1 | sed -E 's/^[[:space:]]*([^[:space:]]+[[:space:]]+){5}//')
cron_path=$(sed -n 's/^PATH=//p' "$ex/crontab")
case $job in *%*) fail "examples/crontab: a % in the command (cron makes it a new line)" ;; esac
case $job in */srv/catalog*) ;; *) fail "examples/crontab: the command does not cd to /srv/catalog" ;; esac
job=${job//\/srv\/catalog/$cat}
# As cron: /bin/sh, a bare environment, the crontab's PATH (florabatch is
# found where it would be installed), and no key in the environment.
cron() {
	env -i HOME="$work" LOGNAME=cron SHELL=/bin/sh PATH="$work/bin:${cron_path:-/usr/bin:/bin}" \
		FLORA_BASE_URL="$base" /bin/sh -c "$job" >"$work/cron.out" 2>&1
}
# A refused key: exit 3, and florabatch's words are printed, so cron mails them.
printf 'sk_wrong\n' >"$cat/.flora-key"
chmod 600 "$cat/.flora-key"
rc=0
cron || rc=$?
if [ "$rc" -eq 3 ] && grep -q . "$work/cron.out"; then
	ok "crontab: a refused key exits 3 and prints (cron mails it)"
else
	fail "crontab: a refused key: exit $rc, printed:"
	cat "$work/cron.out"
fi
printf '%s\n' "$key" >"$cat/.flora-key"
# Another florabatch holds out/: exit 0, nothing printed, nothing touched.
hold_folder "$cat/out"
before=$(md5sum <"$cat/out/results.jsonl" 2>/dev/null || true)
rc=0
cron || rc=$?
after=$(md5sum <"$cat/out/results.jsonl" 2>/dev/null || true)
if [ "$rc" -eq 0 ] && ! grep -q . "$work/cron.out" && [ "$before" = "$after" ]; then
	ok "crontab: while another florabatch holds out/, exits 0 and prints nothing"
else
	fail "crontab: while out/ was held: exit $rc, results changed: $([ "$before" = "$after" ] && echo no || echo yes), printed:"
	cat "$work/cron.out"
fi
# Direct proof that the folder was held: florabatch itself says 75.
rc=0
(cd "$cat" && FLORA_API_KEY=$key FLORA_BASE_URL=$base "$fb" run manifest.csv --transport http \
	--technique studio-shot --out out >/dev/null 2>&1) || rc=$?
if [ "$rc" -eq 75 ]; then
	ok "crontab: the held folder makes florabatch exit 75"
else
	fail "crontab: the held folder: florabatch exited $rc, not 75"
fi
release_folder
# The next tick: the batch completes, silently; the one after has nothing to do.
for tick in next later; do
	rc=0
	cron || rc=$?
	if [ "$rc" -eq 0 ] && ! grep -q . "$work/cron.out"; then
		ok "crontab: the $tick tick exits 0 and prints nothing"
	else
		fail "crontab: the $tick tick: exit $rc, printed:"
		cat "$work/cron.out"
	fi
done
check_results "$cat/out/results.jsonl" "$cat/manifest.csv" technique "crontab"

# ---- examples/florabatch-nightly.service and .timer
echo "== examples/florabatch-nightly.service"
unit=$ex/florabatch-nightly.service
# A unit's settings, continuation lines joined.
setting() {
	sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$unit" | sed -n "s/^$1=//p"
}
exec_start=$(setting ExecStart)
wd=$(setting WorkingDirectory)
success=$(setting SuccessExitStatus)
if [ -z "$exec_start" ] || [ -z "$wd" ]; then
	fail "service: no ExecStart= or WorkingDirectory= in $unit"
fi
srv=$work/srv
mkdir -p "$srv/creds" "$srv/wd"
cp "$ex/technique-slug.csv" "$srv/wd/manifest.csv"
# Each credential as systemd hands it over: a file in %d named after its id.
while IFS= read -r cred; do
	[ -n "$cred" ] || continue
	printf '%s\n' "$key" >"$srv/creds/${cred%%:*}"
	chmod 600 "$srv/creds/${cred%%:*}"
done < <(setting LoadCredential)
cmd=${exec_start//\/usr\/local\/bin\/florabatch/$fb}
cmd=${cmd//%d/$srv/creds}
cmd=${cmd//$wd/$srv/wd}
case $cmd in
*%*) fail "service: ExecStart has a specifier this test does not know: $exec_start" ;;
*[\;\|\&\<\>\`\$\(\)]*) fail "service: ExecStart holds shell syntax, which systemd does not run: $exec_start" ;;
esac
case $cmd in "$fb "*) ;; *) fail "service: ExecStart does not run /usr/local/bin/florabatch: $exec_start" ;; esac
service() {
	(cd "$srv/wd" && env -i PATH=/usr/bin:/bin FLORA_BASE_URL="$base" /bin/sh -c "exec $cmd") \
		>"$work/service.out" 2>&1
}
rc=0
service || rc=$?
if [ "$rc" -eq 0 ]; then
	ok "service: ExecStart exits 0"
else
	fail "service: ExecStart exited $rc:"
	cat "$work/service.out"
fi
check_results "$srv/wd/out/results.jsonl" "$srv/wd/manifest.csv" technique "service"
hold_folder "$srv/wd/out"
rc=0
service || rc=$?
release_folder
case " $success " in
*" $rc "*) ok "service: a held folder exits $rc, one of SuccessExitStatus=$success" ;;
*) fail "service: a held folder exits $rc, not in SuccessExitStatus=$success" ;;
esac
[ "$rc" -eq 75 ] || fail "service: a held folder exits $rc, not 75"

if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir "$work/units"
	sed "s|/usr/local/bin/florabatch|$fb|" "$unit" >"$work/units/florabatch-nightly.service"
	cp "$ex/florabatch-nightly.timer" "$work/units/"
	# verify exits 0 on settings it ignores: anything it says is a failure.
	rc=0
	(cd "$work/units" && systemd-analyze verify --man=no florabatch-nightly.service \
		florabatch-nightly.timer) >"$work/verify.out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ] && ! grep -q . "$work/verify.out"; then
		ok "systemd-analyze verify: the service and the timer"
	else
		fail "systemd-analyze verify: exit $rc:"
		cat "$work/verify.out"
	fi
else
	echo "skip: systemd-analyze is not installed; the unit files' syntax was not verified"
fi

echo "examples: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
