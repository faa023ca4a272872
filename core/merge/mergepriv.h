/*
 * mergepriv: what merger.c takes from its parts: from mergeline.c (its
 * header, included here) the line splice and the names a merged archive
 * already holds; from mergecheck.c, the folders held against one another.
 * It includes nothing of merger.h: merger.c sits above its parts, which
 * never call it.
 */
#ifndef FB_MERGEPRIV_H
#define FB_MERGEPRIV_H

#include "error.h"
#include "log.h"
#include "mergeline.h"

#include <stddef.h>

struct fb_mfolder;

/*
 * Before the lines are read: folders whose records say different batches
 * made them (kind, technique, namespace; or a folder made by several) are
 * refused with FB_EINVAL, or with allow_mixed (--allow-mixed) warned of on
 * log and *mixed_allowed set; folders of no record are warned of; shards
 * of different counts, or missing, are told.
 */
int fb_merge_check_batches(const struct fb_mfolder *f, size_t n, int allow_mixed,
			   struct fb_log *log, int *mixed_allowed, struct fb_err *err);
/*
 * After: folders whose lines share no technique (as above), and folders
 * with an archive beside folders without one (FB_EINVAL, always).
 */
int fb_merge_check_lines(const struct fb_mfolder *f, size_t n, int allow_mixed, struct fb_log *log,
			 int *mixed_allowed, struct fb_err *err);

#endif
