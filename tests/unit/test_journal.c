/* journal: replay after reopen, torn tails, garbage lines, scale, escaping and I/O failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "journal.h"
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#define K1	  "fb1-0123456789abcdef0123456789abcdef"
#define K2	  "fb1-fedcba9876543210fedcba9876543210"
#define K3	  "fb1-00000000000000000000000000000001"
#define POLL_BASE "https://app.flora.ai/api/v1/techniques/upscale/runs/"

struct fx {
	char *dir;
	char *path;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_tmpdir();
	f->path = tu_path(f->dir, "journal.jsonl");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tu_rmrf(f->dir);
	free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

static struct fb_journal *open_ok(const char *path)
{
	struct fb_journal *j = NULL;
	struct fb_err err = {0};
	int rc = fb_journal_open(&j, path, &err);
	if (rc)
		fail_msg("open failed: %s", err.msg);
	return j;
}

static void close_ok(struct fb_journal *j)
{
	struct fb_err err = {0};
	int rc = fb_journal_close(j, &err);
	if (rc)
		fail_msg("close failed: %s", err.msg);
}

static void note_run_ok(struct fb_journal *j, const char *key, const char *run, const char *poll)
{
	struct fb_err err = {0};
	int rc = fb_journal_note_run(j, key, run, poll, &err);
	if (rc)
		fail_msg("note_run failed: %s", err.msg);
}

static void note_create_ok(struct fb_journal *j, const char *key)
{
	struct fb_err err = {0};
	int rc = fb_journal_note_create(j, key, &err);
	if (rc)
		fail_msg("note_create failed: %s", err.msg);
}

static char *read_all(const char *path, size_t *len)
{
	char *s = tu_read_file(path, len);
	assert_non_null(s);
	return s;
}

static void assert_run(const struct fb_journal *j, const char *key, const char *run,
		       const char *poll)
{
	const char *p = "unset";
	const char *r = fb_journal_run_of(j, key, &p);
	if (!run) {
		assert_null(r);
		assert_null(p);
		return;
	}
	assert_non_null(r);
	assert_string_equal(r, run);
	if (poll)
		assert_string_equal(p, poll);
	else
		assert_null(p);
}

static void test_round_trip_latest_run_wins(void **state)
{
	struct fx *f = *state;
	struct fb_journal *j = open_ok(f->path);

	note_create_ok(j, K1);
	note_run_ok(j, K1, "run_a", POLL_BASE "run_a");
	/* This invocation's notes are not looked up: the job that wrote them holds them. */
	assert_run(j, K1, NULL, NULL);
	assert_false(fb_journal_create_sent(j, K1));
	close_ok(j);

	j = open_ok(f->path);
	assert_run(j, K1, "run_a", POLL_BASE "run_a");
	const char *first = fb_journal_run_of(j, K1, NULL);
	/* A key the file held is kept up to date; earlier pointers stay valid. */
	note_run_ok(j, K1, "run_b", POLL_BASE "run_b");
	note_run_ok(j, K2, "run_c", NULL);
	note_run_ok(j, K3, "run_d", "https://elsewhere.example/poll?id=run_d&x=1");
	assert_run(j, K1, "run_b", POLL_BASE "run_b");
	assert_string_equal(first, "run_a");
	assert_run(j, K2, NULL, NULL);
	close_ok(j);

	size_t len;
	char *text = read_all(f->path, &len);
	const char *expect = "{\"t\":\"create\",\"key\":\"" K1 "\"}\n"
			     "{\"t\":\"run\",\"key\":\"" K1
			     "\",\"run\":\"run_a\",\"poll\":\"" POLL_BASE "run_a\"}\n";
	assert_int_equal(strncmp(text, expect, strlen(expect)), 0);
	assert_int_equal(text[len - 1], '\n');
	free(text);

	j = open_ok(f->path);
	assert_run(j, K1, "run_b", POLL_BASE "run_b");
	assert_run(j, K2, "run_c", NULL);
	assert_run(j, K3, "run_d", "https://elsewhere.example/poll?id=run_d&x=1");
	assert_run(j, "fb1-0123456789abcdef0123456789abcdee", NULL, NULL);
	assert_null(fb_journal_run_of(j, "nope", NULL));
	assert_true(fb_journal_create_sent(j, K1));
	/* A run record alone is not a create record. */
	assert_false(fb_journal_create_sent(j, K2));
	close_ok(j);
}

