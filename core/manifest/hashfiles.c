/* hashfiles: parallel streaming sha256 over many files. */
#include "hashfiles.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_BUF (1u << 20)

static void hash_one(struct fb_hashfile *f, struct fb_sha256 *h, unsigned char *buf)
{
	f->sha256[0] = '\0';
	f->bytes = 0;
	f->err = 0;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		f->err = errno;
		return;
	}
	/* A hint only: the kernel may read further ahead; failure changes nothing. */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (fb_sha256_reset(h) != 0) {
		f->err = ENOMEM;
		close(fd);
		return;
	}
	for (;;) {
		ssize_t r = read(fd, buf, HASH_BUF);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			f->err = errno;
			break;
		}
		if (r == 0)
			break;
		if (fb_sha256_update(h, buf, (size_t)r) != 0) {
			f->err = ENOMEM;
			break;
		}
		f->bytes += (uint64_t)r;
	}
	close(fd);
	if (f->err)
		return;
	if (fb_sha256_final_hex(h, f->sha256) != 0) {
		f->sha256[0] = '\0';
		f->err = ENOMEM;
	}
}

int fb_hash_files(struct fb_hashfile *files, size_t n, int threads, struct fb_err *err)
{
	if (n == 0)
		return 0;
	if (!files || threads < 0)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "no files to hash");
	int nt = threads > 0 ? threads : omp_get_max_threads();
	int nomem = 0;

#pragma omp parallel num_threads(nt) reduction(| : nomem)
	{
		/* Per thread: the context and buffer are reused for every file it takes. */
		struct fb_sha256 *h = fb_sha256_new();
		unsigned char *buf = malloc(HASH_BUF);
#pragma omp for schedule(dynamic)
		for (size_t i = 0; i < n; i++) {
			if (!h || !buf) {
				files[i].sha256[0] = '\0';
				files[i].bytes = 0;
				files[i].err = ENOMEM;
				nomem = 1;
				continue;
			}
			hash_one(&files[i], h, buf);
		}
		free(buf);
		fb_sha256_free(h);
	}

	size_t failed = 0, first = 0;
	for (size_t i = 0; i < n; i++) {
		if (files[i].err && failed++ == 0)
			first = i;
	}
	if (!failed)
		return 0;
	if (nomem)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH,
				  "out of memory hashing files (%zu not hashed)", failed);
	return fb_err_set(err, FB_EIO, FB_KIND_ITEM, "cannot read %s: %s (%zu of %zu files failed)",
			  files[first].path, strerror(files[first].err), failed, n);
}
