/* shard: the shard rule, K/N, and K and N from a scheduler's environment. */
#include "shard.h"
#include "sha256.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * Why this rule: SHA-256 spreads any key evenly, and mod N of 64 bits is
 * off from uniform by at most N / 2^64, nothing at our sizes. Any language
 * with SHA-256 and 64-bit integers reproduces it in a line (Python:
 * 1 + int(sha256(key).hexdigest()[:16], 16) % N), so a tool can check or
 * split results.jsonl by shard. A jump consistent hash would move fewer
 * items when N changes, but a folder refuses a different N anyway (see
 * shardfile.h), so it would buy nothing and be harder to reproduce.
 * Hashing the whole key, not reading digits out of it, keeps the rule the
 * same if the key's form ever changes.
 */
unsigned fb_shard_of(const char *s, unsigned count)
{
	char hex[FB_SHA256_HEX_LEN + 1];
	if (count <= 1 || fb_sha256_hex(s, strlen(s), hex))
		return 1;
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		char c = hex[i];
		v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return (unsigned)(v % count) + 1;
}

int fb_shard_holds(const struct fb_shard *sh, const char *key, const char *id)
{
	if (!sh || sh->count <= 1)
		return 1;
	return fb_shard_of(key ? key : id ? id : "", sh->count) == sh->index;
}

int fb_shard_same_items(const struct fb_shard *a, const struct fb_shard *b)
{
	int all_a = a->count <= 1, all_b = b->count <= 1;
	if (all_a || all_b)
		return all_a && all_b;
	return a->index == b->index && a->count == b->count;
}

void fb_shard_format(const struct fb_shard *sh, char *buf, size_t len)
{
	snprintf(buf, len, "%u/%u", sh->index, sh->count);
}

/* A whole decimal number, digits only (no sign, no blanks), at most max. 0 or -1. */
static int whole(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned long d = (unsigned long)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int fb_shard_parse(const char *text, struct fb_shard *out, struct fb_err *err)
{
	char k[16], n[16];
	const char *slash = strchr(text, '/');
	size_t kl = slash ? (size_t)(slash - text) : 0;
	unsigned long kv, nv;
	if (!slash || kl >= sizeof(k) || strlen(slash + 1) >= sizeof(n))
		goto bad;
	memcpy(k, text, kl);
	k[kl] = '\0';
	snprintf(n, sizeof(n), "%s", slash + 1);
	if (whole(k, FB_SHARD_MAX, &kv) || whole(n, FB_SHARD_MAX, &nv) || kv < 1 || nv < 1 ||
	    kv > nv)
		goto bad;
	out->index = (unsigned)kv;
	out->count = (unsigned)nv;
	return 0;
bad:
	return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
			  "expected K/N, shard K of N with 1 <= K <= N <= %d (e.g. 2/4), or "
			  "auto; got \"%.40s\"",
			  FB_SHARD_MAX, text);
}

/* A variable's value as a message shows it: quoted, cut short. */
#define SHOWN "\"%.40s\""

/* The count --shard-count or FLORABATCH_SHARD_COUNT gives into *n (0: neither), and from where.
 */
static int given_count(const struct fb_shard_env *env, unsigned count_opt, unsigned long *n,
		       const char **from, struct fb_err *err)
{
	*n = 0;
	*from = NULL;
	if (count_opt) {
		*n = count_opt;
		*from = "--shard-count";
		return 0;
	}
	if (!env->shard_count)
		return 0;
	if (whole(env->shard_count, FB_SHARD_MAX, n) || *n < 1)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "FLORABATCH_SHARD_COUNT=" SHOWN
				  ": expected the number of shards, a whole number from 1 to %d",
				  env->shard_count, FB_SHARD_MAX);
	*from = "FLORABATCH_SHARD_COUNT";
	return 0;
}

/* A scheduler's variable that must be a whole number (an index, a bound, a count). */
static int var(const char *name, const char *value, const char *what, unsigned long *out,
	       struct fb_err *err)
{
	if (whole(value, 4000000000UL, out))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "%s=" SHOWN ": expected %s, a whole number", name, value, what);
	return 0;
}

static int gaps(const char *why, struct fb_err *err)
{
	return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
			  "%s: the Slurm array has gaps (a step such as --array=0-7:2, or a "
			  "list), so its task ids are not shards 1..N: submit a range without "
			  "a step (such as --array=0-3 for 4 shards), or give --shard K/N",
			  why);
}

