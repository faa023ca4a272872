/*
 * apitech: the technique catalog's answers (CONTRACT.md section 4), read
 * as liberally as runs are (see api.h): either casing, a technique bare or
 * wrapped, the cost as a number or a string of one. Answers are a few
 * kilobytes, so a tree is read, after a depth check.
 */
#include "api.h"
#include "apijson.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

static int take(yajl_val obj, const char *const *names, char **dst)
{
	const char *s = fb_apijson_str_or_num(fb_apijson_get_any(obj, names));
	if (!s)
		return 0;
	*dst = fb_strdup(s);
	return *dst ? 0 : FB_ENOMEM;
}

static int fill_field(yajl_val v, int input, const char *where, size_t i,
		      struct fb_technique_field *f, struct fb_err *err)
{
	static const char *const k_id[] = {"id", NULL}, *const k_name[] = {"name", NULL};
	static const char *const k_type[] = {"type", NULL};
	static const char *const k_desc[] = {"description", NULL};
	if (!YAJL_IS_OBJECT(v))
		return fb_apijson_fail(err, NULL, 0, "technique's %s[%zu] is not an object", where,
				       i);
	if (take(v, k_id, &f->id) || take(v, k_name, &f->name) || take(v, k_type, &f->type) ||
	    take(v, k_desc, &f->description))
		return fb_apijson_oom(err);
	if (!f->id || !*f->id)
		return fb_apijson_fail(err, NULL, 0, "technique's %s[%zu] has no id", where, i);
	/* The contract's schema lists no such member; the SDK's optional says it. */
	yajl_val opt = fb_apijson_get(v, "optional"), req = fb_apijson_get(v, "required");
	f->required = !input ? 0 : YAJL_IS_TRUE(opt) ? 0 : req ? YAJL_IS_TRUE(req) : 1;
	return 0;
}

