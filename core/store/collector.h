/*
 * collector: where finished work goes, so every byte a batch keeps passes
 * through one place, and survives a crash at any instant:
 *  - the record (results.jsonl) gets one line per item, appended; on open,
 *    a torn last line is cut and what the record holds becomes the set of
 *    items already done, which a re-run does not run again;
 *  - outputs wait in an append-only spool (spool.h), each line's outputs
 *    followed by a line record saying where they are; records are whole
 *    or cut off when it is opened again; without an archive, the spool
 *    keeps line records only, and --outputs-dir's files are the outputs;
 *  - the archive is built at close from the spool's line records, into a
 *    temporary file renamed over the old one: every output of every
 *    completed line is in it exactly once, however many invocations the
 *    batch took.
 */
#ifndef FB_COLLECTOR_H
#define FB_COLLECTOR_H

#include "buf.h"
#include "fbarchive.h"
#include "error.h"
#include "results.h"
#include "clock.h"

#include <stdint.h>

struct fb_collector_config {
	const char *record_path; /* results.jsonl: appended to (the batch's record) */
	int record_named;	 /* record_path is the user's --results: a link there is followed */
	int copy_to_stdout;	 /* also stream every line to standard output */
	size_t keep_order; /* with copy_to_stdout: lines in input order within this window; 0: as
			      items end */
	const char *spool_path; /* where outputs wait: spool.dat (see spool.h) */
	/* volume 1 (volumes.h); NULL: no archive, outputs_dir's files are the one copy (or,
	 * without it, outputs are checked and let go) */
	const char *archive_path;
	const char *volumes_path;      /* the volumes' index, volumes.jsonl */
	enum fb_archive_format format; /* tar.gz (default), tar.zst, tar */
	const char *outputs_dir; /* NULL, or a folder that gets every output as a plain file too */
	int64_t mtime_s;	 /* the entries' modification time: the batch's start */
	struct fb_clock *clock;	 /* when volumes are finished (borrowed); NULL: mtime_s */
	int fresh;		 /* forget what the record holds: start it anew */
};

struct fb_collector_stats {
	uint64_t results;		       /* result lines written by this invocation */
	uint64_t done_before;		       /* lines the record held when it was opened */
	uint64_t outputs;		       /* archive entries written by this invocation */
	uint64_t output_bytes;		       /* their bytes */
	uint64_t volumes;		       /* volumes this invocation finished */
	unsigned volume_count;		       /* finished volumes in all, after close */
	uint64_t volume_outputs, volume_bytes; /* of the last one */
};

struct fb_collector;

/* Paths borrowed during the call. Caller frees with fb_collector_close. */
int fb_collector_open(struct fb_collector **out, const struct fb_collector_config *cfg,
		      struct fb_err *err);

/*
 * Whether the record holds a line for the item: by its idempotency key, or
 * by its id for lines without a key (invalid rows). Either may be NULL.
 */
int fb_collector_done(const struct fb_collector *c, const char *key, const char *id);

/*
 * Keeps one output: its bytes go to the spool under their sha256 (hex, as
 * computed while downloading); its archive entry name, "<item_id>/<output_id>.<ext>"
 * made safe and unique across the whole batch, goes to *path (reset first).
 */
int fb_collector_add_output(struct fb_collector *c, const char *item_id, const char *output_id,
			    const char *ext, const void *data, size_t len, const char *sha256,
			    struct fb_buf *path, struct fb_err *err);

/*
 * Like fb_collector_add_output, for an output of len bytes that waits in
 * the file fd (fb_collector_part), copied in chunks: memory does not follow
 * the output's size. fd stays the caller's.
 */
int fb_collector_add_output_fd(struct fb_collector *c, const char *item_id, const char *output_id,
			       const char *ext, int fd, uint64_t len, const char *sha256,
			       struct fb_buf *path, struct fb_err *err);
/*
 * A new file with no name, in the output folder, where a download is
 * written as it arrives: a descriptor the caller closes, or a negative
 * FB_E* with err.
 */
int fb_collector_part(struct fb_collector *c, struct fb_err *err);
/* The output folder, for messages; borrowed until close. */
const char *fb_collector_folder(const struct fb_collector *c);

/*
 * Writes one result line (to the record, and to standard output when
 * asked). When standard output's reader has gone away (EPIPE), the line
 * is in the record all the same: the copy stops, fb_collector_reader_gone
 * says so, and this returns 0.
 */
int fb_collector_write(struct fb_collector *c, const struct fb_result *res, struct fb_err *err);
/*
 * Rolls a volume now: the outputs of every completed line not in one yet
 * go into the next volume (volumes.h); nothing when there are none. A
 * long stream calls it on a size or time limit, so finished outputs can be
 * picked up while it runs. 0, or a negative FB_E* with err.
 */
int fb_collector_roll(struct fb_collector *c, struct fb_err *err);
/* Bytes of outputs of completed lines that no volume holds yet. */
uint64_t fb_collector_unrolled(const struct fb_collector *c);

/* Whether standard output's reader went away: the batch should stop starting runs. */
int fb_collector_reader_gone(const struct fb_collector *c);
/* Whether the item with seq may start now: --keep-order's window has room for it. */
int fb_collector_room(const struct fb_collector *c, uint64_t seq);
/* The item with seq gets no line from this invocation (its line is in the record already). */
int fb_collector_pass(struct fb_collector *c, uint64_t seq, struct fb_err *err);

/* Writes what is buffered (outputs, then lines), without waiting for the disk. */
int fb_collector_flush(struct fb_collector *c, struct fb_err *err);

/* Makes everything kept so far durable, when anything is new since the last call. */
int fb_collector_sync(struct fb_collector *c, struct fb_err *err);

void fb_collector_stats(const struct fb_collector *c, struct fb_collector_stats *out);

/*
 * Closes the record, then builds the archive (see above); the final counts
 * go to *stats when it is not NULL. Frees c in every case.
 */
int fb_collector_close(struct fb_collector *c, struct fb_collector_stats *stats,
		       struct fb_err *err);

#endif
