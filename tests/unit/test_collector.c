/*
 * collector: the record, the spool and the archive across invocations: a
 * torn last line is cut, what the record holds is done, names stay unique
 * across invocations, and the archive holds every output exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collector.h"
#include "volumes.h"
#include "sha256.h"
#include "testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct paths {
	char *dir, *record, *spool, *archive, *volumes;
};

static struct paths make_paths(void)
{
	struct paths p;
	p.dir = tu_tmpdir();
	p.record = tu_path(p.dir, "results.jsonl");
	p.spool = tu_path(p.dir, "spool.dat");
	p.archive = tu_path(p.dir, "outputs.tar.gz");
	p.volumes = tu_path(p.dir, "volumes.jsonl");
	return p;
}

static void free_paths(struct paths *p)
{
	tu_rmrf(p->dir);
	free(p->dir);
	free(p->record);
	free(p->spool);
	free(p->archive);
	free(p->volumes);
}

static struct fb_collector *open_archive(const struct paths *p, int fresh, int archive)
{
	struct fb_collector *c = NULL;
	struct fb_err e = {0};
	struct fb_collector_config cfg = {.record_path = p->record,
					  .spool_path = p->spool,
					  .archive_path = archive ? p->archive : NULL,
					  .volumes_path = p->volumes,
					  .mtime_s = 1,
					  .fresh = fresh};
	assert_int_equal(fb_collector_open(&c, &cfg, &e), 0);
	return c;
}

static struct fb_collector *open_c(const struct paths *p, int fresh)
{
	return open_archive(p, fresh, 1);
}

/* One completed item with one output whose bytes are text. */
static void complete(struct fb_collector *c, const char *id, const char *key, const char *text)
{
	struct fb_err e = {0};
	struct fb_buf path = FB_BUF_INIT;
	struct fb_result_output o = {
	    .output_id = "out_1", .type = "imageUrl", .bytes = strlen(text)};
	assert_int_equal(fb_sha256_hex(text, strlen(text), o.sha256), 0);
	assert_int_equal(
	    fb_collector_add_output(c, id, "out_1", "png", text, strlen(text), o.sha256, &path, &e),
	    0);
	o.path = path.ptr;
	struct fb_result r = {.id = id,
			      .status = FB_STATUS_COMPLETED,
			      .idempotency_key = key,
			      .outputs = &o,
			      .noutputs = 1};
	assert_int_equal(fb_collector_write(c, &r, &e), 0);
	fb_buf_release(&path);
}

/*
 * An invocation that dies before its volume: a child completes the items
 * (id, key and text, three strings a row, NULL-ended), makes them durable
 * and leaves without closing, as a crash would.
 */
static void crashed(const struct paths *p, const char *const *rows)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fb_err e = {0};
		struct fb_collector *c = open_c(p, 0);
		for (; rows[0]; rows += 3)
			complete(c, rows[0], rows[1], rows[2]);
		_exit(fb_collector_sync(c, &e) ? 1 : 0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static size_t volume_entries(const char *path, const char *name, const char *want)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	assert_int_equal(archive_read_open_filename(a, path, 4096), ARCHIVE_OK);
	struct archive_entry *e;
	size_t total = 0, named = 0;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char buf[256] = "";
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf) - 1);
		total++;
		if (name && !strcmp(archive_entry_pathname(e), name)) {
			named++;
			assert_true(n >= 0);
			assert_string_equal(buf, want);
		}
	}
	archive_read_free(a);
	return name ? named : total;
}

/* Entries of every volume of the archive (volumes.h). */
static size_t archive_entries(const char *path, const char *name, const char *want)
{
	size_t n = volume_entries(path, name, want);
	for (unsigned k = 2;; k++) {
		char vp[4096];
		struct stat st;
		if (fb_volumes_path(path, k, vp, sizeof(vp)) || stat(vp, &st) != 0)
			return n;
		n += volume_entries(vp, name, want);
	}
}

