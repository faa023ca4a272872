/*
 * jsonl: the JSON Lines manifest reader. Each line is one JSON object with
 * optional "id" and "technique" and required "inputs" (an object of input
 * values, or the API's array of {id, type, value}). Other keys are kept in
 * item->json so they can travel to the result line. One line is read at a
 * time, up to FB_MANIFEST_MAX_RECORD bytes.
 */
#ifndef FB_JSONL_H
#define FB_JSONL_H

#include "error.h"
#include "reader.h"

/*
 * Makes a reader over src. On success *state is the reader for
 * fb_jsonl_reader; src and name are borrowed until fb_jsonl_reader.free(*state).
 */
int fb_jsonl_open(void **state, struct fb_src *src, const char *name, struct fb_err *err);

extern const struct fb_reader_ops fb_jsonl_reader;

#endif
