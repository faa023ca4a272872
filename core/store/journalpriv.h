/*
 * journalpriv: the journal's state, shared by journal.c (records, replay,
 * group commit) and jcompact.c (rewriting the file without what no later
 * invocation needs). No other module includes it.
 */
#ifndef FB_JOURNALPRIV_H
#define FB_JOURNALPRIV_H

#include "buf.h"
#include "clock.h"
#include "error.h"
#include "jmap.h"

#include <stdint.h>
#include <sys/types.h>
#include <yajl/yajl_gen.h>

#define MAX_STR	  (64 * 1024)
#define MAX_LINE  (4 * 1024 * 1024) /* three MAX_STR strings, escaped, fit */
#define READ_SIZE (64 * 1024)

struct fb_journal {
	int fd;
	char *path;
	off_t size;	    /* where the next record starts on disk */
	off_t open_size;    /* what the file held when opened: the part the map holds */
	int dirty;	    /* appended (or truncated) since the last fdatasync */
	struct fb_buf pend; /* records of this invocation not yet written (fb_journal_sync) */
	int failed;	    /* a write or sync failed: every later call repeats failure */
	struct fb_err failure;
	yajl_gen gen;
	struct fb_buf rec;

	struct fb_jmap map;
	size_t skipped;	  /* lines of the replay that were not records */
	uint64_t queued;  /* records this invocation noted */
	uint64_t durable; /* of those, the ones the last fdatasync covered */
	uint64_t syncs;	  /* fdatasync calls */
	uint64_t compactions;
	struct fb_clock *clock; /* records carry "at" (wall ms) when set */
};

/*
 * Calls fn on each whole line of the file's bytes [from, to) (a line over
 * MAX_LINE is cut to it), with the offset where the line starts. A nonzero
 * return of fn stops the walk and is returned (FB_ENOMEM also sets err).
 */
typedef int (*fb_journal_line_fn)(void *ud, const char *line, size_t len, off_t at);
int fb_journal_each_line(struct fb_journal *j, off_t from, off_t to, fb_journal_line_fn fn,
			 void *ud, struct fb_err *err);

/* An I/O failure on the journal as the user reads it (no space left said plainly). */
int fb_journal_io_fail(struct fb_err *err, const char *what, const char *path, int e);

#endif
