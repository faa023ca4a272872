/*
 * dirwalk: a generated tree with every image signature, impostors (text named
 * .jpg, an mp4 ftyp, "BM" text), hidden names, a glob, symlinks inside and
 * outside root (one sharing root's name as a prefix), loops and a dangling link.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "dirwalk.h"
#include "error.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIT(s) s, sizeof(s) - 1

static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
static const char jpg[] = "\xff\xd8\xff\xe0"
			  "\0\x10JFIF";
static const char gif[] = "GIF89a\x01\0\x01\0";
static const char webp[] = "RIFF\x24\0\0\0WEBPVP8 ";
static const char bmp[] = "BM\x46\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x01\0";
static const char tif_le[] = "II*\0\x08\0\0\0";
static const char tif_be[] = "MM\0*\0\0\0\x08";
static const char avif[] = "\0\0\0\x1c"
			   "ftypavif\0\0\0\0avifmif1miaf";
static const char heic[] = "\0\0\0\x18"
			   "ftypheic\0\0\0\0mif1heic";
static const char mp4[] = "\0\0\0\x18"
			  "ftypisom\0\0\x02\0isomiso2";

struct tree {
	char *base; /* holds root "r" and its outside sibling "r2" */
	char *root;
};

static void put(const char *dir, const char *name, const char *data, size_t len)
{
	free(tu_write_file(dir, name, data, len));
}

static void mkd(const char *dir, const char *name)
{
	char *p = tu_path(dir, name);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
}

static void lnk(const char *dir, const char *name, const char *target)
{
	char *p = tu_path(dir, name);
	assert_int_equal(symlink(target, p), 0);
	free(p);
}

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	t->base = tu_tmpdir();
	mkd(t->base, "r");
	mkd(t->base, "r2");
	t->root = tu_path(t->base, "r");
	char *out = tu_path(t->base, "r2");
	put(out, "o.png", LIT(png));
	char *out_png = tu_path(out, "o.png");

	const char *r = t->root;
	put(r, "a.png", LIT(png));
	put(r, "B.JPG", LIT(jpg));
	put(r, "b.gif", LIT(gif));
	put(r, "c.webp", LIT(webp));
	put(r, "d.bmp", LIT(bmp));
	put(r, "e.tif", LIT(tif_le));
	put(r, "e2.tiff", LIT(tif_be));
	put(r, "f.avif", LIT(avif));
	put(r, "g.heic", LIT(heic));
	put(r, "h.mp4", LIT(mp4));
	put(r, "notes.txt", LIT("just some words\n"));
	put(r, "fake.jpg", LIT("I am text, whatever my name says\n"));
	put(r, "bm.txt", LIT("BMW and other cars, a long enough line\n"));
	put(r, ".hidden.png", LIT(png));
	mkd(r, ".hdir");
	put(r, ".hdir/x.png", LIT(png));
	mkd(r, "empty"); /* a folder with no names at all */
	mkd(r, "sub");
	mkd(r, "sub/deeper");
	put(r, "sub/a.png", LIT(png));
	put(r, "sub/z.png", LIT(png));
	put(r, "sub/deeper/y.jpg", LIT(jpg));
	lnk(r, "sub/link_in.png", "../a.png");
	lnk(r, "sub/loop", "..");
	lnk(r, "dirlink", "sub");
	lnk(r, "dangling", "nowhere.png");
	lnk(r, "link_out.png", out_png);
	lnk(r, "outdir", out);
	free(out_png);
	free(out);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	tu_rmrf(t->base);
	free(t->base);
	free(t->root);
	free(t);
	return 0;
}

struct seen {
	struct fb_buf list; /* "rel\n" per call */
	const char *root;
	int calls;
	int stop_at; /* 0: never */
};

