/*
 * mergepriv: what merger.c takes from its parts. From mergeline.c, the
 * names a merged archive already holds, so two kept outputs never share one
 * (compared ignoring ASCII case, as fbarchive.h names them, and a file
 * never where another output's folder is), in spillsets: bounded memory
 * however many. From mergecheck.c, the folders held against one another.
 */
#ifndef FB_MERGEPRIV_H
#define FB_MERGEPRIV_H

#include "error.h"
#include "merger.h"
#include "spillset.h"

#include <stddef.h>

struct fb_mfolder;

struct fb_merge_names {
	struct fb_spillset files, dirs;
};

/* spill_dir: where the sets spill (copied; NULL: $TMPDIR). 0 or FB_ENOMEM. */
int fb_merge_names_init(struct fb_merge_names *n, const char *spill_dir);
void fb_merge_names_release(struct fb_merge_names *n);
/* 1: path is the merged archive's now; 0: it clashes with a name taken; FB_ENOMEM / FB_EIO. */
int fb_merge_names_take(struct fb_merge_names *n, const char *path);

/*
 * Before the lines are read: folders whose records say different batches
 * made them (kind, technique, namespace; or a folder made by several) are
 * refused with FB_EINVAL, or with cfg->allow_mixed warned of and
 * *mixed_allowed set; folders of no record are warned of; shards of
 * different counts, or missing, are told.
 */
int fb_merge_check_batches(const struct fb_mfolder *f, size_t n, const struct fb_merge_config *cfg,
			   int *mixed_allowed, struct fb_err *err);
/*
 * After: folders whose lines share no technique (as above), and folders
 * with an archive beside folders without one (FB_EINVAL, always).
 */
int fb_merge_check_lines(const struct fb_mfolder *f, size_t n, const struct fb_merge_config *cfg,
			 int *mixed_allowed, struct fb_err *err);

#endif
