/* job: one item's state machine: create, poll, fetch, result. */
#include "job.h"
#include "fbarchive.h"
#include "resolve.h"
#include "buf.h"
#include "sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum jstate {
	J_NEW,
	J_CREATING,
	J_WAIT_CREATE, /* backing off before re-sending the create, same key */
	J_WAIT_POLL,
	J_POLLING,
	J_WAIT_FETCH,
	J_FETCHING,
	J_DONE,
};

struct fb_job {
	const struct fb_job_env *env;
	struct fb_item item;
	char *key;
	enum jstate state;
	unsigned req_retries; /* retries of the request now pending */
	unsigned attempts;    /* runs created (or adopted) for this item */
	unsigned polls;
	char *run_id;
	char *poll_url;
	struct fb_run_info final; /* the terminal answer; owns the outputs fetched */
	size_t out_idx;
	unsigned fetch_try;
	struct fb_buf dl;
	struct fb_sha256 *sha;
	struct fb_result_output *outs;
	char **paths; /* owned archive entry names, parallel to outs */
	size_t nouts;
	enum fb_item_status status;
	struct fb_err err;
	int has_cost;
	double cost;
	uint64_t admitted_ms, created_ms, terminal_ms, submitted_wall;
};

uint64_t fb_job_rand(uint64_t *s, uint64_t n)
{
	uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	x *= 0x2545F4914F6CDD1DULL;
	return n ? x % n : 0;
}

struct fb_job *fb_job_new(struct fb_item *item, const char *key, const struct fb_job_env *env)
{
	struct fb_job *j = calloc(1, sizeof(*j));
	if (j) {
		j->key = fb_strdup(key);
		j->sha = fb_sha256_new();
	}
	if (!j || !j->key || !j->sha) {
		fb_job_free(j);
		fb_item_release(item);
		return NULL;
	}
	j->env = env;
	j->item = *item;
	memset(item, 0, sizeof(*item));
	j->final.progress = -1;
	j->final.estimated_seconds = -1;
	j->admitted_ms = fb_clock_now_ms(env->clock);
	return j;
}