static int fill_fields(yajl_val obj, const char *where, int input, struct fb_technique_field **out,
		       size_t *n, struct fb_err *err)
{
	yajl_val a = fb_apijson_get(obj, where);
	if (!a)
		return 0;
	if (!YAJL_IS_ARRAY(a))
		return fb_apijson_fail(err, NULL, 0, "technique's %s is not an array", where);
	if (!a->u.array.len)
		return 0;
	*out = calloc(a->u.array.len, sizeof(**out));
	if (!*out)
		return fb_apijson_oom(err);
	for (size_t i = 0; i < a->u.array.len; i++) {
		(*n)++; /* released whole, even half-filled */
		int rc = fill_field(a->u.array.values[i], input, where, i, &(*out)[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

static int fill(yajl_val v, struct fb_technique *t, struct fb_err *err)
{
	static const char *const k_id[] = {"technique_id", "techniqueId", "id", NULL};
	static const char *const k_name[] = {"name", NULL}, *const k_desc[] = {"description", NULL};
	static const char *const k_cost[] = {"run_cost", "runCost", NULL};
	memset(t, 0, sizeof(*t));
	if (!YAJL_IS_OBJECT(v))
		return fb_apijson_fail(err, NULL, 0, "the technique is not an object");
	if (take(v, k_id, &t->technique_id) || take(v, k_name, &t->name) ||
	    take(v, k_desc, &t->description))
		return fb_apijson_oom(err);
	if (!t->technique_id || !*t->technique_id)
		return fb_apijson_fail(err, NULL, 0, "the technique has no technique_id");
	const char *cost = fb_apijson_str_or_num(fb_apijson_get_any(v, k_cost));
	if (cost) {
		char *end;
		double d = strtod(cost, &end);
		if (end == cost || *end || !isfinite(d) || d < 0)
			return fb_apijson_fail(err, cost, strlen(cost),
					       "the technique's run_cost is not a price");
		t->has_cost = 1;
		t->run_cost = d;
	}
	int rc = fill_fields(v, "inputs", 1, &t->inputs, &t->ninputs, err);
	return rc ? rc : fill_fields(v, "outputs", 0, &t->outputs, &t->noutputs, err);
}

/* The body as a tree (an object) into *out: 0, or FB_EPARSE / FB_ENOMEM with err. */
static int parse(const char *body, size_t len, yajl_val *out, struct fb_err *err)
{
	int nomem = 0;
	*out = NULL;
	if (body && fb_json_depth_ok(body, len, MAX_DEPTH))
		*out = fb_apijson_parse(body, len, &nomem);
	if (YAJL_IS_OBJECT(*out))
		return 0;
	yajl_tree_free(*out);
	*out = NULL;
	return nomem ? fb_apijson_oom(err)
		     : fb_apijson_fail(err, body, body ? len : 0, "answer is not a JSON object");
}

int fb_api_parse_technique(const char *body, size_t len, struct fb_technique *out,
			   struct fb_err *err)
{
	static const char *const wraps[] = {"technique", "data", NULL};
	yajl_val v;
	memset(out, 0, sizeof(*out));
	int rc = parse(body, len, &v, err);
	if (rc)
		return rc;
	yajl_val inner = fb_apijson_get_any(v, wraps);
	rc =
	    fill(YAJL_IS_OBJECT(inner) && !fb_apijson_get(v, "technique_id") ? inner : v, out, err);
	yajl_tree_free(v);
	return rc;
}

int fb_api_parse_techniques(const char *body, size_t len, struct fb_technique **list, size_t *n,
			    char **next_cursor, struct fb_err *err)
{
	static const char *const arrays[] = {"techniques", "data", "items", NULL};
	static const char *const cursors[] = {"next_cursor", "nextCursor", NULL};
	*list = NULL;
	*n = 0;
	*next_cursor = NULL;
	yajl_val v;
	int rc = parse(body, len, &v, err);
	if (rc)
		return rc;
	yajl_val a = fb_apijson_get_any(v, arrays);
	if (!YAJL_IS_ARRAY(a))
		rc = fb_apijson_fail(err, body, len, "answer has no techniques array");
	if (!rc && a->u.array.len && !(*list = calloc(a->u.array.len, sizeof(**list))))
		rc = fb_apijson_oom(err);
	for (size_t i = 0; !rc && i < a->u.array.len; i++) {
		(*n)++;
		if ((rc = fill(a->u.array.values[i], &(*list)[i], err)) == FB_EPARSE && err) {
			char msg[FB_ERR_MSG_MAX];
			snprintf(msg, sizeof(msg), "%s", err->msg);
			fb_apijson_fail(err, NULL, 0, "techniques[%zu]: %s", i, msg);
		}
	}
	const char *cur =
	    fb_apijson_str_or_num(fb_apijson_get_any(fb_apijson_get(v, "meta"), cursors));
	if (!rc && cur && *cur && !(*next_cursor = fb_strdup(cur)))
		rc = fb_apijson_oom(err);
	yajl_tree_free(v);
	if (rc) {
		fb_technique_list_free(*list, *n);
		*list = NULL;
		*n = 0;
	}
	return rc;
}

void fb_api_catalog_parse(const char *body, size_t len, int one, struct fb_catalog_reply *r,
			  struct fb_api_catalog *keep)
{
	char *cursor = NULL;
	memset(keep, 0, sizeof(*keep));
	keep->is_one = one;
	if (one) {
		r->ok = !fb_api_parse_technique(body, len, &keep->one, &r->err);
		r->techniques = r->ok ? &keep->one : NULL;
		r->ntechniques = (size_t)r->ok;
	} else {
		r->ok = !fb_api_parse_techniques(body, len, &r->techniques, &r->ntechniques,
						 &cursor, &r->err);
		r->next_cursor = keep->cursor = cursor;
	}
	if (!r->ok)
		r->err.http_status = r->http_status;
}

void fb_api_catalog_release(struct fb_catalog_reply *r, struct fb_api_catalog *keep)
{
	if (keep->is_one)
		fb_technique_release(&keep->one);
	else
		fb_technique_list_free(r->techniques, r->ntechniques);
	free(keep->cursor);
	r->techniques = NULL;
	r->ntechniques = 0;
	r->next_cursor = NULL;
}
