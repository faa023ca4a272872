#!/bin/bash
# Every option a parser takes is in its command's --help, in the man page
# and in the bash and zsh completions (with the same "takes a value"), and
# nothing is documented that the parser does not take; every exit status
# the code uses is in `florabatch run --help`, the man page and README;
# every cap and time limit in architecture.md's Limits is the code's number.
#
# The options come from the parsers' own tables (the getopt_long tables of
# cmd/florabatch, the tables of cmd/florasim/flags.c), the exit statuses
# from cmd/florabatch/*.h and run.c, so nothing here is a second list to
# keep by hand.
#
# usage: check-docs.sh SOURCE_DIR FLORABATCH FLORASIM
set -u
src=$1 fb=$2 fs=$3
fails=0
fail() {
	echo "check-docs: $*" >&2
	fails=$((fails + 1))
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- the options, from the tables: lines "NAME value|flag" -----------------

# A getopt_long table (static const struct option long_opts[]) and the short
# options of its getopt_long call.
getopt_options() {
	awk '/struct option long_opts\[\] = \{/ { t = 1; next } t && /^[[:space:]]*\};/ { t = 0 } t' "$1" |
		sed -n 's/.*{"\([A-Za-z0-9-]*\)", *\([a-z_]*\),.*/--\1 \2/p' |
		sed 's/ no_argument$/ flag/; s/ [a-z]*_argument$/ value/'
	sed -n 's/.*getopt_long(argc, argv, "\([^"]*\)".*/\1/p' "$1" |
		awk '{ for (i = 1; i <= length($0); i++) { c = substr($0, i, 1); if (c == ":") continue;
		       print "-" c, (substr($0, i + 1, 1) == ":" ? "value" : "flag") } }'
}

# florasim: switches[] take no value; valued[] and the SHARE(...) entries do.
florasim_options() {
	local f=$src/cmd/florasim/flags.c
	awk '/ switches\[\] = \{/, /\};/' "$f" | grep -o '"-[^"]*"' | tr -d '"' | sed 's/$/ flag/'
	awk '/ valued\[\] = \{/, /\};/' "$f" | grep -o '"-[^"]*"' | tr -d '"' | sed 's/$/ value/'
	grep -o 'SHARE("-[^"]*"' "$f" | sed 's/SHARE("//; s/"$//; s/$/ value/'
}

getopt_options "$src/cmd/florabatch/options.c" | sort -u >"$tmp/run"
getopt_options "$src/cmd/florabatch/status.c" | sort -u >"$tmp/status"
getopt_options "$src/cmd/florabatch/pack.c" | sort -u >"$tmp/pack"
getopt_options "$src/cmd/florabatch/techniques.c" | sort -u >"$tmp/techniques"
getopt_options "$src/cmd/florabatch/merge.c" | sort -u >"$tmp/merge"
florasim_options | sort -u >"$tmp/florasim"

# The extraction must find the tables: a parser has options, and at least
# the ones below (a table renamed or reshaped must fail here, not pass empty).
for want in "run --technique value" "run --fresh flag" "run -h flag" "status --json flag" \
	"pack --to value" "techniques --query value" "merge --allow-mixed flag" \
	"merge --archive-format value" "florasim --fault-5xx value" "florasim --quiet flag" \
	"florasim --port value"; do
	set -- $want
	grep -qx -- "$2 $3" "$tmp/$1" || fail "$1: no \"$2\" ($3) found in its table: is the table still where this script looks?"
done
[ "$(wc -l <"$tmp/run")" -ge 40 ] || fail "run: only $(wc -l <"$tmp/run") options found in options.c"

# florasim compares some names outside its tables: each must be in one.
for o in $(grep -o '"--[a-z0-9][a-z0-9-]*"' "$src/cmd/florasim/flags.c" | tr -d '"' | sort -u); do
	grep -q -- "^$o " "$tmp/florasim" ||
		fail "florasim: flags.c compares \"$o\" but no table (switches, valued, shares) holds it"
done

