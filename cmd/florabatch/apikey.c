/* apikey: reading the API key without leaking it. */
#include "apikey.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int trim_into(const char *src, size_t n, char *out, size_t outlen, const char *where)
{
	while (n && isspace((unsigned char)*src)) {
		src++;
		n--;
	}
	while (n && isspace((unsigned char)src[n - 1]))
		n--;
	if (!n) {
		fprintf(stderr, "florabatch: %s: the API key is empty\n", where);
		return -1;
	}
	if (n >= outlen) {
		fprintf(stderr, "florabatch: %s: the API key is longer than %zu bytes\n", where,
			outlen - 1);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (isspace((unsigned char)src[i]) || iscntrl((unsigned char)src[i])) {
			fprintf(stderr,
				"florabatch: %s: the API key holds white space or control "
				"characters; the file should hold the key alone\n",
				where);
			return -1;
		}
	}
	memcpy(out, src, n);
	out[n] = '\0';
	return 0;
}

static int from_file(const char *file, char *out, size_t outlen)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "florabatch: --api-key-file %s: %s\n", file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "florabatch: --api-key-file %s: not a regular file\n", file);
		close(fd);
		return -1;
	}
	if (st.st_mode & S_IROTH) {
		fprintf(stderr,
			"florabatch: --api-key-file %s: readable by every user of this machine; "
			"refusing to use a key that others can read (chmod 600 %s)\n",
			file, file);
		close(fd);
		return -1;
	}
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		fprintf(stderr, "florabatch: --api-key-file %s: %s\n", file, strerror(errno));
		return -1;
	}
	char where[512];
	snprintf(where, sizeof(where), "--api-key-file %s", file);
	int rc = trim_into(buf, (size_t)n, out, outlen, where);
	memset(buf, 0, sizeof(buf));
	return rc;
}

int fb_apikey_load(const char *file, char *out, size_t outlen)
{
	if (file)
		return from_file(file, out, outlen);
	const char *env = getenv("FLORA_API_KEY");
	if (!env || !*env) {
		fputs("florabatch: --transport http needs an API key: set FLORA_API_KEY, or give "
		      "--api-key-file FILE (a file only you can read)\n",
		      stderr);
		return -1;
	}
	return trim_into(env, strlen(env), out, outlen, "FLORA_API_KEY");
}
