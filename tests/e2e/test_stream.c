/*
 * Pipes that stream, end to end against florasim: a producer that writes
 * lines slowly gets runs created as its lines arrive and result lines
 * before it closes its end; a producer faster than the runs is held back
 * by the pipe; a FIFO works the same; --keep-order gives input order.
 * What a new user chaining florabatch after `tail -F` or a queue consumer
 * relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEY "sk_test_stream"

struct world {
	struct e2e_world *w;
	int pid;
	int in, out;
};

static int setup_world(void **state, const char *sim_args)
{
	struct world *x = calloc(1, sizeof(*x));
	x->in = x->out = -1;
	x->w = e2e_world_start(state, KEY, sim_args);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct world *x = *state;
	if (!x)
		return 0;
	if (x->pid > 0) {
		kill(x->pid, SIGKILL);
		e2e_wait(x->pid, 5000);
	}
	if (x->in >= 0)
		close(x->in);
	if (x->out >= 0)
		close(x->out);
	void *ws = x->w;
	free(x);
	return e2e_world_teardown(&ws);
}

static void spawn(struct world *x, const char *input, const char *extra, int want_out)
{
	char args[2048];
	snprintf(args, sizeof(args),
		 "run %s --transport http --base-url %s --technique cctv-cam --out out "
		 "--results - --quiet %s",
		 input, x->w->sim.base, extra);
	x->pid = e2e_florabatch_spawn_piped(x->w->dir, KEY, args, "fb", &x->in,
					    want_out ? &x->out : NULL);
}

static void put_line(int fd, const char *id)
{
	char line[512];
	int n = snprintf(line, sizeof(line),
			 "{\"id\":\"%s\",\"inputs\":{\"input_image\":"
			 "\"https://storage.googleapis.com/stream/%s.png\"}}\n",
			 id, id);
	assert_int_equal(write(fd, line, (size_t)n), n);
}

static long long stat_of(struct world *x, const char *name)
{
	yajl_val st = e2e_sim_get_json(&x->w->sim, "/_sim/stats");
	long long v = e2e_num(st, name, NULL);
	yajl_tree_free(st);
	return v;
}

/* Waits up to ms for florasim to have seen n creates; how long it took, or -1. */
static long long wait_creates(struct world *x, long long n, long ms)
{
	long long t0 = e2e_now_ms();
	while (e2e_now_ms() - t0 < ms) {
		if (stat_of(x, "creates") >= n)
			return e2e_now_ms() - t0;
		e2e_sleep_ms(5);
	}
	return -1;
}

/* Reads whole lines from fd into buf (appending) until it holds n lines or ms pass. */
static int read_lines(int fd, char *buf, size_t cap, int n, long ms)
{
	long long deadline = e2e_now_ms() + ms;
	size_t len = strlen(buf);
	for (;;) {
		int lines = 0;
		for (size_t i = 0; i < len; i++)
			lines += buf[i] == '\n';
		if (lines >= n)
			return lines;
		long long left = deadline - e2e_now_ms();
		if (left <= 0)
			return lines;
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r <= 0)
			return lines; /* the end */
		len += (size_t)r;
		buf[len] = '\0';
	}
}

/*
 * Three lines, then a pause with standard input still open: their runs
 * are created at once and their results come out before the producer
 * writes its fourth line. A broken line is reported and skipped.
 */
static void test_results_before_stdin_closes(void **state)
{
	setup_world(state, "--run-time 300ms");
	struct world *x = *state;
	spawn(x, "-", "--concurrency 8", 1);
	put_line(x->in, "s1");
	assert_int_equal(write(x->in, "{\"id\": broken\n", 14), 14);
	put_line(x->in, "s2");
	put_line(x->in, "s3");
	long long took = wait_creates(x, 3, 10000);
	if (took < 0)
		print_error("no create reached florasim while standard input stayed open\n");
	assert_true(took >= 0);
	static char out[65536];
	out[0] = '\0';
	int got = read_lines(x->out, out, sizeof(out), 4, 15000);
	if (got < 4)
		print_error("%d result lines before standard input closed:\n%s\n", got, out);
	assert_int_equal(got, 4);
	/*
	 * The broken line's result names its line; s1 to s3 are out before s4
	 * is even written. Among themselves they leave as they end, which no
	 * order is promised for (--keep-order is): under load, or a sanitizer,
	 * s3's download can end before s2's.
	 */
	assert_non_null(strstr(out, "\"source\":\"<stdin>:2\""));
	assert_non_null(strstr(out, "\"status\":\"invalid\""));
	assert_non_null(strstr(out, "\"s1\""));
	assert_non_null(strstr(out, "\"s2\""));
	assert_non_null(strstr(out, "\"s3\""));
	size_t burst = strlen(out);
	put_line(x->in, "s4");
	close(x->in);
	x->in = -1;
	got = read_lines(x->out, out, sizeof(out), 5, 15000);
	assert_int_equal(got, 5);
	assert_non_null(strstr(out + burst, "\"s4\""));
	assert_int_equal(e2e_wait(x->pid, 15000), 1); /* one item was invalid */
	x->pid = 0;
	assert_int_equal(stat_of(x, "creates"), 4);
}

