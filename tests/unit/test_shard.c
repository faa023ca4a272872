/*
 * shard: the documented rule reproduced, every item in exactly one shard,
 * a shard's items unchanged when rows are reordered, added or removed, an
 * even split, K/N parsed strictly, and --shard auto's reading of every
 * scheduler's variables, good and bad.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "idemkey.h"
#include "shard.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The key florabatch gives a row whose image is https://x/<n>.jpg (ids are row numbers). */
static void key_of(unsigned n, unsigned row, char out[FB_IDEMKEY_LEN + 1])
{
	struct fb_item it;
	struct fb_err e = {0};
	char url[64], id[32];
	memset(&it, 0, sizeof(it));
	snprintf(url, sizeof(url), "https://x/%u.jpg", n);
	snprintf(id, sizeof(id), "row-%u", row);
	it.id = fb_strdup(id);
	it.technique = fb_strdup("cctv-cam");
	fb_item_add_input(&it, "input_image", FB_INPUT_IMAGE_URL, url);
	assert_int_equal(fb_idemkey_derive(&it, NULL, out, &e), 0);
	fb_item_release(&it);
}

static void test_rule_as_documented(void **s)
{
	(void)s;
	/* Values from: 1 + int(hashlib.sha256(key.encode()).hexdigest()[:16], 16) % N */
	assert_int_equal(fb_shard_of("fb1-e948e762cd48523222883088608f922a", 4), 2);
	assert_int_equal(fb_shard_of("fb1-e948e762cd48523222883088608f922a", 7), 6);
	assert_int_equal(fb_shard_of("row-7", 3), 1);
	assert_int_equal(fb_shard_of("anything", 1), 1);
	struct fb_shard sh = {2, 4};
	assert_true(fb_shard_holds(&sh, "fb1-e948e762cd48523222883088608f922a", "x"));
	sh.index = 3;
	assert_false(fb_shard_holds(&sh, "fb1-e948e762cd48523222883088608f922a", "x"));
	/* No key (an invalid row): its id decides. */
	sh = (struct fb_shard){1, 3};
	assert_true(fb_shard_holds(&sh, NULL, "row-7"));
	sh.index = 2;
	assert_false(fb_shard_holds(&sh, NULL, "row-7"));
	struct fb_shard none = {0, 0};
	assert_true(fb_shard_holds(&none, "k", "x"));
}

static void test_every_item_in_exactly_one_shard(void **s)
{
	(void)s;
	char key[FB_IDEMKEY_LEN + 1];
	for (unsigned i = 0; i < 500; i++) {
		key_of(i, i + 1, key);
		for (unsigned n = 1; n <= 16; n++) {
			unsigned holders = 0;
			for (unsigned k = 1; k <= n; k++) {
				struct fb_shard sh = {k, n};
				holders += (unsigned)fb_shard_holds(&sh, key, "ignored");
			}
			assert_int_equal(holders, 1);
		}
	}
}

/* A manifest of 300 rows; then reversed, with 50 rows removed and 100 new ones between. */
static void test_stable_under_reorder_insert_remove(void **s)
{
	(void)s;
	enum { ROWS = 300, N = 5 };
	unsigned before[ROWS];
	char key[FB_IDEMKEY_LEN + 1];
	for (unsigned i = 0; i < ROWS; i++) {
		key_of(i, i + 1, key);
		before[i] = fb_shard_of(key, N);
	}
	unsigned row = 0, checked = 0;
	for (unsigned j = ROWS; j-- > 0;) {
		if (j % 3 == 0) { /* a new row before it */
			key_of(10000 + j, ++row, key);
			assert_true(fb_shard_of(key, N) >= 1 && fb_shard_of(key, N) <= N);
		}
		if (j % 6 == 1)
			continue;      /* removed */
		key_of(j, ++row, key); /* the same work at another row number */
		assert_int_equal(fb_shard_of(key, N), before[j]);
		checked++;
	}
	assert_int_equal(checked, ROWS - ROWS / 6);
}

/*
 * 10,000 keys over N = 2..16 shards. Chance alone spreads a shard of
 * 10000/N keys by sqrt(N - 1) % of its mean (one standard deviation: 1 %
 * at N = 2, 3.9 % at 16), whatever the hash, so the bound is a few
 * deviations: 5 % up to N = 4, 3 deviations above. And the counts as a
 * whole pass a chi-square test of evenness (p > 0.001).
 */