# florabatch's subcommands, as main.c dispatches them.
subcommands=$(grep -oE 'strcmp\(argv\[1\], "[a-z]+"\)' "$src/cmd/florabatch/main.c" |
	sed -E 's/.*"([a-z]+)".*/\1/' | grep -vx help | sort -u)
echo "$subcommands" | grep -qx run || fail "main.c: no subcommand \"run\" found"

# --- help ------------------------------------------------------------------

"$fb" run --help >"$tmp/run.help" || fail "florabatch run --help failed"
"$fb" status --help >"$tmp/status.help" || fail "florabatch status --help failed"
"$fb" pack --help >"$tmp/pack.help" || fail "florabatch pack --help failed"
"$fb" techniques --help >"$tmp/techniques.help" || fail "florabatch techniques --help failed"
"$fb" merge --help >"$tmp/merge.help" || fail "florabatch merge --help failed"
"$fs" --help >"$tmp/florasim.help" || fail "florasim --help failed"

# The options a help text defines: the terms of its lines that start with
# spaces and a dash ("  --out DIR   ...", "  -h, --help ...", "  --quiet | --verbose").
help_terms() {
	grep -E '^ +-' "$1" | sed -E 's/^ +//; s/  .*//' |
		grep -oE '(^|[ ,|])--?[A-Za-z0-9][A-Za-z0-9-]*' | sed -E 's/^[ ,|]//' | sort -u
}

"$fb" --help >"$tmp/top.help" || fail "florabatch --help failed"
for sc in $subcommands; do
	grep -qE "^ *(Usage: )?florabatch $sc " "$tmp/top.help" || fail "florabatch --help does not show $sc"
done
for cmd in run status pack techniques merge florasim; do
	name="florabatch $cmd --help"
	[ "$cmd" = florasim ] && name="florasim --help"
	help_terms "$tmp/$cmd.help" >"$tmp/$cmd.terms"
	while read -r opt kind; do
		grep -qx -- "$opt" "$tmp/$cmd.terms" || fail "$name does not describe $opt"
	done <"$tmp/$cmd"
	for opt in $(cat "$tmp/$cmd.terms"); do
		grep -q -- "^$opt " "$tmp/$cmd" || fail "$name describes $opt, which the parser does not take"
	done
done

# --- man pages -------------------------------------------------------------

fbman=$src/docs/man/florabatch.1.scd
fsman=$src/docs/man/florasim.1.scd
# Lines of a man page source from the heading matching $2 to the next
# heading of the same or a higher level.
section() {
	awk -v start="$2" '
		s && /^#+ / { lvl = match($0, / /) - 1; if (lvl <= slvl) exit }
		!s && $0 ~ start { s = 1; slvl = match($0, / /) - 1; next }
		s' "$1"
}
section "$fbman" '^# OPTIONS' | awk '/^## Options of / { exit } 1' >"$tmp/run.man"
section "$fbman" '^## Options of status' >"$tmp/status.man"
section "$fbman" '^## Options of pack' >"$tmp/pack.man"
section "$fbman" '^## Options of techniques' >"$tmp/techniques.man"
section "$fbman" '^## Options of merge' >"$tmp/merge.man"
section "$fsman" '^# OPTIONS' >"$tmp/florasim.man"
for cmd in run status pack techniques merge florasim; do
	page=florabatch.1.scd
	[ "$cmd" = florasim ] && page=florasim.1.scd
	[ -s "$tmp/$cmd.man" ] || fail "$page: no OPTIONS section for $cmd"
	while read -r opt kind; do
		# An option's entry: a line that starts with its name in bold.
		grep -qE -- "^(\*-[^*]*\*, )?\*$opt\*" "$tmp/$cmd.man" ||
			fail "$page: $cmd's options do not describe $opt (a line starting *$opt*)"
	done <"$tmp/$cmd"
	for opt in $(grep -E '^\*-' "$tmp/$cmd.man" | grep -oE '^(\*-[^*]*\*, )?\*-[^*]*\*' |
		grep -oE -- '-[-A-Za-z0-9]+' | sort -u); do
		grep -q -- "^$opt " "$tmp/$cmd" || fail "$page describes $opt for $cmd, which the parser does not take"
	done
