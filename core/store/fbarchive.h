/*
 * archive: the outputs archive, written with libarchive as a tar.
 * Owns entry naming: every name it writes is safe to extract (relative, no
 * "..", no control characters, bounded length, unique within the archive).
 * Three formats: gzip'd tar (the default; outputs that are compressed
 * already, such as PNG or MP4, are stored in it, the rest compressed at
 * level 1), zstd'd tar (faster, can use every core) and a plain tar.
 * The naming rules are archnames.h's (included here).
 * The file is fbarchive.h because "archive.h" is libarchive's own header,
 * which this directory would otherwise hide from every file built with it.
 */
#ifndef FB_FBARCHIVE_H
#define FB_FBARCHIVE_H

#include "archnames.h"
#include "buf.h"
#include "error.h"

#include <stddef.h>
#include <stdint.h>

struct fb_archive;

enum fb_archive_format { FB_ARCHIVE_TGZ = 0, FB_ARCHIVE_TZST, FB_ARCHIVE_TAR };

/*
 * "tar.gz"/"tgz", "tar.zst"/"tzst" or "tar" (ASCII case ignored, an
 * optional leading '.') into *out: 0, or FB_EINVAL (*out unchanged).
 */
int fb_archive_format_parse(const char *s, enum fb_archive_format *out);
/* ".tar.gz", ".tar.zst" or ".tar" (static). */
const char *fb_archive_format_ext(enum fb_archive_format f);

/*
 * Creates or truncates path as an archive of format f. threads: zstd
 * compression workers (0: one per online CPU; ignored by the other
 * formats). Caller frees with fb_archive_close.
 */
int fb_archive_open_format(struct fb_archive **out, const char *path, enum fb_archive_format f,
			   int threads, struct fb_err *err);
/* fb_archive_open_format(out, path, FB_ARCHIVE_TGZ, 0, err). */
int fb_archive_open(struct fb_archive **out, const char *path, struct fb_err *err);

/*
 * Adds one regular file entry "<dir>/<name>" holding data[0..len) with mode
 * 0644 and mtime mtime_s. dir may hold '/' (an item id that mirrors a
 * folder): it is split there, empty and "." components dropped, and every
 * component, like name, sanitised with fb_archive_safe_name; dir may be
 * NULL or "". Components are at most 100 bytes (a long name is cut before
 * its extension), the dir part at most 150 (deeper components are dropped),
 * so the whole stays under 255. A name already written (compared ignoring
 * ASCII case, so extraction on a case-insensitive disk loses nothing) gets
 * "-2", "-3", ... before its extension; so does a name that clashes with a
 * directory, and a directory that clashes with a file. The entry name
 * actually written goes to *final_name (caller-owned buffer, reset first).
 * On a system with no UTF-8 locale at all, non-ASCII characters become '_'
 * as well (libarchive cannot store them there). 0, or FB_EIO/FB_ENOMEM
 * with err; after FB_EIO the archive only closes.
 */
int fb_archive_add(struct fb_archive *a, const char *dir, const char *name, const void *data,
		   size_t len, int64_t mtime_s, struct fb_buf *final_name, struct fb_err *err);

/*
 * One entry in pieces, for an output too large to hold: its header (len
 * bytes to come; head, its first bytes, says whether they are compressed
 * already), then fb_archive_entry_data until len bytes were given.
 */
int fb_archive_entry_begin(struct fb_archive *a, const char *name, uint64_t len, const void *head,
			   size_t headlen, int64_t mtime_s, struct fb_err *err);
int fb_archive_entry_data(struct fb_archive *a, const char *name, const void *data, size_t len,
			  struct fb_err *err);
/*
 * Adds one regular file entry named exactly name (a name from
 * fb_archive_names_reserve: safe and unique already), like fb_archive_add.
 */
int fb_archive_add_named(struct fb_archive *a, const char *name, const void *data, size_t len,
			 int64_t mtime_s, struct fb_err *err);

/*
 * The gzip level of tar.gz: 1, since outputs are mostly compressed media,
 * which go in stored blocks anyway (see fbarchive.c and gzsink.h).
 */
#define FB_ARCHIVE_GZIP_LEVEL	"1"
#define FB_ARCHIVE_GZIP_LEVEL_N 1

/*
 * Finishes the archive (end-of-archive blocks), fsyncs a regular file and
 * closes. 0 or FB_EIO with err. Frees a in every case (NULL is fine).
 */
int fb_archive_close(struct fb_archive *a, struct fb_err *err);

#endif
