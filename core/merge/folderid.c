/* folderid: a folder's batch from its journal's start records, or from a merge's merge.json. */
#include "folderid.h"
#include "hashset.h"
#include "json.h"
#include "safeopen.h"
#include "shardfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies s (NULL: "") into out, cut at max bytes on a character boundary. */
static void keep(char *out, const char *s)
{
	size_t n = s ? strlen(s) : 0, i = 0;
	while (i < n) {
		int valid;
		size_t k = fb_json_utf8_next(s + i, n - i, &valid);
		if (i + k > FB_FOLDER_ID_MAX)
			break;
		i += k;
	}
	memcpy(out, s ? s : "", i);
	strcpy(out + i, i < n ? "..." : "");
}

/* One record of what a batch ran (a start record, or merge.json): folded into id. */
static void learn(struct fb_folder_id *id, yajl_val v)
{
	const char *kind = fb_json_get_str(v, "kind");
	if (!kind)
		return;
	const char *t = fb_json_get_str(v, "technique"), *ns = fb_json_get_str(v, "namespace");
	uint64_t th = t ? fb_hashset_hash(t) : 0, nh = ns ? fb_hashset_hash(ns) : 0;
	int said = 0; /* merge.json: made from folders of different batches */
	if (id->known && (strncmp(id->kind, kind, sizeof(id->kind) - 1) || id->technique_h != th ||
			  id->ns_h != nh))
		id->mixed = 1;
	if (!fb_json_get_bool(v, "mixed", &said) && said)
		id->mixed = 1;
	id->known = 1;
	snprintf(id->kind, sizeof(id->kind), "%s", kind);
	keep(id->technique, t);
	keep(id->ns, ns);
	id->technique_h = th;
	id->ns_h = nh;
}

/* A small JSON file (merge.json) parsed whole: the tree, or NULL with *found. */
static int read_json(const char *path, yajl_val *out, int *found, struct fb_err *err)
{
	FILE *f = fb_safe_fopen(path, "r");
	*found = f != NULL;
	*out = NULL;
	if (!f)
		return errno == ENOENT ? 0
				       : fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path,
						    fb_safe_strerror(errno));
	char *text = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&text, &cap, '\0', f);
	fclose(f);
	char ebuf[128];
	yajl_val v = n > 0 && fb_json_depth_ok(text, (size_t)n, 16)
			 ? yajl_tree_parse(text, ebuf, sizeof(ebuf))
			 : NULL;
	free(text);
	if (!YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		return fb_err_set(err, FB_EPARSE, FB_KIND_BATCH, "%s: not a JSON object", path);
	}
	*out = v;
	return 0;
}

int fb_folder_id_read(const char *dir, struct fb_folder_id *id, struct fb_err *err)
{
	char path[4096];
	int found;
	yajl_val v;
	memset(id, 0, sizeof(*id));
	struct fb_shard shard;
	int rc = fb_shardfile_read(dir, &shard, err);
	if (rc)
		return rc;
	id->shard_k = shard.index;
	id->shard_n = shard.count;
	snprintf(path, sizeof(path), "%s/merge.json", dir);
	if ((rc = read_json(path, &v, &found, err)) || found) {
		learn(id, v);
		yajl_tree_free(v);
		return rc;
	}
	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	FILE *f = fb_safe_fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0
				       : fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path,
						    fb_safe_strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	/* Only start records matter: the rest (one or two per run) is passed over unparsed. */
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n' || !strstr(line, "\"phase\":\"start\""))
			continue;
		line[n - 1] = '\0';
		char ebuf[64];
		yajl_val rec = fb_json_depth_ok(line, (size_t)n - 1, 8)
				   ? yajl_tree_parse(line, ebuf, sizeof(ebuf))
				   : NULL;
		const char *t = fb_json_get_str(rec, "t");
		if (t && !strcmp(t, "invocation"))
			learn(id, rec);
		yajl_tree_free(rec);
	}
	int bad = ferror(f);
	free(line);
	fclose(f);
	return bad ? fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot read it", path) : 0;
}

const char *fb_folder_id_differs(const struct fb_folder_id *a, const struct fb_folder_id *b)
{
	if (strcmp(a->kind, b->kind))
		return "kind";
	if (a->technique_h != b->technique_h)
		return "technique";
	if (a->ns_h != b->ns_h)
		return "namespace";
	return NULL;
}

void fb_folder_id_describe(const struct fb_folder_id *id, char *out, size_t len)
{
	if (!id->known) {
		snprintf(out, len, "not on record");
		return;
	}
	const char *what = !strcmp(id->kind, "generation")     ? "generation"
			   : !strcmp(id->kind, "technique_id") ? "technique id"
							       : "technique";
	int w = snprintf(out, len, "%s %s%s%s, namespace %s%s%s", what, id->technique_h ? "\"" : "",
			 id->technique_h ? id->technique : "(per row)", id->technique_h ? "\"" : "",
			 id->ns_h ? "\"" : "", id->ns_h ? id->ns : "none", id->ns_h ? "\"" : "");
	if (w >= 0 && (size_t)w < len && id->mixed)
		snprintf(out + w, len - (size_t)w, " (and other batches)");
}
