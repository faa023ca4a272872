/* simmultipart: multipart/form-data parsing for simulated uploads. */
#include "simmultipart.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

#define MAX_BOUNDARY 70 /* RFC 2046 */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive prefix test over n bytes. */
static int iprefix(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);
	if (n < p)
		return 0;
	for (size_t i = 0; i < p; i++)
		if (lower((unsigned char)s[i]) != lower((unsigned char)prefix[i]))
			return 0;
	return 1;
}

static const char *skip_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

int fb_simmp_is_form(const char *ct)
{
	if (!ct)
		return 0;
	const char *end = ct + strlen(ct);
	ct = skip_ws(ct, end);
	if (!iprefix(ct, (size_t)(end - ct), "multipart/form-data"))
		return 0;
	ct += strlen("multipart/form-data");
	ct = skip_ws(ct, end);
	return ct == end || *ct == ';';
}

/*
 * The value of parameter name in a header value ("a; name=v; b=\"w\""),
 * unquoted, as a new string; NULL when absent (or out of memory: *oom).
 */
static char *param(const char *s, const char *end, const char *name, int *oom)
{
	size_t nl = strlen(name);
	while (s < end) {
		const char *semi = memchr(s, ';', (size_t)(end - s));
		if (!semi)
			return NULL;
		s = skip_ws(semi + 1, end);
		if (!iprefix(s, (size_t)(end - s), name))
			continue;
		const char *p = skip_ws(s + nl, end);
		if (p == end || *p != '=')
			continue;
		p = skip_ws(p + 1, end);
		char *out = malloc((size_t)(end - p) + 1);
		if (!out) {
			*oom = 1;
			return NULL;
		}
		size_t n = 0;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				out[n++] = *p;
			}
		} else {
			while (p < end && *p != ';' && *p != ' ' && *p != '\t')
				out[n++] = *p++;
		}
		out[n] = '\0';
		return out;
	}
	return NULL;
}

static const char *find(const char *hay, size_t n, const char *needle, size_t m)
{
	if (!m || n < m)
		return NULL;
	for (const char *p = hay, *end = hay + n - m + 1; p < end;) {
		const char *c = memchr(p, needle[0], (size_t)(end - p));
		if (!c)
			return NULL;
		if (!memcmp(c, needle, m))
			return c;
		p = c + 1;
	}
	return NULL;
}

/* Reads one part's headers (hdr..hend, without the blank line) into part. */
static int read_headers(const char *hdr, const char *hend, struct fb_simmp_part *part,
			const char **why)
{
	int oom = 0;
	while (hdr < hend) {
		const char *eol = find(hdr, (size_t)(hend - hdr), "\r\n", 2);
		const char *line_end = eol ? eol : hend;
		size_t n = (size_t)(line_end - hdr);
		if (iprefix(hdr, n, "content-disposition:")) {
			const char *v = skip_ws(hdr + 20, line_end);
			if (!iprefix(v, (size_t)(line_end - v), "form-data")) {
				*why = "A part is not form-data.";
				return FB_EPARSE;
			}
			free(part->name);
			free(part->filename);
			part->name = param(v, line_end, "name", &oom);
			part->filename = param(v, line_end, "filename", &oom);
		} else if (iprefix(hdr, n, "content-type:")) {
			const char *v = skip_ws(hdr + 13, line_end);
			free(part->content_type);
			if ((part->content_type = malloc(n + 1))) {
				size_t k = (size_t)(line_end - v);
				memcpy(part->content_type, v, k);
				part->content_type[k] = '\0';
			} else {
				oom = 1;
			}
		}
		if (oom)
			return FB_ENOMEM;
		hdr = eol ? eol + 2 : hend;
	}
	if (!part->name) {
		*why = "A part has no name in its Content-Disposition header.";
		return FB_EPARSE;
	}
	return 0;
}

int fb_simmp_parse(const char *ct, const char *body, size_t len, struct fb_simmp *out,
		   const char **why)
{
	int oom = 0;
	*why = NULL;
	if (!fb_simmp_is_form(ct)) {
		*why = "The content type is not multipart/form-data.";
		return FB_EPARSE;
	}
	char *b = param(ct, ct + strlen(ct), "boundary", &oom);
	if (oom)
		return FB_ENOMEM;
	size_t blen = b ? strlen(b) : 0;
	if (!blen || blen > MAX_BOUNDARY) {
		free(b);
		*why = "The content type has no usable boundary.";
		return FB_EPARSE;
	}
	/* "\r\n--boundary": the body is read as if it began with a line break. */
	char delim[MAX_BOUNDARY + 5] = "\r\n--";
	memcpy(delim + 4, b, blen);
	size_t dlen = blen + 4;
	free(b);
	const char *end = body ? body + len : body, *p;
	if (len >= dlen - 2 && !memcmp(body, delim + 2, dlen - 2))
		p = body + dlen - 2;
	else if ((p = find(body, len, delim, dlen)))
		p += dlen; /* after a preamble */
	else
		goto malformed;
	for (;;) {
		/* p is just past a delimiter: "--" closes, "\r\n" opens a part. */
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0;
		while (p < end && (*p == ' ' || *p == '\t')) /* transport padding */
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			goto malformed;
		p += 2;
		size_t room = (size_t)(end - p);
		const char *hend =
		    find(p, room < FB_SIMMP_MAX_HEADER ? room : FB_SIMMP_MAX_HEADER, "\r\n\r\n", 4);
		const char *data = hend ? hend + 4 : NULL;
		if (!hend && room >= 2 && p[0] == '\r' && p[1] == '\n') /* no headers at all */
			hend = p, data = p + 2;
		if (!hend)
			goto malformed;
		const char *next = find(data, (size_t)(end - data), delim, dlen);
		if (!next)
			goto malformed;
		if (out->n == FB_SIMMP_MAX_PARTS) {
			*why = "Too many parts.";
			return FB_EPARSE;
		}
		struct fb_simmp_part *v = realloc(out->parts, (out->n + 1) * sizeof(*v));
		if (!v)
			return FB_ENOMEM;
		out->parts = v;
		struct fb_simmp_part *part = &v[out->n++];
		memset(part, 0, sizeof(*part));
		int rc = read_headers(p, hend, part, why);
		if (rc)
			return rc;
		part->data = data;
		part->len = (size_t)(next - data);
		p = next + dlen;
	}
malformed:
	*why = "The multipart body is malformed or incomplete.";
	return FB_EPARSE;
}

const struct fb_simmp_part *fb_simmp_get(const struct fb_simmp *mp, const char *name)
{
	for (size_t i = 0; i < mp->n; i++)
		if (!strcmp(mp->parts[i].name, name))
			return &mp->parts[i];
	return NULL;
}

void fb_simmp_release(struct fb_simmp *mp)
{
	for (size_t i = 0; i < mp->n; i++) {
		free(mp->parts[i].name);
		free(mp->parts[i].filename);
		free(mp->parts[i].content_type);
	}
	free(mp->parts);
	*mp = (struct fb_simmp)FB_SIMMP_INIT;
}
