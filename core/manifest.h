/*
 * manifest: opens a manifest (a CSV or JSONL file, or standard input),
 * decides its format, and hands out items one at a time, so memory never
 * grows with the manifest. The format readers (csv.c, jsonl.c) sit behind
 * the reader slot declared here.
 */
#ifndef FB_MANIFEST_H
#define FB_MANIFEST_H

#include "error.h"
#include "item.h"

#include <stdio.h>

enum fb_format {
	FB_FORMAT_AUTO = 0, /* from the extension (.csv, .jsonl, .ndjson, .json), else the content */
	FB_FORMAT_CSV,
	FB_FORMAT_JSONL,
};
/* "csv" / "jsonl" (also "ndjson") -> format; FB_EINVAL otherwise. */
int fb_format_parse(const char *s, enum fb_format *out);
const char *fb_format_name(enum fb_format f);

/* The longest record a reader accepts; a longer one becomes an invalid item. */
#define FB_MANIFEST_MAX_RECORD (1u << 20)

/*
 * The reader slot. A reader owns its state; the manifest owns the FILE.
 * next() fills *item (zeroed by the caller) and returns 1; returns 0 at the
 * end; returns a negative FB_E* with err set when the input cannot be read
 * any further (I/O error, binary data before any record). A record that is
 * read but is wrong (bad field, bad JSON, over FB_MANIFEST_MAX_RECORD bytes,
 * invalid UTF-8) is NOT an error: it is returned as an item with ->invalid
 * set, and the reader carries on with the next record.
 * Every item gets seq (1-based data record number), id (explicit or
 * "row-<seq>" for CSV, "line-<seq>" for JSONL... see fb_manifest_default_id),
 * and source "<name>:<line>" where line is the first physical line of the
 * record.
 */
struct fb_reader_ops {
	const char *name;
	int (*next)(void *state, struct fb_item *item, struct fb_err *err);
	void (*free)(void *state);
};

struct fb_manifest;

/*
 * Opens path ("-" or NULL: standard input) as a manifest of the given
 * format. display_name is what messages call it (path, or "<stdin>").
 * An empty manifest opens fine and yields no items; a missing or
 * unreadable file fails here with err naming the path and the reason.
 * Caller frees with fb_manifest_free.
 */
int fb_manifest_open(struct fb_manifest **out, const char *path, enum fb_format format,
		     struct fb_err *err);

/* The next item: 1, 0 at the end, or a negative FB_E* (see fb_reader_ops.next). */
int fb_manifest_next(struct fb_manifest *m, struct fb_item *item, struct fb_err *err);

/* The format actually in use (after detection). */
enum fb_format fb_manifest_format(const struct fb_manifest *m);
/* How messages name this manifest; borrowed until fb_manifest_free. */
const char *fb_manifest_name(const struct fb_manifest *m);
/* Whether the manifest is a regular file that can be opened again (for --strict). */
int fb_manifest_rereadable(const struct fb_manifest *m);

void fb_manifest_free(struct fb_manifest *m);

/* "row-<seq>": the id of an item whose manifest names none (stable across runs). */
char *fb_manifest_default_id(unsigned long long seq);

#endif