/* Bad lines on a live stream, the first one included, are reported and skipped. */
static void test_bad_lines_never_stop_the_stream(void **state)
{
	setup_world(state, "--run-time 200ms");
	struct world *x = *state;
	spawn(x, "-", "--concurrency 4", 1);
	const char *bad =
	    "{\"id\":\"b1\",\"inputs\":{\"input_image\":\"https://x.example/\xff.png\"}}\n";
	assert_int_equal(write(x->in, bad, strlen(bad)), (ssize_t)strlen(bad));
	static char big[(1 << 20) + 64];
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '"';
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(write(x->in, big, strlen(big)), (ssize_t)strlen(big));
	put_line(x->in, "b3");
	static char out[65536];
	out[0] = '\0';
	int got = read_lines(x->out, out, sizeof(out), 3, 15000);
	if (got < 3)
		print_error("%d lines:\n%s\n", got, out);
	assert_int_equal(got, 3);
	assert_non_null(strstr(out, "\"source\":\"<stdin>:1\""));
	assert_non_null(strstr(out, "not valid UTF-8"));
	assert_non_null(strstr(out, "line too long"));
	assert_non_null(strstr(out, "\"id\":\"b3\",\"status\":\"completed\""));
	close(x->in);
	x->in = -1;
	assert_int_equal(e2e_wait(x->pid, 15000), 1);
	x->pid = 0;
}

/*
 * A producer far faster than the runs: florabatch reads a bounded amount
 * ahead and the pipe fills, so the producer waits instead of florabatch's
 * memory growing.
 */
static void test_fast_producer_is_held_back(void **state)
{
	setup_world(state, "--run-time 60s");
	struct world *x = *state;
	spawn(x, "-", "--concurrency 2", 0);
	fcntl(x->in, F_SETFL, O_NONBLOCK);
	int written = 0, blocked = 0;
	char id[32];
	for (int round = 0; round < 4 && written < 20000; round++) {
		while (written < 20000) {
			snprintf(id, sizeof(id), "f%06d", written);
			char line[256];
			int n = snprintf(line, sizeof(line),
					 "{\"id\":\"%s\",\"inputs\":{\"input_image\":"
					 "\"https://storage.googleapis.com/stream/%s.png\"}}\n",
					 id, id);
			ssize_t w = write(x->in, line, (size_t)n);
			if (w < 0 && errno == EAGAIN) {
				blocked = 1;
				break;
			}
			assert_int_equal(w, n);
			written++;
		}
		e2e_sleep_ms(300); /* time for florabatch to read all it will */
	}
	assert_true(wait_creates(x, 2, 10000) >= 0);
	if (!blocked || written > 3000)
		print_error("the producer wrote %d lines (blocked: %d) with 2 runs in flight\n",
			    written, blocked);
	assert_true(blocked);
	assert_true(written <= 3000);
	assert_int_equal(stat_of(x, "creates"), 2);
}

/*
 * A reader of standard output that does not read: the pipe fills, the
 * writes wait, and the batch waits with them instead of holding the lines
 * in memory; once it reads, everything comes.
 */
static void test_slow_reader_slows_the_batch(void **state)
{
	setup_world(state, "--run-time 50ms");
	struct world *x = *state;
	char *m = tu_path(x->w->dir, "m.jsonl");
	FILE *f = fopen(m, "w");
	for (int i = 0; i < 400; i++)
		fprintf(f,
			"{\"id\":\"slow-%03d\",\"inputs\":{\"input_image\":"
			"\"https://storage.googleapis.com/stream/a-rather-long-path-for-a-longer-"
			"line/%d.png\"},\"note\":\"%0200d\"}\n",
			i, i, i);
	fclose(f);
	free(m);
	spawn(x, "m.jsonl", "--concurrency 20", 1);
	e2e_sleep_ms(3000);
	long long created = stat_of(x, "creates");
	if (created >= 400)
		print_error("all %lld runs were created while nobody read the results\n", created);
	assert_true(created < 400);
	static char out[1 << 20];
	out[0] = '\0';
	assert_int_equal(read_lines(x->out, out, sizeof(out), 400, 60000), 400);
	assert_int_equal(e2e_wait(x->pid, 15000), 0);
	x->pid = 0;
}

