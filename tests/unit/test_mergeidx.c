/*
 * The parts of florabatch merge that decide without touching archives:
 * which line an item keeps and how its lines disagree (mergeidx), the
 * "volume" member set in a line's text (and nowhere else), the names a
 * merged archive may not hold twice, and what a folder says made it
 * (folderid).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "folderid.h"
#include "hashset.h"
#include "mergeidx.h"
#include "mergepriv.h"
#include "merger.h"
#include "results.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lines kept in memory, the index's records pointing at them by offset. */
struct lines {
	const char *text[16];
	struct fb_merge_group seen[8];
	char ids[8][16];
	size_t ngroups;
	unsigned why[8];
	int foreign[8];
	size_t kept_line[8];
};

static int line_of(void *ud, const struct fb_mrec *r, struct fb_buf *out, struct fb_err *err)
{
	(void)err;
	struct lines *l = ud;
	fb_buf_reset(out);
	return fb_buf_adds(out, l->text[r->off]);
}

static int group_of(void *ud, const struct fb_merge_group *g, struct fb_err *err)
{
	(void)err;
	struct lines *l = ud;
	snprintf(l->ids[l->ngroups], sizeof(l->ids[0]), "%s", g->id);
	l->why[l->ngroups] = g->why;
	l->foreign[l->ngroups] = g->foreign;
	l->kept_line[l->ngroups] = g->m[g->keep].r->line;
	l->ngroups++;
	return 0;
}

/* A record of line number `line` (text l->text[line]): id, key, folder, status, finish, outputs. */
static void add(struct fb_mergeidx *x, struct lines *l, uint32_t line, const char *id,
		const char *key, uint16_t folder, enum fb_item_status st, uint64_t fin,
		uint64_t outfp)
{
	static char text[16][256];
	snprintf(text[line], sizeof(text[line]), "{\"id\":\"%s\",\"idempotency_key\":%s%s%s}", id,
		 key ? "\"" : "", key ? key : "null", key ? "\"" : "");
	l->text[line] = text[line];
	struct fb_mrec r = {.idh = fb_hashset_hash(id),
			    .keyh = key ? fb_hashset_hash(key) : 0,
			    .off = line,
			    .finished = fin,
			    .outfp = outfp,
			    .line = line,
			    .folder = folder,
			    .status = (uint8_t)st};
	assert_int_equal(fb_mergeidx_add(x, &r), 0);
}

/* Whether line `line` was kept. */
static int kept(const struct fb_mergeidx *x, uint32_t line)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].line == line)
			return (x->v[i].flags & FB_MREC_KEEP) != 0;
	fail_msg("no line %u", line);
	return 0;
}