static void test_resume_across_invocations(void **s)
{
	(void)s;
	struct paths p = make_paths();
	struct fb_err e = {0};
	struct fb_collector *c = open_c(&p, 0);
	complete(c, "a", "fb1-a", "alpha");
	complete(c, "b", "fb1-b", "beta");
	assert_int_equal(fb_collector_sync(c, &e), 0);
	assert_int_equal(fb_collector_close(c, NULL, &e), 0);
	/* A crash tore the next line in half. */
	FILE *f = fopen(p.record, "a");
	fputs("{\"id\":\"c\",\"status\":\"compl", f);
	fclose(f);

	c = open_c(&p, 0);
	struct fb_collector_stats st;
	fb_collector_stats(c, &st);
	assert_int_equal(st.done_before, 2);
	assert_true(fb_collector_done(c, "fb1-a", "a"));
	assert_true(fb_collector_done(c, "fb1-b", "anything"));
	assert_false(fb_collector_done(c, "fb1-c", "c"));
	/* A new item with the same id gets a name of its own, not a's. */
	complete(c, "a", "fb1-a2", "alpha two");
	complete(c, "c", "fb1-c", "gamma");
	assert_int_equal(fb_collector_close(c, NULL, &e), 0);

	size_t len = 0;
	char *rec = tu_read_file(p.record, &len);
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += rec[i] == '\n';
	assert_int_equal(lines, 4);
	assert_null(strstr(rec, "compl\""));		   /* the torn half-line is gone */
	assert_non_null(strstr(rec, "\"a/out_1-2.png\"")); /* unique across invocations */
	free(rec);
	assert_int_equal(archive_entries(p.archive, NULL, NULL), 4);
	assert_int_equal(archive_entries(p.archive, "a/out_1.png", "alpha"), 1);
	assert_int_equal(archive_entries(p.archive, "a/out_1-2.png", "alpha two"), 1);
	assert_int_equal(archive_entries(p.archive, "c/out_1.png", "gamma"), 1);
	free_paths(&p);
}

/* A spool damaged between invocations stops the archive: its bytes no longer match the line. */
static void test_damaged_spool_refused(void **s)
{
	(void)s;
	struct paths p = make_paths();
	struct fb_err e = {0};
	/* The outputs wait in the spool until a volume takes them. */
	crashed(&p, (const char *const[]){"a", "fb1-a", "alpha bytes", NULL});
	size_t len = 0;
	char *spool = tu_read_file(p.spool, &len);
	size_t at = 0;
	while (at + 11 <= len && memcmp(spool + at, "alpha bytes", 11))
		at++;
	assert_true(at + 11 <= len);
	spool[at] = 'A';
	free(tu_write_file(p.dir, "spool.dat", spool, len));
	free(spool);

	struct fb_collector *c = open_c(&p, 0);
	assert_int_equal(fb_collector_close(c, NULL, &e), FB_EIO);
	assert_non_null(strstr(e.msg, "do not match their sha256"));
	assert_non_null(strstr(e.msg, "a/out_1.png"));
	assert_non_null(strstr(e.msg, "--fresh"));
	free_paths(&p);
}

static void test_fresh_forgets(void **s)
{
	(void)s;
	struct paths p = make_paths();
	struct fb_err e = {0};
	struct fb_collector *c = open_c(&p, 0);
	complete(c, "a", "fb1-a", "alpha");
	assert_int_equal(fb_collector_close(c, NULL, &e), 0);
	assert_int_equal(archive_entries(p.archive, NULL, NULL), 1);
	c = open_c(&p, 1);
	assert_false(fb_collector_done(c, "fb1-a", "a"));
	assert_int_equal(fb_collector_close(c, NULL, &e), 0);
	struct stat st;
	assert_int_not_equal(stat(p.archive, &st), 0); /* no volume: nothing completed since */
	assert_int_not_equal(stat(p.volumes, &st), 0);
	free_paths(&p);
}

static void test_invalid_lines_by_id(void **s)
{
	(void)s;
	struct paths p = make_paths();
	struct fb_err e = {0};
	struct fb_collector *c = open_c(&p, 0);
	struct fb_result r = {.id = "row-3", .status = FB_STATUS_INVALID};
	assert_int_equal(fb_collector_write(c, &r, &e), 0);
	assert_int_equal(fb_collector_close(c, NULL, &e), 0);
	c = open_c(&p, 0);
	assert_true(fb_collector_done(c, NULL, "row-3"));
	assert_false(fb_collector_done(c, NULL, "row-4"));
	assert_int_equal(fb_collector_close(c, NULL, &e), 0);
	free_paths(&p);
}

