/*
 * safeopen: opening the files and folders florabatch writes inside a folder
 * others may write to (the output folder, --outputs-dir) without following a
 * symbolic link planted there, so a shared folder cannot turn florabatch's
 * writes onto another file the user can write. The folder the user named is
 * theirs and is followed; only what lies inside it is checked.
 */
#ifndef FB_SAFEOPEN_H
#define FB_SAFEOPEN_H

#include "error.h"

#include <stdio.h>
#include <sys/types.h>

/*
 * open(2) of path with O_NOFOLLOW and O_CLOEXEC added: the fd, or -1 with
 * errno set (ELOOP when the last component is a symbolic link).
 */
int fb_safe_open(const char *path, int flags, mode_t mode);

/* fopen(3) of path ("r", "w" or "a") through fb_safe_open; NULL with errno set. */
FILE *fb_safe_fopen(const char *path, const char *mode);

/* truncate(2) of path without following a symbolic link: 0, or -1 with errno set. */
int fb_safe_truncate(const char *path, off_t len);

/* 0 when path is missing or not a symbolic link; -1 with errno ELOOP when it is one. */
int fb_safe_nolink(const char *path);

/*
 * strerror(e), except that ELOOP reads as what it means here: the path is a
 * symbolic link florabatch will not write through. Static.
 */
const char *fb_safe_strerror(int e);

/*
 * Makes every folder of rel (a relative path; its last component, the file,
 * excluded) beneath base, refusing any that is a symbolic link: with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the kernel has it, else
 * one openat(O_DIRECTORY | O_NOFOLLOW) per component. base itself is followed.
 * 0, or FB_EIO with a message naming the folder.
 */
int fb_safe_mkdirs(const char *base, const char *rel, struct fb_err *err);

/*
 * A file the user named on the command line (--results, --archive): a
 * symbolic link there is the user's own choice, so it is resolved once, and
 * what core opens afterwards is the file it names. A copy the caller frees,
 * or NULL when out of memory.
 */
char *fb_safe_user_path(const char *path);

#endif
