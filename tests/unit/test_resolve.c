/* resolve: the kind of each item and the contract's checks before sending. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "resolve.h"

#include <string.h>

static void input(struct fb_item *it, const char *id, const char *v)
{
	assert_int_equal(fb_item_add_input(it, id, FB_INPUT_TEXT, v), 0);
}

static void expect_invalid(struct fb_item *it, const struct fb_resolve_defaults *d,
			   const char *field, const char *msg_part)
{
	assert_int_equal(fb_resolve_item(it, d), 0);
	assert_non_null(it->invalid);
	if (!strstr(it->invalid, msg_part))
		print_error("message \"%s\" lacks \"%s\"\n", it->invalid, msg_part);
	assert_non_null(strstr(it->invalid, msg_part));
	if (field)
		assert_string_equal(it->invalid_field, field);
	fb_item_release(it);
}

static void test_row_kind_wins_over_default(void **s)
{
	(void)s;
	struct fb_resolve_defaults d = {.kind = FB_JOB_GENERATION,
					.generation = "image",
					.workspace_id = "ws_a",
					.project_id = "prj_a"};
	struct fb_item it = {0};
	it.technique = fb_strdup("cctv-cam");
	input(&it, "input_image", "https://x/1.png");
	assert_int_equal(fb_resolve_item(&it, &d), 0);
	assert_null(it.invalid);
	assert_int_equal(it.kind, FB_JOB_TECHNIQUE);
	assert_string_equal(fb_resolve_technique(&it), "cctv-cam");
	fb_item_release(&it);
}

static void test_generation_from_defaults_and_prompt_column(void **s)
{
	(void)s;
	struct fb_resolve_defaults d = {.kind = FB_JOB_GENERATION,
					.generation = "image",
					.workspace_id = "ws_a",
					.project_id = "prj_a",
					.model = "t2i-flux-2-pro"};
	struct fb_item it = {0};
	input(&it, "prompt", "a red chair");
	assert_int_equal(fb_resolve_item(&it, &d), 0);
	assert_null(it.invalid);
	assert_int_equal(it.kind, FB_JOB_GENERATION);
	assert_string_equal(it.prompt, "a red chair");
	assert_string_equal(it.model, "t2i-flux-2-pro");
	assert_null(fb_resolve_technique(&it));
	fb_item_release(&it);
}

static void test_generation_checks(void **s)
{
	(void)s;
	struct fb_resolve_defaults d = {.kind = FB_JOB_GENERATION,
					.generation = "image",
					.workspace_id = "ws_a",
					.project_id = "prj_a"};
	struct fb_item it = {0};
	expect_invalid(&it, &d, "prompt", "no prompt");
	input(&it, "prompt", "x");
	input(&it, "input_image", "https://x/1.png");
	expect_invalid(&it, &d, "input_image", "a generation takes a prompt");
	it.generation = fb_strdup("hologram");
	it.prompt = fb_strdup("x");
	expect_invalid(&it, &d, "generation", "expected image, video, audio or text");
	d.project_id = "project-7"; /* a bare id: the API answers 500 for it */
	it.prompt = fb_strdup("x");
	expect_invalid(&it, &d, "project_id", "expected an id like prj_");
	d.project_id = NULL;
	it.prompt = fb_strdup("x");
	expect_invalid(&it, &d, "project_id", "--project");
}

static void test_technique_id_route(void **s)
{
	(void)s;
	struct fb_resolve_defaults d = {.kind = FB_JOB_TECHNIQUE_ID,
					.technique_id = "tech_cctv-cam"};
	struct fb_item it = {0};
	input(&it, "input_image", "https://x/1.png");
	expect_invalid(&it, &d, "workspace_id", "--workspace");
	d.workspace_id = "ws_accept";
	input(&it, "input_image", "https://x/1.png");
	assert_int_equal(fb_resolve_item(&it, &d), 0);
	assert_null(it.invalid);
	assert_int_equal(it.kind, FB_JOB_TECHNIQUE_ID);
	assert_string_equal(fb_resolve_technique(&it), "tech_cctv-cam");
	fb_item_release(&it);
	it.technique_id = fb_strdup("cctv-cam"); /* a slug where a tech_ id belongs */
	input(&it, "input_image", "https://x/1.png");
	expect_invalid(&it, &d, "technique_id", "expected an id like tech_");
	expect_invalid(&it, &d, "inputs", "no inputs");
}

static void test_technique_needs_one(void **s)
{
	(void)s;
	struct fb_resolve_defaults d = {0};
	struct fb_item it = {0};
	input(&it, "p", "x");
	expect_invalid(&it, &d, "technique", "no technique");
	it.technique = fb_strdup("t");
	expect_invalid(&it, &d, "inputs", "no inputs");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_row_kind_wins_over_default),
	    cmocka_unit_test(test_generation_from_defaults_and_prompt_column),
	    cmocka_unit_test(test_generation_checks),
	    cmocka_unit_test(test_technique_id_route),
	    cmocka_unit_test(test_technique_needs_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
