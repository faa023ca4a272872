/*
 * rowcount: how many rows a manifest file holds, for the progress line's
 * total, without parsing it: its lines that are not blank, less a CSV's
 * header. An estimate (a quoted CSV field may hold a newline), read at
 * about the disk's speed with memory that does not follow the file.
 */
#ifndef FB_ROWCOUNT_H
#define FB_ROWCOUNT_H

#include "manifest.h"

#include <stdint.h>

/* The rows of the regular file at path (format CSV or JSONL). 0, or -1 when it cannot be read. */
int fb_rowcount(const char *path, enum fb_format format, uint64_t *rows);

#endif
