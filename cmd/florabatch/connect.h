/*
 * connect: the transport a command reaches the API through: the FLORA API
 * over http, with the key from apikey.h and the base URL from the options
 * or the environment, or the built-in simulator. Shared by `run` and
 * `techniques`.
 */
#ifndef FB_CONNECT_H
#define FB_CONNECT_H

#include "clock.h"
#include "log.h"
#include "sim.h"
#include "transport.h"

#include <stddef.h>
#include <stdint.h>

struct fb_connect {
	const char *transport;	   /* "sim" or "http" */
	const char *base_url;	   /* http: --base-url, else $FLORA_BASE_URL, else the API's */
	const char *api_key_file;  /* http: --api-key-file, else $FLORA_API_KEY */
	int insecure;		   /* http: TLS certificates not checked (warned on the log) */
	uint64_t max_output_bytes; /* http: the largest download accepted */
	uint64_t request_timeout_ms, stall_timeout_ms; /* http: 0 for the defaults (http.h) */
	const struct fb_sim_config *sim; /* sim: how the simulator behaves (borrowed) */
};

/*
 * Whether the options go together: --base-url, --api-key-file and
 * --insecure only with --transport http. 0, or -1 after a message on stderr.
 */
int fb_connect_check(const char *transport, const char *base_url, const char *api_key_file,
		     int insecure);

/*
 * Opens the transport into *t (free with fb_transport_free). origin gets
 * the API's "scheme://host[:port]" ("sim://api" for the simulator), the
 * host whose downloads share the API's rate limit. clock and log are
 * borrowed for the transport's life. 0, or -1 after a message on stderr
 * (no key, a key file others can read, a bad base URL) that never shows
 * the key.
 */
int fb_connect_open(const struct fb_connect *c, struct fb_clock *clock, struct fb_log *log,
		    char *origin, size_t origin_len, struct fb_transport **t);

#endif
