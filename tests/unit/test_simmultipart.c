/* Tests for simmultipart: reading multipart/form-data bodies as browsers and the SDK write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "simmultipart.h"

#define CT "multipart/form-data; boundary=XyZ"

static int parse(const char *ct, const char *body, size_t len, struct fb_simmp *mp,
		 const char **why)
{
	*mp = (struct fb_simmp)FB_SIMMP_INIT;
	return fb_simmp_parse(ct, body, len, mp, why);
}

static void test_is_form(void **state)
{
	(void)state;
	assert_true(fb_simmp_is_form("multipart/form-data"));
	assert_true(fb_simmp_is_form(" Multipart/Form-Data ; boundary=x"));
	assert_false(fb_simmp_is_form("multipart/form-datax"));
	assert_false(fb_simmp_is_form("multipart/mixed; boundary=x"));
	assert_false(fb_simmp_is_form("application/json"));
	assert_false(fb_simmp_is_form(NULL));
}

static void test_fields_and_file(void **state)
{
	(void)state;
	/* A preamble, a field, a file with CRLF and a near-boundary in its bytes, an epilogue. */
	static const char body[] =
	    "preamble\r\n"
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"workspace_id\"\r\n"
	    "\r\n"
	    "ws_accept\r\n"
	    "--XyZ\r\n"
	    "content-disposition: form-data; name=file; filename=\"a \\\"b\\\".png\"\r\n"
	    "CONTENT-TYPE: image/png\r\n"
	    "\r\n"
	    "\x89PNG\r\n--Xy\r\n\0tail\r\n"
	    "--XyZ--\r\n"
	    "epilogue";
	struct fb_simmp mp;
	const char *why;
	assert_int_equal(parse(CT, body, sizeof(body) - 1, &mp, &why), 0);
	assert_int_equal(mp.n, 2);
	const struct fb_simmp_part *ws = fb_simmp_get(&mp, "workspace_id");
	assert_non_null(ws);
	assert_null(ws->filename);
	assert_null(ws->content_type);
	assert_int_equal(ws->len, 9);
	assert_memory_equal(ws->data, "ws_accept", 9);
	const struct fb_simmp_part *file = fb_simmp_get(&mp, "file");
	assert_string_equal(file->filename, "a \"b\".png");
	assert_string_equal(file->content_type, "image/png");
	assert_int_equal(file->len, 17);
	assert_memory_equal(file->data, "\x89PNG\r\n--Xy\r\n\0tail", 17);
	assert_null(fb_simmp_get(&mp, "other"));
	fb_simmp_release(&mp);
	assert_null(mp.parts);

	/* A quoted boundary, an empty value, no preamble. */
	static const char b2[] =
	    "--a:b\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\n\r\n--a:b--";
	assert_int_equal(parse("multipart/form-data; charset=x; BOUNDARY=\"a:b\"", b2,
			       sizeof(b2) - 1, &mp, &why),
			 0);
	assert_int_equal(mp.n, 1);
	assert_int_equal(mp.parts[0].len, 0);
	fb_simmp_release(&mp);
}

static void test_malformed(void **state)
{
	(void)state;
	static const char *const bodies[] = {
	    "",
	    "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
	    "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nno blank line --XyZ--",
	    "--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--XyZ--",
	    "--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--",
	    "--XyZjunk\r\n",
	    "no delimiter at all",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct fb_simmp mp;
		const char *why = NULL;
		assert_int_equal(parse(CT, bodies[i], strlen(bodies[i]), &mp, &why), FB_EPARSE);
		assert_non_null(why);
		fb_simmp_release(&mp);
	}
	struct fb_simmp mp;
	const char *why;
	assert_int_equal(parse("multipart/form-data", "--x--", 5, &mp, &why), FB_EPARSE);
	assert_non_null(strstr(why, "boundary"));
	assert_int_equal(parse("application/json", "{}", 2, &mp, &why), FB_EPARSE);
	assert_int_equal(parse(CT, NULL, 0, &mp, &why), FB_EPARSE);
	/* No parts at all is a valid, empty form. */
	assert_int_equal(parse(CT, "--XyZ--\r\n", 9, &mp, &why), 0);
	assert_int_equal(mp.n, 0);
	fb_simmp_release(&mp);
}

static void test_too_many_parts(void **state)
{
	(void)state;
	static char body[65 * 64 + 16];
	size_t n = 0;
	for (int i = 0; i < FB_SIMMP_MAX_PARTS + 1; i++)
		n += (size_t)snprintf(
		    body + n, sizeof(body) - n,
		    "--XyZ\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i);
	n += (size_t)snprintf(body + n, sizeof(body) - n, "--XyZ--");
	struct fb_simmp mp;
	const char *why;
	assert_int_equal(parse(CT, body, n, &mp, &why), FB_EPARSE);
	assert_string_equal(why, "Too many parts.");
	fb_simmp_release(&mp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_is_form),
	    cmocka_unit_test(test_fields_and_file),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_too_many_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
