/* manifest: opening, format detection; the byte source and item helpers are reader.c's. */
#include "manifest.h"
#include "csv.h"
#include "dirreader.h"
#include "jsonl.h"
#include "reader.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <strings.h>
#include <sys/stat.h>

#define SNIFF_LEN 4096 /* a NUL byte this early means binary data */

struct fb_manifest {
	FILE *f;
	int close_f;
	char *name;
	enum fb_format format;
	int rereadable;
	struct fb_src src;
	const struct fb_reader_ops *ops;
	void *state;
	int failed;
	struct fb_err fatal; /* repeated by every call after a read failure */
	int is_dir;
	struct fb_dirwalk_stats dir_stats;
};

int fb_format_parse(const char *s, enum fb_format *out)
{
	if (!strcasecmp(s, "auto"))
		*out = FB_FORMAT_AUTO;
	else if (!strcasecmp(s, "csv"))
		*out = FB_FORMAT_CSV;
	else if (!strcasecmp(s, "jsonl") || !strcasecmp(s, "ndjson"))
		*out = FB_FORMAT_JSONL;
	else
		return FB_EINVAL;
	return 0;
}

const char *fb_format_name(enum fb_format f)
{
	switch (f) {
	case FB_FORMAT_CSV:
		return "csv";
	case FB_FORMAT_JSONL:
		return "jsonl";
	default:
		return "auto";
	}
}

static enum fb_format format_from_name(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (!dot || strchr(dot, '/'))
		return FB_FORMAT_AUTO;
	if (!strcasecmp(dot, ".csv"))
		return FB_FORMAT_CSV;
	if (!strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".ndjson") || !strcasecmp(dot, ".json"))
		return FB_FORMAT_JSONL;
	return FB_FORMAT_AUTO;
}

/*
 * Rejects what is clearly not a text manifest before a reader turns it
 * into thousands of confusing invalid items, and skips a UTF-8 BOM.
 */
static int check_text(struct fb_manifest *m, struct fb_err *err)
{
	struct fb_src *s = &m->src;
	const unsigned char *b = s->buf;
	size_t n = s->len;

	if (n >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF)))
		return fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
				  "%s: the manifest is UTF-16 text; save it as UTF-8", m->name);
	const unsigned char *nul = memchr(b, 0, n < SNIFF_LEN ? n : SNIFF_LEN);
	if (nul)
		return fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
				  "%s: not a text file (NUL byte at offset %zu)", m->name,
				  (size_t)(nul - b));
	if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
		s->pos = 3;
	const unsigned char *nl = memchr(b + s->pos, '\n', n - s->pos);
	size_t first = nl ? (size_t)(nl - b) - s->pos : n - s->pos;
	size_t bad;
	/* A stream's bad first line is one bad line: the reader reports it and goes on. */
	struct stat st;
	int live = fstat(fileno(s->f), &st) != 0 || !S_ISREG(st.st_mode);
	if (!live && !fb_utf8_valid((const char *)b + s->pos, first, !nl && !s->eof, &bad))
		return fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
				  "%s:1: not a text file (not valid UTF-8 at offset %zu); "
				  "save the manifest as UTF-8",
				  m->name, s->pos + bad);
	return 0;
}

/* The first byte that is not white space, or EOF when the first chunk has none. */
static int first_significant(const struct fb_src *s)
{
	for (size_t i = s->pos; i < s->len; i++)
		if (!strchr(" \t\r\n", s->buf[i]))
			return s->buf[i];
	return EOF;
}

static int detect_and_start(struct fb_manifest *m, enum fb_format format, struct fb_err *err)
{
	int c = first_significant(&m->src);

	if (format == FB_FORMAT_AUTO)
		format = format_from_name(m->name);
	if (format == FB_FORMAT_AUTO)
		format = (c == '{' || c == '[') ? FB_FORMAT_JSONL : FB_FORMAT_CSV;
	m->format = format;
	if (format == FB_FORMAT_JSONL) {
		if (c == '[')
			return fb_err_set(
			    err, FB_EPARSE, FB_KIND_BATCH,
			    "%s: starts with '[': a JSON array is not JSON Lines; write "
			    "one JSON object per line",
			    m->name);
		m->ops = &fb_jsonl_reader;
		return fb_jsonl_open(&m->state, &m->src, m->name, err);
	}
	m->ops = &fb_csv_reader;
	return fb_csv_open(&m->state, &m->src, m->name, err);
}

