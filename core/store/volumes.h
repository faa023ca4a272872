/*
 * volumes: the archive as a row of volumes that are never rewritten:
 * outputs.tar.gz, then outputs.0002.tar.gz, outputs.0003.tar.gz, ... (the
 * number goes before the archive's extension). Each volume holds the
 * outputs of a run of consecutive completed lines of the record, by their
 * ordinal; volumes.jsonl in the output folder says, a line each, which
 * volume is finished and how far its lines go. A volume is written under
 * a temporary name, made durable and renamed before its line is added, so
 * a crash at any instant leaves finished volumes whole and the next
 * volume to be built again from the spool, under the same name.
 */
#ifndef FB_VOLUMES_H
#define FB_VOLUMES_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

struct fb_volumes;

/*
 * Reads the index at index_path (absent: no volume yet; a torn last line
 * is ignored) for the archive at archive_path (volume 1's path). fresh
 * forgets the index. Paths copied. Caller frees with fb_volumes_free.
 * 0, or FB_EIO / FB_ENOMEM with err.
 */
int fb_volumes_open(struct fb_volumes **out, const char *archive_path, const char *index_path,
		    int fresh, struct fb_err *err);

/* Lines of the record in finished volumes: the ordinal the next volume starts at. */
uint64_t fb_volumes_lines(const struct fb_volumes *v);
/* Finished volumes. */
unsigned fb_volumes_count(const struct fb_volumes *v);

/* The path of the next volume; borrowed until the next fb_volumes_finish. */
const char *fb_volumes_next_path(const struct fb_volumes *v);
/* Its file name alone (what result lines call it); borrowed likewise. */
const char *fb_volumes_next_name(const struct fb_volumes *v);

/*
 * The path of volume number n (1-based) of the archive at archive_path,
 * into out (len bytes). 0, or FB_ETOOBIG when it does not fit.
 */
int fb_volumes_path(const char *archive_path, unsigned n, char *out, size_t len);

/*
 * The next volume, renamed into place already, holds the lines up to
 * lines_to (exclusive), with outputs entries of bytes in all: its line
 * goes to the index, durably. 0, or FB_EIO / FB_ENOMEM with err.
 */
int fb_volumes_finish(struct fb_volumes *v, uint64_t lines_to, uint64_t outputs, uint64_t bytes,
		      int64_t at_s, struct fb_err *err);

void fb_volumes_free(struct fb_volumes *v);

#endif
