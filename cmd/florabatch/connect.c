/* connect: a transport from the command line's choice, the key read without leaking it. */
#include "connect.h"
#include "apikey.h"

#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "scheme://host[:port]" of url into out (empty when url has no such prefix). */
static void origin_of(const char *url, char *out, size_t n)
{
	const char *p = strstr(url, "://");
	size_t len =
	    p ? (size_t)(strchr(p + 3, '/') ? strchr(p + 3, '/') - url : (long)strlen(url)) : 0;
	snprintf(out, n, "%.*s", (int)len, url);
}

static int open_http(const struct fb_connect *c, struct fb_log *log, char *origin,
		     size_t origin_len, struct fb_transport **t)
{
	char key[1024];
	struct fb_err err = {0};
	if (fb_apikey_load(c->api_key_file, key, sizeof(key)))
		return -1;
	const char *base = c->base_url ? c->base_url : getenv("FLORA_BASE_URL");
	if (c->insecure)
		fb_log_msg(log, FB_LOG_WARN,
			   "--insecure: TLS certificates are not checked; use it only for a "
			   "test server of your own");
	origin_of(base && *base ? base : FB_HTTP_DEFAULT_BASE_URL, origin, origin_len);
	struct fb_http_config hc = {
	    .base_url = base && *base ? base : NULL,
	    .api_key = key,
	    .insecure = c->insecure,
	    .max_output_bytes = c->max_output_bytes,
	    .request_timeout_ms = c->request_timeout_ms,
	    .stall_timeout_ms = c->stall_timeout_ms,
	    .log = log,
	};
	int rc = fb_http_transport_new(t, &hc, &err);
	memset(key, 0, sizeof(key)); /* the transport keeps its own copy */
	if (rc) {
		fprintf(stderr, "florabatch: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int fb_connect_check(const char *transport, const char *base_url, const char *api_key_file,
		     int insecure)
{
	if (!strcmp(transport, "sim") && (base_url || api_key_file || insecure)) {
		fputs("florabatch: --base-url, --api-key-file and --insecure go with --transport "
		      "http\n",
		      stderr);
		return -1;
	}
	return 0;
}

int fb_connect_open(const struct fb_connect *c, struct fb_clock *clock, struct fb_log *log,
		    char *origin, size_t origin_len, struct fb_transport **t)
{
	struct fb_err err = {0};
	*t = NULL;
	if (!strcmp(c->transport, "http"))
		return open_http(c, log, origin, origin_len, t);
	snprintf(origin, origin_len, "sim://api");
	if (fb_sim_transport_new(t, c->sim, clock, &err)) {
		fprintf(stderr, "florabatch: simulator: %s\n", err.msg);
		return -1;
	}
	return 0;
}
