/* png: minimal PNG encoder over zlib (compress2 for IDAT, crc32 for chunks). */
#include "png.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* One chunk: length, type, data, and the CRC over type and data. */
static int add_chunk(struct fb_buf *b, const char type[4], const unsigned char *data, size_t len)
{
	unsigned char hdr[8], crc[4];
	put_be32(hdr, (uint32_t)len);
	memcpy(hdr + 4, type, 4);
	uLong c = crc32(0L, Z_NULL, 0);
	c = crc32(c, (const Bytef *)type, 4);
	if (len)
		c = crc32(c, data, (uInt)len);
	put_be32(crc, (uint32_t)c);
	if (fb_buf_add(b, hdr, sizeof(hdr)) || fb_buf_add(b, data, len) ||
	    fb_buf_add(b, crc, sizeof(crc)))
		return FB_ENOMEM;
	return 0;
}

int fb_png_encode(unsigned w, unsigned h, const uint8_t *rgb, struct fb_buf *out)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	if (!rgb || !w || !h || w > FB_PNG_MAX_DIM || h > FB_PNG_MAX_DIM)
		return FB_EINVAL;

	/* Each scanline is a filter-type byte (0: none) and the row's pixels. */
	size_t stride = (size_t)w * 3;
	size_t rawlen = (stride + 1) * h;
	unsigned char *raw = malloc(rawlen);
	uLongf zlen = compressBound((uLong)rawlen);
	unsigned char *z = malloc(zlen);
	if (!raw || !z) {
		free(raw);
		free(z);
		return FB_ENOMEM;
	}
	for (unsigned y = 0; y < h; y++) {
		raw[y * (stride + 1)] = 0;
		memcpy(raw + y * (stride + 1) + 1, rgb + y * stride, stride);
	}
	int zrc = compress2(z, &zlen, raw, (uLong)rawlen, Z_BEST_COMPRESSION);
	free(raw);
	if (zrc != Z_OK) {
		free(z);
		return FB_ENOMEM;
	}

	unsigned char ihdr[13];
	put_be32(ihdr, w);
	put_be32(ihdr + 4, h);
	ihdr[8] = 8;  /* bit depth */
	ihdr[9] = 2;  /* colour type: truecolour */
	ihdr[10] = 0; /* compression: deflate */
	ihdr[11] = 0; /* filter method 0 */
	ihdr[12] = 0; /* no interlace */

	size_t before = out->len;
	int rc = 0;
	if (fb_buf_add(out, sig, sizeof(sig)) || add_chunk(out, "IHDR", ihdr, sizeof(ihdr)) ||
	    add_chunk(out, "IDAT", z, zlen) || add_chunk(out, "IEND", NULL, 0))
		rc = FB_ENOMEM;
	free(z);
	if (rc && out->ptr) {
		out->len = before;
		out->ptr[before] = '\0';
	}
	return rc;
}

/* splitmix64's finaliser: a cheap, well-mixed hash of a 64-bit value. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

int fb_png_from_seed(uint64_t seed, unsigned w, unsigned h, struct fb_buf *out)
{
	if (!w || !h || w > FB_PNG_MAX_DIM || h > FB_PNG_MAX_DIM)
		return FB_EINVAL;
	uint64_t a = mix64(seed), b = mix64(a);
	uint8_t c0[3] = {(uint8_t)a, (uint8_t)(a >> 8), (uint8_t)(a >> 16)};
	uint8_t c1[3] = {(uint8_t)b, (uint8_t)(b >> 8), (uint8_t)(b >> 16)};
	unsigned stripe = (unsigned)((a >> 32) % h);
	uint8_t *rgb = malloc((size_t)w * h * 3);
	if (!rgb)
		return FB_ENOMEM;
	/* A diagonal blend from c0 to c1, with one inverted row so that images
	 * from different seeds differ in shape as well as in colour. */
	unsigned span = w + h - 2 ? w + h - 2 : 1;
	for (unsigned y = 0; y < h; y++) {
		for (unsigned x = 0; x < w; x++) {
			uint8_t *p = rgb + ((size_t)y * w + x) * 3;
			unsigned t = x + y;
			for (int k = 0; k < 3; k++) {
				unsigned v = (c0[k] * (span - t) + c1[k] * t) / span;
				p[k] = (uint8_t)(y == stripe ? 255 - v : v);
			}
		}
	}
	int rc = fb_png_encode(w, h, rgb, out);
	free(rgb);
	return rc;
}
