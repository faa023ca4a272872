/*
 * guard: the batch-wide policy state that no single item owns: the scopes
 * the API refused with 403 (so items needing them fail without asking
 * again), the runs items of this invocation hold (so a lost run is never
 * adopted by two items), the budget (--max-cost), and whether the API has
 * accepted anything yet: a batch whose first answers all refuse it alike
 * (a wrong workspace, technique or key) stops after a few, not after
 * one refusal per row.
 */
#ifndef FB_GUARD_H
#define FB_GUARD_H

#include "error.h"
#include "item.h"

#include <stddef.h>

struct fb_guard;

/* max_cost < 0: no budget. Caller frees with fb_guard_free. NULL when out of memory. */
struct fb_guard *fb_guard_new(double max_cost);
void fb_guard_free(struct fb_guard *g);

/*
 * A create for it was refused 403. The refusal covers the workspace when
 * the API named the workspace_id field, else the item's technique (or
 * generation type) in its workspace. 0 or FB_ENOMEM.
 */
int fb_guard_forbid(struct fb_guard *g, const struct fb_item *it, const struct fb_err *err);
/* The refusal that covers it (borrowed until fb_guard_free), or NULL. */
const struct fb_err *fb_guard_forbidden(const struct fb_guard *g, const struct fb_item *it);

/* Refusals alike in a row, with nothing accepted before, that stop the batch. */
#define FB_GUARD_STREAK 3
/* Requests in flight while nothing has been accepted yet (the API's answer is still unknown). */
#define FB_GUARD_PROBE 4

enum fb_guard_verdict {
	FB_GUARD_GO_ON = 0, /* the item fails alone */
	FB_GUARD_SCOPE,	    /* the item's scope is refused now: its items fail unsent */
	FB_GUARD_STOP,	    /* the batch stops: *why says what the API refused and what to do */
};

/*
 * A create or an upload for it was refused with 403 or 404 (err). A 403
 * refuses its scope at once (fb_guard_forbid). FB_GUARD_STREAK refusals
 * alike (same status and code) in a row stop the batch when the API has
 * accepted nothing yet, else refuse the scope. why (may be NULL) gets the
 * stop's error. A negative FB_E* when out of memory.
 */
int fb_guard_refused(struct fb_guard *g, const struct fb_item *it, const struct fb_err *err,
		     struct fb_err *why);
/* The API accepted a create (made or adopted a run) or an upload. */
void fb_guard_accepted(struct fb_guard *g);
/* Whether nothing was accepted yet: a refusal may be the whole batch's. */
int fb_guard_probing(const struct fb_guard *g);
/* How many requests may be in flight: FB_GUARD_PROBE until something was accepted. */
size_t fb_guard_room(const struct fb_guard *g, size_t concurrency);

/*
 * Holds run_id for an item: 1 if it was free, 0 if held already, FB_ENOMEM. The set grows with the
 * batch, so the driver keeps it only without a journal; with one, it asks fb_journal_run_known.
 */
int fb_guard_claim(struct fb_guard *g, const char *run_id);
int fb_guard_claimed(const struct fb_guard *g, const char *run_id);

/* An item finished: its cost (the final one, else the create's quote) counts as spent. */
void fb_guard_spend(struct fb_guard *g, const char *technique, int has_cost, double cost,
		    int has_quote, double quote);
/*
 * Whether one more run of technique fits the budget, counting in_flight
 * runs at the highest cost seen for a run so far (a run's own technique's
 * when known). Always 1 without a budget.
 */
int fb_guard_affordable(const struct fb_guard *g, const char *technique, size_t in_flight);
double fb_guard_spent(const struct fb_guard *g);

#endif
