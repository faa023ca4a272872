/*
 * jobenv: what a job needs from its batch (struct fb_job_env, filled by the
 * driver) and the batch's policy for it. job.h includes it; the job's own
 * files (jobstate.h) include it without job.h.
 */
#ifndef FB_JOBENV_H
#define FB_JOBENV_H

#include "assets.h"
#include "error.h"
#include "item.h"

#include <stdint.h>

struct fb_clock;
struct fb_collector;
struct fb_log;
struct fb_poller;
struct fb_transport;

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
	/* A job the gate refused joins the line of jobs waiting for it: ms until a
	 * token of its own comes (those ahead of it take theirs first). It says
	 * gate_leave when it asks again or ends. */
	uint64_t (*gate_queue)(void *owner);
	void (*gate_leave)(void *owner);
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

#endif
