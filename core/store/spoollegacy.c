/* spoollegacy: an earlier version's spool, given line records from the record. */
#include "spoollegacy.h"
#include "buf.h"
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

/* Where an earlier version's spool keeps each output, by the first 64 bits of its digest. */
struct legacy {
	uint64_t *key, *off, *len;
	size_t cap;
};

static uint64_t sha_key(const char *sha)
{
	uint64_t k = 0;
	for (int i = 0; i < 16; i++) {
		char ch = sha[i];
		int v = ch >= '0' && ch <= '9'	 ? ch - '0'
			: ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
						 : 0;
		k = k << 4 | (uint64_t)v;
	}
	return k | 1; /* 0 marks an empty slot */
}

static size_t legacy_slot(const struct legacy *l, uint64_t k)
{
	size_t i = (size_t)(k >> 1) & (l->cap - 1);
	while (l->key[i] && l->key[i] != k)
		i = (i + 1) & (l->cap - 1);
	return i;
}

static int legacy_index(struct fb_spool *s, struct legacy *l, struct fb_err *err)
{
	char sha[65];
	uint64_t pos = 0, off, len, n = 0;
	int more;
	while ((more = fb_spool_next_output(s, &pos, sha, &off, &len, err)) == 1)
		n++;
	if (more < 0)
		return more;
	for (l->cap = 1024; l->cap < 2 * n + 2;)
		l->cap *= 2;
	l->key = calloc(l->cap, sizeof(uint64_t));
	l->off = malloc(l->cap * sizeof(uint64_t));
	l->len = malloc(l->cap * sizeof(uint64_t));
	if (!l->key || !l->off || !l->len)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	/* A digest seen twice: either record holds the same bytes. */
	for (pos = 0; (more = fb_spool_next_output(s, &pos, sha, &off, &len, err)) == 1;) {
		size_t i = legacy_slot(l, sha_key(sha));
		l->key[i] = sha_key(sha);
		l->off[i] = off;
		l->len[i] = len;
	}
	return more;
}

/* The line records of one completed line, from its outputs' paths and digests. */
static int legacy_line(struct fb_spool *s, const struct legacy *l, yajl_val outs,
		       struct fb_buf *entries, uint64_t *missing, struct fb_err *err)
{
	fb_buf_reset(entries);
	for (size_t i = 0; YAJL_IS_ARRAY(outs) && i < outs->u.array.len; i++) {
		const char *path = fb_json_get_str(outs->u.array.values[i], "path");
		const char *sha = fb_json_get_str(outs->u.array.values[i], "sha256");
		size_t at = sha && strlen(sha) == 64 ? legacy_slot(l, sha_key(sha)) : 0;
		if (!path || !sha || strlen(sha) != 64 || !l->key[at]) {
			(*missing)++;
			continue;
		}
		if (fb_buf_addf(entries, "%llu %llu %s %s\n", (unsigned long long)l->off[at],
				(unsigned long long)l->len[at], sha, path))
			return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	return fb_spool_put_line(s, entries->ptr ? entries->ptr : "", entries->len, err);
}

int fb_spool_legacy_lines(struct fb_spool *s, const char *record_path, uint64_t from,
			  uint64_t *missing, struct fb_err *err)
{
	struct legacy l = {0};
	struct fb_buf entries = FB_BUF_INIT;
	int rc = legacy_index(s, &l, err);
	FILE *f = rc ? NULL : fopen(record_path, "r");
	if (!rc && !f)
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", record_path, strerror(errno));
	char *line = NULL, ebuf[128];
	size_t cap = 0;
	uint64_t seen = 0;
	while (!rc && f && getline(&line, &cap, f) > 0) {
		yajl_val v = yajl_tree_parse(line, ebuf, sizeof(ebuf));
		const char *st = fb_json_get_str(v, "status");
		if (st && !strcmp(st, "completed") && seen++ >= from)
			rc = legacy_line(s, &l, fb_json_get(v, "outputs"), &entries, missing, err);
		yajl_tree_free(v);
	}
	free(line);
	if (f)
		fclose(f);
	free(l.key);
	free(l.off);
	free(l.len);
	fb_buf_release(&entries);
	return rc ? rc : fb_spool_flush(s, err);
}
