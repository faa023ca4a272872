/*
 * volpack: the volumes of an output folder merged into one archive, for a
 * user who wants a single file: every entry of every finished volume (those
 * volumes.jsonl names) copied once, a piece at a time, into a temporary
 * file that is made durable and renamed. The volumes stay as they are, so
 * packing is safe to repeat and safe beside a running stream (a volume it
 * does not yet name is not read).
 */
#ifndef FB_VOLPACK_H
#define FB_VOLPACK_H

#include "error.h"
#include "fbarchive.h"

#include <stdint.h>

struct fb_volpack_stats {
	unsigned volumes;
	uint64_t entries, bytes;
};

/*
 * Packs the volumes of the archive whose first volume is archive_path
 * (index at index_path) into out_path, in format f. 0, or a negative FB_E*
 * with err: a volume that cannot be read whole, or an entry name met twice
 * (the exactly-once promise broken: nothing is written then).
 */
int fb_volpack(const char *archive_path, const char *index_path, const char *out_path,
	       enum fb_archive_format f, struct fb_volpack_stats *st, struct fb_err *err);

#endif
