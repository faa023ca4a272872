/*
 * journal: the append-only record of what a re-run must know and cannot
 * read anywhere else: which keys a create was sent for, and which run each
 * create made. One JSON line per record (yajl). Records are written at once
 * and made durable in groups (fb_journal_sync), which the driver calls
 * before any request leaves the machine, so a record is always on disk
 * before the action that depends on it. A torn last record (power lost
 * mid-write) is ignored on replay and cut off.
 *
 * Records: {"t":"create","key":K}  a create with key K is about to be sent
 *          {"t":"run","key":K,"run":R[,"poll":URL]}  key K made run R
 */
#ifndef FB_JOURNAL_H
#define FB_JOURNAL_H

#include "error.h"

struct fb_journal;

/*
 * Opens (creating, mode 0644) the journal at path for appending, after
 * replaying what it holds: lines that are not records are skipped, and a
 * torn last line is truncated away. Caller frees with fb_journal_close.
 * 0, or FB_EIO (cannot open, read or truncate; the message names the path)
 * or FB_ENOMEM, with err.
 */
int fb_journal_open(struct fb_journal **out, const char *path, struct fb_err *err);

/*
 * The latest run noted for key, by an earlier invocation or this one, or
 * NULL. Borrowed until close (a later note_run does not invalidate it).
 * *poll_url (poll_url may be NULL) gets its poll URL, or NULL.
 */
const char *fb_journal_run_of(const struct fb_journal *j, const char *key, const char **poll_url);
/*
 * Whether a create with key was noted (its answer may have been lost),
 * by an earlier invocation or this one. A run record alone does not count.
 */
int fb_journal_create_sent(const struct fb_journal *j, const char *key);

/*
 * Appends a record (not yet durable) and updates the lookups. key, run_id
 * and poll_url are 1 to 64 KiB of valid UTF-8 (poll_url may be NULL or ""
 * for none), else FB_EINVAL. 0, or FB_EIO/FB_ENOMEM with err. After an
 * FB_EIO the journal is failed: every later note and sync returns the same
 * error, since the driver must not act on a record that may not be kept.
 */
int fb_journal_note_create(struct fb_journal *j, const char *key, struct fb_err *err);
int fb_journal_note_run(struct fb_journal *j, const char *key, const char *run_id,
			const char *poll_url, struct fb_err *err);

/*
 * Makes every record appended so far durable (fdatasync); does nothing when
 * nothing was appended since the last sync. 0, or FB_EIO with err.
 */
int fb_journal_sync(struct fb_journal *j, struct fb_err *err);

/* Syncs and closes. Frees j in every case (NULL is fine). 0, or FB_EIO with err. */
int fb_journal_close(struct fb_journal *j, struct fb_err *err);

#endif
