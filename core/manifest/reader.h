/*
 * reader: what the manifest's format readers share (csv.c, jsonl.c,
 * dirreader.c): the reader slot they fill, the bytes they read from, and
 * the helpers that make items. manifest.c picks a reader and hands it its
 * source; readers never see the manifest. The item helpers keep the
 * manifest's name: they are how a manifest's rows become items.
 */
#ifndef FB_READER_H
#define FB_READER_H

#include "error.h"
#include "item.h"

#include <stdint.h>
#include <stdio.h>

/* The longest record a reader accepts; a longer one becomes an invalid item. */
#define FB_MANIFEST_MAX_RECORD (1u << 20)

/*
 * The reader slot. A reader owns its state; the manifest owns the FILE.
 * next() fills *item (zeroed by the caller) and returns 1; returns 0 at the
 * end; returns a negative FB_E* with err set when the input cannot be read
 * any further (I/O error). A record that is read but is wrong (bad field,
 * bad JSON, over FB_MANIFEST_MAX_RECORD bytes, invalid UTF-8) is NOT an
 * error: it is returned as an item with ->invalid set, and the reader
 * carries on with the next record.
 * Every item gets seq (1-based data record number), id (explicit, or
 * fb_manifest_default_id(seq) for both formats), and source "<name>:<line>"
 * where line is the first physical line of the record.
 */
struct fb_reader_ops {
	const char *name;
	int (*next)(void *state, struct fb_item *item, struct fb_err *err);
	void (*free)(void *state);
};

/* "row-<seq>": the id of an item whose manifest names none (stable across runs). Caller frees. */
char *fb_manifest_default_id(unsigned long long seq);

/*
 * The bytes of the manifest. Opening reads ahead to detect the format, so
 * readers take their bytes from here, never from the FILE. The manifest
 * (manifest.c) sets f, cancel and buf (FB_SRC_CHUNK bytes) and sniffs the
 * first chunk; readers use the functions below.
 */
#define FB_SRC_CHUNK 65536
struct fb_src {
	FILE *f;
	int cancel; /* readable: stop waiting for bytes (fb_manifest_set_cancel); -1: none */
	unsigned char *buf;
	size_t pos, len;
	int eof;
	int err;
};
/*
 * Reads the next chunk; 1 when there are bytes to take. read(2), not
 * fread: on a pipe it returns what has arrived, so an item written by a
 * slow producer upstream starts at once instead of waiting for a full chunk.
 */
int fb_src_fill(struct fb_src *s);
/* The next byte (0-255), or EOF at the end or on a read error (see fb_src_error). */
int fb_src_getc(struct fb_src *s);
/* The next byte without consuming it, or EOF. */
int fb_src_peek(struct fb_src *s);
/* 0, or the errno of a failed read. */
int fb_src_error(const struct fb_src *s);

/*
 * Starts an item: sets seq and source "<name>:<line>". 0 or FB_ENOMEM.
 * Readers call it first, then fb_manifest_item_id once they know the id.
 */
int fb_manifest_item_begin(struct fb_item *it, const char *name, uint64_t line, uint64_t seq);
/* Sets the id: id when non-empty (explicit), else the default id. 0 or FB_ENOMEM. */
int fb_manifest_item_id(struct fb_item *it, const char *id);
/*
 * Adds the input id = value of the given type. An empty value is left out
 * (the API rejects empty inputs). When typed (the manifest named the type)
 * and the type is a URL type, a value that is not an http(s) URL marks the
 * item invalid: `<what> "<field>": expected a URL (http:// or https://),
 * got "<value>"`, with field as invalid_field. 0 or FB_ENOMEM.
 */
int fb_manifest_item_input(struct fb_item *it, const char *what, const char *field, const char *id,
			   enum fb_input_type type, int typed, const char *value);
/*
 * Writes value into out as a quoted excerpt for a one-line message: the
 * first 60 or so bytes, cut on a character boundary, with quotes and
 * control characters escaped.
 */
#define FB_MANIFEST_QUOTE_MAX 256
void fb_manifest_quote(char out[FB_MANIFEST_QUOTE_MAX], const char *value);

#endif
