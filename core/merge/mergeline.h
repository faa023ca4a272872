/*
 * mergeline: a result line's "volume" member set to the merged folder's
 * volume, the rest of its bytes untouched, and the names a merged archive
 * may not hold twice. Below merger.c, which calls it; knows nothing of it.
 */
#ifndef FB_MERGELINE_H
#define FB_MERGELINE_H

#include "buf.h"
#include "spillset.h"

#include <stddef.h>

struct fb_merge_names {
	struct fb_spillset files, dirs;
};

/* spill_dir: where the sets spill (copied; NULL: $TMPDIR). 0 or FB_ENOMEM. */
int fb_merge_names_init(struct fb_merge_names *n, const char *spill_dir);
void fb_merge_names_release(struct fb_merge_names *n);
/* 1: path is the merged archive's now; 0: it clashes with a name taken; FB_ENOMEM / FB_EIO. */
int fb_merge_names_take(struct fb_merge_names *n, const char *path);

/*
 * A result line (len bytes, no newline) with its top-level "volume" value
 * replaced by the string name, into out (reset first). 0, FB_ENOMEM, or
 * FB_EPARSE when the line has no such member.
 */
int fb_merge_set_volume(const char *line, size_t len, const char *name, struct fb_buf *out);

#endif
