/*
 * mergevol: one finished volume of a folder into the merged folder, proven
 * against the result lines that name its outputs. When every output in it
 * is wanted and its format is the merged folder's, the volume is copied
 * byte for byte (gzip, zstd and tar alike: nothing is decompressed to be
 * compressed again), and the copy is then read through once, each entry
 * checked against its line's size and sha256. Otherwise the entries wanted
 * are written into a new volume in the merged folder's format (checked the
 * same way as they pass) and the others are left out. Either way a volume
 * that holds an entry no line names, an entry twice, or bytes that are not
 * what their line says, is an error, and the file written is the caller's
 * to remove.
 *
 * Memory: the expected entries of one volume, about 100 bytes each.
 */
#ifndef FB_MERGEVOL_H
#define FB_MERGEVOL_H

#include "error.h"
#include "fbarchive.h"

#include <stdint.h>

/* The entries one volume should hold, by name. */
struct fb_mvexpect;

/* 0 or FB_ENOMEM. Caller frees with fb_mvexpect_free. */
int fb_mvexpect_new(struct fb_mvexpect **out);
void fb_mvexpect_free(struct fb_mvexpect *t);
/* Forgets every entry (the memory is kept for the next volume). */
void fb_mvexpect_reset(struct fb_mvexpect *t);
/*
 * An entry named path of bytes bytes, sha256 sha (64 hex digits, or NULL:
 * not known, only the size is checked), named by line `line` of the
 * record; wanted: it goes into the merged folder. 0, FB_ENOMEM, or
 * FB_EINVAL when path was added already.
 */
int fb_mvexpect_add(struct fb_mvexpect *t, const char *path, uint64_t bytes, const char *sha,
		    int wanted, uint32_t line);
/* Entries added; of them wanted. */
uint64_t fb_mvexpect_count(const struct fb_mvexpect *t);
uint64_t fb_mvexpect_wanted(const struct fb_mvexpect *t);

struct fb_mvstats {
	uint64_t entries, bytes; /* written into the merged folder */
};

/*
 * The volume src (named label in messages; its lines are in record) copied
 * whole to dst, then dst checked against t. 0, or FB_EIO (reading or
 * writing failed) / FB_EPARSE (the volume is not what its lines say) /
 * FB_ENOMEM with err.
 */
int fb_mergevol_copy(const char *src, const char *dst, const char *record, struct fb_mvexpect *t,
		     struct fb_mvstats *st, struct fb_err *err);

/* The wanted entries of src into a new archive dst of format f; errors as above. */
int fb_mergevol_filter(const char *src, const char *dst, const char *record,
		       enum fb_archive_format f, struct fb_mvexpect *t, struct fb_mvstats *st,
		       struct fb_err *err);

#endif
