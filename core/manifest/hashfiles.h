/*
 * hashfiles: sha256 of many files at once, in parallel across files
 * (OpenMP), streaming each through one 1 MiB buffer per thread so memory
 * does not depend on file sizes.
 */
#ifndef FB_HASHFILES_H
#define FB_HASHFILES_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct fb_hashfile {
	const char *path; /* borrowed; set by the caller */
	char sha256[65];  /* lowercase hex; "" when err != 0 */
	uint64_t bytes;	  /* bytes hashed */
	int err;	  /* errno, 0 when ok */
};

/*
 * Hashes every file; threads 0 = OpenMP's default. Returns 0 when all were
 * read, else FB_EIO (FB_ENOMEM when a thread could not get its buffer) with
 * err naming the first that failed; the others are still hashed.
 */
int fb_hash_files(struct fb_hashfile *files, size_t n, int threads, struct fb_err *err);

#endif
