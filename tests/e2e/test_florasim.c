/*
 * End-to-end: the florasim server as a new user's HTTP client meets it,
 * over real sockets with libcurl. Every test starts its own server on a
 * free port and stops it with SIGTERM, expecting a clean exit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "testutil.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#define CREATE_BODY                                                                                \
	"{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://"          \
	"storage.googleapis.com/b/in.png\"},{\"id\":\"prompt\",\"type\":\"text\",\"value\":\"a "   \
	"fox\"}],\"mode\":\"async\"}"
#define PNG_MAGIC "\x89PNG\r\n\x1a\n"

struct sim {
	pid_t pid;
	char url[96];  /* the API base URL it printed */
	char root[64]; /* http://127.0.0.1:PORT */
	char *dir;     /* holds its stderr */
};

/*
 * Starts florasim with extra args (env: shell variable assignments for it,
 * or ""); reads the one line it prints once it listens.
 */
static void sim_start_env(struct sim *s, const char *env, const char *args)
{
	if (s->dir) { /* the previous server's, within one test */
		tu_rmrf(s->dir);
		free(s->dir);
	}
	memset(s, 0, sizeof(*s));
	s->dir = tu_tmpdir();
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "%s exec \"$FLORASIM_BIN\" --port 0 --max-seconds 60 --quiet %s 2>'%s/stderr'",
		 env, args, s->dir);
	tu_env("FLORASIM_BIN");
	int p[2];
	assert_int_equal(pipe(p), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	char line[256] = {0};
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	unsigned port = 0;
	if (sscanf(line, "florasim listening on http://127.0.0.1:%u/api/v1", &port) != 1)
		fail_msg("unexpected first line: %s", line);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u/api/v1", port);
	snprintf(s->root, sizeof(s->root), "http://127.0.0.1:%u", port);
}

static void sim_start(struct sim *s, const char *args)
{
	sim_start_env(s, "", args);
}

/* SIGTERM, then its exit status must be 0. Returns its stderr (caller frees). */
static char *sim_stop(struct sim *s)
{
	assert_int_equal(kill(s->pid, SIGTERM), 0);
	int st = 0;
	assert_int_equal(waitpid(s->pid, &st, 0), s->pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	s->pid = 0;
	char *path = tu_path(s->dir, "stderr");
	char *err = tu_read_file(path, NULL);
	free(path);
	return err;
}

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct sim));
	return *state ? 0 : -1;
}

/* After a failed assertion the server still runs: end it here. */
static int teardown(void **state)
{
	struct sim *s = *state;
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	if (s->dir) {
		tu_rmrf(s->dir);
		free(s->dir);
	}
	free(s);
	return 0;
}

/* The answer headers the tests look at, in this order in struct http's hdr. */
static const char *const hdr_names[] = {"request-id", "content-type", "retry-after",
					"idempotent-replayed"};
enum { H_REQID, H_CTYPE, H_RETRY, H_REPLAYED, H_N };

struct http {
	CURLcode rc;
	long status;
	struct fb_buf body;
	yajl_val json;	    /* the body parsed, when it is JSON */
	char hdr[H_N][128]; /* "" when absent */
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	return fb_buf_add(ud, p, sz * n) ? 0 : sz * n;
}

static void http_free(struct http *h)
{
	fb_buf_release(&h->body);
	yajl_tree_free(h->json);
	memset(h, 0, sizeof(*h));
}

/* An easy handle for one request on a fresh connection; the caller adds headers. */
static CURL *easy(struct http *h, const char *method, const char *url, const char *body)
{
	memset(h, 0, sizeof(*h));
	CURL *c = curl_easy_init();
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &h->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	return c;
}

static void finish(struct http *h, CURL *c)
{
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
	for (int i = 0; i < H_N; i++) {
		struct curl_header *v;
		if (curl_easy_header(c, hdr_names[i], 0, CURLH_HEADER, -1, &v) == CURLHE_OK)
			snprintf(h->hdr[i], sizeof(h->hdr[i]), "%s", v->value);
	}
	if (h->body.len && fb_buf_str(&h->body)[0] == '{')
		h->json = yajl_tree_parse(fb_buf_str(&h->body), NULL, 0);
}

