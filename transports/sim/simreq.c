/* simreq: request paths, and validation and canonical digest of create bodies. */
#include "simreq.h"
#include "buf.h"
#include "error.h"
#include "item.h"
#include "json.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

static const char *type_word(yajl_val v)
{
	if (YAJL_IS_STRING(v))
		return "string";
	if (YAJL_IS_NUMBER(v))
		return "number";
	if (YAJL_IS_OBJECT(v))
		return "object";
	if (YAJL_IS_ARRAY(v))
		return "array";
	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
		return "boolean";
	return "null";
}

/* Records one field problem; past FB_SIMREQ_MAX_FIELDS it only marks the body invalid. */
static int add_field(struct fb_simreq *r, const char *field, const char *msg)
{
	r->error_code = "input_validation_error";
	if (r->nfields >= FB_SIMREQ_MAX_FIELDS)
		return 0;
	struct fb_simreq_field *f = realloc(r->fields, (r->nfields + 1) * sizeof(*f));
	if (!f)
		return FB_ENOMEM;
	r->fields = f;
	f[r->nfields].field = fb_strdup(field);
	f[r->nfields].message = fb_strdup(msg);
	if (!f[r->nfields].field || !f[r->nfields].message) {
		free(f[r->nfields].field);
		free(f[r->nfields].message);
		return FB_ENOMEM;
	}
	r->nfields++;
	return 0;
}

static int add_fieldf(struct fb_simreq *r, const char *field, const char *fmt, const char *arg)
{
	struct fb_buf b = FB_BUF_INIT;
	int rc = fb_buf_addf(&b, fmt, arg);
	if (!rc)
		rc = add_field(r, field, fb_buf_str(&b));
	fb_buf_release(&b);
	return rc;
}

static yajl_val obj_get(yajl_val obj, const char *key)
{
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (!strcmp(obj->u.object.keys[i], key))
			return obj->u.object.values[i];
	return NULL;
}

/* A required or optional string member; checks an enum when allowed is given. */
static int check_string(struct fb_simreq *r, yajl_val obj, const char *key, const char *path,
			int required, const char *const *allowed, const char *allowed_text)
{
	yajl_val v = obj_get(obj, key);
	if (!v)
		return required ? add_field(r, path, "Required") : 0;
	if (!YAJL_IS_STRING(v))
		return add_fieldf(r, path, "Expected string, received %s", type_word(v));
	if (!allowed)
		return 0;
	for (; *allowed; allowed++)
		if (!strcmp(*allowed, v->u.string))
			return 0;
	struct fb_buf b = FB_BUF_INIT;
	int rc = fb_buf_addf(&b, "Invalid enum value. Expected %s, received '%s'", allowed_text,
			     v->u.string);
	if (!rc)
		rc = add_field(r, path, fb_buf_str(&b));
	fb_buf_release(&b);
	return rc;
}

void fb_simreq_keep_input(struct fb_simreq *r, const char *id, const char *type, int empty)
{
	if (r->ninputs >= FB_SIMREQ_MAX_INPUTS) {
		r->ninputs = FB_SIMREQ_MAX_INPUTS + 1;
		return;
	}
	struct fb_simreq_input *in = &r->inputs[r->ninputs++];
	snprintf(in->id, sizeof(in->id), "%s", id ? id : "");
	snprintf(in->type, sizeof(in->type), "%s", type ? type : "");
	in->empty = empty;
}

