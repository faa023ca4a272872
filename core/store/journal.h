/*
 * journal: the append-only record of what a re-run must know and cannot
 * read anywhere else: which keys a create was sent for, and which run each
 * create made. One JSON line per record (yajl). Records are queued, then
 * written in one write and made durable in groups (fb_journal_sync), which
 * the driver calls before any request leaves the machine, so a record is
 * always on disk before the action that depends on it. A torn last record (power lost
 * mid-write) is ignored on replay and cut off.
 *
 * Records: {"t":"create","key":K}  a create with key K is about to be sent
 *          {"t":"run","key":K,"run":R[,"poll":URL]}  key K made run R
 *          {"t":"invocation","phase":"start","pid":P[,"kind":K,"technique":T,
 *          "namespace":NS],"at":MS}  an invocation took the folder (running K/T,
 *          keys in NS); {"t":"invocation","phase":"end","exit":CODE,"at":MS} it left
 *          it (one killed leaves no end). They carry no key, so replay passes them
 *          over (as every version has); they are for `florabatch status`.
 *
 * Memory: the map that answers fb_journal_run_of and create_sent holds
 * what the file held when it was opened (an earlier invocation's records:
 * its size follows that record, about 40-60 bytes a key plus its poll URL).
 * This invocation's records are not added to it, so a fresh batch costs no
 * memory per item: the job that wrote a record holds what it says, and the
 * rare question about them (fb_journal_run_known) reads the file.
 */
#ifndef FB_JOURNAL_H
#define FB_JOURNAL_H

#include "clock.h"
#include "error.h"

#include <stdint.h>

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
 * The latest run noted for key by an earlier invocation (the file as
 * opened; updated when this invocation notes a new run for such a key), or
 * NULL: a key first noted by this invocation is not looked up (see above).
 * Borrowed until close (a later note_run does not invalidate it).
 * *poll_url (poll_url may be NULL) gets its poll URL, or NULL.
 */
const char *fb_journal_run_of(const struct fb_journal *j, const char *key, const char **poll_url);
/*
 * Whether a create with key was noted (its answer may have been lost) by
 * an earlier invocation (or by this one for a key an earlier one noted).
 * A run record alone does not count.
 */
int fb_journal_create_sent(const struct fb_journal *j, const char *key);

/*
 * Queues a record: it is written and made durable by the next
 * fb_journal_sync (or close), in one write for every record queued. key, run_id
 * and poll_url are 1 to 64 KiB of valid UTF-8 (poll_url may be NULL or ""
 * for none), else FB_EINVAL. 0, or FB_EIO/FB_ENOMEM with err. After an
 * FB_EIO the journal is failed: every later note and sync returns the same
 * error, since the driver must not act on a record that may not be kept.
 */
int fb_journal_note_create(struct fb_journal *j, const char *key, struct fb_err *err);
int fb_journal_note_run(struct fb_journal *j, const char *key, const char *run_id,
			const char *poll_url, struct fb_err *err);

/*
 * What a batch runs, carried by its invocations' start records, so that
 * `florabatch merge` can tell folders of one batch from folders of
 * another: the kind and technique (slug, tech_ id or generation type) of
 * rows that name none, and the namespace mixed into every key. All
 * borrowed; NULL: not given (a NULL kind leaves all three out).
 */
struct fb_journal_batch {
	const char *kind;      /* "technique", "technique_id" or "generation" */
	const char *technique; /* --technique, --technique-id or --generation */
	const char *ns;	       /* --namespace */
};

/*
 * Queues an invocation record (see above): start with the process id
 * (and, b not NULL, the batch's "kind", "technique" and "namespace",
 * null when not given), end with the exit status. Their "at" is the real wall clock (unix ms),
 * whatever clock the batch runs on: they say when to a person. Compaction
 * keeps this invocation's and drops earlier ones'. 0, or FB_EIO/FB_ENOMEM
 * with err, as the other notes.
 */
int fb_journal_note_start(struct fb_journal *j, long pid, const struct fb_journal_batch *b,
			  struct fb_err *err);
int fb_journal_note_end(struct fb_journal *j, int exit_code, struct fb_err *err);

/*
 * Writes every record queued so far in one write(2) and makes them durable
 * (fdatasync); does nothing when nothing was queued since the last sync.
 * 0, or FB_EIO with err.
 */
int fb_journal_sync(struct fb_journal *j, struct fb_err *err);

/* Writes the queued records in one write(2), without waiting for the disk. */
int fb_journal_write(struct fb_journal *j, struct fb_err *err);

/*
 * Group commit. fb_journal_mark says how many records were noted so far;
 * fb_journal_make_durable(j, mark) returns once the first `mark` records
 * are durable, with one fdatasync for everything queued when it has to
 * sync, none when an earlier sync covered them. 0, or FB_EIO with err.
 */
uint64_t fb_journal_mark(const struct fb_journal *j);
int fb_journal_make_durable(struct fb_journal *j, uint64_t mark, struct fb_err *err);

/* fdatasync calls so far, for the summary and the tests that count them. */
uint64_t fb_journal_syncs(const struct fb_journal *j);

/*
 * 1 when any key of the journal, earlier or this invocation, ever made
 * run_id (a run record, queued ones included), 0 when none did, or a
 * negative FB_E* with err. For the rare 409 recovery: it reads the part of
 * the file this invocation wrote (the whole file when an earlier key was
 * re-run), a few tens of milliseconds per million records.
 */
int fb_journal_run_known(struct fb_journal *j, const char *run_id, struct fb_err *err);

/* Records carry the wall time of clock (borrowed until close), for compaction. */
void fb_journal_set_clock(struct fb_journal *j, struct fb_clock *clock);
/* Bytes of the file, with the records queued. */
uint64_t fb_journal_size(const struct fb_journal *j);

/* What compaction asks about a record's key. */
struct fb_journal_keep {
	/* An earlier invocation's key: whether the record holds its line (nothing to resume). */
	int (*done_before)(void *ud, const char *key);
	/* A key of this invocation: whether an item in flight uses it. */
	int (*live)(void *ud, const char *key);
	void *ud;
};

/*
 * Rewrites the file without the records no later invocation needs (see
 * jcompact.c): earlier keys done_before says are done, this invocation's
 * records older than 24 h whose key is not live, and earlier invocations'
 * invocation records (this one's stay, so status can say when it started). The map of
 * earlier keys is kept as it is. 0, or a negative FB_E* with err: the old
 * file then stays in use, unless it could not be opened again (the
 * journal is then failed).
 */
int fb_journal_compact(struct fb_journal *j, const struct fb_journal_keep *keep, uint64_t now_ms,
		       struct fb_err *err);
/* Compactions so far. */
uint64_t fb_journal_compactions(const struct fb_journal *j);

/* Syncs and closes. Frees j in every case (NULL is fine). 0, or FB_EIO with err. */
int fb_journal_close(struct fb_journal *j, struct fb_err *err);

#endif
