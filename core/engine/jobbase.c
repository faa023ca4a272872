/*
 * jobbase: the steps every stage of a job takes: waiting (a timer, the
 * client-wide gate), failing, adopting a run as the item's.
 */
#include "jobstate.h"

#include <stdlib.h>
#include <string.h>

void fb_job_fail(struct fb_job *j, const struct fb_err *e)
{
	fb_log_msg(j->env->log, FB_LOG_WARN, "%s (%s): %s", j->item.id, j->item.source, e->msg);
	fb_job_finish(j, FB_STATUS_FAILED, e);
}

void fb_job_wait(struct fb_job *j, enum jstate state, uint64_t delay_ms)
{
	j->state = state;
	if (j->env->wake_at(j->env->owner, j, fb_job_now(j) + delay_ms)) {
		struct fb_err e = {0};
		fb_err_set(&e, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		fb_job_finish(j, FB_STATUS_FAILED, &e);
	}
}

/*
 * A refused job waits in line: with a thousand jobs held by the rate limit,
 * each wakes for a token of its own instead of all of them for the next
 * one, which one takes while the rest go back to sleep (at 4 x 1,000 in
 * flight that was a fifth of the client's CPU).
 */
int fb_job_pass_gate(struct fb_job *j, enum jstate wait_state)
{
	fb_job_leave_gate(j);
	uint64_t wait = j->env->gate(j->env->owner);
	if (!wait)
		return 1;
	j->gated = 1;
	fb_job_wait(j, wait_state, j->env->gate_queue(j->env->owner));
	return 0;
}

void fb_job_leave_gate(struct fb_job *j)
{
	if (!j->gated)
		return;
	j->gated = 0;
	j->env->gate_leave(j->env->owner);
}

static int push_str(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return FB_ENOMEM;
	*v = nv;
	if (!(nv[*n] = fb_strdup(s)))
		return FB_ENOMEM;
	(*n)++;
	return 0;
}

int fb_job_adopt(struct fb_job *j, const char *run_id, const char *poll_url)
{
	free(j->run_id);
	free(j->poll_url);
	j->run_id = fb_strdup(run_id);
	j->poll_url = fb_strdup(poll_url);
	if (!j->run_id || (poll_url && !j->poll_url))
		return FB_ENOMEM;
	j->env->claim(j->env->owner, run_id);
	if (j->env->note_run(j->env->owner, j->cur_key, run_id, poll_url))
		return FB_EIO;
	j->jmark = j->env->journal_mark(j->env->owner);
	for (size_t i = 0; i < j->nrun_ids; i++)
		if (!strcmp(j->run_ids[i], run_id))
			return 0; /* a replay of a run the item already has */
	j->attempts++;
	return push_str(&j->run_ids, &j->nrun_ids, run_id);
}
