/* mergeout: the merged folder's files staged in OUT/.merge.tmp, then renamed into place. */
#include "mergeout.h"
#include "buf.h"
#include "item.h"
#include "safeopen.h"
#include "volumes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAGE ".merge.tmp"

char *fb_mergeout_path(const char *dir, const char *name)
{
	struct fb_buf b = FB_BUF_INIT;
	if (fb_buf_addf(&b, "%s/%s", dir, name)) {
		fb_buf_release(&b);
		return NULL;
	}
	return fb_buf_detach(&b, NULL);
}

static int exists(const char *dir, const char *name, int nonempty)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0 && (!nonempty || st.st_size > 0);
}

int fb_mergeout_check(const char *out, struct fb_err *err)
{
	static const char *const batch[] = {"results.jsonl", "volumes.jsonl", "outputs.tar.gz",
					    "outputs.tar.zst", "outputs.tar"};
	int merged = exists(out, "merge.json", 0);
	if (merged && (exists(out, "journal.jsonl", 0) || exists(out, "spool.dat", 1)))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "%s: a batch has run there since a merge made it (it holds "
				  "journal.jsonl): merge into a new folder",
				  out);
	for (size_t i = 0; !merged && i < sizeof(batch) / sizeof(batch[0]); i++)
		if (exists(out, batch[i], 0))
			return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
					  "%s holds a batch's files (%s), not a merge's: merge "
					  "writes into a new folder, or one an earlier merge made",
					  out, batch[i]);
	if (!merged && (exists(out, "journal.jsonl", 0) || exists(out, "spool.dat", 1)))
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "%s holds a batch's journal or spool: merge writes into a new "
				  "folder, or one an earlier merge made",
				  out);
	return 0;
}

/* Removes the stage's files (every one is merge's own, a flat folder), then the stage. */
static int clear_stage(const char *stage)
{
	struct stat st;
	if (lstat(stage, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ELOOP; /* a link or a file planted under our name: not ours to follow */
		return -1;
	}
	DIR *d = opendir(stage);
	struct dirent *e;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	return rmdir(stage);
}

int fb_mergeout_stage(const char *out, char **stage, struct fb_err *err)
{
	*stage = fb_mergeout_path(out, STAGE);
	if (!*stage)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	if (clear_stage(*stage) != 0 || mkdir(*stage, 0755) != 0) {
		int e = errno;
		free(*stage);
		*stage = NULL;
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s/%s: %s", out, STAGE,
				  fb_safe_strerror(e));
	}
	return 0;
}

void fb_mergeout_abandon(const char *stage)
{
	if (stage)
		clear_stage(stage);
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* text into dir/name, through a temporary name, durably. */
static int write_json(const char *dir, const char *name, const char *text, struct fb_err *err)
{
	char path[4096], tmp[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	int fd = fb_safe_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t len = strlen(text);
	ssize_t w = fd < 0 ? -1 : write(fd, text, len);
	int ok = w == (ssize_t)len && fsync(fd) == 0;
	int e = errno;
	if (fd >= 0 && close(fd) != 0)
		ok = 0;
	if (ok && rename(tmp, path) == 0 && sync_dir(dir) == 0)
		return 0;
	e = errno ? errno : e;
	unlink(tmp);
	return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path, fb_safe_strerror(e));
}

static int move(const char *stage, const char *out, const char *name, struct fb_err *err)
{
	char from[4096], to[4096];
	snprintf(from, sizeof(from), "%s/%s", stage, name);
	snprintf(to, sizeof(to), "%s/%s", out, name);
	if (fb_safe_nolink(to) != 0 || rename(from, to) != 0)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", to,
				  fb_safe_strerror(errno));
	return 0;
}

/* An earlier merge's volumes this one does not replace: of every format, past keep of f's. */
static int remove_stale(const char *out, unsigned keep, enum fb_archive_format f,
			struct fb_err *err)
{
	static const enum fb_archive_format all[] = {FB_ARCHIVE_TGZ, FB_ARCHIVE_TZST,
						     FB_ARCHIVE_TAR};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		char first[4096], path[4096];
		snprintf(first, sizeof(first), "%s/outputs%s", out, fb_archive_format_ext(all[i]));
		/* A merge's volumes run 1..K without a gap: the first missing one ends them. */
		for (unsigned n = all[i] == f ? keep + 1 : 1;; n++) {
			if (fb_volumes_path(first, n, path, sizeof(path)))
				break;
			if (unlink(path) == 0)
				continue;
			if (errno == ENOENT)
				break;
			return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot remove it: %s",
					  path, strerror(errno));
		}
	}
	return 0;
}

int fb_mergeout_commit(const char *out, const char *stage, unsigned volumes,
		       enum fb_archive_format f, const char *json_writing, const char *json_done,
		       struct fb_err *err)
{
	char first[64], name[64];
	snprintf(first, sizeof(first), "outputs%s", fb_archive_format_ext(f));
	int rc = write_json(out, "merge.json", json_writing, err);
	for (unsigned n = 1; !rc && n <= volumes; n++) {
		if (fb_volumes_path(first, n, name, sizeof(name)))
			return fb_err_set(err, FB_ETOOBIG, FB_KIND_BATCH, "too many volumes");
		rc = move(stage, out, name, err);
	}
	if (!rc && volumes)
		rc = move(stage, out, "volumes.jsonl", err);
	else if (!rc && exists(out, "volumes.jsonl", 0)) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/volumes.jsonl", out);
		if (unlink(path) != 0)
			rc =
			    fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path, strerror(errno));
	}
	if (!rc)
		rc = move(stage, out, "results.jsonl", err);
	if (!rc)
		rc = move(stage, out, "duplicates.jsonl", err);
	if (!rc)
		rc = remove_stale(out, volumes, f, err);
	if (!rc && sync_dir(out) != 0)
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", out, strerror(errno));
	if (!rc)
		rc = write_json(out, "merge.json", json_done, err);
	if (!rc)
		clear_stage(stage);
	return rc;
}
