/*
 * precheck: --strict. The whole manifest is read and checked before
 * anything runs, so a batch with one bad row spends nothing.
 */
#ifndef FB_PRECHECK_H
#define FB_PRECHECK_H

#include "error.h"
#include "log.h"
#include "manifest.h"
#include "resolve.h"

#include <stdint.h>

/*
 * --strict: reads the whole manifest at path without running anything, logs
 * every invalid record, and sets *invalid to their number.
 */
int fb_precheck_manifest(const char *path, enum fb_format format,
			 const struct fb_resolve_defaults *defaults, struct fb_log *log,
			 uint64_t *invalid, struct fb_err *err);

#endif
