/* Tests for simmodel: the simulated API must answer as CONTRACT.md says the real one does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "clock.h"
#include "error.h"
#include "simmodel.h"

#define BODY                                                                                       \
	"{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://"          \
	"storage.googleapis.com/b/in.png\"},{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"a "   \
	"cat\"}],\"mode\":\"async\"}"
#define CREATE "/techniques/cctv-cam/runs"
#define EPOCH  1767225600000ULL /* the virtual clock's wall epoch */
#define T0     1000ULL

struct fx {
	struct fb_clock *clock;
	struct fb_simmodel *m;
	int status;
	char request_id[32];
	const char *content_type;
	struct fb_buf raw; /* the last answer's bytes */
};

static struct fb_simmodel_config cfg_default(void)
{
	struct fb_simmodel_config c = {0};
	c.seed = 7;
	c.run_ms = 10000;
	c.outputs_per_run = 2;
	c.estimate = FB_SIM_EST_EXACT; /* the tests of the hint; the contract's default is absent */
	return c;
}

static struct fx *fx_new(const struct fb_simmodel_config *cfg)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct fb_err err = {0};
	f->clock = fb_clock_virtual_new(T0);
	assert_int_equal(fb_simmodel_new(&f->m, cfg, f->clock, &err), 0);
	return f;
}

static int fx_setup(void **state)
{
	struct fb_simmodel_config c = cfg_default();
	*state = fx_new(&c);
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	if (f) {
		fb_simmodel_free(f->m);
		fb_clock_free(f->clock);
		fb_buf_release(&f->raw);
		free(f);
	}
	return 0;
}

/* Sends one request; returns the raw answer in f->raw and its status. */
static int send(struct fx *f, const char *method, const char *path, const char *key,
		const char *body)
{
	struct fb_simresp r = FB_SIMRESP_INIT;
	struct fb_simcall c = {.method = method,
			       .path = path,
			       .idem_key = key,
			       .body = body,
			       .body_len = body ? strlen(body) : 0};
	assert_int_equal(fb_simmodel_handle(f->m, &c, &r), 0);
	assert_true(r.status >= 200 && r.status < 600);
	assert_non_null(r.content_type);
	assert_int_equal(strncmp(r.request_id, "req_", 4), 0);
	assert_int_equal(r.retry_after_s, -1);
	fb_buf_release(&f->raw);
	f->raw = r.body;
	f->status = r.status;
	f->content_type = r.content_type;
	memcpy(f->request_id, r.request_id, sizeof(f->request_id));
	return r.status;
}

/* Sends and parses the JSON answer (caller frees with yajl_tree_free). */
static yajl_val sendj(struct fx *f, const char *method, const char *path, const char *key,
		      const char *body, int want_status)
{
	assert_int_equal(send(f, method, path, key, body), want_status);
	assert_string_equal(f->content_type, "application/json");
	char eb[128];
	yajl_val v = yajl_tree_parse(fb_buf_str(&f->raw), eb, sizeof(eb));
	if (!v)
		fail_msg("not JSON (%s): %s", eb, fb_buf_str(&f->raw));
	assert_true(YAJL_IS_OBJECT(v));
	return v;
}

static yajl_val get(yajl_val obj, const char *key)
{
	const char *path[] = {key, NULL};
	return yajl_tree_get(obj, path, yajl_t_any);
}

static const char *gets(yajl_val obj, const char *key)
{
	yajl_val v = get(obj, key);
	if (!YAJL_IS_STRING(v))
		fail_msg("%s is not a string", key);
	return v->u.string;
}

static long long geti(yajl_val obj, const char *key)
{
	yajl_val v = get(obj, key);
	if (!YAJL_IS_INTEGER(v))
		fail_msg("%s is not an integer", key);
	return YAJL_GET_INTEGER(v);
}

static double getd(yajl_val obj, const char *key)
{
	yajl_val v = get(obj, key);
	if (!YAJL_IS_NUMBER(v))
		fail_msg("%s is not a number", key);
	return YAJL_GET_DOUBLE(v);
}

