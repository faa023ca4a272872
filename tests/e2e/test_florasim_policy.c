/*
 * End-to-end: what a resilience test asks of a running florasim, over real
 * sockets: topping up credits and re-running a batch on the same server,
 * the peak request rate in the stats and in the stop summary, Retry-After
 * on every 429, 403 answers that name their scope, and --run-time-jitter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "e2e.h"
#include "testutil.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CREATE_BODY                                                                                \
	"{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://"          \
	"storage.googleapis.com/b/in.png\"},{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"a "   \
	"fox\"}],\"mode\":\"async\"}"
#define CREATE "/techniques/cctv-cam/runs" /* costs 0.25 */

struct answer {
	long status;
	yajl_val json;	      /* NULL when the body is not JSON */
	char retry_after[32]; /* "" when absent */
	int replayed;	      /* idempotent-replayed: true */
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	return fb_buf_add(ud, p, sz * n) ? 0 : sz * n;
}

/* One request to base + path; key may be NULL. Free with yajl_tree_free(a.json). */
static struct answer call(const struct e2e_sim *s, const char *method, const char *path,
			  const char *body, const char *key)
{
	struct answer a = {0};
	struct fb_buf b = FB_BUF_INIT;
	char url[256], line[160];
	snprintf(url, sizeof(url), "%s%s", s->base, path);
	CURL *c = curl_easy_init();
	assert_non_null(c);
	struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
	if (key) {
		snprintf(line, sizeof(line), "Idempotency-Key: %s", key);
		hs = curl_slist_append(hs, line);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
	struct curl_header *h;
	if (curl_easy_header(c, "retry-after", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
		snprintf(a.retry_after, sizeof(a.retry_after), "%s", h->value);
	a.replayed =
	    curl_easy_header(c, "idempotent-replayed", 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
	    !strcmp(h->value, "true");
	if (b.len && fb_buf_str(&b)[0] == '{')
		a.json = yajl_tree_parse(fb_buf_str(&b), NULL, 0);
	curl_slist_free_all(hs);
	curl_easy_cleanup(c);
	fb_buf_release(&b);
	return a;
}

static int status_of(const struct e2e_sim *s, const char *method, const char *path,
		     const char *body, const char *key)
{
	struct answer a = call(s, method, path, body, key);
	yajl_tree_free(a.json);
	return (int)a.status;
}

static long long stat_of(const struct e2e_sim *s, const char *name)
{
	yajl_val v = e2e_sim_get_json(s, "/_sim/stats");
	long long n = e2e_num(v, name, NULL);
	yajl_tree_free(v);
	return n;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Out of credits, topped up, and the same batch again on the same server. */
static void test_credits_top_up(void **state)
{
	(void)state;
	struct e2e_sim s = e2e_florasim_start("--quiet --credits 0.5");
	static const char *const keys[] = {"row-1", "row-2", "row-3"};
	for (int i = 0; i < 3; i++)
		assert_int_equal(status_of(&s, "POST", CREATE, CREATE_BODY, keys[i]),
				 i < 2 ? 201 : 402);
	struct answer a = call(&s, "POST", "/_sim/credits", "{\"add\": 25.5}", NULL);
	assert_int_equal(a.status, 200);
	const char *path[] = {"credits_left", NULL};
	yajl_val left = yajl_tree_get(a.json, path, yajl_t_number);
	assert_non_null(left);
	assert_true(YAJL_GET_DOUBLE(left) == 25.5);
	yajl_tree_free(a.json);
	for (int i = 0; i < 3; i++) {
		a = call(&s, "POST", CREATE, CREATE_BODY, keys[i]);
		assert_int_equal(a.status, i < 2 ? 200 : 201);
		assert_int_equal(a.replayed, i < 2);
		yajl_tree_free(a.json);
	}
	assert_int_equal(stat_of(&s, "runs_created"), 3);
	assert_int_equal(stat_of(&s, "max_runs_per_key"), 1);
	assert_int_equal(status_of(&s, "POST", "/_sim/credits", "{\"add\": \"lots\"}", NULL), 400);
	e2e_florasim_stop(&s);
}

/* Every 429 has Retry-After, and the stats and the stop summary show the peak rate. */
static void test_peak_rate_and_retry_after(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *errpath = tu_path(dir, "stderr"), args[512];
	snprintf(args, sizeof(args), "--quiet --rate-limit 5 --burst 2 2>'%s'", errpath);
	struct e2e_sim s = e2e_florasim_start(args);
	enum { N = 30 };
	int limited = 0;
	uint64_t t0 = now_ms();
	for (int i = 0; i < N; i++) {
		struct answer a = call(&s, "GET", "/workspaces", NULL, NULL);
		if (a.status == 429) {
			limited++;
			assert_true(atoi(a.retry_after) >= 1);
		} else {
			assert_int_equal(a.status, 200);
			assert_string_equal(a.retry_after, "");
		}
		yajl_tree_free(a.json);
	}
	uint64_t took = now_ms() - t0;
	assert_true(limited >= 1);
	long long peak = stat_of(&s, "max_requests_per_second");
	/* Within one second on the client, so within one on the server too. */
	if (took < 900)
		assert_int_equal(peak, N);
	assert_true(peak >= 1 && peak <= N);
	assert_int_equal(stat_of(&s, "max_creates_per_second"), 0);
	e2e_florasim_stop(&s);
	char *err = tu_read_file(errpath, NULL), want[96];
	snprintf(want, sizeof(want), "at most %lld API requests and 0 creates in one second", peak);
	if (!strstr(err, want))
		fail_msg("no \"%s\" in: %s", want, err);
	free(err);
	free(errpath);
	tu_rmrf(dir);
	free(dir);
}

static void test_forbidden_names_scope(void **state)
{
	(void)state;
	struct e2e_sim s = e2e_florasim_start("--quiet --forbidden cctv-cam");
	struct answer a = call(&s, "POST", CREATE, CREATE_BODY, NULL);
	assert_int_equal(a.status, 403);
	assert_string_equal(e2e_str(a.json, "error", "code", NULL), "forbidden");
	assert_string_equal(e2e_str(a.json, "error", "message", NULL),
			    "Technique cctv-cam is not available to this workspace.");
	const char *path[] = {"error", "fields", NULL};
	yajl_val fields = yajl_tree_get(a.json, path, yajl_t_array);
	assert_non_null(fields);
	assert_int_equal(fields->u.array.len, 1);
	assert_string_equal(e2e_str(fields->u.array.values[0], "field", NULL), "technique_id");
	yajl_tree_free(a.json);
	e2e_florasim_stop(&s);
}

static void test_run_time_jitter_flag(void **state)
{
	(void)state;
	struct e2e_sim s =
	    e2e_florasim_start("--quiet --run-time 4s --run-time-jitter 0.9 --estimate exact");
	int seen[9] = {0}, distinct = 0;
	for (int i = 0; i < 12; i++) {
		char key[32];
		snprintf(key, sizeof(key), "jit-%d", i);
		struct answer a = call(&s, "POST", CREATE, CREATE_BODY, key);
		assert_int_equal(a.status, 201);
		long long est = e2e_num(a.json, "estimated_seconds", NULL);
		assert_true(est >= 1 && est <= 8); /* 4 s x (1 +- 0.9), rounded up */
		distinct += !seen[est]++;
		yajl_tree_free(a.json);
	}
	assert_true(distinct >= 3);
	e2e_florasim_stop(&s);

	char *err = NULL, *out = NULL;
	assert_int_equal(tu_run("\"$FLORASIM_BIN\" --run-time-jitter 1.5", NULL, &err), 2);
	assert_non_null(strstr(err, "--run-time-jitter"));
	assert_int_equal(tu_run("\"$FLORASIM_BIN\" --help", &out, NULL), 0);
	assert_non_null(strstr(out, "--run-time-jitter"));
	assert_non_null(strstr(out, "/_sim/credits"));
	free(err);
	free(out);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_credits_top_up),
	    cmocka_unit_test(test_peak_rate_and_retry_after),
	    cmocka_unit_test(test_forbidden_names_scope),
	    cmocka_unit_test(test_run_time_jitter_flag),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
