/*
 * idemkey: the idempotency key of an item, derived from what makes the item
 * the same piece of work — job kind, effective technique, inputs (as a set:
 * order-independent), the manifest's explicit id if it named one, and an
 * optional user namespace. Never from the line number: re-running a
 * reordered manifest sends the same keys, and a changed row sends a new one.
 */
#ifndef FB_IDEMKEY_H
#define FB_IDEMKEY_H

#include "error.h"
#include "item.h"

/* "fb1-" and 32 hex digits (128 bits of SHA-256). */
#define FB_IDEMKEY_LEN 36

/*
 * Writes the key for it (resolved: see resolve.h) into out; ns may be NULL.
 * 0 or FB_ENOMEM/FB_EINVAL.
 */
int fb_idemkey_derive(const struct fb_item *it, const char *ns, char out[FB_IDEMKEY_LEN + 1],
		      struct fb_err *err);

/*
 * The key of a re-created run: attempt 1 is the item's key itself; later
 * attempts (a failed run burns its key) derive "fb1-…" from key and attempt.
 */
int fb_idemkey_attempt(const char *key, unsigned attempt, char out[FB_IDEMKEY_LEN + 1]);

#endif