static void test_create_sent(void **state)
{
	struct fx *f = *state;
	struct fb_journal *j = open_ok(f->path);
	const char *upper = "fb1-0123456789ABCDEF0123456789ABCDEF";

	assert_false(fb_journal_create_sent(j, K1));
	note_create_ok(j, K1);
	note_create_ok(j, "item-7");
	close_ok(j);

	j = open_ok(f->path);
	assert_true(fb_journal_create_sent(j, K1));
	assert_true(fb_journal_create_sent(j, "item-7"));
	assert_false(fb_journal_create_sent(j, "item-8"));
	assert_false(fb_journal_create_sent(j, K2));
	/* Keys are exact strings: another spelling is another key. */
	assert_false(fb_journal_create_sent(j, upper));
	assert_null(fb_journal_run_of(j, K1, NULL));
	close_ok(j);
}

static int known(struct fb_journal *j, const char *run)
{
	struct fb_err err = {0};
	int rc = fb_journal_run_known(j, run, &err);
	if (rc < 0)
		fail_msg("run_known failed: %s", err.msg);
	return rc;
}

/* Every run any key made, earlier or now, queued or written, and nothing else. */
static void test_run_known(void **state)
{
	struct fx *f = *state;
	struct fb_err err = {0};
	struct fb_journal *j = open_ok(f->path);
	note_run_ok(j, K1, "run_a", POLL_BASE "run_a");
	note_create_ok(j, K2);
	close_ok(j);

	j = open_ok(f->path);
	assert_int_equal(known(j, "run_a"), 1); /* earlier, from the map */
	assert_int_equal(known(j, "run_b"), 0);
	assert_int_equal(known(j, ""), 0);
	assert_int_equal(known(j, NULL), 0);
	note_run_ok(j, K2, "run_b", NULL); /* queued, not yet written */
	assert_int_equal(known(j, "run_b"), 1);
	assert_int_equal(fb_journal_sync(j, &err), 0);
	assert_int_equal(known(j, "run_b"), 1); /* written by this invocation */
	note_run_ok(j, K3, "run_c", POLL_BASE "run_c");
	assert_int_equal(known(j, "run_c"), 1);
	/* A key's name or a poll URL that holds the id is not a run it made. */
	note_run_ok(j, "run_x", "run_y", "https://example.test/run_z");
	assert_int_equal(known(j, "run_x"), 0);
	assert_int_equal(known(j, "run_z"), 0);
	/* A prefix of a run id is another id. */
	assert_int_equal(known(j, "run_"), 0);
	/* An earlier key re-run: its first run stays known. */
	note_run_ok(j, K1, "run_a2", NULL);
	close_ok(j);

	j = open_ok(f->path);
	assert_run(j, K1, "run_a2", NULL);
	assert_int_equal(known(j, "run_a"), 1); /* only the file has it now */
	assert_int_equal(known(j, "run_a2"), 1);
	assert_int_equal(known(j, "run_c"), 1);
	assert_int_equal(known(j, "run_d"), 0);
	close_ok(j);
}