done
for page in "$fbman" "$fsman"; do
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT EXAMPLES; do
		grep -qx "# $s" "$page" || fail "$(basename "$page"): no \"# $s\" section"
	done
done
grep -qx "# FILES" "$fbman" || fail "florabatch.1.scd: no \"# FILES\" section"
for sc in $subcommands; do
	section "$fbman" '^# SYNOPSIS' | grep -q "^\*florabatch $sc\*" ||
		fail "florabatch.1.scd: the SYNOPSIS does not show $sc"
done
if command -v scdoc >/dev/null; then
	for page in "$fbman" "$fsman"; do
		scdoc <"$page" >/dev/null || fail "scdoc cannot render $(basename "$page")"
	done
else
	fail "scdoc is not installed (scripts/install-deps.sh installs it): the man pages are not built"
fi

# Every variable the programs read is in a man page's ENVIRONMENT.
for v in $(grep -rhoE 'getenv\("[A-Za-z_]+"\)' "$src/cmd" "$src/core" "$src/transports" |
	sed -E 's/getenv\("//; s/"\)//' | sort -u); do
	esc=${v//_/\\\\_}
	cat <(section "$fbman" '^# ENVIRONMENT') <(section "$fsman" '^# ENVIRONMENT') |
		grep -q -- "\*$esc\*" || fail "the code reads \$$v; no man page's ENVIRONMENT names it"
done

# --- exit statuses ---------------------------------------------------------

# Codes named in the headers (FB_EXIT_X = N, #define FB_EXIT_X N), and the
# signals run.c ends on (128 + each signal it stops for, and any _exit(N)).
codes=$(
	{
		# (an enumerator's value may be on the next line: the headers are read as one)
		cat "$src"/cmd/florabatch/*.h | tr '\n' ' ' |
			grep -oE 'FB_EXIT_[A-Z_]+[[:space:]]*=[[:space:]]*[0-9]+' | grep -oE '[0-9]+$'
		grep -hoE '#define FB_EXIT_[A-Z_]+ +[0-9]+' "$src"/cmd/florabatch/*.h | grep -oE '[0-9]+$'
		if grep -q '128 + stop_signal' "$src/cmd/florabatch/run.c"; then
			for sig in $(grep -oE 'sigaction\(SIG[A-Z0-9]+, &sa' "$src/cmd/florabatch/run.c" |
				grep -oE 'SIG[A-Z0-9]+' | grep -v SIGUSR); do
				echo $((128 + $(kill -l "${sig#SIG}")))
			done
		fi
		grep -hoE '_exit\([0-9]+\)' "$src/cmd/florabatch/run.c" | grep -oE '[0-9]+'
	} | sort -un
)
[ -n "$codes" ] && echo "$codes" | grep -qx 75 && echo "$codes" | grep -qx 143 ||
	fail "exit statuses: found only \"$(echo $codes)\" in the code"

# The codes a text lists: run --help's "Exit status" lines ("  130, 143  ..."),
# the man page's EXIT STATUS entries (*130*, *143*), README's table rows.
sed -n '/^Exit status/,$p' "$tmp/run.help" | grep -E '^  [0-9]' | sed -E 's/^ +//; s/  .*//' |
	grep -oE '[0-9]+' | sort -un >"$tmp/codes.help"
section "$fbman" '^# EXIT STATUS' | grep -E '^\*[0-9]' | grep -oE '\*[0-9]+\*' | tr -d '*' |
	sort -un >"$tmp/codes.man"
sed -n '/^### Exit status/,/^##/p' "$src/README.md" | grep -E '^\| [0-9]' | cut -d'|' -f2 |
	grep -oE '[0-9]+' | sort -un >"$tmp/codes.readme"
for where in help man readme; do
	for c in $codes; do
		grep -qx "$c" "$tmp/codes.$where" || fail "exit status $c is missing from the $where's list"
	done
	for c in $(cat "$tmp/codes.$where"); do
		echo "$codes" | grep -qx "$c" || fail "the $where lists exit status $c, which the code never uses"
	done
done

# --- completions -----------------------------------------------------------

comp=$src/packaging/completions
# bash: the lists the completion functions offer, split as the tables are.
for cmd in run status pack techniques merge florasim; do
	if [ "$cmd" = florasim ]; then file=$comp/florasim.bash var=_florasim; else
		file=$comp/florabatch.bash var=_florabatch_$cmd; fi
	bash -n "$file" || fail "$file: not valid bash"
	bash -c '. "$1"; for o in ${!2}; do echo "$o value"; done; for o in ${!3}; do echo "$o flag"; done' \
		_ "$file" "${var}_valued" "${var}_flags" | sort -u >"$tmp/$cmd.bash"
	diff -u "$tmp/$cmd" "$tmp/$cmd.bash" >"$tmp/diff" ||
		fail "$(basename "$file"): $cmd's options differ from the parser's (- parser, + completion):
$(tail -n +3 "$tmp/diff" | grep '^[-+]')"
done
# Each subcommand is in zsh's list (bash's answer is checked below).
for sc in $subcommands; do
	grep -qE "^[[:space:]]*'$sc:" "$comp/_florabatch" || fail "_florabatch does not offer the subcommand $sc"
done
# zsh: the specs of each _arguments, one a line; NAME= takes a value.
zsh_specs() {
	awk -v fn="$2" 'fn == "" || $0 ~ "^" fn "\\(\\) \\{" { s = 1 } s && /^\}/ { s = 0 } s' "$1" |
		grep -oE "^[[:space:]]*'(\([^)]*\))?\*?-[-A-Za-z0-9]+=?\[" |
		sed -E "s/^[[:space:]]*'(\([^)]*\))?\*?//; s/\[\$//" |
		sed -E 's/=$/ value/; t; s/$/ flag/' | sort -u
}
for cmd in run status pack techniques merge florasim; do
	if [ "$cmd" = florasim ]; then file=$comp/_florasim fn=""; else
		file=$comp/_florabatch fn=_florabatch_$cmd; fi
	if command -v zsh >/dev/null; then zsh -n "$file" || fail "$file: not valid zsh"; fi
	zsh_specs "$file" "$fn" >"$tmp/$cmd.zsh"
	diff -u "$tmp/$cmd" "$tmp/$cmd.zsh" >"$tmp/diff" ||
		fail "$(basename "$file"): $cmd's options differ from the parser's (- parser, + completion):
$(tail -n +3 "$tmp/diff" | grep '^[-+]')"
done

# bash: what the completion functions answer, through bash-completion itself.
bc=/usr/share/bash-completion/bash_completion
if [ -r "$bc" ]; then
	bash -c '. "$1"; . "$2"; . "$3"
	c() {
		COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMP_LINE="$*" COMP_POINT=${#COMP_LINE} COMPREPLY=()
		"$F" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		echo "$*|${COMPREPLY[*]}"
	}
	F=_florabatch
	c florabatch ""
	c florabatch r
	c florabatch run --technique-
	c florabatch run --transport ""
	c florabatch run --sim-clock v
	c florabatch status --j
	c florabatch pack --archive-format tar.z
	c florabatch help p
	c florabatch merge --al
	c florabatch merge --archive-format tar.g
	F=_florasim
	c florasim --fault-s
	c florasim --casing c' _ "$bc" "$comp/florabatch.bash" "$comp/florasim.bash" >"$tmp/answers" 2>&1
	cat >"$tmp/expected" <<-'EOF'
		florabatch |run validate status techniques pack merge help --help --version
		florabatch r|run
		florabatch run --technique-|--technique-id
		florabatch run --transport |sim http
		florabatch run --sim-clock v|virtual
		florabatch status --j|--json
		florabatch pack --archive-format tar.z|tar.zst
		florabatch help p|pack
		florabatch merge --al|--allow-mixed
		florabatch merge --archive-format tar.g|tar.gz
		florasim --fault-s|--fault-slow
		florasim --casing c|camel
	EOF
	diff -u "$tmp/expected" "$tmp/answers" >"$tmp/diff" ||
		fail "the bash completions answer otherwise than expected (- expected, + answered):
$(tail -n +3 "$tmp/diff" | grep '^[-+]')"
	for sc in $subcommands; do
		grep "^florabatch |" "$tmp/answers" | cut -d'|' -f2 | tr ' ' '\n' | grep -qx "$sc" ||
			fail "florabatch.bash does not offer the subcommand $sc"
	done
fi

# --- the limits: every number of architecture.md's Limits tables is the code's --
# (a row names its constant in backquotes; its second column, the cap, must
# hold the constant's value)

# The value of "#define NAME value" in file, or of "NAME = value" (a field of
# a designated initializer), as a shell number (suffixes u, U, L dropped).
code_value() {
	local v
	v=$(sed -n "s/^#define $2[[:space:]]\{1,\}\([^/]*\).*/\1/p; s/.*\.$2 = \([^,}]*\).*/\1/p" "$src/$1" |
		head -1 | sed 's/\([0-9]\)[uUL]*/\1/g')
	[ -n "$v" ] && echo $((v))
}
# How the docs write n bytes: a whole number of MiB or KiB, else the number.
human_bytes() {
	if [ $(($1 % 1048576)) -eq 0 ]; then
		echo "$(($1 / 1048576)) MiB"
	elif [ $(($1 % 1024)) -eq 0 ]; then
		echo "$(($1 / 1024)) KiB"
	else
		echo "$1"
	fi
}
limits=$(awk '/^## Limits/ { t = 1; next } /^## / { t = 0 } t' "$src/docs/architecture.md")
[ -n "$limits" ] || fail "architecture.md has no \"## Limits\" section"
while read -r file name unit; do
	v=$(code_value "$file" "$name")
	if [ -z "$v" ]; then
		fail "limits: $name not found in $file: is it still where this script looks?"
		continue
	fi
	case $unit in
	bytes) want=$(human_bytes "$v") ;;
	ms) want="$((v / 1000)) s" ;;
	*) want=$v ;;
	esac
	row=$(grep -F "\`$name\`" <<<"$limits")
	if [ -z "$row" ]; then
		fail "architecture.md's Limits do not name $name ($file)"
	elif ! awk -F'|' '{ print $3 }' <<<"$row" | grep -qF -- "$want"; then
		fail "architecture.md's Limits give $name another number than $file's $want"
	fi
done <<-'EOF'
	transports/http/httpreq.h FB_HTTP_API_BODY_MAX bytes
	transports/http/httpreq.h FB_HTTP_ERROR_BODY_MAX bytes
	cmd/florabatch/options.c max_output_bytes bytes
	cmd/florabatch/options.c fetch_attempts count
	transports/api/apijson.h FB_APIJSON_DEPTH_MAX count
	transports/api/apijson.h FB_APIJSON_SNIPPET_MAX count
	transports/api/apitech.c MAX_DEPTH count
	transports/http/httpmsg.h FB_HTTP_URL_SHOWN_MAX count
	core/util/error.h FB_ERR_MSG_MAX count
	transports/http/http.c DEFAULT_CONNECT_MS ms
	transports/http/http.c DEFAULT_REQUEST_MS ms
	transports/http/http.c DEFAULT_STALL_MS ms
	transports/http/http.c DEFAULT_FETCH_MS ms
	transports/http/httpreq.c MAX_REDIRECTS count
	cmd/florasim/server.c MAX_BODY bytes
EOF
# README gives the two caps a user meets most.
for name in FB_HTTP_API_BODY_MAX FB_HTTP_ERROR_BODY_MAX; do
	want=$(human_bytes "$(code_value transports/http/httpreq.h "$name")")
	grep -qF "at $want" "$src/README.md" ||
		fail "README does not give $name ($want) where it says what a server can make florabatch read"
done

if [ "$fails" -gt 0 ]; then
	echo "check-docs: $fails problems" >&2
	exit 1
fi
echo "check-docs: $(cat "$tmp"/{run,status,pack,techniques,merge,florasim} | wc -l) options and" \
	"$(echo $codes | wc -w) exit statuses documented everywhere"