static void test_balance_over_10000_keys(void **s)
{
	(void)s;
	enum { KEYS = 10000 };
	/* chi-square's 0.999 quantiles for 1..15 degrees of freedom */
	static const double chi999[] = {10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12,
					27.88, 29.59, 31.26, 32.91, 34.53, 36.12, 37.70};
	static char keys[KEYS][FB_IDEMKEY_LEN + 1];
	for (unsigned i = 0; i < KEYS; i++)
		key_of(i, i + 1, keys[i]);
	for (unsigned n = 2; n <= 16; n++) {
		unsigned count[17] = {0};
		for (unsigned i = 0; i < KEYS; i++)
			count[fb_shard_of(keys[i], n)]++;
		double mean = (double)KEYS / n, worst = 0, chi = 0;
		for (unsigned k = 1; k <= n; k++) {
			double d = count[k] - mean;
			chi += d * d / mean;
			worst = fabs(d) / mean > worst ? fabs(d) / mean : worst;
		}
		double bound = n <= 4 ? 0.05 : 3 * sqrt(n - 1.0) / 100;
		print_message("N = %2u: the farthest shard is %.1f%% off the mean (bound %.1f%%), "
			      "chi-square %.1f\n",
			      n, worst * 100, bound * 100, chi);
		if (worst > bound)
			fail_msg("N = %u: a shard is %.1f%% off the mean (bound %.1f%%)", n,
				 worst * 100, bound * 100);
		if (chi > chi999[n - 2])
			fail_msg("N = %u: chi-square %.1f over %.2f: not even", n, chi,
				 chi999[n - 2]);
	}
}

static void test_parse(void **s)
{
	(void)s;
	struct fb_shard sh;
	struct fb_err e = {0};
	assert_int_equal(fb_shard_parse("2/4", &sh, &e), 0);
	assert_int_equal(sh.index, 2);
	assert_int_equal(sh.count, 4);
	assert_int_equal(fb_shard_parse("1/1", &sh, &e), 0);
	assert_int_equal(fb_shard_parse("100000/100000", &sh, &e), 0);
	static const char *const bad[] = {"",
					  "auto",
					  "0/4",
					  "5/4",
					  "4/0",
					  "a/4",
					  "2/",
					  "/4",
					  "2/4/",
					  "-1/4",
					  " 2/4",
					  "2/4 ",
					  "+2/4",
					  "2/-4",
					  "2\\4",
					  "2/4x",
					  "1.5/4",
					  "2/100001",
					  "99999999999999999999/4"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (fb_shard_parse(bad[i], &sh, &e) != FB_EINVAL)
			fail_msg("\"%s\" was taken", bad[i]);
		assert_non_null(strstr(e.msg, "expected K/N"));
	}
	char buf[24];
	sh = (struct fb_shard){3, 8};
	fb_shard_format(&sh, buf, sizeof(buf));
	assert_string_equal(buf, "3/8");
}

static void test_same_items(void **s)
{
	(void)s;
	struct fb_shard none = {0, 0}, one = {1, 1}, a = {2, 4}, b = {2, 4}, c = {3, 4}, d = {2, 5};
	assert_true(fb_shard_same_items(&none, &one));
	assert_true(fb_shard_same_items(&one, &none));
	assert_true(fb_shard_same_items(&a, &b));
	assert_false(fb_shard_same_items(&a, &c));
	assert_false(fb_shard_same_items(&a, &d));
	assert_false(fb_shard_same_items(&a, &none));
	assert_false(fb_shard_same_items(&none, &a));
}

/* --shard auto with env and --shard-count opt: K/N, or the message (which must name want). */
static void env_ok(const struct fb_shard_env *env, unsigned opt, unsigned k, unsigned n)
{
	struct fb_shard sh = {0, 0};
	struct fb_err e = {0};
	if (fb_shard_from_env(env, opt, &sh, &e))
		fail_msg("refused: %s", e.msg);
	assert_int_equal(sh.index, k);
	assert_int_equal(sh.count, n);
}

static void env_bad(const struct fb_shard_env *env, unsigned opt, const char *want,
		    const char *want2)
{
	struct fb_shard sh = {0, 0};
	struct fb_err e = {0};
	assert_int_equal(fb_shard_from_env(env, opt, &sh, &e), FB_EINVAL);
	if (!strstr(e.msg, want) || (want2 && !strstr(e.msg, want2)))
		fail_msg("\"%s\" does not say \"%s\"%s%s", e.msg, want, want2 ? " and " : "",
			 want2 ? want2 : "");
}

