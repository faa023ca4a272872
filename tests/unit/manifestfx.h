/*
 * manifestfx: a fixture for the manifest readers' tests: each test in a
 * fresh directory (so messages name plain file names), and the checks every
 * reader test makes on the items it reads. Include after cmocka.h.
 */
#ifndef FB_MANIFESTFX_H
#define FB_MANIFESTFX_H

#include "manifest.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline int mfx_setup(void **state)
{
	char *dir = tu_tmpdir();
	assert_int_equal(chdir(dir), 0);
	*state = dir;
	return 0;
}

static inline int mfx_teardown(void **state)
{
	assert_int_equal(chdir("/"), 0);
	tu_rmrf(*state);
	free(*state);
	return 0;
}

/* Writes data to name and opens it, which must succeed as format. */
static inline struct fb_manifest *mfx_open(const char *name, const char *data, size_t len,
					   enum fb_format format)
{
	struct fb_manifest *m = NULL;
	struct fb_err err = {0};
	free(tu_write_file(".", name, data, len));
	if (fb_manifest_open(&m, name, FB_FORMAT_AUTO, &err))
		fail_msg("opening %s failed: %s", name, err.msg);
	assert_int_equal(fb_manifest_format(m), format);
	return m;
}

static inline void mfx_next(struct fb_manifest *m, struct fb_item *it)
{
	struct fb_err err = {0};
	fb_item_release(it);
	int rc = fb_manifest_next(m, it, &err);
	if (rc != 1)
		fail_msg("expected an item, got %d (%s)", rc, err.msg);
}

static inline void mfx_expect_end(struct fb_manifest *m)
{
	struct fb_item it = {0};
	struct fb_err err = {0};
	assert_int_equal(fb_manifest_next(m, &it, &err), 0);
}

static inline void mfx_expect_input(const struct fb_item *it, size_t i, const char *id,
				    enum fb_input_type type, const char *value)
{
	assert_true(i < it->ninputs);
	assert_string_equal(it->inputs[i].id, id);
	assert_string_equal(it->inputs[i].value, value);
	assert_int_equal(it->inputs[i].type, type);
}

static inline void mfx_expect_invalid(const struct fb_item *it, const char *field, const char *msg)
{
	if (!it->invalid)
		fail_msg("item %s is valid; expected \"%s\"", it->id, msg);
	assert_string_equal(it->invalid, msg);
	if (field)
		assert_string_equal(it->invalid_field, field);
	else
		assert_null(it->invalid_field);
}

#endif
