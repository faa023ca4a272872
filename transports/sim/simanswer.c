/* simanswer: JSON bodies of the simulated API's answers. */
#include "simanswer.h"
#include "error.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fb_simjw_start(struct fb_simjw *w, int camel)
{
	w->bad = 0;
	w->camel = camel;
	w->borrowed = 0;
	w->sink = NULL;
	w->g = fb_json_gen_new();
	return w->g ? 0 : FB_ENOMEM;
}

static void sink_print(void *ctx, const char *s, size_t len)
{
	struct fb_simjw_sink *k = ctx;
	struct fb_buf *b = &k->buf;
	if (b->len + len >= b->cap && fb_buf_grow(b, len)) {
		k->nomem = 1;
		return;
	}
	char *d = b->ptr + b->len;
	if (len <= 8) /* separators, quotes, short keys: not worth a call */
		for (size_t i = 0; i < len; i++)
			d[i] = s[i];
	else
		memcpy(d, s, len);
	b->len += len;
	b->ptr[b->len] = '\0';
}

yajl_gen fb_simjw_gen_new(struct fb_simjw_sink *sink)
{
	yajl_gen g = fb_json_gen_new();
	if (!g)
		return NULL;
	yajl_gen_config(g, yajl_gen_validate_utf8, 0);
	yajl_gen_config(g, yajl_gen_print_callback, sink_print, (void *)sink);
	return g;
}

void fb_simjw_reuse(struct fb_simjw *w, yajl_gen g, struct fb_simjw_sink *sink, int camel)
{
	yajl_gen_reset(g, NULL); /* whatever an earlier answer left, failed or not */
	fb_buf_reset(&sink->buf);
	sink->nomem = 0;
	w->bad = 0;
	w->camel = camel;
	w->borrowed = 1;
	w->sink = sink;
	w->g = g;
}

void fb_simjw_key(struct fb_simjw *w, const char *snake)
{
	char camel[64];
	size_t n = 0;
	if (!w->camel) { /* schema names are ASCII literals: nothing to check */
		w->bad |= yajl_gen_string(w->g, (const unsigned char *)snake, strlen(snake)) !=
			  yajl_gen_status_ok;
		return;
	}
	for (const char *p = snake; *p && n + 1 < sizeof(camel); p++) {
		if (*p == '_' && p[1] >= 'a' && p[1] <= 'z')
			camel[n++] = (char)(*++p - 'a' + 'A');
		else
			camel[n++] = *p;
	}
	w->bad |= yajl_gen_string(w->g, (const unsigned char *)camel, n) != yajl_gen_status_ok;
}

void fb_simjw_datakey(struct fb_simjw *w, const char *key)
{
	w->bad |= fb_json_gen_key(w->g, key) != 0;
}

void fb_simjw_str(struct fb_simjw *w, const char *s)
{
	w->bad |= fb_json_gen_str(w->g, s) != 0;
}

void fb_simjw_ascii(struct fb_simjw *w, const char *s, size_t len)
{
	w->bad |= yajl_gen_string(w->g, (const unsigned char *)s, len) != yajl_gen_status_ok;
}

/* Writes v's decimal digits ending just before end; returns where they start. */
static char *digits(char *end, unsigned long long v)
{
	do
		*--end = (char)('0' + v % 10);
	while (v /= 10);
	return end;
}

void fb_simjw_int(struct fb_simjw *w, long long v)
{
	char num[24], *end = num + sizeof(num);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	char *p = digits(end, u);
	if (v < 0)
		*--p = '-';
	w->bad |= yajl_gen_number(w->g, p, (size_t)(end - p)) != yajl_gen_status_ok;
}

/*
 * yajl_gen_double would print 0.873 as 0.87299999…, so the text is made
 * here: "%.3f" with the trailing zeros cut. Costs are whole thousandths
 * (quotes, and final costs rounded to them), which are written from the
 * integer count of thousandths; anything else takes printf.
 */
