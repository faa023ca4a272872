/*
 * jobrecover: a 409 idempotency_duplicate says the key already made a run,
 * without saying which (its create answer was lost). Find it through the
 * list endpoint: runs of the item's scope created since the item's create
 * was first sent, that no other item of this invocation holds. One such run
 * is adopted; none or several leave the item `unresolved`, listing the
 * candidates, and nothing is created again unless the user asked for that.
 * Part of the job module (jobpriv.h).
 */
#include "backoff.h"
#include "jobstate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECOVER_TRIES 4	   /* listings before giving up: other items may still claim theirs */
#define RECOVER_PAGES 5	   /* pages of 100 runs per listing */
#define RECOVER_WAIT  2000 /* ms between listings */
#define CLOCK_SKEW_MS 1000 /* the API's clock against ours */

/* The API's timestamps are unix ms (webhooks say so); seconds are taken too. */
static int64_t as_ms(int64_t t)
{
	return t >= 0 && t < 100000000000LL ? t * 1000 : t;
}

static void clear_candidates(struct fb_job *j)
{
	for (size_t i = 0; i < j->ncandidates; i++)
		free(j->candidates[i]);
	free(j->candidates);
	j->candidates = NULL;
	j->ncandidates = 0;
}

static int add_candidate(struct fb_job *j, const char *run_id)
{
	char **v = realloc(j->candidates, (j->ncandidates + 1) * sizeof(*v));
	if (!v)
		return FB_ENOMEM;
	j->candidates = v;
	if (!(v[j->ncandidates] = fb_strdup(run_id)))
		return FB_ENOMEM;
	j->ncandidates++;
	return 0;
}

static void unresolved(struct fb_job *j)
{
	struct fb_err e = {0};
	if (j->env->policy->recreate_unresolved) {
		/* Asked for explicitly: a new run under a key of its own. */
		fb_log_msg(j->env->log, FB_LOG_WARN,
			   "%s: the run of key %s cannot be found (%zu candidates); creating a "
			   "new one (--recreate-unresolved)",
			   j->item.id, j->cur_key, j->ncandidates);
		clear_candidates(j);
		j->reruns++;
		fb_idemkey_attempt(j->key, j->reruns + 1, j->cur_key);
		fb_job_send_create(j);
		return;
	}
	fb_err_set(&e, FB_EHTTP, FB_KIND_ITEM,
		   "the API says key %s already made a run (409) but not which, and %s; "
		   "nothing was created again (see candidates; --recreate-unresolved creates "
		   "a new run)",
		   j->cur_key,
		   j->ncandidates ? "several recent runs could be it" : "no recent run matches");
	e.http_status = 409;
	snprintf(e.api_code, sizeof(e.api_code), "idempotency_duplicate");
	fb_log_msg(j->env->log, FB_LOG_WARN, "%s (%s): %s", j->item.id, j->item.source, e.msg);
	fb_job_finish(j, FB_STATUS_UNRESOLVED, &e);
}

/* After a listing: adopt the one candidate, look again, or give up. */
static void conclude(struct fb_job *j)
{
	free(j->recover_cursor);
	j->recover_cursor = NULL;
	j->recover_pages = 0;
	/*
	 * A lone candidate may be another item's run whose create answer is
	 * still on its way: adopt it only when a second listing, a moment
	 * later (time for that answer to arrive and be claimed), agrees.
	 */
	if (j->ncandidates == 1 &&
	    (!j->recover_single || strcmp(j->recover_single, j->candidates[0]))) {
		free(j->recover_single);
		j->recover_single = fb_strdup(j->candidates[0]);
	} else if (j->ncandidates == 1) {
		char *run_id = j->candidates[0];
		j->candidates[0] = NULL;
		clear_candidates(j);
		fb_log_msg(j->env->log, FB_LOG_INFO, "%s: found run %s of key %s after a 409",
			   j->item.id, run_id, j->cur_key);
		j->created_ms = fb_job_now(j);
		int rc = fb_job_adopt(j, run_id, NULL);
		free(run_id);
		if (rc) {
			struct fb_err e = {0};
			fb_err_set(&e, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
			fb_job_finish(j, FB_STATUS_FAILED, &e);
			return;
		}
		fb_job_schedule_poll(j, -1);
		return;
	}
	if (++j->recover_tries < RECOVER_TRIES) {
		clear_candidates(j);
		fb_job_wait(j, J_WAIT_RECOVER, RECOVER_WAIT);
		return;
	}
	unresolved(j);
}

static void on_list(void *ud, const struct fb_list_reply *r)
{
	struct fb_job *j = ud;
	const struct fb_job_policy *p = j->env->policy;
	if (!r->ok) {
		if (r->err.kind == FB_KIND_RETRYABLE && j->req_retries < p->max_retries) {
			j->req_retries++;
			fb_job_wait(
			    j, J_WAIT_RECOVER,
			    fb_backoff_after(fb_backoff_ms(p->backoff_base_ms, p->backoff_cap_ms,
							   j->req_retries, j->env->rng),
					     r->retry_after_ms, 120000));
			return;
		}
		j->recover_tries = RECOVER_TRIES; /* the list cannot help: give up now */
		unresolved(j);
		return;
	}
	j->req_retries = 0;
	int64_t since = (int64_t)j->first_sent_wall - CLOCK_SKEW_MS;
	int64_t until = j->lost_wall ? (int64_t)j->lost_wall + CLOCK_SKEW_MS : INT64_MAX;
	int older_seen = 0;
	for (size_t i = 0; i < r->nruns; i++) {
		const struct fb_run_info *run = &r->runs[i];
		int64_t at = as_ms(run->created_at);
		if (at >= 0 && at < since) {
			older_seen = 1; /* newest first: the rest are older still */
			break;
		}
		if (at > until)
			continue; /* made after our lost create had already failed */
		if (!run->run_id || j->env->claimed(j->env->owner, run->run_id))
			continue;
		if (add_candidate(j, run->run_id)) {
			struct fb_err e = {0};
			fb_err_set(&e, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
			fb_job_finish(j, FB_STATUS_FAILED, &e);
			return;
		}
	}
	if (!older_seen && r->next_cursor && ++j->recover_pages < RECOVER_PAGES) {
		free(j->recover_cursor);
		j->recover_cursor = fb_strdup(r->next_cursor);
		fb_job_recover(j);
		return;
	}
	conclude(j);
}

void fb_job_recover(struct fb_job *j)
{
	if (!fb_job_pass_gate(j, J_WAIT_RECOVER))
		return;
	const struct fb_item *it = &j->item;
	struct fb_list_query q = {
	    .kind = it->kind,
	    .technique_id = it->kind == FB_JOB_TECHNIQUE_ID ? it->technique_id : NULL,
	    .workspace_id = it->kind != FB_JOB_TECHNIQUE ? it->workspace_id : NULL,
	    .project_id = it->kind == FB_JOB_GENERATION ? it->project_id : NULL,
	    .cursor = j->recover_cursor,
	    .limit = 100,
	};
	struct fb_err e = {0};
	if (!j->recover_pages)
		clear_candidates(j);
	j->state = J_RECOVERING;
	if (fb_transport_list_runs(j->env->transport, &q, on_list, j, &e) < 0) {
		j->recover_tries = RECOVER_TRIES;
		unresolved(j);
	}
}
