/*
 * upkeep: what the driver's loop does for the output folder between steps:
 * group commit (journal records written every turn, made durable only
 * when a result needs them), results and outputs flushed each second and
 * made durable every 30 s, archive volumes rolled on --roll's size or time
 * or a signal, and the journal compacted as it doubles, so a stream that
 * runs for weeks keeps files the size of its recent past.
 */
#ifndef FB_UPKEEP_H
#define FB_UPKEEP_H

#include "clock.h"
#include "collector.h"
#include "error.h"
#include "journal.h"

#include <signal.h>
#include <stdint.h>

struct fb_upkeep {
	struct fb_journal *journal; /* borrowed; NULL: none */
	struct fb_collector *c;	    /* borrowed */
	struct fb_clock *clock;	    /* borrowed */
	uint64_t roll_bytes, roll_ms;
	const volatile sig_atomic_t *roll; /* a signal handler's counter, or NULL */
	/* Whether an item in flight uses key (compaction keeps its records). */
	int (*live)(void *ud, const char *key);
	void *ud;
	/* Set by fb_upkeep_init: */
	uint64_t last_flush_ms, last_fsync_ms, last_roll_ms, compact_at;
	sig_atomic_t rolls_seen;
};

/* Starts the clocks; the fields above the line are the caller's. */
void fb_upkeep_init(struct fb_upkeep *u);

/*
 * One turn's upkeep; force (the end of the batch): everything durable now.
 * 0, or a negative FB_E* with err (a file could not be written: the batch
 * must stop).
 */
int fb_upkeep_turn(struct fb_upkeep *u, int force, struct fb_err *err);

#endif
