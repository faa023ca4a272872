/*
 * csv: the RFC 4180 manifest reader. The header row names the columns: `id`
 * and `technique` are reserved, every other column is a technique input,
 * optionally typed as `name:type`. One record is read at a time, up to
 * FB_MANIFEST_MAX_RECORD bytes.
 */
#ifndef FB_CSV_H
#define FB_CSV_H

#include "error.h"
#include "reader.h"

/*
 * Reads the header row from src. A bad header (empty or duplicate column
 * name, unknown type, no input column) is an error naming the column. An
 * empty manifest is fine: the reader then yields no items. On success
 * *state is the reader for fb_csv_reader; src and name are borrowed until
 * fb_csv_reader.free(*state).
 */
int fb_csv_open(void **state, struct fb_src *src, const char *name, struct fb_err *err);

extern const struct fb_reader_ops fb_csv_reader;

#endif
