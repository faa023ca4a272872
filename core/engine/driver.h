/*
 * driver: the batch. One thread admits manifest items while fewer than
 * `concurrency` are in flight, drives every item's job through the
 * asynchronous transport and the timer heap, and counts the outcome. No
 * thread per run and no sleep per run: the only wait is the transport's
 * step(), bounded by the earliest timer.
 */
#ifndef FB_DRIVER_H
#define FB_DRIVER_H

#include "clock.h"
#include "collector.h"
#include "error.h"
#include "job.h"
#include "journal.h"
#include "log.h"
#include "manifest.h"
#include "resolve.h"
#include "shard.h"
#include "transport.h"

#include <signal.h>
#include <stdint.h>

struct fb_progress;

struct fb_driver_config {
	unsigned concurrency;		     /* runs in flight at most (>= 1) */
	struct fb_resolve_defaults defaults; /* kind and fields for items that name none */
	const char *key_namespace;	     /* mixed into every idempotency key; may be NULL */
	struct fb_job_policy policy;
	enum fb_poll_mode poll_mode; /* FB_POLL_LIST (0, the default) or FB_POLL_GET */
	uint64_t seed;		     /* jitter; any value */
	double rate;	 /* API requests per second at most; 0: no limit until a 429 says so */
	unsigned burst;	 /* 0: as the rate */
	double max_cost; /* USD; < 0: no budget */
	/* Borrowed: the journal of the output folder, or NULL for none. */
	struct fb_journal *journal;
	/*
	 * Borrowed: set (by a signal handler) to stop admitting items; the
	 * runs in flight then get grace_ms to finish, and those that do not
	 * get no result line (a re-run picks them up from the journal).
	 */
	const volatile sig_atomic_t *stop;
	uint64_t grace_ms;
	/* Archive volumes: a new one once this many bytes of outputs or ms have gathered (0: no
	 * limit), and whenever *roll changes (a signal handler's counter; NULL: never). */
	uint64_t roll_bytes, roll_ms;
	const volatile sig_atomic_t *roll;
	/* Borrowed, or NULL: what the batch shows while it runs (progress.h). */
	struct fb_progress *progress;
	uint64_t total; /* items the manifest holds, when known (a file, a folder); 0: a stream */
	/* --shard: only the items of this shard are run; the others are read and passed
	 * over, with no line (count 0: every item) */
	struct fb_shard shard;
};

struct fb_summary {
	uint64_t items;	       /* result lines the batch accounts for (this shard's items) */
	uint64_t other_shards; /* items of other shards: read, not run, no line */
	uint64_t completed, failed, invalid, skipped, unresolved;
	/* Runs this invocation made (created, or found after a lost create answer), those
	 * of items left in flight included; the runs of `resumed` are not among them. */
	uint64_t runs;
	uint64_t outputs, output_bytes; /* filled by the caller from the collector's close */
	uint64_t volumes;		/* archive volumes finished by this invocation (likewise) */
	unsigned volume_count;		/* ... and in all */
	uint64_t costed;		/* items with a charged cost */
	double cost;
	uint64_t elapsed_ms;
	int stopped;		/* a batch-level error stopped admission */
	struct fb_err stop_err; /* why, when stopped */
	int budget_stopped;	/* --max-cost stopped admission */
	uint64_t throttled_ms;	/* time every request waited out 429s */
	uint64_t gate_waits;	/* times a job waited in line for the rate limit */
	uint64_t done_before;	/* items an earlier invocation finished: not run again */
	uint64_t resumed;	/* runs an earlier invocation created, picked up by id */
	uint64_t uploads;	/* local files uploaded by this invocation */
	int interrupted;	/* *stop was set: the batch ended early */
	int reader_gone;	/* standard output's reader went away: the batch ended early */
	uint64_t abandoned;	/* in flight when the grace period ran out: no line yet */
	uint64_t journal_syncs; /* fdatasync calls the journal made (group commit) */
};

/*
 * Runs the whole batch: every item read from m ends with exactly one result
 * line in c. Returns 0 when the batch ran to its end, whatever the items'
 * outcomes (see *sum); a negative FB_E* with err when it could not go on
 * (the manifest became unreadable, a result could not be written). All
 * arguments borrowed for the call.
 */
int fb_driver_run(const struct fb_driver_config *cfg, struct fb_manifest *m, struct fb_transport *t,
		  struct fb_collector *c, struct fb_clock *clock, struct fb_log *log,
		  struct fb_summary *sum, struct fb_err *err);

#endif
