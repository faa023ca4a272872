/* jsonl: the JSON Lines manifest reader (one object per line, one line at a time). */
#include "jsonl.h"
#include "buf.h"
#include "json.h"
#include "utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * yajl_tree frees recursively, so a line of a million '[' would exhaust
 * the stack; no manifest line needs to nest this deep.
 */
#define MAX_DEPTH 64

struct jsonl {
	struct fb_src *src; /* borrowed */
	const char *name;   /* borrowed */
	uint64_t line;	    /* physical line of the next byte */
	uint64_t seq;
	struct fb_buf buf;
};

int fb_jsonl_open(void **state, struct fb_src *src, const char *name, struct fb_err *err)
{
	struct jsonl *r = calloc(1, sizeof(*r));

	*state = NULL;
	if (!r)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	r->src = src;
	r->name = name;
	r->line = 1;
	*state = r;
	return 0;
}

static void jsonl_free(void *state)
{
	struct jsonl *r = state;
	if (!r)
		return;
	fb_buf_release(&r->buf);
	free(r);
}

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r", s[i]))
			return 0;
	return 1;
}

/*
 * Reads the next non-blank line into r->buf, without its line end. Past
 * FB_MANIFEST_MAX_RECORD bytes it stops storing and only looks for the
 * newline. 1: a line (*too_long set when it was cut); 0: the end;
 * FB_ENOMEM or FB_EIO on failure.
 */
static int read_line(struct jsonl *r, uint64_t *first, int *too_long)
{
	for (;;) {
		size_t raw = 0;
		int c = fb_src_getc(r->src);

		fb_buf_reset(&r->buf);
		*too_long = 0;
		*first = r->line;
		if (c == EOF)
			return fb_src_error(r->src) ? FB_EIO : 0;
		for (; c != EOF && c != '\n'; c = fb_src_getc(r->src)) {
			if (raw++ >= FB_MANIFEST_MAX_RECORD)
				*too_long = 1;
			else if (fb_buf_addc(&r->buf, (char)c))
				return FB_ENOMEM;
		}
		if (fb_src_error(r->src))
			return FB_EIO;
		r->line++;
		if (*too_long)
			return 1;
		if (r->buf.len && r->buf.ptr[r->buf.len - 1] == '\r')
			r->buf.ptr[--r->buf.len] = '\0';
		if (!blank(fb_buf_str(&r->buf), r->buf.len))
			return 1;
	}
}

static const char *kind_of(yajl_val v)
{
	if (YAJL_IS_STRING(v))
		return "a string";
	if (YAJL_IS_NUMBER(v))
		return "a number";
	if (YAJL_IS_OBJECT(v))
		return "an object";
	if (YAJL_IS_ARRAY(v))
		return "an array";
	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
		return "a boolean";
	return "null";
}

/*
 * yajl's message spans three lines: the words, the text around the error,
 * and a caret. Makes it "words (near: text)" for a one-line message.
 */
static void condense(char *msg, size_t cap)
{
	char head[256] = "", near[256] = "";
	char *nl = strchr(msg, '\n');
	char *ctx = nl ? nl + 1 : NULL;

	if (nl)
		*nl = '\0';
	snprintf(head, sizeof(head), "%s", msg);
	if (ctx) {
		char *end = strchr(ctx, '\n');
		if (end)
			*end = '\0';
		while (*ctx == ' ')
			ctx++;
		snprintf(near, sizeof(near), "%s", ctx);
		size_t k = strlen(near);
		while (k && near[k - 1] == ' ')
			near[--k] = '\0';
	}
	size_t n = strlen(head);
	while (n && (head[n - 1] == '.' || head[n - 1] == ' '))
		head[--n] = '\0';
	/* The text is cut at byte counts, possibly inside a character. */
	int valid = fb_utf8_valid(near, strlen(near), 0, NULL);
	for (char *p = near; *p; p++)
		if ((unsigned char)*p < 0x20 || (!valid && (unsigned char)*p >= 0x80))
			*p = '?';
	if (*near)
		snprintf(msg, cap, "%s (near: %s)", head, near);
	else
		snprintf(msg, cap, "%s", head);
}

static yajl_val get(yajl_val obj, const char *key)
{
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (!strcmp(obj->u.object.keys[i], key))
			return obj->u.object.values[i];
	return NULL;
}

static int duplicate_input(struct fb_item *it, const char *field)
{
	const char *id = it->inputs[it->ninputs - 1].id;
	for (size_t i = 0; i + 1 < it->ninputs; i++)
		if (!strcmp(it->inputs[i].id, id))
			return fb_item_set_invalid(
			    it, field, "field \"%s\": input \"%s\" appears twice", field, id);
	return 0;
}

