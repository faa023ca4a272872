/* Tests for png: the bytes must be a PNG any decoder accepts, pixel for pixel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "error.h"
#include "png.h"

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Walks the chunks of png, checking every CRC, and decodes the image back to
 * rgb (caller frees). Fails the test on any structural error.
 */
static uint8_t *decode(const unsigned char *png, size_t len, unsigned *w, unsigned *h)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	assert_true(len > 8);
	assert_memory_equal(png, sig, 8);
	size_t off = 8;
	int seen_ihdr = 0, seen_iend = 0, nchunk = 0;
	unsigned char *idat = NULL;
	size_t idat_len = 0;
	while (off < len) {
		assert_true(off + 12 <= len);
		uint32_t clen = be32(png + off);
		assert_true(off + 12 + clen <= len);
		const unsigned char *type = png + off + 4, *data = png + off + 8;
		uLong crc = crc32(crc32(0L, Z_NULL, 0), type, 4 + clen);
		assert_int_equal(be32(data + clen), (uint32_t)crc);
		if (nchunk == 0) {
			assert_memory_equal(type, "IHDR", 4);
			assert_int_equal(clen, 13);
			*w = be32(data);
			*h = be32(data + 4);
			assert_int_equal(data[8], 8);  /* bit depth */
			assert_int_equal(data[9], 2);  /* truecolour */
			assert_int_equal(data[10], 0); /* deflate */
			assert_int_equal(data[11], 0); /* filter method */
			assert_int_equal(data[12], 0); /* no interlace */
			seen_ihdr = 1;
		} else if (!memcmp(type, "IDAT", 4)) {
			idat = realloc(idat, idat_len + clen);
			assert_non_null(idat);
			memcpy(idat + idat_len, data, clen);
			idat_len += clen;
		} else if (!memcmp(type, "IEND", 4)) {
			assert_int_equal(clen, 0);
			seen_iend = 1;
			off += 12;
			break;
		}
		nchunk++;
		off += 12 + clen;
	}
	assert_true(seen_ihdr && seen_iend);
	assert_int_equal(off, len); /* nothing after IEND */

	size_t stride = (size_t)*w * 3;
	uLongf rawlen = (uLongf)((stride + 1) * *h);
	unsigned char *raw = malloc(rawlen + 1);
	uLongf got = rawlen + 1; /* one spare byte: inflating to more than expected is a bug */
	assert_int_equal(uncompress(raw, &got, idat, idat_len), Z_OK);
	assert_int_equal(got, rawlen);
	uint8_t *rgb = malloc(stride * *h);
	for (unsigned y = 0; y < *h; y++) {
		assert_int_equal(raw[y * (stride + 1)], 0); /* filter type none */
		memcpy(rgb + y * stride, raw + y * (stride + 1) + 1, stride);
	}
	free(raw);
	free(idat);
	return rgb;
}

static void test_roundtrip_exact_rows(void **state)
{
	(void)state;
	const unsigned w = 7, h = 5; /* odd sizes catch stride mistakes */
	uint8_t rgb[7 * 5 * 3];
	for (size_t i = 0; i < sizeof(rgb); i++)
		rgb[i] = (uint8_t)(i * 37 + 11);
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_png_encode(w, h, rgb, &b), 0);
	unsigned gw = 0, gh = 0;
	uint8_t *back = decode((const unsigned char *)b.ptr, b.len, &gw, &gh);
	assert_int_equal(gw, w);
	assert_int_equal(gh, h);
	assert_memory_equal(back, rgb, sizeof(rgb));
	free(back);
	fb_buf_release(&b);
}

static void test_appends_after_existing_bytes(void **state)
{
	(void)state;
	uint8_t px[3] = {1, 2, 3};
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_buf_adds(&b, "head"), 0);
	assert_int_equal(fb_png_encode(1, 1, px, &b), 0);
	assert_memory_equal(b.ptr, "head", 4);
	unsigned w, h;
	uint8_t *back = decode((const unsigned char *)b.ptr + 4, b.len - 4, &w, &h);
	assert_int_equal(w, 1);
	assert_int_equal(h, 1);
	assert_memory_equal(back, px, 3);
	free(back);
	fb_buf_release(&b);
}

static void test_rejects_bad_dimensions(void **state)
{
	(void)state;
	uint8_t px[3] = {0};
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_buf_adds(&b, "keep"), 0);
	assert_int_equal(fb_png_encode(0, 1, px, &b), FB_EINVAL);
	assert_int_equal(fb_png_encode(1, 0, px, &b), FB_EINVAL);
	assert_int_equal(fb_png_encode(FB_PNG_MAX_DIM + 1, 1, px, &b), FB_EINVAL);
	assert_int_equal(fb_png_encode(1, 1, NULL, &b), FB_EINVAL);
	assert_int_equal(fb_png_from_seed(1, 0, 4, &b), FB_EINVAL);
	assert_string_equal(fb_buf_str(&b), "keep");
	fb_buf_release(&b);
}

