/* archive: entries written with hostile names read back safe, unique and byte-exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "fbarchive.h"
#include "json.h"
#include "testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MTIME 1700000000

struct entry {
	char *name;
	char *data;
	size_t len;
	int64_t mtime;
	int mode;
};

/*
 * Reads every entry of a .tar.gz back with libarchive (caller frees), as a
 * new user's tar would in a UTF-8 locale: libarchive has no UTF-8 name for
 * a non-ASCII entry in the C locale.
 */
static struct entry *read_back(const char *path, size_t *count)
{
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (utf8 == (locale_t)0)
		utf8 = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
	if (utf8 == (locale_t)0)
		skip();
	locale_t old = uselocale(utf8);
	struct archive *ar = archive_read_new();
	archive_read_support_filter_all(ar);
	archive_read_support_format_all(ar);
	assert_int_equal(archive_read_open_filename(ar, path, 10240), ARCHIVE_OK);
	struct entry *es = NULL;
	size_t n = 0;
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(ar, &e)) == ARCHIVE_OK) {
		es = realloc(es, (n + 1) * sizeof(*es));
		struct entry *x = &es[n++];
		const char *name = archive_entry_pathname_utf8(e);
		assert_non_null(name);
		x->name = strdup(name);
		x->len = (size_t)archive_entry_size(e);
		x->data = malloc(x->len + 1);
		x->mtime = archive_entry_mtime(e);
		x->mode = (int)archive_entry_mode(e);
		size_t got = 0;
		while (got < x->len) {
			la_ssize_t k = archive_read_data(ar, x->data + got, x->len - got);
			assert_true(k > 0);
			got += (size_t)k;
		}
	}
	assert_int_equal(r, ARCHIVE_EOF);
	archive_read_free(ar);
	uselocale(old);
	freelocale(utf8);
	*count = n;
	return es;
}

static void free_entries(struct entry *es, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(es[i].name);
		free(es[i].data);
	}
	free(es);
}

/* What every extracted name must be, whatever went in. */
static void assert_safe(const char *name)
{
	size_t len = strlen(name);
	assert_true(len > 0 && len < 255);
	assert_true(name[0] != '/');
	assert_null(strstr(name, ".."));
	assert_true(fb_json_utf8_valid(name, len));
	for (const char *p = name; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f && *p != '\\');
	for (const char *c = name; *c;) {
		size_t n = strcspn(c, "/");
		assert_true(n > 0 && n <= 100);
		assert_false(c[0] == '.');
		c += n + (c[n] == '/');
	}
}

struct add {
	const char *dir, *name, *expect; /* expect NULL: only the safety rules are checked */
};

