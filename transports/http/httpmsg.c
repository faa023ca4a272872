/*
 * httpmsg: the pure parts of the http transport (httpmsg.h): where a path
 * goes, whether a URL may receive the API key, how long an answer asks us
 * to wait, and what a libcurl error means for the item.
 */
#include "httpmsg.h"

#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Large enough for any sane delay, small enough for a 32-bit long. */
#define RETRY_AFTER_MAX_MS 2147483647L

int fb_http_is_absolute(const char *s)
{
	return s && (!strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8));
}

int fb_http_names_elsewhere(const char *s)
{
	if (!s)
		return 0;
	if (s[0] == '/' && s[1] == '/')
		return 1;
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	if (!isalpha((unsigned char)s[0]))
		return 0;
	const char *p = s + 1;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	return *p == ':';
}

int fb_http_join_url(struct fb_buf *out, const char *base, const char *path)
{
	if (fb_http_is_absolute(path))
		return fb_buf_adds(out, path);
	size_t blen = strlen(base);
	while (blen && base[blen - 1] == '/')
		blen--;
	/* The origin ends at the first '/' after "scheme://". */
	const char *sep = strstr(base, "://");
	size_t origin = blen;
	if (sep && (size_t)(sep - base) + 3 <= blen) {
		const char *slash = memchr(sep + 3, '/', blen - (size_t)(sep + 3 - base));
		if (slash)
			origin = (size_t)(slash - base);
	}
	size_t plen = blen - origin; /* the base's own path, "/api/v1", or 0 */
	if (*path != '/')
		return fb_buf_add(out, base, blen) || fb_buf_addc(out, '/') ||
			       fb_buf_adds(out, path)
			   ? FB_ENOMEM
			   : 0;
	if (plen && !strncmp(path, base + origin, plen) && path[plen] == '/')
		blen = origin; /* a root-relative path that already names the base path */
	return fb_buf_add(out, base, blen) || fb_buf_adds(out, path) ? FB_ENOMEM : 0;
}

/* Where url's authority (after "scheme://") starts, or NULL for a path. */
static const char *authority(const char *url)
{
	const char *p = strstr(url, "://");
	return p && p < url + strcspn(url, "/?#") ? p + 3 : NULL;
}

int fb_http_has_userinfo(const char *url)
{
	const char *a = url ? authority(url) : NULL;
	return a && memchr(a, '@', strcspn(a, "/?#")) != NULL;
}

int fb_http_url_shown(struct fb_buf *out, const char *url)
{
	if (!url)
		return 0;
	size_t end = strcspn(url, "?#"), from = 0, skip = 0;
	const char *a = authority(url);
	if (a && fb_http_has_userinfo(url)) {
		/* The last '@' ends the user information, as libcurl reads it. */
		size_t alen = strcspn(a, "/?#");
		from = (size_t)(a - url);
		while (alen && a[alen - 1] != '@')
			alen--;
		skip = alen;
	}
	size_t n = end - skip, cut = n;
	if (cut > FB_HTTP_URL_SHOWN_MAX) {
		cut = FB_HTTP_URL_SHOWN_MAX;
		/* Never half a UTF-8 character. */
		const char *rest = url + skip;
		while (cut > from && ((unsigned char)rest[cut] & 0xc0) == 0x80)
			cut--;
	}
	size_t start = out->len;
	if (fb_buf_add(out, url, from) || fb_buf_add(out, url + from + skip, cut - from) ||
	    (cut < n && fb_buf_adds(out, "...")))
		return FB_ENOMEM;
	for (size_t i = start; i < out->len; i++)
		if ((unsigned char)out->ptr[i] < 0x20 || out->ptr[i] == 0x7f)
			out->ptr[i] = '?';
	return 0;
}

struct origin {
	char *scheme, *host, *port;
};

static void origin_release(struct origin *o)
{
	curl_free(o->scheme);
	curl_free(o->host);
	curl_free(o->port);
}

static int origin_of(const char *url, struct origin *o)
{
	memset(o, 0, sizeof(*o));
	CURLU *u = curl_url();
	if (!u)
		return -1;
	int bad = curl_url_set(u, CURLUPART_URL, url, 0) ||
		  curl_url_get(u, CURLUPART_SCHEME, &o->scheme, 0) ||
		  curl_url_get(u, CURLUPART_HOST, &o->host, 0) ||
		  curl_url_get(u, CURLUPART_PORT, &o->port, CURLU_DEFAULT_PORT);
	curl_url_cleanup(u);
	return bad ? -1 : 0;
}

