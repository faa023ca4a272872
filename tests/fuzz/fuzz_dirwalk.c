/*
 * fuzz_dirwalk: a folder given as the manifest, whose file names and first
 * bytes are outside input. The input is NUL-separated fields: a glob (""
 * for none), then (name, content) pairs. Each name is made as a file, or,
 * when it starts with '@', as a symlink to the content's text (which may
 * point anywhere, outside the folder too). Names with '/' make
 * subfolders. The walk must report only regular files inside the folder,
 * with relative names free of "." and ".." components.
 */
/* nftw is XSI. */
#define _XOPEN_SOURCE 700
#include "dirwalk.h"
#include "error.h"
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FIELDS 17

int LLVMFuzzerInitialize(int *argc, char ***argv);

static char base[4096];
static char root[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof(base), "%s/fb-fuzz-dirwalk-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base))
		abort();
	snprintf(root, sizeof(root), "%s/root", base);
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

/* Makes root/name, its folders first; components "", "." and ".." are dropped. */
static void make(const char *name, const char *content, int is_link)
{
	char path[8192];
	size_t len = (size_t)snprintf(path, sizeof(path), "%s", root);
	const char *p = name;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		int skip = !n || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.');
		if (!skip && n < 256 && len + n + 2 < sizeof(path)) {
			path[len++] = '/';
			memcpy(path + len, p, n);
			len += n;
			path[len] = '\0';
			if (slash)
				(void)mkdir(path, 0700);
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	if (len == strlen(root))
		return;
	if (is_link) {
		(void)symlink(content, path);
		return;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	if (write(fd, content, strlen(content)) < 0)
		errno = 0;
	close(fd);
}

static int check(void *ud, const char *rel, const char *full, const struct stat *st)
{
	(void)ud;
	size_t rlen = strlen(root);
	if (!rel[0] || rel[0] == '/' || strncmp(full, root, rlen) || full[rlen] != '/')
		abort();
	for (const char *p = rel;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (!n || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			abort();
		if (!slash)
			break;
		p = slash + 1;
	}
	if (!S_ISREG(st->st_mode))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	if (!s)
		return 0;
	const char *f[MAX_FIELDS];
	size_t n = fuzz_fields(s, size, f, MAX_FIELDS);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (mkdir(root, 0700))
		abort();
	for (size_t i = 1; i + 1 < n; i += 2) {
		int is_link = f[i][0] == '@';
		make(f[i] + is_link, f[i + 1], is_link);
	}
	for (int hidden = 0; hidden < 2; hidden++) {
		struct fb_dirwalk_config cfg = {root, f[0] && f[0][0] ? f[0] : NULL, hidden, NULL,
						NULL};
		struct fb_err err = {0};
		fb_dirwalk(&cfg, check, NULL, NULL, &err);
	}
	fb_dirwalk_is_image((const unsigned char *)data, size);
	free(s);
	return 0;
}