static void test_skipped_lines_give_way(void **s)
{
	(void)s;
	struct paths p = make_paths();
	struct fb_err e = {0};
	struct fb_collector *c = open_c(&p, 0);
	complete(c, "a", "fb1-a", "alpha");
	struct fb_result r = {.id = "b", .status = FB_STATUS_SKIPPED, .idempotency_key = "fb1-b"};
	assert_int_equal(fb_collector_write(c, &r, &e), 0);
	assert_int_equal(fb_collector_close(c, NULL, &e), 0);
	c = open_c(&p, 0);
	/* b never ran: a re-run runs it, and its old line leaves the record. */
	assert_false(fb_collector_done(c, "fb1-b", "b"));
	assert_true(fb_collector_done(c, "fb1-a", "a"));
	complete(c, "b", "fb1-b", "beta");
	assert_int_equal(fb_collector_close(c, NULL, &e), 0);
	char *rec = tu_read_file(p.record, NULL);
	assert_null(strstr(rec, "skipped"));
	assert_non_null(strstr(rec, "\"id\":\"b\",\"status\":\"completed\""));
	free(rec);
	free_paths(&p);
}

static size_t count_lines(const char *path)
{
	size_t len = 0, n = 0;
	char *text = tu_read_file(path, &len);
	for (size_t i = 0; text && i < len; i++)
		n += text[i] == '\n';
	free(text);
	return n;
}

/*
 * A crash after the spool was written but before the record was: the
 * outputs of a line that never reached the record must not reach the
 * archive, and must not be mistaken for the outputs of the next line.
 */
static void test_spool_ahead_of_record(void **s)
{
	(void)s;
	struct paths p = make_paths();
	struct fb_err e = {0};
	/* No volume yet: a crash comes before the volume that would take these lines. */
	crashed(&p, (const char *const[]){"a", "fb1-a", "alpha", "b", "fb1-b", "beta", NULL});
	size_t len = 0, len_a = 0;
	char *rec = tu_read_file(p.record, &len);
	while (len_a < len && rec[len_a] != '\n')
		len_a++;
	len_a++;
	free(rec);
	/* b's line is lost, its outputs and line record stay in the spool. */
	assert_int_equal(truncate(p.record, (off_t)len_a), 0);

	struct fb_collector *c = open_c(&p, 0);
	assert_false(fb_collector_done(c, "fb1-b", "b"));
	complete(c, "c", "fb1-c", "gamma");
	assert_int_equal(fb_collector_close(c, NULL, &e), 0);
	assert_int_equal(count_lines(p.record), 2);
	assert_int_equal(archive_entries(p.archive, NULL, NULL), 2);
	assert_int_equal(archive_entries(p.archive, "a/out_1.png", "alpha"), 1);
	assert_int_equal(archive_entries(p.archive, "c/out_1.png", "gamma"), 1);
	assert_int_equal(archive_entries(p.archive, "b/out_1.png", "beta"), 0);
	free_paths(&p);
}

/* Lines are written with the spool, in large writes, and all of them by close. */
static void test_lines_buffered_until_sync(void **s)
{
	(void)s;
	struct paths p = make_paths();
	struct fb_err e = {0};
	struct fb_collector *c = open_c(&p, 0);
	complete(c, "a", "fb1-a", "alpha");
	assert_int_equal(count_lines(p.record), 0);
	assert_int_equal(fb_collector_sync(c, &e), 0);
	assert_int_equal(count_lines(p.record), 1);
	char id[32], key[32];
	for (int i = 0; i < 3000; i++) { /* past the buffer: written before the sync */
		snprintf(id, sizeof(id), "x%d", i);
		snprintf(key, sizeof(key), "fb1-x%d", i);
		complete(c, id, key, id);
	}
	size_t mid = count_lines(p.record);
	assert_true(mid > 1 && mid < 3001);
	struct fb_collector_stats st;
	assert_int_equal(fb_collector_close(c, &st, &e), 0);
	assert_int_equal(count_lines(p.record), 3001);
	assert_int_equal(st.outputs, 3001);
	assert_int_equal(archive_entries(p.archive, "x2999/out_1.png", "x2999"), 1);
	free_paths(&p);
}

