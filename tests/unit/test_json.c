/* json: faithful re-emission of parsed trees, UTF-8 repair, numbers, typed lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generates one value with fn and returns the text (caller frees), or NULL with *rc set. */
static char *gen_one(int (*fn)(yajl_gen, const void *), const void *arg, int *rc)
{
	struct fb_buf out = FB_BUF_INIT;
	yajl_gen g = fb_json_gen_new();
	assert_non_null(g);
	*rc = fn(g, arg);
	if (!*rc)
		*rc = fb_json_gen_take(g, &out);
	yajl_gen_free(g);
	if (*rc) {
		fb_buf_release(&out);
		return NULL;
	}
	return fb_buf_detach(&out, NULL);
}

static int gen_str_cb(yajl_gen g, const void *arg)
{
	return fb_json_gen_str(g, arg);
}

static int gen_val_cb(yajl_gen g, const void *arg)
{
	return fb_json_gen_val(g, (yajl_val)arg);
}

static yajl_val parse(const char *text)
{
	char errbuf[256];
	yajl_val v = yajl_tree_parse(text, errbuf, sizeof(errbuf));
	if (!v)
		fail_msg("test input does not parse: %s", errbuf);
	return v;
}

static void assert_roundtrip(const char *text, const char *expect)
{
	int rc;
	yajl_val v = parse(text);
	char *got = gen_one(gen_val_cb, v, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, expect);
	free(got);
	yajl_tree_free(v);
}

static void test_gen_val_roundtrip(void **state)
{
	(void)state;
	/* Compact, key order kept, numbers exactly as written. */
	assert_roundtrip(
	    "{ \"z\" : 1, \"a\" : [ true, false, null, -0, 1.50, 1e400 ],\n"
	    "  \"big\": 12345678901234567890, \"f\": 1.5e300, \"neg\": -9223372036854775809,"
	    "  \"s\": \"q\\\"b\\\\n\\n\\u0001\\u00e9\\ud83d\\ude00/\", \"o\": {\"\": {}},"
	    "  \"e\": [] }",
	    "{\"z\":1,\"a\":[true,false,null,-0,1.50,1e400],"
	    "\"big\":12345678901234567890,\"f\":1.5e300,\"neg\":-9223372036854775809,"
	    "\"s\":\"q\\\"b\\\\n\\n\\u0001\xc3\xa9\xf0\x9f\x98\x80/\",\"o\":{\"\":{}},"
	    "\"e\":[]}");
	assert_roundtrip("\"top\"", "\"top\"");
	assert_roundtrip("42", "42");
	assert_roundtrip("[]", "[]");

	int rc;
	char *got = gen_one(gen_val_cb, NULL, &rc);
	assert_string_equal(got, "null");
	free(got);
}

static void test_gen_val_too_deep_is_refused(void **state)
{
	(void)state;
	char text[2 * 300 + 1];
	memset(text, '[', 300);
	memset(text + 300, ']', 300);
	text[600] = '\0';
	yajl_val v = parse(text);
	int rc;
	char *got = gen_one(gen_val_cb, v, &rc);
	assert_null(got);
	assert_int_equal(rc, FB_EPARSE);
	yajl_tree_free(v);
}

static void test_depth_ok(void **state)
{
	(void)state;
	assert_true(fb_json_depth_ok("", 0, 0));
	assert_true(fb_json_depth_ok("1", 1, 0));
	assert_false(fb_json_depth_ok("[]", 2, 0));
	assert_true(fb_json_depth_ok("[{}]", 4, 2));
	assert_false(fb_json_depth_ok("[{}]", 4, 1));
	/* Siblings do not add up; brackets in strings, escaped quotes included, are text. */
	assert_true(fb_json_depth_ok("[[],[],[]]", 10, 2));
	const char *s = "[\"[[[\\\"[[[\"]";
	assert_true(fb_json_depth_ok(s, strlen(s), 1));
	/* Only the first n bytes count, and stray closers do not buy depth. */
	assert_true(fb_json_depth_ok("[[[", 1, 1));
	assert_false(fb_json_depth_ok("]]][[", 5, 1));
}

