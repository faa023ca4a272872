/*
 * mergepriv: what merge.c takes from mergeline.c: the names a merged
 * archive already holds, so two kept outputs never share one (compared
 * ignoring ASCII case, as fbarchive.h names them, and a file never where
 * another output's folder is). In spillsets: bounded memory however many.
 */
#ifndef FB_MERGEPRIV_H
#define FB_MERGEPRIV_H

#include "spillset.h"

struct fb_merge_names {
	struct fb_spillset files, dirs;
};

/* spill_dir: where the sets spill (copied; NULL: $TMPDIR). 0 or FB_ENOMEM. */
int fb_merge_names_init(struct fb_merge_names *n, const char *spill_dir);
void fb_merge_names_release(struct fb_merge_names *n);
/* 1: path is the merged archive's now; 0: it clashes with a name taken; FB_ENOMEM / FB_EIO. */
int fb_merge_names_take(struct fb_merge_names *n, const char *path);

#endif
