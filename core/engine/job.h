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
 * job.c (life cycle and the error policy) sits on top of the stages it
 * starts: jobupload.c (local inputs), jobfetch.c (outputs), jobrecover.c
 * (finding a run whose create answer was lost), jobbase.c (waiting,
 * failing, adopting a run) and jobresult.c (the result line). They share
 * jobstate.h, the private view of struct fb_job, and call back into job.c
 * only through the table it holds (struct fb_job_flow). What a job needs
 * from its batch is jobenv.h; both are included here.
 */
#ifndef FB_JOB_H
#define FB_JOB_H

#include "clock.h"
#include "assets.h"
#include "collector.h"
#include "error.h"
#include "item.h"
#include "jobenv.h"
#include "jobresult.h"
#include "log.h"
#include "poller.h"
#include "results.h"
#include "transport.h"

#include <stdint.h>

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

#endif