/* A FIFO named as the manifest streams like standard input. */
static void test_fifo(void **state)
{
	setup_world(state, "--run-time 300ms");
	struct world *x = *state;
	char *fifo = tu_path(x->w->dir, "queue.jsonl");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	spawn(x, "queue.jsonl", "--concurrency 4", 1);
	int fd = open(fifo, O_WRONLY); /* waits for florabatch to open its end */
	assert_true(fd >= 0);
	put_line(fd, "q1");
	put_line(fd, "q2");
	static char out[16384];
	out[0] = '\0';
	int got = read_lines(x->out, out, sizeof(out), 2, 15000);
	if (got < 2)
		print_error("%d result lines while the FIFO stayed open\n", got);
	assert_int_equal(got, 2);
	close(fd);
	assert_int_equal(e2e_wait(x->pid, 15000), 0);
	x->pid = 0;
	free(fifo);
}

/* --keep-order: runs of spread lengths end in any order; the lines leave in input order. */
static void test_keep_order(void **state)
{
	setup_world(state, "--run-time 300ms --run-time-sigma 0.8");
	struct world *x = *state;
	spawn(x, "-", "--concurrency 4 --keep-order", 1);
	char id[32];
	for (int i = 1; i <= 24; i++) {
		snprintf(id, sizeof(id), "k%02d", i);
		put_line(x->in, id);
	}
	close(x->in);
	x->in = -1;
	static char out[65536];
	out[0] = '\0';
	assert_int_equal(read_lines(x->out, out, sizeof(out), 24, 30000), 24);
	assert_int_equal(e2e_wait(x->pid, 15000), 0);
	x->pid = 0;
	struct e2e_lines l = e2e_parse_jsonl(out);
	assert_int_equal(l.n, 24);
	for (size_t i = 0; i < l.n; i++) {
		snprintf(id, sizeof(id), "k%02zu", i + 1);
		const char *got = e2e_str(l.v[i], "id", NULL);
		if (strcmp(got, id))
			print_error("line %zu is %s, expected %s\n", i + 1, got, id);
		assert_string_equal(got, id);
	}
	e2e_lines_free(&l);
}

static int count_file_lines(struct world *x, const char *name)
{
	char *p = tu_path(x->w->dir, name);
	size_t len = 0;
	char *text = tu_read_file(p, &len);
	int n = 0;
	for (size_t i = 0; text && i < len; i++)
		n += text[i] == '\n';
	free(text);
	free(p);
	return n;
}

/*
 * A stream that stays open gets its outputs archived on SIGUSR1 and on
 * --roll's size: each volume is whole and readable while florabatch runs,
 * each line names the volume that holds its outputs, and nothing is
 * archived twice.
 */
