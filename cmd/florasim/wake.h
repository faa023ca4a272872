/*
 * wake: resumes suspended libmicrohttpd connections when their time comes.
 *
 * Latency and slow downloads must not hold up other connections, so the
 * server suspends a connection instead of sleeping and this module's one
 * thread resumes it at its deadline. Every connection suspended here is
 * resumed exactly once, which keeps libmicrohttpd's rule that nothing is
 * suspended when the daemon stops.
 */
#ifndef FS_WAKE_H
#define FS_WAKE_H

#include "error.h"

#include <microhttpd.h>
#include <stdint.h>

struct fs_wake;

/* Monotonic milliseconds: the clock deadlines are given on. */
uint64_t fs_wake_now_ms(void);

/* Starts the thread. Caller frees with fs_wake_free. */
int fs_wake_new(struct fs_wake **out, struct fb_err *err);

/*
 * Suspends conn until due_ms. Call only from libmicrohttpd's access handler
 * or content reader for conn. Returns 1 when suspended (return from the
 * callback and expect a call after the resume), 0 when the connection must
 * go on at once: the module is stopping or out of memory.
 */
int fs_wake_suspend(struct fs_wake *w, struct MHD_Connection *conn, uint64_t due_ms);

/* How many connections wait right now. */
size_t fs_wake_pending(struct fs_wake *w);

/*
 * Resumes every waiting connection now, refuses new waits and joins the
 * thread. Call before MHD_stop_daemon. Idempotent.
 */
void fs_wake_stop(struct fs_wake *w);

/* Stops (if needed) and frees. NULL is fine. */
void fs_wake_free(struct fs_wake *w);

#endif
