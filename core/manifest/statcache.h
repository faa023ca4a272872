/*
 * statcache: the sha256 of local files, remembered across invocations by
 * (path, size, mtime, inode), so an unchanged folder is scanned again
 * without reading its files. Kept in the output folder as one text file,
 * a line a file: "<path hash> <inode> <size> <mtime ns> <sha256>", the
 * path hash being 16 hex digits of a 64-bit hash of the file's resolved
 * path. Written whole to a temporary name and renamed. A file changed
 * less than FB_STATCACHE_RACY_NS before the cache was opened is never
 * remembered: a change within the file system's timestamp granularity
 * could leave size and mtime as they were (git's "racily clean" files).
 */
#ifndef FB_STATCACHE_H
#define FB_STATCACHE_H

#include "error.h"

#include <stdint.h>
#include <sys/stat.h>

#define FB_STATCACHE_RACY_NS (2LL * 1000000000LL)

struct fb_statcache;

/*
 * Reads the cache at path (absent: empty; lines that do not parse are
 * skipped: a damaged cache costs hashing again, never a wrong hash).
 * now_ns: the wall time now, against which racy files are told. Caller
 * frees with fb_statcache_free. 0, or FB_ENOMEM / FB_EIO with err.
 */
int fb_statcache_open(struct fb_statcache **out, const char *path, int64_t now_ns,
		      struct fb_err *err);

/*
 * The key of a file: a 64-bit hash of its path, resolved by the caller
 * (realpath, or a resolved folder joined with a path below it), so two
 * spellings of one file meet and one spelling of two files does not.
 */
uint64_t fb_statcache_key(const char *resolved);

/*
 * 1 and sha256 (65 bytes) filled when the file of key, as st describes it,
 * is the one remembered; 0 otherwise. A hit counts as seen (kept at save).
 * c may be NULL (no cache: 0).
 */
int fb_statcache_get(struct fb_statcache *c, uint64_t key, const struct stat *st, char *sha256);
/* Whether fb_statcache_get would hit, without counting or marking anything. */
int fb_statcache_has(const struct fb_statcache *c, uint64_t key, const struct stat *st);

/* Remembers the file's hash as of st (taken before it was read). 0 or FB_ENOMEM; c may be NULL. */
int fb_statcache_put(struct fb_statcache *c, uint64_t key, const struct stat *st,
		     const char *sha256);

/* Lookups that hit, and files remembered anew, since open. */
void fb_statcache_counts(const struct fb_statcache *c, uint64_t *hits, uint64_t *puts);

/*
 * Writes the cache back when anything changed: the files seen this
 * invocation and, unless prune, those it did not see (an interrupted scan
 * keeps what it did not reach). 0, or FB_EIO with err.
 */
int fb_statcache_save(struct fb_statcache *c, int prune, struct fb_err *err);

void fb_statcache_free(struct fb_statcache *c);

#endif