static void test_volumes_roll_while_the_stream_lives(void **state)
{
	setup_world(state, "--run-time 200ms");
	struct world *x = *state;
	spawn(x, "-", "--concurrency 4 --roll 1d", 1);
	put_line(x->in, "v1");
	put_line(x->in, "v2");
	put_line(x->in, "v3");
	static char out[65536];
	out[0] = '\0';
	assert_int_equal(read_lines(x->out, out, sizeof(out), 3, 15000), 3);
	assert_int_equal(count_file_lines(x, "out/volumes.jsonl"), 0);
	kill(x->pid, SIGUSR1);
	long long t0 = e2e_now_ms();
	while (count_file_lines(x, "out/volumes.jsonl") < 1 && e2e_now_ms() - t0 < 5000)
		e2e_sleep_ms(20);
	assert_int_equal(count_file_lines(x, "out/volumes.jsonl"), 1);
	/* The first volume can be picked up now, whole, with the three outputs. */
	char *vol1 = tu_path(x->w->dir, "out/outputs.tar.gz");
	struct e2e_lines l = e2e_parse_jsonl(out);
	char why[512];
	if (e2e_check_archive(vol1, &l, why, sizeof(why)))
		print_error("while the stream is open: %s\n", why);
	assert_int_equal(e2e_check_archive(vol1, &l, why, sizeof(why)), 0);
	e2e_lines_free(&l);
	/* status reads the live folder without its lock. */
	char cmd[4096], *sout = NULL;
	snprintf(cmd, sizeof(cmd), "'%s' status --json '%s/out'", tu_env("FB_BIN"), x->w->dir);
	assert_int_equal(tu_run(cmd, &sout, NULL), 0);
	struct e2e_lines sl = e2e_parse_jsonl(sout);
	assert_int_equal(sl.n, 1);
	const char *rp_[] = {"running", NULL};
	assert_true(YAJL_IS_TRUE(yajl_tree_get(sl.v[0], rp_, yajl_t_true)));
	assert_int_equal(e2e_num(sl.v[0], "completed", NULL), 3);
	assert_int_equal(e2e_num(sl.v[0], "volumes", NULL), 1);
	assert_int_equal(e2e_num(sl.v[0], "open_runs", NULL), 0);
	e2e_lines_free(&sl);
	free(sout);
	put_line(x->in, "v4");
	put_line(x->in, "v5");
	close(x->in);
	x->in = -1;
	assert_int_equal(read_lines(x->out, out, sizeof(out), 5, 15000), 5);
	assert_int_equal(e2e_wait(x->pid, 15000), 0);
	x->pid = 0;
	assert_int_equal(count_file_lines(x, "out/volumes.jsonl"), 2);
	assert_int_equal(tu_run(cmd, &sout, NULL), 0);
	assert_non_null(strstr(sout, "\"running\":false"));
	assert_non_null(strstr(sout, "\"completed\":5"));
	free(sout);
	l = e2e_world_results(x->w);
	assert_int_equal(l.n, 5);
	if (e2e_check_archive(vol1, &l, why, sizeof(why)))
		print_error("at the end: %s\n", why);
	assert_int_equal(e2e_check_archive(vol1, &l, why, sizeof(why)), 0);
	e2e_lines_free(&l);
	/* Every output is in a volume: the spool keeps no second copy. */
	char *spool = tu_path(x->w->dir, "out/spool.dat");
	struct stat st;
	assert_int_equal(stat(spool, &st), 0);
	assert_int_equal(st.st_size, 0);
	free(spool);
	free(vol1);

	/* --roll by size: outputs of about 400 bytes, a volume per kilobyte or so. */
	char args[1024];
	snprintf(args, sizeof(args),
		 "--technique cctv-cam --out out2 --concurrency 2 --roll 1k --quiet m.jsonl");
	char *m = tu_path(x->w->dir, "m.jsonl");
	FILE *f = fopen(m, "w");
	for (int i = 0; i < 12; i++)
		fprintf(f,
			"{\"id\":\"z%d\",\"inputs\":{\"input_image\":"
			"\"https://storage.googleapis.com/stream/z%d.png\"}}\n",
			i, i);
	fclose(f);
	free(m);
	struct e2e_run r = e2e_world_run(x->w, KEY, args);
	if (r.status)
		print_error("exit %d: %s\n", r.status, r.err);
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	assert_true(count_file_lines(x, "out2/volumes.jsonl") >= 3);
	char *rp = tu_path(x->w->dir, "out2/results.jsonl");
	char *text = tu_read_file(rp, NULL);
	l = e2e_parse_jsonl(text);
	char *v = tu_path(x->w->dir, "out2/outputs.tar.gz");
	assert_int_equal(e2e_check_archive(v, &l, why, sizeof(why)), 0);
	e2e_lines_free(&l);
	free(text);
	free(rp);
	free(v);
}

static long proc_kb(int pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	long v = -1;
	size_t n = strlen(field);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n))
			v = atol(line + n);
	if (f)
		fclose(f);
	return v;
}

static int proc_fds(int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	DIR *d = opendir(path);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return d ? n : -1;
}

static long long file_bytes(struct world *x, const char *name, int on_disk)
{
	char *p = tu_path(x->w->dir, name);
	struct stat st;
	long long v = stat(p, &st) ? 0 : on_disk ? (long long)st.st_blocks * 512 : st.st_size;
	free(p);
	return v;
}

/*
 * A week of a stream that never ends, on the virtual clock: 50,400 items
 * of ten-minute runs, 50 in flight, a volume an hour. Memory, open files,
 * the journal and the spool's disk space stay flat; the journal keeps
 * about a day of records instead of the week's.
 */