static void test_seed_is_deterministic_and_distinct(void **state)
{
	(void)state;
	struct fb_buf a = FB_BUF_INIT, a2 = FB_BUF_INIT, c = FB_BUF_INIT;
	assert_int_equal(fb_png_from_seed(42, 32, 32, &a), 0);
	assert_int_equal(fb_png_from_seed(42, 32, 32, &a2), 0);
	assert_int_equal(fb_png_from_seed(43, 32, 32, &c), 0);
	assert_int_equal(a.len, a2.len);
	assert_memory_equal(a.ptr, a2.ptr, a.len);
	unsigned w, h, w2, h2;
	uint8_t *pa = decode((const unsigned char *)a.ptr, a.len, &w, &h);
	uint8_t *pc = decode((const unsigned char *)c.ptr, c.len, &w2, &h2);
	assert_int_equal(w, 32);
	assert_int_equal(h, 32);
	assert_true(memcmp(pa, pc, 32 * 32 * 3) != 0);
	/* Not a flat colour: a gradient has at least two distinct pixels. */
	assert_true(memcmp(pa, pa + (32 * 32 - 1) * 3, 3) != 0);
	free(pa);
	free(pc);
	fb_buf_release(&a);
	fb_buf_release(&a2);
	fb_buf_release(&c);
}

static void test_one_pixel_seed_image(void **state)
{
	(void)state;
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_png_from_seed(7, 1, 1, &b), 0);
	unsigned w, h;
	free(decode((const unsigned char *)b.ptr, b.len, &w, &h));
	assert_int_equal(w, 1);
	assert_int_equal(h, 1);
	fb_buf_release(&b);
}

/* Stamped images decode whole, and the seed changes the last row only. */
static void check_stamp(unsigned w, unsigned h)
{
	struct fb_png_stamp st;
	assert_int_equal(fb_png_stamp_init(&st, w, h), 0);
	struct fb_buf a = FB_BUF_INIT, a2 = FB_BUF_INIT, c = FB_BUF_INIT;
	assert_int_equal(fb_buf_adds(&c, "x"), 0);
	assert_int_equal(fb_png_stamp(&st, 42, &a), 0);
	assert_int_equal(fb_png_stamp(&st, 42, &a2), 0);
	assert_int_equal(fb_png_stamp(&st, 43, &c), 0);
	assert_int_equal(a.len, a2.len);
	assert_memory_equal(a.ptr, a2.ptr, a.len);
	unsigned gw, gh, cw, ch;
	uint8_t *pa = decode((const unsigned char *)a.ptr, a.len, &gw, &gh);
	uint8_t *pc = decode((const unsigned char *)c.ptr + 1, c.len - 1, &cw, &ch);
	assert_int_equal(gw, w);
	assert_int_equal(gh, h);
	size_t stride = (size_t)w * 3, last = stride * (h - 1);
	assert_memory_equal(pa, pc, last);
	assert_true(memcmp(pa + last, pc + last, stride) != 0);
	/* The last row repeats its first 16 bytes. */
	for (size_t i = 16; i < stride; i++)
		assert_int_equal(pa[last + i], pa[last + i % 16]);
	free(pa);
	free(pc);
	fb_buf_release(&a);
	fb_buf_release(&a2);
	fb_buf_release(&c);
	fb_png_stamp_release(&st);
}

static void test_stamp_decodes_at_many_widths(void **state)
{
	(void)state;
	check_stamp(32, 32); /* the simulator's outputs */
	check_stamp(6, 1);   /* one row, two bytes after the seeded ones: literals */
	check_stamp(7, 3);   /* five bytes left: one match */
	check_stamp(91, 2);  /* 257 left: one match of 254 and one of 3 */
	check_stamp(92, 2);  /* 260 left: 257 and 3 */
	check_stamp(200, 5); /* several matches of 258 */
}

static void test_stamp_is_small_and_distinct(void **state)
{
	(void)state;
	struct fb_png_stamp st;
	assert_int_equal(fb_png_stamp_init(&st, 32, 32), 0);
	struct fb_buf a = FB_BUF_INIT, b = FB_BUF_INIT;
	assert_int_equal(fb_png_from_seed(1, 32, 32, &b), 0);
	/* Many seeds, no two images alike, none much bigger than a deflated gradient. */
	unsigned char seen[64][32];
	for (uint64_t s = 0; s < 64; s++) {
		fb_buf_reset(&a);
		assert_int_equal(fb_png_stamp(&st, s, &a), 0);
		assert_true(a.len < b.len + 64);
		assert_true(a.len > 60);
		memcpy(seen[s], a.ptr + a.len - 32, 32);
		for (uint64_t t = 0; t < s; t++)
			assert_true(memcmp(seen[s], seen[t], 32) != 0);
	}
	fb_buf_release(&a);
	fb_buf_release(&b);
	fb_png_stamp_release(&st);
}

static void test_stamp_rejects_bad_dimensions(void **state)
{
	(void)state;
	struct fb_png_stamp st;
	assert_int_equal(fb_png_stamp_init(&st, 5, 4), FB_EINVAL); /* under 16 bytes a row */
	assert_int_equal(fb_png_stamp_init(&st, 32, 0), FB_EINVAL);
	assert_int_equal(fb_png_stamp_init(&st, FB_PNG_MAX_DIM + 1, 1), FB_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_exact_rows),
	    cmocka_unit_test(test_stamp_decodes_at_many_widths),
	    cmocka_unit_test(test_stamp_is_small_and_distinct),
	    cmocka_unit_test(test_stamp_rejects_bad_dimensions),
	    cmocka_unit_test(test_appends_after_existing_bytes),
	    cmocka_unit_test(test_rejects_bad_dimensions),
	    cmocka_unit_test(test_seed_is_deterministic_and_distinct),
	    cmocka_unit_test(test_one_pixel_seed_image),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
