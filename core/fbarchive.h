/*
 * archive: the outputs archive, written with libarchive as a tar.
 * Owns entry naming: every name it writes is safe to extract (relative, no
 * "..", no control characters, bounded length, unique within the archive).
 * Three formats: gzip'd tar (the default; outputs that are compressed
 * already, such as PNG or MP4, are stored in it, the rest compressed at
 * level 1), zstd'd tar (faster, can use every core) and a plain tar.
 * The file is fbarchive.h because "archive.h" is libarchive's own header,
 * which this directory would otherwise hide from every file built with it.
 */
#ifndef FB_FBARCHIVE_H
#define FB_FBARCHIVE_H

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
 * The naming rules of fb_archive_add on their own, so names can be given
 * out while outputs arrive and the archive written later in one pass with
 * fb_archive_add_named. The set of names taken lives in memory while small
 * and in an unlinked temporary file in spill_dir (copied; NULL: $TMPDIR)
 * once large: a million names cost no memory. Caller frees with
 * fb_archive_names_free. 0 or FB_ENOMEM.
 */
struct fb_archive_names;
int fb_archive_names_new(struct fb_archive_names **out, const char *spill_dir);
void fb_archive_names_free(struct fb_archive_names *n);
/*
 * The entry name fb_archive_add would write for (dir, name) into *final_name
 * (reset first), taken from now on. 0, FB_ENOMEM or FB_EIO (the temporary
 * file failed).
 */
int fb_archive_names_reserve(struct fb_archive_names *n, const char *dir, const char *name,
			     struct fb_buf *final_name);
/* Marks path, a name reserved before (by an earlier invocation), as taken. 0, FB_ENOMEM, FB_EIO. */
int fb_archive_names_note(struct fb_archive_names *n, const char *path);

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

/*
 * Appends a safe form of one path component s to out: bytes below 0x20,
 * 0x7f, C1 controls (U+0080..U+009F), '/', '\\' and ':' become '_'; a
 * leading '.' becomes '_' (no hidden files) and so does a '.' right after
 * another (no ".." anywhere); empty becomes "_"; each byte of ill-formed
 * UTF-8 becomes '_'; at most max_bytes bytes (at least 1; cut on a UTF-8
 * boundary). 0 or FB_ENOMEM (out unchanged).
 */
int fb_archive_safe_name(struct fb_buf *out, const char *s, size_t max_bytes);

#define FB_ARCHIVE_EXT_MAX 8
/*
 * A file extension (without the dot) for an output: from content_type (its
 * parameters ignored), else the http(s) URL path's extension when it is 1-5
 * ASCII letters or digits (lowercased into ext_buf), else "txt" for
 * output_type "text", else "bin". Any argument may be NULL. Returns a static
 * string or ext_buf (caller-provided, FB_ARCHIVE_EXT_MAX bytes).
 */
const char *fb_archive_ext_for(const char *content_type, const char *url, const char *output_type,
			       char ext_buf[FB_ARCHIVE_EXT_MAX]);

#endif
