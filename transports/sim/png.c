/* png: minimal PNG encoder over zlib (compress2 for IDAT, crc32 for chunks), and stamps. */
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

/* ---- stamps ---- */

static void put_ihdr(unsigned char ihdr[13], unsigned w, unsigned h)
{
	put_be32(ihdr, w);
	put_be32(ihdr + 4, h);
	ihdr[8] = 8;
	ihdr[9] = 2;
	ihdr[10] = ihdr[11] = ihdr[12] = 0;
}

int fb_png_stamp_init(struct fb_png_stamp *s, unsigned w, unsigned h)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	static const uint8_t c0[3] = {0x2a, 0x6f, 0xb8}, c1[3] = {0xf2, 0xc1, 0x4e};
	if (!w || !h || w > FB_PNG_MAX_DIM || h > FB_PNG_MAX_DIM || (size_t)w * 3 < 16)
		return FB_EINVAL;
	*s = (struct fb_png_stamp)FB_PNG_STAMP_INIT;
	s->w = w;
	s->h = h;
	size_t stride = (size_t)w * 3 + 1, rawlen = stride * (h - 1);
	unsigned span = w + h - 2;
	unsigned char *raw = malloc(rawlen ? rawlen : 1);
	if (!raw)
		return FB_ENOMEM;
	for (unsigned y = 0; y + 1 < h; y++) {
		unsigned char *row = raw + y * stride;
		row[0] = 0;
		for (unsigned x = 0; x < w; x++)
			for (int k = 0; k < 3; k++)
				row[1 + x * 3 + k] =
				    (unsigned char)((c0[k] * (span - x - y) + c1[k] * (x + y)) /
						    span);
	}
	unsigned char ihdr[13];
	put_ihdr(ihdr, w, h);
	int rc = FB_ENOMEM;
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit(&z, Z_BEST_COMPRESSION) != Z_OK)
		goto out;
	size_t bound = deflateBound(&z, (uLong)rawlen) + 16;
	if (fb_buf_add(&s->head, sig, sizeof(sig)) || add_chunk(&s->head, "IHDR", ihdr, 13) ||
	    fb_buf_grow(&s->zbody, bound))
		goto end;
	z.next_in = raw;
	z.avail_in = (uInt)rawlen;
	z.next_out = (Bytef *)s->zbody.ptr;
	z.avail_out = (uInt)bound;
	/* The sync flush ends on a byte boundary, where the seeded block can start. */
	if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in)
		goto end;
	s->zbody.len = bound - z.avail_out;
	s->zbody.ptr[s->zbody.len] = '\0';
	s->adler = (uint32_t)adler32(adler32(0L, Z_NULL, 0), raw, (uInt)rawlen);
	s->crc = (uint32_t)crc32(crc32(crc32(0L, Z_NULL, 0), (const Bytef *)"IDAT", 4),
				 (const Bytef *)s->zbody.ptr, (uInt)s->zbody.len);
	rc = 0;
end:
	deflateEnd(&z);
out:
	free(raw);
	if (rc)
		fb_png_stamp_release(s);
	return rc;
}

void fb_png_stamp_release(struct fb_png_stamp *s)
{
	fb_buf_release(&s->head);
	fb_buf_release(&s->zbody);
}

/* An LSB-first bit writer into a fixed array (the caller sizes it). */
struct bits {
	unsigned char *p;
	size_t n;
	uint32_t acc;
	int nacc;
};

static void put_bits(struct bits *b, uint32_t v, int n)
{
	b->acc |= v << b->nacc;
	b->nacc += n;
	while (b->nacc >= 8) {
		b->p[b->n++] = (unsigned char)b->acc;
		b->acc >>= 8;
		b->nacc -= 8;
	}
}

/* Huffman codes go out most significant bit first. */
static void put_code(struct bits *b, uint32_t code, int n)
{
	uint32_t r = 0;
	for (int i = 0; i < n; i++)
		r |= ((code >> i) & 1u) << (n - 1 - i);
	put_bits(b, r, n);
}

/* A symbol of the fixed literal/length code (RFC 1951 3.2.6). */
static void put_fixed(struct bits *b, unsigned sym)
{
	if (sym < 144)
		put_code(b, 0x30 + sym, 8);
	else if (sym < 256)
		put_code(b, 0x190 + sym - 144, 9);
	else if (sym < 280)
		put_code(b, sym - 256, 7);
	else
		put_code(b, 0xc0 + sym - 280, 8);
}

