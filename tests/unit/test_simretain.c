/*
 * Tests for the simulator's retention (cfg.retain_runs): which runs are
 * forgotten and when, what a forgotten run still answers (its outputs),
 * what it no longer does (polls, lists, its idempotency key), that memory
 * stays bounded, and that list pages filter by status and resume from a
 * cursor newest first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simcore.h"
#include "simfx.h"

#define NESTED                                                                                     \
	"{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://e.x/"      \
	"a.png\"}],\"mode\":\"async\"}"

static struct sfx *with_retention(uint64_t retain, uint64_t run_ms)
{
	struct fb_simmodel_config c = sfx_config();
	c.retain_runs = retain;
	c.run_ms = run_ms;
	return sfx_new(&c);
}

/* Creates a run with key (NULL: none); its id goes to id. */
static const char *create(struct sfx *f, const char *key, char id[32])
{
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", key, NESTED), 201);
	snprintf(id, 32, "%s", sfx_str(f->v, "run_id"));
	return id;
}

static int poll_status(struct sfx *f, const char *id)
{
	return sfx_get(f, sfx_fmt(f, "/runs/%s", id));
}

static void test_forgets_the_oldest_shown_terminal(void **state)
{
	(void)state;
	struct sfx *f = with_retention(3, 0);
	char ids[10][32], key[16];
	struct fb_buf first = FB_BUF_INIT;
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		create(f, key, ids[i]);
		assert_int_equal(poll_status(f, ids[i]), 200); /* shown completed */
		assert_string_equal(sfx_str(f->v, "status"), "completed");
		if (i == 0) {
			assert_int_equal(
			    sfx_get(f, sfx_fmt(f, "/_sim/outputs/%s/out_1.png", ids[0])), 200);
			assert_int_equal(fb_buf_add(&first, f->r.body.ptr, f->r.body.len), 0);
		}
	}
	/* Reaping happens on create: runs 6..9 stay (three shown before the last create, and it).
	 */
	for (int i = 0; i < 10; i++)
		assert_int_equal(poll_status(f, ids[i]), i < 6 ? 404 : 200);
	assert_int_equal(poll_status(f, ids[0]), 404);
	sfx_assert_error(f, 404, "not_found");

	/* The forgotten run's output still downloads, byte for byte. */
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/_sim/outputs/%s/out_1.png", ids[0])), 200);
	assert_string_equal(f->r.content_type, "image/png");
	assert_int_equal(f->r.body.len, first.len);
	assert_memory_equal(f->r.body.ptr, first.ptr, first.len);
	/* Only its own outputs, and only with the right extension. */
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/_sim/outputs/%s/out_2.png", ids[0])), 404);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/_sim/outputs/%s/out_1.mp4", ids[0])), 404);

	/* Its key went with it: the same key makes a new run. */
	struct fb_simstats st;
	fb_simmodel_stats(f->m, &st);
	uint64_t dups = st.duplicate_keys, made = st.runs_created;
	assert_true(st.runs_forgotten >= 6);
	char again[32];
	create(f, "k0", again);
	assert_false(f->r.replayed);
	assert_string_not_equal(again, ids[0]);
	fb_simmodel_stats(f->m, &st);
	assert_int_equal(st.duplicate_keys, dups);
	assert_int_equal(st.runs_created, made + 1);
	/* A kept run's key still replays. */
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", "k9", NESTED), 200);
	assert_true(f->r.replayed);
	assert_string_equal(sfx_str(f->v, "run_id"), ids[9]);
	fb_buf_release(&first);
	sfx_free(f);
}

/* A run nobody has seen finished is never forgotten, however many others end. */
static void test_unseen_runs_are_kept(void **state)
{
	(void)state;
	struct sfx *f = with_retention(2, 0);
	char quiet[32], id[32];
	create(f, NULL, quiet);
	for (int i = 0; i < 20; i++) {
		create(f, NULL, id);
		assert_int_equal(poll_status(f, id), 200);
	}
	assert_int_equal(poll_status(f, quiet), 200);
	assert_string_equal(sfx_str(f->v, "status"), "completed");
	/* Shown now: it goes once two more have been shown after it. */
	for (int i = 0; i < 3; i++) {
		create(f, NULL, id);
		assert_int_equal(poll_status(f, id), 200);
	}
	assert_int_equal(poll_status(f, quiet), 404);
	sfx_free(f);
}

