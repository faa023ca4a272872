/*
 * pollerpriv: the poller's state, owned by poller.c (watched runs, what
 * is learned of them) and used by pollsweep.c above it (sweeps through the
 * list pages, and the tick that starts them). Private to those two files.
 */
#ifndef FB_POLLERPRIV_H
#define FB_POLLERPRIV_H

#include "poller.h"
#include "fifoset.h"
#include "pollstats.h"

#include <stdint.h>

enum { G_TECH, G_GEN, NGROUPS };

#define FB_POLL_PAGE	 100
#define FB_POLL_NEVER	 UINT64_MAX
#define FB_POLL_CHAIN	 8    /* sweeps of one endpoint under way at once, at most */
#define FB_POLL_RECENT	 8    /* run ids answered lately kept: this many per run watched at most */
#define FB_POLL_MARKS	 100  /* pages of one sweep, at most */
#define FB_POLL_SURPLUS	 8    /* pages saved up: sweep as often as min_gap allows */
#define FB_POLL_PROBE_MS 4000 /* before anything is learned, the oldest run is asked after */

struct fb_poll_entry {
	void *ud;
	const char *run_id, *ws, *prj, *tech; /* borrowed from ud */
	uint64_t hash;
	uint64_t since;	       /* created (clock ms) */
	uint64_t expect;       /* the create answer's estimate (ms after since), 0: none */
	uint64_t min_fallback; /* the job's own pace: no GET before */
	uint64_t max_fallback; /* the job's deadline: a GET by then */
	uint64_t fallback_due;
	unsigned char group;
};

/* One sweep: a chain of pages behind one cursor. */
struct fb_poll_chain {
	struct fb_poll_group *g;
	int active;   /* a sweep is under way */
	int inflight; /* its page request is out */
	int failed;   /* it lists failed runs now */
	int deep;     /* it may read down to the oldest due run */
	char *cursor, *ws, *prj, *tech;
	unsigned first;	   /* the sweep's page this chain began at (0: the newest) */
	unsigned answered; /* runs its pages answered */
	unsigned pages, max_pages;
	uint64_t due; /* its next page, when the gate said wait */
};

/* One list endpoint: technique runs or generations. */
struct fb_poll_group {
	struct fb_poller *p;
	struct fb_poll_chain chain[FB_POLL_CHAIN];
	int off; /* lists do not show these runs: every run polls itself */
	unsigned page_len;
	size_t n; /* runs watched */
	unsigned get_wins;
	uint64_t last_answer; /* a page last answered a run of the group; 0: never */
	unsigned idle;	      /* shallow sweeps in a row that answered nothing */
	unsigned probes;      /* GETs sent before anything was learned */
	int trusted;	      /* enough runs finished to trust what they showed */
	/* Finished runs on the pages read lately, the batch's own and all (decayed):
	 * other shards and other clients of the workspace fill the rest. */
	double own_seen, all_seen;
	uint64_t probe_due; /* the next such GET; 0: none planned */
	/* List pages the batch may still spend: each run watched adds its share of
	 * the budget, each page takes one. Below zero, sweeps slow down. */
	double tokens;
	uint64_t due; /* the next sweep; FB_POLL_NEVER: none */
	uint64_t last_start, last_failed, last_deep;
	struct fb_pollstats stats;
	struct fb_pollstats ratio; /* duration / estimate, in millionths */
	/* The cursors that led past page i of the last deep sweep, so the next one
	 * can read its pages in parallel stretches instead of one after another. */
	char *mark[FB_POLL_MARKS];
};

struct fb_poller {
	struct fb_poller_config cfg;
	struct fb_transport *t;
	struct fb_clock *clock;
	struct fb_poller_ops ops;
	struct fb_poll_entry *e;
	size_t n, cap;
	uint32_t *map; /* entry index per slot, UINT32_MAX when empty; cap a power of two */
	size_t mapcap;
	struct fb_fifoset recent; /* run ids answered lately, to know the batch's runs on a page */
	struct fb_poll_group g[NGROUPS];
	uint64_t next_due;
	int disabled; /* the transport cannot list: every run polls itself */
	struct fb_poller_stats st;
};

static inline uint64_t fb_poll_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline uint64_t fb_poll_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t fb_poll_clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* poller.c */
uint64_t fb_poll_now(struct fb_poller *p);
void fb_poll_note_due(struct fb_poller *p, uint64_t due);
/* The watched run of group g with this id, or NULL. */
struct fb_poll_entry *fb_poll_find(struct fb_poller *p, const char *run_id, uint64_t h);
/* A list item answered x: learned from, then handed to its job. */
void fb_poll_answer(struct fb_poller *p, struct fb_poll_entry *x, const struct fb_run_info *run);
int fb_poll_recent(const struct fb_poller *p, uint64_t h);
/* Hands every watched run back, those of group gi or all (-1). */
void fb_poll_hand_back(struct fb_poller *p, int gi);
uint64_t fb_poll_wish(struct fb_poll_group *g, const struct fb_poll_entry *x);
double fb_poll_rate(struct fb_poll_group *g);
/* The batch's share of the finished runs pages show, 0.01..1; 1 until known. */
double fb_poll_share(const struct fb_poll_group *g);
/* A page showed `all` finished runs, `own` of them the batch's. */
void fb_poll_note_page(struct fb_poll_group *g, size_t own, size_t all);
double fb_poll_budget(const struct fb_poller *p, const struct fb_poll_group *g);
uint64_t fb_poll_gap(struct fb_poller *p, struct fb_poll_group *g, uint64_t now);
/* Takes entry idx out of the watch (its slot goes to the last entry); returns its ud. */
void *fb_poll_take(struct fb_poller *p, size_t idx);
/* When a watched run no sweep answered gets a GET of its own. */
uint64_t fb_poll_fallback_at(struct fb_poll_group *g, const struct fb_poll_entry *x);
/* Frees a chain's cursor and filters. */
void fb_poll_end_strings(struct fb_poll_chain *c);

/* pollsweep.c (above poller.c, which never calls it); fb_poller_tick is here too */
/* Starts a sweep of group gi on a free chain, if one is free. */
void fb_pollsweep_start(struct fb_poller *p, int gi, uint64_t now);
/* Sends the chain's next page (after the gate said wait). */
void fb_pollsweep_send(struct fb_poll_chain *c);
/* A chain is free to start a sweep. */
int fb_pollsweep_free_chain(const struct fb_poll_group *g);
/* When the group's next sweep is due, after one ended (or runs were watched). */
void fb_pollsweep_reschedule(struct fb_poll_group *g, uint64_t not_before);

#endif
