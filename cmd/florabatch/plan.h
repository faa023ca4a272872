/* plan: `florabatch run --dry-run` and `florabatch validate`: the batch previewed, nothing spent.
 */
#ifndef FB_CMD_PLAN_H
#define FB_CMD_PLAN_H

#include "log.h"
#include "manifest.h"
#include "options.h"
#include "transport.h"

/*
 * Plans the batch of m (read to its end) as o describes it, over t for the
 * technique lookups; prints the report on stderr (and, with --results -,
 * a JSON line per row on stdout). Returns the exit status: 0 when the
 * batch would run clean, 2 when a row is invalid, 3 when the API refused
 * the lookups, 4 when the plan could not be made.
 */
int fb_cmd_plan(const struct run_opts *o, struct fb_manifest *m, struct fb_transport *t,
		struct fb_log *log);

#endif
