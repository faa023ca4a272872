#!/bin/bash
# What an install delivers, checked from the outside.
#
#   check-install.sh prefix CMAKE BUILD_DIR SOURCE_DIR
#     `cmake --install` into a temporary prefix: the programs, the man
#     pages, the completions, the documentation and the examples are where
#     a Debian system looks for them, and the installed programs run.
#   check-install.sh deb CPACK BUILD_DIR SOURCE_DIR
#     the .deb CPack makes: its Depends, its contents, and the demo batch run
#     by the florabatch extracted from it. Skipped (77) without dpkg-deb.
set -u
mode=$1 tool=$2 build=$3 src=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
	echo "check-install: $*" >&2
	fails=$((fails + 1))
}
version=$(sed -n 's/^project(florabatch VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")

# The files every install holds, relative to its prefix.
expected_files() {
	cat <<-EOF
		bin/florabatch
		bin/florasim
		share/man/man1/florabatch.1.gz
		share/man/man1/florasim.1.gz
		share/bash-completion/completions/florabatch
		share/bash-completion/completions/florasim
		share/zsh/vendor-completions/_florabatch
		share/zsh/vendor-completions/_florasim
		share/doc/florabatch/README.md
	EOF
	for f in "$src"/docs/*.md; do
		echo "share/doc/florabatch/docs/${f##*/}"
	done
	(cd "$src" && find examples -type f) | sed 's|^|share/doc/florabatch/|'
}

# Checks the tree under prefix $1 (what a user's system would hold).
check_tree() {
	local p=$1 f
	for f in $(expected_files); do
		[ -f "$p/$f" ] || fail "$f is not installed"
	done
	[ -x "$p/bin/florabatch" ] && [ -x "$p/bin/florasim" ] || fail "the programs are not executable"
	out=$("$p/bin/florabatch" --version 2>&1)
	[ "$out" = "florabatch $version" ] || fail "installed florabatch --version said \"$out\""
	out=$("$p/bin/florasim" --version 2>&1)
	[ "$out" = "florasim $version" ] || fail "installed florasim --version said \"$out\""
	if command -v man >/dev/null; then
		for page in florabatch florasim; do
			MANWIDTH=80 man -l "$p/share/man/man1/$page.1.gz" 2>"$tmp/man.err" >"$tmp/man.out" ||
				fail "man cannot show $page.1.gz: $(cat "$tmp/man.err")"
			grep -q "EXIT STATUS" "$tmp/man.out" || fail "$page.1.gz shows no EXIT STATUS"
		done
	fi
	if [ -r /usr/share/bash-completion/bash_completion ]; then
		bash -c '. /usr/share/bash-completion/bash_completion && . "$1" && complete -p florabatch' \
			_ "$p/share/bash-completion/completions/florabatch" >/dev/null 2>&1 ||
			fail "the installed bash completion does not register for florabatch"
	fi
}

case $mode in
prefix)
	"$tool" --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
		fail "cmake --install failed: $(cat "$tmp/install.log")"
	check_tree "$tmp/prefix"
	;;
deb)
	command -v dpkg-deb >/dev/null || {
		echo "check-install: no dpkg-deb: the Debian package is not checked"
		exit 77
	}
	"$tool" -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1 ||
		fail "cpack failed: $(cat "$tmp/cpack.log")"
	deb=$(ls "$tmp"/pkg/*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ]; then
		fail "cpack made no .deb: $(cat "$tmp/cpack.log")"
	else
		case ${deb##*/} in
		florabatch_"$version"_*.deb) ;;
		*) fail "the package is named ${deb##*/}, not florabatch_${version}_<arch>.deb" ;;
		esac
		info=$(dpkg-deb -I "$deb")
		depends=$(echo "$info" | sed -n 's/^ Depends: //p')
		for lib in libc6 libcurl4 libyajl2 libarchive13 libssl3 zlib1g libgomp1 libmicrohttpd12; do
			echo "$depends" | grep -qE "(^|, )$lib( |,|$)" || fail "Depends lacks $lib: \"$depends\""
		done
		echo "$info" | grep -qx " Version: $version" || fail "the package's version is not $version"
		dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./usr/||' >"$tmp/contents"
		for f in $(expected_files); do
			grep -qx "$f" "$tmp/contents" || fail "the package lacks /usr/$f"
		done
		dpkg-deb -x "$deb" "$tmp/root" || fail "dpkg-deb -x failed"
		check_tree "$tmp/root/usr"

		# The demo of README, by the florabatch of the package, on its own examples.
		mkdir "$tmp/work"
		(cd "$tmp/work" && "$tmp/root/usr/bin/florabatch" run \
			"$tmp/root/usr/share/doc/florabatch/examples/demo.csv" \
			--technique cctv-cam --sim-clock virtual --out demo-out) >"$tmp/demo.log" 2>&1
		rc=$?
		[ "$rc" -eq 0 ] || fail "the packaged florabatch ran the demo with exit $rc: $(cat "$tmp/demo.log")"
		lines=$(wc -l <"$tmp/work/demo-out/results.jsonl" 2>/dev/null || echo 0)
		completed=$(grep -c '"status":"completed"' "$tmp/work/demo-out/results.jsonl" 2>/dev/null)
		entries=$(tar -tzf "$tmp/work/demo-out/outputs.tar.gz" 2>/dev/null | wc -l)
		[ "$lines" -gt 0 ] && [ "$completed" = "$lines" ] && [ "$entries" = "$lines" ] ||
			fail "the demo: $lines result lines, $completed completed, $entries archived outputs"
	fi
	;;
*)
	echo "usage: check-install.sh prefix|deb CMAKE|CPACK BUILD_DIR SOURCE_DIR" >&2
	exit 2
	;;
esac

if [ "$fails" -gt 0 ]; then
	echo "check-install: $fails problems" >&2
	exit 1
fi
echo "check-install: $mode: every file in place, and the installed programs run"