static int check_inputs(struct fb_simreq *r, yajl_val inputs)
{
	static const char *const types[] = {"text", "imageUrl", "videoUrl", NULL};
	if (!inputs)
		return add_field(r, "inputs", "Required");
	if (!YAJL_IS_ARRAY(inputs))
		return add_fieldf(r, "inputs", "Expected array, received %s", type_word(inputs));
	if (inputs->u.array.len == 0)
		return add_field(r, "inputs", "Array must contain at least 1 element(s)");
	for (size_t i = 0; i < inputs->u.array.len; i++) {
		yajl_val in = inputs->u.array.values[i];
		char path[64];
		int rc;
		snprintf(path, sizeof(path), "inputs.%zu", i);
		if (!YAJL_IS_OBJECT(in)) {
			if ((rc = add_fieldf(r, path, "Expected object, received %s",
					     type_word(in))))
				return rc;
			continue;
		}
		/* Input items do not forbid other members in the spec, so extras pass. */
		char sub[80];
		snprintf(sub, sizeof(sub), "%s.id", path);
		if ((rc = check_string(r, in, "id", sub, 1, NULL, NULL)))
			return rc;
		snprintf(sub, sizeof(sub), "%s.type", path);
		if ((rc = check_string(r, in, "type", sub, 1, types,
				       "'text' | 'imageUrl' | 'videoUrl'")))
			return rc;
		snprintf(sub, sizeof(sub), "%s.value", path);
		if ((rc = check_string(r, in, "value", sub, 1, NULL, NULL)))
			return rc;
		const char *v = fb_json_get_str(in, "value");
		fb_simreq_keep_input(r, fb_json_get_str(in, "id"), fb_json_get_str(in, "type"),
				     v && !*v);
	}
	return 0;
}

static int validate(struct fb_simreq *r, yajl_val root)
{
	static const char *const known[] = {"inputs", "mode", "callback_url", "idempotency_key"};
	static const char *const modes[] = {"async", "stream", NULL};
	int rc;
	/* additionalProperties:false */
	for (size_t i = 0; i < root->u.object.len; i++) {
		const char *k = root->u.object.keys[i];
		size_t j = 0;
		while (j < sizeof(known) / sizeof(known[0]) && strcmp(k, known[j]))
			j++;
		if (j == sizeof(known) / sizeof(known[0]) &&
		    (rc = add_field(r, k, "Unrecognized key")))
			return rc;
	}
	if ((rc = check_inputs(r, obj_get(root, "inputs"))))
		return rc;
	if ((rc = check_string(r, root, "mode", "mode", 1, modes, "'async' | 'stream'")))
		return rc;
	yajl_val cb = obj_get(root, "callback_url");
	if (cb && YAJL_IS_STRING(cb) && !fb_is_http_url(cb->u.string)) {
		if ((rc = add_field(r, "callback_url", "Invalid url")))
			return rc;
	} else if ((rc = check_string(r, root, "callback_url", "callback_url", 0, NULL, NULL))) {
		return rc;
	}
	return check_string(r, root, "idempotency_key", "idempotency_key", 0, NULL, NULL);
}

/* A member of a top-level create body. */
struct fspec {
	const char *name;
	enum { F_STRING, F_NONEMPTY, F_OBJECT, F_URL, F_INPUTS } type;
	int required;
	const char *prefix; /* F_STRING: an id with this prefix */
	const char *const *allowed;
	const char *allowed_text;
};

static const char *const gen_types[] = {"image", "video", "audio", "text", NULL};

static const struct fspec top_run[] = {
    {"technique_id", F_STRING, 1, "tech_", NULL, NULL},
    {"workspace_id", F_STRING, 1, "ws_", NULL, NULL},
    {"inputs", F_INPUTS, 1, NULL, NULL, NULL},
    {NULL, F_STRING, 0, NULL, NULL, NULL},
};
static const struct fspec generation[] = {
    {"type", F_STRING, 1, NULL, gen_types, "'image' | 'video' | 'audio' | 'text'"},
    {"prompt", F_NONEMPTY, 1, NULL, NULL, NULL},
    {"workspace_id", F_STRING, 1, "ws_", NULL, NULL},
    {"project_id", F_STRING, 1, "prj_", NULL, NULL},
    {"model", F_NONEMPTY, 0, NULL, NULL, NULL},
    {"params", F_OBJECT, 0, NULL, NULL, NULL},
    {"callback_url", F_URL, 0, NULL, NULL, NULL},
    {NULL, F_STRING, 0, NULL, NULL, NULL},
};
/* project_id is not in the split spec's reservation body, but the SDK sends it. */
static const struct fspec asset[] = {
    {"source", F_STRING, 1, NULL, NULL, NULL},	  {"workspace_id", F_STRING, 1, "ws_", NULL, NULL},
    {"folder", F_STRING, 0, NULL, NULL, NULL},	  {"content_type", F_STRING, 0, NULL, NULL, NULL},
    {"file_name", F_STRING, 0, NULL, NULL, NULL}, {"project_id", F_STRING, 0, "prj_", NULL, NULL},
    {NULL, F_STRING, 0, NULL, NULL, NULL},
};

