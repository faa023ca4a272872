/*
 * End-to-end: an API that answers badly or not at all. Each test runs
 * florabatch against hostsrv (hostfx.h), whose scenario is the row's
 * technique: a connection that never answers, answers a byte a second, a
 * 50 MB answer, JSON nested 100,000 deep, a create without a run id,
 * members of the wrong type, a status outside the contract's enum. Each
 * item must end failed with a reason that says what happened, in bounded
 * time and memory, and the batch must go on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hostfx.h"

#define TRICKLE_LEN 1000
#define HUGE_LEN    (50u << 20)

static void trickle_head(struct hs_server *s, int fd)
{
	static const char start[] = "HTTP/1.1 201 Created\r\nX-Slow: ";
	if (hs_write(fd, start, sizeof(start) - 1))
		return;
	while (!hs_pause(s, 1000) && !hs_write(fd, "x", 1))
		;
}

static unsigned char trickle_byte(size_t i)
{
	return (unsigned char)(i * 7 + 3);
}

/* The first 10 bytes at once, then a byte a second; a range asked for comes whole at once. */
static void trickle_body(struct hs_server *s, int fd, const struct hs_req *r)
{
	unsigned char body[TRICKLE_LEN];
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = trickle_byte(i);
	const char *range = strstr(r->head, "\r\nRange: bytes=");
	char head[256];
	if (range) {
		size_t from = strtoul(range + 15, NULL, 10);
		if (from >= sizeof(body))
			return;
		snprintf(
		    head, sizeof(head),
		    "HTTP/1.1 206 Partial\r\nContent-Type: image/png\r\nContent-Length: %zu\r\n"
		    "Content-Range: bytes %zu-%zu/%zu\r\nConnection: close\r\n\r\n",
		    sizeof(body) - from, from, sizeof(body) - 1, sizeof(body));
		if (!hs_write(fd, head, strlen(head)))
			hs_write(fd, body + from, sizeof(body) - from);
		return;
	}
	snprintf(head, sizeof(head),
		 "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n",
		 sizeof(body));
	if (hs_write(fd, head, strlen(head)) || hs_write(fd, body, 10))
		return;
	for (size_t i = 10; i < sizeof(body) && !hs_pause(s, 1000); i++)
		if (hs_write(fd, body + i, 1))
			return;
}

/* 50 MB of one JSON object, sent until the client stops reading. */
static void huge(int fd)
{
	static const char start[] = "{\"run_id\":\"run_huge\",\"pad\":\"";
	char head[256], chunk[65536];
	snprintf(head, sizeof(head),
		 "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
		 "Content-Length: %u\r\nConnection: close\r\n\r\n%s",
		 HUGE_LEN, start);
	memset(chunk, 'a', sizeof(chunk));
	if (hs_write(fd, head, strlen(head)))
		return;
	for (size_t left = HUGE_LEN - (sizeof(start) - 1) - 2; left;) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
		if (hs_write(fd, chunk, n))
			return;
		left -= n;
	}
	hs_write(fd, "\"}", 2);
}

/* [[[ ... ]]] depth deep: valid JSON, and a stack overflow for a recursive reader. */
static void deep(int fd, int status, size_t depth)
{
	char *b = malloc(2 * depth);
	if (!b)
		return;
	memset(b, '[', depth);
	memset(b + depth, ']', depth);
	hs_reply(fd, status, "application/json", NULL, b, 2 * depth);
	free(b);
}

static void json(int fd, int status, const char *body)
{
	hs_reply(fd, status, "application/json", NULL, body, strlen(body));
}

static void handler(struct hs_server *s, void *ud, int fd, const struct hs_req *r)
{
	(void)ud;
	char tech[64] = "", run[64] = "";
	const char *t = r->target;
	if (!strcmp(t, "/files/trickle.png")) {
		trickle_body(s, fd, r);
		return;
	}
	if (sscanf(t, "/api/v1/techniques/%63[^/]/runs/%63s", tech, run) == 2) {
		if (!strcmp(tech, "wrongtypes"))
			json(fd, 200,
			     "{\"run_id\":\"run_w\",\"status\":\"completed\",\"progress\":\"all\","
			     "\"outputs\":{\"url\":\"http://127.0.0.1:1/x.png\"}}");
		else if (!strcmp(tech, "paused"))
			json(fd, 200,
			     "{\"run_id\":\"run_p\",\"status\":\"paused\",\"progress\":50}");
		else
			json(fd, 404,
			     "{\"error\":{\"code\":\"not_found\",\"message\":\"no run\"}}");
		return;
	}
	if (sscanf(t, "/api/v1/techniques/%63[^/]/runs", tech) != 1) {
		json(fd, 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no route\"}}");
		return;
	}
	char url[128];
	const char *urls[] = {url, NULL};
	if (!strcmp(tech, "never"))
		hs_hold(s, fd);
	else if (!strcmp(tech, "trickle-head"))
		trickle_head(s, fd);
	else if (!strcmp(tech, "trickle-body")) {
		snprintf(url, sizeof(url), "%s/files/trickle.png", hs_root(s));
		hw_completed_run(fd, urls);
	} else if (!strcmp(tech, "huge"))
		huge(fd);
	else if (!strcmp(tech, "deep"))
		deep(fd, 201, 100000);
	else if (!strcmp(tech, "deeperr")) /* an error answer, read as an envelope first */
		deep(fd, 500, 1000000);
	else if (!strcmp(tech, "norunid"))
		json(fd, 201, "{\"status\":\"running\",\"poll_url\":\"/api/v1/x\"}");
	else if (!strcmp(tech, "wrongtypes"))
		json(fd, 201, "{\"run_id\":\"run_w\",\"status\":\"running\"}");
	else if (!strcmp(tech, "paused"))
		json(fd, 201, "{\"run_id\":\"run_p\",\"status\":\"running\"}");
	else
		json(fd, 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no technique\"}}");
}