static void test_hostile_names_read_back(void **state)
{
	(void)state;
	char long_x[400], long_e[401], long_dir[500], many[20 * 11 + 1];
	memset(long_x, 'x', 300);
	strcpy(long_x + 300, ".png");
	for (int i = 0; i < 200; i++)
		memcpy(long_e + 2 * i, "\xc3\xa9", 2);
	long_e[400] = '\0';
	memset(long_dir, 'd', 499);
	long_dir[499] = '\0';
	for (int i = 0; i < 20; i++)
		memcpy(many + 11 * i, "abcdefghij/", 11);
	many[20 * 11] = '\0';

	char x96[97], x94[95], e50[101];
	memset(x96, 'x', 96);
	x96[96] = '\0';
	memset(x94, 'x', 94);
	x94[94] = '\0';
	memcpy(e50, long_e, 100);
	e50[100] = '\0';
	char exp_long[120], exp_long2[120];
	snprintf(exp_long, sizeof(exp_long), "%s.png", x96);
	snprintf(exp_long2, sizeof(exp_long2), "%s-2.png", x94);

	const struct add adds[] = {
	    {"dir/sub/x", "out.png", "dir/sub/x/out.png"},
	    {"dir/sub/x", "out.png", "dir/sub/x/out-2.png"},
	    {"dir//./sub/x/", "out.png", "dir/sub/x/out-3.png"},
	    {NULL, "../../etc/passwd", NULL},
	    {"../../etc", "passwd", "_./_./etc/passwd"},
	    {"..", "x", "_./x"},
	    {"/abs", "f.txt", "abs/f.txt"},
	    {NULL, "/abs", "_abs"},
	    {"", "a\nb", "a_b"},
	    /* "_." is already the directory made from ".." above. */
	    {NULL, "..", "_.-2"},
	    {NULL, "", "_"},
	    {NULL, ".", "_-2"},
	    {NULL, ".hidden", "_hidden"},
	    {NULL, "a..b.txt", "a.b.txt"},
	    {NULL, "C:\\win\x7f\xc2\x85.txt", "C__win__.txt"},
	    {NULL, long_x, exp_long},
	    {NULL, long_x, exp_long2},
	    {NULL, long_e, e50},
	    {NULL, "\xff\xfeok.bin", "__ok.bin"},
	    {NULL, "a.png", "a.png"},
	    {NULL, "A.png", "A-2.png"},
	    {NULL, "clash", "clash"},
	    {"clash", "y", "clash-2/y"},
	    {"k", "z", "k/z"},
	    {NULL, "k", "k-2"},
	    {long_dir, "f", NULL},
	    {many, "deep.png", NULL},
	    {"bad\xffid/\x01", "\xe6\x97\xa5\xe6\x9c\xac.txt",
	     "bad_id/_/\xe6\x97\xa5\xe6\x9c\xac.txt"},
	    {NULL, "empty.bin", "empty.bin"},
	};
	size_t nadds = sizeof(adds) / sizeof(adds[0]);

	char *dir = tu_tmpdir();
	char *path = tu_path(dir, "out.tar.gz");
	struct fb_archive *a = NULL;
	struct fb_err err = {0};
	assert_int_equal(fb_archive_open(&a, path, &err), 0);

	char **written = calloc(nadds, sizeof(*written));
	char **datas = calloc(nadds, sizeof(*datas));
	size_t *lens = calloc(nadds, sizeof(*lens));
	struct fb_buf final = FB_BUF_INIT;
	for (size_t i = 0; i < nadds; i++) {
		if (!strcmp(adds[i].name, "empty.bin")) {
			datas[i] = strdup("");
			lens[i] = 0;
		} else if (i == 3) {
			/* One big entry spanning many tar blocks. */
			lens[i] = 300000;
			datas[i] = malloc(lens[i]);
			uint32_t x = 12345;
			for (size_t k = 0; k < lens[i]; k++) {
				x = x * 1103515245u + 12345u;
				datas[i][k] = (char)(x >> 16);
			}
		} else {
			char tmp[32];
			lens[i] = (size_t)snprintf(tmp, sizeof(tmp), "data-%zu", i);
			datas[i] = strdup(tmp);
		}
		assert_int_equal(fb_archive_add(a, adds[i].dir, adds[i].name, datas[i], lens[i],
						MTIME, &final, &err),
				 0);
		if (adds[i].expect)
			assert_string_equal(fb_buf_str(&final), adds[i].expect);
		written[i] = strdup(fb_buf_str(&final));
	}
	assert_int_equal(fb_archive_close(a, &err), 0);

	size_t n;
	struct entry *es = read_back(path, &n);
	assert_int_equal(n, nadds);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(es[i].name, written[i]);
		assert_int_equal(es[i].len, lens[i]);
		assert_memory_equal(es[i].data, datas[i], lens[i]);
		assert_int_equal(es[i].mtime, MTIME);
		assert_int_equal(es[i].mode, AE_IFREG | 0644);
		assert_safe(es[i].name);
		for (size_t j = 0; j < i; j++) {
			/* Unique even on a case-insensitive disk, and never a file where a dir must
			 * be. */
			size_t li = strlen(es[i].name), lj = strlen(es[j].name);
			assert_true(strcasecmp(es[i].name, es[j].name) != 0);
			assert_false(li > lj && !strncasecmp(es[i].name, es[j].name, lj) &&
				     es[i].name[lj] == '/');
			assert_false(lj > li && !strncasecmp(es[j].name, es[i].name, li) &&
				     es[j].name[li] == '/');
		}
	}
	free_entries(es, n);
	for (size_t i = 0; i < nadds; i++) {
		free(written[i]);
		free(datas[i]);
	}
	free(written);
	free(datas);
	free(lens);
	fb_buf_release(&final);
	free(path);
	tu_rmrf(dir);
	free(dir);
}

