/* driver: admission, the event loop, and the batch's accounting. */
#include "driver.h"
#include "driverenv.h"
#include "assets.h"
#include "dupids.h"
#include "guard.h"
#include "idemkey.h"
#include "intake.h"
#include "progress.h"
#include "ratelimit.h"
#include "timers.h"
#include "upkeep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int live_add(struct batch *b, struct fb_job *job)
{
	if (b->nlive == b->caplive) {
		size_t cap = b->caplive ? b->caplive * 2 : 64;
		struct fb_job **v = realloc(b->live, cap * sizeof(*v));
		if (!v)
			return FB_ENOMEM;
		b->live = v;
		b->caplive = cap;
	}
	b->live[b->nlive++] = job;
	return 0;
}

static void live_remove(struct batch *b, struct fb_job *job)
{
	/* Newest last: recent jobs finish first often enough to keep this short. */
	for (size_t i = b->nlive; i-- > 0;) {
		if (b->live[i] == job) {
			b->live[i] = b->live[--b->nlive];
			return;
		}
	}
}

/* The output folder's upkeep; a file that cannot be written stops the batch. */
static void upkeep(struct batch *b, int force)
{
	struct fb_err e = {0};
	if (fb_upkeep_turn(&b->keep, force, &e) && !b->fatal) {
		b->fatal = 1;
		b->fatal_err = e;
	}
}

/* Whether an item in flight uses key, for journal compaction (a few hundred jobs at most). */
static int key_live(void *owner, const char *key)
{
	struct batch *b = owner;
	for (size_t i = 0; i < b->nlive; i++)
		if (fb_job_uses_key(b->live[i], key))
			return 1;
	return 0;
}

static int wake_at(void *owner, struct fb_job *job, uint64_t due_ms)
{
	struct batch *b = owner;
	return fb_timers_add(&b->timers, due_ms, job, 0);
}

static void count(struct fb_summary *s, enum fb_item_status st)
{
	switch (st) {
	case FB_STATUS_COMPLETED:
		s->completed++;
		break;
	case FB_STATUS_FAILED:
		s->failed++;
		break;
	case FB_STATUS_INVALID:
		s->invalid++;
		break;
	case FB_STATUS_SKIPPED:
		s->skipped++;
		break;
	case FB_STATUS_UNRESOLVED:
		s->unresolved++;
		break;
	}
}

static void job_done(void *owner, struct fb_job *job, int rc, const struct fb_err *err)
{
	struct batch *b = owner;
	double cost, quote;
	int has_cost = fb_job_cost(job, &cost), has_quote = fb_job_quote(job, &quote);
	fb_guard_spend(b->guard, fb_resolve_technique(fb_job_item(job)), has_cost, cost, has_quote,
		       quote);
	if (rc < 0 && !b->fatal) {
		b->fatal = 1;
		b->fatal_err = *err;
	}
	if (rc >= 0) /* an item whose line could not be written is counted by the next run */
		count(b->sum, fb_job_status(job));
	b->sum->runs += fb_job_runs_made(job);
	if (has_cost) {
		b->sum->cost += cost;
		b->sum->costed++;
	}
	b->active--;
	live_remove(b, job);
	fb_job_free(job);
}

/* An answer says no further item can succeed: admission stops, once. */
static void batch_error(void *owner, const struct fb_err *err)
{
	struct batch *b = owner;
	if (b->sum->stopped)
		return;
	b->sum->stopped = 1;
	b->sum->stop_err = *err;
	const char *hint = fb_err_hint(err);
	fb_log_msg(b->log, FB_LOG_ERROR, "stopping the batch: %s%s%s%s%s", err->api_code,
		   err->api_code[0] ? ": " : "", err->msg, hint ? "; " : "", hint ? hint : "");
}

