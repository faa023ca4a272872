/* upkeep: group commit, flushes, volume rolls and journal compaction, between the loop's steps. */
#include "upkeep.h"

#define FSYNC_MS    30000      /* results and outputs are made durable this often, and at the end */
#define FLUSH_MS    1000       /* ... and handed to the kernel this often */
#define COMPACT_MIN (1u << 20) /* a journal smaller than this is never compacted */

void fb_upkeep_init(struct fb_upkeep *u)
{
	uint64_t now = fb_clock_now_ms(u->clock);
	u->last_flush_ms = u->last_fsync_ms = u->last_roll_ms = now;
	u->rolls_seen = u->roll ? *u->roll : 0;
	u->compact_at = COMPACT_MIN;
	if (u->journal && 2 * fb_journal_size(u->journal) > u->compact_at)
		u->compact_at = 2 * fb_journal_size(u->journal);
}

/*
 * Group commit. Journal records are written every turn (a kill -9 keeps
 * what was written) and made durable only when a result line or a create
 * that may make an item's second run needs its run record on disk (the
 * driver's journal_durable): one fdatasync then covers every record
 * queued, so most lines find theirs already durable. A line lost to a
 * power cut is written again by the next invocation, which polls its run
 * through the journal (never creating it again).
 */
static int sync_files(struct fb_upkeep *u, int force, uint64_t now, struct fb_err *err)
{
	int rc = !u->journal ? 0
		 : force     ? fb_journal_sync(u->journal, err)
			     : fb_journal_write(u->journal, err);
	if (!rc && (force || now - u->last_fsync_ms >= FSYNC_MS)) {
		u->last_fsync_ms = u->last_flush_ms = now;
		rc = fb_collector_sync(u->c, err);
	} else if (!rc && now - u->last_flush_ms >= FLUSH_MS) {
		u->last_flush_ms = now;
		rc = fb_collector_flush(u->c, err);
	}
	return rc;
}

/* A new archive volume on --roll's size or time, or when a signal asks. */
static int roll(struct fb_upkeep *u, uint64_t now, struct fb_err *err)
{
	int asked = u->roll && *u->roll != u->rolls_seen;
	if (!asked && !(u->roll_bytes && fb_collector_unrolled(u->c) >= u->roll_bytes) &&
	    !(u->roll_ms && now - u->last_roll_ms >= u->roll_ms))
		return 0;
	if (asked)
		u->rolls_seen = *u->roll;
	u->last_roll_ms = now;
	return fb_collector_roll(u->c, err);
}

static int done_before(void *ud, const char *key)
{
	return fb_collector_done(((struct fb_upkeep *)ud)->c, key, NULL);
}

static int live(void *ud, const char *key)
{
	struct fb_upkeep *u = ud;
	return u->live ? u->live(u->ud, key) : 1;
}

/* Each time the journal doubles past what the last compaction left. */
static int compact(struct fb_upkeep *u, struct fb_err *err)
{
	if (!u->journal || fb_journal_size(u->journal) < u->compact_at)
		return 0;
	struct fb_journal_keep keep = {.done_before = done_before, .live = live, .ud = u};
	int rc = fb_journal_compact(u->journal, &keep, fb_clock_wall_ms(u->clock), err);
	uint64_t left = fb_journal_size(u->journal);
	u->compact_at = 2 * left > COMPACT_MIN ? 2 * left : COMPACT_MIN;
	return rc;
}

int fb_upkeep_turn(struct fb_upkeep *u, int force, struct fb_err *err)
{
	uint64_t now = fb_clock_now_ms(u->clock);
	int rc = sync_files(u, force, now, err);
	if (!rc && !force)
		rc = roll(u, now, err);
	if (!rc && !force)
		rc = compact(u, err);
	return rc;
}
