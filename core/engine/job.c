/*
 * job: one item's life cycle (create, poll, re-create after a retryable
 * failure) and the one place that decides what an unsuccessful answer means
 * for it. Local inputs are in jobupload.c, outputs in jobfetch.c,
 * lost-answer recovery in jobrecover.c, the steps they share in jobbase.c,
 * result lines in jobresult.c; all of them sit below this file and reach
 * back only through the table below (flow).
 */
#include "job.h"
#include "backoff.h"
#include "jobstate.h"
#include "resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An estimate is a hint from outside: past five minutes it is taken as five minutes. */
#define MAX_HINT_S 300
/*
 * However long the estimate, the first check comes within the contract's
 * polling window (every 2-5 s): a run may end long before a hint says, and
 * a hostile hint (30 days) must not park it.
 */
#define FIRST_CHECK_MAX_S 5

static void send_create(struct fb_job *j);
static void schedule_poll(struct fb_job *j, long estimated_seconds);

/* What the stages below call back here (jobstate.h). */
static const struct fb_job_flow flow = {send_create, schedule_poll};

struct fb_job *fb_job_new(struct fb_item *item, const char *key, const struct fb_job_env *env)
{
	struct fb_job *j = calloc(1, sizeof(*j));
	if (j) {
		j->dl_fd = -1;
		j->key = fb_strdup(key);
		j->sha = fb_sha256_new();
	}
	if (!j || !j->key || !j->sha) {
		fb_job_free(j);
		fb_item_release(item);
		return NULL;
	}
	snprintf(j->cur_key, sizeof(j->cur_key), "%s", key);
	j->flow = &flow;
	j->env = env;
	j->item = *item;
	memset(item, 0, sizeof(*item));
	fb_run_info_release(&j->final);
	j->admitted_ms = fb_clock_now_ms(env->clock);
	return j;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int fb_job_uses_key(const struct fb_job *j, const char *key)
{
	return !strcmp(j->key, key) || !strcmp(j->cur_key, key);
}

void fb_job_free(struct fb_job *j)
{
	if (!j)
		return;
	fb_job_leave_gate(j);
	fb_item_release(&j->item);
	free(j->key);
	free(j->run_id);
	free(j->poll_url);
	free_strv(j->run_ids, j->nrun_ids);
	free_strv(j->candidates, j->ncandidates);
	free(j->recover_cursor);
	free(j->recover_single);
	fb_run_info_release(&j->final);
	if (j->dl_fd >= 0)
		close(j->dl_fd);
	fb_sha256_free(j->sha);
	free_strv(j->paths, j->nouts);
	free(j->outs);
	free(j);
}

enum fb_item_status fb_job_status(const struct fb_job *j)
{
	return j->status;
}

int fb_job_cost(const struct fb_job *j, double *cost)
{
	if (j->has_cost)
		*cost = j->cost;
	return j->has_cost;
}

int fb_job_quote(const struct fb_job *j, double *quote)
{
	if (j->has_quote)
		*quote = j->quote;
	return j->has_quote;
}

const struct fb_item *fb_job_item(const struct fb_job *j)
{
	return &j->item;
}

unsigned fb_job_attempts(const struct fb_job *j)
{
	return j->attempts;
}

unsigned fb_job_runs_made(const struct fb_job *j)
{
	return j->attempts - (j->resumed && j->attempts > 0);
}

/* The contract's pace between checks: 2-5 s with jitter, or the fixed --poll-interval. */
static uint64_t pace(struct fb_job *j)
{
	const struct fb_job_policy *p = j->env->policy;
	if (p->poll_interval_ms)
		return p->poll_interval_ms + fb_rand(j->env->rng, p->poll_interval_ms / 10 + 1);
	return (j->polls < 1 ? 2000 : j->polls < 2 ? 3000 : 4000) + fb_rand(j->env->rng, 1001);
}

/* A check lands on the --run-timeout deadline at the latest, so the timeout is on time. */
static uint64_t until_deadline(struct fb_job *j, uint64_t d)
{
	uint64_t t = j->env->policy->run_timeout_ms, now = fb_job_now(j);
	if (t && j->created_ms && j->created_ms + t - now < d)
		d = j->created_ms + t - now;
	return d;
}

/*
 * Hands the run to the poller, which answers it from a list page or hands
 * it back for a GET, never sooner than fallback_ms. 0 when the job polls
 * itself instead. est_s is the create answer's estimate (-1: none).
 */
static int watch(struct fb_job *j, uint64_t fallback_ms, long est_s, int checked)
{
	if (!j->env->poller || j->direct)
		return 0;
	const struct fb_item *it = &j->item;
	uint64_t t = j->env->policy->run_timeout_ms;
	struct fb_poll_target tg = {
	    .kind = it->kind,
	    .run_id = j->run_id,
	    /* The nested route's runs live in the key's workspace, whatever the item says. */
	    .workspace_id = it->kind != FB_JOB_TECHNIQUE ? it->workspace_id : NULL,
	    .project_id = it->kind == FB_JOB_GENERATION ? it->project_id : NULL,
	    .technique_id = it->kind == FB_JOB_TECHNIQUE_ID ? it->technique_id : NULL,
	    .since_ms = j->created_ms,
	    .expect_ms = est_s > 0 ? (uint64_t)(est_s > MAX_HINT_S ? MAX_HINT_S : est_s) * 1000 : 0,
	    .fallback_ms = fallback_ms,
	    .deadline_ms = t && j->created_ms ? j->created_ms + t : 0,
	    .checked = checked,
	};
	int rc = fb_poller_watch(j->env->poller, &tg, j);
	if (rc == 1)
		return 0;
	if (rc < 0) {
		struct fb_err e = {0};
		fb_err_set(&e, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		fb_job_finish(j, FB_STATUS_FAILED, &e);
		return 1;
	}
	j->state = J_WATCHED;
	return 1;
}

/*
 * The first check: the run is watched through the lists from the start
 * (the poller decides when a sweep is worth it). A run the poller does not
 * take waits for the estimate, capped, or the contract's pace, then GETs.
 */
static void schedule_poll(struct fb_job *j, long estimated_seconds)
{
	const struct fb_job_policy *p = j->env->policy;
	uint64_t now = fb_job_now(j), d;
	if (p->run_timeout_ms && j->created_ms && now - j->created_ms >= p->run_timeout_ms) {
		struct fb_err e = {0};
		fb_err_set(&e, FB_ERUN, FB_KIND_ITEM,
			   "run %s did not finish within --run-timeout (%llu s); a later "
			   "invocation can still collect it",
			   j->run_id, (unsigned long long)(p->run_timeout_ms / 1000));
		snprintf(e.api_code, sizeof(e.api_code), "timeout");
		fb_job_fail(j, &e);
		return;
	}
	if (!p->poll_interval_ms && j->polls == 0 && estimated_seconds >= 0)
		d = (uint64_t)(estimated_seconds > FIRST_CHECK_MAX_S ? FIRST_CHECK_MAX_S
								     : estimated_seconds) *
		    1000;
	else
		d = pace(j);
	d = until_deadline(j, d);
	if ((j->polls > 0 || !p->poll_interval_ms) &&
	    watch(j, j->polls > 0 ? d : pace(j), estimated_seconds, j->polls > 0))
		return;
	/* Jitter spreads a burst's first checks; it need not shuffle their order. */
	if (j->polls == 0 && j->env->first_check) {
		if (now + d < *j->env->first_check)
			d = *j->env->first_check - now;
		*j->env->first_check = now + d;
	}
	fb_job_wait(j, J_WAIT_POLL, d);
}

/*
 * 422: the same key with another body. Keys are hashes of the item's work,
 * so this can only be a bug in how keys are made (or a key reused across
 * namespaces by hand): say so loudly, and create nothing.
 */
static void key_conflict(struct fb_job *j, const struct fb_err *e)
{
	struct fb_err c = *e;
	fb_err_set(&c, FB_EHTTP, FB_KIND_ITEM,
		   "idempotency key %s was first used with a different request body "
		   "(the key is the hash of this item's canonical work; the API holds another "
		   "body under it): a key-derivation bug worth reporting; nothing was created",
		   j->cur_key);
	fb_job_fail(j, &c);
}

/*
 * The policy, in one place: what an unsuccessful answer means for the item,
 * from the error's kind and, for the few codes that need it, its code.
 */
static void on_error(struct fb_job *j, const struct fb_reply *reply, enum jstate retry_state)
{
	const struct fb_err *e = &reply->err;
	const struct fb_job_policy *p = j->env->policy;
	int is_create = retry_state == J_WAIT_CREATE;

	/* The run a lost answer may have made was created before this moment. */
	if (is_create && !reply->http_status && !j->lost_wall)
		j->lost_wall = fb_clock_wall_ms(j->env->clock);

	if (reply->http_status == 429) {
		/* The whole client pauses; this request goes again after the pause. */
		j->env->throttled(j->env->owner, reply->retry_after_ms);
		if (++j->req_429s <= p->max_429_retries) {
			uint64_t b = fb_backoff_ms(p->backoff_base_ms, p->backoff_cap_ms,
						   j->req_429s, j->env->rng);
			long ra = reply->retry_after_ms < 0 ? 5000 : reply->retry_after_ms;
			fb_job_wait(j, retry_state, fb_backoff_after(b, ra, 120000));
			return;
		}
	} else if (e->kind == FB_KIND_RETRYABLE && j->req_retries < p->max_retries) {
		j->req_retries++;
		uint64_t d = fb_backoff_after(fb_backoff_ms(p->backoff_base_ms, p->backoff_cap_ms,
							    j->req_retries, j->env->rng),
					      reply->retry_after_ms, 120000);
		fb_log_msg(j->env->log, FB_LOG_DEBUG, "%s: %s; retry %u in %llu ms", j->item.id,
			   e->msg, j->req_retries, (unsigned long long)d);
		fb_job_wait(j, retry_state, d);
		return;
	}
	if (is_create && !strcmp(e->api_code, "idempotency_duplicate")) {
		fb_job_recover(j); /* never a blind retry: find the run the key made */
		return;
	}
	if (is_create && !strcmp(e->api_code, "idempotency_conflict")) {
		key_conflict(j, e);
		return;
	}
	if (is_create && (reply->http_status == 403 || reply->http_status == 404) &&
	    j->env->forbidden(j->env->owner, &j->item, e)) {
		fb_job_finish(j, FB_STATUS_SKIPPED, e); /* maybe the batch's: a re-run tries it */
		return;
	}
	if (e->kind == FB_KIND_BATCH) {
		j->env->batch_error(j->env->owner, e);
		/* A create refused for the whole batch started nothing: the item was skipped. */
		fb_job_finish(j, is_create && !j->run_id ? FB_STATUS_SKIPPED : FB_STATUS_FAILED, e);
		return;
	}
	fb_job_fail(j, e);
}

static int is_terminal(enum fb_run_status s)
{
	return s == FB_RUN_COMPLETED || s == FB_RUN_FAILED;
}

/* A run that failed for a reason worth another try gets a new run, under a new key. */
static int rerun(struct fb_job *j, const struct fb_run_info *run)
{
	if (!fb_err_run_code_retryable(run->error_code) ||
	    j->reruns >= j->env->policy->retry_failed)
		return 0;
	j->reruns++;
	/* A failed run burns its key, so the new run needs one of its own. */
	if (fb_idemkey_attempt(j->key, j->reruns + 1, j->cur_key))
		return 0;
	fb_log_msg(j->env->log, FB_LOG_INFO, "%s: run %s failed (%s); starting run %u", j->item.id,
		   j->run_id, run->error_code, j->reruns + 1);
	free(j->poll_url);
	j->poll_url = NULL;
	j->polls = 0;
	j->cost_reread = 0;
	j->created_ms = 0;
	send_create(j);
	return 1;
}

static void on_terminal(struct fb_job *j, const struct fb_run_info *run)
{
	struct fb_err e = {0};
	j->terminal_ms = fb_job_now(j);
	if (run->status == FB_RUN_FAILED) {
		if (rerun(j, run))
			return;
		fb_err_set(&e, FB_ERUN, FB_KIND_ITEM, "run %s failed: %s", j->run_id,
			   run->error_message ? run->error_message : "no message");
		snprintf(e.api_code, sizeof(e.api_code), "%s",
			 run->error_code ? run->error_code : "run_failed");
		j->has_cost = run->has_cost;
		j->cost = run->charged_cost;
		fb_job_fail(j, &e);
		return;
	}
	/* The final cost may lag the run's end: read the run once more for it. */
	if (!run->has_cost && !j->cost_reread) {
		j->cost_reread = 1;
		fb_job_wait(j, J_WAIT_POLL, 1000);
		return;
	}
	j->has_cost = run->has_cost;
	j->cost = run->charged_cost;
	/* A 2xx is not success: a completed run must have something to collect. */
	if (run->noutputs == 0) {
		fb_err_set(&e, FB_ERUN, FB_KIND_ITEM, "run %s completed without outputs",
			   j->run_id);
		snprintf(e.api_code, sizeof(e.api_code), "no_outputs");
		fb_job_fail(j, &e);
		return;
	}
	if (fb_job_copy_outputs(j, run)) {
		fb_err_set(&e, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		fb_job_finish(j, FB_STATUS_FAILED, &e);
		return;
	}
	fb_job_fetch_next(j);
}

static void on_create(void *ud, const struct fb_reply *reply)
{
	struct fb_job *j = ud;
	if (!reply->ok) {
		on_error(j, reply, J_WAIT_CREATE);
		return;
	}
	j->req_retries = j->req_429s = 0;
	j->created_ms = fb_job_now(j);
	if (fb_job_adopt(j, reply->run.run_id, reply->run.poll_url)) {
		struct fb_err e = {0};
		fb_err_set(&e, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		fb_job_finish(j, FB_STATUS_FAILED, &e);
		return;
	}
	/* The create's charged_cost is a quote; the finished run's figure replaces it. */
	j->has_quote = reply->run.has_cost;
	j->quote = reply->run.charged_cost;
	fb_log_msg(j->env->log, FB_LOG_DEBUG, "%s: created %s", j->item.id, j->run_id);
	if (is_terminal(reply->run.status))
		on_terminal(j, &reply->run); /* a replay of a run that already ended */
	else
		schedule_poll(j, reply->run.estimated_seconds);
}

static void on_poll(void *ud, const struct fb_reply *reply)
{
	struct fb_job *j = ud;
	if (!reply->ok) {
		on_error(j, reply, J_WAIT_POLL);
		return;
	}
	j->req_retries = j->req_429s = 0;
	if (j->env->poller)
		fb_poller_seen(j->env->poller, j->item.kind, reply->run.run_id, j->created_ms,
			       is_terminal(reply->run.status), j->direct);
	j->direct = 0;
	j->polls++;
	if (is_terminal(reply->run.status))
		on_terminal(j, &reply->run);
	else
		schedule_poll(j, -1);
}

void fb_job_poll_answer(struct fb_job *j, const struct fb_run_info *run)
{
	j->polls++;
	if (is_terminal(run->status))
		on_terminal(j, run);
	else
		schedule_poll(j, -1);
}

/*
 * Whether a create sends the url of an asset this batch uploaded: the
 * asset's journal record must then outlive a power cut before the create
 * leaves, or a re-run would upload again and send another url under the
 * same key, which the API refuses (422).
 */
static int uploaded(const struct fb_job *j)
{
	for (size_t i = 0; i < j->item.ninputs; i++)
		if (j->item.inputs[i].local)
			return 1;
	return 0;
}

static void send_create(struct fb_job *j)
{
	if (!fb_job_pass_gate(j, J_WAIT_CREATE))
		return;
	const struct fb_item *it = &j->item;
	struct fb_run_request req = {
	    .kind = it->kind,
	    .technique = fb_resolve_technique(it),
	    .inputs = it->inputs,
	    .ninputs = it->ninputs,
	    .workspace_id = it->workspace_id,
	    .project_id = it->project_id,
	    .generation = it->generation,
	    .prompt = it->prompt,
	    .model = it->model,
	    .params = it->params,
	    .legacy_generation_route = j->env->policy->legacy_generation_route,
	    .idempotency_key = j->cur_key, /* the same key on every retry of this create */
	};
	struct fb_err e = {0};
	j->state = J_CREATING;
	uint64_t wall = fb_clock_wall_ms(j->env->clock);
	if (!j->submitted_wall)
		j->submitted_wall = wall;
	if (!j->first_sent_wall)
		j->first_sent_wall = wall;
	/*
	 * Journaled first. A first create needs no wait for the disk: its key is
	 * the item's, so after a crash the same create goes again and the API
	 * answers with the run it made (or 409, resolved through the lists). A
	 * create that may make the item's second run waits until the first
	 * run's record is on disk, and one that sends an uploaded asset's url
	 * until the asset's record is (uploaded()).
	 */
	if (j->env->note_create(j->env->owner, j->cur_key) ||
	    (j->nrun_ids && j->env->journal_durable(j->env->owner, j->jmark)) ||
	    (uploaded(j) &&
	     j->env->journal_durable(j->env->owner, j->env->journal_mark(j->env->owner)))) {
		fb_err_set(&e, FB_EIO, FB_KIND_BATCH, "the journal cannot be written");
		fb_job_finish(j, FB_STATUS_FAILED, &e);
		return;
	}
	if (fb_transport_create_run(j->env->transport, &req, on_create, j, &e) < 0)
		fb_job_fail(j, &e);
}

static void send_poll(struct fb_job *j)
{
	if (!fb_job_pass_gate(j, J_WAIT_POLL))
		return;
	struct fb_run_ref ref = {
	    .kind = j->item.kind,
	    .run_id = j->run_id,
	    .technique = fb_resolve_technique(&j->item),
	    .poll_url = j->poll_url,
	};
	struct fb_err e = {0};
	j->state = J_POLLING;
	if (fb_transport_get_run(j->env->transport, &ref, on_poll, j, &e) < 0)
		fb_job_fail(j, &e);
}

void fb_job_poll_fallback(struct fb_job *j)
{
	j->direct = 1;
	send_poll(j);
}

/* A check is due: the poller's, or the job's own GET. */
static void check_due(struct fb_job *j)
{
	if (!watch(j, until_deadline(j, pace(j)), -1, 0))
		send_poll(j);
}

void fb_job_start(struct fb_job *j)
{
	fb_job_upload(j); /* local inputs first, if any; then the create */
}

void fb_job_resume(struct fb_job *j, const char *run_id, const char *poll_url)
{
	struct fb_err e = {0};
	j->submitted_wall = fb_clock_wall_ms(j->env->clock);
	j->created_ms = fb_job_now(j);
	j->resumed = 1; /* before the adopt that counts it among the attempts */
	if (fb_job_adopt(j, run_id, poll_url)) {
		fb_err_set(&e, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		fb_job_finish(j, FB_STATUS_FAILED, &e);
		return;
	}
	fb_log_msg(j->env->log, FB_LOG_DEBUG, "%s: resuming run %s", j->item.id, run_id);
	send_poll(j);
}

void fb_job_wake(struct fb_job *j)
{
	switch (j->state) {
	case J_WAIT_CREATE:
		send_create(j);
		break;
	case J_WAIT_POLL:
		check_due(j);
		break;
	case J_WAIT_FETCH:
		fb_job_fetch_next(j);
		break;
	case J_WAIT_RECOVER:
		fb_job_recover(j);
		break;
	case J_WAIT_UPLOAD:
		fb_job_upload(j);
		break;
	default:
		break; /* not waiting: a stale timer cannot exist (see job.h), ignore */
	}
}
