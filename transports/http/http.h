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
 * http.c owns the transport and sits on top: httpupload.c (asset uploads)
 * and httpcatalog.c (the technique catalog) below it; below them
 * httpdone.c (a finished transfer to its callback) and httpreq.c (each
 * request up to its transfer's end); httpmsg.c the pure parts below all
 * (URLs, origins, Retry-After, what a libcurl error means).
 */
#ifndef FB_HTTP_H
#define FB_HTTP_H

#include "buf.h"
#include "httpmsg.h"
#include "log.h"
#include "transport.h"

#include <stdint.h>

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

/* The pure parts (URLs, origins, Retry-After, headers, libcurl's errors) are httpmsg.h's. */

#endif
