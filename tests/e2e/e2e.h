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

/*
 * 1 when the binaries run under FB_E2E_WRAPPER (tests/e2e/wrap.sh), e.g.
 * valgrind: many times slower, so a test measuring their memory or time
 * checks only what still holds, and waits longer.
 */
int e2e_wrapped(void);
/* How long to wait for something the binaries do: ms, ten times that under a wrapper. */
long long e2e_patience_ms(long long ms);
/* 1 when memory and time measured of the binaries mean something: neither a sanitizer build
 * (FB_SANITIZED) nor a wrapper. */
#ifdef FB_SANITIZED
#define E2E_MEASURED 0
#else
#define E2E_MEASURED (!e2e_wrapped())
#endif

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
	char **vols; /* the volume (file name) each entry came from */
	size_t n;
};
/* Every volume of the archive whose first volume is path (volumes.h), read whole; aborts on a bad
 * one. */
struct e2e_archive e2e_read_archive(const char *path);
void e2e_archive_free(struct e2e_archive *a);

/* A florasim on a free loopback port ($FLORASIM_BIN). */
struct e2e_sim {
	int pid;
	int port;
	char base[64]; /* "http://127.0.0.1:PORT/api/v1" */
};
/* Starts florasim with args (shell words) plus --port 0 --max-seconds 120; aborts on failure. */
struct e2e_sim e2e_florasim_start(const char *args);
void e2e_florasim_stop(struct e2e_sim *s);
/* GET base + path (no auth); the body (caller frees yajl_tree_free) parsed as JSON. */
yajl_val e2e_sim_get_json(const struct e2e_sim *s, const char *path);
/*
 * A test's world: a temporary folder and a florasim with --api-key key
 * --quiet and sim_args. Kept in cmocka's state, so e2e_world_teardown
 * stops florasim even after a failed assertion.
 */
struct e2e_world {
	char *dir;
	struct e2e_sim sim;
};
struct e2e_world *e2e_world_start(void **state, const char *key, const char *sim_args);
int e2e_world_teardown(void **state);

/*
 * Runs `florabatch run --transport http --base-url <the world's florasim> ARGS`
 * in the world's folder with FLORA_API_KEY=key.
 */
struct e2e_run e2e_world_run(struct e2e_world *w, const char *key, const char *args);
/* The world's out/results.jsonl, parsed (the test fails when there is none). */
struct e2e_lines e2e_world_results(struct e2e_world *w);
/* How many lines have this status. */
size_t e2e_count_status(const struct e2e_lines *l, const char *status);
/* Every output of every line is in the archive at path exactly once, with its line's sha256, and
 * nothing else is. */
void e2e_assert_archive(const struct e2e_lines *l, const char *path);

/* POST body (JSON) to base + path (no auth); the answer parsed as JSON. */
yajl_val e2e_sim_post_json(const struct e2e_sim *s, const char *path, const char *body);
/* A number at a path of keys in a parsed object, or -1. */
long long e2e_num(yajl_val v, ...);

/*
 * florabatch started in the background, without a shell, so a signal sent to
 * the pid reaches florabatch itself: in dir, with FLORA_API_KEY=key, argv
 * split on spaces from args (no quoting), standard output and error to
 * dir/<log>.out and dir/<log>.err. SIGINT and SIGTERM start at their
 * defaults. Returns the pid; reap it with e2e_wait.
 */
int e2e_florabatch_spawn(const char *dir, const char *key, const char *args, const char *log);
/*
 * Like e2e_florabatch_spawn, with standard input a pipe whose writing end
 * goes to *in, and (out not NULL) standard output a pipe whose reading end
 * goes to *out; the caller closes both.
 */
int e2e_florabatch_spawn_piped(const char *dir, const char *key, const char *args, const char *log,
			       int *in, int *out);
/* Waits up to ms for pid: its status as tu_run reports it (exit code, or 128+signal), or -1 while
 * it still runs. */
int e2e_wait(int pid, long ms);
/* Milliseconds on the monotonic clock. */
long long e2e_now_ms(void);
/* Sleeps ms milliseconds. */
void e2e_sleep_ms(long ms);
/* e2e_read_archive that reports instead of aborting: 0, or -1 (why on stderr) when path is not a
 * whole archive. */
int e2e_try_read_archive(const char *path, struct e2e_archive *a);
/*
 * The complete lines of a JSONL file into l: a last line without its newline
 * (torn) is left out and *torn set to 1. 0, or -1 with why when a complete
 * line is not a JSON object. A missing file is 0 lines.
 */
int e2e_read_jsonl_file(const char *path, struct e2e_lines *l, int *torn, char *why, size_t wlen);
/*
 * Lines against the manifest ids p1..pN: no other id, each at most once, and
 * with exact every one of them once. 0, or -1 with why.
 */
int e2e_check_ids(const struct e2e_lines *l, int n, int exact, char *why, size_t wlen);
/*
 * The archive at path against lines: every output of every line in it once
 * by its path with its sha256, and nothing else. 0, or -1 with why.
 */
int e2e_check_archive(const char *path, const struct e2e_lines *l, char *why, size_t wlen);
/* The same for one packed archive (florabatch pack), whatever volume each line names. */
int e2e_check_packed(const char *path, const struct e2e_lines *l, char *why, size_t wlen);

#endif