int fb_simreq_has_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(s, prefix, n) || !s[n])
		return 0;
	for (; *s; s++)
		if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
			return 0;
	return 1;
}

static int check_member(struct fb_simreq *r, const struct fspec *f, yajl_val v)
{
	char path[96];
	switch (f->type) {
	case F_OBJECT:
		return YAJL_IS_OBJECT(v)
			   ? 0
			   : add_fieldf(r, f->name, "Expected object, received %s", type_word(v));
	case F_INPUTS:
		if (!YAJL_IS_OBJECT(v))
			return add_fieldf(r, f->name, "Expected object, received %s", type_word(v));
		for (size_t i = 0; i < v->u.object.len; i++) {
			yajl_val in = v->u.object.values[i];
			int rc;
			snprintf(path, sizeof(path), "inputs.%.80s", v->u.object.keys[i]);
			if (!YAJL_IS_STRING(in) &&
			    (rc = add_fieldf(r, path, "Expected string, received %s",
					     type_word(in))))
				return rc;
			/* The object form names no type: the technique's declared one holds. */
			if (YAJL_IS_STRING(in))
				fb_simreq_keep_input(r, v->u.object.keys[i], NULL, !*in->u.string);
		}
		return 0;
	default:
		break;
	}
	if (!YAJL_IS_STRING(v))
		return add_fieldf(r, f->name, "Expected string, received %s", type_word(v));
	const char *s = v->u.string;
	if (f->type == F_NONEMPTY && !*s)
		return add_field(r, f->name, "String must contain at least 1 character(s)");
	if (f->type == F_URL && !fb_is_http_url(s))
		return add_field(r, f->name, "Invalid url");
	if (f->prefix && !fb_simreq_has_prefix(s, f->prefix))
		return add_fieldf(r, f->name, "Invalid ID: expected %s followed by the ID",
				  f->prefix);
	if (f->allowed) {
		const char *const *a = f->allowed;
		while (*a && strcmp(*a, s))
			a++;
		if (!*a) {
			struct fb_buf b = FB_BUF_INIT;
			int rc = fb_buf_addf(&b, "Invalid enum value. Expected %s, received '%s'",
					     f->allowed_text, s);
			if (!rc)
				rc = add_field(r, f->name, fb_buf_str(&b));
			fb_buf_release(&b);
			return rc;
		}
	}
	return 0;
}

static int validate_spec(struct fb_simreq *r, yajl_val root, const struct fspec *spec)
{
	int rc;
	for (size_t i = 0; i < root->u.object.len; i++) {
		const struct fspec *f = spec;
		while (f->name && strcmp(f->name, root->u.object.keys[i]))
			f++;
		if (!f->name && (rc = add_field(r, root->u.object.keys[i], "Unrecognized key")))
			return rc;
	}
	for (const struct fspec *f = spec; f->name; f++) {
		yajl_val v = obj_get(root, f->name);
		if (!v)
			rc = f->required ? add_field(r, f->name, "Required") : 0;
		else
			rc = check_member(r, f, v);
		if (rc)
			return rc;
	}
	return 0;
}

