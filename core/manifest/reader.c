/* reader: the byte source and the item helpers every manifest reader uses. */
#include "reader.h"
#include "buf.h"
#include "sha256.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QUOTE_BYTES 60

int fb_src_fill(struct fb_src *s)
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
		n = read(fileno(s->f), s->buf, FB_SRC_CHUNK);
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
	if (s->pos >= s->len && !fb_src_fill(s))
		return EOF;
	return s->buf[s->pos++];
}

int fb_src_peek(struct fb_src *s)
{
	if (s->pos >= s->len && !fb_src_fill(s))
		return EOF;
	return s->buf[s->pos];
}

int fb_src_error(const struct fb_src *s)
{
	return s->err;
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