int fb_manifest_open_stream(struct fb_manifest **out, FILE *f, const char *display_name,
			    int close_f, enum fb_format format, struct fb_err *err)
{
	struct fb_manifest *m = calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (!m) {
		if (close_f)
			fclose(f);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	m->f = f;
	m->close_f = close_f;
	m->src.f = f;
	m->src.cancel = -1;
	m->name = fb_strdup(display_name ? display_name : "<stdin>");
	m->src.buf = malloc(FB_SRC_CHUNK);
	if (!m->name || !m->src.buf) {
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		goto fail;
	}
	fb_src_fill(&m->src);
	if (m->src.err) {
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot read manifest: %s", m->name,
				strerror(m->src.err));
		goto fail;
	}
	rc = check_text(m, err);
	if (!rc)
		rc = detect_and_start(m, format, err);
	if (rc)
		goto fail;
	*out = m;
	return 0;
fail:
	fb_manifest_free(m);
	return rc;
}

int fb_manifest_open(struct fb_manifest **out, const char *path, enum fb_format format,
		     struct fb_err *err)
{
	struct stat st;
	FILE *f;

	*out = NULL;
	if (!path || !strcmp(path, "-"))
		return fb_manifest_open_stream(out, stdin, "<stdin>", 0, format, err);
	f = fopen(path, "rb");
	if (!f)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot open manifest: %s", path,
				  strerror(errno));
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot read manifest: %s", path,
				  strerror(EISDIR));
	}
	int rc = fb_manifest_open_stream(out, f, path, 1, format, err);
	if (!rc)
		(*out)->rereadable = S_ISREG(st.st_mode);
	return rc;
}

int fb_manifest_next(struct fb_manifest *m, struct fb_item *item, struct fb_err *err)
{
	if (m->failed) {
		if (err)
			*err = m->fatal;
		return m->fatal.code;
	}
	int rc = m->ops->next(m->state, item, &m->fatal);
	if (rc < 0) {
		m->failed = 1;
		if (err)
			*err = m->fatal;
	}
	return rc;
}

enum fb_format fb_manifest_format(const struct fb_manifest *m)
{
	return m->format;
}

const char *fb_manifest_name(const struct fb_manifest *m)
{
	return m->name;
}

int fb_manifest_rereadable(const struct fb_manifest *m)
{
	return m->rereadable;
}

int fb_manifest_open_dir(struct fb_manifest **out, const char *dir,
			 const struct fb_dir_options *opts, struct fb_err *err)
{
	struct fb_manifest *m = calloc(1, sizeof(*m));
	*out = NULL;
	if (!m || !(m->name = fb_strdup(dir))) {
		free(m);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	m->is_dir = 1;
	m->src.cancel = -1;
	m->rereadable = 1;
	m->ops = &fb_dir_reader;
	int rc = fb_dirreader_open(&m->state, dir, opts, &m->dir_stats, err);
	if (rc) {
		m->ops = NULL;
		fb_manifest_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int fb_manifest_live(const struct fb_manifest *m)
{
	struct stat st;
	if (m->is_dir || m->src.eof || !m->src.f)
		return 0;
	return fstat(fileno(m->src.f), &st) != 0 || !S_ISREG(st.st_mode);
}

void fb_manifest_set_cancel(struct fb_manifest *m, int fd)
{
	m->src.cancel = fd;
}

const struct fb_dirwalk_stats *fb_manifest_dir_stats(const struct fb_manifest *m)
{
	return m->is_dir ? &m->dir_stats : NULL;
}

void fb_manifest_free(struct fb_manifest *m)
{
	if (!m)
		return;
	if (m->ops && m->state)
		m->ops->free(m->state);
	if (m->close_f && m->f)
		fclose(m->f);
	free(m->src.buf);
	free(m->name);
	free(m);
}
