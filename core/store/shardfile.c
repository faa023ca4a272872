/* shardfile: DIR/shard.json, the shard an output folder holds. */
#include "shardfile.h"
#include "json.h"
#include "safeopen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_MAX 4096 /* the record is a few dozen bytes; anything larger is not one */

static int path_of(const char *dir, const char *name, char *out, size_t len, struct fb_err *err)
{
	int w = snprintf(out, len, "%s/%s", dir, name);
	if (w < 0 || (size_t)w >= len)
		return fb_err_set(err, FB_ETOOBIG, FB_KIND_BATCH, "%s: the path is too long", dir);
	return 0;
}

static int not_a_record(const char *path, const char *why, struct fb_err *err)
{
	return fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
			  "%s: %s; the file says which --shard this folder holds (a "
			  "{\"index\":K,\"count\":N,\"rule\":\"%s\"} object): remove it only if "
			  "the folder holds no batch",
			  path, why, FB_SHARDFILE_RULE);
}

int fb_shardfile_read(const char *dir, struct fb_shard *out, struct fb_err *err)
{
	char path[4096], text[FILE_MAX + 1], ebuf[128];
	out->index = out->count = 0;
	if (path_of(dir, FB_SHARDFILE_NAME, path, sizeof(path), err))
		return err->code;
	FILE *f = fb_safe_fopen(path, "r");
	if (!f)
		return errno == ENOENT || errno == ENOTDIR
			   ? 0
			   : fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path,
					fb_safe_strerror(errno));
	size_t n = fread(text, 1, sizeof(text), f);
	int bad = ferror(f);
	fclose(f);
	if (bad)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot read it", path);
	if (n > FILE_MAX)
		return not_a_record(path, "too large", err);
	text[n] = '\0';
	if (strlen(text) != n || !fb_json_depth_ok(text, n, 4))
		return not_a_record(path, "not JSON", err);
	yajl_val v = yajl_tree_parse(text, ebuf, sizeof(ebuf));
	int64_t index = 0, count = 0;
	const char *rule = fb_json_get_str(v, "rule");
	int rc = 0;
	if (!YAJL_IS_OBJECT(v))
		rc = not_a_record(path, "not a JSON object", err);
	else if (fb_json_get_i64(v, "index", &index) || fb_json_get_i64(v, "count", &count) ||
		 count < 1 || count > FB_SHARD_MAX || index < 1 || index > count)
		rc = not_a_record(path, "no index and count with 1 <= index <= count", err);
	else if (!rule || strcmp(rule, FB_SHARDFILE_RULE))
		rc = not_a_record(path, "its rule is not one this florabatch knows", err);
	yajl_tree_free(v);
	if (!rc) {
		out->index = (unsigned)index;
		out->count = (unsigned)count;
	}
	return rc;
}

int fb_shardfile_write(const char *dir, const struct fb_shard *sh, struct fb_err *err)
{
	char path[4096], tmp[4096], name[24];
	if (path_of(dir, FB_SHARDFILE_NAME, path, sizeof(path), err) ||
	    path_of(dir, FB_SHARDFILE_NAME ".tmp", tmp, sizeof(tmp), err))
		return err->code;
	yajl_gen g = fb_json_gen_new();
	if (!g)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	fb_shard_format(sh, name, sizeof(name));
	int rc = yajl_gen_status_ok != yajl_gen_map_open(g) || fb_json_gen_key(g, "shard") ||
		 fb_json_gen_str(g, name) || fb_json_gen_key(g, "index") ||
		 fb_json_gen_u64(g, sh->index) || fb_json_gen_key(g, "count") ||
		 fb_json_gen_u64(g, sh->count) || fb_json_gen_key(g, "rule") ||
		 fb_json_gen_str(g, FB_SHARDFILE_RULE) ||
		 yajl_gen_status_ok != yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len = 0;
	if (rc || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
		yajl_gen_free(g);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	int fd = fb_safe_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ok = fd >= 0 && write(fd, buf, len) == (ssize_t)len && write(fd, "\n", 1) == 1 &&
		 fsync(fd) == 0;
	int e = errno;
	yajl_gen_free(g);
	if (fd >= 0 && close(fd) != 0 && ok) {
		ok = 0;
		e = errno;
	}
	if (ok && rename(tmp, path) != 0) {
		ok = 0;
		e = errno;
	}
	if (ok)
		return 0;
	if (fd >= 0)
		unlink(tmp);
	return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot write it: %s", path,
			  fb_safe_strerror(e));
}

/* Whether the file at path holds anything (a missing one does not). */
static int has_bytes(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_size > 0;
}

int fb_shardfile_check(const char *dir, const char *record, const struct fb_shard *want,
		       struct fb_shard *have, struct fb_err *err)
{
	char w[24], h[24], journal[4096], results[4096];
	if (fb_shardfile_read(dir, have, err))
		return err->code;
	fb_shard_format(want, w, sizeof(w));
	fb_shard_format(have, h, sizeof(h));
	if (have->count) {
		if (fb_shard_same_items(want, have))
			return 0;
		if (want->count)
			return fb_err_set(
			    err, FB_EINVAL, FB_KIND_BATCH,
			    "%s holds shard %s of its batch (%s/%s), and this is shard "
			    "%s: one folder would mix two shards' items; give each shard "
			    "its own --out (e.g. --out out/shard-%u), or --fresh to start "
			    "this folder over as shard %s",
			    dir, h, dir, FB_SHARDFILE_NAME, w, want->index, w);
		return fb_err_set(
		    err, FB_EINVAL, FB_KIND_BATCH,
		    "%s holds shard %s of its batch (%s/%s); without --shard this run "
		    "would add every other shard's items to it: give --shard %s, or "
		    "another --out",
		    dir, h, dir, FB_SHARDFILE_NAME, h);
	}
	if (want->count <= 1)
		return 0;
	if (path_of(dir, "journal.jsonl", journal, sizeof(journal), err) ||
	    path_of(dir, "results.jsonl", results, sizeof(results), err))
		return err->code;
	if (has_bytes(journal) || has_bytes(record ? record : results))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "%s holds a batch run without --shard (it has a journal or "
				  "results), and this is shard %s: one folder would mix all items "
				  "with one shard's; give the shard its own --out (e.g. --out "
				  "out/shard-%u), or --fresh to start this folder over as shard %s",
				  dir, w, want->index, w);
	return 0;
}