int fb_http_same_origin(const char *url, const char *base_url)
{
	struct origin a = {NULL, NULL, NULL}, b;
	int same = url && base_url && fb_http_is_absolute(url) && !origin_of(url, &a);
	if (same) {
		same = !origin_of(base_url, &b) && !strcasecmp(a.scheme, b.scheme) &&
		       !strcasecmp(a.host, b.host) && !strcmp(a.port, b.port);
		origin_release(&b);
	}
	origin_release(&a);
	return same;
}

/* A plain non-negative decimal number, spaces around allowed ("inf", "0x10", "1e3", "-1" are not).
 */
static int parse_number(const char *s, double *out)
{
	while (*s == ' ' || *s == '\t')
		s++;
	const char *p = s;
	size_t digits = 0;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits++;
	if (!digits)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p)
		return -1;
	*out = strtod(s, NULL);
	return isfinite(*out) ? 0 : -1;
}

static long clamp_ms(double ms)
{
	ms = ceil(ms);
	return ms >= (double)RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : (long)ms;
}

long fb_http_retry_after_ms(const char *retry_after, const char *retry_after_ms, time_t now)
{
	double v;
	if (retry_after_ms && !parse_number(retry_after_ms, &v))
		return clamp_ms(v);
	if (!retry_after)
		return -1;
	if (!parse_number(retry_after, &v))
		return clamp_ms(v * 1000.0);
	time_t when = curl_getdate(retry_after, NULL);
	if (when == (time_t)-1)
		return -1;
	return when <= now ? 0 : clamp_ms(difftime(when, now) * 1000.0);
}

/* Copies a header value, printable ASCII only: it may end up in a message. */
static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	dst[n] = '\0';
}

void fb_http_header_line(struct fb_http_headers *h, const char *line, size_t len)
{
	if (len >= 5 && !memcmp(line, "HTTP/", 5)) {
		memset(h, 0, sizeof(*h));
		return;
	}
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return;
	size_t nlen = (size_t)(colon - line);
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	size_t vlen = (size_t)(end - v);
	if (nlen == 10 && !strncasecmp(line, "request-id", 10))
		copy_value(h->request_id, sizeof(h->request_id), v, vlen);
	else if (nlen == 11 && !strncasecmp(line, "retry-after", 11))
		copy_value(h->retry_after, sizeof(h->retry_after), v, vlen);
	else if (nlen == 14 && !strncasecmp(line, "retry-after-ms", 14))
		copy_value(h->retry_after_ms, sizeof(h->retry_after_ms), v, vlen);
}

static int tls_cert_problem(CURLcode c)
{
	switch (c) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
		return 1;
	default:
		return 0;
	}
}

int fb_http_curl_error(int curl_code, int is_fetch, const char *what, const char *detail,
		       struct fb_err *err)
{
	CURLcode c = (CURLcode)curl_code;
	if (!detail || !*detail)
		detail = curl_easy_strerror(c);
	if (tls_cert_problem(c)) {
		if (is_fetch)
			return fb_err_set(err, FB_ETRANSPORT, FB_KIND_ITEM,
					  "%s: %s (the download's TLS certificate is not trusted)",
					  what, detail);
		return fb_err_set(err, FB_ETRANSPORT, FB_KIND_BATCH,
				  "%s: %s (the API's TLS certificate cannot be verified; "
				  "--insecure skips the check, for your own test server only)",
				  what, detail);
	}
	switch (c) {
	case CURLE_FILESIZE_EXCEEDED:
		return fb_err_set(err, FB_ETOOBIG, FB_KIND_ITEM, "%s: %s", what, detail);
	case CURLE_UNSUPPORTED_PROTOCOL:
		/* libcurl's "not supported or disabled" reads like a broken build. */
		return fb_err_set(err, FB_ETRANSPORT, FB_KIND_ITEM, "%s: %s%s", what, detail,
				  is_fetch ? " (a download follows redirects over http and https "
					     "only, and an https one over https only)"
					   : "");
	case CURLE_URL_MALFORMAT:
	case CURLE_TOO_MANY_REDIRECTS:
		return fb_err_set(err, FB_ETRANSPORT, FB_KIND_ITEM, "%s: %s", what, detail);
	case CURLE_OUT_OF_MEMORY:
		return fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "%s: %s", what, detail);
	default:
		/* Refused, reset, timed out, an empty or cut answer, a DNS blip. */
		return fb_err_set(err, FB_ETRANSPORT, FB_KIND_RETRYABLE, "%s: %s", what, detail);
	}
}