static int setup(void **state)
{
	hw_start(state, handler);
	return 0;
}

/*
 * A server that accepts the connection and never answers: each try ends
 * at --request-timeout, the retry too, and the item fails saying so, in
 * the time the two tries take.
 */
static void test_never_answers(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "n1,never", "--request-timeout 1s --retries 1");
	print_message("never answers: florabatch ended after %lld ms\n", w->ms);
	assert_int_equal(w->r.status, 1);
	const char *msg = hw_failed(w, "n1", "transport_error", "--request-timeout");
	assert_non_null(strstr(msg, "POST /techniques/never/runs"));
	assert_int_equal(hs_count(w->api, "POST /api/v1/techniques/never/runs"), 2);
	assert_true(w->ms >= 2000);
	/* Under valgrind a start alone takes seconds: only the lower bound holds. */
	assert_true(e2e_wrapped() || w->ms < 6000);
}

/*
 * A byte a second: in the headers of a create's answer (no retry: the
 * item fails), and in the body of a download (cut, then resumed from the
 * bytes it had). Both are cut by --stall-timeout, long before the
 * request timeout, and the reason names it.
 */
static void test_trickle(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "head,trickle-head\nbody,trickle-body",
	       "--stall-timeout 1s --request-timeout 30s --retries 0 --verbose --outputs-dir "
	       "plain");
	print_message("a byte a second: florabatch ended after %lld ms\n", w->ms);
	hw_failed(w, "head", "transport_error", "--stall-timeout");
	hw_completed(w, "body");
	/* The download was cut once for its stall, and resumed where it stopped. */
	assert_non_null(strstr(w->r.err, "--stall-timeout, 1 s); download retry 1 from byte "));
	assert_int_equal(hs_count(w->api, "GET /files/trickle.png"), 2);
	assert_int_equal(hs_count(w->api, "\r\nRange: bytes="), 1);
	char *p = tu_path(w->dir, "plain/body/o1.png");
	size_t len = 0;
	unsigned char *b = (unsigned char *)tu_read_file(p, &len);
	assert_int_equal(len, TRICKLE_LEN);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(b[i], trickle_byte(i));
	free(b);
	free(p);
	assert_true(e2e_wrapped() || w->ms < 8000); /* not under valgrind, as above */
}

/* A 50 MB create answer: read no further than the 8 MiB cap, and the item fails. */
static void test_huge_answer(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "big,huge", "--retries 1");
	hw_failed(w, "big", "too_big", "the answer is over 8 MiB");
	assert_int_equal(hs_count(w->api, "POST /api/v1/techniques/huge/runs"),
			 1); /* not retried */
	double rss = hw_peak_rss_mib(w);
	print_message("a 50 MB answer: peak RSS %.1f MiB, %lld ms\n", rss, w->ms);
	if (E2E_MEASURED)
		assert_true(rss > 0 && rss < 40);
}

/*
 * [[[...]]] 100,000 deep as a create answer, and 1,000,000 deep as a 500's
 * body (which crashed florabatch): no crash, and neither is a run.
 */
static void test_deep_nesting(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "d1,deep\nd2,deeperr", "--retries 1");
	hw_failed(w, "d1", "parse_error", "not a JSON object");
	hw_failed(w, "d2", "http_error", "HTTP 500: [[[[");
	assert_int_equal(hs_count(w->api, "POST /api/v1/techniques/deep/runs"), 2);
	assert_int_equal(hs_count(w->api, "POST /api/v1/techniques/deeperr/runs"), 2);
}

static void test_create_without_run_id(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "r1,norunid", "--retries 1");
	hw_failed(w, "r1", "parse_error", "no run id");
	assert_int_equal(hs_count(w->api, "POST /api/v1/techniques/norunid/runs"), 2);
	assert_int_equal(hs_count(w->api, "GET "), 0); /* nothing to poll */
}

/* A poll answer whose outputs are an object: the run is never taken for completed. */
static void test_wrong_types(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "w1,wrongtypes", "--retries 1");
	hw_failed(w, "w1", "parse_error", "outputs is not an array");
	assert_int_equal(hs_count(w->api, "GET /api/v1/techniques/wrongtypes/runs/run_w"), 2);
	assert_int_equal(hs_count(w->api, "127.0.0.1:1"), 0);
}

/* "paused" is not a status of the contract: the item fails naming it. */
static void test_status_outside_enum(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "p1,paused", "--retries 1");
	hw_failed(w, "p1", "parse_error", "unknown run status: paused");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_never_answers, setup, hw_teardown),
	    cmocka_unit_test_setup_teardown(test_trickle, setup, hw_teardown),
	    cmocka_unit_test_setup_teardown(test_huge_answer, setup, hw_teardown),
	    cmocka_unit_test_setup_teardown(test_deep_nesting, setup, hw_teardown),
	    cmocka_unit_test_setup_teardown(test_create_without_run_id, setup, hw_teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_types, setup, hw_teardown),
	    cmocka_unit_test_setup_teardown(test_status_outside_enum, setup, hw_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
