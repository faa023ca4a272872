/* Tests for simmedia: the simulator's WAV, MP4-shaped and text outputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "simmedia.h"

static uint32_t le(const unsigned char *p, int n)
{
	uint32_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_wav(void **state)
{
	(void)state;
	struct fb_buf a = FB_BUF_INIT, b = FB_BUF_INIT;
	assert_int_equal(fb_simmedia_wav(1, &a), 0);
	const unsigned char *p = (const unsigned char *)a.ptr;
	assert_int_equal(a.len, 44 + FB_SIMMEDIA_WAV_SAMPLES);
	assert_memory_equal(p, "RIFF", 4);
	assert_int_equal(le(p + 4, 4), a.len - 8);
	assert_memory_equal(p + 8, "WAVEfmt ", 8);
	assert_int_equal(le(p + 16, 4), 16);
	assert_int_equal(le(p + 20, 2), 1); /* PCM */
	assert_int_equal(le(p + 22, 2), 1); /* mono */
	assert_int_equal(le(p + 24, 4), FB_SIMMEDIA_WAV_RATE);
	assert_int_equal(le(p + 28, 4), FB_SIMMEDIA_WAV_RATE * le(p + 32, 2));
	assert_int_equal(le(p + 34, 2), 8);
	assert_memory_equal(p + 36, "data", 4);
	assert_int_equal(le(p + 40, 4), FB_SIMMEDIA_WAV_SAMPLES);
	/* Not silence; the same seed gives the same bytes, another seed others. */
	int varies = 0;
	for (size_t i = 45; i < a.len; i++)
		varies |= p[i] != p[44];
	assert_true(varies);
	assert_int_equal(fb_simmedia_wav(1, &b), 0);
	assert_memory_equal(a.ptr, b.ptr, a.len);
	fb_buf_reset(&b);
	int differs = 0;
	for (uint64_t s = 2; s < 6; s++) {
		fb_buf_reset(&b);
		assert_int_equal(fb_simmedia_wav(s, &b), 0);
		differs |= memcmp(a.ptr, b.ptr, a.len) != 0;
	}
	assert_true(differs);
	fb_buf_release(&a);
	fb_buf_release(&b);
}

static void test_mp4(void **state)
{
	(void)state;
	struct fb_buf a = FB_BUF_INIT, b = FB_BUF_INIT;
	assert_int_equal(fb_buf_adds(&a, "keep"), 0); /* appends */
	assert_int_equal(fb_simmedia_mp4(9, &a), 0);
	assert_int_equal(fb_simmedia_mp4(10, &b), 0);
	const unsigned char *p = (const unsigned char *)a.ptr + 4;
	size_t n = a.len - 4;
	assert_memory_equal(a.ptr, "keep", 4);
	assert_memory_equal(p + 4, "ftypisom", 8);
	static const char *const boxes[] = {"ftyp", "free", "mdat"};
	size_t off = 0;
	for (int i = 0; i < 3; i++) {
		assert_true(off + 8 <= n);
		assert_memory_equal(p + off + 4, boxes[i], 4);
		off += be32(p + off);
	}
	assert_int_equal(off, n);
	assert_int_equal(b.len, n);
	assert_memory_not_equal(p, b.ptr, n);
	fb_buf_release(&a);
	fb_buf_release(&b);
}

static void test_text(void **state)
{
	(void)state;
	struct fb_buf a = FB_BUF_INIT, b = FB_BUF_INIT;
	assert_int_equal(fb_simmedia_text(3, "Text for \"a kite\"", "run_x", &a), 0);
	assert_int_equal(strncmp(a.ptr, "Text for \"a kite\" (run_x)\n", 26), 0);
	assert_int_equal(a.ptr[a.len - 1], '\n');
	assert_int_equal(fb_simmedia_text(3, "Text for \"a kite\"", "run_x", &b), 0);
	assert_string_equal(a.ptr, b.ptr);
	fb_buf_release(&a);
	fb_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wav),
	    cmocka_unit_test(test_mp4),
	    cmocka_unit_test(test_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