struct member {
	const char *key;
	yajl_val val;
	size_t pos; /* tie-break for duplicate keys, so the order is total */
};

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Emits v with every object's keys sorted; skip names a top-level key to leave out. */
static int gen_canonical(yajl_gen g, yajl_val v, const char *skip)
{
	int bad = 0;
	if (YAJL_IS_OBJECT(v)) {
		size_t n = v->u.object.len;
		struct member *m = malloc((n ? n : 1) * sizeof(*m));
		if (!m)
			return FB_ENOMEM;
		for (size_t i = 0; i < n; i++)
			m[i] = (struct member){v->u.object.keys[i], v->u.object.values[i], i};
		qsort(m, n, sizeof(*m), member_cmp);
		bad |= yajl_gen_map_open(g) != yajl_gen_status_ok;
		for (size_t i = 0; i < n && !bad; i++) {
			if (skip && !strcmp(m[i].key, skip))
				continue;
			bad |= yajl_gen_string(g, (const unsigned char *)m[i].key,
					       strlen(m[i].key)) != yajl_gen_status_ok;
			bad |= gen_canonical(g, m[i].val, NULL) != 0;
		}
		free(m);
		bad |= yajl_gen_map_close(g) != yajl_gen_status_ok;
	} else if (YAJL_IS_ARRAY(v)) {
		bad |= yajl_gen_array_open(g) != yajl_gen_status_ok;
		for (size_t i = 0; i < v->u.array.len && !bad; i++)
			bad |= gen_canonical(g, v->u.array.values[i], NULL) != 0;
		bad |= yajl_gen_array_close(g) != yajl_gen_status_ok;
	} else if (YAJL_IS_STRING(v)) {
		bad |= yajl_gen_string(g, (const unsigned char *)v->u.string,
				       strlen(v->u.string)) != yajl_gen_status_ok;
	} else if (YAJL_IS_NUMBER(v)) {
		bad |=
		    yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r)) != yajl_gen_status_ok;
	} else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		bad |= yajl_gen_bool(g, YAJL_IS_TRUE(v)) != yajl_gen_status_ok;
	} else {
		bad |= yajl_gen_null(g) != yajl_gen_status_ok;
	}
	return bad ? FB_ENOMEM : 0;
}

static int digest(yajl_val root, const EVP_MD *md, unsigned char out[FB_SIMREQ_DIGEST_LEN])
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return FB_ENOMEM;
	int rc = gen_canonical(g, root, "idempotency_key");
	const unsigned char *buf;
	size_t len;
	unsigned int mdlen = 0;
	if (!rc && (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok ||
		    !EVP_Digest(buf, len, out, &mdlen, md ? md : EVP_sha256(), NULL) ||
		    mdlen != FB_SIMREQ_DIGEST_LEN))
		rc = FB_ENOMEM;
	yajl_gen_free(g);
	return rc;
}

/* The envelope's message: "field: message" for each problem, as the spec's example shows. */
static int join_fields(struct fb_simreq *r)
{
	struct fb_buf b = FB_BUF_INIT;
	for (size_t i = 0; i < r->nfields; i++)
		if (fb_buf_addf(&b, "%s%s: %s", i ? "; " : "", r->fields[i].field,
				r->fields[i].message)) {
			fb_buf_release(&b);
			return FB_ENOMEM;
		}
	r->message = fb_buf_detach(&b, NULL);
	return r->message ? 0 : FB_ENOMEM;
}

static int set_invalid_json(struct fb_simreq *r, const char *why)
{
	r->error_code = "invalid_json";
	r->message = fb_strdup(why);
	return r->message ? 0 : FB_ENOMEM;
}

