/* simanswer: JSON bodies of the simulated API's answers. */
#include "simanswer.h"
#include "error.h"

#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>

/* A yajl_gen that remembers any failure, and the casing of this answer. */
struct jw {
	yajl_gen g;
	int bad;
	int camel;
};

static void jkey(struct jw *w, const char *snake, const char *camel)
{
	const char *k = w->camel && camel ? camel : snake;
	w->bad |= yajl_gen_string(w->g, (const unsigned char *)k, strlen(k)) != yajl_gen_status_ok;
}

static void jstr(struct jw *w, const char *s)
{
	w->bad |= yajl_gen_string(w->g, (const unsigned char *)s, strlen(s)) != yajl_gen_status_ok;
}

static void jint(struct jw *w, long long v)
{
	w->bad |= yajl_gen_integer(w->g, v) != yajl_gen_status_ok;
}

/* Money with at most three decimals: yajl_gen_double would print 0.873 as 0.87299999…. */
static void jcost(struct jw *w, double v)
{
	char num[48];
	int n = snprintf(num, sizeof(num), "%.3f", v);
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

static void jopen(struct jw *w, int array)
{
	yajl_gen_status st = array ? yajl_gen_array_open(w->g) : yajl_gen_map_open(w->g);
	w->bad |= st != yajl_gen_status_ok;
}

static void jclose(struct jw *w, int array)
{
	yajl_gen_status st = array ? yajl_gen_array_close(w->g) : yajl_gen_map_close(w->g);
	w->bad |= st != yajl_gen_status_ok;
}

static int jw_start(struct jw *w, int camel)
{
	w->bad = 0;
	w->camel = camel;
	w->g = yajl_gen_alloc(NULL);
	return w->g ? 0 : FB_ENOMEM;
}

/* Appends the document to out and frees the generator. */
static int jw_finish(struct jw *w, struct fb_buf *out)
{
	const unsigned char *buf;
	size_t len;
	int rc = 0;
	if (w->bad || yajl_gen_get_buf(w->g, &buf, &len) != yajl_gen_status_ok ||
	    fb_buf_add(out, buf, len))
		rc = FB_ENOMEM;
	yajl_gen_free(w->g);
	return rc;
}

int fb_simanswer_run(const struct fb_simrun_view *v, int camel, struct fb_buf *out)
{
	struct jw w;
	if (jw_start(&w, camel))
		return FB_ENOMEM;
	jopen(&w, 0);
	jkey(&w, "run_id", "runId");
	jstr(&w, v->run_id);
	jkey(&w, "status", NULL);
	jstr(&w, v->status);
	jkey(&w, "progress", NULL);
	jint(&w, v->progress);
	jkey(&w, "created_at", "createdAt");
	jint(&w, (long long)v->created_at);
	if (v->started_at) {
		jkey(&w, "started_at", "startedAt");
		jint(&w, (long long)v->started_at);
	}
	if (v->completed_at) {
		jkey(&w, "completed_at", "completedAt");
		jint(&w, (long long)v->completed_at);
	}
	jkey(&w, "charged_cost", "chargedCost");
	jcost(&w, v->charged_cost);
	if (v->error_code) {
		jkey(&w, "error_code", "errorCode");
		jstr(&w, v->error_code);
		jkey(&w, "error_message", "errorMessage");
		jstr(&w, v->error_message ? v->error_message : "");
	}
	if (v->noutputs) {
		struct fb_buf url = FB_BUF_INIT;
		jkey(&w, "outputs", NULL);
		jopen(&w, 1);
		for (unsigned i = 1; i <= v->noutputs && !w.bad; i++) {
			char oid[24];
			snprintf(oid, sizeof(oid), "out_%u", i);
			fb_buf_reset(&url);
			w.bad |= fb_buf_addf(&url, "%s/%s.png", v->output_base, oid) != 0;
			jopen(&w, 0);
			jkey(&w, "output_id", "outputId");
			jstr(&w, oid);
			jkey(&w, "type", NULL);
			jstr(&w, "imageUrl");
			jkey(&w, "url", NULL);
			jstr(&w, fb_buf_str(&url));
			jclose(&w, 0);
		}
		jclose(&w, 1);
		fb_buf_release(&url);
	}
	if (v->poll_url) {
		jkey(&w, "poll_url", "pollUrl");
		jstr(&w, v->poll_url);
	}
	if (v->estimated_seconds >= 0) {
		jkey(&w, "estimated_seconds", "estimatedSeconds");
		jint(&w, v->estimated_seconds);
	}
	jclose(&w, 0);
	return jw_finish(&w, out);
}

int fb_simanswer_error(const char *code, const char *message, const struct fb_simreq_field *fields,
		       size_t nfields, struct fb_buf *out)
{
	struct jw w;
	if (jw_start(&w, 0))
		return FB_ENOMEM;
	jopen(&w, 0);
	jkey(&w, "error", NULL);
	jopen(&w, 0);
	jkey(&w, "code", NULL);
	jstr(&w, code);
	jkey(&w, "message", NULL);
	jstr(&w, message);
	if (nfields) {
		jkey(&w, "fields", NULL);
		jopen(&w, 1);
		for (size_t i = 0; i < nfields; i++) {
			jopen(&w, 0);
			jkey(&w, "field", NULL);
			jstr(&w, fields[i].field);
			jkey(&w, "message", NULL);
			jstr(&w, fields[i].message);
			jclose(&w, 0);
		}
		jclose(&w, 1);
	}
	jclose(&w, 0);
	jclose(&w, 0);
	return jw_finish(&w, out);
}

int fb_simanswer_counters(const char *const *names, const uint64_t *values, size_t n,
			  struct fb_buf *out)
{
	struct jw w;
	if (jw_start(&w, 0))
		return FB_ENOMEM;
	jopen(&w, 0);
	for (size_t i = 0; i < n; i++) {
		jkey(&w, names[i], NULL);
		jint(&w, (long long)values[i]);
	}
	jclose(&w, 0);
	return jw_finish(&w, out);
}