static void test_week_long_stream_stays_flat(void **state)
{
	setup_world(state, "--run-time 1s");
	struct world *x = *state;
	/*
	 * Under the sanitizers memory errors, not memory use: a fifth of the
	 * items, the same week; under valgrind, some fifty times slower, a
	 * twenty-fifth. The items in flight shrink alike, so the week stays a week.
	 */
	const int measured = E2E_MEASURED;
	int items = 50400, concurrency = 50;
	if (e2e_wrapped()) {
		items = 2016;
		concurrency = 2;
	} else if (!measured) {
		items = 10080;
		concurrency = 10;
	}
	char args[160];
	snprintf(
	    args, sizeof(args),
	    "run - --sim-clock virtual --sim-run-time 10m --concurrency %d --roll 1h --out out "
	    "--quiet",
	    concurrency);
	x->pid = e2e_florabatch_spawn_piped(x->w->dir, KEY, args, "fb", &x->in, NULL);
	pid_t writer = fork();
	assert_true(writer >= 0);
	if (writer == 0) {
		FILE *f = fdopen(x->in, "w");
		for (int i = 0; i < items; i++)
			fprintf(f,
				"{\"id\":\"w%06d\",\"technique\":\"cctv-cam\",\"inputs\":"
				"{\"input_image\":\"https://storage.googleapis.com/w/%d.png\"}}\n",
				i, i);
		fclose(f);
		_exit(0);
	}
	close(x->in);
	x->in = -1;
	long rss_early = 0, rss_late = 0;
	int fds_early = 0, fds_late = 0; /* the most open in each half of the week */
	long long journal_max = 0, spool_max = 0;
	int st;
	while ((st = e2e_wait(x->pid, 20)) < 0) {
		int done = count_file_lines(x, "out/results.jsonl");
		long rss = proc_kb(x->pid, "VmRSS:");
		int fds = proc_fds(x->pid);
		if (rss < 0 || fds < 0)
			continue;
		if (done < items / 4 && rss > rss_early)
			rss_early = rss;
		if (done >= items / 2 && rss > rss_late)
			rss_late = rss;
		if (done < items / 2 && fds > fds_early)
			fds_early = fds;
		if (done >= items / 2 && fds > fds_late)
			fds_late = fds;
		long long jb = file_bytes(x, "out/journal.jsonl", 0);
		long long sb = file_bytes(x, "out/spool.dat", 1);
		journal_max = jb > journal_max ? jb : journal_max;
		spool_max = sb > spool_max ? sb : spool_max;
	}
	x->pid = 0;
	int ws;
	waitpid(writer, &ws, 0);
	assert_int_equal(st, 0);
	assert_int_equal(count_file_lines(x, "out/results.jsonl"), items);
	/* A volume an hour for a week, or near it (the last one at the end). */
	int vols = count_file_lines(x, "out/volumes.jsonl");
	print_message("week-long stream: RSS %ld KiB early, %ld KiB late; open files at most "
		      "%d early, %d late; journal at most %lld bytes; spool at most %lld bytes on "
		      "disk; %d volumes\n",
		      rss_early, rss_late, fds_early, fds_late, journal_max, spool_max, vols);
	assert_true(vols >= 160 && vols <= 170);
	assert_int_equal(file_bytes(x, "out/spool.dat", 0), 0);
	if (!measured)
		return;
	assert_true(rss_early > 0 && rss_late > 0);
	assert_true(rss_late <= rss_early + 4096); /* flat: within 4 MiB of the first quarter */
	/* Open files follow the downloads in flight, never the stream's history. */
	assert_true(fds_early > 0 && fds_late <= fds_early + 4);
	/* Uncompacted, two records of about 110 bytes an item: some 11 MB. */
	assert_true(journal_max < 5 * 1024 * 1024);
	assert_true(spool_max < 4 * 1024 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_results_before_stdin_closes, teardown),
	    cmocka_unit_test_teardown(test_bad_lines_never_stop_the_stream, teardown),
	    cmocka_unit_test_teardown(test_fast_producer_is_held_back, teardown),
	    cmocka_unit_test_teardown(test_slow_reader_slows_the_batch, teardown),
	    cmocka_unit_test_teardown(test_fifo, teardown),
	    cmocka_unit_test_teardown(test_keep_order, teardown),
	    cmocka_unit_test_teardown(test_volumes_roll_while_the_stream_lives, teardown),
	    cmocka_unit_test_teardown(test_week_long_stream_stays_flat, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
