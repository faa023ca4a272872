/*
 * mergeline: a result line's "volume" member set to the merged folder's
 * volume, the rest of its bytes untouched (numbers keep their digits,
 * strings their escapes), and the names a merged archive may not hold twice.
 */
#include "mergeline.h"
#include "buf.h"
#include "error.h"
#include "hashset.h"
#include "spillset.h"

#include <string.h>

/* The end of the string starting at s[i] == '"' (the index after its closing quote), or n. */
static size_t string_end(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

int fb_merge_set_volume(const char *line, size_t len, const char *name, struct fb_buf *out)
{
	static const char key[] = "\"volume\"";
	size_t klen = sizeof(key) - 1;
	int depth = 0, want_key = 0; /* a string now is a key of the line's own object */
	fb_buf_reset(out);
	for (size_t i = 0; i < len; i++) {
		char c = line[i];
		if (c == '"') {
			size_t end = string_end(line, len, i);
			if (want_key && end - i == klen && !memcmp(line + i, key, klen)) {
				size_t v = end;
				while (v < len && (line[v] == ':' || line[v] == ' '))
					v++;
				size_t vend = v < len && line[v] == '"' ? string_end(line, len, v)
					      : len - v >= 4 && !memcmp(line + v, "null", 4) ? v + 4
											     : 0;
				if (!vend)
					return FB_EPARSE;
				if (fb_buf_add(out, line, v) || fb_buf_addc(out, '"') ||
				    fb_buf_adds(out, name) || fb_buf_addc(out, '"') ||
				    fb_buf_add(out, line + vend, len - vend))
					return FB_ENOMEM;
				return 0;
			}
			want_key = 0;
			i = end - 1;
		} else if (c == '{' || c == '[') {
			want_key = ++depth == 1;
		} else if (c == '}' || c == ']') {
			depth--;
			want_key = 0;
		} else if (c == ',') {
			want_key = depth == 1;
		}
	}
	return FB_EPARSE;
}

int fb_merge_names_init(struct fb_merge_names *n, const char *spill_dir)
{
	memset(n, 0, sizeof(*n));
	if (fb_spillset_init(&n->files, spill_dir) || fb_spillset_init(&n->dirs, spill_dir)) {
		fb_merge_names_release(n);
		return FB_ENOMEM;
	}
	return 0;
}

void fb_merge_names_release(struct fb_merge_names *n)
{
	fb_spillset_release(&n->files);
	fb_spillset_release(&n->dirs);
}

/* The hash of s[0..len) with ASCII case folded: names that one disk tells apart and another not. */
static uint64_t folded(const char *s, size_t len)
{
	char buf[512];
	struct fb_buf big = FB_BUF_INIT;
	char *p = buf;
	if (len >= sizeof(buf)) {
		if (fb_buf_add(&big, s, len))
			return 0;
		p = big.ptr;
	}
	for (size_t i = 0; i < len; i++)
		p[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	p[len] = '\0';
	uint64_t h = fb_hashset_hash(p);
	fb_buf_release(&big);
	return h;
}

int fb_merge_names_take(struct fb_merge_names *n, const char *path)
{
	size_t len = strlen(path);
	uint64_t h = folded(path, len);
	if (!h)
		return FB_ENOMEM;
	/* A file where another output's folder is, or the other way round, clashes too. */
	int rc = fb_spillset_has(&n->dirs, h);
	if (rc)
		return rc < 0 ? rc : 0;
	if ((rc = fb_spillset_add(&n->files, h)) <= 0)
		return rc;
	for (size_t i = 0; i < len; i++) {
		if (path[i] != '/')
			continue;
		uint64_t d = folded(path, i);
		if (!d)
			return FB_ENOMEM;
		if ((rc = fb_spillset_has(&n->files, d)))
			return rc < 0 ? rc : 0;
		if ((rc = fb_spillset_add(&n->dirs, d)) < 0)
			return rc;
	}
	return 1;
}
