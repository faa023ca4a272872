/*
 * poller: polling many runs through the list endpoints (CONTRACT.md §2
 * GET /technique-runs, §3 GET /generations, §10 item 9). A job hands its run
 * to the poller as soon as it is created; the poller sweeps the newest
 * completed (and, less often, failed) runs, 100 to a page, and answers every
 * watched run it finds there with that list item, which is a full RunStatus.
 * When to sweep comes from the batch's own finished runs (pollstats.h), not
 * from the create answer's estimate, which the contract lets be absent or
 * wrong; how often is bounded by a budget of list requests per finished run.
 * A watched run no sweep answers well past the time runs like it took goes
 * back to its job for a GET of its own, so runs a page cannot show (older
 * than the pages, outside the filters, behind a lagging list) still finish;
 * when GETs keep finding what sweeps did not, the lists are given up. A
 * list request that fails only sends its runs back to their own GETs.
 *
 * Owned by the driver; one per batch. Every time comes from the clock; every
 * list request passes the owner's gate. Memory: O(runs watched).
 */
#ifndef FB_POLLER_H
#define FB_POLLER_H

#include "clock.h"
#include "item.h"
#include "transport.h"

#include <stddef.h>
#include <stdint.h>

enum fb_poll_mode {
	FB_POLL_LIST = 0, /* batch polling through the list endpoints (the default) */
	FB_POLL_GET,	  /* one GET per run per check */
};

/* A run to watch. Strings borrowed until the run is answered or handed back. */
struct fb_poll_target {
	enum fb_job_kind kind;
	const char *run_id;
	const char *workspace_id; /* or NULL: the sweep's workspace filter when all share it */
	const char *project_id;	  /* or NULL: the same for the project filter */
	const char *technique_id; /* a tech_ id or NULL: the same for technique runs */
	uint64_t since_ms;	  /* when the run was created (clock ms) */
	uint64_t expect_ms;	  /* the create answer's estimate, ms after since_ms; 0: none */
	uint64_t fallback_ms;	  /* from now: no GET of its own sooner than this */
	uint64_t deadline_ms;	  /* clock ms: handed back by then at the latest; 0: none */
	int checked;		  /* a GET just found it unfinished */
};

struct fb_poller_ops {
	/* A list item answered ud's run (terminal status); ud is no longer watched. */
	void (*answer)(void *ud, const struct fb_run_info *run);
	/* No sweep answered ud's run in time (or none will): ud is no longer watched. */
	void (*fallback)(void *ud);
	/* The client-wide gate: 0 = go (counted), else ms to wait. */
	uint64_t (*gate)(void *owner);
	/* A 429 answer to a list request. */
	void (*throttled)(void *owner, long retry_after_ms);
	/* Runs in flight in the batch: with fewer than min_batch, runs poll themselves. */
	size_t (*inflight)(void *owner);
	void *owner;
};

/* Zero fields take the defaults in brackets. */
struct fb_poller_config {
	unsigned min_batch;	   /* [4] fewer watched runs of a kind: their own GETs */
	uint64_t min_gap_ms;	   /* [250] sweeps of one endpoint at least this far apart... */
	uint64_t max_gap_ms;	   /* [2000] ...and at most this far, while runs are due */
	double budget;		   /* [0.3] list requests per finished run, at most about
				      (a third of it with 300 or more runs watched) */
	uint64_t error_backoff_ms; /* [2000] no sweep for this long after a list failed */
};

struct fb_poller_stats {
	uint64_t sweeps;      /* sweeps started (each: completed, maybe failed) */
	uint64_t lists;	      /* list pages requested */
	uint64_t list_errors; /* list requests that failed */
	uint64_t answered;    /* runs answered by a list item */
	uint64_t fallbacks;   /* runs handed back for their own GET */
	uint64_t deep_sweeps; /* sweeps that read past the first pages */
	uint64_t lists_off;   /* endpoints given up: GETs kept finding what sweeps missed */
};

struct fb_poller;

/* t, clock and ops borrowed for the poller's lifetime. Caller frees with fb_poller_free. */
int fb_poller_new(struct fb_poller **out, const struct fb_poller_config *cfg,
		  struct fb_transport *t, struct fb_clock *clock, const struct fb_poller_ops *ops);

/*
 * Watches tg's run for ud. 0: watched (ops->answer or ops->fallback fires
 * later, from fb_poller_tick or a transport callback, never from this
 * call); 1: not taken, ud polls the run itself now; FB_ENOMEM.
 */
int fb_poller_watch(struct fb_poller *p, const struct fb_poll_target *tg, void *ud);

/*
 * A GET of the job's own answered run_id (borrowed for the call; may be
 * NULL), created at since_ms (clock ms): finished or not; handed_back when
 * the poller had handed it back. Finished runs teach the poller how long
 * runs take, and which runs on a page are the batch's.
 */
void fb_poller_seen(struct fb_poller *p, enum fb_job_kind kind, const char *run_id,
		    uint64_t since_ms, int finished, int handed_back);

/* Hands back due runs and starts due sweeps. Call when fb_poller_next_due has come. */
void fb_poller_tick(struct fb_poller *p);

/* When fb_poller_tick next has work (clock ms), UINT64_MAX for none. */
uint64_t fb_poller_next_due(const struct fb_poller *p);

/* Runs watched now. */
size_t fb_poller_watched(const struct fb_poller *p);

void fb_poller_stats(const struct fb_poller *p, struct fb_poller_stats *out);

/* Frees the poller; a list request still in flight must never be called back after this. */
void fb_poller_free(struct fb_poller *p);

#endif
