/*
 * dirwalk: the image files under a folder, in a stable order. Owns what
 * counts as an image (its first bytes, never its extension), which names are
 * skipped (hidden, glob), and which symlinks are followed (only those that
 * stay inside the folder, without loops).
 */
#ifndef FB_DIRWALK_H
#define FB_DIRWALK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "error.h"

struct fb_dirwalk_config {
	const char *root;   /* the folder */
	const char *glob;   /* NULL: every image; else fnmatch(3) on the file name, case-folded */
	int include_hidden; /* 0: names starting with '.' (files and folders) are skipped */
	/*
	 * NULL, or whether a file (rel: as the callback gets it; st: its stat)
	 * is known to be an image already, so its first bytes need not be read:
	 * 1 yes, 0 look. Called with known_ud.
	 */
	int (*known)(void *known_ud, const char *rel, const struct stat *st);
	void *known_ud;
};

struct fb_dirwalk_stats {
	uint64_t images;	  /* files passed to the callback */
	uint64_t hidden;	  /* hidden files and folders skipped (not descended) */
	uint64_t not_image;	  /* files whose first bytes are no known image, and specials */
	uint64_t not_matching;	  /* files the glob rejected */
	uint64_t symlink_outside; /* symlinks whose target is outside root (or dangling) */
	uint64_t unreadable;	  /* entries that could not be stat'ed, opened or listed */
	uint64_t loops;		  /* folders skipped because they are one of their own ancestors */
};

/*
 * One callback per image file, in a stable order (names sorted bytewise at
 * every level; depth-first). rel: the path relative to root with '/'
 * separators (the item's id); full: a path to open; st: the file's stat
 * (the target's, for a symlink). All borrowed for the call. A non-zero
 * return from cb stops the walk and is returned.
 */
typedef int (*fb_dirwalk_cb)(void *ud, const char *rel, const char *full, const struct stat *st);

/*
 * Walks cfg->root. stats (may be NULL) is zeroed first. Returns 0, cb's
 * non-zero value, FB_EINVAL/FB_EIO when root is missing or not a folder, or
 * FB_ENOMEM. Memory: the listings of the folders on the current path.
 */
int fb_dirwalk(const struct fb_dirwalk_config *cfg, fb_dirwalk_cb cb, void *ud,
	       struct fb_dirwalk_stats *stats, struct fb_err *err);

/* Whether the first len bytes of a file are those of a known image format. */
int fb_dirwalk_is_image(const unsigned char *head, size_t len);

#endif
