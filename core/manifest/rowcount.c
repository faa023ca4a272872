/* rowcount: non-blank lines of a file, counted a block at a time. */
#include "rowcount.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define BLOCK (1u << 20)

int fb_rowcount(const char *path, enum fb_format format, uint64_t *rows)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = fd < 0 ? NULL : malloc(BLOCK);
	if (!buf) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	uint64_t n = 0;
	int blank = 1; /* the current line has only spaces so far */
	ssize_t got;
	while ((got = read(fd, buf, BLOCK)) > 0) {
		for (ssize_t i = 0; i < got; i++) {
			char c = buf[i];
			if (c == '\n') {
				n += !blank;
				blank = 1;
			} else if (c != ' ' && c != '\t' && c != '\r') {
				blank = 0;
			}
		}
	}
	n += !blank; /* a last line without its newline */
	free(buf);
	close(fd);
	if (got < 0)
		return -1;
	*rows = format == FB_FORMAT_CSV && n > 0 ? n - 1 : n;
	return 0;
}
