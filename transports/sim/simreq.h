/*
 * simreq: how the simulator reads a request: the path's segments, the
 * query string, and the JSON bodies of the create routes (CONTRACT.md §2,
 * §3, §5) with validation in the API's error codes and field paths, the
 * nested route's idempotency_key, and a digest of the body's canonical form
 * so that a retried request can be told from a changed one.
 */
#ifndef FB_SIMREQ_H
#define FB_SIMREQ_H

#include <openssl/evp.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>

#define FB_SIMREQ_DIGEST_LEN 32
/* At most this many fields[] entries are reported; the rest are dropped. */
#define FB_SIMREQ_MAX_FIELDS 16
/* Deeper JSON is refused as invalid_json before it is parsed. */
#define FB_SIMREQ_MAX_DEPTH 32

/* At most this many inputs are kept for the technique's schema check; more are refused. */
#define FB_SIMREQ_MAX_INPUTS 16

/* A run's input as the schema check needs it: truncated names fail that check anyway. */
struct fb_simreq_input {
	char id[48];
	char type[16];
	int empty; /* the value is "" */
};

struct fb_simreq_field {
	char *field;   /* "mode", "inputs.0.type"; owned */
	char *message; /* "Required"; owned */
};

/* Which body: each route has its own members (all additionalProperties:false). */
enum fb_simreq_kind {
	FB_SIMREQ_NESTED_RUN = 0, /* POST /techniques/{id}/runs: inputs[], mode, ... */
	FB_SIMREQ_TOP_RUN,	  /* POST /runs/technique: technique_id, workspace_id, inputs{} */
	FB_SIMREQ_GENERATION,	  /* POST /generate and /runs/generation */
	FB_SIMREQ_ASSET,	  /* POST /assets as JSON */
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
	/* When valid: the parsed body, for the route to read its members; owned.
	 * NULL for FB_SIMREQ_NESTED_RUN, whose members are the two above. */
	yajl_val root;
	/* Set by the caller, or NULL: the SHA-256 for digest (borrowed), so that it is
	 * fetched once rather than on every request. */
	const EVP_MD *md;
	/* When valid: the run's inputs (nested and top-level technique runs), in order;
	 * ninputs FB_SIMREQ_MAX_INPUTS + 1 when there were more. */
	struct fb_simreq_input inputs[FB_SIMREQ_MAX_INPUTS];
	size_t ninputs;
};
/* clang-format off */
#define FB_SIMREQ_INIT {NULL, NULL, NULL, 0, NULL, {0}, NULL, NULL, {{{0}, {0}, 0}}, 0}
/* clang-format on */

/* Keeps one input for the schema check (simreq.c, simreqfast.c). */
void fb_simreq_keep_input(struct fb_simreq *r, const char *id, const char *type, int empty);

/*
 * Reads body (len bytes, need not be NUL-terminated; borrowed for the call)
 * into out (FB_SIMREQ_INIT first; release with fb_simreq_release, also on
 * failure). Returns 0 when out says what the body is (valid or not), or
 * FB_ENOMEM.
 */
int fb_simreq_parse(const char *body, size_t len, struct fb_simreq *out);
/*
 * The same for any kind of body. Besides types and required members it
 * checks id prefixes (workspace_id ws_, project_id prj_, technique_id tech_:
 * prefix plus at least one character, no whitespace), the generation type
 * enum, a non-empty prompt and model, and http(s) callback URLs. Values of
 * /runs/technique inputs must be strings; input ids are not checked
 * against the technique.
 */
int fb_simreq_parse_as(enum fb_simreq_kind kind, const char *body, size_t len,
		       struct fb_simreq *out);
void fb_simreq_release(struct fb_simreq *r);

/*
 * fb_simreq_parse_as with the tree reader alone (simreq.c). The entry
 * points above (simreqfast.c) first read a nested run body of the common
 * shape (strings only, no extra or repeated members) without a tree, and
 * come here for anything else.
 */
int fb_simreq_parse_tree(enum fb_simreq_kind kind, const char *body, size_t len,
			 struct fb_simreq *out);

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

/* Whether s is prefix followed by at least one character, with no whitespace (^ws_\S+$). */
int fb_simreq_has_prefix(const char *s, const char *prefix);

/* A query string, decoded ('+' is a space). At most FB_SIMQUERY_MAX pairs are kept. */
#define FB_SIMQUERY_MAX 16
struct fb_simquery {
	size_t n;
	char *name[FB_SIMQUERY_MAX]; /* point into mem */
	char *value[FB_SIMQUERY_MAX];
	char *mem;
};
/* Parses what follows '?' in path (nothing: no pairs). 0 or FB_ENOMEM; release always. */
int fb_simreq_query(const char *path, struct fb_simquery *q);
/* The first value of name, or NULL. */
const char *fb_simquery_get(const struct fb_simquery *q, const char *name);
void fb_simquery_release(struct fb_simquery *q);

#endif