/* The object has exactly these keys (NULL-terminated), in any order. */
static void assert_keys(yajl_val obj, const char *const *keys)
{
	size_t n = 0;
	for (; keys[n]; n++)
		if (!get(obj, keys[n]))
			fail_msg("missing key %s", keys[n]);
	assert_int_equal(obj->u.object.len, n);
}

/* Creates a run and returns its id (caller frees). */
static char *create_run(struct fx *f, const char *key)
{
	yajl_val v = sendj(f, "POST", CREATE, key, BODY, 201);
	char *id = strdup(gets(v, "run_id"));
	yajl_tree_free(v);
	return id;
}

static yajl_val poll_run(struct fx *f, const char *id)
{
	char path[128];
	snprintf(path, sizeof(path), "/techniques/cctv-cam/runs/%s", id);
	return sendj(f, "GET", path, NULL, NULL, 200);
}

static void test_create_answers_runstatus_snake(void **state)
{
	struct fx *f = *state;
	yajl_val v = sendj(f, "POST", CREATE, "k1", BODY, 201);
	static const char *const keys[] = {
	    "run_id",	    "status",	"progress",	     "created_at",
	    "charged_cost", "poll_url", "estimated_seconds", NULL};
	assert_keys(v, keys);
	const char *id = gets(v, "run_id");
	assert_int_equal(strlen(id), 24);
	assert_int_equal(strncmp(id, "run_", 4), 0);
	for (const char *p = id + 4; *p; p++)
		assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'));
	assert_string_equal(gets(v, "status"), "pending");
	assert_int_equal(geti(v, "progress"), 0);
	assert_int_equal(geti(v, "created_at"), EPOCH + T0);
	assert_true(fabs(getd(v, "charged_cost") - 0.25) < 1e-9);
	assert_non_null(strstr(fb_buf_str(&f->raw), "\"charged_cost\":0.25,"));
	assert_int_equal(geti(v, "estimated_seconds"), 10);
	char want[128];
	snprintf(want, sizeof(want), "sim://api/v1/techniques/cctv-cam/runs/%s", id);
	assert_string_equal(gets(v, "poll_url"), want);
	yajl_tree_free(v);
	struct fb_simstats st;
	fb_simmodel_stats(f->m, &st);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.creates, 1);
	assert_int_equal(st.runs_created, 1);
}

