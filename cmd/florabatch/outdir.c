/* outdir: the output folder's lock and --fresh. */
#include "outdir.h"
#include "safeopen.h"
#include "volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int fb_outdir_lock(const char *dir)
{
	char path[4096];
	struct stat st;
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "florabatch: --out %s: cannot create the folder: %s\n", dir,
			strerror(errno));
		return -1;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "florabatch: --out %s: exists and is not a folder\n", dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/.lock", dir);
	int fd = fb_safe_open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		fprintf(stderr, "florabatch: %s: %s\n", path, fb_safe_strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK) {
			fprintf(stderr,
				"florabatch: another florabatch is working in %s (it holds %s); "
				"this one exits without touching it\n",
				dir, path);
			return -FB_EXIT_LOCKED;
		}
		fprintf(stderr, "florabatch: %s: cannot lock: %s\n", path, strerror(e));
		return -1;
	}
	return fd;
}

int fb_outdir_arg(const char *cmd, const char *arg, const char **dir)
{
	if (arg[0] == '-' && arg[1]) {
		fprintf(stderr, "florabatch %s: unknown option or missing value \"%s\"\n", cmd,
			arg);
		return -1;
	}
	if (*dir) {
		fprintf(stderr, "florabatch %s: one folder at a time; unexpected \"%s\"\n", cmd,
			arg);
		return -1;
	}
	*dir = arg;
	return 0;
}

static int remove_file(const char *path)
{
	if (unlink(path) == 0 || errno == ENOENT)
		return 0;
	fprintf(stderr, "florabatch: --fresh: cannot remove %s: %s\n", path, strerror(errno));
	return -1;
}

int fb_outdir_fresh(const char *dir, const char *record, const char *archive)
{
	char path[4096];
	int rc = remove_file(record);
	/* Every volume of the archive, then the index that names them. */
	for (unsigned n = 1; archive; n++) {
		struct stat st;
		if (fb_volumes_path(archive, n, path, sizeof(path)) ||
		    (n > 1 && stat(path, &st) != 0))
			break;
		rc |= remove_file(path);
	}
	snprintf(path, sizeof(path), "%s/volumes.jsonl", dir);
	rc |= remove_file(path);
	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	rc |= remove_file(path);
	snprintf(path, sizeof(path), "%s/spool.dat", dir);
	rc |= remove_file(path);
	return rc ? -1 : 0;
}