static void test_the_latest_terminal_line_is_kept(void **state)
{
	(void)state;
	struct fb_mergeidx x = {0};
	struct lines l = {0};
	struct fb_merge_resolver res = {line_of, group_of, &l};
	struct fb_err e = {0};
	/* a: completed earlier in folder 0, failed later in folder 1: the failure is later. */
	add(&x, &l, 1, "a", "k1", 0, FB_STATUS_COMPLETED, 100, 7);
	add(&x, &l, 2, "a", "k1", 1, FB_STATUS_FAILED, 200, 0);
	/* b: skipped later, completed earlier: terminal first. */
	add(&x, &l, 3, "b", "k2", 0, FB_STATUS_COMPLETED, 100, 7);
	add(&x, &l, 4, "b", "k2", 1, FB_STATUS_SKIPPED, 900, 0);
	/* c: a tie in time: the folder named later; same outputs: no disagreement. */
	add(&x, &l, 5, "c", "k3", 1, FB_STATUS_COMPLETED, 100, 9);
	add(&x, &l, 6, "c", "k3", 0, FB_STATUS_COMPLETED, 100, 9);
	/* d: alone. */
	add(&x, &l, 7, "d", "k4", 0, FB_STATUS_INVALID, 0, 0);
	/* e: other outputs, and other keys in the two folders (another manifest). */
	add(&x, &l, 8, "e", "k5", 0, FB_STATUS_COMPLETED, 100, 1);
	add(&x, &l, 9, "e", "k6", 1, FB_STATUS_COMPLETED, 50, 2);
	/* f: one manifest with the id twice (keys k7, k8) in both folders: not foreign. */
	add(&x, &l, 10, "f", "k7", 0, FB_STATUS_COMPLETED, 10, 3);
	add(&x, &l, 11, "f", "k8", 0, FB_STATUS_COMPLETED, 10, 3);
	add(&x, &l, 12, "f", "k7", 1, FB_STATUS_COMPLETED, 20, 3);
	add(&x, &l, 13, "f", "k8", 1, FB_STATUS_COMPLETED, 20, 3);
	/* g: an invalid line (no key), and completed after the row was mended: other outcomes. */
	add(&x, &l, 14, "g", NULL, 0, FB_STATUS_INVALID, 10, 0);
	add(&x, &l, 15, "g", "k9", 1, FB_STATUS_COMPLETED, 20, 3);
	assert_int_equal(fb_mergeidx_resolve(&x, &res, &e), 0);
	assert_false(kept(&x, 1));
	assert_true(kept(&x, 2));
	assert_true(kept(&x, 3));
	assert_false(kept(&x, 4));
	assert_true(kept(&x, 5));
	assert_false(kept(&x, 6));
	assert_true(kept(&x, 7));
	assert_true(kept(&x, 8));
	assert_false(kept(&x, 9));
	assert_int_equal(kept(&x, 10) + kept(&x, 11) + kept(&x, 12) + kept(&x, 13), 1);
	assert_true(kept(&x, 15));
	assert_int_equal(l.ngroups, 6);
	for (size_t i = 0; i < l.ngroups; i++) {
		const char *id = l.ids[i];
		unsigned want = !strcmp(id, "a") || !strcmp(id, "g") ? FB_MERGE_OUTCOMES
				: !strcmp(id, "e") ? FB_MERGE_OUTPUTS | FB_MERGE_WORK
				: !strcmp(id, "f") ? FB_MERGE_WORK
						   : 0;
		assert_int_equal(l.why[i], want);
		assert_int_equal(l.foreign[i], !strcmp(id, "e"));
	}
	/* Back in each folder's file order, for writing. */
	fb_mergeidx_by_place(&x);
	for (size_t i = 1; i < x.n; i++)
		assert_true(x.v[i - 1].folder < x.v[i].folder ||
			    (x.v[i - 1].folder == x.v[i].folder && x.v[i - 1].off < x.v[i].off));
	fb_mergeidx_release(&x);
}

/* Two ids of one hash are two items: the lines read back tell them apart. */
static void test_a_shared_hash_is_two_items(void **state)
{
	(void)state;
	struct fb_mergeidx x = {0};
	struct lines l = {0};
	struct fb_merge_resolver res = {line_of, group_of, &l};
	struct fb_err e = {0};
	add(&x, &l, 1, "one", "k1", 0, FB_STATUS_COMPLETED, 10, 1);
	add(&x, &l, 2, "two", "k2", 1, FB_STATUS_COMPLETED, 20, 2);
	x.v[1].idh = x.v[0].idh; /* as if "two" hashed like "one" */
	assert_int_equal(fb_mergeidx_resolve(&x, &res, &e), 0);
	assert_true(kept(&x, 1));
	assert_true(kept(&x, 2));
	assert_int_equal(l.ngroups, 0);
	fb_mergeidx_release(&x);
}

static void set_volume(const char *line, const char *name, const char *want)
{
	struct fb_buf out = FB_BUF_INIT;
	int rc = fb_merge_set_volume(line, strlen(line), name, &out);
	if (!want) {
		assert_int_equal(rc, FB_EPARSE);
	} else {
		assert_int_equal(rc, 0);
		assert_string_equal(out.ptr, want);
	}
	fb_buf_release(&out);
}

static void test_the_volume_member_alone_is_set(void **state)
{
	(void)state;
	set_volume("{\"id\":\"a\",\"volume\":\"outputs.tar.gz\",\"x\":1}", "outputs.0003.tar.gz",
		   "{\"id\":\"a\",\"volume\":\"outputs.0003.tar.gz\",\"x\":1}");
	set_volume("{\"id\":\"a\",\"volume\":null}", "outputs.tar.gz",
		   "{\"id\":\"a\",\"volume\":\"outputs.tar.gz\"}");
	/* "volume" inside a string, inside outputs, inside meta: not the line's own member. */
	set_volume(
	    "{\"id\":\"\\\"volume\\\":\\\"x\",\"outputs\":[{\"volume\":\"o\"}],"
	    "\"volume\":\"outputs.tar.gz\",\"meta\":{\"volume\":\"m\",\"n\":12345678901234567890}}",
	    "outputs.0002.tar.gz",
	    "{\"id\":\"\\\"volume\\\":\\\"x\",\"outputs\":[{\"volume\":\"o\"}],"
	    "\"volume\":\"outputs.0002.tar.gz\",\"meta\":{\"volume\":\"m\",\"n\":"
	    "12345678901234567890}}");
	/* A string ending in a backslash before the member. */
	set_volume("{\"id\":\"a\\\\\",\"volume\":\"v\"}", "w",
		   "{\"id\":\"a\\\\\",\"volume\":\"w\"}");
	set_volume("{\"id\":\"a\",\"meta\":{\"volume\":\"m\"}}", "w", NULL);
	set_volume("{\"id\":\"a\",\"volume\":12}", "w", NULL);
}