static int from_slurm(const struct fb_shard_env *env, unsigned long want_n, const char *want_from,
		      struct fb_shard *out, struct fb_err *err)
{
	unsigned long id = 0, min = 0, max = 0, count = 0, step = 1, n;
	char why[160];
	if (var("SLURM_ARRAY_TASK_ID", env->slurm_task_id, "the array task's index", &id, err) ||
	    (env->slurm_task_min && var("SLURM_ARRAY_TASK_MIN", env->slurm_task_min,
					"the array's first index", &min, err)) ||
	    (env->slurm_task_max && var("SLURM_ARRAY_TASK_MAX", env->slurm_task_max,
					"the array's last index", &max, err)) ||
	    (env->slurm_task_count && var("SLURM_ARRAY_TASK_COUNT", env->slurm_task_count,
					  "the array's number of tasks", &count, err)) ||
	    (env->slurm_task_step && var("SLURM_ARRAY_TASK_STEP", env->slurm_task_step,
					 "the array's index step", &step, err)))
		return err->code;
	if (env->slurm_task_step && step != 1) {
		snprintf(why, sizeof(why), "SLURM_ARRAY_TASK_STEP=%lu", step);
		return gaps(why, err);
	}
	if (env->slurm_task_min && env->slurm_task_max) {
		if (max < min)
			return fb_err_set(
			    err, FB_EINVAL, FB_KIND_BATCH,
			    "SLURM_ARRAY_TASK_MAX=%lu is below SLURM_ARRAY_TASK_MIN=%lu", max, min);
		n = max - min + 1;
		if (env->slurm_task_count && count != n) {
			snprintf(why, sizeof(why),
				 "SLURM_ARRAY_TASK_COUNT=%lu, but SLURM_ARRAY_TASK_MIN..MAX is "
				 "%lu..%lu (%lu ids)",
				 count, min, max, n);
			return gaps(why, err);
		}
	} else if (env->slurm_task_count) {
		n = count; /* the first index, when not given, taken as Slurm's usual 0 */
	} else {
		return fb_err_set(
		    err, FB_EINVAL, FB_KIND_BATCH,
		    "SLURM_ARRAY_TASK_ID=%lu is set, but neither "
		    "SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MIN and "
		    "SLURM_ARRAY_TASK_MAX: the array's size is unknown; give --shard K/N",
		    id);
	}
	if (n < 1 || n > FB_SHARD_MAX)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "the Slurm array has %lu tasks: expected 1 to %d shards", n,
				  FB_SHARD_MAX);
	if (id < min || id - min >= n)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "SLURM_ARRAY_TASK_ID=%lu is outside the array's ids %lu..%lu "
				  "(SLURM_ARRAY_TASK_MIN%s, %lu tasks)",
				  id, min, min + n - 1, env->slurm_task_min ? "" : " unset: 0", n);
	if (want_from && want_n != n)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "%s says %lu shards, but the Slurm array has %lu tasks "
				  "(SLURM_ARRAY_TASK_MIN..MAX %lu..%lu): give the one count",
				  want_from, want_n, n, min, min + n - 1);
	out->index = (unsigned)(id - min + 1);
	out->count = (unsigned)n;
	return 0;
}

static int no_count(const char *name, unsigned long v, const char *hint, struct fb_err *err)
{
	return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
			  "%s=%lu gives this process's index but not the number of shards: give "
			  "--shard-count N or FLORABATCH_SHARD_COUNT=N (%s)",
			  name, v, hint);
}

int fb_shard_from_env(const struct fb_shard_env *env, unsigned count_opt, struct fb_shard *out,
		      struct fb_err *err)
{
	const char *set[3];
	int nset = 0;
	if (env->slurm_task_id)
		set[nset++] = "SLURM_ARRAY_TASK_ID";
	if (env->job_completion_index)
		set[nset++] = "JOB_COMPLETION_INDEX";
	if (env->parallel_seq)
		set[nset++] = "PARALLEL_SEQ";
	if (nset == 0)
		return fb_err_set(
		    err, FB_EINVAL, FB_KIND_BATCH,
		    "no scheduler's index is set: expected SLURM_ARRAY_TASK_ID (a "
		    "Slurm array), JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or "
		    "PARALLEL_SEQ (GNU parallel); elsewhere give --shard K/N");
	if (nset > 1)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "%s and %s are both set: which one numbers this process is "
				  "unclear; give --shard K/N",
				  set[0], set[1]);
	unsigned long n = 0, v = 0;
	const char *from;
	if (given_count(env, count_opt, &n, &from, err))
		return err->code;
	if (env->slurm_task_id)
		return from_slurm(env, n, from, out, err);
	if (env->job_completion_index) {
		if (var("JOB_COMPLETION_INDEX", env->job_completion_index,
			"the Indexed Job's completion index", &v, err))
			return err->code;
		if (!from)
			return no_count("JOB_COMPLETION_INDEX", v, "the Job's .spec.completions",
					err);
		if (v >= n)
			return fb_err_set(
			    err, FB_EINVAL, FB_KIND_BATCH,
			    "JOB_COMPLETION_INDEX=%lu is not below the %lu shards of "
			    "%s: an Indexed Job's indexes run from 0 to completions - 1",
			    v, n, from);
		out->index = (unsigned)v + 1;
		out->count = (unsigned)n;
		return 0;
	}
	if (var("PARALLEL_SEQ", env->parallel_seq, "GNU parallel's job number", &v, err))
		return err->code;
	if (!from)
		return no_count("PARALLEL_SEQ", v, "parallel exports no total", err);
	if (v < 1 || v > n)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "PARALLEL_SEQ=%lu is not within 1..%lu (the shards of %s): give "
				  "parallel exactly that many jobs, e.g. seq %lu | parallel ...",
				  v, n, from, n);
	out->index = (unsigned)v;
	out->count = (unsigned)n;
	return 0;
}