static int inputs_object(struct fb_item *it, yajl_val obj, struct fb_buf *field)
{
	for (size_t i = 0; i < obj->u.object.len && !it->invalid; i++) {
		const char *key = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];
		size_t had = it->ninputs;
		int rc;

		fb_buf_reset(field);
		if (fb_buf_addf(field, "inputs.%s", key))
			return FB_ENOMEM;
		if (!*key)
			return fb_item_set_invalid(it, "inputs",
						   "field \"inputs\": an input has an empty name");
		if (YAJL_IS_NULL(v))
			continue;
		if (!YAJL_IS_STRING(v))
			return fb_item_set_invalid(it, field->ptr,
						   "field \"%s\": expected a string, got %s",
						   field->ptr, kind_of(v));
		rc = fb_manifest_item_input(it, "field", field->ptr, key,
					    fb_input_type_infer(v->u.string), 0, v->u.string);
		if (!rc && it->ninputs > had)
			rc = duplicate_input(it, field->ptr);
		if (rc)
			return rc;
	}
	return 0;
}

/* The string member key of input i, or NULL after marking the item invalid. */
static const char *member(struct fb_item *it, yajl_val in, size_t i, const char *key,
			  struct fb_buf *field, int *rc)
{
	yajl_val v = get(in, key);
	fb_buf_reset(field);
	if (fb_buf_addf(field, "inputs[%zu].%s", i, key)) {
		*rc = FB_ENOMEM;
		return NULL;
	}
	if (YAJL_IS_STRING(v))
		return v->u.string;
	*rc = fb_item_set_invalid(it, field->ptr, "field \"%s\": expected a string, got %s",
				  field->ptr, v ? kind_of(v) : "nothing");
	return NULL;
}

static int inputs_array(struct fb_item *it, yajl_val arr, struct fb_buf *field)
{
	for (size_t i = 0; i < arr->u.array.len && !it->invalid; i++) {
		yajl_val in = arr->u.array.values[i];
		enum fb_input_type type;
		const char *id, *tname, *value;
		size_t had = it->ninputs;
		int rc = 0;

		if (!YAJL_IS_OBJECT(in)) {
			fb_buf_reset(field);
			if (fb_buf_addf(field, "inputs[%zu]", i))
				return FB_ENOMEM;
			return fb_item_set_invalid(it, field->ptr,
						   "field \"%s\": expected an object {\"id\", "
						   "\"type\", \"value\"}, got %s",
						   field->ptr, kind_of(in));
		}
		if (!(id = member(it, in, i, "id", field, &rc)))
			return rc;
		if (!*id)
			return fb_item_set_invalid(it, field->ptr, "field \"%s\": empty",
						   field->ptr);
		if (!(tname = member(it, in, i, "type", field, &rc)))
			return rc;
		if (fb_input_type_parse(tname, &type))
			return fb_item_set_invalid(
			    it, field->ptr,
			    "field \"%s\": unknown input type \"%s\" (expected "
			    "text, imageUrl, videoUrl, audioUrl or documentUrl)",
			    field->ptr, tname);
		if (!(value = member(it, in, i, "value", field, &rc)))
			return rc;
		rc = fb_manifest_item_input(it, "field", field->ptr, id, type, 1, value);
		if (!rc && it->ninputs > had)
			rc = duplicate_input(it, field->ptr);
		if (rc)
			return rc;
	}
	return 0;
}

/* An optional string field into *dst; null or absent leave it NULL. */
static int opt_string(struct fb_item *it, yajl_val obj, const char *key, char **dst)
{
	yajl_val v = get(obj, key);
	if (YAJL_IS_STRING(v)) {
		if (*v->u.string && !(*dst = fb_strdup(v->u.string)))
			return FB_ENOMEM;
		return 0;
	}
	if (v && !YAJL_IS_NULL(v))
		return fb_item_set_invalid(it, key, "field \"%s\": expected a string, got %s", key,
					   kind_of(v));
	return 0;
}

