#!/bin/sh
# apply-layout: moves core/ and transports/ into folders by what they own,
# as docs/layout-plan.md says (its "apply:" blocks): every file with git mv,
# each folder's README.md and CMakeLists.txt written, the top-level
# CMakeLists.txt's library block replaced, paths in comments and docs
# rewritten (core/job.c becomes core/engine/job.c), the "Folders" section
# added to docs/architecture.md, the plan and this script removed, and
# scripts/check-layout.sh run. No line of C changes but comments: includes
# stay "name.h", the build gives each folder its include directory.
#
# Usage: scripts/apply-layout.sh [--check | --commit]
#   --check   only say whether the plan places every file (exit 1 if not)
#   --commit  commit the result; without it the move is left staged
# Run from a clean tree. Exit 0 when done, 1 when the plan or the tree
# does not allow it (nothing is changed then), 2 on a usage error.
set -eu

mode=apply
case "${1:-}" in
"") ;;
--check) mode=check ;;
--commit) mode=commit ;;
*)
	echo "usage: $0 [--check | --commit]" >&2
	exit 2
	;;
esac

cd "$(dirname "$0")/.."
plan=docs/layout-plan.md
[ -f "$plan" ] || {
	echo "apply-layout: no $plan (has the move been made already?)" >&2
	exit 1
}