static void test_torn_tail_is_cut(void **state)
{
	struct fx *f = *state;
	const char *whole = "{\"t\":\"create\",\"key\":\"" K1 "\"}\n"
			    "{\"t\":\"run\",\"key\":\"" K1 "\",\"run\":\"run_a\"}\n";
	const char *torn = "{\"t\":\"run\",\"key\":\"" K2 "\",\"ru";
	char *text = malloc(strlen(whole) + strlen(torn) + 1);
	strcpy(text, whole);
	strcat(text, torn);
	free(tu_write_file(f->dir, "journal.jsonl", text, strlen(text)));
	free(text);

	struct fb_journal *j = open_ok(f->path);
	assert_run(j, K1, "run_a", NULL);
	assert_null(fb_journal_run_of(j, K2, NULL));
	/* The cut happens at open, before anything is appended. */
	size_t len;
	text = read_all(f->path, &len);
	assert_string_equal(text, whole);
	free(text);
	note_run_ok(j, K2, "run_b", POLL_BASE "run_b");
	close_ok(j);

	text = read_all(f->path, &len);
	assert_true(!strncmp(text, whole, strlen(whole)));
	assert_string_equal(text + strlen(whole),
			    "{\"t\":\"run\",\"key\":\"" K2
			    "\",\"run\":\"run_b\",\"poll\":\"" POLL_BASE "run_b\"}\n");
	free(text);

	j = open_ok(f->path);
	assert_run(j, K1, "run_a", NULL);
	assert_run(j, K2, "run_b", POLL_BASE "run_b");
	close_ok(j);
}