/* Forgotten runs leave the lists; what the lists count is what is kept. */
static void test_forgotten_runs_leave_lists(void **state)
{
	(void)state;
	struct sfx *f = with_retention(4, 0);
	char ids[12][32];
	for (int i = 0; i < 12; i++) {
		create(f, NULL, ids[i]);
		assert_int_equal(poll_status(f, ids[i]), 200);
	}
	assert_int_equal(sfx_get(f, "/technique-runs?limit=100"), 200);
	yajl_val items = sfx_at(f->v, "technique_runs", NULL);
	assert_int_equal(items->u.array.len, 5); /* four shown before the last create, and it */
	for (size_t i = 0; i < items->u.array.len; i++)
		assert_string_equal(sfx_str(items->u.array.values[i], "run_id"), ids[11 - i]);
	assert_int_equal(sfx_int(sfx_at(f->v, "meta", NULL), "total_estimate"), 5);
	sfx_free(f);
}

/* Memory follows the runs in play: the pool stays small over many runs. */
static void test_memory_is_bounded(void **state)
{
	(void)state;
	struct sfx *f = with_retention(16, 0);
	char id[32];
	for (int i = 0; i < 5000; i++) {
		create(f, sfx_fmt(f, "key-%d", i), id);
		assert_int_equal(poll_status(f, id), 200);
	}
	const struct fb_simstore *st = &f->m->store;
	assert_true(st->cap <= 64);
	assert_true(st->ocap <= 64);
	assert_true(st->scap <= 64);
	assert_true(f->m->by_id.cap <= 128);
	assert_true(f->m->by_key.cap <= 128);
	assert_true(f->m->by_id.n <= 17);
	assert_int_equal(f->m->store.forgotten, 5000 - 17);
	sfx_free(f);
}

/* Ids are unique, and only this model's own ids reach a forgotten run's outputs. */
static void test_ids_are_checked(void **state)
{
	(void)state;
	struct sfx *f = with_retention(1, 0);
	static char ids[2000][32];
	for (int i = 0; i < 2000; i++) {
		create(f, NULL, ids[i]);
		assert_int_equal(strlen(ids[i]), 24);
		assert_int_equal(strspn(ids[i] + 4, "0123456789abcdefghijklmnopqrstuvwxyz"), 20);
		assert_int_equal(poll_status(f, ids[i]), 200);
	}
	for (int i = 0; i < 2000; i++)
		for (int j = i + 1; j < i + 50 && j < 2000; j++)
			assert_string_not_equal(ids[i], ids[j]);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/_sim/outputs/%s/out_1.png", ids[5])), 200);
	char bad[32];
	snprintf(bad, sizeof(bad), "%s", ids[5]);
	bad[10] = bad[10] == 'a' ? 'b' : 'a';
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/_sim/outputs/%s/out_1.png", bad)), 404);
	snprintf(bad, sizeof(bad), "%s", ids[5]);
	bad[23] = bad[23] == 'a' ? 'b' : 'a';
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/_sim/outputs/%s/out_1.png", bad)), 404);
	/* Another seed's model does not take them. */
	struct fb_simmodel_config c = sfx_config();
	c.seed = 8;
	struct sfx *g = sfx_new(&c);
	assert_int_equal(sfx_get(g, sfx_fmt(g, "/_sim/outputs/%s/out_1.png", ids[5])), 404);
	sfx_free(g);
	sfx_free(f);
}

