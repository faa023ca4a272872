/*
 * simreq: how the simulator reads a request: the path's segments, and a
 * create body (POST /techniques/{id}/runs, CONTRACT.md §2) with validation
 * in the API's error codes and field paths, the body's idempotency_key, and
 * a digest of the body's canonical form so that a retried request can be
 * told from a changed one.
 */
#ifndef FB_SIMREQ_H
#define FB_SIMREQ_H

#include <stddef.h>

#define FB_SIMREQ_DIGEST_LEN 32
/* At most this many fields[] entries are reported; the rest are dropped. */
#define FB_SIMREQ_MAX_FIELDS 16
/* Deeper JSON is refused as invalid_json before it is parsed. */
#define FB_SIMREQ_MAX_DEPTH 32

struct fb_simreq_field {
	char *field;   /* "mode", "inputs.0.type"; owned */
	char *message; /* "Required"; owned */
};

struct fb_simreq {
	/* NULL when the body is valid; else "invalid_json" or "input_validation_error" (static). */
	const char *error_code;
	char *message; /* when error_code: the envelope's message; owned */
	struct fb_simreq_field *fields;
	size_t nfields;
	char *idempotency_key; /* the body's idempotency_key, or NULL; owned */
	/*
	 * When valid: SHA-256 of the body with object keys sorted and
	 * idempotency_key left out, since the key may travel in the header
	 * instead and is not part of what the request asks for.
	 */
	unsigned char digest[FB_SIMREQ_DIGEST_LEN];
};
/* clang-format off */
#define FB_SIMREQ_INIT {NULL, NULL, NULL, 0, NULL, {0}}
/* clang-format on */

/*
 * Reads body (len bytes, need not be NUL-terminated; borrowed for the call)
 * into out (FB_SIMREQ_INIT first; release with fb_simreq_release, also on
 * failure). Returns 0 when out says what the body is (valid or not), or
 * FB_ENOMEM.
 */
int fb_simreq_parse(const char *body, size_t len, struct fb_simreq *out);
void fb_simreq_release(struct fb_simreq *r);

/*
 * Splits a request path into its decoded segments: path is relative
 * ("/techniques/x/runs") or an absolute URL under base_url; the query and
 * fragment are dropped. seg[] points into *mem (caller frees, also when 0
 * is returned). Returns the number of segments, 0 for a path that cannot
 * be a route (not under base_url, empty segments, more than maxseg), or
 * FB_ENOMEM.
 */
int fb_simreq_split_path(const char *base_url, const char *path, char **mem, char **seg,
			 size_t maxseg);

#endif