static void test_garbage_lines_skipped(void **state)
{
	struct fx *f = *state;
	struct fb_buf b = FB_BUF_INIT;
	fb_buf_adds(&b, "{\"t\":\"run\",\"key\":\"" K1 "\",\"run\":\"run_a\"}\n");
	fb_buf_adds(&b, "this is not json\n");
	fb_buf_adds(&b, "\n");
	fb_buf_adds(&b, "{\"t\":\"run\",\"key\":\"" K1 "\"}\n");	   /* no run */
	fb_buf_adds(&b, "{\"t\":\"run\",\"key\":\"" K1 "\",\"run\":7}\n"); /* run not a string */
	fb_buf_adds(&b, "{\"t\":\"run\",\"key\":\"" K1 "\",\"run\":\"run_x\",\"poll\":5}\n");
	fb_buf_adds(&b, "{\"t\":\"run\",\"key\":\"" K1 "\",\"run\":\"\"}\n");
	fb_buf_adds(&b, "{\"t\":\"teleport\",\"key\":\"" K2 "\"}\n");
	fb_buf_adds(&b, "{\"key\":\"" K2 "\"}\n");
	fb_buf_adds(&b, "{\"t\":\"create\"}\n");
	fb_buf_adds(&b, "{\"t\":\"create\",\"key\":\"\"}\n");
	fb_buf_adds(&b, "[1,2,3]\n\"str\"\nnull\n");
	fb_buf_adds(&b, "{\"t\":\"create\",\"key\":\"" K2 "\"}{\"t\":\"x\"}\n");
	/* Nesting that would exhaust the stack of a recursive tree walk. */
	for (int i = 0; i < 2000000; i++)
		fb_buf_addc(&b, i < 1000000 ? '[' : ']');
	fb_buf_addc(&b, '\n');
	static const char with_nul[] = "{\"t\":\"create\",\"key\":\"" K3 "\"}\0junk\n";
	fb_buf_add(&b, with_nul, sizeof(with_nul) - 1);
	/* A line far longer than any record is skipped without being held. */
	for (int i = 0; i < 5 * 1024 * 1024; i++)
		fb_buf_addc(&b, 'x');
	fb_buf_addc(&b, '\n');
	/* Zeroed blocks left by a crash before a record do not hide it. */
	fb_buf_add(&b, "\0\0\0\0", 4);
	fb_buf_adds(&b, "{\"t\":\"run\",\"key\":\"" K2 "\",\"run\":\"run_b\",\"poll\":null}\n");
	fb_buf_adds(&b, "{\"t\":\"create\",\"key\":\"" K1 "\",\"extra\":[1,{\"a\":2}]}\n");
	free(tu_write_file(f->dir, "journal.jsonl", b.ptr, b.len));

	struct fb_journal *j = open_ok(f->path);
	assert_run(j, K1, "run_a", NULL);
	assert_run(j, K2, "run_b", NULL);
	assert_true(fb_journal_create_sent(j, K1));
	assert_false(fb_journal_create_sent(j, K2));
	assert_false(fb_journal_create_sent(j, K3));
	note_run_ok(j, K3, "run_c", NULL);
	close_ok(j);

	/* Skipped lines stay (nothing is rewritten); the new record follows them. */
	size_t len;
	char *text = read_all(f->path, &len);
	assert_int_equal(len,
			 b.len + strlen("{\"t\":\"run\",\"key\":\"" K3 "\",\"run\":\"run_c\"}\n"));
	free(text);
	fb_buf_release(&b);
	j = open_ok(f->path);
	assert_run(j, K3, "run_c", NULL);
	close_ok(j);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void key_n(char out[37], unsigned n)
{
	snprintf(out, 37, "fb1-%08x%08x%08x%08x", n * 2654435761u, n, ~n, n ^ 0x5a5a5a5au);
}

static void test_many_keys(void **state)
{
	struct fx *f = *state;
	const unsigned n = 200000;
	char key[37], run[32], poll[128];
	double t0 = now_s();

	struct fb_journal *j = open_ok(f->path);
	for (unsigned i = 0; i < n; i++) {
		key_n(key, i);
		snprintf(run, sizeof(run), "run_%u", i);
		snprintf(poll, sizeof(poll), POLL_BASE "%s", run);
		if (i % 3 == 0)
			note_create_ok(j, key);
		note_run_ok(j, key, run, i % 5 ? poll : NULL);
	}
	close_ok(j);
	double t1 = now_s();

	j = open_ok(f->path);
	double t2 = now_s();
	for (unsigned i = 0; i < n; i++) {
		const char *p;
		key_n(key, i);
		snprintf(run, sizeof(run), "run_%u", i);
		snprintf(poll, sizeof(poll), POLL_BASE "%s", run);
		const char *r = fb_journal_run_of(j, key, &p);
		if (!r || strcmp(r, run) || (i % 5 ? !p || strcmp(p, poll) : p != NULL))
			fail_msg("key %u: run %s poll %s", i, r ? r : "(null)", p ? p : "(null)");
		if (fb_journal_create_sent(j, key) != (i % 3 == 0))
			fail_msg("key %u: create_sent wrong", i);
	}
	key_n(key, n);
	assert_null(fb_journal_run_of(j, key, NULL));
	close_ok(j);
	double t3 = now_s();
	print_message("200000 keys: write %.2fs, replay %.2fs, lookups %.2fs\n", t1 - t0, t2 - t1,
		      t3 - t2);
	/* Generous for sanitizer builds; an unsanitized build takes well under a second. */
	assert_true(t2 - t1 < 10.0);
	assert_true(t3 - t2 < 10.0);
}

static void test_sync_empty_is_noop(void **state)
{
	struct fx *f = *state;
	struct fb_err err = {0};
	struct fb_journal *j = open_ok(f->path);
	struct stat st;

	assert_int_equal(fb_journal_sync(j, &err), 0);
	assert_int_equal(fb_journal_sync(j, &err), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 0);
	note_create_ok(j, K1);
	assert_int_equal(fb_journal_sync(j, &err), 0);
	assert_int_equal(fb_journal_sync(j, &err), 0);
	close_ok(j);
	assert_int_equal(fb_journal_close(NULL, &err), 0);
}

static void assert_open_fails(const char *path, const char *why)
{
	struct fb_journal *j = (struct fb_journal *)1;
	struct fb_err err = {0};
	assert_int_equal(fb_journal_open(&j, path, &err), FB_EIO);
	assert_null(j);
	assert_int_equal(err.code, FB_EIO);
	if (!strstr(err.msg, path) || !strstr(err.msg, why))
		fail_msg("message lacks the path or the reason: %s", err.msg);
}

static void test_unopenable_paths(void **state)
{
	struct fx *f = *state;
	char *ro = tu_path(f->dir, "ro");
	char *in_ro = tu_path(ro, "journal.jsonl");
	char *missing = tu_path(f->dir, "no/such/dir/journal.jsonl");
	char *file = tu_write_file(f->dir, "plain", "x", 1);
	char *under_file = tu_path(file, "journal.jsonl");

	assert_int_equal(mkdir(ro, 0555), 0);
	/* Permission bits do not bind a privileged user. */
	if (geteuid() != 0)
		assert_open_fails(in_ro, strerror(EACCES));
	assert_open_fails(missing, strerror(ENOENT));
	assert_open_fails(under_file, strerror(ENOTDIR));
	assert_open_fails(ro, strerror(EISDIR));
	free(ro);
	free(in_ro);
	free(missing);
	free(file);
	free(under_file);
}

static void test_bad_arguments(void **state)
{
	struct fx *f = *state;
	struct fb_err err = {0};
	struct fb_journal *j = open_ok(f->path);
	char *huge = malloc(70000);
	memset(huge, 'a', 69999);
	huge[69999] = '\0';

	assert_int_equal(fb_journal_note_create(j, "", &err), FB_EINVAL);
	assert_int_equal(fb_journal_note_create(j, NULL, &err), FB_EINVAL);
	assert_int_equal(fb_journal_note_create(j, "bad \xff utf8", &err), FB_EINVAL);
	assert_int_equal(fb_journal_note_run(j, K1, NULL, NULL, &err), FB_EINVAL);
	assert_int_equal(fb_journal_note_run(j, K1, "", NULL, &err), FB_EINVAL);
	assert_int_equal(fb_journal_note_run(j, K1, "r", "\xc3", &err), FB_EINVAL);
	assert_int_equal(fb_journal_note_run(j, K1, huge, NULL, &err), FB_EINVAL);
	assert_null(fb_journal_run_of(j, K1, NULL));
	/* An empty poll URL means none. */
	note_run_ok(j, K1, "run_a", "");
	close_ok(j);
	size_t len;
	char *text = read_all(f->path, &len);
	assert_string_equal(text, "{\"t\":\"run\",\"key\":\"" K1 "\",\"run\":\"run_a\"}\n");
	free(text);
	free(huge);
	j = open_ok(f->path);
	assert_run(j, K1, "run_a", NULL);
	close_ok(j);
}

static void test_escaping(void **state)
{
	struct fx *f = *state;
	const char *key = "say \"hi\" \\ back\tslash / ключ 🔑 \x01";
	const char *run = "run_\"quoted\"\n é";
	const char *poll = "https://example.test/runs/\"quoted\"?q=ü&x=\\";
	struct fb_journal *j = open_ok(f->path);
	note_create_ok(j, key);
	note_run_ok(j, key, run, poll);
	note_run_ok(j, "\u00e9", "\u20ac", NULL);
	close_ok(j);

	size_t len;
	char *text = read_all(f->path, &len);
	int lines = 0;
	for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1, lines++) {
		char errbuf[256];
		*nl = '\0';
		yajl_val v = yajl_tree_parse(line, errbuf, sizeof(errbuf));
		if (!v)
			fail_msg("line %d is not JSON (%s): %s", lines, errbuf, line);
		const char *kp[] = {"key", NULL}, *rp[] = {"run", NULL}, *pp[] = {"poll", NULL};
		yajl_val k = yajl_tree_get(v, kp, yajl_t_string);
		assert_non_null(k);
		if (lines < 2)
			assert_string_equal(k->u.string, key);
		if (lines == 1) {
			assert_string_equal(yajl_tree_get(v, rp, yajl_t_string)->u.string, run);
			assert_string_equal(yajl_tree_get(v, pp, yajl_t_string)->u.string, poll);
		}
		yajl_tree_free(v);
	}
	assert_int_equal(lines, 3);
	free(text);

	j = open_ok(f->path);
	assert_true(fb_journal_create_sent(j, key));
	assert_run(j, key, run, poll);
	assert_run(j, "é", "€", NULL);
	close_ok(j);
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* A full disk, played by a file size limit: the queued records are refused and cut off whole. */
static void test_write_failure(void **state)
{
	struct fx *f = *state;
	struct fb_err err = {0};
	struct rlimit old, lim;
	struct fb_journal *j = open_ok(f->path);

	note_run_ok(j, K1, "run_a", POLL_BASE "run_a");
	assert_int_equal(fb_journal_sync(j, &err), 0);
	off_t before = file_size(f->path);

	/* Queued, not written: nothing can fail yet, and nothing reaches the file. */
	note_run_ok(j, K2, "run_b", POLL_BASE "run_b");
	note_create_ok(j, K1);
	assert_int_equal(file_size(f->path), before);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)before + 10; /* room for part of the next record only */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int rc = fb_journal_sync(j, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);

	assert_int_equal(rc, FB_EIO);
	assert_non_null(strstr(err.msg, f->path));
	assert_int_equal(file_size(f->path), before);
	assert_null(fb_journal_run_of(j, K2, NULL));
	/* Once failed, the journal stays failed, even with room again. */
	struct fb_err err2 = {0};
	assert_int_equal(fb_journal_note_create(j, K3, &err2), FB_EIO);
	assert_string_equal(err2.msg, err.msg);
	assert_int_equal(fb_journal_sync(j, &err2), FB_EIO);
	assert_int_equal(fb_journal_close(j, &err2), FB_EIO);

	j = open_ok(f->path);
	assert_run(j, K1, "run_a", POLL_BASE "run_a");
	assert_null(fb_journal_run_of(j, K2, NULL));
	close_ok(j);
}

