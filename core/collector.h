/*
 * collector: where finished work goes. Owns the results writer and the
 * outputs archive, so every byte a batch keeps passes through one place;
 * counts what it kept for the summary.
 */
#ifndef FB_COLLECTOR_H
#define FB_COLLECTOR_H

#include "buf.h"
#include "error.h"
#include "results.h"

#include <stdint.h>

struct fb_collector_config {
	const char *results_path; /* "-" for standard output */
	const char *archive_path; /* NULL: outputs are fetched and checksummed but not kept */
	int64_t mtime_s;	  /* the entries' modification time: the batch's start */
};

struct fb_collector_stats {
	uint64_t results;      /* result lines written */
	uint64_t outputs;      /* archive entries written */
	uint64_t output_bytes; /* their bytes */
};

struct fb_collector;

/* Opens both files (paths borrowed during the call). Caller frees with fb_collector_close. */
int fb_collector_open(struct fb_collector **out, const struct fb_collector_config *cfg,
		      struct fb_err *err);

/*
 * Archives one output as "<item_id>/<output_id>.<ext>" (names made safe and
 * unique by the archive). The entry name written goes to *path (reset
 * first); with no archive, *path gets the name it would have had.
 */
int fb_collector_add_output(struct fb_collector *c, const char *item_id, const char *output_id,
			    const char *ext, const void *data, size_t len, struct fb_buf *path,
			    struct fb_err *err);

/* Writes one result line (flushed). */
int fb_collector_write(struct fb_collector *c, const struct fb_result *res, struct fb_err *err);

void fb_collector_stats(const struct fb_collector *c, struct fb_collector_stats *out);

/* Finishes the archive and the results (both fsync'd). Frees c in every case. */
int fb_collector_close(struct fb_collector *c, struct fb_err *err);

#endif