static void test_env_slurm(void **s)
{
	(void)s;
	/* --array=0-7: ids 0..7 are shards 1..8 */
	struct fb_shard_env env = {.slurm_task_id = "0",
				   .slurm_task_min = "0",
				   .slurm_task_max = "7",
				   .slurm_task_count = "8",
				   .slurm_task_step = "1"};
	env_ok(&env, 0, 1, 8);
	env.slurm_task_id = "7";
	env_ok(&env, 0, 8, 8);
	env_ok(&env, 8, 8, 8); /* a count that agrees */
	env.shard_count = "8";
	env_ok(&env, 0, 8, 8);
	env.shard_count = NULL;
	/* --array=1-4 */
	env = (struct fb_shard_env){.slurm_task_id = "3",
				    .slurm_task_min = "1",
				    .slurm_task_max = "4",
				    .slurm_task_count = "4"};
	env_ok(&env, 0, 3, 4);
	/* MIN and MAX alone */
	env.slurm_task_count = NULL;
	env_ok(&env, 0, 3, 4);
	/* COUNT alone: the ids start at 0 */
	env = (struct fb_shard_env){.slurm_task_id = "2", .slurm_task_count = "4"};
	env_ok(&env, 0, 3, 4);
	/* an array of one */
	env = (struct fb_shard_env){.slurm_task_id = "5",
				    .slurm_task_min = "5",
				    .slurm_task_max = "5",
				    .slurm_task_count = "1"};
	env_ok(&env, 0, 1, 1);
}

static void test_env_slurm_bad(void **s)
{
	(void)s;
	/* --array=0-7:2 */
	struct fb_shard_env env = {.slurm_task_id = "2",
				   .slurm_task_min = "0",
				   .slurm_task_max = "6",
				   .slurm_task_count = "4",
				   .slurm_task_step = "2"};
	env_bad(&env, 0, "SLURM_ARRAY_TASK_STEP=2", "gaps");
	/* --array=1,3,5,7 (no step said, the count gives it away) */
	env.slurm_task_step = NULL;
	env.slurm_task_min = "1";
	env.slurm_task_max = "7";
	env.slurm_task_id = "3";
	env_bad(&env, 0, "SLURM_ARRAY_TASK_COUNT=4", "gaps");
	/* bad numbers, each named */
	static const char *const nums[] = {"", "x", "-1", " 3", "3 ", "+3", "1e3", "99999999999"};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		env = (struct fb_shard_env){
		    .slurm_task_id = nums[i], .slurm_task_min = "0", .slurm_task_max = "3"};
		env_bad(&env, 0, "SLURM_ARRAY_TASK_ID=", "expected the array task's index");
		env = (struct fb_shard_env){
		    .slurm_task_id = "1", .slurm_task_min = nums[i], .slurm_task_max = "3"};
		env_bad(&env, 0, "SLURM_ARRAY_TASK_MIN=", "expected");
		env = (struct fb_shard_env){
		    .slurm_task_id = "1", .slurm_task_min = "0", .slurm_task_max = nums[i]};
		env_bad(&env, 0, "SLURM_ARRAY_TASK_MAX=", "expected");
		env = (struct fb_shard_env){.slurm_task_id = "1", .slurm_task_count = nums[i]};
		env_bad(&env, 0, "SLURM_ARRAY_TASK_COUNT=", "expected");
		env = (struct fb_shard_env){
		    .slurm_task_id = "1", .slurm_task_count = "4", .slurm_task_step = nums[i]};
		env_bad(&env, 0, "SLURM_ARRAY_TASK_STEP=", "expected");
	}
	/* outside the array */
	env = (struct fb_shard_env){
	    .slurm_task_id = "9", .slurm_task_min = "0", .slurm_task_max = "7"};
	env_bad(&env, 0, "SLURM_ARRAY_TASK_ID=9", "outside");
	env = (struct fb_shard_env){.slurm_task_id = "4", .slurm_task_count = "4"};
	env_bad(&env, 0, "SLURM_ARRAY_TASK_ID=4", "SLURM_ARRAY_TASK_MIN unset");
	env = (struct fb_shard_env){
	    .slurm_task_id = "1", .slurm_task_min = "2", .slurm_task_max = "5"};
	env_bad(&env, 0, "SLURM_ARRAY_TASK_ID=1", "outside");
	env = (struct fb_shard_env){
	    .slurm_task_id = "1", .slurm_task_min = "5", .slurm_task_max = "2"};
	env_bad(&env, 0, "SLURM_ARRAY_TASK_MAX=2", "below");
	/* no size */
	env = (struct fb_shard_env){.slurm_task_id = "1"};
	env_bad(&env, 0, "SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_COUNT");
	env = (struct fb_shard_env){.slurm_task_id = "1", .slurm_task_max = "3"};
	env_bad(&env, 0, "SLURM_ARRAY_TASK_ID=1", "size is unknown");
	/* too large an array */
	env = (struct fb_shard_env){.slurm_task_id = "1", .slurm_task_count = "100001"};
	env_bad(&env, 0, "100001 tasks", "1 to 100000");
	/* a count that disagrees */
	env = (struct fb_shard_env){
	    .slurm_task_id = "1", .slurm_task_min = "0", .slurm_task_max = "7"};
	env_bad(&env, 4, "--shard-count says 4", "8 tasks");
	env.shard_count = "4";
	env_bad(&env, 0, "FLORABATCH_SHARD_COUNT says 4", "8 tasks");
}

