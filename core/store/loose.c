/*
 * loose: --outputs-dir's plain files, each written under a temporary name
 * in its item's folder, made durable and renamed into place, so a crash
 * leaves whole files or none. Without an archive these are the one copy
 * of the outputs: a download's nameless file is linked into place where
 * the folder shares its file system, else copied.
 */
#include "loose.h"
#include "safeopen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PIECE (1u << 20)

static int oom(struct fb_err *err)
{
	return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
}

static int io(struct fb_err *err, const char *path)
{
	return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path, fb_safe_strerror(errno));
}

/* path gets "<dir>/<name>" and tmp "<path>.tmp", every folder on the way made
 * (none of them a symbolic link). */
static int paths(const char *dir, const char *name, struct fb_buf *path, struct fb_buf *tmp,
		 struct fb_err *err)
{
	fb_buf_reset(path);
	fb_buf_reset(tmp);
	if (fb_buf_addf(path, "%s/%s", dir, name) || fb_buf_addf(tmp, "%s.tmp", path->ptr))
		return oom(err);
	/* The folder the user named is followed; an item folder that is a link is not. */
	return fb_safe_mkdirs(dir, name, err);
}

int fb_loose_begin(const char *dir, const char *name, struct fb_buf *path, struct fb_buf *tmp,
		   struct fb_err *err)
{
	int rc = paths(dir, name, path, tmp, err);
	if (rc)
		return rc;
	int fd = open(tmp->ptr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	return fd >= 0 ? fd : io(err, tmp->ptr);
}

int fb_loose_write(int fd, const void *data, size_t len, const struct fb_buf *path,
		   struct fb_err *err)
{
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return io(err, path->ptr);
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int fb_loose_end(int fd, int ok, const struct fb_buf *path, const struct fb_buf *tmp,
		 struct fb_err *err)
{
	int rc = ok ? 0 : FB_EIO;
	if (!rc && fdatasync(fd) != 0)
		rc = io(err, path->ptr);
	if (close(fd) != 0 && !rc)
		rc = io(err, path->ptr);
	if (!rc && rename(tmp->ptr, path->ptr) != 0)
		rc = io(err, path->ptr);
	if (rc)
		unlink(tmp->ptr);
	return rc;
}

/* The download's nameless file given a name: no byte copied. 0, or -1 when it cannot be. */
static int link_part(int fd, const struct fb_buf *tmp)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	unlink(tmp->ptr);
	return linkat(AT_FDCWD, proc, AT_FDCWD, tmp->ptr, AT_SYMLINK_FOLLOW) == 0 ? 0 : -1;
}

int fb_loose_place_fd(const char *dir, const char *name, int src, uint64_t len, struct fb_err *err)
{
	struct fb_buf path = FB_BUF_INIT, tmp = FB_BUF_INIT;
	int rc = paths(dir, name, &path, &tmp, err);
	if (!rc && link_part(src, &tmp) == 0) {
		/* The bytes were made durable nowhere yet: the link is, with them. */
		int fd = open(tmp.ptr, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		rc = fd >= 0 ? fb_loose_end(fd, 1, &path, &tmp, err) : io(err, tmp.ptr);
		goto out;
	}
	int fd =
	    rc ? -1 : open(tmp.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (!rc && fd < 0)
		rc = io(err, tmp.ptr);
	char *piece = rc ? NULL : malloc(PIECE);
	if (!rc && !piece)
		rc = oom(err);
	for (uint64_t at = 0; !rc && at < len;) {
		size_t want = len - at < PIECE ? (size_t)(len - at) : PIECE;
		ssize_t n = pread(src, piece, want, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH,
					"%s: the download's file ended early: %s", path.ptr,
					n < 0 ? strerror(errno) : "short");
			break;
		}
		rc = fb_loose_write(fd, piece, (size_t)n, &path, err);
		at += (uint64_t)n;
	}
	free(piece);
	if (fd >= 0) {
		int rc2 = fb_loose_end(fd, !rc, &path, &tmp, rc ? NULL : err);
		rc = rc ? rc : rc2;
	}
out:
	fb_buf_release(&path);
	fb_buf_release(&tmp);
	return rc;
}

int fb_loose_place(const char *dir, const char *name, const void *data, size_t len,
		   struct fb_err *err)
{
	struct fb_buf path = FB_BUF_INIT, tmp = FB_BUF_INIT;
	int fd = fb_loose_begin(dir, name, &path, &tmp, err), rc = fd < 0 ? fd : 0;
	if (!rc) {
		rc = fb_loose_write(fd, data, len, &path, err);
		int rc2 = fb_loose_end(fd, !rc, &path, &tmp, rc ? NULL : err);
		rc = rc ? rc : rc2;
	}
	fb_buf_release(&path);
	fb_buf_release(&tmp);
	return rc;
}
