/*
 * job: one item's life, as a state machine driven by transport callbacks and
 * timers: create the run (same idempotency key on every retry), poll it at
 * the contract's pace until it is terminal, fetch every output into the
 * collector, write the item's one result line.
 *
 * Invariant the driver relies on: a live job has exactly one thing pending,
 * either a request in flight, one timer (asked for through env->wake_at) or
 * its run watched by the poller (env->poller), and it finishes (env->done)
 * only from a callback, never with a timer left or its run still watched.
 *
 * The module is job.c (life cycle and the error policy), jobfetch.c
 * (outputs) and jobrecover.c (finding a run whose create answer was lost);
 * jobpriv.h is their shared, private view of struct fb_job.
 */
#ifndef FB_JOB_H
#define FB_JOB_H

#include "clock.h"
#include "assets.h"
#include "collector.h"
#include "error.h"
#include "item.h"
#include "log.h"
#include "poller.h"
#include "results.h"
#include "transport.h"

#include <stdint.h>

struct fb_job_policy {
	unsigned max_retries;	  /* per request, on retryable errors; same key every time */
	unsigned max_429_retries; /* 429s per request (they pause the whole client) */
	uint64_t backoff_base_ms; /* full-jitter exponential backoff */
	uint64_t backoff_cap_ms;
	uint64_t poll_interval_ms;   /* 0: the contract's pace (estimate first, then 2-5 s) */
	unsigned fetch_attempts;     /* tries per output download */
	uint64_t max_output_bytes;   /* a larger output fails the item, never archived short */
	int legacy_generation_route; /* generations through POST /runs/generation, not /generate */
	unsigned retry_failed;	     /* new runs for a run that failed with a retryable code */
	uint64_t run_timeout_ms;     /* 0: none; else the item fails "timeout", its run id kept */
	int recreate_unresolved;     /* 1: a run that cannot be found after a 409 is created anew */
	const char *api_origin;	     /* "scheme://host[:port]": downloads from here pass the gate */
	const char *workspace_id;    /* where local files are uploaded when an item names none */
};

struct fb_job;

/* What a job needs from its owner. Everything borrowed for the job's lifetime. */
struct fb_job_env {
	struct fb_transport *transport;
	struct fb_collector *collector;
	struct fb_clock *clock;
	struct fb_log *log;
	const struct fb_job_policy *policy;
	/* Checks runs through the list endpoints; NULL: every check is a GET of the job's own. */
	struct fb_poller *poller;
	uint64_t *rng; /* the owner's jitter state (fb_rand) */
	/* The latest first check a job scheduled for itself: a burst's keep its order. */
	uint64_t *first_check;
	/* Asks for fb_job_wake(job) at due_ms. 0 or FB_ENOMEM. */
	int (*wake_at)(void *owner, struct fb_job *job, uint64_t due_ms);
	/* The client-wide gate every API request passes: 0 = go (counted), else ms to wait. */
	uint64_t (*gate)(void *owner);
	/* A 429 answer: the owner pauses every request, not only this one. */
	void (*throttled)(void *owner, long retry_after_ms);
	/* The job wrote its result line (or could not: err set); the owner frees it. */
	void (*done)(void *owner, struct fb_job *job, int rc, const struct fb_err *err);
	/* An answer says no further item can succeed (401, 402): stop admitting. */
	void (*batch_error)(void *owner, const struct fb_err *err);
	/*
	 * A create or upload was refused 403 or 404: the owner may stop sending
	 * what needs that scope, or stop the batch (guard.h). Returns 1 when
	 * the refusal may be the batch's rather than the item's (nothing was
	 * accepted yet): the item is then skipped, so a re-run tries it again.
	 */
	int (*forbidden)(void *owner, const struct fb_item *it, const struct fb_err *err);
	/* Claims run_id for this job: 1 if it was free, 0 if another item holds it. */
	int (*claim)(void *owner, const char *run_id);
	/* Whether another item of this invocation holds run_id. */
	int (*claimed)(void *owner, const char *run_id);
	/* A create with key is about to be sent / key made run_id: for the journal. 0 or FB_E*. */
	int (*note_create)(void *owner, const char *key);
	int (*note_run)(void *owner, const char *key, const char *run_id, const char *poll_url);
	/*
	 * Group commit (journal.h): how many journal records were noted so far,
	 * and a wait until the first `mark` of them are on disk (0 or FB_E*).
	 * A result line, and a create that may make an item's second run, wait
	 * for the item's run record; nothing else waits for the disk.
	 */
	uint64_t (*journal_mark)(void *owner);
	int (*journal_durable)(void *owner, uint64_t mark);
	/* The batch's uploads by content (assets.h): ask, then report the end of an upload. */
	enum fb_asset_state (*asset)(void *owner, const char *sha256, const char **asset_id,
				     const char **url);
	void (*asset_done)(void *owner, const char *sha256, const char *asset_id, const char *url);
	void *owner;
};

/*
 * A job for item (resolved, see resolve.h; moved in: *item is zeroed) with
 * its idempotency key (copied). NULL when out of memory, in which case the
 * item was released.
 */
struct fb_job *fb_job_new(struct fb_item *item, const char *key, const struct fb_job_env *env);

/*
 * Sends the create. If even that cannot start, the job fails itself: its
 * result line is written and env->done fires before this returns.
 */
void fb_job_start(struct fb_job *j);

/*
 * Picks up run_id, which key made in an earlier invocation (the journal
 * says so): polled, never created again. Like fb_job_start otherwise.
 */
void fb_job_resume(struct fb_job *j, const char *run_id, const char *poll_url);

/* The timer the job asked for is due. */
void fb_job_wake(struct fb_job *j);

/*
 * For the poller's ops (poller.h): a list item answered the watched run
 * (the same path as a GET's answer; may finish and free the job), or no
 * sweep did in time and the job sends its own GET now.
 */
void fb_job_poll_answer(struct fb_job *j, const struct fb_run_info *run);
void fb_job_poll_fallback(struct fb_job *j);

/* The status of the job's result line (meaningful once done fired). */
enum fb_item_status fb_job_status(const struct fb_job *j);
/* The final charged cost, if the run reported one. */
int fb_job_cost(const struct fb_job *j, double *cost);
/* The job's item (borrowed until fb_job_free). */
const struct fb_item *fb_job_item(const struct fb_job *j);
/* Runs created or adopted for the item. */
unsigned fb_job_attempts(const struct fb_job *j);
/*
 * Of those, the runs this invocation made (created, or found after a lost
 * create answer): the run fb_job_resume picked up from an earlier
 * invocation is not one.
 */
unsigned fb_job_runs_made(const struct fb_job *j);
/* The create's quote for the current run (budget accounting), if one came. */
int fb_job_quote(const struct fb_job *j, double *quote);

/* Whether key is the item's key or its current run's (another after a re-run). */
int fb_job_uses_key(const struct fb_job *j, const char *key);
void fb_job_free(struct fb_job *j);

/*
 * Writes the result line of an item that never ran: invalid (why from the
 * item) or skipped (why given). key may be NULL.
 */
int fb_job_write_unstarted(struct fb_collector *c, struct fb_clock *clock,
			   const struct fb_item *item, enum fb_item_status status,
			   const struct fb_err *why, const char *key, struct fb_err *err);

#endif