static void test_lifecycle_pending_running_completed(void **state)
{
	struct fx *f = *state;
	char *id = create_run(f, "life");
	yajl_val v = poll_run(f, id);
	assert_string_equal(gets(v, "status"), "pending");
	assert_null(get(v, "started_at"));
	assert_null(get(v, "estimated_seconds")); /* only answers to a create carry it */
	yajl_tree_free(v);

	fb_clock_sleep_ms(f->clock, 999);
	v = poll_run(f, id);
	assert_string_equal(gets(v, "status"), "pending");
	assert_int_equal(geti(v, "progress"), 0);
	yajl_tree_free(v);

	fb_clock_sleep_ms(f->clock, 1); /* 10% of run_ms */
	v = poll_run(f, id);
	assert_string_equal(gets(v, "status"), "running");
	assert_int_equal(geti(v, "progress"), 10);
	assert_int_equal(geti(v, "started_at"), EPOCH + T0 + 1000);
	assert_null(get(v, "completed_at"));
	assert_null(get(v, "outputs"));
	yajl_tree_free(v);

	fb_clock_sleep_ms(f->clock, 4000);
	v = poll_run(f, id);
	assert_int_equal(geti(v, "progress"), 50);
	yajl_tree_free(v);

	fb_clock_sleep_ms(f->clock, 4999);
	v = poll_run(f, id);
	assert_string_equal(gets(v, "status"), "running");
	assert_int_equal(geti(v, "progress"), 99);
	yajl_tree_free(v);

	fb_clock_sleep_ms(f->clock, 1);
	v = poll_run(f, id);
	static const char *const keys[] = {
	    "run_id",	    "status",	    "progress", "created_at", "started_at",
	    "completed_at", "charged_cost", "outputs",	"poll_url",   NULL};
	assert_keys(v, keys);
	assert_string_equal(gets(v, "status"), "completed");
	assert_int_equal(geti(v, "progress"), 100);
	assert_int_equal(geti(v, "completed_at"), EPOCH + T0 + 10000);
	double cost = getd(v, "charged_cost");
	assert_true(cost >= 0.25 && cost <= 0.875);
	assert_true(fabs(cost * 1000 - round(cost * 1000)) < 1e-6);
	yajl_val outs = get(v, "outputs");
	assert_true(YAJL_IS_ARRAY(outs));
	assert_int_equal(outs->u.array.len, 2);
	for (size_t i = 0; i < 2; i++) {
		yajl_val o = outs->u.array.values[i];
		static const char *const ok[] = {"output_id", "type", "url", NULL};
		assert_keys(o, ok);
		char want_id[16], want_url[128];
		snprintf(want_id, sizeof(want_id), "out_%zu", i + 1);
		snprintf(want_url, sizeof(want_url), "sim://api/v1/_sim/outputs/%s/out_%zu.png", id,
			 i + 1);
		assert_string_equal(gets(o, "output_id"), want_id);
		assert_string_equal(gets(o, "type"), "imageUrl");
		assert_string_equal(gets(o, "url"), want_url);
	}
	yajl_tree_free(v);

	/* The same run through GET /runs/{id} and through its absolute poll_url. */
	char path[160];
	snprintf(path, sizeof(path), "/runs/%s", id);
	v = sendj(f, "GET", path, NULL, NULL, 200);
	assert_string_equal(gets(v, "status"), "completed");
	assert_true(fabs(getd(v, "charged_cost") - cost) < 1e-9);
	yajl_tree_free(v);
	snprintf(path, sizeof(path), "sim://api/v1/techniques/cctv-cam/runs/%s?x=1", id);
	v = sendj(f, "GET", path, NULL, NULL, 200);
	assert_string_equal(gets(v, "run_id"), id);
	yajl_tree_free(v);
	free(id);
}

static void test_failed_runs(void **state)
{
	(void)state;
	struct fb_simmodel_config c = cfg_default();
	c.fail_rate = 1.0;
	struct fx *f = fx_new(&c);
	int seen[4] = {0};
	static const char *const codes[] = {"model_timeout", "internal_error", "safety_blocked",
					    "input_unreachable"};
	char *ids[40];
	for (int i = 0; i < 40; i++) {
		char key[16];
		snprintf(key, sizeof(key), "f%d", i);
		ids[i] = create_run(f, key);
	}
	fb_clock_sleep_ms(f->clock, 10000);
	for (int i = 0; i < 40; i++) {
		yajl_val v = poll_run(f, ids[i]);
		static const char *const keys[] = {"run_id",	   "status",	 "progress",
						   "created_at",   "started_at", "completed_at",
						   "charged_cost", "error_code", "error_message",
						   "poll_url",	   NULL};
		assert_keys(v, keys); /* no outputs */
		assert_string_equal(gets(v, "status"), "failed");
		assert_int_equal(geti(v, "progress"), 100);
		assert_true(getd(v, "charged_cost") == 0.0);
		/* Money is printed short, never as 0.0 or 0.2500000000000000001. */
		assert_non_null(strstr(fb_buf_str(&f->raw), "\"charged_cost\":0,"));
		assert_true(strlen(gets(v, "error_message")) > 0);
		int k = 0;
		while (k < 4 && strcmp(codes[k], gets(v, "error_code")))
			k++;
		assert_true(k < 4);
		seen[k]++;
		yajl_tree_free(v);
		/* A failed run has no outputs to fetch. */
		char path[128];
		snprintf(path, sizeof(path), "/_sim/outputs/%s/out_1.png", ids[i]);
		assert_int_equal(send(f, "GET", path, NULL, NULL), 404);
		free(ids[i]);
	}
	for (int k = 0; k < 4; k++)
		assert_true(seen[k] > 0);
	void *s = f;
	fx_teardown(&s);
}