static void write_unstarted(struct batch *b, struct fb_item *it, enum fb_item_status st,
			    const struct fb_err *why, const char *key)
{
	struct fb_err e = {0};
	if (st == FB_STATUS_INVALID)
		fb_log_msg(b->log, FB_LOG_WARN, "%s: %s", it->source, it->invalid);
	if (fb_job_write_unstarted(b->c, b->clock, it, st, why, key, &e) < 0 && !b->fatal) {
		b->fatal = 1;
		b->fatal_err = e;
	}
	count(b->sum, st);
}

static void admit_one(struct batch *b, struct fb_item *it)
{
	char key[FB_IDEMKEY_LEN + 1];
	struct fb_err e = {0};
	if (fb_resolve_item(it, &b->cfg->defaults)) {
		b->fatal = 1;
		fb_err_set(&b->fatal_err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		return;
	}
	if (!it->invalid && fb_idemkey_derive(it, b->cfg->key_namespace, key, &e) < 0)
		fb_item_set_invalid(it, NULL, "%s", e.msg);
	/* Another shard's item: another process runs it and writes its line. */
	if (!fb_shard_holds(&b->cfg->shard, it->invalid ? NULL : key, it->id)) {
		b->sum->other_shards++;
		if (fb_collector_pass(b->c, it->seq, &e) && !b->fatal) {
			b->fatal = 1;
			b->fatal_err = e;
		}
		return;
	}
	b->sum->items++;
	uint64_t first = 0;
	int dup = it->invalid ? 0 : fb_dupids_note(b->ids, it, &first);
	if (dup > 0)
		fb_log_msg(b->log, FB_LOG_WARN,
			   "%s: id \"%s\" is the id of line %llu too: results.jsonl will hold two "
			   "lines with it (--strict refuses such a manifest)",
			   it->source, it->id, (unsigned long long)first);
	if (dup < 0) {
		b->fatal = 1;
		fb_err_set(&b->fatal_err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		return;
	}
	if (fb_collector_done(b->c, it->invalid ? NULL : key, it->id)) {
		b->sum->done_before++; /* its line is in the record from an earlier invocation */
		if (fb_collector_pass(b->c, it->seq, &e) && !b->fatal) {
			b->fatal = 1;
			b->fatal_err = e;
		}
		return;
	}
	if (it->invalid) {
		write_unstarted(b, it, FB_STATUS_INVALID, NULL, NULL);
		return;
	}
	if (b->sum->stopped) {
		write_unstarted(b, it, FB_STATUS_SKIPPED, &b->sum->stop_err, key);
		return;
	}
	const struct fb_err *refused = fb_guard_forbidden(b->guard, it);
	if (refused && fb_guard_refused(b->guard, it, refused, &e) == FB_GUARD_STOP) {
		batch_error(b, &e); /* the first items all refused alike: the batch stops */
		write_unstarted(b, it, FB_STATUS_SKIPPED, &b->sum->stop_err, key);
		return;
	}
	if (refused) {
		/* The API refused this scope already: asking again cannot help. */
		struct fb_err f = *refused;
		fb_err_set(&f, FB_EHTTP, FB_KIND_ITEM,
			   "not sent: refused earlier in this batch: %s", refused->msg);
		write_unstarted(b, it, FB_STATUS_FAILED, &f, key);
		return;
	}
	if (!b->sum->budget_stopped &&
	    !fb_guard_affordable(b->guard, fb_resolve_technique(it), b->active)) {
		b->sum->budget_stopped = 1;
		fb_log_msg(b->log, FB_LOG_WARN,
			   "--max-cost %.3f reached ($%.3f spent, runs in flight finish): no new "
			   "runs start",
			   b->cfg->max_cost, fb_guard_spent(b->guard));
	}
	if (b->sum->budget_stopped) {
		struct fb_err be = {0};
		fb_err_set(&be, FB_EINVAL, FB_KIND_ITEM,
			   "not started: the next run would take the batch past --max-cost %.3f",
			   b->cfg->max_cost);
		snprintf(be.api_code, sizeof(be.api_code), "budget_exhausted");
		write_unstarted(b, it, FB_STATUS_SKIPPED, &be, key);
		return;
	}
	struct fb_job *job = fb_job_new(it, key, &b->env);
	if (!job) {
		b->fatal = 1;
		fb_err_set(&b->fatal_err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		return;
	}
	if (live_add(b, job)) {
		fb_job_free(job);
		b->fatal = 1;
		fb_err_set(&b->fatal_err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		return;
	}
	b->active++;
	const char *poll_url = NULL;
	const char *run =
	    b->cfg->journal ? fb_journal_run_of(b->cfg->journal, key, &poll_url) : NULL;
	if (run) {
		b->sum->resumed++;
		fb_job_resume(job, run, poll_url); /* made before: polled, never created again */
	} else {
		fb_job_start(job); /* may finish (and free) the job at once */
	}
}

static void admit(struct batch *b)
{
	/* After a batch-level stop, the rest of the manifest is still read, so
	 * every item gets its line (skipped), but nothing more is created. */
	while (!b->eof && !b->fatal && !b->stopping && fb_collector_room(b->c, b->last_seq + 1) &&
	       (b->sum->stopped || b->sum->budget_stopped ||
		b->active < fb_guard_room(b->guard, b->cfg->concurrency))) {
		struct fb_item it = {0};
		struct fb_err e = {0};
		int rc = fb_intake_next(b->in, &it, &e);
		if (rc == FB_EAGAIN) {
			fb_item_release(&it);
			break; /* the loop wakes when the next one arrives */
		}
		if (rc <= 0) {
			b->eof = 1;
			if (rc < 0) {
				b->fatal = 1;
				b->fatal_err = e;
			}
			fb_item_release(&it);
			break;
		}
		b->last_seq = it.seq;
		admit_one(b, &it);
		fb_item_release(&it);
	}
}

/*
 * The progress line's total: the file's items (0: a stream). A shard's share
 * of them is known only once the manifest is read through; until then it is
 * the share read so far applied to the whole (ceil), exact at the end.
 */
static uint64_t shown_total(const struct batch *b)
{
	const struct fb_summary *s = b->sum;
	uint64_t total = b->cfg->total, seen = s->items + s->other_shards;
	if (b->cfg->shard.count <= 1 || !total)
		return total;
	if (!seen)
		return (total + b->cfg->shard.count - 1) / b->cfg->shard.count;
	return (total * s->items + seen - 1) / seen;
}

static void progress(struct batch *b, int force)
{
	const struct fb_summary *s = b->sum;
	uint64_t now = fb_clock_now_ms(b->clock);
	uint64_t total = shown_total(b);
	struct fb_progress_snap snap = {
	    .now_ms = now,
	    .read = s->items,
	    .total = total > s->items ? total : 0,
	    .shard_index = b->cfg->shard.index,
	    .shard_count = b->cfg->shard.count,
	    .manifest_read = s->items + s->other_shards,
	    .done_before = s->done_before,
	    .completed = s->completed,
	    .failed = s->failed,
	    .invalid = s->invalid,
	    .skipped = s->skipped + s->unresolved,
	    .in_flight = b->active,
	    .cost = s->cost,
	    .max_cost = b->cfg->max_cost,
	    .throttled_ms = fb_ratelimit_throttled_ms(b->rl, now),
	};
	/* A stream's total is what was read; a file's, what it holds (or more, when it grew). */
	if (total && !snap.total)
		snap.total = s->items;
	fb_progress_update(b->cfg->progress, &snap, force);
}

/*
 * The poller first: when the rate limit is what runs out, jobs woken
 * together take every token, and a list page, which answers up to a
 * hundred runs for one request, would wait behind a create of one.
 */
static void fire_timers(struct batch *b)
{
	uint64_t now = fb_clock_now_ms(b->clock);
	if (b->poller && fb_poller_next_due(b->poller) <= now)
		fb_poller_tick(b->poller);
	const struct fb_timer *top;
	while ((top = fb_timers_peek(&b->timers)) && top->due_ms <= now) {
		struct fb_timer t;
		fb_timers_pop(&b->timers, &t);
		fb_job_wake(t.ptr);
	}
}

/* The earliest moment the loop has something to do besides answers: a timer or the poller. */
static uint64_t next_due(struct batch *b)
{
	const struct fb_timer *top = fb_timers_peek(&b->timers);
	uint64_t due = top ? top->due_ms : UINT64_MAX;
	if (b->poller && fb_poller_next_due(b->poller) < due)
		due = fb_poller_next_due(b->poller);
	return due;
}

static void poll_answer(void *ud, const struct fb_run_info *run)
{
	fb_job_poll_answer(ud, run);
}

static void poll_fallback(void *ud)
{
	fb_job_poll_fallback(ud);
}

static size_t inflight(void *owner)
{
	struct batch *b = owner;
	return b->active;
}

int fb_driver_run(const struct fb_driver_config *cfg, struct fb_manifest *m, struct fb_transport *t,
		  struct fb_collector *c, struct fb_clock *clock, struct fb_log *log,
		  struct fb_summary *sum, struct fb_err *err)
{
	struct batch b = {
	    .cfg = cfg,
	    .journal = cfg->journal,
	    .t = t,
	    .c = c,
	    .clock = clock,
	    .log = log,
	    .sum = sum,
	    .timers = FB_TIMERS_INIT,
	    .rng = cfg->seed ? cfg->seed : 0x5eed,
	};
	b.env = (struct fb_job_env){
	    .transport = t,
	    .collector = c,
	    .clock = clock,
	    .log = log,
	    .policy = &cfg->policy,
	    .rng = &b.rng,
	    .first_check = &b.first_check,
	    .wake_at = wake_at,
	    .done = job_done,
	    .batch_error = batch_error,
	    .owner = &b,
	};
	fb_batch_env(&b.env);
	memset(sum, 0, sizeof(*sum));
	uint64_t start = fb_clock_now_ms(clock);
	int rc = 0;
	b.keep = (struct fb_upkeep){.journal = cfg->journal,
				    .c = c,
				    .clock = clock,
				    .roll_bytes = cfg->roll_bytes,
				    .roll_ms = cfg->roll_ms,
				    .roll = cfg->roll,
				    .live = key_live,
				    .ud = &b};
	fb_upkeep_init(&b.keep);
	struct fb_ratelimit_config rlc = {.rate = cfg->rate, .burst = cfg->burst};
	struct fb_poller_ops pops = {
	    .answer = poll_answer,
	    .fallback = poll_fallback,
	    .gate = fb_batch_gate,
	    .throttled = fb_batch_throttled,
	    .inflight = inflight,
	    .owner = &b,
	};
	b.guard = fb_guard_new(cfg->max_cost);
	b.ids = fb_dupids_new();
	b.assets = fb_assets_new(cfg->journal);
	if ((cfg->poll_mode == FB_POLL_LIST && fb_poller_new(&b.poller, NULL, t, clock, &pops)) ||
	    !b.guard || !b.assets || !b.ids || fb_ratelimit_new(&b.rl, &rlc, start)) {
		fb_poller_free(b.poller);
		fb_guard_free(b.guard);
		fb_dupids_free(b.ids);
		fb_assets_free(b.assets);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	b.env.poller = b.poller;
	if ((rc = fb_intake_open(&b.in, m, t, err))) {
		fb_poller_free(b.poller);
		fb_guard_free(b.guard);
		fb_dupids_free(b.ids);
		fb_assets_free(b.assets);
		fb_ratelimit_free(b.rl);
		return rc;
	}

	for (;;) {
		int signalled = cfg->stop && *cfg->stop;
		if ((signalled || fb_collector_reader_gone(c)) && !b.stopping) {
			b.stopping = 1;
			sum->interrupted = signalled;
			sum->reader_gone = !signalled;
			b.stop_deadline = fb_clock_now_ms(clock) + cfg->grace_ms;
			fb_log_msg(log, FB_LOG_WARN,
				   "%s: no new runs; %zu in flight get %.1f s to finish and are "
				   "archived (run the same command again to go on)",
				   signalled ? "stopping"
					     : "the reader of standard output went away",
				   b.active, cfg->grace_ms / 1000.0);
		}
		admit(&b);
		fire_timers(&b);
		int room = (b.sum->stopped || b.sum->budget_stopped ||
			    b.active < fb_guard_room(b.guard, b.cfg->concurrency)) &&
			   fb_collector_room(c, b.last_seq + 1);
		int waiting = !b.eof && !b.fatal && !b.stopping; /* for the next item */
		fb_intake_want(b.in, waiting && room);
		if (b.active == 0 && (b.eof || b.fatal || b.stopping))
			break;
		if (b.stopping && fb_clock_now_ms(clock) >= b.stop_deadline)
			break;
		uint64_t due = next_due(&b);
		if (due == UINT64_MAX && fb_transport_pending(t) == 0 && !(waiting && room)) {
			/* Each live job has a request, a timer or a watch pending (job.h):
			 * if none exists, waiting would be forever. */
			rc = fb_err_set(err, FB_ESTATE, FB_KIND_BATCH,
					"internal error: %zu items in flight with nothing pending",
					b.active);
			break;
		}
		uint64_t now = fb_clock_now_ms(clock);
		uint64_t timeout = due == UINT64_MAX ? 1000 : due > now ? due - now : 0;
		/* Wake up for a signal or the end of the grace period without waiting long. */
		if (cfg->stop && timeout > 200)
			timeout = 200;
		if (waiting && room && timeout > fb_intake_max_wait_ms(b.in))
			timeout = fb_intake_max_wait_ms(b.in);
		upkeep(&b, 0);
		int n = fb_transport_step(t, timeout);
		if (n < 0) {
			rc = fb_err_set(err, n, FB_KIND_BATCH, "transport failed (%s)",
					fb_errcode_name(n));
			break;
		}
		progress(&b, 0);
	}
	progress(&b, 1);
	fb_log_progress_done(log);
	fb_intake_free(b.in);
	upkeep(&b, 1);
	/* Interrupted: what is still in flight gets no line; the journal knows its runs. */
	sum->abandoned = b.nlive;
	sum->journal_syncs = cfg->journal ? fb_journal_syncs(cfg->journal) : 0;
	for (size_t i = 0; i < b.nlive; i++) {
		sum->runs += fb_job_runs_made(b.live[i]); /* made, though their lines are not */
		fb_job_free(b.live[i]);
	}
	free(b.live);
	if (!rc && b.fatal) {
		if (err)
			*err = b.fatal_err;
		rc = b.fatal_err.code ? b.fatal_err.code : FB_EIO;
	}
	sum->elapsed_ms = fb_clock_now_ms(clock) - start;
	sum->throttled_ms = fb_ratelimit_throttled_ms(b.rl, fb_clock_now_ms(clock));
	sum->gate_waits = b.gate_waits;
	fb_ratelimit_free(b.rl);
	sum->uploads = fb_assets_uploaded(b.assets);
	fb_assets_free(b.assets);
	fb_guard_free(b.guard);
	fb_dupids_free(b.ids);
	if (b.poller) {
		struct fb_poller_stats ps;
		fb_poller_stats(b.poller, &ps);
		fb_log_msg(
		    log, FB_LOG_DEBUG,
		    "list polling: %llu sweeps, %llu pages (%llu failed), %llu runs answered, "
		    "%llu handed back to their own GET",
		    (unsigned long long)ps.sweeps, (unsigned long long)ps.lists,
		    (unsigned long long)ps.list_errors, (unsigned long long)ps.answered,
		    (unsigned long long)ps.fallbacks);
		fb_poller_free(b.poller);
	}
	fb_timers_release(&b.timers);
	return rc;
}
