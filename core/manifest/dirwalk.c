/* dirwalk: the image files under a folder, sorted, with safe symlink handling. */
/* fnmatch's FNM_CASEFOLD and realpath are outside strict POSIX.1-2008. */
#define _GNU_SOURCE
#include "dirwalk.h"
#include "buf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Enough for every signature below, ftyp's compatible brands included. */
#define HEAD_LEN 128

/* The folders on the current path: a folder met again below itself is a loop. */
struct ancestor {
	dev_t dev;
	ino_t ino;
	const struct ancestor *up;
};

struct walk {
	const struct fb_dirwalk_config *cfg;
	fb_dirwalk_cb cb;
	void *ud;
	struct fb_dirwalk_stats *st;
	struct fb_err *err;
	char *root_real;
	size_t root_real_len;
	struct fb_buf full; /* the path to open, as the caller spelled root */
	struct fb_buf rel;  /* the path below root, '/'-separated */
};

static int has(const unsigned char *h, size_t len, size_t off, const char *magic, size_t mlen)
{
	return len >= off + mlen && memcmp(h + off, magic, mlen) == 0;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* "BM" alone is two letters a text file may start with; the DIB header size confirms it. */
static int is_bmp(const unsigned char *h, size_t len)
{
	if (!has(h, len, 0, "BM", 2) || len < 18)
		return 0;
	switch (le32(h + 14)) {
	case 12:
	case 16:
	case 40:
	case 52:
	case 56:
	case 64:
	case 108:
	case 124:
		return 1;
	}
	return 0;
}

/* ISO-BMFF: an ftyp box whose major or a compatible brand is an image one. */
static int is_heif(const unsigned char *h, size_t len)
{
	static const char brands[][5] = {"avif", "avis", "heic", "heix", "mif1", "msf1"};
	if (!has(h, len, 4, "ftyp", 4) || len < 16)
		return 0;
	size_t box = be32(h);
	if (box < 16)
		return 0;
	size_t end = box < len ? box : len;
	for (size_t off = 8; off + 4 <= end; off += 4) {
		if (off == 12) /* minor_version, not a brand */
			continue;
		for (size_t i = 0; i < sizeof(brands) / sizeof(brands[0]); i++)
			if (memcmp(h + off, brands[i], 4) == 0)
				return 1;
	}
	return 0;
}

int fb_dirwalk_is_image(const unsigned char *h, size_t len)
{
	return has(h, len, 0, "\x89PNG\r\n\x1a\n", 8) || has(h, len, 0, "\xff\xd8\xff", 3) ||
	       has(h, len, 0, "GIF87a", 6) || has(h, len, 0, "GIF89a", 6) ||
	       (has(h, len, 0, "RIFF", 4) && has(h, len, 8, "WEBP", 4)) ||
	       has(h, len, 0, "II*\0", 4) || has(h, len, 0, "MM\0*", 4) || is_bmp(h, len) ||
	       is_heif(h, len);
}

/* 1 image, 0 not one, -1 unreadable. */
static int file_is_image(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	unsigned char head[HEAD_LEN];
	size_t got = 0;
	while (got < sizeof(head)) {
		ssize_t r = read(fd, head + got, sizeof(head) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	return fb_dirwalk_is_image(head, got);
}

static void truncate_to(struct fb_buf *b, size_t len)
{
	b->len = len;
	if (b->ptr)
		b->ptr[len] = '\0';
}

static int inside_root(const struct walk *w, const char *real)
{
	if (w->root_real_len == 1) /* root is "/" */
		return 1;
	return strncmp(real, w->root_real, w->root_real_len) == 0 &&
	       (real[w->root_real_len] == '/' || real[w->root_real_len] == '\0');
}

static int walk_dir(struct walk *w, const struct ancestor *anc, int is_root);

static int visit(struct walk *w, const char *name, const struct ancestor *anc)
{
	const char *full = fb_buf_str(&w->full);
	struct stat st;
	if (lstat(full, &st) != 0) {
		w->st->unreadable++;
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		char *real = realpath(full, NULL);
		if (!real) {
			/* Dangling, or a link through an unreadable folder. */
			w->st->unreadable++;
			return 0;
		}
		int inside = inside_root(w, real);
		free(real);
		if (!inside) {
			w->st->symlink_outside++;
			return 0;
		}
		if (stat(full, &st) != 0) {
			w->st->unreadable++;
			return 0;
		}
	}
	if (S_ISDIR(st.st_mode)) {
		for (const struct ancestor *a = anc; a; a = a->up) {
			if (a->dev == st.st_dev && a->ino == st.st_ino) {
				w->st->loops++;
				return 0;
			}
		}
		struct ancestor here = {st.st_dev, st.st_ino, anc};
		return walk_dir(w, &here, 0);
	}
	if (!S_ISREG(st.st_mode)) {
		/* FIFOs and devices: opening one could block or have side effects. */
		w->st->not_image++;
		return 0;
	}
	if (w->cfg->glob && fnmatch(w->cfg->glob, name, FNM_CASEFOLD) != 0) {
		w->st->not_matching++;
		return 0;
	}
	int img = w->cfg->known && w->cfg->known(w->cfg->known_ud, fb_buf_str(&w->rel), &st)
		      ? 1
		      : file_is_image(full);
	if (img < 0) {
		w->st->unreadable++;
		return 0;
	}
	if (!img) {
		w->st->not_image++;
		return 0;
	}
	w->st->images++;
	return w->cb(w->ud, fb_buf_str(&w->rel), full, &st);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * Reads the whole listing and closes it before descending, so open
 * descriptors stay at one whatever the depth.
 */
static int list_dir(struct walk *w, int is_root, char ***out, size_t *count)
{
	const char *full = w->full.len ? fb_buf_str(&w->full) : "/";
	*out = NULL;
	*count = 0;
	DIR *d = opendir(full);
	if (!d) {
		if (is_root)
			return fb_err_set(w->err, FB_EIO, FB_KIND_BATCH,
					  "cannot list folder %s: %s", w->cfg->root,
					  strerror(errno));
		w->st->unreadable++;
		return 0;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **nn = realloc(names, ncap * sizeof(*nn));
			if (!nn)
				goto nomem;
			names = nn;
			cap = ncap;
		}
		if (!(names[n] = strdup(de->d_name)))
			goto nomem;
		n++;
	}
	if (errno) /* a listing cut short: keep what was read, say so in the counts */
		w->st->unreadable++;
	closedir(d);
	if (n > 1) /* qsort may not be given NULL, even for no names */
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	*count = n;
	return 0;
nomem:
	closedir(d);
	free_names(names, n);
	return fb_err_set(w->err, FB_ENOMEM, FB_KIND_BATCH, "out of memory listing %s",
			  w->cfg->root);
}

static int walk_dir(struct walk *w, const struct ancestor *anc, int is_root)
{
	char **names;
	size_t n;
	int rc = list_dir(w, is_root, &names, &n);
	if (rc)
		return rc;
	size_t full_len = w->full.len, rel_len = w->rel.len;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *name = names[i];
		if (name[0] == '.' && !w->cfg->include_hidden) {
			w->st->hidden++;
			continue;
		}
		if (fb_buf_addc(&w->full, '/') || fb_buf_adds(&w->full, name) ||
		    (rel_len && fb_buf_addc(&w->rel, '/')) || fb_buf_adds(&w->rel, name)) {
			rc = fb_err_set(w->err, FB_ENOMEM, FB_KIND_BATCH,
					"out of memory walking %s", w->cfg->root);
			break;
		}
		rc = visit(w, name, anc);
		truncate_to(&w->full, full_len);
		truncate_to(&w->rel, rel_len);
	}
	free_names(names, n);
	return rc;
}

int fb_dirwalk(const struct fb_dirwalk_config *cfg, fb_dirwalk_cb cb, void *ud,
	       struct fb_dirwalk_stats *stats, struct fb_err *err)
{
	struct fb_dirwalk_stats local;
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if (!cfg || !cfg->root || !*cfg->root || !cb)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "no folder to walk");

	struct stat st;
	if (stat(cfg->root, &st) != 0)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot open folder %s: %s",
				  cfg->root, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "%s is not a folder", cfg->root);

	struct walk w = {cfg, cb, ud, stats, err, NULL, 0, FB_BUF_INIT, FB_BUF_INIT};
	w.root_real = realpath(cfg->root, NULL);
	if (!w.root_real)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot resolve folder %s: %s",
				  cfg->root, strerror(errno));
	w.root_real_len = strlen(w.root_real);

	/* Trailing slashes would double up in every joined path; "/" becomes "". */
	size_t rlen = strlen(cfg->root);
	while (rlen > 0 && cfg->root[rlen - 1] == '/')
		rlen--;
	int rc = 0;
	if (fb_buf_add(&w.full, cfg->root, rlen) || fb_buf_adds(&w.rel, ""))
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory walking %s",
				cfg->root);
	if (!rc) {
		struct ancestor top = {st.st_dev, st.st_ino, NULL};
		rc = walk_dir(&w, &top, 1);
	}
	free(w.root_real);
	fb_buf_release(&w.full);
	fb_buf_release(&w.rel);
	return rc;
}