static void test_env_kubernetes(void **s)
{
	(void)s;
	struct fb_shard_env env = {.job_completion_index = "0", .shard_count = "4"};
	env_ok(&env, 0, 1, 4);
	env.job_completion_index = "3";
	env_ok(&env, 0, 4, 4);
	env_ok(&env, 6, 4, 6); /* --shard-count wins over the variable */
	env.job_completion_index = "4";
	env_bad(&env, 0, "JOB_COMPLETION_INDEX=4", "FLORABATCH_SHARD_COUNT");
	env_bad(&env, 4, "JOB_COMPLETION_INDEX=4", "--shard-count");
	env.shard_count = NULL;
	env.job_completion_index = "2";
	env_bad(&env, 0, "JOB_COMPLETION_INDEX=2", "--shard-count N or FLORABATCH_SHARD_COUNT");
	static const char *const nums[] = {"", "x", "-1", "1.0", "0x2"};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		env = (struct fb_shard_env){.job_completion_index = nums[i], .shard_count = "4"};
		env_bad(&env, 0, "JOB_COMPLETION_INDEX=", "expected");
	}
	static const char *const counts[] = {"", "0", "x", "-4", "100001", "4 "};
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		env = (struct fb_shard_env){.job_completion_index = "0", .shard_count = counts[i]};
		env_bad(&env, 0, "FLORABATCH_SHARD_COUNT=", "number of shards");
	}
	/* a bad variable is not read when --shard-count gives the count */
	env = (struct fb_shard_env){.job_completion_index = "1", .shard_count = "x"};
	env_ok(&env, 2, 2, 2);
}

static void test_env_parallel(void **s)
{
	(void)s;
	struct fb_shard_env env = {.parallel_seq = "1", .shard_count = "3"};
	env_ok(&env, 0, 1, 3);
	env.parallel_seq = "3";
	env_ok(&env, 0, 3, 3);
	env.parallel_seq = "4";
	env_bad(&env, 0, "PARALLEL_SEQ=4", "1..3");
	env.parallel_seq = "0";
	env_bad(&env, 0, "PARALLEL_SEQ=0", "1..3");
	env.parallel_seq = "abc";
	env_bad(&env, 0, "PARALLEL_SEQ=", "expected");
	env = (struct fb_shard_env){.parallel_seq = "2"};
	env_bad(&env, 0, "PARALLEL_SEQ=2", "parallel exports no total");
}

static void test_env_none_or_two(void **s)
{
	(void)s;
	struct fb_shard_env env = {.shard_count = "4"};
	env_bad(&env, 0, "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX");
	env_bad(&env, 0, "PARALLEL_SEQ", "--shard K/N");
	env = (struct fb_shard_env){
	    .slurm_task_id = "1", .slurm_task_count = "4", .parallel_seq = "2"};
	env_bad(&env, 0, "SLURM_ARRAY_TASK_ID and PARALLEL_SEQ", "--shard K/N");
	env = (struct fb_shard_env){.job_completion_index = "1", .parallel_seq = "2"};
	env_bad(&env, 4, "JOB_COMPLETION_INDEX and PARALLEL_SEQ", "both set");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_as_documented),
	    cmocka_unit_test(test_every_item_in_exactly_one_shard),
	    cmocka_unit_test(test_stable_under_reorder_insert_remove),
	    cmocka_unit_test(test_balance_over_10000_keys),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_same_items),
	    cmocka_unit_test(test_env_slurm),
	    cmocka_unit_test(test_env_slurm_bad),
	    cmocka_unit_test(test_env_kubernetes),
	    cmocka_unit_test(test_env_parallel),
	    cmocka_unit_test(test_env_none_or_two),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
