/*
 * apiasset: reading asset answers and writing the upload's multipart body
 * (see apiasset.h). Reading is liberal in the way api.c is: either
 * casing, ids given as numbers, the object wrapped or not.
 */
#include "apiasset.h"
#include "apijson.h"
#include "item.h"

#include <stdlib.h>
#include <string.h>

void fb_api_asset_release(struct fb_api_asset *a)
{
	if (!a)
		return;
	free(a->asset_id);
	free(a->status);
	free(a->url);
	free(a->failure_message);
	free(a->upload_url);
	free(a->upload_method);
	free(a->file_field);
	for (size_t i = 0; i < a->nfields; i++) {
		free(a->fields[i].name);
		free(a->fields[i].value);
	}
	free(a->fields);
	free(a->put_url);
	memset(a, 0, sizeof(*a));
}

/* Copies the first of names that obj has as a string or number; 0 or FB_ENOMEM. */
static int take(yajl_val obj, const char *const *names, char **dst)
{
	const char *s = fb_apijson_str_or_num(fb_apijson_get_any(obj, names));
	if (!s)
		return 0;
	return (*dst = fb_strdup(s)) ? 0 : FB_ENOMEM;
}

static int take_upload(yajl_val up, struct fb_api_asset *out)
{
	static const char *const url[] = {"url", NULL}, *const method[] = {"method", NULL},
				 *const field[] = {"file_field", "fileField", NULL},
				 *const forms[] = {"form_fields", "formFields", "fields", NULL};
	if (take(up, url, &out->upload_url) || take(up, method, &out->upload_method) ||
	    take(up, field, &out->file_field))
		return FB_ENOMEM;
	yajl_val f = fb_apijson_get_any(up, forms);
	if (!YAJL_IS_OBJECT(f) || !f->u.object.len)
		return 0;
	size_t n = f->u.object.len;
	if (!(out->fields = calloc(n, sizeof(*out->fields))))
		return FB_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *v = fb_apijson_str_or_num(f->u.object.values[i]);
		if (!v) /* a null or nested value: nothing a form could carry */
			continue;
		struct fb_api_form_field *ff = &out->fields[out->nfields++];
		if (!(ff->name = fb_strdup(f->u.object.keys[i])) || !(ff->value = fb_strdup(v)))
			return FB_ENOMEM;
	}
	return 0;
}

int fb_api_parse_asset(const char *body, size_t len, struct fb_api_asset *out, struct fb_err *err)
{
	static const char *const ids[] = {"asset_id", "assetId", "id", NULL},
				 *const status[] = {"status", NULL}, *const url[] = {"url", NULL},
				 *const failure[] = {"failure_message", "failureMessage", NULL},
				 *const put[] = {"upload_url", "uploadUrl", NULL},
				 *const wraps[] = {"asset", "data", NULL};
	memset(out, 0, sizeof(*out));
	int nomem;
	yajl_val root = fb_apijson_parse(body, len, &nomem), a = root;
	if (!root)
		return nomem ? fb_apijson_oom(err)
			     : fb_apijson_fail(err, body, len, "asset answer is not JSON");
	yajl_val w = fb_apijson_get_any(root, wraps);
	if (YAJL_IS_OBJECT(w) && !fb_apijson_get_any(root, ids))
		a = w;
	int rc = 0;
	if (!YAJL_IS_OBJECT(a))
		rc = fb_apijson_fail(err, body, len, "asset answer is not an object");
	else if (take(a, ids, &out->asset_id) || take(a, status, &out->status) ||
		 take(a, url, &out->url) || take(a, failure, &out->failure_message) ||
		 take(a, put, &out->put_url))
		rc = fb_apijson_oom(err);
	else if (!out->asset_id || !*out->asset_id)
		rc = fb_apijson_fail(err, body, len, "asset answer has no asset_id");
	else if (!out->status)
		rc = fb_apijson_fail(err, body, len, "asset answer has no status");
	if (!rc) {
		for (char *p = out->status; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		yajl_val up = fb_apijson_get(a, "upload");
		if (YAJL_IS_OBJECT(up) && take_upload(up, out))
			rc = fb_apijson_oom(err);
	}
	yajl_tree_free(root);
	return rc;
}

/* A name that would break out of its quoted header parameter. */
static int bad_name(const char *s)
{
	return s && strpbrk(s, "\"\r\n") != NULL;
}

int fb_api_multipart_body(const struct fb_api_asset *a, const char *file_name,
			  const char *content_type, const void *data, size_t len,
			  const char *boundary, struct fb_buf *out, char **ctype,
			  struct fb_err *err)
{
	const char *field = a->file_field && *a->file_field ? a->file_field : "file";
	*ctype = NULL;
	int bad = bad_name(field) || bad_name(file_name) || bad_name(content_type);
	for (size_t i = 0; i < a->nfields; i++)
		bad |= bad_name(a->fields[i].name) || bad_name(a->fields[i].value);
	if (bad)
		return fb_err_set(
		    err, FB_EINVAL, FB_KIND_ITEM,
		    "upload: a form field or file name holds a quote or a line break");
	int rc = 0;
	for (size_t i = 0; !rc && i < a->nfields; i++)
		rc = fb_buf_addf(
		    out, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n",
		    boundary, a->fields[i].name, a->fields[i].value);
	rc = rc ||
	     fb_buf_addf(out,
			 "--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
			 "Content-Type: %s\r\n\r\n",
			 boundary, field, file_name ? file_name : "upload",
			 content_type && *content_type ? content_type
						       : "application/octet-stream") ||
	     (len && fb_buf_add(out, data, len)) || fb_buf_addf(out, "\r\n--%s--\r\n", boundary);
	struct fb_buf ct = FB_BUF_INIT;
	if (!rc && (fb_buf_addf(&ct, "multipart/form-data; boundary=%s", boundary) ||
		    !(*ctype = fb_buf_detach(&ct, NULL))))
		rc = 1;
	fb_buf_release(&ct);
	return rc ? fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "out of memory") : 0;
}