/* A forgotten failed run has no outputs; a forgotten text generation's text went with it. */
static void test_forgotten_failed_and_text(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	c.retain_runs = 1;
	c.run_ms = 0;
	c.fail_rate = 1.0;
	struct sfx *f = sfx_new(&c);
	char failed[32], id[32];
	create(f, NULL, failed);
	assert_int_equal(poll_status(f, failed), 200);
	assert_string_equal(sfx_str(f->v, "status"), "failed");
	for (int i = 0; i < 3; i++) {
		create(f, NULL, id);
		assert_int_equal(poll_status(f, id), 200);
	}
	assert_int_equal(poll_status(f, failed), 404);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/_sim/outputs/%s/out_1.png", failed)), 404);
	sfx_free(f);

	f = with_retention(1, 0);
	assert_int_equal(sfx_post(f, "/generate", NULL,
				  "{\"type\":\"text\",\"prompt\":\"a kite\",\"workspace_id\":"
				  "\"ws_accept\",\"project_id\":\"prj_accept\"}"),
			 201);
	char text[32];
	snprintf(text, sizeof(text), "%s", sfx_str(f->v, "run_id"));
	assert_int_equal(poll_status(f, text), 200);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/_sim/outputs/%s/out_1.txt", text)), 200);
	for (int i = 0; i < 3; i++) {
		create(f, NULL, id);
		assert_int_equal(poll_status(f, id), 200);
	}
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/_sim/outputs/%s/out_1.txt", text)), 404);
	sfx_free(f);
}

/*
 * The batch poll: GET /technique-runs?status=completed pages newest first,
 * and the cursor goes on where the last page ended, while runs keep ending.
 */
static void test_status_filter_pages_newest_first(void **state)
{
	(void)state;
	struct sfx *f = with_retention(0, 1000);
	static char ids[60][32];
	for (int i = 0; i < 60; i++) {
		create(f, NULL, ids[i]);
		fb_clock_sleep_ms(f->clock, 25); /* run i ends at 25 i + 1000 */
	}
	/* Now 1500 + 0: runs 0..20 have ended (25 * 20 + 1000 = 1500), 21..59 have not. */
	fb_clock_sleep_ms(f->clock, 1500 - 60 * 25);
	char cursor[64] = "";
	int seen = 0;
	long long prev_created = -1;
	uint64_t t0 = fb_clock_wall_ms(f->clock) - 1500;
	do {
		const char *path =
		    cursor[0]
			? sfx_fmt(f, "/technique-runs?status=completed&limit=8&cursor=%s", cursor)
			: "/technique-runs?status=completed&limit=8";
		assert_int_equal(sfx_get(f, path), 200);
		yajl_val items = sfx_at(f->v, "technique_runs", NULL);
		for (size_t i = 0; i < items->u.array.len; i++, seen++) {
			yajl_val r = items->u.array.values[i];
			assert_string_equal(sfx_str(r, "status"), "completed");
			assert_string_equal(sfx_str(r, "run_id"), ids[20 - seen]);
			long long created = sfx_int(r, "created_at");
			assert_int_equal(created, (long long)t0 + 25 * (20 - seen));
			assert_true(prev_created < 0 || created < prev_created);
			prev_created = created;
		}
		yajl_val next = sfx_at(f->v, "meta", "next_cursor");
		if (YAJL_IS_STRING(next))
			snprintf(cursor, sizeof(cursor), "%s", next->u.string);
		else
			cursor[0] = '\0';
		/* Between pages, more runs end: the cursor's page does not change for it. */
		fb_clock_sleep_ms(f->clock, 100);
	} while (cursor[0]);
	assert_int_equal(seen, 21);
	/* The runs still going, by another filter. */
	assert_int_equal(sfx_get(f, "/technique-runs?status=running&limit=100"), 200);
	yajl_val items = sfx_at(f->v, "technique_runs", NULL);
	assert_true(items->u.array.len > 0);
	for (size_t i = 1; i < items->u.array.len; i++)
		assert_true(sfx_int(items->u.array.values[i - 1], "created_at") >
			    sfx_int(items->u.array.values[i], "created_at"));
	/* A cursor from outside the runs made is refused. */
	char far[32];
	fb_sim_cursor(1000, far);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/technique-runs?cursor=%s", far)), 400);
	sfx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forgets_the_oldest_shown_terminal),
	    cmocka_unit_test(test_unseen_runs_are_kept),
	    cmocka_unit_test(test_forgotten_runs_leave_lists),
	    cmocka_unit_test(test_memory_is_bounded),
	    cmocka_unit_test(test_ids_are_checked),
	    cmocka_unit_test(test_forgotten_failed_and_text),
	    cmocka_unit_test(test_status_filter_pages_newest_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
