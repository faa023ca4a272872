/*
 * jobresult: an item's result line, from a job that ran (fb_job_finish) or
 * from an item that never started (fb_job_write_unstarted): what goes into
 * the line, and the rule that a line never claims a run the journal could
 * still lose.
 */
#include "jobresult.h"
#include "jobstate.h"
#include "resolve.h"

#include <stdio.h>

void fb_job_finish(struct fb_job *j, enum fb_item_status status, const struct fb_err *err)
{
	j->state = J_DONE;
	j->status = status;
	if (err && err != &j->err)
		j->err = *err;
	uint64_t now = fb_job_now(j);
	struct fb_result r = {
	    .seq = j->item.seq,
	    .id = j->item.id,
	    .status = status,
	    .source = j->item.source,
	    .kind = fb_job_kind_name(j->item.kind),
	    .technique = fb_resolve_technique(&j->item),
	    .run_id = j->run_id,
	    .run_ids = (const char *const *)j->run_ids,
	    .nrun_ids = j->nrun_ids,
	    .candidates = (const char *const *)j->candidates,
	    .ncandidates = j->ncandidates,
	    .idempotency_key = j->key,
	    .inputs = j->item.inputs,
	    .ninputs = j->item.ninputs,
	    .attempts = j->attempts,
	    .outputs = j->outs,
	    .noutputs = j->nouts,
	    .has_cost = j->has_cost,
	    .charged_cost = j->cost,
	    .error = j->err.code ? &j->err : NULL,
	    .submitted_at_ms = j->submitted_wall,
	    .finished_at_ms = fb_clock_wall_ms(j->env->clock),
	    .run_ms = j->created_ms && j->terminal_ms >= j->created_ms
			  ? j->terminal_ms - j->created_ms
			  : 0,
	    .total_ms = now - j->admitted_ms,
	    .meta_src = j->item.json,
	};
	struct fb_err werr = {0};
	/* The line never claims a run the journal could still lose. */
	int rc = j->jmark ? j->env->journal_durable(j->env->owner, j->jmark) : 0;
	if (rc)
		fb_err_set(&werr, rc, FB_KIND_BATCH, "the journal cannot be saved");
	else
		rc = fb_collector_write(j->env->collector, &r, &werr);
	j->env->done(j->env->owner, j, rc, rc ? &werr : NULL); /* may free j: nothing after */
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
	    .seq = item->seq,
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