void fb_simjw_cost(struct fb_simjw *w, double v)
{
	char num[48];
	int n;
	double k = v * 1000.0;
	if (!signbit(v) && k < 1e15 && fabs(k - nearbyint(k)) < 1e-6) {
		unsigned long long t = (unsigned long long)nearbyint(k);
		char *end = num + sizeof(num), *p = end;
		unsigned frac = (unsigned)(t % 1000);
		if (frac) {
			int len = 3;
			while (frac % 10 == 0) {
				frac /= 10;
				len--;
			}
			for (int i = 0; i < len; i++, frac /= 10)
				*--p = (char)('0' + frac % 10);
			*--p = '.';
		}
		p = digits(p, t / 1000);
		w->bad |= yajl_gen_number(w->g, p, (size_t)(end - p)) != yajl_gen_status_ok;
		return;
	}
	n = snprintf(num, sizeof(num), "%.3f", v);
	if (n < 0 || n >= (int)sizeof(num)) {
		w->bad = 1;
		return;
	}
	while (num[n - 1] == '0')
		n--;
	if (num[n - 1] == '.')
		n--;
	w->bad |= yajl_gen_number(w->g, num, (size_t)n) != yajl_gen_status_ok;
}

void fb_simjw_bool(struct fb_simjw *w, int v)
{
	w->bad |= yajl_gen_bool(w->g, v) != yajl_gen_status_ok;
}

void fb_simjw_null(struct fb_simjw *w)
{
	w->bad |= yajl_gen_null(w->g) != yajl_gen_status_ok;
}

void fb_simjw_open(struct fb_simjw *w, int array)
{
	yajl_gen_status st = array ? yajl_gen_array_open(w->g) : yajl_gen_map_open(w->g);
	w->bad |= st != yajl_gen_status_ok;
}

void fb_simjw_close(struct fb_simjw *w, int array)
{
	yajl_gen_status st = array ? yajl_gen_array_close(w->g) : yajl_gen_map_close(w->g);
	w->bad |= st != yajl_gen_status_ok;
}

int fb_simjw_finish(struct fb_simjw *w, struct fb_buf *out)
{
	int rc;
	if (w->sink) {
		rc =
		    w->bad || w->sink->nomem || fb_buf_add(out, w->sink->buf.ptr, w->sink->buf.len);
		fb_buf_reset(&w->sink->buf);
	} else {
		rc = w->bad ? FB_ENOMEM : fb_json_gen_take(w->g, out);
	}
	if (!w->borrowed)
		yajl_gen_free(w->g);
	w->g = NULL;
	return rc ? FB_ENOMEM : 0;
}

/* Names a careless client would turn into a path outside its folder, or worse. */
static const char *const hostile_ids[] = {
    "../../etc/passwd",
    "/abs/path",
    "a\nb\tc",
    "..",
    NULL /* 300 characters */,
    "CON",
    "name with spaces/and:colons",
};
#define NHOSTILE    (sizeof(hostile_ids) / sizeof(hostile_ids[0]))
#define LONG_ID_LEN 300

int fb_simanswer_output_id(unsigned long hostile_from, unsigned n, struct fb_buf *out)
{
	if (!hostile_from)
		return fb_buf_addf(out, "out_%u", n);
	unsigned long k = hostile_from - 1 + n - 1;
	const char *id = hostile_ids[k % NHOSTILE];
	int rc = 0;
	if (id) {
		rc = fb_buf_adds(out, id);
	} else {
		rc = fb_buf_adds(out, "long-");
		for (size_t i = 5; i < LONG_ID_LEN && !rc; i++)
			rc = fb_buf_addc(out, (char)('a' + i % 26));
	}
	unsigned pass = (n - 1) / (unsigned)NHOSTILE + 1;
	if (!rc && pass > 1)
		rc = fb_buf_addf(out, "~%u", pass);
	return rc;
}

int fb_simanswer_pct_segment(const char *s, struct fb_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '~';
		/* '.' too: ".." as a path segment would be resolved away by the client. */
		char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
		if (plain ? fb_buf_addc(out, (char)*p) : fb_buf_add(out, e, 3))
			return FB_ENOMEM;
	}
	return 0;
}

/* A string of the view: as is when the view says its strings are clean, else checked. */
static void view_str(struct fb_simjw *w, const struct fb_simrun_view *v, const char *s)
{
	if (v->clean && s)
		fb_simjw_ascii(w, s, strlen(s));
	else
		fb_simjw_str(w, s);
}

