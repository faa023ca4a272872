/*
 * mergefx: what the end-to-end tests of florabatch merge share: a world of
 * a temporary folder; folders made by florabatch run against its in-process
 * simulator (items p<from>..p<to>); a merged folder checked (each id once,
 * every output once with its line's sha256); folders compared byte for
 * byte. Include after cmocka.h.
 */
#ifndef FB_MERGEFX_H
#define FB_MERGEFX_H

#include "e2e.h"
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct mfx_world {
	char *dir;
};

static inline int mfx_setup(void **state)
{
	struct mfx_world *w = calloc(1, sizeof(*w));
	w->dir = tu_tmpdir();
	*state = w;
	return 0;
}

static inline int mfx_teardown(void **state)
{
	struct mfx_world *w = *state;
	tu_rmrf(w->dir);
	free(w->dir);
	free(w);
	return 0;
}

static inline struct e2e_run mfx_fb(struct mfx_world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline struct e2e_run mfx_fb(struct mfx_world *w, const char *fmt, ...)
{
	char args[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return e2e_florabatch(w->dir, args);
}

static inline void mfx_sh(struct mfx_world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void mfx_sh(struct mfx_world *w, const char *fmt, ...)
{
	char cmd[4096], full[4400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && %s", w->dir, cmd);
	char *err = NULL;
	int st = tu_run(full, NULL, &err);
	if (st)
		print_error("%s: exit %d: %s\n", cmd, st, err);
	free(err);
	assert_int_equal(st, 0);
}

/*
 * The folder out made by run: items p<from>..p<to> of cctv-cam (tag makes
 * other input URLs: other work under the same ids), with extra options.
 * Its exit status (0, or 1 when runs were made to fail).
 */
static inline int mfx_batch(struct mfx_world *w, const char *out, int from, int to, const char *tag,
			    const char *extra)
{
	char name[64], text[65536];
	size_t len = (size_t)snprintf(text, sizeof(text), "id,input_image\n");
	for (int i = from; i <= to; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"p%d,https://x.example/%s/p%d.png\n", i, tag, i);
	snprintf(name, sizeof(name), "m-%s.csv", out);
	free(tu_write_file(w->dir, name, text, len));
	extra = extra ? extra : "";
	struct e2e_run r = mfx_fb(w, "run %s --out %s %s %s --quiet --concurrency 64 %s", name, out,
				  strstr(extra, "--technique") ? "" : "--technique cctv-cam",
				  strstr(extra, "--sim-clock") ? "" : "--sim-clock virtual", extra);
	if (r.status > 1)
		print_error("run into %s: exit %d: %s\n", out, r.status, r.err);
	assert_true(r.status <= 1);
	int st = r.status;
	e2e_run_free(&r);
	return st;
}

static inline struct e2e_lines mfx_lines_of(struct mfx_world *w, const char *folder)
{
	char rel[256], why[512];
	snprintf(rel, sizeof(rel), "%s/results.jsonl", folder);
	char *path = tu_path(w->dir, rel);
	struct e2e_lines l;
	int torn = 0;
	if (e2e_read_jsonl_file(path, &l, &torn, why, sizeof(why)))
		fail_msg("%s: %s", path, why);
	assert_int_equal(torn, 0);
	free(path);
	return l;
}

/* out holds p1..pN each once, and its archive every output of them once, by its sha256. */
static inline struct e2e_lines mfx_assert_merged(struct mfx_world *w, const char *out, int n)
{
	char rel[256], why[1024];
	struct e2e_lines l = mfx_lines_of(w, out);
	if (e2e_check_ids(&l, n, 1, why, sizeof(why)))
		fail_msg("%s: %s", out, why);
	snprintf(rel, sizeof(rel), "%s/outputs.tar.gz", out);
	char *first = tu_path(w->dir, rel);
	if (e2e_count_status(&l, "completed") && e2e_check_archive(first, &l, why, sizeof(why)))
		fail_msg("%s: %s", out, why);
	free(first);
	return l;
}

static inline char *mfx_file(struct mfx_world *w, const char *rel, size_t *len)
{
	char *path = tu_path(w->dir, rel);
	char *text = tu_read_file(path, len);
	free(path);
	return text;
}

static inline int mfx_exists(struct mfx_world *w, const char *rel)
{
	char *path = tu_path(w->dir, rel);
	struct stat st;
	int yes = lstat(path, &st) == 0;
	free(path);
	return yes;
}

static inline void mfx_same_file(struct mfx_world *w, const char *a, const char *b)
{
	size_t la = 0, lb = 0;
	char *x = mfx_file(w, a, &la), *y = mfx_file(w, b, &lb);
	if (!x || !y || la != lb || memcmp(x, y, la))
		fail_msg("%s and %s differ (%zu and %zu bytes)", a, b, la, lb);
	free(x);
	free(y);
}

static inline void mfx_has(const char *text, const char *needle)
{
	if (!text || !strstr(text, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, text ? text : "(nothing)");
}

/* The files a merge leaves, named in out (volumes: how many it should hold). */
static const char *const mfx_merged_files[] = {"results.jsonl", "volumes.jsonl", "duplicates.jsonl",
					       "merge.json"};

static inline void mfx_same_folder(struct mfx_world *w, const char *a, const char *b, int volumes)
{
	char x[128], y[128];
	for (size_t i = 0; i < sizeof(mfx_merged_files) / sizeof(mfx_merged_files[0]); i++) {
		snprintf(x, sizeof(x), "%s/%s", a, mfx_merged_files[i]);
		snprintf(y, sizeof(y), "%s/%s", b, mfx_merged_files[i]);
		if (strcmp(mfx_merged_files[i], "merge.json")) /* it names no folder of its own */
			mfx_same_file(w, x, y);
	}
	for (int v = 1; v <= volumes; v++) {
		if (v == 1) {
			snprintf(x, sizeof(x), "%s/outputs.tar.gz", a);
			snprintf(y, sizeof(y), "%s/outputs.tar.gz", b);
		} else {
			snprintf(x, sizeof(x), "%s/outputs.%04d.tar.gz", a, v);
			snprintf(y, sizeof(y), "%s/outputs.%04d.tar.gz", b, v);
		}
		mfx_same_file(w, x, y);
	}
	snprintf(x, sizeof(x), "%s/outputs.%04d.tar.gz", b, volumes + 1);
	assert_false(mfx_exists(w, x));
}

/* mfx_same_folder, and no stage left behind: the merge that made b ended. */
static inline void mfx_same_folder_ended(struct mfx_world *w, const char *a, const char *b,
					 int volumes)
{
	char x[128];
	mfx_same_folder(w, a, b, volumes);
	snprintf(x, sizeof(x), "%s/.merge.tmp", b);
	assert_false(mfx_exists(w, x));
}

#endif
