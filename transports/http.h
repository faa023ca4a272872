/*
 * http: the transport that talks to the real FLORA API over HTTP(S) with
 * libcurl's multi interface: one thread, event driven, connections kept
 * alive and shared (HTTP/2 multiplexing where the server offers it), so a
 * thousand requests in flight is routine. Requests are built and answers
 * read by api.c, the very code the sim transport uses.
 *
 * The API key goes only to the API's own origin (the base URL's scheme,
 * host and port): a poll_url elsewhere is refused, output downloads never
 * carry it, and no message or log line ever contains it.
 *
 * http.c owns the transport, httpreq.c each request up to its transfer's
 * end, httpdone.c the finished transfer, httpmsg.c the pure parts below
 * them (URLs, origins, Retry-After, what a libcurl error means).
 */
#ifndef FB_HTTP_H
#define FB_HTTP_H

#include "buf.h"
#include "log.h"
#include "transport.h"

#include <stdint.h>
#include <time.h>

#define FB_HTTP_DEFAULT_BASE_URL "https://app.flora.ai/api/v1"

struct fb_http_config {
	/* "https://app.flora.ai/api/v1" when NULL; copied; a trailing '/' is tolerated */
	const char *base_url;
	/* bearer token; copied; never logged. NULL or "": no Authorization header */
	const char *api_key;
	/*
	 * 1: skip TLS verification (a user's own test server only). The
	 * transport does not warn: whoever sets it tells the user (the CLI
	 * prints a warning).
	 */
	int insecure;
	uint64_t connect_timeout_ms; /* default 10 s */
	uint64_t request_timeout_ms; /* API requests, total; default 20 s */
	uint64_t fetch_timeout_ms;   /* output downloads, total; default 10 min */
	/*
	 * Any request whose bytes move slower than 100 a second for this long
	 * (a server that accepts and never answers, or trickles a byte a
	 * second) is cut: a retryable timeout. Default 15 s.
	 */
	uint64_t stall_timeout_ms;
	/* per download: a larger one aborts with FB_ETOOBIG (kind ITEM); 0 = no limit */
	uint64_t max_output_bytes;
	unsigned max_host_connections; /* per host; 0 = unlimited */
	const char *user_agent;	       /* default "florabatch/<FB_VERSION>"; copied */
	/* may be NULL; borrowed for the transport's lifetime. Failed requests are
	 * logged at debug level, with their request-id when there is one. */
	struct fb_log *log;
};

/*
 * A transport for the API at cfg->base_url (http or https; no query or
 * fragment). 0 and *out set (free with fb_transport_free), or FB_EINVAL
 * (a base URL that is not http(s), an API key or user agent with control
 * characters) / FB_ENOMEM with err set (kind BATCH).
 *
 * Besides transport.h's contract: every callback (fb_fetch_data_cb
 * included) may start new requests, but must not call step() or free the
 * transport. fetch() sends no Authorization header, follows at most 5
 * redirects, and only over http and https. An absolute poll_url whose
 * origin differs from the base URL's makes get_run fail with FB_EINVAL
 * (kind ITEM) without sending anything.
 */
int fb_http_transport_new(struct fb_transport **out, const struct fb_http_config *cfg,
			  struct fb_err *err);

/* ---- the pure parts (httpmsg.c), public for tests ---- */

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
