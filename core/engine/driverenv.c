/* driverenv: what a job asks of its batch (job.h's fb_job_env), answered from the batch's state. */
#include "driverenv.h"
#include "assets.h"
#include "guard.h"
#include "journal.h"
#include "ratelimit.h"

#include <string.h>

uint64_t fb_batch_gate(void *owner)
{
	struct batch *b = owner;
	return fb_ratelimit_take(b->rl, fb_clock_now_ms(b->clock));
}

uint64_t fb_batch_gate_queue(void *owner)
{
	struct batch *b = owner;
	b->gated++;
	b->gate_waits++;
	return fb_ratelimit_wait_n(b->rl, fb_clock_now_ms(b->clock), b->gated);
}

void fb_batch_gate_leave(void *owner)
{
	struct batch *b = owner;
	if (b->gated)
		b->gated--;
}

void fb_batch_throttled(void *owner, long retry_after_ms)
{
	struct batch *b = owner;
	fb_ratelimit_throttled(b->rl, fb_clock_now_ms(b->clock), retry_after_ms);
	fb_log_msg(b->log, FB_LOG_DEBUG, "429: every request waits (Retry-After %ld ms)",
		   retry_after_ms);
}

/* A create or upload refused 403/404: the guard says whether it was the item's, its scope's,
 * or the batch's. */
static int forbidden(void *owner, const struct fb_item *it, const struct fb_err *err)
{
	struct batch *b = owner;
	struct fb_err why;
	int probing = fb_guard_probing(b->guard);
	int v = fb_guard_refused(b->guard, it, err, &why);
	if (v == FB_GUARD_STOP)
		b->env.batch_error(b, &why); /* driver.c's */
	else if (v == FB_GUARD_SCOPE)
		fb_log_msg(b->log, FB_LOG_WARN,
			   "%s: %d %s; items that need the same %s fail without being sent",
			   it->source, err->http_status, err->msg,
			   strstr(err->msg, "workspace_id") ? "workspace" : "technique");
	if (v < 0 && !b->fatal) {
		b->fatal = 1;
		fb_err_set(&b->fatal_err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	return probing;
}

/*
 * With a journal, every adopted run is already on record there (note_run comes first), so the
 * claims need no set in memory that grows with the batch: the rare 409 recovery asks the journal.
 */
static int claim(void *owner, const char *run_id)
{
	struct batch *b = owner;
	return b->journal ? 1 : fb_guard_claim(b->guard, run_id);
}

static int claimed(void *owner, const char *run_id)
{
	struct batch *b = owner;
	if (!b->journal)
		return fb_guard_claimed(b->guard, run_id);
	struct fb_err e = {0};
	int rc = fb_journal_run_known(b->journal, run_id, &e);
	if (rc < 0) {
		/* Unsure is taken as held: adopting another item's run would be worse. */
		fb_log_msg(b->log, FB_LOG_WARN, "journal: %s", e.msg);
		return 1;
	}
	return rc;
}

static int note_create(void *owner, const char *key)
{
	struct batch *b = owner;
	struct fb_err e = {0};
	if (!b->journal || !fb_journal_note_create(b->journal, key, &e))
		return 0;
	if (!b->fatal) {
		b->fatal = 1;
		b->fatal_err = e;
	}
	return e.code;
}

static uint64_t journal_mark(void *owner)
{
	struct batch *b = owner;
	return b->journal ? fb_journal_mark(b->journal) : 0;
}

static int journal_durable(void *owner, uint64_t mark)
{
	struct batch *b = owner;
	struct fb_err e = {0};
	if (!b->journal || !fb_journal_make_durable(b->journal, mark, &e))
		return 0;
	if (!b->fatal) {
		b->fatal = 1;
		b->fatal_err = e;
	}
	return e.code ? e.code : FB_EIO;
}

static int note_run(void *owner, const char *key, const char *run_id, const char *poll_url)
{
	struct batch *b = owner;
	struct fb_err e = {0};
	fb_guard_accepted(b->guard);
	if (!b->journal || !fb_journal_note_run(b->journal, key, run_id, poll_url, &e))
		return 0;
	if (!b->fatal) {
		b->fatal = 1;
		b->fatal_err = e;
	}
	return e.code;
}

static enum fb_asset_state asset(void *owner, const char *sha256, const char **asset_id,
				 const char **url)
{
	struct batch *b = owner;
	return fb_assets_get(b->assets, sha256, asset_id, url);
}

static void asset_done(void *owner, const char *sha256, const char *asset_id, const char *url)
{
	struct batch *b = owner;
	struct fb_err e = {0};
	if (asset_id)
		fb_guard_accepted(b->guard);
	if (fb_assets_done(b->assets, sha256, asset_id, url, &e) && !b->fatal) {
		b->fatal = 1;
		b->fatal_err = e;
	}
}

void fb_batch_env(struct fb_job_env *env)
{
	env->gate = fb_batch_gate;
	env->gate_queue = fb_batch_gate_queue;
	env->gate_leave = fb_batch_gate_leave;
	env->throttled = fb_batch_throttled;
	env->forbidden = forbidden;
	env->claim = claim;
	env->claimed = claimed;
	env->note_create = note_create;
	env->note_run = note_run;
	env->journal_mark = journal_mark;
	env->journal_durable = journal_durable;
	env->asset = asset;
	env->asset_done = asset_done;
}
