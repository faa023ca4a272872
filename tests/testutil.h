/* testutil: small helpers shared by the unit and end-to-end tests. */
#ifndef FB_TESTUTIL_H
#define FB_TESTUTIL_H

#include <stddef.h>

/* A fresh temporary directory (caller frees the string; removed by tu_rmrf). */
char *tu_tmpdir(void);
/* Removes a directory tree. */
void tu_rmrf(const char *path);
/* Writes len bytes to dir/name and returns the full path (caller frees). */
char *tu_write_file(const char *dir, const char *name, const void *data, size_t len);
/* Reads a whole file (caller frees); NULL if it cannot. *len gets its size. */
char *tu_read_file(const char *path, size_t *len);
/* Joins dir and name (caller frees). */
char *tu_path(const char *dir, const char *name);
/*
 * Runs `sh -c cmd`, capturing stdout and stderr into the returned strings
 * (caller frees; pass NULL to discard). Returns the exit status (0-255),
 * or 128+signal.
 */
int tu_run(const char *cmd, char **out, char **err);
/* Environment variable or abort with a clear message. */
const char *tu_env(const char *name);

#endif
