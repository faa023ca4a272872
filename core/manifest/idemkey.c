/* idemkey: deterministic idempotency keys from a canonical form of the item. */
#include "idemkey.h"
#include "json.h"
#include "resolve.h"
#include "sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

static int cmp_input(const void *a, const void *b)
{
	const struct fb_input *x = *(const struct fb_input *const *)a;
	const struct fb_input *y = *(const struct fb_input *const *)b;
	int c = strcmp(x->id, y->id);
	return c ? c : strcmp(x->value, y->value);
}

static void gen_str(yajl_gen g, const char *s)
{
	if (s)
		yajl_gen_string(g, (const unsigned char *)s, strlen(s));
	else
		yajl_gen_null(g);
}

static void gen_key(yajl_gen g, const char *k)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
}

static void key_from_digest(const char *hex, char out[FB_IDEMKEY_LEN + 1])
{
	memcpy(out, "fb1-", 4);
	memcpy(out + 4, hex, FB_IDEMKEY_LEN - 4);
	out[FB_IDEMKEY_LEN] = '\0';
}

/* The fields of the top-level routes; the nested route's form predates them and stays as it was. */
static void gen_kind_fields(yajl_gen g, const struct fb_item *it)
{
	gen_key(g, "workspace");
	gen_str(g, it->workspace_id);
	if (it->kind != FB_JOB_GENERATION)
		return;
	gen_key(g, "project");
	gen_str(g, it->project_id);
	gen_key(g, "generation");
	gen_str(g, it->generation);
	gen_key(g, "prompt");
	gen_str(g, it->prompt);
	gen_key(g, "model");
	gen_str(g, it->model);
	gen_key(g, "params");
	if (it->params)
		fb_json_gen_val(g, it->params);
	else
		yajl_gen_null(g);
}

int fb_idemkey_derive(const struct fb_item *it, const char *ns, char out[FB_IDEMKEY_LEN + 1],
		      struct fb_err *err)
{
	const char *technique = fb_resolve_technique(it);
	if (it->kind != FB_JOB_GENERATION && (!technique || !*technique))
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				  "no technique to derive a key from");
	const struct fb_input **sorted = calloc(it->ninputs ? it->ninputs : 1, sizeof(*sorted));
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!sorted || !g) {
		free(sorted);
		if (g)
			yajl_gen_free(g);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	for (size_t i = 0; i < it->ninputs; i++)
		sorted[i] = &it->inputs[i];
	/* Inputs are named, so their order in the manifest is not part of the work. */
	qsort(sorted, it->ninputs, sizeof(*sorted), cmp_input);

	/* The canonical form; "v" versions it, so a change of form changes every key. */
	yajl_gen_map_open(g);
	gen_key(g, "v");
	yajl_gen_integer(g, 1);
	gen_key(g, "kind");
	gen_str(g, fb_job_kind_name(it->kind));
	gen_key(g, "technique");
	gen_str(g, technique);
	gen_key(g, "inputs");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < it->ninputs; i++) {
		yajl_gen_array_open(g);
		gen_str(g, sorted[i]->id);
		gen_str(g, fb_input_type_name(sorted[i]->type));
		/* A local file is its content: a moved or renamed file is the same work. */
		if (sorted[i]->local && sorted[i]->sha256[0]) {
			char v[80];
			snprintf(v, sizeof(v), "sha256:%s", sorted[i]->sha256);
			gen_str(g, v);
		} else {
			gen_str(g, sorted[i]->value);
		}
		yajl_gen_array_close(g);
	}
	yajl_gen_array_close(g);
	gen_key(g, "id");
	gen_str(g, it->id_explicit ? it->id : NULL);
	gen_key(g, "ns");
	gen_str(g, ns && *ns ? ns : NULL);
	if (it->kind != FB_JOB_TECHNIQUE)
		gen_kind_fields(g, it);
	yajl_gen_map_close(g);

	const unsigned char *canon;
	size_t len;
	int rc = 0;
	char hex[FB_SHA256_HEX_LEN + 1];
	if (yajl_gen_get_buf(g, &canon, &len) != yajl_gen_status_ok)
		rc = fb_err_set(err, FB_EINVAL, FB_KIND_ITEM,
				"cannot derive a key: an input is not valid UTF-8");
	else if (fb_sha256_hex(canon, len, hex))
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	else
		key_from_digest(hex, out);
	yajl_gen_free(g);
	free(sorted);
	return rc;
}

int fb_idemkey_attempt(const char *key, unsigned attempt, char out[FB_IDEMKEY_LEN + 1])
{
	if (attempt <= 1) {
		snprintf(out, FB_IDEMKEY_LEN + 1, "%s", key);
		return 0;
	}
	char tmp[FB_IDEMKEY_LEN + 32];
	char hex[FB_SHA256_HEX_LEN + 1];
	int n = snprintf(tmp, sizeof(tmp), "%s#%u", key, attempt);
	if (fb_sha256_hex(tmp, (size_t)n, hex))
		return FB_ENOMEM;
	key_from_digest(hex, out);
	return 0;
}
