/* e2e: helpers for driving the built florabatch binary and reading what it leaves. */
#ifndef FB_E2E_H
#define FB_E2E_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

struct e2e_run {
	int status; /* exit status */
	char *out;  /* standard output */
	char *err;  /* standard error */
};

/* Runs `cd dir && $FB_BIN <args>` (args is shell text). Free with e2e_run_free. */
struct e2e_run e2e_florabatch(const char *dir, const char *args);
void e2e_run_free(struct e2e_run *r);

/* Parses JSONL text: every line must be a JSON object (the test fails otherwise). */
struct e2e_lines {
	yajl_val *v;
	size_t n;
};
struct e2e_lines e2e_parse_jsonl(const char *text);
void e2e_lines_free(struct e2e_lines *l);
/* The line whose "id" is id, or NULL. */
yajl_val e2e_find(const struct e2e_lines *l, const char *id);
/* A string at a path of object keys (NULL-terminated), or NULL. */
const char *e2e_str(yajl_val v, ...);

/* Reads every entry of a tar.gz: names[i] and data[i]. */
struct e2e_archive {
	char **names;
	char **data;
	size_t *len;
	size_t n;
};
struct e2e_archive e2e_read_archive(const char *path);
void e2e_archive_free(struct e2e_archive *a);

#endif