/* A match of len (3..258) at distance dist (1..32768), fixed codes. */
static void put_match(struct bits *b, unsigned len, unsigned dist)
{
	static const uint16_t lbase[29] = {3,  4,  5,  6,   7,	 8,   9,   10,	11, 13,
					   15, 17, 19, 23,  27,	 31,  35,  43,	51, 59,
					   67, 83, 99, 115, 131, 163, 195, 227, 258};
	static const uint8_t lextra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
					   2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
	static const uint16_t dbase[30] = {
	    1,	 2,   3,   4,	5,   7,	   9,	 13,   17,   25,   33,	 49,   65,    97,    129,
	    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
	int l = 28, d = 29;
	while (lbase[l] > len)
		l--;
	while (dbase[d] > dist)
		d--;
	put_fixed(b, 257 + (unsigned)l);
	put_bits(b, len - lbase[l], lextra[l]);
	put_code(b, (uint32_t)d, 5);
	put_bits(b, dist - dbase[d], d < 4 ? 0 : (d - 2) / 2);
}

#define SEEDED_BYTES 16

int fb_png_stamp(const struct fb_png_stamp *s, uint64_t seed, struct fb_buf *out)
{
	/* The last row: filter 0, then SEEDED_BYTES bytes repeated to the row's end. */
	size_t stride = (size_t)s->w * 3;
	unsigned char row[1 + SEEDED_BYTES];
	row[0] = 0;
	for (int i = 0; i < SEEDED_BYTES; i += 8) {
		uint64_t v = mix64(seed + (uint64_t)i);
		for (int k = 0; k < 8; k++)
			row[1 + i + k] = (unsigned char)(v >> (8 * k));
	}
	/* Literals cost at most 9 bits, each match at most 31; stride / 258 + 1 matches. */
	size_t cap = 3 + (1 + SEEDED_BYTES) * 9 / 8 + (stride / 258 + 2) * 4 + 8;
	unsigned char stackbuf[256], *z = cap <= sizeof(stackbuf) ? stackbuf : malloc(cap);
	if (!z)
		return FB_ENOMEM;
	struct bits b = {z, 0, 0, 0};
	put_bits(&b, 1, 1); /* BFINAL */
	put_bits(&b, 1, 2); /* BTYPE 01: fixed codes */
	for (size_t i = 0; i <= SEEDED_BYTES; i++)
		put_fixed(&b, row[i]);
	for (size_t left = stride - SEEDED_BYTES; left;) {
		size_t n = left > 258 ? 258 : left;
		if (left > 258 && left - n < 3)
			n = left - 3;
		if (n < 3) { /* too short for a match: the bytes themselves */
			for (size_t i = 0; i < n; i++)
				put_fixed(&b, row[1 + (stride - left + i) % SEEDED_BYTES]);
		} else {
			put_match(&b, (unsigned)n, SEEDED_BYTES);
		}
		left -= n;
	}
	put_fixed(&b, 256); /* end of block */
	if (b.nacc)
		put_bits(&b, 0, 8 - b.nacc);

	/* The Adler-32 of the whole image data carries on over the last row. */
	uLong ad = adler32(s->adler, row, 1 + SEEDED_BYTES);
	for (size_t done = SEEDED_BYTES; done < stride; done += SEEDED_BYTES)
		ad = adler32(ad, row + 1,
			     (uInt)(stride - done < SEEDED_BYTES ? stride - done : SEEDED_BYTES));
	put_be32(z + b.n, (uint32_t)ad);
	b.n += 4;

	size_t idat_len = s->zbody.len + b.n;
	unsigned char lenb[4], crcb[4];
	static const unsigned char iend[12] = {0,   0,	 0,    0,    'I',  'E',
					       'N', 'D', 0xae, 0x42, 0x60, 0x82};
	put_be32(lenb, (uint32_t)idat_len);
	put_be32(crcb, (uint32_t)crc32(s->crc, z, (uInt)b.n));
	size_t before = out->len;
	int rc = 0;
	if (fb_buf_grow(out, s->head.len + idat_len + 24) ||
	    fb_buf_add(out, s->head.ptr, s->head.len) || fb_buf_add(out, lenb, 4) ||
	    fb_buf_add(out, "IDAT", 4) || fb_buf_add(out, s->zbody.ptr, s->zbody.len) ||
	    fb_buf_add(out, z, b.n) || fb_buf_add(out, crcb, 4) ||
	    fb_buf_add(out, iend, sizeof(iend)))
		rc = FB_ENOMEM;
	if (z != stackbuf)
		free(z);
	if (rc && out->ptr) {
		out->len = before;
		out->ptr[before] = '\0';
	}
	return rc;
}
