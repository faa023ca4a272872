/* Tests for the sim transport: list pages (filters, cursors, casing) through the transport. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simtfx.h"

#define LIST_MAX 100

/* What one list callback saw, copied out of the borrowed reply. */
struct lseen {
	int fired, ok, http_status;
	struct fb_err err;
	size_t n;
	char ids[LIST_MAX][40];
	enum fb_run_status status[LIST_MAX];
	int64_t created_at[LIST_MAX];
	char cursor[64]; /* "" when the page was the last */
	int has_cursor;
};

static void on_list(void *ud, const struct fb_list_reply *r)
{
	struct lseen *l = ud;
	l->fired++;
	l->ok = r->ok;
	l->http_status = r->http_status;
	l->err = r->err;
	l->n = r->nruns;
	assert_true(r->nruns <= LIST_MAX);
	for (size_t i = 0; i < r->nruns; i++) {
		snprintf(l->ids[i], sizeof(l->ids[i]), "%s", r->runs[i].run_id);
		l->status[i] = r->runs[i].status;
		l->created_at[i] = r->runs[i].created_at;
	}
	l->has_cursor = r->next_cursor != NULL;
	snprintf(l->cursor, sizeof(l->cursor), "%s", r->next_cursor ? r->next_cursor : "");
}

/* Lists one page through the transport, on the transport's own time. */
static void list_page(struct fx *f, const struct fb_list_query *q, struct lseen *l)
{
	struct fb_err err = {0};
	memset(l, 0, sizeof(*l));
	assert_int_equal(fb_transport_list_runs(f->t, q, on_list, l, &err), 0);
	assert_int_equal(l->fired, 0); /* never from inside the starting call */
	assert_int_equal(fb_transport_pending(f->t), 1);
	step_until(f, &l->fired);
	assert_int_equal(l->fired, 1);
	if (!l->ok)
		fail_msg("list: %s", l->err.msg);
}

static void test_list_pages_and_filters(void **state)
{
	(void)state;
	enum { N = 150, DONE = 60 };
	struct fx *f = fx_new(1, 5000, 0.0);
	static struct seen c[N];
	memset(c, 0, sizeof(c));
	/* Every third run is a sigil; the first DONE ones have ended by the time we list. */
	for (int i = 0; i < N; i++) {
		if (i == DONE)
			fb_clock_sleep_ms(f->clock, 10000);
		assert_int_equal(create(f, i % 3 ? "cctv-cam" : "sigil", NULL, &c[i]), 0);
		step_until(f, &c[i].fired);
		assert_true(c[i].ok);
		assert_true(c[i].created_at >= 0);
	}
	struct fb_simstats st;
	fb_simmodel_stats(fb_sim_transport_model(f->t), &st);
	uint64_t lists = st.lists;

	/* Page 1: the newest hundred, newest first, and a cursor. */
	struct fb_list_query q = {.kind = FB_JOB_TECHNIQUE};
	struct lseen p1, p2;
	list_page(f, &q, &p1);
	assert_int_equal(p1.http_status, 200);
	assert_int_equal(p1.n, 100);
	assert_true(p1.has_cursor);
	for (size_t i = 0; i < p1.n; i++) {
		assert_string_equal(p1.ids[i], c[N - 1 - i].run_id);
		assert_true(p1.created_at[i] == c[N - 1 - i].created_at);
		if (i)
			assert_true(p1.created_at[i] <= p1.created_at[i - 1]);
	}
	/* Page 2: the other fifty, and no cursor. */
	q.cursor = p1.cursor;
	list_page(f, &q, &p2);
	assert_int_equal(p2.n, N - 100);
	assert_false(p2.has_cursor);
	for (size_t i = 0; i < p2.n; i++)
		assert_string_equal(p2.ids[i], c[N - 101 - i].run_id);
	fb_simmodel_stats(fb_sim_transport_model(f->t), &st);
	assert_int_equal(st.lists, lists + 2); /* one request per page */

	/* Filters, read by the model at its now. */
	struct lseen l;
	struct fb_list_query sig = {.kind = FB_JOB_TECHNIQUE, .technique_id = "tech_sigil"};
	list_page(f, &sig, &l);
	assert_int_equal(l.n, N / 3);
	for (size_t i = 0; i < l.n; i++)
		assert_string_equal(l.ids[i], c[(N / 3 - 1 - i) * 3].run_id);
	struct fb_list_query done = {.kind = FB_JOB_TECHNIQUE, .status = "completed"};
	list_page(f, &done, &l);
	assert_int_equal(l.n, DONE);
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(l.status[i], FB_RUN_COMPLETED);
		assert_string_equal(l.ids[i], c[DONE - 1 - i].run_id);
	}
	struct fb_list_query both = {.kind = FB_JOB_TECHNIQUE_ID,
				     .technique_id = "tech_sigil",
				     .status = "completed",
				     .limit = 7};
	list_page(f, &both, &l);
	assert_int_equal(l.n, 7);
	assert_true(l.has_cursor);
	assert_string_equal(l.ids[0], c[57].run_id);
	char cur[64]; /* list_page clears l before it starts the request */
	snprintf(cur, sizeof(cur), "%s", l.cursor);
	both.cursor = cur;
	both.limit = 100;
	list_page(f, &both, &l);
	assert_int_equal(l.n, DONE / 3 - 7);
	assert_false(l.has_cursor);
	/* Generations are another list: none here. */
	struct fb_list_query gens = {.kind = FB_JOB_GENERATION};
	list_page(f, &gens, &l);
	assert_int_equal(l.n, 0);
	assert_false(l.has_cursor);
	fx_free(f);
}

