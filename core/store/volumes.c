/* volumes: numbered archive volumes and their index, volumes.jsonl. */
#include "volumes.h"
#include "safeopen.h"
#include "buf.h"
#include "item.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PATH_MAX_LEN 4096

struct fb_volumes {
	char *archive_path;
	char *index_path;
	unsigned count; /* finished volumes */
	uint64_t lines; /* lines in them */
	char next[PATH_MAX_LEN];
};

/* Where the volume number goes: before ".tar.gz", ".tar.zst", ".tar", else the last dot. */
static size_t ext_at(const char *path)
{
	static const char *const exts[] = {".tar.gz", ".tar.zst", ".tar.xz", ".tar.bz2", ".tar"};
	size_t n = strlen(path);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t e = strlen(exts[i]);
		if (n > e && path + n - e > base && !strcmp(path + n - e, exts[i]))
			return n - e;
	}
	const char *dot = strrchr(base, '.');
	return dot && dot > base ? (size_t)(dot - path) : n;
}

int fb_volumes_path(const char *archive_path, unsigned n, char *out, size_t len)
{
	int w;
	if (n <= 1) {
		w = snprintf(out, len, "%s", archive_path);
	} else {
		size_t at = ext_at(archive_path);
		w = snprintf(out, len, "%.*s.%04u%s", (int)at, archive_path, n, archive_path + at);
	}
	return w < 0 || (size_t)w >= len ? FB_ETOOBIG : 0;
}

static int set_next(struct fb_volumes *v, struct fb_err *err)
{
	if (fb_volumes_path(v->archive_path, v->count + 1, v->next, sizeof(v->next)))
		return fb_err_set(err, FB_ETOOBIG, FB_KIND_BATCH, "%s: the path is too long",
				  v->archive_path);
	return 0;
}

/* Learns the finished volumes from the index; a line that is not whole is a crash's. */
static int read_index(struct fb_volumes *v, struct fb_err *err)
{
	FILE *f = fb_safe_fopen(v->index_path, "r");
	if (!f)
		return errno == ENOENT ? 0
				       : fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s",
						    v->index_path, fb_safe_strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	off_t whole = 0;
	while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
		char ebuf[64];
		line[n - 1] = '\0';
		yajl_val o = yajl_tree_parse(line, ebuf, sizeof(ebuf));
		int64_t to = -1, num = -1;
		if (fb_json_get_i64(o, "lines_to", &to) || fb_json_get_i64(o, "number", &num) ||
		    to < (int64_t)v->lines || num != (int64_t)v->count + 1) {
			yajl_tree_free(o);
			break; /* not a line this index can follow: what comes after it is not kept
				*/
		}
		yajl_tree_free(o);
		v->count++;
		v->lines = (uint64_t)to;
		whole += n;
	}
	free(line);
	fclose(f);
	if (fb_safe_truncate(v->index_path, whole) != 0)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot cut its torn end: %s",
				  v->index_path, fb_safe_strerror(errno));
	return 0;
}

int fb_volumes_open(struct fb_volumes **out, const char *archive_path, const char *index_path,
		    int fresh, struct fb_err *err)
{
	*out = NULL;
	struct fb_volumes *v = calloc(1, sizeof(*v));
	if (!v || !(v->archive_path = fb_strdup(archive_path)) ||
	    !(v->index_path = fb_strdup(index_path))) {
		fb_volumes_free(v);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	int rc = 0;
	/* Starting over: the volumes of before go, then the index that names them. */
	for (unsigned n = 1; fresh && !rc; n++) {
		if (fb_volumes_path(archive_path, n, v->next, sizeof(v->next)) ||
		    (unlink(v->next) != 0 && errno == ENOENT && n > 1))
			break;
	}
	if (fresh && unlink(index_path) != 0 && errno != ENOENT)
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", index_path, strerror(errno));
	if (!rc && !fresh)
		rc = read_index(v, err);
	if (!rc)
		rc = set_next(v, err);
	if (rc) {
		fb_volumes_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

uint64_t fb_volumes_lines(const struct fb_volumes *v)
{
	return v->lines;
}

unsigned fb_volumes_count(const struct fb_volumes *v)
{
	return v->count;
}

const char *fb_volumes_next_path(const struct fb_volumes *v)
{
	return v->next;
}

const char *fb_volumes_next_name(const struct fb_volumes *v)
{
	const char *slash = strrchr(v->next, '/');
	return slash ? slash + 1 : v->next;
}

int fb_volumes_finish(struct fb_volumes *v, uint64_t lines_to, uint64_t outputs, uint64_t bytes,
		      int64_t at_s, struct fb_err *err)
{
	yajl_gen g = fb_json_gen_new();
	struct fb_buf line = FB_BUF_INIT;
	int rc = g ? 0 : FB_ENOMEM;
	if (!rc)
		rc = fb_json_gen_status(yajl_gen_map_open(g));
	if (!rc)
		rc = fb_json_gen_key(g, "number") || fb_json_gen_u64(g, v->count + 1) ||
		     fb_json_gen_key(g, "volume") || fb_json_gen_str(g, fb_volumes_next_name(v)) ||
		     fb_json_gen_key(g, "lines_from") || fb_json_gen_u64(g, v->lines) ||
		     fb_json_gen_key(g, "lines_to") || fb_json_gen_u64(g, lines_to) ||
		     fb_json_gen_key(g, "outputs") || fb_json_gen_u64(g, outputs) ||
		     fb_json_gen_key(g, "bytes") || fb_json_gen_u64(g, bytes) ||
		     fb_json_gen_key(g, "finished_at") || fb_json_gen_i64(g, at_s);
	if (!rc)
		rc = fb_json_gen_status(yajl_gen_map_close(g));
	if (!rc)
		rc = fb_json_gen_take(g, &line);
	if (!rc && fb_buf_addc(&line, '\n'))
		rc = FB_ENOMEM;
	if (g)
		yajl_gen_free(g);
	if (rc) {
		fb_buf_release(&line);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	size_t len = line.len;
	int fd = fb_safe_open(v->index_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	ssize_t w = fd < 0 ? -1 : write(fd, line.ptr, len);
	int e = errno;
	if (fd >= 0 && w == (ssize_t)len && fdatasync(fd) != 0) {
		e = errno;
		w = -1;
	}
	if (fd >= 0)
		close(fd);
	fb_buf_release(&line);
	if (w != (ssize_t)len)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot record volume %s: %s",
				  v->index_path, fb_volumes_next_name(v),
				  strerror(w < 0 ? e : ENOSPC));
	v->count++;
	v->lines = lines_to;
	return set_next(v, err);
}

void fb_volumes_free(struct fb_volumes *v)
{
	if (!v)
		return;
	free(v->archive_path);
	free(v->index_path);
	free(v);
}
