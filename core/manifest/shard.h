/*
 * shard: which manifest items one of N processes takes (--shard K/N), and
 * K and N read from a scheduler's environment (--shard auto).
 *
 * The rule, for other tools to reproduce: an item belongs to shard
 *     K = 1 + (u64be(SHA-256(s)[0..8]) mod N)
 * where s is the item's idempotency key as results.jsonl writes it
 * ("fb1-" and 32 hex digits), or, for an item that has none (invalid: it is
 * never sent), its id. So a shard's items depend on the items alone, not on
 * their order or on what else the manifest holds, and every item is in
 * exactly one of the N shards.
 */
#ifndef FB_SHARD_H
#define FB_SHARD_H

#include "error.h"

#include <stddef.h>

#define FB_SHARD_MAX 100000 /* the largest N */

/* Shard index of count, 1 <= index <= count; count 0: no --shard (every item). */
struct fb_shard {
	unsigned index, count;
};

/* "K/N" (decimal, 1 <= K <= N <= FB_SHARD_MAX) into *out. 0, or FB_EINVAL with err. */
int fb_shard_parse(const char *text, struct fb_shard *out, struct fb_err *err);

/* The shard (1..count) s belongs to; count >= 1. */
unsigned fb_shard_of(const char *s, unsigned count);

/* Whether the item with key (NULL: none, then id is used) is in sh (always, without a shard). */
int fb_shard_holds(const struct fb_shard *sh, const char *key, const char *id);

/* Whether a and b take the same items: equal, or both every item (none, or 1/1). */
int fb_shard_same_items(const struct fb_shard *a, const struct fb_shard *b);

/* "K/N" into buf (size >= 24). */
void fb_shard_format(const struct fb_shard *sh, char *buf, size_t len);

/*
 * What --shard auto reads: each scheduler's variables as the environment
 * holds them (NULL: unset). The caller reads them; this module only judges.
 */
struct fb_shard_env {
	/* Slurm job arrays (sbatch --array) */
	const char *slurm_task_id, *slurm_task_count, *slurm_task_min, *slurm_task_max,
	    *slurm_task_step;
	const char *job_completion_index; /* Kubernetes Indexed Jobs, 0-based */
	const char *parallel_seq;	  /* GNU parallel's job number, 1-based */
	const char *shard_count;	  /* FLORABATCH_SHARD_COUNT */
};

/*
 * The shard the environment names. count_opt: --shard-count (0: not given;
 * it wins over FLORABATCH_SHARD_COUNT). Exactly one scheduler's index must be
 * set: SLURM_ARRAY_TASK_ID (K = ID - MIN + 1, N = MAX - MIN + 1, or
 * SLURM_ARRAY_TASK_COUNT with MIN taken as 0 when unset; an array with gaps is
 * refused), JOB_COMPLETION_INDEX (K = index + 1) or PARALLEL_SEQ (K = seq),
 * the last two with N from the count. A count given beside Slurm must agree
 * with the array. 0, or FB_EINVAL with err naming the variable read, its
 * value and what was expected.
 */
int fb_shard_from_env(const struct fb_shard_env *env, unsigned count_opt, struct fb_shard *out,
		      struct fb_err *err);

#endif
