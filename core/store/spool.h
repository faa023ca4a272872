/*
 * spool: where downloaded outputs wait for the archive, in one append-only
 * file of two kinds of records:
 *   "<sha256> <length>\n<bytes>"          an output
 *   "L <ordinal> <length>\n<entries>"     the outputs of one completed line
 *                                         of the record, one entry a line:
 *                                         "<offset> <length> <sha256> <name>\n"
 * An output's record is written before the line record that names it, and
 * a line record before its results line (the collector's order), so the
 * archive is built by reading the line records in file order and each
 * output at its offset: no index in memory, however many outputs. Records
 * are gathered in a buffer and handed to the kernel in large writes
 * (fb_spool_flush, or when the buffer fills). What a crash leaves is cut
 * when the spool is opened again: a torn last record, and the line records
 * (with the outputs after them) of results lines that never reached the
 * record. One file, because creating a file per output costs more than the
 * rest of an item's work together.
 */
#ifndef FB_SPOOL_H
#define FB_SPOOL_H

#include "buf.h"
#include "error.h"

#include <stddef.h>
#include <stdint.h>

struct fb_spool;

/*
 * Opens (creating) the spool at path, keeping what it holds up to the end
 * of the line record with ordinal keep_lines - 1 (the record holds
 * keep_lines completed lines; 0 keeps nothing) and cutting the rest; fresh
 * empties it first. base: the lines in finished volumes, which an emptied
 * spool no longer holds (the next ordinal is at least base). A spool without any line record (an
 * earlier version's) keeps all its whole records. *lines (may be NULL) gets the number of line
 * records kept: the next line record's ordinal. Caller frees with
 * fb_spool_close.
 */
int fb_spool_open(struct fb_spool **out, const char *path, int fresh, uint64_t keep_lines,
		  uint64_t base, uint64_t *lines, struct fb_err *err);

/*
 * Appends one output, sha256 its digest (64 lowercase hex digits, checked);
 * *off gets where its bytes start in the file. Buffered: see fb_spool_flush.
 */
int fb_spool_put(struct fb_spool *s, const char *sha256, const void *data, size_t len,
		 uint64_t *off, struct fb_err *err);

/*
 * Like fb_spool_put, for an output of len bytes that waits in the file fd
 * (from its start; fd stays the caller's): copied in chunks, so memory
 * does not follow the output's size.
 */
int fb_spool_put_fd(struct fb_spool *s, const char *sha256, int fd, uint64_t len, uint64_t *off,
		    struct fb_err *err);
/* Appends the line record with the next ordinal; entries as in the header comment. */
int fb_spool_put_line(struct fb_spool *s, const char *entries, size_t len, struct fb_err *err);

/* Hands what is buffered to the kernel. 0 or FB_EIO (the spool then refuses every call). */
int fb_spool_flush(struct fb_spool *s, struct fb_err *err);

/* Flushes and makes what was put durable (fdatasync), when anything was. */
int fb_spool_sync(struct fb_spool *s, struct fb_err *err);

/* len bytes at off (flushed first) into out (reset first). FB_EIO past the end. */
int fb_spool_read(struct fb_spool *s, uint64_t off, uint64_t len, struct fb_buf *out,
		  struct fb_err *err);

/*
 * The line records in file order: *pos starts at 0; each call puts the next
 * record's entries into out and returns 1, or returns 0 at the end (or
 * FB_EIO). Flushes first.
 */
int fb_spool_next_line(struct fb_spool *s, uint64_t *pos, struct fb_buf *out, uint64_t *ordinal,
		       struct fb_err *err);
/*
 * The records at [off, off + len), whole ones, are in a finished volume:
 * their disk space goes back (a hole punched where the file system can;
 * the zeros are read past), while every offset after stays where it was.
 */
void fb_spool_forget(struct fb_spool *s, uint64_t off, uint64_t len);
/* The length of an output record's header, for an output of len bytes (its body's offset minus
 * this is where the record starts). */
uint64_t fb_spool_header_len(uint64_t len);
/*
 * Empties the file once every line it holds is in a finished volume; the
 * ordinals go on from where they were.
 */
int fb_spool_empty(struct fb_spool *s, struct fb_err *err);

/*
 * The outputs in file order, for a spool whose line records are missing
 * (written by an earlier version): *pos starts at 0; each call fills sha256
 * (65 bytes), *off and *len and returns 1, or returns 0 at the end (or
 * FB_EIO).
 */
int fb_spool_next_output(struct fb_spool *s, uint64_t *pos, char sha256[65], uint64_t *off,
			 uint64_t *len, struct fb_err *err);

void fb_spool_close(struct fb_spool *s);

#endif
