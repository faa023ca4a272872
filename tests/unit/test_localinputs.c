/* Local files in manifests: a path (relative to the manifest) or file:// URL becomes a local,
 * hashed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manifest.h"
#include "sha256.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void test_paths_become_local_inputs(void **s)
{
	(void)s;
	char *dir = tu_tmpdir(), *img = tu_path(dir, "img");
	mkdir(img, 0777);
	free(tu_write_file(img, "a.png", "\x89PNG fake", 9));
	char *abs = tu_write_file(dir, "b.jpg", "\xff\xd8\xff fake", 8);
	char text[1024];
	snprintf(text, sizeof(text),
		 "id,input_image:imageUrl,photo\n"
		 "one,img/a.png,\n"
		 "two,file://%s,\n"
		 "three,img/missing.png,\n"
		 "four,https://x.example/c.png,img/a.png\n"
		 "five,https://x.example/c.png,cat.png\n",
		 abs);
	char *mp = tu_write_file(dir, "m.csv", text, strlen(text));
	struct fb_manifest *m;
	struct fb_err e = {0};
	struct fb_item it = {0};
	char want[65];
	fb_sha256_hex("\x89PNG fake", 9, want);
	assert_int_equal(fb_manifest_open(&m, mp, FB_FORMAT_AUTO, &e), 0);

	assert_int_equal(fb_manifest_next(m, &it, &e), 1); /* one: relative to the manifest */
	assert_null(it.invalid);
	assert_true(it.inputs[0].local);
	assert_string_equal(it.inputs[0].sha256, want);
	assert_non_null(strstr(it.inputs[0].value, "/img/a.png"));
	fb_item_release(&it);

	assert_int_equal(fb_manifest_next(m, &it, &e), 1); /* two: a file:// URL */
	assert_true(it.inputs[0].local);
	assert_string_equal(it.inputs[0].value, abs);
	fb_item_release(&it);

	assert_int_equal(fb_manifest_next(m, &it, &e), 1); /* three: no such file */
	assert_non_null(it.invalid);
	assert_non_null(strstr(it.invalid, "does not exist"));
	fb_item_release(&it);

	assert_int_equal(fb_manifest_next(m, &it, &e),
			 1); /* four: an untyped column naming a file */
	assert_int_equal(it.ninputs, 2);
	assert_false(it.inputs[0].local);
	assert_true(it.inputs[1].local);
	assert_int_equal(it.inputs[1].type, FB_INPUT_IMAGE_URL);
	fb_item_release(&it);

	assert_int_equal(fb_manifest_next(m, &it, &e), 1); /* five: a name with no file is text */
	assert_false(it.inputs[1].local);
	assert_int_equal(it.inputs[1].type, FB_INPUT_TEXT);
	fb_item_release(&it);

	fb_manifest_free(m);
	tu_rmrf(dir);
	free(dir);
	free(img);
	free(abs);
	free(mp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_paths_become_local_inputs)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
