/* testutil: temp dirs, files and child processes for the tests. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *t = NULL;
	size_t n = strlen(base ? base : "/tmp") + 32;
	t = malloc(n);
	snprintf(t, n, "%s/fbtest.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(t)) {
		perror("mkdtemp");
		abort();
	}
	return t;
}

void tu_rmrf(const char *path)
{
	char *cmd = NULL;
	size_t n = strlen(path) + 16;
	cmd = malloc(n);
	snprintf(cmd, n, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
	free(cmd);
}

char *tu_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

char *tu_write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char *p = tu_path(dir, name);
	FILE *f = fopen(p, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(p);
		abort();
	}
	return p;
}

char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

const char *tu_env(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v) {
		fprintf(stderr,
			"test setup: environment variable %s is not set (run through ctest)\n",
			name);
		abort();
	}
	return v;
}

int tu_run(const char *cmd, char **out, char **err)
{
	char *dir = tu_tmpdir();
	char *o = tu_path(dir, "out"), *e = tu_path(dir, "err");
	size_t n = strlen(cmd) + strlen(o) + strlen(e) + 64;
	char *full = malloc(n);
	snprintf(full, n, "( %s ) >'%s' 2>'%s' </dev/null", cmd, o, e);
	int st = system(full);
	free(full);
	if (out)
		*out = tu_read_file(o, NULL);
	if (err)
		*err = tu_read_file(e, NULL);
	tu_rmrf(dir);
	free(o);
	free(e);
	free(dir);
	if (st == -1)
		return 255;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}