static void test_gen_str(void **state)
{
	(void)state;
	int rc;
	char *got = gen_one(gen_str_cb, NULL, &rc);
	assert_string_equal(got, "null");
	free(got);

	got = gen_one(gen_str_cb, "tab\there \"q\" \\ \x1f \x7f \xe2\x80\xa8", &rc);
	assert_string_equal(got, "\"tab\\there \\\"q\\\" \\\\ \\u001F \x7f \xe2\x80\xa8\"");
	free(got);

	/* Ill-formed bytes are replaced, never written and never a refusal. */
	got = gen_one(gen_str_cb,
		      "a\xff"
		      "b\xc3",
		      &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, "\"a\xef\xbf\xbd"
				 "b\xef\xbf\xbd\"");
	free(got);

	/* The generator itself refuses invalid UTF-8 handed to it directly. */
	yajl_gen g = fb_json_gen_new();
	assert_int_equal(yajl_gen_string(g, (const unsigned char *)"\xff", 1),
			 yajl_gen_invalid_string);
	yajl_gen_free(g);

	/* Keys are sanitised too, and a NULL key is an error, not a crash. */
	g = fb_json_gen_new();
	struct fb_buf out = FB_BUF_INIT;
	assert_int_equal(yajl_gen_map_open(g), yajl_gen_status_ok);
	assert_int_equal(fb_json_gen_key(g, NULL), FB_EPARSE);
	assert_int_equal(fb_json_gen_key(g, "k\xfe"), 0);
	assert_int_equal(fb_json_gen_strn(g, "v\0w", 3), 0);
	assert_int_equal(yajl_gen_map_close(g), yajl_gen_status_ok);
	assert_int_equal(fb_json_gen_take(g, &out), 0);
	assert_memory_equal(out.ptr, "{\"k\xef\xbf\xbd\":\"v\\u0000w\"}", out.len);
	yajl_gen_free(g);
	fb_buf_release(&out);
}

static void assert_sanitized(const char *in, size_t n, const char *expect)
{
	struct fb_buf out = FB_BUF_INIT;
	assert_int_equal(fb_json_utf8_sanitize(&out, in, n), 0);
	assert_string_equal(fb_buf_str(&out), expect);
	assert_int_equal(fb_json_utf8_valid(out.ptr, out.len), 1);
	fb_buf_release(&out);
}

#define R "\xef\xbf\xbd"

static void test_utf8(void **state)
{
	(void)state;
	int ok;
	assert_int_equal(fb_json_utf8_next("\xf0\x9f\x98\x80", 4, &ok), 4);
	assert_true(ok);
	assert_int_equal(fb_json_utf8_next("\xe2\x82\xac", 3, &ok), 3);
	assert_true(ok);
	/* A truncated sequence at the end of the input. */
	assert_int_equal(fb_json_utf8_next("\xe2\x82\xac", 2, &ok), 2);
	assert_false(ok);

	assert_true(fb_json_utf8_valid("", 0));
	assert_true(fb_json_utf8_valid("h\xc3\xa9llo \xf4\x8f\xbf\xbf", 11));
	assert_false(fb_json_utf8_valid("\xc0\x80", 2));	 /* overlong NUL */
	assert_false(fb_json_utf8_valid("\xe0\x80\xaf", 3));	 /* overlong '/' */
	assert_false(fb_json_utf8_valid("\xed\xa0\x80", 3));	 /* surrogate */
	assert_false(fb_json_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
	assert_false(fb_json_utf8_valid("\xf5\x80\x80\x80", 4));
	assert_false(fb_json_utf8_valid("\x80", 1));
	/* Past the eight-bytes-at-a-time ASCII stretches, at every offset. */
	assert_true(fb_json_utf8_valid("abcdefghijklmnop\xc3\xa9qrstuvwxyz0123456", 35));
	for (size_t at = 0; at < 20; at++) {
		char s[21];
		memset(s, 'a', sizeof(s));
		s[at] = '\xed'; /* a lead byte followed by ASCII is ill-formed anywhere */
		assert_false(fb_json_utf8_valid(s, sizeof(s)));
		s[at] = '\x7f';
		assert_true(fb_json_utf8_valid(s, sizeof(s)));
	}

	/* Unicode's maximal-subpart rule: one U+FFFD per broken run. */
	assert_sanitized("ok", 2, "ok");
	assert_sanitized("\xe2\x82x", 3, R "x");
	assert_sanitized("\xed\xa0\x80", 3, R R R);
	assert_sanitized("\xf0\x9f\x98", 3, R);
	assert_sanitized("\xf0\x9f\x98\xf0\x9f\x98\x80", 7, R "\xf0\x9f\x98\x80");
	assert_sanitized("a\xffz\xc3\xa9", 5, "a" R "z\xc3\xa9");
	assert_sanitized("\xc0\xaf", 2, R R);
}

static int gen_double_cb(yajl_gen g, const void *arg)
{
	return fb_json_gen_double(g, *(const double *)arg);
}

static void assert_double(double d, const char *expect)
{
	int rc;
	char *got = gen_one(gen_double_cb, &d, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, expect);
	if (strcmp(expect, "null"))
		assert_true(strtod(got, NULL) == d);
	free(got);
}

static int gen_u64_cb(yajl_gen g, const void *arg)
{
	return fb_json_gen_u64(g, *(const uint64_t *)arg);
}

static int gen_i64_cb(yajl_gen g, const void *arg)
{
	return fb_json_gen_i64(g, *(const int64_t *)arg);
}

static void test_numbers(void **state)
{
	(void)state;
	assert_double(0.1, "0.1");
	assert_double(0.873, "0.873");
	assert_double(2, "2");
	assert_double(0, "0");
	assert_double(1.5e300, "1.5e+300");
	assert_double(1.0 / 3, "0.3333333333333333");
	assert_double(NAN, "null");
	assert_double(INFINITY, "null");

	int rc;
	uint64_t u = UINT64_MAX;
	char *got = gen_one(gen_u64_cb, &u, &rc);
	assert_string_equal(got, "18446744073709551615");
	free(got);
	int64_t i = INT64_MIN;
	got = gen_one(gen_i64_cb, &i, &rc);
	assert_string_equal(got, "-9223372036854775808");
	free(got);
}

/* The definition fb_json_gen_double keeps: the shortest %.*g that reads back as d. */
static void shortest_g(double d, char *out, size_t cap)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, cap, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

static void assert_double_as_g(double d)
{
	char want[40];
	shortest_g(d, want, sizeof(want));
	assert_double(d, want);
}

/* The printf-free path for short decimals must print exactly what the search prints. */
static void test_doubles_like_printf(void **state)
{
	(void)state;
	static const double edges[] = {
	    1e-4,
	    0.0001234,
	    9.99e-5,
	    0.00009999999999999999,
	    1e-3,
	    10,
	    100,
	    1200,
	    1250.5,
	    0.1 + 0.2,
	    123456789012345.0,
	    1e15,
	    1e15 + 2,
	    999999999999999.9,
	    12345.678901234,
	    0.123456789,
	    0.1234567891,
	    1e9 + 0.5,
	    4503599627370497.0,
	    7,
	    -0.25,
	    -1200,
	    -0.000123,
	    5e-324,
	    1.7976931348623157e308,
	    0.30000000000000004,
	};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		assert_double_as_g(edges[i]);
	/* Money-like values, as charged costs are. */
	for (int cents = -20000; cents <= 20000; cents += 7)
		assert_double_as_g(cents / 100.0);
	for (int mils = 0; mils <= 5000; mils += 3)
		assert_double_as_g(mils / 1000.0);
	/* Decimals of every width the fast path takes, and arbitrary doubles. */
	unsigned long long x = 88172645463325252ull;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int k = (int)(x % 12);
		double scale = 1;
		for (int j = 0; j < k; j++)
			scale *= 10;
		assert_double_as_g((double)(x >> (11 + x % 40)) / scale);
		double raw;
		memcpy(&raw, &x, sizeof(raw));
		if (isfinite(raw))
			assert_double_as_g(raw);
	}
}

