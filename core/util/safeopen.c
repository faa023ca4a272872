/* safeopen: files and folders inside a shared folder, never through a symbolic link. */
#define _GNU_SOURCE
#include "safeopen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

int fb_safe_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
}

FILE *fb_safe_fopen(const char *path, const char *mode)
{
	int flags = mode[0] == 'r'   ? O_RDONLY
		    : mode[0] == 'a' ? O_WRONLY | O_CREAT | O_APPEND
				     : O_WRONLY | O_CREAT | O_TRUNC;
	int fd = fb_safe_open(path, flags, 0644);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, mode);
	if (!f) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

int fb_safe_truncate(const char *path, off_t len)
{
	int fd = fb_safe_open(path, O_WRONLY, 0);
	if (fd < 0)
		return -1;
	int rc = ftruncate(fd, len), e = errno;
	close(fd);
	errno = e;
	return rc;
}

int fb_safe_nolink(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		errno = ELOOP;
		return -1;
	}
	return 0;
}

const char *fb_safe_strerror(int e)
{
	if (e == ELOOP)
		return "it is a symbolic link, and florabatch will not write through one "
		       "(remove it, or use another folder)";
	return strerror(e);
}

static int folder_fail(struct fb_err *err, const char *base, const char *rel, size_t len, int e)
{
	return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s/%.*s: %s", base, (int)len, rel,
			  fb_safe_strerror(e));
}

#ifdef SYS_openat2
/* The whole folder path beneath base in one call: 1 when it is there and safe, 0 when the walk
 * must decide (missing folders, no openat2, a link). */
static int beneath_ok(int bfd, const char *rel, size_t len)
{
	char *dir = strndup(rel, len);
	if (!dir)
		return 0;
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
	long fd = syscall(SYS_openat2, bfd, dir, &how, sizeof(how));
	free(dir);
	if (fd < 0)
		return 0;
	close((int)fd);
	return 1;
}
#endif

/* base and the folders on its way, made as the user named them (links followed): 0 or -1. */
static int mkdirs_user(const char *base)
{
	char *p = strdup(base);
	if (!p)
		return -1;
	int rc = 0;
	for (char *c = p + 1; !rc; c++) {
		if (*c && *c != '/')
			continue;
		char keep = *c;
		*c = '\0';
		rc = mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
		*c = keep;
		if (!keep)
			break;
	}
	free(p);
	return rc;
}

int fb_safe_mkdirs(const char *base, const char *rel, struct fb_err *err)
{
	const char *last = strrchr(rel, '/');
	if (!last)
		return 0;
	int fd = mkdirs_user(base) ? -1 : open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", base, strerror(errno));
#ifdef SYS_openat2
	if (beneath_ok(fd, rel, (size_t)(last - rel))) {
		close(fd);
		return 0;
	}
#endif
	int rc = 0;
	for (const char *p = rel; !rc && p < last;) {
		const char *end = strchr(p, '/');
		size_t n = (size_t)(end - p);
		char name[256];
		if (n == 0 || (n == 1 && p[0] == '.')) {
			p = end + 1;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s/%.*s: leads out of %s",
					base, (int)(end - rel), rel, base);
			break;
		}
		if (n >= sizeof(name)) {
			rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s/%.*s: the name is too long",
					base, (int)(end - rel), rel);
			break;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (mkdirat(fd, name, 0777) != 0 && errno != EEXIST) {
			rc = folder_fail(err, base, rel, (size_t)(end - rel), errno);
			break;
		}
		int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			struct stat st;
			int e = errno;
			if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				e = ELOOP;
			rc = folder_fail(err, base, rel, (size_t)(end - rel), e);
			break;
		}
		close(fd);
		fd = next;
		p = end + 1;
	}
	close(fd);
	return rc;
}

char *fb_safe_user_path(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
		return strdup(path);
	char *real = realpath(path, NULL);
	if (real)
		return real;
	/* A link to a file still to be made: its target, beside the link when relative. */
	char to[4096];
	ssize_t n = readlink(path, to, sizeof(to) - 1);
	if (n <= 0)
		return strdup(path);
	to[n] = '\0';
	const char *slash = strrchr(path, '/');
	if (to[0] == '/' || !slash)
		return strdup(to);
	size_t dlen = (size_t)(slash - path) + 1, len = dlen + (size_t)n + 1;
	char *joined = malloc(len);
	if (joined)
		snprintf(joined, len, "%.*s%s", (int)dlen, path, to);
	return joined;
}
