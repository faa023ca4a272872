# Flattens the block-style YAML of a Kubernetes manifest into one line per
# value, so that shell tests can grep it without a YAML library:
#
#   D<doc>.<key>.<key>[<index>].<key>=<value>
#
# e.g. D1.spec.template.spec.containers[0].command[3]=--shard, documents
# counted from 0 ("---" starts the next one). It reads what manifests are
# written in: block mappings and sequences ("- " items, mappings inside
# items), plain and quoted scalars, flow sequences of scalars ("[1, 2]"),
# literal and folded blocks ("|", ">": their line breaks written as \n),
# comments. What it does not read (flow mappings, anchors, tags, tabs) stops
# it: exit 1, naming the line. It is no YAML validator: a test reads what
# it prints.

function fail(msg) {
	printf "yamlflat: %s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"
	failed = 1
	exit 1
}

function unquote(v) {
	if (v ~ /^'.*'$/) {
		v = substr(v, 2, length(v) - 2)
		gsub(/''/, "'", v)
	} else if (v ~ /^".*"$/) {
		v = substr(v, 2, length(v) - 2)
		gsub(/\\"/, "\"", v)
	}
	return v
}

function emit(path, v, n, parts, i) {
	if (v ~ /^\[.*\]$/) {
		n = split(substr(v, 2, length(v) - 2), parts, /,/)
		for (i = 1; i <= n; i++) {
			gsub(/^[ \t]+|[ \t]+$/, "", parts[i])
			if (parts[i] != "")
				print "D" doc "." path "[" (i - 1) "]=" unquote(parts[i])
		}
		return
	}
	if (v ~ /^[{&*!]/)
		fail("a flow mapping, anchor, alias or tag: not read here")
	print "D" doc "." path "=" unquote(v)
}

function push(n, path, k) {
	sp++
	ind[sp] = n
	spath[sp] = path
	kind[sp] = k
}

# "key: value" or "key:" at indent n.
function mapping(n, c, k, v, path) {
	while (sp > 0 && ind[sp] >= n)
		sp--
	if (match(c, /^("[^"]*"|'[^']*')/)) {
		k = substr(c, 1, RLENGTH)
		v = substr(c, RLENGTH + 2)
	} else {
		k = c
		sub(/:.*/, "", k)
		v = substr(c, length(k) + 2)
	}
	sub(/^[ \t]+/, "", v)
	path = (sp > 0 ? spath[sp] "." : "") unquote(k)
	if (v == "")
		push(n, path, "key")
	else if (v ~ /^[|>][-+]?$/) {
		block = path
		blockind = n
		blockfold = (v ~ /^>/)
		nblock = 0
	} else
		emit(path, v)
}

function end_block(t, i, sep) {
	t = ""
	while (nblock > 0 && blines[nblock] == "")
		nblock--
	for (i = 1; i <= nblock; i++)
		t = t (i > 1 ? (blockfold ? " " : "\\n") : "") blines[i]
	print "D" doc "." block "=" t
	block = ""
}

BEGIN {
	doc = 0
	sp = 0
	block = ""
	seen = 0
}

{
	line = $0
	sub(/\r$/, "", line)
	match(line, /^ */)
	n = RLENGTH
	c = substr(line, n + 1)

	# The lines of a "|" or ">" block: all more indented than its key.
	if (block != "") {
		if (c == "" || n > blockind) {
			if (nblock == 0 && c == "")
				next
			if (nblock == 0)
				bcut = n
			blines[++nblock] = (c == "" ? "" : substr(line, bcut + 1))
			next
		}
		end_block()
	}

	if (c == "" || c ~ /^#/)
		next
	if (line ~ /^---([ \t].*)?$/) {
		if (seen)
			doc++
		seen = 0
		sp = 0
		next
	}
	if (c ~ /^\t/)
		fail("a tab in the indentation")
	# A comment after a value: " #" with no quote open before it.
	if (match(c, /[ \t]#/)) {
		before = substr(c, 1, RSTART - 1)
		q1 = gsub(/'/, "'", before)
		q2 = gsub(/"/, "\"", before)
		if (q1 % 2 == 0 && q2 % 2 == 0)
			c = before
	}
	sub(/[ \t]+$/, "", c)
	seen = 1

	# Sequence items, "- " (a sequence may sit at its key's own indent).
	while (c ~ /^-( |$)/) {
		while (sp > 0 && (ind[sp] > n || (ind[sp] == n && kind[sp] == "item")))
			sp--
		if (sp == 0 || kind[sp] != "key")
			fail("a sequence item that belongs to no key")
		parent = spath[sp]
		push(n, parent "[" (count[doc, parent]++) "]", "item")
		rest = substr(c, 2)
		match(rest, /^ */)
		n += 1 + RLENGTH
		c = substr(rest, RLENGTH + 1)
		if (c == "")
			next
	}

	if (c ~ /^("[^"]*"|'[^']*'|[^ \t"'#\[{|>!&*-][^:]*):( |$)/) {
		mapping(n, c)
		next
	}
	# "- value": the item's scalar.
	if (sp > 0 && kind[sp] == "item" && ind[sp] < n) {
		emit(spath[sp], c)
		next
	}
	fail("not a line this reader knows: " c)
}

END {
	if (failed)
		exit 1
	if (block != "")
		end_block()
}
