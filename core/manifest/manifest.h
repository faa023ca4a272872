/*
 * manifest: opens a manifest (a CSV or JSONL file, or standard input),
 * decides its format, and hands out items one at a time, so memory never
 * grows with the manifest. The format readers (csv.c, jsonl.c, and
 * dirreader.c for a folder) sit behind the reader slot of reader.h, which
 * this header includes.
 */
#ifndef FB_MANIFEST_H
#define FB_MANIFEST_H

#include "error.h"
#include "item.h"
#include "reader.h"

#include <stdint.h>
#include <stdio.h>

enum fb_format {
	/* From the extension (.csv, .jsonl, .ndjson, .json), else the content. */
	FB_FORMAT_AUTO = 0,
	FB_FORMAT_CSV,
	FB_FORMAT_JSONL,
};
/* "auto", "csv", "jsonl" (also "ndjson"), any case -> format; FB_EINVAL otherwise. */
int fb_format_parse(const char *s, enum fb_format *out);
const char *fb_format_name(enum fb_format f);

struct fb_manifest;

/*
 * Opens path ("-" or NULL: standard input) as a manifest of the given
 * format. Messages call it by its path, or "<stdin>". An empty manifest
 * (no bytes, only blank lines, or only a CSV header) opens fine and yields
 * no items. A missing or unreadable file, a directory, binary data (a NUL
 * byte in the first 4 KiB, UTF-16, bytes that are not UTF-8 on the first
 * line) and a bad CSV header fail here with err naming the file.
 * Caller frees with fb_manifest_free.
 */
int fb_manifest_open(struct fb_manifest **out, const char *path, enum fb_format format,
		     struct fb_err *err);

/*
 * Like fb_manifest_open, on a stream that is already open. display_name
 * (copied) is what messages call it; with FB_FORMAT_AUTO its extension is
 * consulted before the content. When close_f is set the manifest closes f
 * in fb_manifest_free, and at once when opening fails.
 */
int fb_manifest_open_stream(struct fb_manifest **out, FILE *f, const char *display_name,
			    int close_f, enum fb_format format, struct fb_err *err);

/*
 * The next item: 1, 0 at the end, or a negative FB_E* (see
 * fb_reader_ops.next). After an error every further call returns it again.
 * item must be zeroed (or released) by the caller; the caller releases it
 * with fb_item_release.
 */
int fb_manifest_next(struct fb_manifest *m, struct fb_item *item, struct fb_err *err);

/* The format actually in use (after detection). */
enum fb_format fb_manifest_format(const struct fb_manifest *m);
/* How messages name this manifest; borrowed until fb_manifest_free. */
const char *fb_manifest_name(const struct fb_manifest *m);
/* Whether the manifest is a regular file opened by path, so it can be read again (for --strict). */
int fb_manifest_rereadable(const struct fb_manifest *m);

/*
 * Whether reading may have to wait for bytes still to come: a pipe, a
 * FIFO, a socket or a terminal, not a regular file or a folder (and not a
 * stream that already ended while opening). Such a manifest is read by
 * feed.h, off the event loop.
 */
int fb_manifest_live(const struct fb_manifest *m);
/*
 * From now on, a read that waits for bytes gives up when fd becomes
 * readable, and the manifest fails with ECANCELED. fd is borrowed; -1: never.
 */
void fb_manifest_set_cancel(struct fb_manifest *m, int fd);

void fb_manifest_free(struct fb_manifest *m);

struct fb_dir_options;
struct fb_dirwalk_stats;
/*
 * A folder as a manifest: one item per image file under it (dirreader.h).
 * Caller frees with fb_manifest_free.
 */
int fb_manifest_open_dir(struct fb_manifest **out, const char *dir,
			 const struct fb_dir_options *opts, struct fb_err *err);
/* The folder walk's counts (skipped hidden files, non-images, ...), or NULL for a file manifest. */
const struct fb_dirwalk_stats *fb_manifest_dir_stats(const struct fb_manifest *m);

#endif
