/*
 * archive: the outputs archive, written with libarchive as a gzip'd tar.
 * Owns entry naming: every name it writes is safe to extract (relative, no
 * "..", no control characters, bounded length, unique within the archive).
 */
#ifndef FB_ARCHIVE_H
#define FB_ARCHIVE_H

#include "buf.h"
#include "error.h"

#include <stddef.h>
#include <stdint.h>

struct fb_archive;

/* Creates or truncates path (.tar.gz). Caller frees with fb_archive_close. */
int fb_archive_open(struct fb_archive **out, const char *path, struct fb_err *err);

/*
 * Adds one regular file entry "<dir>/<name>" holding data[0..len) with mode
 * 0644 and mtime mtime_s. dir may hold '/' (an item id that mirrors a
 * folder): it is split there, empty and "." components dropped, and every
 * component, like name, sanitised with fb_archive_safe_name;
 * a name already written gets "-2", "-3", ... before its extension. The
 * entry name actually written goes to *final_name (caller-owned buffer,
 * reset first). 0, or FB_EIO/FB_ENOMEM with err.
 */
int fb_archive_add(struct fb_archive *a, const char *dir, const char *name, const void *data,
		   size_t len, int64_t mtime_s, struct fb_buf *final_name, struct fb_err *err);

/* Finishes the archive (end-of-archive blocks), fsyncs and closes. Frees a in every case. */
int fb_archive_close(struct fb_archive *a, struct fb_err *err);

/*
 * Appends a safe form of one path component s to out: bytes below 0x20,
 * 0x7f, '/', '\\' and ':' become '_'; a leading '.' becomes '_' (so no
 * "..", no hidden files); empty becomes "_"; invalid UTF-8 bytes become
 * '_'; at most max_bytes bytes (cut on a UTF-8 boundary). 0 or FB_ENOMEM.
 */
int fb_archive_safe_name(struct fb_buf *out, const char *s, size_t max_bytes);

/* A file extension (without the dot) for an output: from content_type, else the URL's path, else "bin". Static string. */
const char *fb_archive_ext_for(const char *content_type, const char *url, const char *output_type);

#endif