# The body of the fenced block (~~~) after "<!-- apply: KEY -->".
block() {
	awk -v key="$1" '
		$0 == "<!-- apply: " key " -->" { want = 1; next }
		want && !body && /^~~~/ { body = 1; next }
		body && /^~~~[ \t]*$/ { found = 1; exit }
		body { print }
		END { exit found ? 0 : 1 }
	' "$plan"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
block moves >"$tmp/moves.raw" || {
	echo "apply-layout: $plan has no moves block" >&2
	exit 1
}
sed 's/#.*//' "$tmp/moves.raw" | awk 'NF' >"$tmp/moves"
{ block moves-expected || :; } | sed 's/#.*//' | awk 'NF' >"$tmp/expected"

# ---- the plan against the tree ----
bad=0
cat "$tmp/moves" "$tmp/expected" | awk '{print $1}' | sort | uniq -d >"$tmp/dups"
if [ -s "$tmp/dups" ]; then
	sed 's/^/apply-layout: placed twice: /' "$tmp/dups" >&2
	bad=1
fi
: >"$tmp/todo"
while read -r src dst rest; do
	if [ -n "$rest" ] || [ -z "$dst" ]; then
		echo "apply-layout: a moves line is not \"FILE FOLDER\": $src $dst $rest" >&2
		bad=1
	elif [ ! -f "$src" ]; then
		echo "apply-layout: planned but not in the tree: $src (renamed or removed? fix the plan)" >&2
		bad=1
	else
		echo "$src $dst" >>"$tmp/todo"
	fi
done <"$tmp/moves"
while read -r src dst; do
	if [ -f "$src" ]; then
		echo "$src $dst" >>"$tmp/todo"
	else
		echo "apply-layout: not in the tree, skipped: $src (from a branch not merged)" >&2
	fi
done <"$tmp/expected"
for f in core/*.c core/*.h transports/*.c transports/*.h; do
	[ -f "$f" ] || continue
	grep -q "^$f " "$tmp/todo" || {
		echo "apply-layout: not placed by the plan: $f (add it to a moves block)" >&2
		bad=1
	}
done
for d in $(awk '{print $2}' "$tmp/todo" | sort -u); do
	block "$d/README.md" >/dev/null || {
		echo "apply-layout: no README.md for $d in the plan" >&2
		bad=1
	}
done
if [ $bad != 0 ]; then
	echo "apply-layout: nothing was changed" >&2
	exit 1
fi
echo "apply-layout: the plan places all $(wc -l <"$tmp/todo") files" >&2
[ $mode = check ] && exit 0

if [ -n "$(git status --porcelain)" ]; then
	echo "apply-layout: the tree is not clean; commit or stash first (nothing was changed)" >&2
	exit 1
fi
grep -q '^# core: the transport-agnostic engine' CMakeLists.txt &&
	grep -q '^add_subdirectory(cmd)' CMakeLists.txt || {
	echo "apply-layout: CMakeLists.txt's library block is not where the plan expects it" >&2
	exit 1
}

# ---- the move ----
while read -r src dst; do
	mkdir -p "$dst"
	git mv "$src" "$dst/"
done <"$tmp/todo"

# Each folder's README.md, and the core's and the transports' own.
for f in $(grep -o '^<!-- apply: [^ ]*/README.md -->' "$plan" | awk '{print $3}'); do
	mkdir -p "$(dirname "$f")"
	block "$f" >"$f"
	git add "$f"
done
for f in core/CMakeLists.txt transports/CMakeLists.txt; do
	block "$f" >"$f"
	git add "$f"
done

# The top-level library block: from its first comment to add_subdirectory(cmd).
block "CMakeLists.txt libraries" >"$tmp/libs"
awk -v libs="$tmp/libs" '
	/^# core: the transport-agnostic engine/ { skip = 1; while ((getline l < libs) > 0) print l }
	/^add_subdirectory\(cmd\)/ { skip = 0 }
	!skip { print }
' CMakeLists.txt >"$tmp/top"
cat "$tmp/top" >CMakeLists.txt

# Paths in comments and docs: core/<name> -> core/<folder>/<name>, in one
# pass, so a path once rewritten is never matched again.
awk '{ n = split($1, p, "/"); stem = p[n]; sub(/\.[ch]$/, "", stem); print p[1] "/" stem, $2 "/" stem }' \
	"$tmp/todo" | sort -u >"$tmp/paths"
git grep -lE '(core|transports)/[a-z]' -- . ':!docs/layout-plan.md' ':!scripts/apply-layout.sh' \
	':!tests/fuzz/corpus' >"$tmp/files" || :
while read -r f; do
	awk -v map="$tmp/paths" '
		BEGIN { while ((getline l < map) > 0) { split(l, kv, " "); to[kv[1]] = kv[2] } }
		{
			out = ""; s = $0
			while (match(s, /(core|transports)\/[a-z0-9_]+/)) {
				pre = substr(s, 1, RSTART - 1); m = substr(s, RSTART, RLENGTH)
				before = RSTART > 1 ? substr(s, RSTART - 1, 1) : ""
				after = substr(s, RSTART + RLENGTH, 1)
				if ((m in to) && before !~ /[A-Za-z0-9_]/ && after !~ /[A-Za-z0-9_]/)
					m = to[m]
				out = out pre m; s = substr(s, RSTART + RLENGTH)
			}
			print out s
		}' "$f" >"$tmp/rewritten"
	cmp -s "$f" "$tmp/rewritten" || cat "$tmp/rewritten" >"$f"
done <"$tmp/files"

# The architecture page's new section, before "The flow".
block "docs/architecture.md folders" >"$tmp/folders"
awk -v sec="$tmp/folders" '
	/^## The flow/ && !done { while ((getline l < sec) > 0) print l; done = 1 }
	{ print }
' docs/architecture.md >"$tmp/arch"
cat "$tmp/arch" >docs/architecture.md

git rm -q "$plan" scripts/apply-layout.sh
# The plan was kept out of the installed docs; nothing to keep out now.
sed -i '/layout-plan/d' packaging/CMakeLists.txt tests/install/check-install.sh
git add -u

echo "apply-layout: moved; checking the layout" >&2
scripts/check-layout.sh || {
	echo "apply-layout: the layout check fails: fix, then commit" >&2
	exit 1
}
if [ $mode = commit ]; then
	git commit -q -m "layout: core/ and transports/ in folders by what they own

Every file moved with git mv, as docs/layout-plan.md placed it; one
library per folder, each seeing only itself and the folders below it.
No line of C changed but comments."
	echo "apply-layout: committed" >&2
else
	echo "apply-layout: done and staged; build, run the tests, review docs/architecture.md, commit" >&2
fi
