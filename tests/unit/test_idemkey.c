/* idemkey: stable for the same work, different for different work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "idemkey.h"

#include <stdlib.h>
#include <string.h>

static void item(struct fb_item *it, const char *id, int explicit_id, const char *a, const char *b)
{
	memset(it, 0, sizeof(*it));
	it->id = fb_strdup(id);
	it->id_explicit = explicit_id;
	if (a)
		fb_item_add_input(it, "input_image", FB_INPUT_IMAGE_URL, a);
	if (b)
		fb_item_add_input(it, "style", FB_INPUT_TEXT, b);
}

static void key(struct fb_item *it, const char *tech, const char *ns, char out[FB_IDEMKEY_LEN + 1])
{
	struct fb_err e = {0};
	free(it->technique);
	it->technique = fb_strdup(tech);
	assert_int_equal(fb_idemkey_derive(it, ns, out, &e), 0);
	assert_int_equal(strlen(out), FB_IDEMKEY_LEN);
	assert_memory_equal(out, "fb1-", 4);
}

static void test_stable_and_sensitive(void **s)
{
	(void)s;
	struct fb_item a, b;
	char k1[FB_IDEMKEY_LEN + 1], k2[FB_IDEMKEY_LEN + 1];
	item(&a, "row-1", 0, "https://x/1.png", "calm");
	item(&b, "row-9", 0, "https://x/1.png", "calm");
	key(&a, "cctv-cam", NULL, k1);
	key(&b, "cctv-cam", NULL, k2);
	assert_string_equal(k1, k2); /* a derived id (position) is not part of the work */
	/* A known value pins the canonical form: changing it changes every user's keys. */
	assert_string_equal(k1, "fb1-e948e762cd48523222883088608f922a");
	key(&a, "studio-shot", NULL, k2);
	assert_string_not_equal(k1, k2);
	key(&a, "cctv-cam", "retry-2026", k2);
	assert_string_not_equal(k1, k2);
	fb_item_release(&b);
	item(&b, "row-1", 0, "https://x/1.png", "calmer");
	key(&b, "cctv-cam", NULL, k2);
	assert_string_not_equal(k1, k2);
	fb_item_release(&b);
	item(&b, "sku-1", 1, "https://x/1.png", "calm");
	key(&b, "cctv-cam", NULL, k2);
	assert_string_not_equal(k1, k2); /* an explicit id names distinct work */
	fb_item_release(&a);
	fb_item_release(&b);
}

static void test_input_order_does_not_matter(void **s)
{
	(void)s;
	struct fb_item a = {0}, b = {0};
	char k1[FB_IDEMKEY_LEN + 1], k2[FB_IDEMKEY_LEN + 1];
	a.id = fb_strdup("row-1");
	b.id = fb_strdup("row-1");
	fb_item_add_input(&a, "p", FB_INPUT_TEXT, "1");
	fb_item_add_input(&a, "q", FB_INPUT_TEXT, "2");
	fb_item_add_input(&b, "q", FB_INPUT_TEXT, "2");
	fb_item_add_input(&b, "p", FB_INPUT_TEXT, "1");
	key(&a, "t", NULL, k1);
	key(&b, "t", NULL, k2);
	assert_string_equal(k1, k2);
	fb_item_release(&a);
	fb_item_release(&b);
}

static void test_attempt_keys(void **s)
{
	(void)s;
	char k[FB_IDEMKEY_LEN + 1], k2[FB_IDEMKEY_LEN + 1], k3[FB_IDEMKEY_LEN + 1];
	strcpy(k, "fb1-0123456789abcdef0123456789abcdef");
	assert_int_equal(fb_idemkey_attempt(k, 1, k2), 0);
	assert_string_equal(k, k2);
	assert_int_equal(fb_idemkey_attempt(k, 2, k2), 0);
	assert_int_equal(fb_idemkey_attempt(k, 3, k3), 0);
	assert_string_not_equal(k, k2);
	assert_string_not_equal(k2, k3);
	assert_int_equal(strlen(k2), FB_IDEMKEY_LEN);
}

static void test_no_technique(void **s)
{
	(void)s;
	struct fb_item a;
	struct fb_err e = {0};
	char k[FB_IDEMKEY_LEN + 1];
	item(&a, "row-1", 0, "https://x/1.png", NULL);
	assert_int_equal(fb_idemkey_derive(&a, NULL, k, &e), FB_EINVAL);
	fb_item_release(&a);
}

static void gen_key(struct fb_item *it, char out[FB_IDEMKEY_LEN + 1])
{
	struct fb_err e = {0};
	assert_int_equal(fb_idemkey_derive(it, NULL, out, &e), 0);
}

static void test_generation_keys(void **s)
{
	(void)s;
	struct fb_item g = {0};
	char k1[FB_IDEMKEY_LEN + 1], k2[FB_IDEMKEY_LEN + 1];
	g.id = fb_strdup("row-1");
	g.kind = FB_JOB_GENERATION;
	g.generation = fb_strdup("image");
	g.prompt = fb_strdup("a red chair");
	g.workspace_id = fb_strdup("ws_a");
	g.project_id = fb_strdup("prj_a");
	gen_key(&g, k1);
	gen_key(&g, k2);
	assert_string_equal(k1, k2);
	free(g.prompt);
	g.prompt = fb_strdup("a blue chair");
	gen_key(&g, k2);
	assert_string_not_equal(k1, k2);
	free(g.prompt);
	g.prompt = fb_strdup("a red chair");
	free(g.project_id);
	g.project_id = fb_strdup("prj_b");
	gen_key(&g, k2);
	assert_string_not_equal(k1, k2); /* another project is other work */
	fb_item_release(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stable_and_sensitive),
	    cmocka_unit_test(test_input_order_does_not_matter),
	    cmocka_unit_test(test_attempt_keys),
	    cmocka_unit_test(test_no_technique),
	    cmocka_unit_test(test_generation_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