/* Names follow the archive's rules: the path in a line is the entry's name, case folded. */
static void test_names_case_folded(void **s)
{
	(void)s;
	struct paths p = make_paths();
	struct fb_err e = {0};
	struct fb_collector *c = open_c(&p, 0);
	complete(c, "A", "fb1-A", "upper");
	complete(c, "a", "fb1-a", "lower");
	complete(c, "../x", "fb1-x", "dots");
	complete(c, " spaced id", "fb1-s", "spaces");
	assert_int_equal(fb_collector_close(c, NULL, &e), 0);
	char *rec = tu_read_file(p.record, NULL);
	assert_non_null(strstr(rec, "\"A/out_1.png\""));
	assert_non_null(strstr(rec, "\"a/out_1-2.png\""));
	assert_non_null(strstr(rec, "\"_./x/out_1.png\""));
	free(rec);
	assert_int_equal(archive_entries(p.archive, "A/out_1.png", "upper"), 1);
	assert_int_equal(archive_entries(p.archive, "a/out_1-2.png", "lower"), 1);
	assert_int_equal(archive_entries(p.archive, "_./x/out_1.png", "dots"), 1);
	assert_int_equal(archive_entries(p.archive, " spaced id/out_1.png", "spaces"), 1);
	free_paths(&p);
}

/* A batch begun by a version whose spool had outputs only goes on, with its outputs. */
static void test_legacy_spool(void **s)
{
	(void)s;
	struct paths p = make_paths();
	struct fb_err e = {0};
	char sha[FB_SHA256_HEX_LEN + 1], rec[512], head[128];
	assert_int_equal(fb_sha256_hex("old bytes", 9, sha), 0);
	snprintf(rec, sizeof(rec),
		 "{\"id\":\"old\",\"status\":\"completed\",\"idempotency_key\":\"fb1-old\","
		 "\"outputs\":[{\"output_id\":\"out_1\",\"path\":\"old/out_1.png\","
		 "\"sha256\":\"%s\"}]}\n",
		 sha);
	free(tu_write_file(p.dir, "results.jsonl", rec, strlen(rec)));
	snprintf(head, sizeof(head), "%s 9\nold bytes", sha);
	free(tu_write_file(p.dir, "spool.dat", head, strlen(head)));

	struct fb_collector *c = open_c(&p, 0);
	assert_true(fb_collector_done(c, "fb1-old", "old"));
	complete(c, "new", "fb1-new", "new bytes");
	assert_int_equal(fb_collector_close(c, NULL, &e), 0);
	assert_int_equal(archive_entries(p.archive, "old/out_1.png", "old bytes"), 1);
	assert_int_equal(archive_entries(p.archive, "new/out_1.png", "new bytes"), 1);
	/* Once given line records, the spool is like any other. */
	c = open_c(&p, 0);
	assert_int_equal(fb_collector_close(c, NULL, &e), 0);
	assert_int_equal(archive_entries(p.archive, NULL, NULL), 2);

	/* An output the spool lacks: the archive cannot be whole, and says so. */
	FILE *f = fopen(p.record, "a");
	fputs(
	    "{\"id\":\"gone\",\"status\":\"completed\",\"outputs\":[{\"path\":\"g/o.png\","
	    "\"sha256\":\"00000000000000000000000000000000000000000000000000000000000000ff\"}]}\n",
	    f);
	fclose(f);
	c = open_c(&p, 0);
	assert_int_equal(fb_collector_close(c, NULL, &e), FB_EIO);
	assert_non_null(strstr(e.msg, "missing from the spool"));
	free_paths(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resume_across_invocations),
	    cmocka_unit_test(test_damaged_spool_refused),
	    cmocka_unit_test(test_fresh_forgets),
	    cmocka_unit_test(test_invalid_lines_by_id),
	    cmocka_unit_test(test_skipped_lines_give_way),
	    cmocka_unit_test(test_spool_ahead_of_record),
	    cmocka_unit_test(test_lines_buffered_until_sync),
	    cmocka_unit_test(test_names_case_folded),
	    cmocka_unit_test(test_legacy_spool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