/* Output n's id and URL, out_N at output_base/out_N.ext; most URLs fit on the stack. */
static void plain_output(struct fb_simjw *w, const struct fb_simrun_view *v, unsigned n)
{
	char num[16], *end = num + sizeof(num), *p = digits(end, n);
	char oid[24] = "out_", small[256];
	size_t olen = 4 + (size_t)(end - p);
	memcpy(oid + 4, p, (size_t)(end - p));
	const char *ext = v->output_ext ? v->output_ext : "png";
	size_t blen = strlen(v->output_base), elen = strlen(ext);
	size_t ulen = blen + 1 + olen + 1 + elen;
	char *url = ulen < sizeof(small) ? small : malloc(ulen + 1);
	if (!url) {
		w->bad = 1;
		return;
	}
	memcpy(url, v->output_base, blen);
	url[blen] = '/';
	memcpy(url + blen + 1, oid, olen);
	url[blen + 1 + olen] = '.';
	memcpy(url + blen + 2 + olen, ext, elen + 1);
	fb_simjw_open(w, 0);
	fb_simjw_key(w, "output_id");
	fb_simjw_ascii(w, oid, olen);
	fb_simjw_key(w, "type");
	view_str(w, v, v->output_type ? v->output_type : "imageUrl");
	fb_simjw_key(w, "url");
	if (v->clean)
		fb_simjw_ascii(w, url, ulen);
	else
		fb_simjw_str(w, url);
	fb_simjw_close(w, 0);
	if (url != small)
		free(url);
}

static void hostile_output(struct fb_simjw *w, const struct fb_simrun_view *v, unsigned n,
			   struct fb_buf *url, struct fb_buf *oid)
{
	fb_buf_reset(oid);
	fb_buf_reset(url);
	w->bad |= fb_simanswer_output_id(v->hostile_from, n, oid) != 0 ||
		  fb_buf_addf(url, "%s/", v->output_base) != 0 ||
		  fb_simanswer_pct_segment(fb_buf_str(oid), url) != 0;
	fb_simjw_open(w, 0);
	fb_simjw_key(w, "output_id");
	fb_simjw_str(w, fb_buf_str(oid));
	fb_simjw_key(w, "type");
	view_str(w, v, v->output_type ? v->output_type : "imageUrl");
	fb_simjw_key(w, "url");
	fb_simjw_str(w, fb_buf_str(url));
	fb_simjw_close(w, 0);
}

void fb_simanswer_run_members(struct fb_simjw *w, const struct fb_simrun_view *v)
{
	fb_simjw_key(w, "run_id");
	view_str(w, v, v->run_id);
	fb_simjw_key(w, "status");
	view_str(w, v, v->status);
	fb_simjw_key(w, "progress");
	fb_simjw_int(w, v->progress);
	fb_simjw_key(w, "created_at");
	fb_simjw_int(w, (long long)v->created_at);
	if (v->started_at) {
		fb_simjw_key(w, "started_at");
		fb_simjw_int(w, (long long)v->started_at);
	}
	if (v->completed_at) {
		fb_simjw_key(w, "completed_at");
		fb_simjw_int(w, (long long)v->completed_at);
	}
	fb_simjw_key(w, "charged_cost");
	fb_simjw_cost(w, v->charged_cost);
	if (v->error_code) {
		fb_simjw_key(w, "error_code");
		view_str(w, v, v->error_code);
		fb_simjw_key(w, "error_message");
		view_str(w, v, v->error_message ? v->error_message : "");
	}
	if (v->noutputs) {
		struct fb_buf url = FB_BUF_INIT, oid = FB_BUF_INIT;
		fb_simjw_key(w, "outputs");
		fb_simjw_open(w, 1);
		for (unsigned i = 1; i <= v->noutputs && !w->bad; i++) {
			if (v->hostile_from)
				hostile_output(w, v, i, &url, &oid);
			else
				plain_output(w, v, i);
		}
		fb_simjw_close(w, 1);
		fb_buf_release(&url);
		fb_buf_release(&oid);
	}
	if (v->poll_url) {
		fb_simjw_key(w, "poll_url");
		view_str(w, v, v->poll_url);
	}
	if (v->estimated_seconds >= 0) {
		fb_simjw_key(w, "estimated_seconds");
		fb_simjw_int(w, v->estimated_seconds);
	}
}