static void test_many_entries(void **state)
{
	(void)state;
	/* Enough names to grow the name table several times; all duplicates of a few. */
	char *dir = tu_tmpdir();
	char *path = tu_path(dir, "many.tar.gz");
	struct fb_archive *a = NULL;
	struct fb_err err = {0};
	struct fb_buf final = FB_BUF_INIT;
	assert_int_equal(fb_archive_open(&a, path, &err), 0);
	for (int i = 0; i < 3000; i++) {
		char id[16];
		snprintf(id, sizeof(id), "item-%d", i % 7);
		assert_int_equal(fb_archive_add(a, id, "o.png", "x", 1, MTIME, &final, &err), 0);
		char expect[64];
		if (i < 7)
			snprintf(expect, sizeof(expect), "%s/o.png", id);
		else
			snprintf(expect, sizeof(expect), "%s/o-%d.png", id, i / 7 + 1);
		assert_string_equal(fb_buf_str(&final), expect);
	}
	assert_string_equal(fb_buf_str(&final), "item-3/o-429.png");
	assert_int_equal(fb_archive_close(a, &err), 0);
	size_t n;
	struct entry *es = read_back(path, &n);
	assert_int_equal(n, 3000);
	free_entries(es, n);
	fb_buf_release(&final);
	free(path);
	tu_rmrf(dir);
	free(dir);
}

static void assert_safe_name(const char *in, size_t max, const char *expect)
{
	struct fb_buf out = FB_BUF_INIT;
	fb_buf_adds(&out, "pre/");
	assert_int_equal(fb_archive_safe_name(&out, in, max), 0);
	assert_string_equal(fb_buf_str(&out) + 4, expect);
	fb_buf_release(&out);
}

/* Odd ids get their own folder and a readable name with its extension. */
static void test_odd_ids_get_folders(void **state)
{
	(void)state;
	char *dir = tu_tmpdir();
	struct fb_archive_names *n = NULL;
	struct fb_buf out = FB_BUF_INIT;
	assert_int_equal(fb_archive_names_new(&n, dir), 0);
	assert_int_equal(fb_archive_names_reserve(n, "item", "trailing.dot..png", &out), 0);
	assert_string_equal(fb_buf_str(&out), "item/trailing.dot.png");
	assert_int_equal(fb_archive_names_reserve(n, ".", "out_1.png", &out), 0);
	assert_string_equal(fb_buf_str(&out), "_/out_1.png"); /* not at the archive's root */
	assert_int_equal(fb_archive_names_reserve(n, "/", "out_1.png", &out), 0);
	assert_string_equal(fb_buf_str(&out), "_/out_1-2.png");
	assert_int_equal(fb_archive_names_reserve(n, "..", "out_1.png", &out), 0);
	assert_string_equal(fb_buf_str(&out), "_./out_1.png");
	fb_buf_release(&out);
	fb_archive_names_free(n);
	tu_rmrf(dir);
	free(dir);
}