int fb_simreq_parse_tree(enum fb_simreq_kind kind, const char *body, size_t len,
			 struct fb_simreq *out)
{
	static const struct fspec *const specs[] = {NULL, top_run, generation, asset};
	if (!body)
		len = 0;
	if (len && memchr(body, '\0', len))
		return set_invalid_json(out, "Request body is not valid JSON.");
	if (!fb_json_depth_ok(body, len, FB_SIMREQ_MAX_DEPTH))
		return set_invalid_json(out, "Request body is nested too deeply.");
	char *copy = malloc(len + 1);
	if (!copy)
		return FB_ENOMEM;
	if (len)
		memcpy(copy, body, len);
	copy[len] = '\0';
	yajl_val root = yajl_tree_parse(copy, NULL, 0);
	free(copy);
	int rc;
	if (!root) {
		rc = set_invalid_json(out, "Request body is not valid JSON.");
	} else if (!YAJL_IS_OBJECT(root)) {
		rc = set_invalid_json(out, "Request body must be a JSON object.");
	} else {
		rc = kind == FB_SIMREQ_NESTED_RUN ? validate(out, root)
						  : validate_spec(out, root, specs[kind]);
		if (!rc && out->error_code)
			rc = join_fields(out);
		if (!rc && !out->error_code) {
			yajl_val k =
			    kind == FB_SIMREQ_NESTED_RUN ? obj_get(root, "idempotency_key") : NULL;
			if (k && !(out->idempotency_key = fb_strdup(k->u.string)))
				rc = FB_ENOMEM;
			if (!rc)
				rc = digest(root, out->md, out->digest);
			if (!rc && kind != FB_SIMREQ_NESTED_RUN) {
				out->root = root; /* kept for the route to read */
				root = NULL;
			}
		}
	}
	yajl_tree_free(root);
	return rc;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes %XX in place (and '+' as a space in a query); a malformed or %00 escape stays. */
static void percent_decode(char *s, int plus)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		int hi, lo;
		if (plus && *p == '+') {
			*w++ = ' ';
		} else if (*p == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0 &&
			   (hi || lo)) {
			*w++ = (char)(hi * 16 + lo);
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
}

int fb_simreq_split_path(const char *base_url, const char *path, char **mem, char **seg,
			 size_t maxseg)
{
	size_t blen = strlen(base_url);
	*mem = NULL;
	if (blen && !strncmp(path, base_url, blen))
		path += blen;
	if (*path != '/')
		return 0;
	size_t len = strcspn(path, "?#");
	char *s = malloc(len + 1);
	if (!s)
		return FB_ENOMEM;
	memcpy(s, path, len);
	s[len] = '\0';
	*mem = s;
	size_t n = 0;
	for (char *p = s + 1;; n++) {
		if (n == maxseg)
			return 0;
		seg[n] = p;
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		percent_decode(seg[n], 0);
		if (!*seg[n])
			return 0; /* "//" or a trailing slash */
		if (!slash)
			return (int)n + 1;
		p = slash + 1;
	}
}

void fb_simreq_release(struct fb_simreq *r)
{
	for (size_t i = 0; i < r->nfields; i++) {
		free(r->fields[i].field);
		free(r->fields[i].message);
	}
	free(r->fields);
	free(r->message);
	free(r->idempotency_key);
	yajl_tree_free(r->root);
	const EVP_MD *md = r->md;
	*r = (struct fb_simreq)FB_SIMREQ_INIT;
	r->md = md;
}

int fb_simreq_query(const char *path, struct fb_simquery *q)
{
	memset(q, 0, sizeof(*q));
	const char *qs = strchr(path, '?');
	if (!qs)
		return 0;
	qs++;
	size_t len = strcspn(qs, "#");
	if (!(q->mem = malloc(len + 1)))
		return FB_ENOMEM;
	memcpy(q->mem, qs, len);
	q->mem[len] = '\0';
	for (char *p = q->mem; *p && q->n < FB_SIMQUERY_MAX;) {
		char *amp = strchr(p, '&');
		if (amp)
			*amp = '\0';
		if (*p) {
			char *eq = strchr(p, '=');
			if (eq)
				*eq = '\0';
			q->name[q->n] = p;
			q->value[q->n] = eq ? eq + 1 : p + strlen(p);
			percent_decode(q->name[q->n], 1);
			percent_decode(q->value[q->n], 1);
			q->n++;
		}
		if (!amp)
			break;
		p = amp + 1;
	}
	return 0;
}

const char *fb_simquery_get(const struct fb_simquery *q, const char *name)
{
	for (size_t i = 0; i < q->n; i++)
		if (!strcmp(q->name[i], name))
			return q->value[i];
	return NULL;
}

void fb_simquery_release(struct fb_simquery *q)
{
	free(q->mem);
	memset(q, 0, sizeof(*q));
}
