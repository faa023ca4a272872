/* gzsink: a zlib gzip stream with a level per range, written to a file descriptor. */
#include "gzsink.h"
#include "error.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define OUT_SIZE (128 * 1024)

struct fb_gzsink {
	z_stream zs;
	int fd;
	int level;
	unsigned char out[OUT_SIZE];
};

int fb_gzsink_open(struct fb_gzsink **out, int fd, int level)
{
	struct fb_gzsink *z = calloc(1, sizeof(*z));
	*out = NULL;
	if (!z)
		return FB_ENOMEM;
	/* 15 + 16: a gzip header and trailer; memLevel 8 as gzip(1) has it. */
	if (deflateInit2(&z->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z);
		return FB_ENOMEM;
	}
	z->fd = fd;
	z->level = level;
	*out = z;
	return 0;
}

static int drain(struct fb_gzsink *z)
{
	size_t n = OUT_SIZE - z->zs.avail_out, done = 0;
	while (done < n) {
		ssize_t w = write(z->fd, z->out + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return FB_EIO;
		}
		done += (size_t)w;
	}
	z->zs.next_out = z->out;
	z->zs.avail_out = OUT_SIZE;
	return 0;
}

/* Runs deflate with flush until it has taken all input (and, for Z_FINISH, ended). */
static int run(struct fb_gzsink *z, int flush)
{
	for (;;) {
		if (!z->zs.next_out) {
			z->zs.next_out = z->out;
			z->zs.avail_out = OUT_SIZE;
		}
		int r = deflate(&z->zs, flush);
		if (r == Z_STREAM_ERROR)
			return FB_EIO;
		if (z->zs.avail_out == 0 || (flush == Z_FINISH && r == Z_STREAM_END)) {
			if (drain(z))
				return FB_EIO;
		}
		if (flush == Z_FINISH ? r == Z_STREAM_END
				      : z->zs.avail_in == 0 && z->zs.avail_out > 0)
			return 0;
	}
}

int fb_gzsink_level(struct fb_gzsink *z, int level)
{
	if (level == z->level)
		return 0;
	/* deflateParams ends the current block; it may need room to do so. */
	for (;;) {
		if (!z->zs.next_out) {
			z->zs.next_out = z->out;
			z->zs.avail_out = OUT_SIZE;
		}
		int r = deflateParams(&z->zs, level < 0 ? -level : level,
				      level < 0 ? Z_FIXED : Z_DEFAULT_STRATEGY);
		if (r == Z_OK)
			break;
		if (r != Z_BUF_ERROR || drain(z))
			return FB_EIO;
	}
	z->level = level;
	return 0;
}

int fb_gzsink_write(struct fb_gzsink *z, const void *p, size_t n)
{
	while (n) {
		uInt chunk = n > (1u << 30) ? 1u << 30 : (uInt)n;
		z->zs.next_in = (Bytef *)(uintptr_t)p;
		z->zs.avail_in = chunk;
		if (run(z, Z_NO_FLUSH))
			return FB_EIO;
		p = (const char *)p + chunk;
		n -= chunk;
	}
	return 0;
}

int fb_gzsink_finish(struct fb_gzsink *z)
{
	z->zs.next_in = NULL;
	z->zs.avail_in = 0;
	return run(z, Z_FINISH);
}

void fb_gzsink_free(struct fb_gzsink *z)
{
	if (!z)
		return;
	deflateEnd(&z->zs);
	free(z);
}

int fb_gz_precompressed(const void *data, size_t len)
{
	static const struct {
		size_t at, len;
		const char *magic;
	} sigs[] = {
	    {0, 8, "\x89PNG\r\n\x1a\n"}, /* PNG */
	    {0, 3, "\xff\xd8\xff"},	 /* JPEG */
	    {0, 4, "GIF8"},		 /* GIF */
	    {8, 4, "WEBP"},		 /* WebP (after "RIFF" and a size) */
	    {4, 4, "ftyp"},		 /* MP4, MOV, M4A, HEIC, AVIF */
	    {0, 4, "\x1a\x45\xdf\xa3"},	 /* Matroska, WebM */
	    {0, 4, "OggS"},		 /* Ogg */
	    {0, 3, "ID3"},		 /* MP3 with tags */
	    {0, 2, "\xff\xfb"},		 /* MP3 frame */
	    {0, 4, "fLaC"},		 /* FLAC */
	    {0, 2, "\x1f\x8b"},		 /* gzip */
	    {0, 4, "\x28\xb5\x2f\xfd"},	 /* zstd */
	    {0, 4, "PK\x03\x04"},	 /* zip, docx, ... */
	};
	const unsigned char *d = data;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (len >= sigs[i].at + sigs[i].len &&
		    !memcmp(d + sigs[i].at, sigs[i].magic, sigs[i].len))
			return 1;
	return 0;
}