static void test_safe_name(void **state)
{
	(void)state;
	assert_safe_name("plain-name_1.png", 100, "plain-name_1.png");
	assert_safe_name(NULL, 100, "_");
	assert_safe_name("", 100, "_");
	assert_safe_name(".", 100, "_");
	assert_safe_name("..", 100, "_.");
	assert_safe_name("...", 100, "_.");
	/* A run of dots is one dot: an output id ending in "." keeps its extension's. */
	assert_safe_name("trailing.dot..png", 100, "trailing.dot.png");
	assert_safe_name("a/b\\c:d", 100, "a_b_c_d");
	assert_safe_name("tab\there\r\n\x1b[31m", 100, "tab_here___[31m");
	assert_safe_name("c1\xc2\x9f-nbsp\xc2\xa0", 100, "c1_-nbsp\xc2\xa0");
	assert_safe_name("\xed\xa0\x80x", 100, "___x");
	assert_safe_name("abcdef", 4, "abcd");
	assert_safe_name("abcdef", 0, "a");
	/* Never half a character: 3 bytes of room hold one 2-byte 'é'. */
	assert_safe_name("\xc3\xa9\xc3\xa9", 3, "\xc3\xa9");
	assert_safe_name("a\xf0\x9f\x98\x80", 4, "a");
	assert_safe_name("\xff\xff\xff", 2, "__");
}

static void test_ext_for(void **state)
{
	(void)state;
	char b[FB_ARCHIVE_EXT_MAX];
	assert_string_equal(fb_archive_ext_for("image/png", NULL, NULL, b), "png");
	assert_string_equal(fb_archive_ext_for("IMAGE/JPEG", "https://h/x.webp", NULL, b), "jpg");
	assert_string_equal(fb_archive_ext_for("image/webp", NULL, NULL, b), "webp");
	assert_string_equal(fb_archive_ext_for("image/gif", NULL, NULL, b), "gif");
	assert_string_equal(fb_archive_ext_for("video/mp4", NULL, NULL, b), "mp4");
	assert_string_equal(fb_archive_ext_for("video/webm", NULL, NULL, b), "webm");
	assert_string_equal(fb_archive_ext_for("video/quicktime", NULL, NULL, b), "mov");
	assert_string_equal(fb_archive_ext_for("audio/mpeg", NULL, NULL, b), "mp3");
	assert_string_equal(fb_archive_ext_for("audio/wav", NULL, NULL, b), "wav");
	assert_string_equal(fb_archive_ext_for("audio/ogg", NULL, NULL, b), "ogg");
	assert_string_equal(fb_archive_ext_for("application/pdf", NULL, NULL, b), "pdf");
	assert_string_equal(fb_archive_ext_for("text/plain; charset=utf-8", NULL, NULL, b), "txt");
	assert_string_equal(fb_archive_ext_for(" application/json;charset=UTF-8", NULL, NULL, b),
			    "json");
	/* Unknown or vague types fall through to the URL. */
	assert_string_equal(fb_archive_ext_for("application/octet-stream",
					       "https://cdn.example/a/b.PNG?x=1.gif", NULL, b),
			    "png");
	assert_string_equal(fb_archive_ext_for(NULL, "https://h/f.tar.gz#frag", NULL, b), "gz");
	assert_string_equal(fb_archive_ext_for("", "http://h/v/clip.mp4", "videoUrl", b), "mp4");
	assert_string_equal(fb_archive_ext_for(NULL, "https://h/model.glb", NULL, b), "glb");
	/* Not an extension: too long, not alphanumeric, a hidden file, only a host, no dot. */
	assert_string_equal(fb_archive_ext_for(NULL, "https://h/x.toolong", NULL, b), "bin");
	assert_string_equal(fb_archive_ext_for(NULL, "https://h/x.p-g", NULL, b), "bin");
	assert_string_equal(fb_archive_ext_for(NULL, "https://h/.png", NULL, b), "bin");
	assert_string_equal(fb_archive_ext_for(NULL, "https://example.com", NULL, b), "bin");
	assert_string_equal(fb_archive_ext_for(NULL, "https://example.com?f=a.png", NULL, b),
			    "bin");
	assert_string_equal(fb_archive_ext_for(NULL, "https://h/dir.d/file", NULL, b), "bin");
	assert_string_equal(fb_archive_ext_for(NULL, "https://h/x.", NULL, b), "bin");
	/* A text output's "url" may hold the text: it is not a URL to take a name from. */
	assert_string_equal(fb_archive_ext_for(NULL, "see the notes.md", "text", b), "txt");
	assert_string_equal(fb_archive_ext_for(NULL, NULL, "text", b), "txt");
	assert_string_equal(fb_archive_ext_for(NULL, NULL, "imageUrl", b), "bin");
	assert_string_equal(fb_archive_ext_for(NULL, NULL, NULL, b), "bin");
}