static void test_fail_rate_zero_and_half(void **state)
{
	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		struct fb_simmodel_config c = cfg_default();
		c.fail_rate = pass ? 0.5 : 0.0;
		c.run_ms = 0;
		struct fx *f = fx_new(&c);
		int failed = 0;
		for (int i = 0; i < 200; i++) {
			char *id = create_run(f, NULL);
			yajl_val v = poll_run(f, id); /* run_ms 0: terminal at the first poll */
			failed += !strcmp(gets(v, "status"), "failed");
			assert_true(!strcmp(gets(v, "status"), "failed") ||
				    !strcmp(gets(v, "status"), "completed"));
			yajl_tree_free(v);
			free(id);
		}
		if (pass)
			assert_true(failed > 60 && failed < 140);
		else
			assert_int_equal(failed, 0);
		void *s = f;
		fx_teardown(&s);
	}
}

static void test_run_ms_zero_create_is_pending(void **state)
{
	(void)state;
	struct fb_simmodel_config c = cfg_default();
	c.run_ms = 0;
	struct fx *f = fx_new(&c);
	yajl_val v = sendj(f, "POST", CREATE, NULL, BODY, 201);
	assert_string_equal(gets(v, "status"), "pending");
	assert_int_equal(geti(v, "estimated_seconds"), 0);
	char *id = strdup(gets(v, "run_id"));
	yajl_tree_free(v);
	v = poll_run(f, id);
	assert_string_equal(gets(v, "status"), "completed");
	assert_int_equal(geti(v, "completed_at"), geti(v, "created_at"));
	yajl_tree_free(v);
	free(id);
	void *s = f;
	fx_teardown(&s);
}

/* Ids and outcomes (status, error code, cost) of n runs, as one string. */
static char *trace(uint64_t seed, int n, int reverse_keys)
{
	struct fb_simmodel_config c = cfg_default();
	c.seed = seed;
	c.fail_rate = 0.5;
	c.run_ms = 0;
	struct fx *f = fx_new(&c);
	struct fb_buf out = FB_BUF_INIT;
	for (int i = 0; i < n; i++) {
		char key[16];
		snprintf(key, sizeof(key), "key-%d", reverse_keys ? n - 1 - i : i);
		char *id = create_run(f, key);
		yajl_val v = poll_run(f, id);
		yajl_val code = get(v, "error_code");
		fb_buf_addf(&out, "%s %s %s %.3f\n", reverse_keys ? key : id, gets(v, "status"),
			    code ? code->u.string : "-", getd(v, "charged_cost"));
		yajl_tree_free(v);
		free(id);
	}
	void *s = f;
	fx_teardown(&s);
	return fb_buf_detach(&out, NULL);
}

static void test_determinism(void **state)
{
	(void)state;
	char *a = trace(99, 30, 0), *b = trace(99, 30, 0), *c = trace(100, 30, 0);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	free(a);
	free(b);
	free(c);
}

static int line_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sorted lines of s (s is modified; the array is freed by the caller). */
static char **sorted_lines(char *s, int n)
{
	char **l = calloc((size_t)n, sizeof(*l));
	for (int i = 0; i < n; i++) {
		l[i] = strtok(i ? NULL : s, "\n");
		assert_non_null(l[i]);
	}
	qsort(l, (size_t)n, sizeof(*l), line_cmp);
	return l;
}

static void test_outcome_follows_key_not_order(void **state)
{
	(void)state;
	char *a = trace(5, 20, 0), *b = trace(5, 20, 1);
	/* Forward lines start with the run id; rebuild them keyed like the reverse trace. */
	struct fb_buf fwd = FB_BUF_INIT;
	char *save = NULL, *line = strtok_r(a, "\n", &save);
	for (int i = 0; line; i++, line = strtok_r(NULL, "\n", &save))
		fb_buf_addf(&fwd, "key-%d%s\n", i, strchr(line, ' '));
	char **x = sorted_lines(fwd.ptr, 20), **y = sorted_lines(b, 20);
	for (int i = 0; i < 20; i++)
		assert_string_equal(x[i], y[i]);
	free(x);
	free(y);
	fb_buf_release(&fwd);
	free(a);
	free(b);
}