void fb_job_free(struct fb_job *j)
{
	if (!j)
		return;
	fb_item_release(&j->item);
	free(j->key);
	free(j->run_id);
	free(j->poll_url);
	fb_run_info_release(&j->final);
	fb_buf_release(&j->dl);
	fb_sha256_free(j->sha);
	for (size_t i = 0; i < j->nouts; i++)
		free(j->paths[i]);
	free(j->paths);
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

unsigned fb_job_attempts(const struct fb_job *j)
{
	return j->attempts;
}

static uint64_t now_ms(struct fb_job *j)
{
	return fb_clock_now_ms(j->env->clock);
}

static void finish(struct fb_job *j, enum fb_item_status status, const struct fb_err *err)
{
	j->state = J_DONE;
	j->status = status;
	if (err && err != &j->err)
		j->err = *err;
	uint64_t now = now_ms(j);
	struct fb_result r = {
	    .id = j->item.id,
	    .status = status,
	    .source = j->item.source,
	    .kind = fb_job_kind_name(j->item.kind),
	    .technique = fb_resolve_technique(&j->item),
	    .run_id = j->run_id,
	    .idempotency_key = j->key,
	    .attempts = j->attempts,
	    .outputs = j->outs,
	    .noutputs = j->nouts,
	    .has_cost = j->has_cost,
	    .charged_cost = j->cost,
	    .error = j->err.code ? &j->err : NULL,
	    .submitted_at_ms = j->submitted_wall,
	    .finished_at_ms = fb_clock_wall_ms(j->env->clock),
	    .run_ms = j->terminal_ms >= j->created_ms && j->created_ms
			  ? j->terminal_ms - j->created_ms
			  : 0,
	    .total_ms = now - j->admitted_ms,
	    .meta_src = j->item.json,
	};
	struct fb_err werr = {0};
	int rc = fb_collector_write(j->env->collector, &r, &werr);
	j->env->done(j->env->owner, j, rc, rc ? &werr : NULL); /* may free j: nothing after */
}

static uint64_t backoff_ms(struct fb_job *j, unsigned attempt)
{
	const struct fb_job_policy *p = j->env->policy;
	uint64_t ceil = p->backoff_base_ms;
	for (unsigned i = 1; i < attempt && ceil < p->backoff_cap_ms; i++)
		ceil *= 2;
	if (ceil > p->backoff_cap_ms)
		ceil = p->backoff_cap_ms;
	/* Full jitter: many items failing together must not retry together. */
	return fb_job_rand(j->env->rng, ceil + 1);
}

static void wait_then(struct fb_job *j, enum jstate state, uint64_t delay_ms)
{
	j->state = state;
	if (j->env->wake_at(j->env->owner, j, now_ms(j) + delay_ms)) {
		struct fb_err e = {0};
		fb_err_set(&e, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		finish(j, FB_STATUS_FAILED, &e);
	}
}

/* The contract's pace: the estimate first, then every 2-5 s, with jitter. */
static void schedule_poll(struct fb_job *j, long estimated_seconds)
{
	const struct fb_job_policy *p = j->env->policy;
	uint64_t d;
	if (p->poll_interval_ms) {
		d = p->poll_interval_ms + fb_job_rand(j->env->rng, p->poll_interval_ms / 10 + 1);
	} else if (j->polls == 0 && estimated_seconds >= 0) {
		d = (uint64_t)estimated_seconds * 1000;
	} else {
		uint64_t base = j->polls < 1 ? 2000 : j->polls < 2 ? 3000 : 4000;
		d = base + fb_job_rand(j->env->rng, 1001);
	}
	wait_then(j, J_WAIT_POLL, d);
}

/*
 * One place decides what an unsuccessful answer means for the item, from
 * the error's kind: retry the same request, fail the item, or stop the batch.
 */
static void on_error(struct fb_job *j, const struct fb_reply *reply, enum jstate retry_state)
{
	const struct fb_err *e = &reply->err;
	const struct fb_job_policy *p = j->env->policy;
	if (e->kind == FB_KIND_RETRYABLE && j->req_retries < p->max_retries) {
		j->req_retries++;
		uint64_t d = backoff_ms(j, j->req_retries);
		if (reply->retry_after_ms >= 0 && (uint64_t)reply->retry_after_ms > d)
			d = (uint64_t)reply->retry_after_ms;
		if (d > 120000)
			d = 120000;
		fb_log_msg(j->env->log, FB_LOG_DEBUG, "%s: %s; retry %u in %llu ms", j->item.id,
			   e->msg, j->req_retries, (unsigned long long)d);
		wait_then(j, retry_state, d);
		return;
	}
	fb_log_msg(j->env->log, FB_LOG_WARN, "%s (%s): %s", j->item.id, j->item.source, e->msg);
	if (e->kind == FB_KIND_BATCH) {
		j->env->batch_error(j->env->owner, e);
		/* A create refused for the whole batch started nothing: the item was skipped. */
		finish(j, retry_state == J_WAIT_CREATE ? FB_STATUS_SKIPPED : FB_STATUS_FAILED, e);
		return;
	}
	finish(j, FB_STATUS_FAILED, e);
}

static void send_create(struct fb_job *j);
static void send_poll(struct fb_job *j);
static void fetch_next(struct fb_job *j);

static void fail_start(struct fb_job *j, const struct fb_err *e)
{
	fb_log_msg(j->env->log, FB_LOG_WARN, "%s: %s", j->item.id, e->msg);
	finish(j, FB_STATUS_FAILED, e);
}

static int copy_outputs(struct fb_job *j, const struct fb_run_info *run)
{
	size_t n = run->noutputs;
	j->final.outputs = calloc(n, sizeof(*j->final.outputs));
	j->outs = calloc(n, sizeof(*j->outs));
	j->paths = calloc(n, sizeof(*j->paths));
	if (!j->final.outputs || !j->outs || !j->paths)
		return FB_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct fb_run_output *o = &j->final.outputs[i];
		o->output_id = fb_strdup(run->outputs[i].output_id);
		o->type = fb_strdup(run->outputs[i].type ? run->outputs[i].type : "unknown");
		o->url = fb_strdup(run->outputs[i].url ? run->outputs[i].url : "");
		j->final.noutputs++;
		if (!o->output_id || !o->type || !o->url)
			return FB_ENOMEM;
	}
	return 0;
}

static void on_terminal(struct fb_job *j, const struct fb_run_info *run)
{
	struct fb_err e = {0};
	j->terminal_ms = now_ms(j);
	if (run->has_cost) {
		j->has_cost = 1;
		j->cost = run->charged_cost;
	}
	if (run->status == FB_RUN_FAILED) {
		fb_err_set(&e, FB_ERUN, FB_KIND_ITEM, "run %s failed: %s", j->run_id,
			   run->error_message ? run->error_message : "no message");
		snprintf(e.api_code, sizeof(e.api_code), "%s",
			 run->error_code ? run->error_code : "run_failed");
		fb_log_msg(j->env->log, FB_LOG_WARN, "%s: %s", j->item.id, e.msg);
		finish(j, FB_STATUS_FAILED, &e);
		return;
	}
	/* A 2xx is not success: a completed run must have something to collect. */
	if (run->noutputs == 0) {
		fb_err_set(&e, FB_ERUN, FB_KIND_ITEM, "run %s completed without outputs",
			   j->run_id);
		snprintf(e.api_code, sizeof(e.api_code), "no_outputs");
		fail_start(j, &e);
		return;
	}
	if (copy_outputs(j, run)) {
		fb_err_set(&e, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		finish(j, FB_STATUS_FAILED, &e);
		return;
	}
	fetch_next(j);
}

static int is_terminal(enum fb_run_status s)
{
	return s == FB_RUN_COMPLETED || s == FB_RUN_FAILED;
}

static void on_create(void *ud, const struct fb_reply *reply)
{
	struct fb_job *j = ud;
	if (!reply->ok) {
		on_error(j, reply, J_WAIT_CREATE);
		return;
	}
	j->req_retries = 0;
	j->attempts++;
	j->created_ms = now_ms(j);
	j->run_id = fb_strdup(reply->run.run_id);
	j->poll_url = fb_strdup(reply->run.poll_url);
	if (!j->run_id || (reply->run.poll_url && !j->poll_url)) {
		struct fb_err e = {0};
		fb_err_set(&e, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		finish(j, FB_STATUS_FAILED, &e);
		return;
	}
	/* The create's charged_cost is a quote; the finished run's figure replaces it. */
	if (reply->run.has_cost) {
		j->has_cost = 1;
		j->cost = reply->run.charged_cost;
	}
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
	j->req_retries = 0;
	j->polls++;
	if (is_terminal(reply->run.status))
		on_terminal(j, &reply->run);
	else
		schedule_poll(j, -1);
}

static int start_create(struct fb_job *j, struct fb_err *err)
{
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
	    .idempotency_key = j->key, /* the same key on every retry of this create */
	};
	j->state = J_CREATING;
	if (!j->submitted_wall)
		j->submitted_wall = fb_clock_wall_ms(j->env->clock);
	return fb_transport_create_run(j->env->transport, &req, on_create, j, err);
}

static void send_create(struct fb_job *j)
{
	struct fb_err e = {0};
	if (start_create(j, &e) < 0)
		fail_start(j, &e);
}

static void send_poll(struct fb_job *j)
{
	struct fb_run_ref ref = {
	    .kind = j->item.kind,
	    .run_id = j->run_id,
	    .technique = fb_resolve_technique(&j->item),
	    .poll_url = j->poll_url,
	};
	struct fb_err e = {0};
	j->state = J_POLLING;
	if (fb_transport_get_run(j->env->transport, &ref, on_poll, j, &e) < 0)
		fail_start(j, &e);
}

void fb_job_start(struct fb_job *j)
{
	send_create(j);
}

void fb_job_wake(struct fb_job *j)
{
	switch (j->state) {
	case J_WAIT_CREATE:
		send_create(j);
		break;
	case J_WAIT_POLL:
		send_poll(j);
		break;
	case J_WAIT_FETCH:
		fetch_next(j);
		break;
	default:
		break; /* not waiting: a stale timer cannot exist (see job.h), ignore */
	}
}

/* Text outputs may carry their content in url instead of a link. */
static int is_inline_text(const struct fb_run_output *o)
{
	return !strcmp(o->type, "text") && !strstr(o->url, "://");
}

/* sha256 is the digest computed while streaming, or NULL to compute it here. */
static int keep_output(struct fb_job *j, const char *ctype, const void *data, size_t len,
		       const char *sha256)
{
	const struct fb_run_output *o = &j->final.outputs[j->out_idx];
	struct fb_result_output *r = &j->outs[j->nouts];
	struct fb_buf path = FB_BUF_INIT;
	struct fb_err e = {0};
	char extbuf[FB_ARCHIVE_EXT_MAX];
	const char *ext =
	    is_inline_text(o) ? "txt" : fb_archive_ext_for(ctype, o->url, o->type, extbuf);
	int rc = fb_collector_add_output(j->env->collector, j->item.id, o->output_id, ext, data,
					 len, &path, &e);
	if (!rc && sha256)
		memcpy(r->sha256, sha256, sizeof(r->sha256));
	else if (!rc)
		rc = fb_sha256_hex(data, len, r->sha256);
	if (rc) {
		fb_buf_release(&path);
		if (!e.code)
			fb_err_set(&e, rc, FB_KIND_BATCH, "out of memory");
		finish(j, FB_STATUS_FAILED, &e);
		return rc;
	}
	r->output_id = o->output_id;
	r->type = o->type;
	r->url = is_inline_text(o) ? NULL : o->url;
	r->bytes = len;
	j->paths[j->nouts] = fb_buf_detach(&path, NULL);
	r->path = j->paths[j->nouts];
	j->nouts++;
	j->out_idx++;
	j->fetch_try = 0;
	return 0;
}

static int on_fetch_data(void *ud, const void *data, size_t len)
{
	struct fb_job *j = ud;
	if (j->dl.len + len > j->env->policy->max_output_bytes)
		return FB_ETOOBIG;
	if (fb_buf_add(&j->dl, data, len) || fb_sha256_update(j->sha, data, len))
		return FB_ENOMEM;
	return 0;
}

static void on_fetch_done(void *ud, const struct fb_fetch_result *res)
{
	struct fb_job *j = ud;
	const struct fb_run_output *o = &j->final.outputs[j->out_idx];
	struct fb_err e = res->err;
	char hex[FB_SHA256_HEX_LEN + 1];
	if (res->ok && res->bytes == j->dl.len && !fb_sha256_final_hex(j->sha, hex)) {
		if (!keep_output(j, res->content_type, j->dl.ptr, j->dl.len, hex))
			fetch_next(j);
		return;
	}
	if (res->ok)
		fb_err_set(&e, FB_ETRANSPORT, FB_KIND_RETRYABLE, "download of %s ended short",
			   o->url);
	if (e.code == FB_ETOOBIG) {
		fb_err_set(&e, FB_ETOOBIG, FB_KIND_ITEM, "output %s is larger than %llu bytes",
			   o->output_id, (unsigned long long)j->env->policy->max_output_bytes);
	} else if (e.kind == FB_KIND_RETRYABLE && ++j->fetch_try < j->env->policy->fetch_attempts) {
		/* A short or broken download is never archived: fetch it again whole. */
		fb_log_msg(j->env->log, FB_LOG_DEBUG, "%s: %s; download retry %u", j->item.id,
			   e.msg, j->fetch_try);
		wait_then(j, J_WAIT_FETCH, backoff_ms(j, j->fetch_try));
		return;
	}
	struct fb_err fe = e; /* keeps http_status and api_code */
	fb_err_set(&fe, e.code ? e.code : FB_ETRANSPORT, FB_KIND_ITEM, "output %s of run %s: %s",
		   o->output_id, j->run_id, e.msg);
	if (!fe.api_code[0])
		snprintf(fe.api_code, sizeof(fe.api_code), "download_failed");
	fail_start(j, &fe);
}

static void fetch_next(struct fb_job *j)
{
	while (j->out_idx < j->final.noutputs) {
		const struct fb_run_output *o = &j->final.outputs[j->out_idx];
		if (is_inline_text(o)) {
			if (keep_output(j, "text/plain", o->url, strlen(o->url), NULL))
				return;
			continue;
		}
		struct fb_err e = {0};
		fb_buf_reset(&j->dl);
		fb_sha256_reset(j->sha);
		j->state = J_FETCHING;
		if (fb_transport_fetch(j->env->transport, o->url, on_fetch_data, on_fetch_done, j,
				       &e) < 0) {
			e.kind = FB_KIND_ITEM;
			fail_start(j, &e);
		}
		return;
	}
	j->terminal_ms = j->terminal_ms ? j->terminal_ms : now_ms(j);
	finish(j, FB_STATUS_COMPLETED, NULL);
}

int fb_job_write_unstarted(struct fb_collector *c, struct fb_clock *clock,
			   const struct fb_item *item, enum fb_item_status status,
			   const struct fb_err *why, const char *key, struct fb_err *err)
{
	struct fb_err e = {0};
	if (status == FB_STATUS_INVALID) {
		fb_err_set(&e, FB_EINVAL, FB_KIND_ITEM, "%s: %s", item->source,
			   item->invalid ? item->invalid : "invalid");
		snprintf(e.api_code, sizeof(e.api_code), "invalid_input");
	} else if (why) {
		e = *why;
	}
	struct fb_result r = {
	    .id = item->id,
	    .status = status,
	    .source = item->source,
	    .kind = item->invalid ? NULL : fb_job_kind_name(item->kind),
	    .technique = item->invalid ? item->technique : fb_resolve_technique(item),
	    .idempotency_key = key,
	    .error = e.code ? &e : NULL,
	    .error_field = status == FB_STATUS_INVALID ? item->invalid_field : NULL,
	    .finished_at_ms = fb_clock_wall_ms(clock),
	    .meta_src = item->json,
	};
	return fb_collector_write(c, &r, err);
}