/* Every format round-trips names and bytes, and its file starts with its own magic. */
static void test_formats_round_trip(void **state)
{
	(void)state;
	static const struct {
		enum fb_archive_format f;
		int threads;
		const char *magic;
		size_t at, len;
	} fmts[] = {
	    {FB_ARCHIVE_TGZ, 0, "\x1f\x8b", 0, 2},
	    {FB_ARCHIVE_TZST, 0, "\x28\xb5\x2f\xfd", 0, 4},
	    {FB_ARCHIVE_TZST, 1, "\x28\xb5\x2f\xfd", 0, 4},
	    {FB_ARCHIVE_TZST, 3, "\x28\xb5\x2f\xfd", 0, 4},
	    {FB_ARCHIVE_TAR, 0, "ustar", 257, 5},
	};
	/* Big enough for zstd's workers to split it into several jobs. */
	size_t big = 3u << 20;
	char *data = malloc(big);
	uint32_t x = 7;
	for (size_t k = 0; k < big; k++) {
		x = x * 1103515245u + 12345u;
		data[k] = (k / 4096) % 2 ? 'r' : (char)(x >> 16);
	}
	char *dir = tu_tmpdir();
	struct fb_buf final = FB_BUF_INIT;
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		char fname[32];
		snprintf(fname, sizeof(fname), "o%zu%s", i, fb_archive_format_ext(fmts[i].f));
		char *path = tu_path(dir, fname);
		struct fb_archive *a = NULL;
		struct fb_err err = {0};
		assert_int_equal(fb_archive_open_format(&a, path, fmts[i].f, fmts[i].threads, &err),
				 0);
		assert_int_equal(
		    fb_archive_add(a, "item/1", "big.bin", data, big, MTIME, &final, &err), 0);
		assert_int_equal(fb_archive_add(a, "..", "a\nb.txt", "hi", 2, MTIME, &final, &err),
				 0);
		assert_string_equal(fb_buf_str(&final), "_./a_b.txt");
		assert_int_equal(fb_archive_add(a, NULL, "empty", "", 0, MTIME, &final, &err), 0);
		assert_int_equal(fb_archive_close(a, &err), 0);

		size_t flen = 0;
		char *raw = tu_read_file(path, &flen);
		assert_non_null(raw);
		assert_true(flen > fmts[i].at + fmts[i].len);
		assert_memory_equal(raw + fmts[i].at, fmts[i].magic, fmts[i].len);
		if (fmts[i].f == FB_ARCHIVE_TAR)
			assert_true(flen >= big);
		else
			assert_true(flen < big); /* half the data repeats: compression happened */
		free(raw);

		size_t n;
		struct entry *es = read_back(path, &n);
		assert_int_equal(n, 3);
		assert_string_equal(es[0].name, "item/1/big.bin");
		assert_int_equal(es[0].len, big);
		assert_memory_equal(es[0].data, data, big);
		assert_string_equal(es[1].name, "_./a_b.txt");
		assert_int_equal(es[1].len, 2);
		assert_memory_equal(es[1].data, "hi", 2);
		assert_string_equal(es[2].name, "empty");
		assert_int_equal(es[2].len, 0);
		free_entries(es, n);
		free(path);
	}
	fb_buf_release(&final);
	free(data);
	tu_rmrf(dir);
	free(dir);
}

