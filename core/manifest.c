/* manifest: opening, format detection, the byte source and item helpers. */
#include "manifest.h"
#include "buf.h"
#include "csv.h"
#include "dirreader.h"
#include "jsonl.h"
#include "sha256.h"
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

#define SRC_CHUNK   65536
#define SNIFF_LEN   4096 /* a NUL byte this early means binary data */
#define QUOTE_BYTES 60

struct fb_src {
	FILE *f;
	int cancel; /* readable: stop waiting for bytes (fb_manifest_set_cancel); -1: none */
	unsigned char *buf;
	size_t pos, len;
	int eof;
	int err;
};

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

/*
 * Reads the next chunk; 1 when there are bytes to take. read(2), not
 * fread: on a pipe it returns what has arrived, so an item written by a
 * slow producer upstream starts at once instead of waiting for a full chunk.
 */
static int src_fill(struct fb_src *s)
{
	if (s->eof || s->err)
		return 0;
	if (s->cancel >= 0) {
		struct pollfd pf[2] = {{fileno(s->f), POLLIN, 0}, {s->cancel, POLLIN, 0}};
		while (poll(pf, 2, -1) < 0 && errno == EINTR)
			;
		if (pf[1].revents) {
			s->err = ECANCELED;
			return 0;
		}
	}
	ssize_t n;
	do
		n = read(fileno(s->f), s->buf, SRC_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		s->err = errno ? errno : EIO;
	else if (n == 0)
		s->eof = 1;
	s->pos = 0;
	s->len = n > 0 ? (size_t)n : 0;
	return n > 0;
}

int fb_src_getc(struct fb_src *s)
{
	if (s->pos >= s->len && !src_fill(s))
		return EOF;
	return s->buf[s->pos++];
}

int fb_src_peek(struct fb_src *s)
{
	if (s->pos >= s->len && !src_fill(s))
		return EOF;
	return s->buf[s->pos];
}

int fb_src_error(const struct fb_src *s)
{
	return s->err;
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
	m->src.buf = malloc(SRC_CHUNK);
	if (!m->name || !m->src.buf) {
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		goto fail;
	}
	src_fill(&m->src);
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

char *fb_manifest_default_id(unsigned long long seq)
{
	struct fb_buf b = FB_BUF_INIT;
	if (fb_buf_addf(&b, "row-%llu", seq))
		return NULL;
	return fb_buf_detach(&b, NULL);
}

int fb_manifest_item_begin(struct fb_item *it, const char *name, uint64_t line, uint64_t seq)
{
	struct fb_buf b = FB_BUF_INIT;
	it->seq = seq;
	if (fb_buf_addf(&b, "%s:%llu", name, (unsigned long long)line))
		return FB_ENOMEM;
	free(it->source);
	it->source = fb_buf_detach(&b, NULL);
	return it->source ? 0 : FB_ENOMEM;
}

int fb_manifest_item_id(struct fb_item *it, const char *id)
{
	free(it->id);
	it->id_explicit = id && *id;
	it->id = it->id_explicit ? fb_strdup(id) : fb_manifest_default_id(it->seq);
	return it->id ? 0 : FB_ENOMEM;
}

/* sha256 of a file, streamed. */
static int hash_file(const char *path, char hex[FB_SHA256_HEX_LEN + 1])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct fb_sha256 *h = fd < 0 ? NULL : fb_sha256_new();
	char buf[65536];
	ssize_t n = -1;
	if (h)
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			fb_sha256_update(h, buf, (size_t)n);
	int rc = h && n == 0 ? fb_sha256_final_hex(h, hex) : -1;
	fb_sha256_free(h);
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * A value that names a local file (a path, relative to the manifest's
 * folder, or a file:// URL) for a url input: the file is uploaded before the
 * run, so it becomes a local input, hashed now (its key follows its content).
 * Returns 1 when it was one (added or made the item invalid), 0 when not.
 */
static int local_input(struct fb_item *it, const char *what, const char *field, const char *id,
		       enum fb_input_type type, const char *value, int soft, int *rc)
{
	const char *path = value;
	if (!strncmp(value, "file://", 7))
		path = value + 7 + (!strncmp(value + 7, "localhost/", 10) ? 9 : 0);
	else if (strstr(value, "://"))
		return 0;
	struct fb_buf full = FB_BUF_INIT;
	/* source is "<manifest>:<line>": relative paths start from the manifest's folder. */
	const char *colon = it->source ? strrchr(it->source, ':') : NULL;
	const char *slash = NULL;
	for (const char *p = it->source; p && p < colon; p++)
		if (*p == '/')
			slash = p;
	if (path[0] != '/' && slash)
		*rc = fb_buf_add(&full, it->source, (size_t)(slash - it->source + 1));
	if (!*rc)
		*rc = fb_buf_adds(&full, path);
	struct stat st;
	if (*rc) {
		*rc = FB_ENOMEM;
	} else if (soft && (stat(full.ptr, &st) != 0 || !S_ISREG(st.st_mode))) {
		fb_buf_release(&full);
		return 0; /* untyped and no such file: it is text after all */
	} else if (stat(full.ptr, &st) != 0 || !S_ISREG(st.st_mode)) {
		char q[FB_MANIFEST_QUOTE_MAX];
		fb_manifest_quote(q, value);
		*rc = fb_item_set_invalid(
		    it, field,
		    "%s \"%s\": expected a URL (http:// or https://) or a local file; %s %s", what,
		    field, q, errno == ENOENT ? "does not exist" : "is not a readable file");
	} else if (!(*rc = fb_item_add_input(it, id, type, full.ptr))) {
		struct fb_input *in = &it->inputs[it->ninputs - 1];
		in->local = 1;
		if (hash_file(full.ptr, in->sha256))
			*rc = fb_item_set_invalid(it, field, "%s \"%s\": cannot read %s: %s", what,
						  field, full.ptr, strerror(errno));
	}
	fb_buf_release(&full);
	return 1;
}

/* An untyped value that names an existing image or video file. */
static enum fb_input_type local_type(const char *value)
{
	char url[1024];
	/* The URL rules know the extensions; ask them about a pretend URL of the name. */
	snprintf(url, sizeof(url), "https://x/%s",
		 strrchr(value, '/') ? strrchr(value, '/') + 1 : value);
	return fb_input_type_infer(url);
}

int fb_manifest_item_input(struct fb_item *it, const char *what, const char *field, const char *id,
			   enum fb_input_type type, int typed, const char *value)
{
	int rc = 0;
	if (!*value)
		return 0;
	if (typed && type != FB_INPUT_TEXT && !fb_is_http_url(value) &&
	    local_input(it, what, field, id, type, value, 0, &rc))
		return rc;
	/* An untyped value naming an existing image or video file is that file. */
	if (!typed && type == FB_INPUT_TEXT && local_type(value) != FB_INPUT_TEXT &&
	    !strchr(value, '\n') &&
	    local_input(it, what, field, id, local_type(value), value, 1, &rc))
		return rc;
	if (typed && type != FB_INPUT_TEXT && !fb_is_http_url(value)) {
		char q[FB_MANIFEST_QUOTE_MAX];
		fb_manifest_quote(q, value);
		return fb_item_set_invalid(
		    it, field, "%s \"%s\": expected a URL (http:// or https://), got %s", what,
		    field, q);
	}
	return fb_item_add_input(it, id, type, value);
}

void fb_manifest_quote(char out[FB_MANIFEST_QUOTE_MAX], const char *value)
{
	size_t n = strlen(value);
	size_t keep = fb_utf8_clip(value, n, QUOTE_BYTES);
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < keep; i++) {
		unsigned char c = (unsigned char)value[i];
		const char *esc = NULL;
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		}
		if (esc) {
			memcpy(out + o, esc, 2);
			o += 2;
		} else if (c < 0x20 || c == 0x7F) {
			snprintf(out + o, 5, "\\x%02x", c);
			o += 4;
		} else {
			out[o++] = (char)c;
		}
	}
	if (keep < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}
