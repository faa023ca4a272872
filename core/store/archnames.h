/*
 * archnames: the naming rules of the archive (fbarchive.h, which includes
 * this header) and of --outputs-dir, on their own: every component made
 * safe, every name unique across the batch, an output's extension. They
 * know nothing of the archive they name.
 */
#ifndef FB_ARCHNAMES_H
#define FB_ARCHNAMES_H

#include "buf.h"

#include <stddef.h>

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