static void test_camel_case(void **state)
{
	(void)state;
	struct fb_simmodel_config c = cfg_default();
	c.casing = FB_SIM_CAMEL;
	c.run_ms = 0;
	struct fx *f = fx_new(&c);
	yajl_val v = sendj(f, "POST", CREATE, NULL, BODY, 201);
	static const char *const ck[] = {"runId",	"status",  "progress",	       "createdAt",
					 "chargedCost", "pollUrl", "estimatedSeconds", NULL};
	assert_keys(v, ck);
	char *id = strdup(gets(v, "runId"));
	yajl_tree_free(v);
	v = poll_run(f, id);
	static const char *const done[] = {"runId",	"status",      "progress",    "createdAt",
					   "startedAt", "completedAt", "chargedCost", "outputs",
					   "pollUrl",	NULL};
	assert_keys(v, done);
	yajl_val o = get(v, "outputs")->u.array.values[0];
	static const char *const ok[] = {"outputId", "type", "url", NULL};
	assert_keys(o, ok);
	yajl_tree_free(v);
	free(id);
	void *s = f;
	fx_teardown(&s);
}

static void test_camel_failed_and_mixed(void **state)
{
	(void)state;
	struct fb_simmodel_config c = cfg_default();
	c.casing = FB_SIM_MIXED;
	c.fail_rate = 1.0;
	c.run_ms = 0;
	struct fx *f = fx_new(&c);
	/* Answer 1 snake, answer 2 camel, and so on. */
	yajl_val v = sendj(f, "POST", CREATE, NULL, BODY, 201);
	char *id = strdup(gets(v, "run_id"));
	yajl_tree_free(v);
	v = poll_run(f, id);
	assert_string_equal(gets(v, "runId"), id);
	assert_non_null(get(v, "errorCode"));
	assert_non_null(get(v, "errorMessage"));
	assert_null(get(v, "error_code"));
	yajl_tree_free(v);
	v = poll_run(f, id);
	assert_non_null(get(v, "error_code"));
	yajl_tree_free(v);
	free(id);
	void *s = f;
	fx_teardown(&s);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_output_bytes_are_png(void **state)
{
	struct fx *f = *state;
	char *id = create_run(f, NULL);
	char path[160];
	snprintf(path, sizeof(path), "sim://api/v1/_sim/outputs/%s/out_1.png", id);
	assert_int_equal(send(f, "GET", path, NULL, NULL), 404); /* not completed yet */
	fb_clock_sleep_ms(f->clock, 10000);
	assert_int_equal(send(f, "GET", path, NULL, NULL), 200);
	assert_string_equal(f->content_type, "image/png");
	const unsigned char *b = (const unsigned char *)f->raw.ptr;
	assert_true(f->raw.len > 33);
	assert_memory_equal(b, "\x89PNG\r\n\x1a\n", 8);
	assert_memory_equal(b + 12, "IHDR", 4);
	assert_int_equal(be32(b + 16), 32);
	assert_int_equal(be32(b + 20), 32);
	struct fb_buf first = f->raw;
	f->raw = (struct fb_buf)FB_BUF_INIT;
	assert_int_equal(send(f, "GET", path, NULL, NULL), 200); /* the same bytes again */
	assert_int_equal(f->raw.len, first.len);
	assert_memory_equal(f->raw.ptr, first.ptr, first.len);
	snprintf(path, sizeof(path), "/_sim/outputs/%s/out_2", id);
	assert_int_equal(send(f, "GET", path, NULL, NULL), 200); /* another output differs */
	assert_true(f->raw.len != first.len || memcmp(f->raw.ptr, first.ptr, first.len));
	fb_buf_release(&first);
	static const char *const bad[] = {"out_0.png", "out_3.png", "out_1.jpg", "out_01.png",
					  "x_1.png"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/_sim/outputs/%s/%s", id, bad[i]);
		assert_int_equal(send(f, "GET", path, NULL, NULL), 404);
	}
	assert_int_equal(send(f, "GET", "/_sim/outputs/run_x/out_1.png", NULL, NULL), 404);
	free(id);
}

static void test_stats_route(void **state)
{
	struct fx *f = *state;
	char *id = create_run(f, NULL);
	yajl_tree_free(poll_run(f, id));
	yajl_val v = sendj(f, "GET", "/_sim/stats", NULL, NULL, 200);
	assert_int_equal(geti(v, "requests"), 3);
	assert_int_equal(geti(v, "creates"), 1);
	assert_int_equal(geti(v, "runs_created"), 1);
	assert_int_equal(geti(v, "polls"), 1);
	assert_int_equal(geti(v, "duplicate_keys"), 0);
	assert_int_equal(geti(v, "fetches"), 0);
	yajl_tree_free(v);
	free(id);
}

static void test_many_runs_all_findable(void **state)
{
	struct fx *f = *state;
	enum { N = 3000 };
	char **ids = calloc(N, sizeof(*ids));
	for (int i = 0; i < N; i++) {
		char key[16];
		snprintf(key, sizeof(key), "m%d", i);
		ids[i] = create_run(f, i % 2 ? key : NULL);
	}
	char **sorted = malloc(N * sizeof(*sorted));
	memcpy(sorted, ids, N * sizeof(*sorted));
	qsort(sorted, N, sizeof(*sorted), line_cmp);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(sorted[i - 1], sorted[i]);
	for (int i = 0; i < N; i += 7) {
		yajl_val v = poll_run(f, ids[i]);
		assert_string_equal(gets(v, "run_id"), ids[i]);
		yajl_tree_free(v);
	}
	/* Keyed runs replay to themselves. */
	for (int i = 1; i < N; i += 100) {
		char key[16];
		snprintf(key, sizeof(key), "m%d", i);
		yajl_val v = sendj(f, "POST", CREATE, key, BODY, 200);
		assert_string_equal(gets(v, "run_id"), ids[i]);
		yajl_tree_free(v);
	}
	for (int i = 0; i < N; i++)
		free(ids[i]);
	free(ids);
	free(sorted);
}

static void test_config_checked(void **state)
{
	(void)state;
	struct fb_clock *c = fb_clock_virtual_new(0);
	struct fb_simmodel *m = (struct fb_simmodel *)1;
	struct fb_err err = {0};
	struct fb_simmodel_config cfg = cfg_default();
	cfg.fail_rate = 1.5;
	assert_int_equal(fb_simmodel_new(&m, &cfg, c, &err), FB_EINVAL);
	assert_null(m);
	assert_non_null(strstr(err.msg, "fail rate"));
	cfg.fail_rate = NAN;
	assert_int_equal(fb_simmodel_new(&m, &cfg, c, &err), FB_EINVAL);
	/* A custom base URL, with a trailing slash, is what URLs start with. */
	cfg.fail_rate = 0;
	cfg.base_url = "http://127.0.0.1:9/api/v1/";
	assert_int_equal(fb_simmodel_new(&m, &cfg, c, &err), 0);
	struct fb_simresp r = FB_SIMRESP_INIT;
	struct fb_simcall call = {.method = "POST",
				  .path = "http://127.0.0.1:9/api/v1/techniques/sigil/runs",
				  .body = BODY,
				  .body_len = strlen(BODY)};
	assert_int_equal(fb_simmodel_handle(m, &call, &r), 0);
	assert_int_equal(r.status, 201);
	assert_non_null(
	    strstr(r.body.ptr, "\"http://127.0.0.1:9/api/v1/techniques/sigil/runs/run_"));
	fb_simresp_release(&r);
	fb_simmodel_free(m);
	fb_clock_free(c);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_create_answers_runstatus_snake),
	    T(test_lifecycle_pending_running_completed),
	    cmocka_unit_test(test_failed_runs),
	    cmocka_unit_test(test_fail_rate_zero_and_half),
	    cmocka_unit_test(test_run_ms_zero_create_is_pending),
	    cmocka_unit_test(test_determinism),
	    cmocka_unit_test(test_outcome_follows_key_not_order),
	    cmocka_unit_test(test_camel_case),
	    cmocka_unit_test(test_camel_failed_and_mixed),
	    T(test_output_bytes_are_png),
	    T(test_stats_route),
	    T(test_many_runs_all_findable),
	    cmocka_unit_test(test_config_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
