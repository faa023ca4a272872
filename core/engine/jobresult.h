/*
 * jobresult: an item's result line (jobresult.c). The line of an item that
 * never ran is public (job.h includes this header); the line of a job that
 * ran is written by fb_job_finish, for the job's own files (jobstate.h).
 */
#ifndef FB_JOBRESULT_H
#define FB_JOBRESULT_H

#include "error.h"
#include "item.h"
#include "results.h"

struct fb_clock;
struct fb_collector;

/*
 * Writes the result line of an item that never ran: invalid (why from the
 * item) or skipped (why given). key may be NULL.
 */
int fb_job_write_unstarted(struct fb_collector *c, struct fb_clock *clock,
			   const struct fb_item *item, enum fb_item_status status,
			   const struct fb_err *why, const char *key, struct fb_err *err);

#endif