static void test_format_parse_ext(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		enum fb_archive_format f;
	} ok[] = {
	    {"tar.gz", FB_ARCHIVE_TGZ},	  {"tgz", FB_ARCHIVE_TGZ},	{".tar.gz", FB_ARCHIVE_TGZ},
	    {"TGZ", FB_ARCHIVE_TGZ},	  {"tar.zst", FB_ARCHIVE_TZST}, {"tzst", FB_ARCHIVE_TZST},
	    {"Tar.Zst", FB_ARCHIVE_TZST}, {"tar", FB_ARCHIVE_TAR},	{".tar", FB_ARCHIVE_TAR},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		enum fb_archive_format f = (enum fb_archive_format)99;
		assert_int_equal(fb_archive_format_parse(ok[i].s, &f), 0);
		assert_int_equal(f, ok[i].f);
	}
	static const char *const bad[] = {"", "zip", "tar.bz2", "gz", "tar.gz ", "..tar", "zst"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum fb_archive_format f = FB_ARCHIVE_TAR;
		assert_int_equal(fb_archive_format_parse(bad[i], &f), FB_EINVAL);
		assert_int_equal(f, FB_ARCHIVE_TAR);
	}
	enum fb_archive_format f = FB_ARCHIVE_TAR;
	assert_int_equal(fb_archive_format_parse(NULL, &f), FB_EINVAL);
	assert_string_equal(fb_archive_format_ext(FB_ARCHIVE_TGZ), ".tar.gz");
	assert_string_equal(fb_archive_format_ext(FB_ARCHIVE_TZST), ".tar.zst");
	assert_string_equal(fb_archive_format_ext(FB_ARCHIVE_TAR), ".tar");
	/* Every extension parses back to its format. */
	for (int k = FB_ARCHIVE_TGZ; k <= FB_ARCHIVE_TAR; k++) {
		assert_int_equal(fb_archive_format_parse(fb_archive_format_ext(k), &f), 0);
		assert_int_equal(f, k);
	}
}

static void test_errors(void **state)
{
	(void)state;
	struct fb_archive *a = (struct fb_archive *)1;
	struct fb_err err = {0};
	assert_int_equal(fb_archive_open(&a, "/nonexistent-dir/out.tar.gz", &err), FB_EIO);
	assert_null(a);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/out.tar.gz"));
	assert_int_equal(fb_archive_close(NULL, &err), 0);

	if (access("/dev/full", W_OK) != 0)
		return;
	/* A full disk surfaces on an add or at the latest on close, never silently. */
	assert_int_equal(fb_archive_open(&a, "/dev/full", &err), 0);
	size_t len = 1 << 20;
	char *data = malloc(len);
	uint32_t x = 1;
	for (size_t k = 0; k < len; k++) {
		x = x * 1103515245u + 12345u;
		data[k] = (char)(x >> 16);
	}
	struct fb_buf final = FB_BUF_INIT;
	fb_err_clear(&err);
	int rc = fb_archive_add(a, "d", "big.bin", data, len, MTIME, &final, &err);
	if (rc) {
		assert_int_equal(rc, FB_EIO);
		assert_non_null(strstr(err.msg, "/dev/full"));
		/* A broken archive takes no more entries. */
		assert_int_equal(fb_archive_add(a, "d", "more.bin", "x", 1, MTIME, &final, &err),
				 FB_EIO);
	}
	fb_err_clear(&err);
	assert_int_equal(fb_archive_close(a, &err), FB_EIO);
	assert_non_null(strstr(err.msg, "/dev/full"));
	fb_buf_release(&final);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hostile_names_read_back),
	    cmocka_unit_test(test_many_entries),
	    cmocka_unit_test(test_safe_name),
	    cmocka_unit_test(test_odd_ids_get_folders),
	    cmocka_unit_test(test_ext_for),
	    cmocka_unit_test(test_formats_round_trip),
	    cmocka_unit_test(test_format_parse_ext),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