/* One request. key and auth may be NULL. */
static struct http req(const char *method, const char *url, const char *body, const char *key,
		       const char *auth)
{
	struct http h;
	CURL *c = easy(&h, method, url, body);
	struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
	char line[256];
	if (key) {
		snprintf(line, sizeof(line), "Idempotency-Key: %s", key);
		hs = curl_slist_append(hs, line);
	}
	if (auth) {
		snprintf(line, sizeof(line), "Authorization: %s", auth);
		hs = curl_slist_append(hs, line);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	h.rc = curl_easy_perform(c);
	finish(&h, c);
	curl_slist_free_all(hs);
	curl_easy_cleanup(c);
	return h;
}

static const char *str_at(yajl_val v, const char *k1, const char *k2)
{
	const char *path[] = {k1, k2, NULL};
	yajl_val s = yajl_tree_get(v, path, yajl_t_string);
	return s ? YAJL_GET_STRING(s) : NULL;
}

static long long num_at(yajl_val v, const char *k1, const char *k2)
{
	const char *path[] = {k1, k2, NULL};
	yajl_val n = yajl_tree_get(v, path, yajl_t_number);
	return n && YAJL_IS_INTEGER(n) ? YAJL_GET_INTEGER(n) : -1;
}

/* The length of an array field, or -1. */
static long array_len(yajl_val v, const char *key)
{
	yajl_val a = yajl_tree_get(v, (const char *[]){key, NULL}, yajl_t_array);
	return a ? (long)YAJL_GET_ARRAY(a)->len : -1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static char *create_url(const struct sim *s)
{
	static char u[160];
	snprintf(u, sizeof(u), "%s/techniques/cctv-cam/runs", s->url);
	return u;
}

/* A number from GET /_sim/stats. */
static long long stat_of(const struct sim *s, const char *k1, const char *k2)
{
	char u[160];
	snprintf(u, sizeof(u), "%s/_sim/stats", s->url);
	struct http h = req("GET", u, NULL, NULL, NULL);
	long long v = num_at(h.json, k1, k2);
	http_free(&h);
	return v;
}

/* Creates a run and polls it until it is terminal; returns the final poll (caller frees). */
static struct http create_and_complete(const struct sim *s, const char *auth)
{
	struct http h = req("POST", create_url(s), CREATE_BODY, NULL, auth);
	assert_int_equal(h.rc, CURLE_OK);
	assert_int_equal(h.status, 201);
	char poll[256];
	snprintf(poll, sizeof(poll), "%s", str_at(h.json, "poll_url", NULL));
	http_free(&h);
	for (int i = 0; i < 100; i++) {
		h = req("GET", poll, NULL, NULL, auth);
		assert_int_equal(h.status, 200);
		const char *st = str_at(h.json, "status", NULL);
		if (!strcmp(st, "completed") || !strcmp(st, "failed"))
			return h;
		http_free(&h);
		sleep_ms(50);
	}
	fail_msg("the run never finished");
	return h;
}

static const char *first_output_url(const struct http *run)
{
	assert_true(array_len(run->json, "outputs") >= 1);
	yajl_val outs = yajl_tree_get(run->json, (const char *[]){"outputs", NULL}, yajl_t_any);
	const char *u = str_at(YAJL_GET_ARRAY(outs)->values[0], "url", NULL);
	assert_non_null(u);
	return u;
}

static void test_run_lifecycle(void **st)
{
	struct sim *s = *st;
	sim_start(s, "--run-time 200ms");
	struct http h = req("POST", create_url(s), CREATE_BODY, NULL, NULL);
	assert_int_equal(h.rc, CURLE_OK);
	assert_int_equal(h.status, 201);
	const char *id = str_at(h.json, "run_id", NULL);
	assert_non_null(id);
	assert_memory_equal(id, "run_", 4);
	assert_non_null(str_at(h.json, "poll_url", NULL));
	assert_null(str_at(h.json, "runId", NULL)); /* snake case by default */
	assert_memory_equal(h.hdr[H_REQID], "req_", 4);
	http_free(&h);

	struct http run = create_and_complete(s, NULL);
	assert_string_equal(str_at(run.json, "status", NULL), "completed");
	h = req("GET", first_output_url(&run), NULL, NULL, NULL);
	assert_int_equal(h.rc, CURLE_OK);
	assert_int_equal(h.status, 200);
	assert_true(h.body.len > 8);
	assert_memory_equal(h.body.ptr, PNG_MAGIC, 8);
	assert_string_equal(h.hdr[H_CTYPE], "image/png");
	http_free(&h);
	http_free(&run);

	/* Outside the API prefix: the API's 404 envelope, not a bare page. */
	char other[128];
	snprintf(other, sizeof(other), "%s/elsewhere", s->root);
	h = req("GET", other, NULL, NULL, NULL);
	assert_int_equal(h.status, 404);
	assert_string_equal(str_at(h.json, "error", "code"), "not_found");
	http_free(&h);

	char *err = sim_stop(s);
	assert_non_null(strstr(err, "runs created"));
	free(err);
}

static void test_idempotency_replay(void **st)
{
	struct sim *s = *st;
	sim_start(s, "--run-time 1s");
	struct http a = req("POST", create_url(s), CREATE_BODY, "fb1-replay-me", NULL);
	struct http b = req("POST", create_url(s), CREATE_BODY, "fb1-replay-me", NULL);
	assert_true(a.status == 200 || a.status == 201);
	assert_true(b.status == 200 || b.status == 201);
	assert_string_equal(str_at(a.json, "run_id", NULL), str_at(b.json, "run_id", NULL));
	assert_string_equal(b.hdr[H_REPLAYED], "true");
	http_free(&a);
	http_free(&b);

	assert_int_equal(stat_of(s, "runs_created", NULL), 1);
	assert_int_equal(stat_of(s, "keys", "fb1-replay-me"), 1);
	free(sim_stop(s));
}

static void test_api_key(void **st)
{
	struct sim *s = *st;
	sim_start(s, "--api-key sk_test_right");
	struct http h = req("POST", create_url(s), CREATE_BODY, NULL, "Bearer sk_test_wrong");
	assert_int_equal(h.status, 401);
	assert_string_equal(str_at(h.json, "error", "code"), "invalid_api_key");
	assert_non_null(str_at(h.json, "error", "message"));
	assert_memory_equal(h.hdr[H_REQID], "req_", 4);
	http_free(&h);

	h = req("POST", create_url(s), CREATE_BODY, NULL, NULL);
	assert_int_equal(h.status, 401);
	assert_string_equal(str_at(h.json, "error", "code"), "unauthorized");
	http_free(&h);

	struct http run = create_and_complete(s, "Bearer sk_test_right");
	assert_string_equal(str_at(run.json, "status", NULL), "completed");
	http_free(&run);
	free(sim_stop(s));

	/* The key from the environment, when --api-key is not given. */
	sim_start_env(s, "FLORASIM_API_KEY=sk_test_env", "");
	h = req("GET", create_url(s), NULL, NULL, "Bearer sk_test_right");
	assert_int_equal(h.status, 401);
	http_free(&h);
	free(sim_stop(s));
}

/* A create whose connection closes unanswered: the run exists only after a reset after acting. */
static void test_resets(void **st)
{
	struct sim *s = *st;
	static const struct {
		const char *args;
		long long runs;
	} cases[] = {{"--fault-reset-before 1", 0}, {"--fault-reset-after 1", 1}};
	for (size_t i = 0; i < 2; i++) {
		sim_start(s, cases[i].args);
		struct http h = req("POST", create_url(s), CREATE_BODY, "fb1-reset", NULL);
		assert_int_not_equal(h.rc, CURLE_OK);
		assert_int_equal(h.status, 0);
		http_free(&h);
		assert_int_equal(stat_of(s, "runs_created", NULL), cases[i].runs);
		free(sim_stop(s));
	}
}

static void test_download_faults(void **st)
{
	struct sim *s = *st;
	/* Truncated: half the body, then the connection closes; the next download is whole. */
	sim_start(s, "--run-time 100ms --fault-truncate 1");
	struct http run = create_and_complete(s, NULL);
	struct http cut = req("GET", first_output_url(&run), NULL, NULL, NULL);
	struct http whole = req("GET", first_output_url(&run), NULL, NULL, NULL);
	assert_int_equal(cut.rc, CURLE_PARTIAL_FILE);
	assert_int_equal(whole.rc, CURLE_OK);
	assert_memory_equal(whole.body.ptr, PNG_MAGIC, 8);
	assert_int_equal(cut.body.len, whole.body.len / 2);
	http_free(&cut);
	http_free(&whole);
	http_free(&run);
	free(sim_stop(s));

	/* Slow: whole, in 256-byte pieces 50 ms apart. */
	sim_start(s, "--run-time 100ms --fault-slow 1");
	run = create_and_complete(s, NULL);
	uint64_t t0 = now_ms();
	whole = req("GET", first_output_url(&run), NULL, NULL, NULL);
	uint64_t took = now_ms() - t0, pauses = (whole.body.len - 1) / 256;
	assert_int_equal(whole.rc, CURLE_OK);
	assert_memory_equal(whole.body.ptr, PNG_MAGIC, 8);
	if (took + 5 < pauses * 50)
		fail_msg("%zu bytes in %llu ms", whole.body.len, (unsigned long long)took);
	http_free(&whole);
	http_free(&run);
	free(sim_stop(s));
}

static void test_rate_limited(void **st)
{
	struct sim *s = *st;
	sim_start(s, "--rate-limit 1 --burst 1");
	char u[160];
	snprintf(u, sizeof(u), "%s/runs/run_nosuchrun", s->url);
	struct http a = req("GET", u, NULL, NULL, NULL);
	struct http b = req("GET", u, NULL, NULL, NULL);
	assert_int_equal(a.status, 404);
	assert_int_equal(b.status, 429);
	assert_string_equal(str_at(b.json, "error", "code"), "rate_limited");
	assert_true(atoi(b.hdr[H_RETRY]) >= 1);
	http_free(&a);
	http_free(&b);
	free(sim_stop(s));
}

/* Ten requests in flight at once with --latency 300ms finish together, not one after another. */
static void test_latency_does_not_serialise(void **st)
{
	struct sim *s = *st;
	sim_start(s, "--latency 300ms");
	char u[160];
	snprintf(u, sizeof(u), "%s/_sim/stats", s->url);
	enum { N = 10 };
	struct http hs[N];
	CURL *cs[N];
	CURLM *m = curl_multi_init();
	for (int i = 0; i < N; i++) {
		cs[i] = easy(&hs[i], "GET", u, NULL);
		curl_multi_add_handle(m, cs[i]);
	}
	uint64_t t0 = now_ms();
	int running = 1;
	while (running) {
		assert_int_equal(curl_multi_perform(m, &running), CURLM_OK);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	uint64_t took = now_ms() - t0;
	for (int i = 0; i < N; i++) {
		finish(&hs[i], cs[i]);
		assert_int_equal(hs[i].status, 200);
		curl_multi_remove_handle(m, cs[i]);
		curl_easy_cleanup(cs[i]);
		http_free(&hs[i]);
	}
	curl_multi_cleanup(m);
	if (took < 280 || took > 1500)
		fail_msg("10 requests at 300 ms latency took %llu ms", (unsigned long long)took);
	free(sim_stop(s));
}

/* One request against a server started with a flag, and what the flag must show. */
struct flag_case {
	const char *args, *method, *path, *body;
	long status;	   /* 0: any 5xx */
	const char *code;  /* error.code, or NULL */
	const char *field; /* a top-level field that must be there, or NULL */
	const char *ctype; /* the Content-Type's start, or NULL */
};

static void test_flags_reach_the_model(void **st)
{
	struct sim *s = *st;
	static const char *const runs = "/techniques/cctv-cam/runs";
	const struct flag_case cases[] = {
	    {"--credits 0.1", "POST", runs, CREATE_BODY, 402, "insufficient_credits", NULL, NULL},
	    {"--forbidden cctv-cam", "POST", runs, CREATE_BODY, 403, "forbidden", NULL, NULL},
	    {"--casing camel", "POST", runs, CREATE_BODY, 201, NULL, "runId", NULL},
	    {"--fault-5xx 1 --fault-html 1", "GET", "/techniques", NULL, 0, NULL, NULL,
	     "text/html"},
	    {"--fault-5xx 1", "GET", "/techniques", NULL, 0, NULL, "error", "application/json"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct flag_case *c = &cases[i];
		sim_start(s, c->args);
		char u[200];
		snprintf(u, sizeof(u), "%s%s", s->url, c->path);
		struct http h = req(c->method, u, c->body, NULL, NULL);
		if (c->status ? h.status != c->status : h.status < 500)
			fail_msg("%s: status %ld: %s", c->args, h.status, fb_buf_str(&h.body));
		if (c->code)
			assert_string_equal(str_at(h.json, "error", "code"), c->code);
		if (c->field)
			assert_non_null(
			    yajl_tree_get(h.json, (const char *[]){c->field, NULL}, yajl_t_any));
		if (c->ctype)
			assert_memory_equal(h.hdr[H_CTYPE], c->ctype, strlen(c->ctype));
		http_free(&h);
		free(sim_stop(s));
	}
}

static void test_more_flags(void **st)
{
	struct sim *s = *st;
	char u[200];
	/* The query string reaches the model as sent. */
	sim_start(s, "");
	snprintf(u, sizeof(u), "%s/techniques?limit=2", s->url);
	struct http h = req("GET", u, NULL, NULL, NULL);
	assert_int_equal(array_len(h.json, "techniques"), 2);
	http_free(&h);
	free(sim_stop(s));

	/* A repeated key under --duplicates conflict. */
	sim_start(s, "--duplicates conflict");
	h = req("POST", create_url(s), CREATE_BODY, "fb1-twice", NULL);
	http_free(&h);
	h = req("POST", create_url(s), CREATE_BODY, "fb1-twice", NULL);
	assert_int_equal(h.status, 409);
	assert_string_equal(str_at(h.json, "error", "code"), "idempotency_duplicate");
	http_free(&h);
	free(sim_stop(s));

	/* Every run fails; then every run completes with three outputs. */
	sim_start(s, "--run-time 0 --fail-rate 1");
	struct http run = create_and_complete(s, NULL);
	assert_string_equal(str_at(run.json, "status", NULL), "failed");
	assert_non_null(str_at(run.json, "error_code", NULL));
	http_free(&run);
	free(sim_stop(s));
	sim_start(s, "--run-time 0 --outputs 3");
	run = create_and_complete(s, NULL);
	assert_int_equal(array_len(run.json, "outputs"), 3);
	http_free(&run);
	free(sim_stop(s));
}

/* The same seed gives the same run ids; another seed, others. */
static void test_seed(void **st)
{
	struct sim *s = *st;
	char ids[3][64];
	const char *args[] = {"--seed 7", "--seed 7", "--seed 8"};
	for (int i = 0; i < 3; i++) {
		sim_start(s, args[i]);
		struct http h = req("POST", create_url(s), CREATE_BODY, "fb1-seeded", NULL);
		snprintf(ids[i], sizeof(ids[i]), "%s", str_at(h.json, "run_id", NULL));
		http_free(&h);
		free(sim_stop(s));
	}
	assert_string_equal(ids[0], ids[1]);
	assert_string_not_equal(ids[0], ids[2]);
}

/* --retain-runs: a run shown finished goes once newer ones are shown; its output stays. */
static void test_retain_runs(void **st)
{
	struct sim *s = *st;
	sim_start(s, "--run-time 0 --retain-runs 1");
	struct http a = create_and_complete(s, NULL);
	char poll[256], out[256];
	snprintf(poll, sizeof(poll), "%s", str_at(a.json, "poll_url", NULL));
	snprintf(out, sizeof(out), "%s", first_output_url(&a));
	http_free(&a);
	struct http first = req("GET", out, NULL, NULL, NULL);
	assert_int_equal(first.status, 200);
	for (int i = 0; i < 3; i++) {
		struct http b = create_and_complete(s, NULL);
		http_free(&b);
	}
	struct http h = req("GET", poll, NULL, NULL, NULL);
	assert_int_equal(h.status, 404);
	assert_string_equal(str_at(h.json, "error", "code"), "not_found");
	http_free(&h);
	h = req("GET", out, NULL, NULL, NULL);
	assert_int_equal(h.status, 200);
	assert_int_equal(h.body.len, first.body.len);
	assert_memory_equal(h.body.ptr, first.body.ptr, first.body.len);
	http_free(&h);
	http_free(&first);
	assert_true(stat_of(s, "runs_forgotten", NULL) >= 1);
	free(sim_stop(s));
}

static void test_bad_flags(void **st)
{
	(void)st;
	static const char *const cases[][2] = {
	    {"--fail-rate 2", "--fail-rate"},
	    {"--latency soon", "--latency"},
	    {"--casing kebab", "--casing"},
	    {"--port 70000", "--port"},
	    {"--nope", "--nope"},
	    {"--run-time", "--run-time"},
	    {"--retain-runs 0", "--retain-runs"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cmd[256], *err = NULL;
		snprintf(cmd, sizeof(cmd), "\"$FLORASIM_BIN\" %s --max-seconds 5", cases[i][0]);
		int rc = tu_run(cmd, NULL, &err);
		if (rc != 2 || !strstr(err, cases[i][1]))
			fail_msg("%s: status %d, stderr: %s", cases[i][0], rc, err);
		free(err);
	}
	char *out = NULL;
	assert_int_equal(tu_run("\"$FLORASIM_BIN\" --help", &out, NULL), 0);
	assert_non_null(strstr(out, "--fault-truncate"));
	free(out);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_run_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idempotency_replay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_download_faults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limited, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_latency_does_not_serialise, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flags_reach_the_model, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retain_runs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_more_flags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seed, setup, teardown),
	    cmocka_unit_test(test_bad_flags),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
