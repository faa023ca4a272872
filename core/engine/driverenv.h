/*
 * driverenv: the batch's state, and what jobs ask of the batch (the rate
 * gate, the journal, claims, uploads, refusals), answered from it by
 * driverenv.c. driver.c (admission, the loop, the accounting) sits above
 * and fills the state; nothing here knows driver.h. No other module
 * includes it.
 */
#ifndef FB_DRIVERENV_H
#define FB_DRIVERENV_H

#include "clock.h"
#include "error.h"
#include "jobenv.h"
#include "log.h"
#include "timers.h"
#include "upkeep.h"

#include <stddef.h>
#include <stdint.h>

struct fb_driver_config;
struct fb_journal;
struct fb_summary;
struct fb_intake;
struct fb_ratelimit;
struct fb_guard;
struct fb_assets;
struct fb_poller;

struct batch {
	const struct fb_driver_config *cfg;
	struct fb_journal *journal; /* cfg->journal, for driverenv.c */
	struct fb_transport *t;
	struct fb_collector *c;
	struct fb_clock *clock;
	struct fb_log *log;
	struct fb_summary *sum;
	struct fb_job_env env;
	struct fb_timers timers;
	uint64_t rng;
	uint64_t first_check;
	uint64_t last_seq; /* of the last item read */
	size_t active;
	struct fb_intake *in;
	int eof;
	int fatal; /* a result could not be written, or the manifest broke */
	struct fb_err fatal_err;
	struct fb_ratelimit *rl;
	size_t gated;	     /* jobs in line for the gate (fb_batch_gate_queue) */
	uint64_t gate_waits; /* times a job joined that line */
	struct fb_guard *guard;
	struct fb_dupids *ids; /* the manifest's explicit ids, to warn of one given twice */
	struct fb_assets *assets;
	struct fb_poller *poller; /* NULL in --poll-mode get */
	struct fb_job **live; /* every job in flight, so an interrupted batch can let go of them */
	size_t nlive, caplive;
	int stopping; /* *cfg->stop was seen */
	struct fb_upkeep keep;
	uint64_t stop_deadline;
};

/* Fills env's callbacks that driverenv.c owns (owner stays the caller's to set). */
void fb_batch_env(struct fb_job_env *env);
/* The client-wide request gate and the 429 pause (also the poller's). */
uint64_t fb_batch_gate(void *owner);
/* The line of jobs the gate refused (jobenv.h's gate_queue and gate_leave). */
uint64_t fb_batch_gate_queue(void *owner);
void fb_batch_gate_leave(void *owner);
void fb_batch_throttled(void *owner, long retry_after_ms);

#endif
