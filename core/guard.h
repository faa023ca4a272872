/*
 * guard: the batch-wide policy state that no single item owns: the scopes
 * the API refused with 403 (so items needing them fail without asking
 * again), the runs items of this invocation hold (so a lost run is never
 * adopted by two items), and the budget (--max-cost).
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