int fb_simanswer_run(const struct fb_simrun_view *v, int camel, struct fb_buf *out)
{
	struct fb_simjw w;
	if (fb_simjw_start(&w, camel))
		return FB_ENOMEM;
	fb_simjw_open(&w, 0);
	fb_simanswer_run_members(&w, v);
	fb_simjw_close(&w, 0);
	return fb_simjw_finish(&w, out);
}

int fb_simanswer_created(const struct fb_simcreated_view *v, int camel, struct fb_buf *out)
{
	struct fb_simjw w;
	if (fb_simjw_start(&w, camel))
		return FB_ENOMEM;
	fb_simjw_open(&w, 0);
	fb_simjw_key(&w, "run_id");
	fb_simjw_str(&w, v->run_id);
	fb_simjw_key(&w, "type");
	fb_simjw_str(&w, v->type);
	fb_simjw_key(&w, "estimated_seconds");
	if (v->estimated_seconds >= 0)
		fb_simjw_int(&w, v->estimated_seconds);
	else
		fb_simjw_null(&w);
	fb_simjw_key(&w, "charged_cost");
	fb_simjw_cost(&w, v->charged_cost);
	fb_simjw_key(&w, "poll_url");
	fb_simjw_str(&w, v->poll_url);
	fb_simjw_key(&w, "project_id");
	fb_simjw_str(&w, v->project_id);
	fb_simjw_key(&w, "model");
	if (v->model_id) {
		fb_simjw_open(&w, 0);
		fb_simjw_key(&w, "model_id");
		fb_simjw_str(&w, v->model_id);
		fb_simjw_close(&w, 0);
	} else {
		fb_simjw_null(&w);
	}
	fb_simjw_key(&w, "technique");
	if (v->technique_id) {
		fb_simjw_open(&w, 0);
		fb_simjw_key(&w, "technique_id");
		fb_simjw_str(&w, v->technique_id);
		fb_simjw_key(&w, "name");
		fb_simjw_str(&w, v->technique_name);
		fb_simjw_close(&w, 0);
	} else {
		fb_simjw_null(&w);
	}
	fb_simjw_key(&w, "action");
	fb_simjw_null(&w);
	fb_simjw_close(&w, 0);
	return fb_simjw_finish(&w, out);
}

int fb_simanswer_error(const char *code, const char *message, const struct fb_simreq_field *fields,
		       size_t nfields, struct fb_buf *out)
{
	struct fb_simjw w;
	if (fb_simjw_start(&w, 0))
		return FB_ENOMEM;
	fb_simjw_open(&w, 0);
	fb_simjw_key(&w, "error");
	fb_simjw_open(&w, 0);
	fb_simjw_key(&w, "code");
	fb_simjw_str(&w, code);
	fb_simjw_key(&w, "message");
	fb_simjw_str(&w, message);
	if (nfields) {
		fb_simjw_key(&w, "fields");
		fb_simjw_open(&w, 1);
		for (size_t i = 0; i < nfields; i++) {
			fb_simjw_open(&w, 0);
			fb_simjw_key(&w, "field");
			fb_simjw_str(&w, fields[i].field);
			fb_simjw_key(&w, "message");
			fb_simjw_str(&w, fields[i].message);
			fb_simjw_close(&w, 0);
		}
		fb_simjw_close(&w, 1);
	}
	fb_simjw_close(&w, 0);
	fb_simjw_close(&w, 0);
	return fb_simjw_finish(&w, out);
}

int fb_simanswer_counters(const char *const *names, const uint64_t *values, size_t n,
			  struct fb_buf *out)
{
	struct fb_simjw w;
	if (fb_simjw_start(&w, 0))
		return FB_ENOMEM;
	fb_simjw_open(&w, 0);
	for (size_t i = 0; i < n; i++) {
		fb_simjw_datakey(&w, names[i]);
		fb_simjw_int(&w, (long long)values[i]);
	}
	fb_simjw_close(&w, 0);
	return fb_simjw_finish(&w, out);
}