static void test_lookups(void **state)
{
	(void)state;
	yajl_val v = parse("{\"s\":\"x\",\"s\":\"last\",\"i\":-7,\"big\":12345678901234567890,"
			   "\"d\":1.25,\"huge\":1e400,\"t\":true,\"f\":false,\"n\":null}");
	assert_string_equal(fb_json_get_str(v, "s"), "last");
	assert_null(fb_json_get_str(v, "i"));
	assert_null(fb_json_get_str(v, "missing"));
	assert_null(fb_json_get_str(NULL, "s"));
	assert_non_null(fb_json_get(v, "n"));
	assert_true(YAJL_IS_NULL(fb_json_get(v, "n")));

	int64_t i = 99;
	assert_int_equal(fb_json_get_i64(v, "i", &i), 0);
	assert_int_equal(i, -7);
	i = 99;
	assert_int_equal(fb_json_get_i64(v, "big", &i), FB_EINVAL);
	assert_int_equal(fb_json_get_i64(v, "d", &i), FB_EINVAL);
	assert_int_equal(fb_json_get_i64(v, "s", &i), FB_EINVAL);
	assert_int_equal(i, 99);

	double d = 0;
	assert_int_equal(fb_json_get_double(v, "d", &d), 0);
	assert_true(d == 1.25);
	assert_int_equal(fb_json_get_double(v, "i", &d), 0);
	assert_true(d == -7.0);
	assert_int_equal(fb_json_get_double(v, "huge", &d), FB_EINVAL);
	assert_int_equal(fb_json_get_double(v, "t", &d), FB_EINVAL);

	int b = 5;
	assert_int_equal(fb_json_get_bool(v, "t", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(fb_json_get_bool(v, "f", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(fb_json_get_bool(v, "n", &b), FB_EINVAL);

	yajl_val arr = parse("[\"s\"]");
	assert_null(fb_json_get(arr, "s"));
	yajl_tree_free(arr);
	yajl_tree_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gen_val_roundtrip),
	    cmocka_unit_test(test_gen_val_too_deep_is_refused),
	    cmocka_unit_test(test_depth_ok),
	    cmocka_unit_test(test_gen_str),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_doubles_like_printf),
	    cmocka_unit_test(test_lookups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