static int collect(void *ud, const char *rel, const char *full, const struct stat *st)
{
	struct seen *s = ud;
	/* full must open the same file rel names, and st must be the file's. */
	char *expect = tu_path(s->root, rel);
	struct stat a, b;
	assert_int_equal(stat(expect, &a), 0);
	assert_int_equal(stat(full, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(b.st_ino, st->st_ino);
	assert_int_equal(b.st_size, st->st_size);
	assert_null(strstr(full, "//"));
	assert_true(rel[0] != '/');
	free(expect);
	fb_buf_adds(&s->list, rel);
	fb_buf_addc(&s->list, '\n');
	s->calls++;
	return s->stop_at && s->calls == s->stop_at ? 42 : 0;
}

static const char *const all_images = "B.JPG\n"
				      "a.png\n"
				      "b.gif\n"
				      "c.webp\n"
				      "d.bmp\n"
				      "dirlink/a.png\n"
				      "dirlink/deeper/y.jpg\n"
				      "dirlink/link_in.png\n"
				      "dirlink/z.png\n"
				      "e.tif\n"
				      "e2.tiff\n"
				      "f.avif\n"
				      "g.heic\n"
				      "sub/a.png\n"
				      "sub/deeper/y.jpg\n"
				      "sub/link_in.png\n"
				      "sub/z.png\n";

static void test_every_image_in_order(void **state)
{
	struct tree *t = *state;
	struct fb_dirwalk_config cfg = {t->root, NULL, 0, NULL, NULL};
	struct seen s = {FB_BUF_INIT, t->root, 0, 0};
	struct fb_dirwalk_stats st;
	struct fb_err err = {0};
	assert_int_equal(fb_dirwalk(&cfg, collect, &s, &st, &err), 0);
	assert_string_equal(fb_buf_str(&s.list), all_images);
	assert_int_equal(st.images, 17);
	assert_int_equal(st.hidden, 2);
	assert_int_equal(st.not_image, 4); /* h.mp4, notes.txt, fake.jpg, bm.txt */
	assert_int_equal(st.not_matching, 0);
	assert_int_equal(st.symlink_outside, 2); /* link_out.png, outdir */
	assert_int_equal(st.unreadable, 1);	 /* dangling */
	assert_int_equal(st.loops, 2);		 /* sub/loop, dirlink/loop */
	fb_buf_release(&s.list);
}

static void test_same_order_twice_and_trailing_slash(void **state)
{
	struct tree *t = *state;
	char *slashed = malloc(strlen(t->root) + 3);
	sprintf(slashed, "%s//", t->root);
	struct fb_dirwalk_config cfg = {slashed, NULL, 0, NULL, NULL};
	struct seen s = {FB_BUF_INIT, t->root, 0, 0};
	assert_int_equal(fb_dirwalk(&cfg, collect, &s, NULL, NULL), 0);
	assert_string_equal(fb_buf_str(&s.list), all_images);
	fb_buf_release(&s.list);
	free(slashed);
}

static void test_glob_case_folded(void **state)
{
	struct tree *t = *state;
	struct fb_dirwalk_config cfg = {t->root, "*.jpg", 0, NULL, NULL};
	struct seen s = {FB_BUF_INIT, t->root, 0, 0};
	struct fb_dirwalk_stats st;
	assert_int_equal(fb_dirwalk(&cfg, collect, &s, &st, NULL), 0);
	assert_string_equal(fb_buf_str(&s.list), "B.JPG\n"
						 "dirlink/deeper/y.jpg\n"
						 "sub/deeper/y.jpg\n");
	assert_int_equal(st.images, 3);
	assert_int_equal(st.not_image, 1); /* fake.jpg: matched, then read */
	assert_true(st.not_matching >= 14);
	fb_buf_release(&s.list);
}

static void test_include_hidden(void **state)
{
	struct tree *t = *state;
	struct fb_dirwalk_config cfg = {t->root, "*.png", 1, NULL, NULL};
	struct seen s = {FB_BUF_INIT, t->root, 0, 0};
	struct fb_dirwalk_stats st;
	assert_int_equal(fb_dirwalk(&cfg, collect, &s, &st, NULL), 0);
	assert_string_equal(fb_buf_str(&s.list), ".hdir/x.png\n"
						 ".hidden.png\n"
						 "a.png\n"
						 "dirlink/a.png\n"
						 "dirlink/link_in.png\n"
						 "dirlink/z.png\n"
						 "sub/a.png\n"
						 "sub/link_in.png\n"
						 "sub/z.png\n");
	assert_int_equal(st.hidden, 0);
	fb_buf_release(&s.list);
}

static void test_callback_stops_walk(void **state)
{
	struct tree *t = *state;
	struct fb_dirwalk_config cfg = {t->root, NULL, 0, NULL, NULL};
	struct seen s = {FB_BUF_INIT, t->root, 0, 3};
	assert_int_equal(fb_dirwalk(&cfg, collect, &s, NULL, NULL), 42);
	assert_int_equal(s.calls, 3);
	fb_buf_release(&s.list);
}

static void test_bad_roots(void **state)
{
	struct tree *t = *state;
	struct fb_err err = {0};
	struct seen s = {FB_BUF_INIT, t->root, 0, 0};
	char *missing = tu_path(t->base, "no-such-folder");
	struct fb_dirwalk_config cfg = {missing, NULL, 0, NULL, NULL};
	assert_int_equal(fb_dirwalk(&cfg, collect, &s, NULL, &err), FB_EIO);
	assert_non_null(strstr(err.msg, "no-such-folder"));
	char *file = tu_path(t->root, "a.png");
	cfg.root = file;
	assert_int_equal(fb_dirwalk(&cfg, collect, &s, NULL, &err), FB_EINVAL);
	assert_non_null(strstr(err.msg, "a.png"));
	assert_non_null(strstr(err.msg, "not a folder"));
	cfg.root = "";
	assert_int_equal(fb_dirwalk(&cfg, collect, &s, NULL, &err), FB_EINVAL);
	assert_int_equal(s.calls, 0);
	free(missing);
	free(file);
}

static void test_signatures(void **state)
{
	(void)state;
	assert_true(fb_dirwalk_is_image((const unsigned char *)LIT(png)));
	assert_false(fb_dirwalk_is_image((const unsigned char *)"\xff\xd8", 2));
	assert_false(fb_dirwalk_is_image((const unsigned char *)"", 0));
	assert_false(fb_dirwalk_is_image((const unsigned char *)LIT("RIFF\x24\0\0\0WAVEfmt ")));
	assert_false(fb_dirwalk_is_image((const unsigned char *)LIT("BM")));
	/* An image brand among the compatible ones counts; in minor_version it does not. */
	assert_true(fb_dirwalk_is_image((const unsigned char *)LIT("\0\0\0\x18"
								   "ftypXXXX\0\0\0\0XXXXheix")));
	assert_false(fb_dirwalk_is_image((const unsigned char *)LIT("\0\0\0\x18"
								    "ftypXXXXheicXXXXXXXX")));
	/* A brand past the box's end belongs to the next box. */
	assert_false(fb_dirwalk_is_image((const unsigned char *)LIT("\0\0\0\x10"
								    "ftypXXXX\0\0\0\0avif")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_image_in_order),
	    cmocka_unit_test(test_same_order_twice_and_trailing_slash),
	    cmocka_unit_test(test_glob_case_folded),
	    cmocka_unit_test(test_include_hidden),
	    cmocka_unit_test(test_callback_stops_walk),
	    cmocka_unit_test(test_bad_roots),
	    cmocka_unit_test(test_signatures),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
