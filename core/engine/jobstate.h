/*
 * jobstate: the private view of a job, shared by the job's files only
 * (job.c, jobupload.c, jobfetch.c, jobrecover.c, jobbase.c, jobresult.c).
 * It includes no header of theirs: job.c sits on top and calls the others;
 * they call back into job.c only through the table it puts in every job
 * (struct fb_job_flow).
 */
#ifndef FB_JOBSTATE_H
#define FB_JOBSTATE_H

#include "assets.h"
#include "clock.h"
#include "collector.h"
#include "error.h"
#include "idemkey.h"
#include "item.h"
#include "jobenv.h"
#include "log.h"
#include "poller.h"
#include "results.h"
#include "sha256.h"
#include "transport.h"

#include <stdint.h>

enum jstate {
	J_NEW,
	J_CREATING,
	J_WAIT_CREATE, /* backing off (or gated) before sending the create, same key */
	J_WAIT_POLL,
	J_WATCHED, /* the poller watches the run: its one pending thing (poller.h) */
	J_POLLING,
	J_WAIT_FETCH,
	J_FETCHING,
	J_WAIT_RECOVER,
	J_RECOVERING, /* listing runs to find the one a 409 says exists */
	J_WAIT_UPLOAD,
	J_UPLOADING, /* a local input is on its way to the assets API */
	J_DONE,
};

/*
 * What the stages call back in job.c, which owns the run's life cycle:
 * sending the create (after an upload, or to make a run a 409 could not
 * find), and the first check of a run that was adopted.
 */
struct fb_job_flow {
	void (*send_create)(struct fb_job *j);
	void (*schedule_poll)(struct fb_job *j, long estimated_seconds);
};

struct fb_job {
	const struct fb_job_flow *flow; /* job.c's */
	const struct fb_job_env *env;
	struct fb_item item;
	char *key; /* the item's key: the first run's */
	char cur_key[FB_IDEMKEY_LEN +
		     1]; /* the key of the current run (attempt-derived after a failed run) */
	enum jstate state;
	int gated;	      /* in the line of jobs waiting for the gate */
	unsigned req_retries; /* retries of the request now pending */
	unsigned req_429s;    /* 429s of the request now pending */
	unsigned attempts;    /* runs created or adopted for this item */
	int resumed;	      /* its first run came from an earlier invocation (fb_job_resume) */
	unsigned reruns;      /* runs re-created after a retryable failure */
	unsigned polls;
	int direct;	 /* the poller handed the run back: the next check is a GET of its own */
	int cost_reread; /* the completed run was read again for its final cost */
	char *run_id;
	char *poll_url;
	char **run_ids; /* every run of the item, oldest first (owned) */
	size_t nrun_ids;
	char **candidates; /* unresolved: runs that may be the item's (owned) */
	size_t ncandidates;
	unsigned recover_tries;
	unsigned recover_pages;
	char *recover_cursor;	  /* the next list page, or NULL */
	char *recover_single;	  /* a lone candidate seen once, adopted if seen again */
	uint64_t lost_wall;	  /* when a create first got no answer (wall ms), or 0 */
	uint64_t jmark;		  /* the journal's mark after its run record (0: none needed) */
	struct fb_run_info final; /* the terminal answer; owns the outputs fetched */
	size_t out_idx;
	unsigned fetch_try;
	int dl_fd; /* the download in progress, written as it arrives (fb_collector_part); -1 */
	uint64_t dl_len;  /* its bytes so far */
	uint64_t dl_from; /* where the transfer in progress started (a resumed one: past 0) */
	int resume;	  /* the next transfer of this output takes the rest, not the whole */
	int dl_errno;	  /* a write to it failed */
	struct fb_sha256 *sha;
	struct fb_result_output *outs;
	char **paths; /* owned archive entry names, parallel to outs */
	size_t nouts;
	enum fb_item_status status;
	struct fb_err err;
	int has_cost, has_quote;
	double cost, quote;
	uint64_t admitted_ms, created_ms, terminal_ms, submitted_wall, first_sent_wall;
};

static inline uint64_t fb_job_now(struct fb_job *j)
{
	return fb_clock_now_ms(j->env->clock);
}

/* job.c, through the job's table */
static inline void fb_job_send_create(struct fb_job *j)
{
	j->flow->send_create(j);
}

static inline void fb_job_schedule_poll(struct fb_job *j, long estimated_seconds)
{
	j->flow->schedule_poll(j, estimated_seconds);
}

/* jobbase.c */
void fb_job_fail(struct fb_job *j, const struct fb_err *e);
void fb_job_wait(struct fb_job *j, enum jstate state, uint64_t delay_ms);
/* Passes the client-wide gate, or waits for it in state (in line) and returns 0. */
int fb_job_pass_gate(struct fb_job *j, enum jstate wait_state);
/* Out of the gate's line, if in it. */
void fb_job_leave_gate(struct fb_job *j);
/* Adopts run_id as the item's current run (claimed, remembered). 0 or FB_ENOMEM. */
int fb_job_adopt(struct fb_job *j, const char *run_id, const char *poll_url);

/* jobresult.c: the line, and env->done. */
void fb_job_finish(struct fb_job *j, enum fb_item_status status, const struct fb_err *err);

/* jobfetch.c */
int fb_job_copy_outputs(struct fb_job *j, const struct fb_run_info *run);
void fb_job_fetch_next(struct fb_job *j);

/* jobupload.c: uploads the local inputs, then sends the create. */
void fb_job_upload(struct fb_job *j);

/* jobrecover.c: after 409 idempotency_duplicate, find the run through the list endpoint. */
void fb_job_recover(struct fb_job *j);

#endif
