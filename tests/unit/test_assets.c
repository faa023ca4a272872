/* assets: one upload per content, busy while uploading, remembered by the journal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "assets.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sha_of(int i, char out[65])
{
	snprintf(out, 65, "%016x%048d", (unsigned)(i * 2654435761u), i);
}

static void test_once_per_content(void **s)
{
	(void)s;
	char *dir = tu_tmpdir(), *jp = tu_path(dir, "journal.jsonl");
	struct fb_journal *j = NULL;
	struct fb_err e = {0};
	assert_int_equal(fb_journal_open(&j, jp, &e), 0);
	struct fb_assets *a = fb_assets_new(j);
	const char *id, *url;
	char sha[65];
	for (int i = 0; i < 2000; i++) {
		sha_of(i, sha);
		assert_int_equal(fb_assets_get(a, sha, &id, &url), FB_ASSET_NONE);
		assert_int_equal(fb_assets_get(a, sha, &id, &url), FB_ASSET_BUSY);
	}
	sha_of(7, sha);
	assert_int_equal(fb_assets_done(a, sha, NULL, NULL, &e), 0); /* failed: free again */
	assert_int_equal(fb_assets_get(a, sha, &id, &url), FB_ASSET_NONE);
	assert_int_equal(fb_assets_done(a, sha, "asset_7", "https://x/7.png", &e), 0);
	assert_int_equal(fb_assets_get(a, sha, &id, &url), FB_ASSET_READY);
	assert_string_equal(id, "asset_7");
	assert_string_equal(url, "https://x/7.png");
	assert_int_equal(fb_assets_uploaded(a), 1);
	fb_assets_free(a);
	assert_int_equal(fb_journal_close(j, &e), 0);

	/* A re-run: the journal remembers the upload. */
	assert_int_equal(fb_journal_open(&j, jp, &e), 0);
	a = fb_assets_new(j);
	assert_int_equal(fb_assets_get(a, sha, &id, &url), FB_ASSET_READY);
	assert_string_equal(url, "https://x/7.png");
	sha_of(8, sha);
	assert_int_equal(fb_assets_get(a, sha, &id, &url), FB_ASSET_NONE);
	fb_assets_free(a);
	assert_int_equal(fb_journal_close(j, &e), 0);
	tu_rmrf(dir);
	free(dir);
	free(jp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_once_per_content)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
