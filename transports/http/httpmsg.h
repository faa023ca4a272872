/*
 * httpmsg: the pure parts of the http transport, public for tests: URLs
 * and origins, Retry-After, the answer's headers, what a libcurl error
 * means. No state, no libcurl handle; http.h includes this header.
 */
#ifndef FB_HTTPMSG_H
#define FB_HTTPMSG_H

#include "buf.h"
#include "error.h"

#include <stddef.h>
#include <time.h>

/*
 * Whether s starts with "http://" or "https://" (any case): a URL to use
 * as is rather than a path under the base URL.
 */
int fb_http_is_absolute(const char *s);
/*
 * Whether s names a place other than a path on the API's host: a scheme
 * ("file:", "ftp:", "gopher:", any RFC 3986 scheme) or a network path ("//host").
 */
int fb_http_names_elsewhere(const char *s);

/*
 * Appends to out the URL a request path goes to: an absolute URL as is; a
 * path that already starts with the base URL's own path ("/api/v1/...",
 * as a server may give a poll_url) under the base URL's origin; any other
 * path under the base URL, with exactly one '/' between them. base_url
 * may end in '/'. 0 or FB_ENOMEM.
 */
int fb_http_join_url(struct fb_buf *out, const char *base_url, const char *path);

/* How much of a URL a message shows (fb_http_url_shown). */
#define FB_HTTP_URL_SHOWN_MAX 160

/*
 * Appends url (or a request path) to out as a message or log line shows
 * it: without a user name or password, which are never printed; without
 * its query and fragment, where a signature or token may live; control
 * characters as '?'; and cut after FB_HTTP_URL_SHOWN_MAX bytes with
 * "...", so that a 10 kB URL cannot push the reason out of a message.
 * 0 or FB_ENOMEM.
 */
int fb_http_url_shown(struct fb_buf *out, const char *url);
/* Whether url's authority carries a user name or password ("http://u:p@host/x"). */
int fb_http_has_userinfo(const char *url);

/*
 * 1 when url and base_url have the same scheme, host and port (default
 * ports filled in, case ignored), 0 when they differ or either does not
 * parse: only then may the API key go to url.
 */
int fb_http_same_origin(const char *url, const char *base_url);

/*
 * The delay an answer asks for, in ms, from its header values (each NULL
 * when absent): retry-after-ms (float ms) wins over Retry-After
 * (seconds, possibly fractional, or an HTTP-date measured from now).
 * Fractions round up; a date in the past gives 0; a value that parses as
 * neither counts as absent. -1 when absent.
 */
long fb_http_retry_after_ms(const char *retry_after, const char *retry_after_ms, time_t now);

/* The answer's headers florabatch reads: printable ASCII, cut to fit, "" when absent. */
struct fb_http_headers {
	char request_id[128];
	char retry_after[64];
	char retry_after_ms[64];
};

/*
 * Reads one header line as libcurl hands it over (len bytes, not
 * NUL-terminated, CRLF included) into h. A status line ("HTTP/...")
 * starts a new answer (after a 100 Continue or a redirect) and clears h.
 * Other lines are ignored. Never fails: a header is outside input.
 */
void fb_http_header_line(struct fb_http_headers *h, const char *line, size_t len);

/*
 * Fills err for a request that got no complete HTTP answer: curl_code is
 * its CURLcode, what says which request ("POST /techniques/x/runs"),
 * detail is libcurl's message. TLS certificate problems are kind BATCH for
 * API requests (retrying cannot help; the message names --insecure, for a
 * user's own test server only) and ITEM for downloads (another host's
 * certificate); a size limit gives FB_ETOOBIG (ITEM); a bad URL, scheme or
 * too many redirects FB_ETRANSPORT (ITEM); out of memory FB_ENOMEM
 * (RETRYABLE); everything else (refused, reset, timed out, empty or cut
 * answer, DNS) FB_ETRANSPORT (RETRYABLE). Returns err->code.
 */
int fb_http_curl_error(int curl_code, int is_fetch, const char *what, const char *detail,
		       struct fb_err *err);

#endif
