/*
 * apiasset: the asset routes' answers (CONTRACT.md section 5), read the
 * same way by every transport: the reservation, complete and GET answers
 * (snake_case or camelCase, bare or wrapped in {"asset":...} or
 * {"data":...}), and the multipart/form-data body an upload sends.
 */
#ifndef FB_APIASSET_H
#define FB_APIASSET_H

#include "buf.h"
#include "error.h"

#include <stddef.h>

struct fb_api_form_field {
	char *name, *value; /* owned */
};

/* A parsed asset answer. All strings owned; NULL when absent. */
struct fb_api_asset {
	char *asset_id;
	char *status; /* pending_upload, ready, failed (lower-cased) */
	char *url;
	char *failure_message;
	char *upload_url;		  /* upload.url: the multipart target */
	char *upload_method;		  /* upload.method ("POST" when absent) */
	char *file_field;		  /* upload.file_field ("file" when absent) */
	struct fb_api_form_field *fields; /* upload.form_fields, in the answer's order */
	size_t nfields;
	char *put_url; /* upload_url: the raw-PUT fallback target */
};
void fb_api_asset_release(struct fb_api_asset *a);

/*
 * Parses an asset answer (len bytes, not NUL-terminated) into out, which
 * is overwritten first (pass it zeroed or released); the caller releases
 * it with fb_api_asset_release, also on failure. Requires asset_id (also
 * assetId or id) and a status; upload and form_fields values may be
 * strings or numbers. 0, or FB_EPARSE (kind RETRYABLE) / FB_ENOMEM with
 * err set.
 */
int fb_api_parse_asset(const char *body, size_t len, struct fb_api_asset *out, struct fb_err *err);

/*
 * Appends to out the multipart/form-data body for an upload, as a browser's
 * FormData writes it: a's form fields in order, then the file part named
 * a->file_field with file_name and content_type (NULL: application/
 * octet-stream). boundary must not occur in data (callers pick a random
 * one). *ctype (caller frees) is the Content-Type header value. 0,
 * FB_EINVAL (a name with a quote, CR or LF) or FB_ENOMEM with err set.
 */
int fb_api_multipart_body(const struct fb_api_asset *a, const char *file_name,
			  const char *content_type, const void *data, size_t len,
			  const char *boundary, struct fb_buf *out, char **ctype,
			  struct fb_err *err);

#endif