/* Reads id, the job fields and inputs from the line's object. */
static int fill_from_object(struct fb_item *it, yajl_val obj)
{
	yajl_val id = get(obj, "id"), inputs = get(obj, "inputs"), params = get(obj, "params");
	struct fb_buf field = FB_BUF_INIT;
	int rc;

	if (YAJL_IS_STRING(id))
		rc = fb_manifest_item_id(it, id->u.string);
	else if (YAJL_IS_INTEGER(id))
		rc = fb_manifest_item_id(it, id->u.number.r);
	else
		rc = fb_manifest_item_id(it, NULL);
	if (rc)
		return rc;
	if (id && !YAJL_IS_NULL(id) && !YAJL_IS_STRING(id) && !YAJL_IS_INTEGER(id))
		return fb_item_set_invalid(
		    it, "id", "field \"id\": expected a string or an integer, got %s", kind_of(id));
	if ((rc = opt_string(it, obj, "technique", &it->technique)) ||
	    (rc = opt_string(it, obj, "technique_id", &it->technique_id)) ||
	    (rc = opt_string(it, obj, "workspace_id", &it->workspace_id)) ||
	    (rc = opt_string(it, obj, "project_id", &it->project_id)) ||
	    (rc = opt_string(it, obj, "generation", &it->generation)) ||
	    (rc = opt_string(it, obj, "prompt", &it->prompt)) ||
	    (rc = opt_string(it, obj, "model", &it->model)) || it->invalid)
		return rc;
	if (YAJL_IS_OBJECT(params))
		it->params = params; /* borrowed from it->json */
	else if (params && !YAJL_IS_NULL(params))
		return fb_item_set_invalid(
		    it, "params", "field \"params\": expected an object, got %s", kind_of(params));
	if (YAJL_IS_OBJECT(inputs))
		rc = inputs_object(it, inputs, &field);
	else if (YAJL_IS_ARRAY(inputs))
		rc = inputs_array(it, inputs, &field);
	else if (inputs && !YAJL_IS_NULL(inputs))
		rc = fb_item_set_invalid(it, "inputs",
					 "field \"inputs\": expected an object or an array, got %s",
					 kind_of(inputs));
	/* Whether the item needs inputs depends on its kind: resolve.c decides. */
	fb_buf_release(&field);
	return rc;
}

static int parse_line(struct jsonl *r, struct fb_item *it)
{
	const char *s = fb_buf_str(&r->buf);
	size_t n = r->buf.len;
	char msg[1024];

	if (memchr(s, '\0', n))
		return fb_item_set_invalid(it, NULL, "line contains a NUL byte");
	if (!fb_utf8_valid(s, n, 0, NULL))
		return fb_item_set_invalid(it, NULL,
					   "not valid UTF-8 (save the manifest as UTF-8)");
	if (!fb_json_depth_ok(s, n, MAX_DEPTH))
		return fb_item_set_invalid(it, NULL, "JSON nested deeper than %d levels",
					   MAX_DEPTH);
	msg[0] = '\0';
	yajl_val v = yajl_tree_parse(s, msg, sizeof(msg));
	if (!v) {
		condense(msg, sizeof(msg));
		return fb_item_set_invalid(it, NULL, "not valid JSON: %s",
					   *msg ? msg : "parse error");
	}
	if (!YAJL_IS_OBJECT(v)) {
		int rc = fb_item_set_invalid(it, NULL,
					     "expected a JSON object such as {\"inputs\": {...}}, "
					     "got %s",
					     kind_of(v));
		yajl_tree_free(v);
		return rc;
	}
	it->json = v;
	return fill_from_object(it, v);
}

static int jsonl_next(void *state, struct fb_item *it, struct fb_err *err)
{
	struct jsonl *r = state;
	uint64_t first;
	int too_long;
	int rc = read_line(r, &first, &too_long);

	if (rc == FB_EIO)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s:%llu: cannot read manifest: %s",
				  r->name, (unsigned long long)r->line,
				  strerror(fb_src_error(r->src)));
	if (rc < 0)
		return fb_err_set(err, rc, FB_KIND_BATCH, "out of memory");
	if (rc == 0)
		return 0;
	r->seq++;
	rc = fb_manifest_item_begin(it, r->name, first, r->seq);
	if (!rc && too_long) {
		rc = fb_manifest_item_id(it, NULL);
		if (!rc)
			rc = fb_item_set_invalid(it, NULL, "line too long: over %u bytes",
						 FB_MANIFEST_MAX_RECORD);
	} else if (!rc) {
		rc = parse_line(r, it);
		if (!rc && !it->id)
			rc = fb_manifest_item_id(it, NULL);
	}
	if (rc) {
		fb_item_release(it);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	return 1;
}

const struct fb_reader_ops fb_jsonl_reader = {
    .name = "jsonl",
    .next = jsonl_next,
    .free = jsonl_free,
};
