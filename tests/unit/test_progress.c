/*
 * progress: the line says done / total and percent, completed and failed,
 * in flight, the rate, the ETA, money against the cap and 429 waits, and a
 * shard which it is (shard K/N: M of T items); a stream says what was read
 * instead of a total; auto means the line only on a terminal that can
 * redraw it; JSONL events are JSON, one a second.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "progress.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

static struct fb_progress_snap snap(void)
{
	struct fb_progress_snap s;
	memset(&s, 0, sizeof(s));
	s.max_cost = -1;
	return s;
}

static void test_line_for_a_file(void **st)
{
	(void)st;
	struct fb_progress_snap s = snap();
	s.total = 2000;
	s.read = 600;
	s.done_before = 100;
	s.completed = 380;
	s.failed = 20;
	s.in_flight = 16;
	s.cost = 12.5;
	s.max_cost = 50;
	s.throttled_ms = 12000;
	char line[512];
	fb_progress_format(line, sizeof(line), &s, 85, 1500 * 60.0 / 85, 0);
	assert_non_null(strstr(line, "500/2000 25.0%"));
	assert_non_null(strstr(line, "380 completed, 20 failed"));
	assert_non_null(strstr(line, "16 in flight"));
	assert_non_null(strstr(line, "85/min"));
	assert_non_null(strstr(line, "ETA 17m39s"));
	assert_non_null(strstr(line, "$12.50 of $50.00"));
	assert_non_null(strstr(line, "429 wait 12s"));
	assert_null(strstr(line, "\033"));
	fb_progress_format(line, sizeof(line), &s, 85, 1058, 1);
	assert_non_null(strstr(line, "\033[31m20 failed\033[0m"));
}

static void test_line_for_a_stream(void **st)
{
	(void)st;
	struct fb_progress_snap s = snap();
	s.read = 42;
	s.completed = 30;
	s.in_flight = 12;
	char line[512];
	fb_progress_format(line, sizeof(line), &s, 10, -1, 0);
	assert_non_null(strstr(line, "30 done of 42 read"));
	assert_null(strstr(line, "ETA"));
	assert_null(strstr(line, "$")); /* nothing charged, no cap */
	assert_null(strstr(line, "failed"));
}

static void test_line_for_a_shard(void **st)
{
	(void)st;
	struct fb_progress_snap s = snap();
	s.shard_index = 2;
	s.shard_count = 4;
	s.read = 130;
	s.manifest_read = 500;
	s.total = 260;
	s.completed = 100;
	char line[512];
	fb_progress_format(line, sizeof(line), &s, 10, -1, 0);
	assert_non_null(strstr(line, "shard 2/4: 130 of 500 items · 100/260 38.5%"));
	s.shard_count = 0; /* no --shard: no word of shards */
	fb_progress_format(line, sizeof(line), &s, 10, -1, 0);
	assert_null(strstr(line, "shard"));
}

static void test_auto_mode(void **st)
{
	(void)st;
	enum fb_progress_mode m;
	assert_int_equal(fb_progress_mode_parse("auto", 1, "xterm-256color", &m), 0);
	assert_int_equal(m, FB_PROGRESS_BAR);
	assert_int_equal(fb_progress_mode_parse("auto", 0, "xterm", &m), 0);
	assert_int_equal(m, FB_PROGRESS_NONE); /* a pipe, cron */
	assert_int_equal(fb_progress_mode_parse("auto", 1, "dumb", &m), 0);
	assert_int_equal(m, FB_PROGRESS_NONE);
	assert_int_equal(fb_progress_mode_parse("jsonl", 0, NULL, &m), 0);
	assert_int_equal(m, FB_PROGRESS_JSONL);
	assert_int_equal(fb_progress_mode_parse("sometimes", 1, NULL, &m), -1);
}

/* JSONL: one event a second however often it is asked, each a JSON object; the last forced. */
static void test_jsonl_events(void **st)
{
	(void)st;
	char *dir = tu_tmpdir(), *path = tu_path(dir, "err");
	FILE *f = fopen(path, "w+");
	struct fb_log *log = fb_log_new(f, FB_LOG_WARN, 0);
	struct fb_progress *p = fb_progress_new(FB_PROGRESS_JSONL, log, 0, 0);
	struct fb_progress_snap s = snap();
	s.total = 100;
	for (uint64_t t = 0; t <= 10000; t += 50) { /* 10 s, asked 20 times a second */
		s.now_ms = t;
		s.read = t / 100;
		s.completed = t / 200;
		s.cost = 0.1 * (double)s.completed;
		fb_progress_update(p, &s, 0);
	}
	fb_progress_update(p, &s, 1);
	fb_progress_free(p);
	fb_log_free(log);
	fclose(f);
	char *text = tu_read_file(path, NULL);
	assert_non_null(text);
	int n = 0, ends = 0;
	double last_rate = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char ebuf[128];
		yajl_val v = yajl_tree_parse(line, ebuf, sizeof(ebuf));
		assert_true(YAJL_IS_OBJECT(v));
		const char *ev[] = {"event", NULL}, *rate[] = {"per_min", NULL},
			   *cost[] = {"cost", NULL};
		const char *event = YAJL_GET_STRING(yajl_tree_get(v, ev, yajl_t_string));
		assert_non_null(event);
		ends += !strcmp(event, "end");
		last_rate = YAJL_GET_DOUBLE(yajl_tree_get(v, rate, yajl_t_number));
		yajl_val c = yajl_tree_get(v, cost, yajl_t_number);
		assert_non_null(c);
		assert_null(strstr(YAJL_GET_NUMBER(c), "0000")); /* no float dust */
		yajl_tree_free(v);
		n++;
	}
	assert_in_range(n, 10, 12);
	assert_int_equal(ends, 1);
	assert_true(last_rate > 290 && last_rate < 310); /* 5 a second */
	free(text);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_line_for_a_file),  cmocka_unit_test(test_line_for_a_stream),
	    cmocka_unit_test(test_line_for_a_shard), cmocka_unit_test(test_auto_mode),
	    cmocka_unit_test(test_jsonl_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