static void test_list_generations_and_errors(void **state)
{
	(void)state;
	struct fx *f = fx_new(3, 0, 0.0);
	struct fb_run_request req = {.kind = FB_JOB_GENERATION,
				     .workspace_id = "ws_accept",
				     .project_id = "prj_accept",
				     .generation = "image",
				     .prompt = "a cat"};
	struct seen g = {.clock = f->clock};
	struct fb_err err = {0};
	assert_int_equal(fb_transport_create_run(f->t, &req, on_reply, &g, &err), 0);
	step_until(f, &g.fired);
	assert_true(g.ok);
	struct seen t = {0};
	assert_int_equal(create(f, "sigil", NULL, &t), 0);
	step_until(f, &t.fired);

	struct lseen l;
	struct fb_list_query q = {.kind = FB_JOB_GENERATION, .project_id = "prj_accept"};
	list_page(f, &q, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ids[0], g.run_id);
	assert_int_equal(l.status[0], FB_RUN_COMPLETED); /* run_ms 0: done when looked at */

	/* The API refuses a filter: the callback gets its error envelope. */
	struct fb_list_query bad = {.kind = FB_JOB_TECHNIQUE, .status = "exploded"};
	memset(&l, 0, sizeof(l));
	assert_int_equal(fb_transport_list_runs(f->t, &bad, on_list, &l, &err), 0);
	step_until(f, &l.fired);
	assert_false(l.ok);
	assert_int_equal(l.http_status, 400);
	assert_int_equal(l.err.code, FB_EHTTP);
	assert_int_equal(l.n, 0);
	assert_non_null(strstr(l.err.msg, "status"));

	/* A query that cannot be built is not started: no callback, ever. */
	struct fb_list_query huge = {.kind = FB_JOB_TECHNIQUE, .limit = 101};
	memset(&l, 0, sizeof(l));
	assert_int_equal(fb_transport_list_runs(f->t, &huge, on_list, &l, &err), FB_EINVAL);
	assert_int_equal(fb_transport_list_runs(f->t, NULL, on_list, &l, &err), FB_EINVAL);
	assert_int_equal(fb_transport_pending(f->t), 0);
	fb_transport_step(f->t, 100);
	assert_int_equal(l.fired, 0);

	/* Freed with a list pending: no callback, nothing leaked. */
	assert_int_equal(fb_transport_list_runs(f->t, &q, on_list, &l, &err), 0);
	fx_free(f);
	assert_int_equal(l.fired, 0);
}

/* camelCase answers page the same way (nextCursor, techniqueRunId). */
static void test_list_camel_case(void **state)
{
	(void)state;
	struct fx *f = fx_new_cased(1, 0, 0.0, FB_SIM_CAMEL);
	struct seen c[3] = {{0}};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(create(f, "sigil", NULL, &c[i]), 0);
		step_until(f, &c[i].fired);
	}
	struct lseen l;
	struct fb_list_query q = {.kind = FB_JOB_TECHNIQUE, .limit = 2};
	list_page(f, &q, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ids[0], c[2].run_id);
	assert_true(l.created_at[0] == c[2].created_at);
	assert_true(l.has_cursor);
	char cur[64]; /* list_page clears l before it starts the request */
	snprintf(cur, sizeof(cur), "%s", l.cursor);
	q.cursor = cur;
	list_page(f, &q, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ids[0], c[0].run_id);
	assert_false(l.has_cursor);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list_pages_and_filters),
	    cmocka_unit_test(test_list_generations_and_errors),
	    cmocka_unit_test(test_list_camel_case),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
