/*
 * spillset: a set of 64-bit hashes (never 0) whose memory stays bounded
 * however many it holds. While small it is an open-addressing table in
 * memory; past FB_SPILLSET_MEM_SLOTS/2 entries the table is written out,
 * sorted, as a run in an unlinked temporary file, and emptied; runs of
 * similar size are merged (sequential reads and writes), so there are
 * about log2(n / 16k) of them. A fixed Bloom filter (2 MiB) answers most
 * lookups of absent hashes without the disk; a present or falsely
 * positive one costs one 4 KiB pread per run. Exact: never a false
 * "absent". For the names of a million-output archive.
 */
#ifndef FB_SPILLSET_H
#define FB_SPILLSET_H

#include <stddef.h>
#include <stdint.h>

#define FB_SPILLSET_MEM_SLOTS ((size_t)1 << 15) /* 256 KiB of table at most in memory */
#define FB_SPILLSET_MAX_RUNS  64

struct fb_spillset_run {
	int fd; /* unlinked file of n sorted hashes */
	size_t n;
	uint64_t *sparse; /* every 512th hash: which 4 KiB block to read */
};

struct fb_spillset {
	uint64_t *mem; /* open addressing, 0 = empty */
	size_t cap, mlen;
	size_t len;	/* entries in all */
	uint8_t *bloom; /* NULL until the first spill */
	struct fb_spillset_run runs[FB_SPILLSET_MAX_RUNS];
	int nruns;
	char *dir; /* where the files go; owned */
};

/* dir: where run files go (copied; NULL: $TMPDIR or /tmp). 0 or FB_ENOMEM. */
int fb_spillset_init(struct fb_spillset *s, const char *dir);
/* 1 when h is in the set, 0 when not, FB_EIO on a read error. */
int fb_spillset_has(struct fb_spillset *s, uint64_t h);
/* 1 if h was added, 0 if it was there already, FB_ENOMEM or FB_EIO (h not added). */
int fb_spillset_add(struct fb_spillset *s, uint64_t h);
/* Whether part of the set lives on disk now (for tests). */
int fb_spillset_spilled(const struct fb_spillset *s);
void fb_spillset_release(struct fb_spillset *s);

#endif
