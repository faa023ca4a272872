/*
 * End-to-end: florasim's server-side open points over real sockets: each
 * answer's latency drawn from a range, a slow tail one answer in a hundred,
 * and keep-alive connections the server closes now and then. One curl
 * handle, reused, as a client's connection pool would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "testutil.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

struct timing {
	long ms[400];
	int n;
	long connects; /* new connections the handle had to make */
};

static struct timing hammer(const char *args, int n)
{
	struct timing t = {0};
	struct e2e_sim s = e2e_florasim_start(args);
	char url[128];
	snprintf(url, sizeof(url), "%s/workspaces", s.base);
	CURL *c = curl_easy_init();
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	for (int i = 0; i < n; i++) {
		long long t0 = e2e_now_ms();
		assert_int_equal(curl_easy_perform(c), CURLE_OK);
		long status = 0, conns = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		assert_int_equal(status, 200);
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
		t.connects += conns;
		t.ms[t.n++] = (long)(e2e_now_ms() - t0);
	}
	curl_easy_cleanup(c);
	e2e_florasim_stop(&s);
	return t;
}

static void test_latency_range(void **state)
{
	(void)state;
	struct timing t = hammer("--quiet --latency 40-120ms", 40);
	long lo = 1000000, hi = 0, sum = 0;
	for (int i = 0; i < t.n; i++) {
		lo = t.ms[i] < lo ? t.ms[i] : lo;
		hi = t.ms[i] > hi ? t.ms[i] : hi;
		sum += t.ms[i];
	}
	print_message("latency 40-120ms: min %ld, max %ld, mean %ld ms\n", lo, hi, sum / t.n);
	assert_true(lo >= 40);
	assert_true(hi - lo >= 30);			  /* spread, not one fixed delay */
	assert_true(sum / t.n >= 60 && sum / t.n <= 140); /* about 80; a busy machine adds */
}

static void test_latency_tail(void **state)
{
	(void)state;
	struct timing t = hammer("--quiet --latency 0-2ms --latency-p99 400ms", 300);
	int slow = 0;
	for (int i = 0; i < t.n; i++)
		slow += t.ms[i] >= 400;
	print_message("p99 400ms over 300 answers: %d slow\n", slow);
	assert_true(slow >= 1 && slow <= 12);
}

static void test_keep_alive_closes(void **state)
{
	(void)state;
	struct timing kept = hammer("--quiet", 40);
	struct timing t = hammer("--quiet --close-rate 0.5", 40);
	print_message("connections: %ld kept alive, %ld with --close-rate 0.5\n", kept.connects,
		      t.connects);
	assert_int_equal(kept.connects, 1);
	assert_true(t.connects >= 10 && t.connects <= 35); /* every answer still arrived */
}

static void test_flags_checked(void **state)
{
	(void)state;
	const char *bad[] = {"--latency 300-100ms", "--latency x-1s", "--close-rate 2",
			     "--estimate maybe",    "--page-cap 0",   "--run-time-sigma -1",
			     "--run-time-by time"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "'%s' %s >/dev/null 2>&1", tu_env("FLORASIM_BIN"),
			 bad[i]);
		int rc = system(cmd);
		if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 2)
			fail_msg("florasim %s: exit %d, want 2", bad[i], WEXITSTATUS(rc));
	}
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_latency_range),
	    cmocka_unit_test(test_latency_tail),
	    cmocka_unit_test(test_keep_alive_closes),
	    cmocka_unit_test(test_flags_checked),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