/* kill -9 mid-stream leaves every record whole or absent. */
static void test_killed_writer(void **state)
{
	struct fx *f = *state;
	sigset_t set, old;
	int sig;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fb_journal *j = NULL;
		char key[37], run[32];
		if (fb_journal_open(&j, f->path, NULL))
			_exit(1);
		for (unsigned i = 0;; i++) {
			key_n(key, i);
			snprintf(run, sizeof(run), "run_%u", i);
			if (fb_journal_note_run(j, key, run, POLL_BASE "x", NULL))
				_exit(1);
			/* Several records a write, as the driver's loop turns write them. */
			if (i % 7 == 6 && fb_journal_sync(j, NULL))
				_exit(1);
			if (i == 1000)
				kill(getppid(), SIGUSR1);
		}
	}
	sigwait(&set, &sig);
	sigprocmask(SIG_SETMASK, &old, NULL);
	nanosleep(&(struct timespec){0, 20000000}, NULL);
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));

	struct fb_journal *j = open_ok(f->path);
	size_t len;
	char *text = read_all(f->path, &len);
	assert_true(len > 0 && text[len - 1] == '\n');
	unsigned lines = 0;
	for (char *p = text; (p = strchr(p, '\n')); p++)
		lines++;
	char key[37], run[32];
	for (unsigned i = 0; i < lines; i++) {
		key_n(key, i);
		snprintf(run, sizeof(run), "run_%u", i);
		assert_run(j, key, run, POLL_BASE "x");
	}
	key_n(key, lines);
	assert_null(fb_journal_run_of(j, key, NULL));
	free(text);
	close_ok(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip_latest_run_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_sent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_run_known, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_tail_is_cut, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_lines_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_empty_is_noop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unopenable_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_killed_writer, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
