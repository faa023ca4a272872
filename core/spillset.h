/*
 * spillset: a set of 64-bit hashes (never 0) that stays in memory while
 * small and moves to an unlinked temporary file once it passes
 * FB_SPILLSET_MEM_SLOTS/2 entries, so a set that grows with a batch costs
 * a fixed amount of memory: past the threshold each lookup is one pread of
 * a 64-byte block (the page cache, not the process, holds the table) and
 * each insert one pwrite more. For the names of a million-output archive.
 */
#ifndef FB_SPILLSET_H
#define FB_SPILLSET_H

#include <stddef.h>
#include <stdint.h>

#define FB_SPILLSET_MEM_SLOTS ((size_t)1 << 15) /* 256 KiB of table at most in memory */

struct fb_spillset {
	uint64_t *mem; /* open addressing, 0 = empty; NULL once spilled */
	size_t cap, len;
	int fd;	   /* the table on disk, or -1 */
	char *dir; /* where the file goes; owned */
};

/* dir: where the table file goes once it spills (copied; NULL: $TMPDIR or /tmp). 0 or FB_ENOMEM. */
int fb_spillset_init(struct fb_spillset *s, const char *dir);
/* 1 when h is in the set, 0 when not, FB_EIO on a read error. */
int fb_spillset_has(struct fb_spillset *s, uint64_t h);
/* 1 if h was added, 0 if it was there already, FB_ENOMEM or FB_EIO (the set is unchanged). */
int fb_spillset_add(struct fb_spillset *s, uint64_t h);
/* Whether the table lives on disk now (for tests). */
int fb_spillset_spilled(const struct fb_spillset *s);
void fb_spillset_release(struct fb_spillset *s);

#endif