static void test_names_clash_ignoring_case(void **state)
{
	(void)state;
	struct fb_merge_names n;
	assert_int_equal(fb_merge_names_init(&n, NULL), 0);
	assert_int_equal(fb_merge_names_take(&n, "a/out_1.png"), 1);
	assert_int_equal(fb_merge_names_take(&n, "b/out_1.png"), 1);
	assert_int_equal(fb_merge_names_take(&n, "A/OUT_1.png"), 0);
	/* a file where a folder is, and a folder where a file is */
	assert_int_equal(fb_merge_names_take(&n, "a"), 0);
	assert_int_equal(fb_merge_names_take(&n, "b/out_1.png/x.png"), 0);
	assert_int_equal(fb_merge_names_take(&n, "c/d/out_1.png"), 1);
	fb_merge_names_release(&n);
}

static void test_a_folder_says_what_made_it(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	struct fb_folder_id id, other;
	struct fb_err e = {0};
	assert_int_equal(fb_folder_id_read(dir, &id, &e), 0);
	assert_false(id.known);
	const char *j =
	    "{\"t\":\"invocation\",\"phase\":\"start\",\"pid\":1,\"at\":5}\n"
	    "{\"t\":\"create\",\"key\":\"fb1-x\",\"at\":6}\n"
	    "{\"t\":\"invocation\",\"phase\":\"start\",\"pid\":2,\"kind\":\"technique\","
	    "\"technique\":\"cctv-cam\",\"namespace\":null,\"at\":7}\n";
	free(tu_write_file(dir, "journal.jsonl", j, strlen(j)));
	assert_int_equal(fb_folder_id_read(dir, &id, &e), 0);
	assert_true(id.known);
	assert_false(id.mixed);
	assert_string_equal(id.technique, "cctv-cam");
	assert_int_equal(id.ns_h, 0);
	const char *s =
	    "{\"shard\":\"2/4\",\"index\":2,\"count\":4,\"rule\":\"sha256-u64be-mod\"}\n";
	free(tu_write_file(dir, "shard.json", s, strlen(s)));
	const char *j2 =
	    "{\"t\":\"invocation\",\"phase\":\"start\",\"pid\":3,\"kind\":\"technique\","
	    "\"technique\":\"cctv-cam\",\"namespace\":\"v2\",\"at\":8}\n";
	char *path = tu_path(dir, "journal.jsonl");
	FILE *f = fopen(path, "a");
	fputs(j2, f);
	fclose(f);
	assert_int_equal(fb_folder_id_read(dir, &other, &e), 0);
	assert_true(other.mixed); /* two namespaces ran in it */
	assert_int_equal(other.shard_k, 2);
	assert_int_equal(other.shard_n, 4);
	assert_string_equal(fb_folder_id_differs(&id, &other), "namespace");
	char text[256];
	fb_folder_id_describe(&other, text, sizeof(text));
	assert_string_equal(text, "technique \"cctv-cam\", namespace \"v2\" (and other batches)");
	/* A merge's record wins over the journal. */
	const char *m = "{\"merge\":1,\"state\":\"complete\",\"kind\":\"technique\","
			"\"technique\":\"cctv-cam\",\"namespace\":null,\"mixed\":false}\n";
	free(tu_write_file(dir, "merge.json", m, strlen(m)));
	assert_int_equal(fb_folder_id_read(dir, &other, &e), 0);
	assert_false(other.mixed);
	assert_null(fb_folder_id_differs(&id, &other));
	free(path);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_the_latest_terminal_line_is_kept),
	    cmocka_unit_test(test_a_shared_hash_is_two_items),
	    cmocka_unit_test(test_the_volume_member_alone_is_set),
	    cmocka_unit_test(test_names_clash_ignoring_case),
	    cmocka_unit_test(test_a_folder_says_what_made_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
