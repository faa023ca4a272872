/*
 * Stopping and resuming a batch end to end against florasim: the output
 * folder's lock, SIGTERM and SIGINT mid-batch, torn last lines of the
 * journal and the results, --fresh, and re-running a finished batch. What a
 * new user running florabatch from cron or stopping it with Ctrl-C relies
 * on: the same command run again finishes the batch, with one line per
 * item and never a second run for one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define KEY "sk_test_resume"

struct world {
	char *dir;
	struct e2e_sim sim;
	int pid; /* a background florabatch still to reap, killed by teardown */
};

static struct world *start(void **state, const char *sim_args)
{
	struct world *w = calloc(1, sizeof(*w));
	*state = w;
	char args[1024];
	snprintf(args, sizeof(args), "--api-key " KEY " --quiet %s", sim_args);
	w->dir = tu_tmpdir();
	w->sim = e2e_florasim_start(args);
	return w;
}

static int teardown(void **state)
{
	struct world *w = *state;
	if (w) {
		if (w->pid > 0) {
			kill(w->pid, SIGKILL);
			waitpid(w->pid, NULL, 0);
		}
		e2e_florasim_stop(&w->sim);
		tu_rmrf(w->dir);
		free(w->dir);
		free(w);
	}
	*state = NULL;
	return 0;
}

static void write_manifest(struct world *w, int n)
{
	char *text = malloc((size_t)n * 80 + 64);
	size_t len = (size_t)sprintf(text, "id,input_image:imageUrl\n");
	for (int i = 1; i <= n; i++)
		len += (size_t)sprintf(text + len, "p%d,https://storage.googleapis.com/b/%d.jpg\n",
				       i, i);
	free(tu_write_file(w->dir, "m.csv", text, len));
	free(text);
}

/* The florabatch arguments (after "run") every invocation of a test shares. */
static void cmdline(struct world *w, char *buf, size_t len, const char *extra)
{
	snprintf(buf, len,
		 "run m.csv --transport http --base-url %s --technique cctv-cam --out out "
		 "--poll-interval 300ms --seed 3 %s",
		 w->sim.base, extra);
}

/* Runs florabatch to its end (through a shell, as a user would). */
static struct e2e_run fb(struct world *w, const char *extra)
{
	char args[1024], cmd[4096];
	cmdline(w, args, sizeof(args), extra);
	snprintf(cmd, sizeof(cmd), "cd '%s' && env FLORA_API_KEY=" KEY " '%s' %s", w->dir,
		 tu_env("FB_BIN"), args);
	struct e2e_run r = {0};
	r.status = tu_run(cmd, &r.out, &r.err);
	return r;
}

/* Starts florabatch in the background; its stderr goes to dir/<log>.err. */
static void fb_start(struct world *w, const char *extra, const char *log)
{
	char args[1024];
	cmdline(w, args, sizeof(args), extra);
	w->pid = e2e_florabatch_spawn(w->dir, KEY, args, log);
}

/* Waits up to ms for the background florabatch: its status, or fails saying what it did. */
static int fb_wait(struct world *w, long ms, const char *what)
{
	int st = e2e_wait(w->pid, ms);
	if (st < 0) {
		print_error("florabatch did not exit within %ld ms %s\n", ms, what);
		fail();
	}
	w->pid = 0;
	return st;
}

static char *read_log(struct world *w, const char *name)
{
	char *p = tu_path(w->dir, name);
	char *t = tu_read_file(p, NULL);
	free(p);
	return t ? t : strdup("");
}

/* The complete lines of out/results.jsonl; fails on a line that is not JSON. */
static struct e2e_lines results(struct world *w, int *torn)
{
	char why[512];
	char *p = tu_path(w->dir, "out/results.jsonl");
	struct e2e_lines l;
	int t;
	if (e2e_read_jsonl_file(p, &l, &t, why, sizeof(why))) {
		print_error("%s\n", why);
		fail();
	}
	if (torn)
		*torn = t;
	free(p);
	return l;
}

static void check_ids(const struct e2e_lines *l, int n, int exact, const char *when)
{
	char why[512];
	if (e2e_check_ids(l, n, exact, why, sizeof(why))) {
		print_error("%s: results.jsonl: %s\n", when, why);
		fail();
	}
}

static void check_archive(struct world *w, const struct e2e_lines *l, const char *when)
{
	char why[512];
	char *p = tu_path(w->dir, "out/outputs.tar.gz");
	if (e2e_check_archive(p, l, why, sizeof(why))) {
		print_error("%s: %s\n", when, why);
		fail();
	}
	free(p);
}

static size_t count_status(const struct e2e_lines *l, const char *status)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *s = e2e_str(l->v[i], "status", NULL);
		n += s && !strcmp(s, status);
	}
	return n;
}

static long long stat_of(struct world *w, const char *name)
{
	yajl_val st = e2e_sim_get_json(&w->sim, "/_sim/stats");
	long long v = e2e_num(st, name, NULL);
	yajl_tree_free(st);
	return v;
}

/* A finished batch: exit 0, n lines, one per item, all completed, the archive whole. */
static void assert_finished(struct world *w, const struct e2e_run *r, int n, const char *when)
{
	if (r->status != 0)
		print_error("%s: exit %d; stderr:\n%s\n", when, r->status, r->err);
	assert_int_equal(r->status, 0);
	int torn;
	struct e2e_lines l = results(w, &torn);
	assert_false(torn);
	if (l.n != (size_t)n)
		print_error("%s: %zu result lines for %d items\n", when, l.n, n);
	assert_int_equal(l.n, n);
	check_ids(&l, n, 1, when);
	assert_int_equal(count_status(&l, "completed"), n);
	check_archive(w, &l, when);
	e2e_lines_free(&l);
}

static void assert_one_run_per_item(struct world *w, long long n, const char *when)
{
	long long runs = stat_of(w, "runs_created"), most = stat_of(w, "max_runs_per_key");
	if (runs != n || most != 1)
		print_error("%s: florasim made %lld runs (most for one key %lld) for %lld items\n",
			    when, runs, most, n);
	assert_int_equal(runs, n);
	assert_int_equal(most, 1);
}

static int file_exists(struct world *w, const char *name)
{
	char *p = tu_path(w->dir, name);
	struct stat sb;
	int ok = stat(p, &sb) == 0;
	free(p);
	return ok;
}

/*
 * Waits until florasim has made n runs and, with lock, out/.lock exists;
 * fails at once, with its stderr, if the background florabatch ends first.
 */
static void wait_for_runs(struct world *w, long long n, int lock, const char *log)
{
	long long until = e2e_now_ms() + 10000;
	for (;;) {
		if (stat_of(w, "runs_created") >= n && (!lock || file_exists(w, "out/.lock")))
			return;
		int st = e2e_wait(w->pid, 0);
		if (st >= 0 || e2e_now_ms() > until) {
			char name[64];
			snprintf(name, sizeof(name), "%s.err", log);
			char *err = read_log(w, name);
			if (st >= 0)
				w->pid = 0;
			print_error("florabatch %s before %lld runs were made%s; its stderr:\n%s\n",
				    st >= 0 ? "exited" : "was still waiting 10 s", n,
				    lock ? " with out/.lock taken" : "", err);
			free(err);
			fail();
		}
		e2e_sleep_ms(20);
	}
}

static void test_second_invocation_on_same_out_is_refused(void **state)
{
	/*
	 * Runs long enough that the first makes no create while the second
	 * starts and is refused: 5 s, or a minute under a wrapper (valgrind),
	 * where a start alone can take longer than 5 s.
	 */
	struct world *w = start(state, e2e_wrapped() ? "--run-time 60s" : "--run-time 5s");
	write_manifest(w, 20);
	fb_start(w, "--concurrency 4 --grace 1s", "first");
	/* The first holds the lock and has its 4 runs in flight. */
	wait_for_runs(w, 4, 1, "first");
	long long creates = stat_of(w, "creates");
	long long t0 = e2e_now_ms();
	struct e2e_run r = fb(w, "--concurrency 4");
	long long took = e2e_now_ms() - t0;
	if (r.status != 75)
		print_error(
		    "a second florabatch on the same --out exited %d, not 75; stderr:\n%s\n",
		    r.status, r.err);
	assert_int_equal(r.status, 75);
	/* At once, not after waiting for the lock (the first's runs take 25 s, or
	 * 5 minutes); under valgrind a start and exit alone take seconds. */
	assert_true(took < (e2e_wrapped() ? 15000 : 3000));
	if (!strstr(r.err, "lock") && !strstr(r.err, "another florabatch"))
		print_error("the refusal does not say another florabatch holds the lock:\n%s\n",
			    r.err);
	assert_true(strstr(r.err, "lock") || strstr(r.err, "another florabatch"));
	/* It did nothing: no create sent, no line written. */
	assert_int_equal(stat_of(w, "creates"), creates);
	int torn;
	struct e2e_lines l = results(w, &torn);
	assert_int_equal(l.n, 0);
	assert_false(torn);
	e2e_lines_free(&l);
	e2e_run_free(&r);

	kill(w->pid, SIGTERM);
	int st = fb_wait(w, 1000 + 4000, "of SIGTERM with --grace 1s");
	assert_int_equal(st, 143);
}

/*
 * A signal mid-batch: the exit status says which, within the grace period,
 * with the summary; the lines written are whole and each item's only one;
 * the same command then finishes the batch without a second run for any item.
 */
static void stop_then_resume(void **state, int sig, int items)
{
	struct world *w = start(state, "--run-time 1s");
	write_manifest(w, items);
	const char *extra = "--concurrency 10 --grace 5s";
	fb_start(w, extra, "stopped");
	/* Mid-batch: its first runs made, so the signal finds its handlers (a slow
	 * start, as under valgrind, would meet the signal before them). */
	wait_for_runs(w, 1, 1, "stopped");
	e2e_sleep_ms(1200);
	long long t0 = e2e_now_ms();
	kill(w->pid, sig);
	int st = fb_wait(w, 5000 + 3000, "of the signal with --grace 5s");
	long long took = e2e_now_ms() - t0;
	char *err = read_log(w, "stopped.err");
	if (st != 128 + sig)
		print_error(
		    "after signal %d florabatch exited %d, not %d (in %lld ms); stderr:\n%s\n", sig,
		    st, 128 + sig, took, err);
	assert_int_equal(st, 128 + sig);
	/* The summary still comes, so a user sees where the batch stopped. */
	if (!strstr(err, "items") || !strstr(err, "completed"))
		print_error("no summary on stderr after signal %d:\n%s\n", sig, err);
	assert_non_null(strstr(err, "items"));
	assert_non_null(strstr(err, "completed"));
	free(err);

	int torn;
	struct e2e_lines l = results(w, &torn);
	assert_false(torn); /* a clean stop writes whole lines */
	if (l.n >= (size_t)items)
		print_error("the batch was stopped after 1.2 s yet has %zu lines for %d items\n",
			    l.n, items);
	assert_true(l.n < (size_t)items);
	check_ids(&l, items, 0, "after the signal");
	check_archive(w, &l, "after the signal");
	e2e_lines_free(&l);
	assert_true(stat_of(w, "max_runs_per_key") <= 1);

	struct e2e_run r = fb(w, extra);
	assert_finished(w, &r, items, "the re-run after the signal");
	assert_one_run_per_item(w, items, "the re-run after the signal");
	e2e_run_free(&r);
}

static void test_sigterm_mid_batch_then_resume(void **state)
{
	stop_then_resume(state, SIGTERM, 60);
}

static void test_sigint_mid_batch_then_resume(void **state)
{
	stop_then_resume(state, SIGINT, 30);
}

/* The summary's "runs" line: runs created and, when there are any, resumed. */
static void summary_runs(const char *err, long long *created, long long *resumed, const char *when)
{
	const char *p = strstr(err, "\n  runs ");
	*created = *resumed = -1;
	if (p && sscanf(p, "\n  runs %lld created", created) == 1) {
		const char *eol = strchr(p + 1, '\n');
		const char *r = strstr(p, " created, ");
		*resumed = 0;
		if (r && (!eol || r < eol) &&
		    sscanf(r, " created, %lld resumed from an earlier invocation", resumed) != 1)
			*resumed = -1;
	}
	if (*created < 0 || *resumed < 0)
		print_error("%s: no \"runs N created[, M resumed ...]\" line in the summary:\n%s\n",
			    when, err);
	assert_true(*created >= 0 && *resumed >= 0);
}

/*
 * A batch stopped while its runs are in flight says it created them; the
 * re-run says it resumed them from the earlier invocation and created only
 * the rest, exactly as florasim counts the runs it made.
 */
static void test_summary_tells_created_from_resumed(void **state)
{
	struct world *w = start(state, "--run-time 3s --run-time-sigma 0");
	write_manifest(w, 16);
	const char *extra = "--concurrency 10 --grace 200ms --summary block";
	fb_start(w, extra, "stopped");
	wait_for_runs(w, 10, 1, "stopped");
	e2e_sleep_ms(300); /* the create answers reach florabatch and its journal */
	kill(w->pid, SIGTERM);
	assert_int_equal(fb_wait(w, 5000, "of SIGTERM with --grace 200ms"), 143);
	char *err = read_log(w, "stopped.err");
	long long created, resumed, made1 = stat_of(w, "runs_created");
	summary_runs(err, &created, &resumed, "the stopped invocation");
	if (created != made1 || resumed != 0)
		print_error("stopped: the summary says %lld created, %lld resumed; florasim made "
			    "%lld\n%s\n",
			    created, resumed, made1, err);
	assert_int_equal(made1, 10); /* runs take 3 s: none finished, none more admitted */
	assert_int_equal(created, made1);
	assert_int_equal(resumed, 0);
	free(err);
	struct e2e_lines l = results(w, NULL);
	long long lines1 = (long long)l.n;
	e2e_lines_free(&l);

	struct e2e_run r = fb(w, extra);
	assert_finished(w, &r, 16, "the re-run");
	summary_runs(r.err, &created, &resumed, "the re-run");
	long long made = stat_of(w, "runs_created");
	if (created != made - made1 || resumed != made1 - lines1)
		print_error("re-run: the summary says %lld created, %lld resumed; florasim made "
			    "%lld more, %lld runs had no line\n%s\n",
			    created, resumed, made - made1, made1 - lines1, r.err);
	assert_int_equal(created, made - made1);
	assert_int_equal(resumed, made1 - lines1);
	assert_true(resumed > 0);
	assert_one_run_per_item(w, 16, "the re-run");
	e2e_run_free(&r);
}

/* Runs are slow and the grace long: only the second Ctrl-C makes it stop at once. */
static void test_second_sigint_exits_at_once(void **state)
{
	struct world *w = start(state, "--run-time 5s");
	write_manifest(w, 10);
	const char *extra = "--concurrency 10 --grace 30s";
	fb_start(w, extra, "stopped");
	wait_for_runs(w, 10, 0, "stopped");
	kill(w->pid, SIGINT);
	e2e_sleep_ms(300);
	long long t0 = e2e_now_ms();
	kill(w->pid, SIGINT); /* harmless if the first already ended it: not yet reaped */
	int st = fb_wait(w, 3000, "of a second SIGINT");
	long long took = e2e_now_ms() - t0;
	assert_int_equal(st, 130);
	assert_true(took < 2000);
	assert_int_equal(stat_of(w, "runs_created"), 10);

	/* The journal knows the 10 runs: the re-run adopts them. */
	struct e2e_run r = fb(w, extra);
	assert_finished(w, &r, 10, "the re-run after two SIGINTs");
	assert_one_run_per_item(w, 10, "the re-run after two SIGINTs");
	e2e_run_free(&r);
}

/* Whole lines in dir/name; 0 when it does not exist. */
static size_t count_lines(struct world *w, const char *name)
{
	char *p = tu_path(w->dir, name);
	size_t len = 0, n = 0;
	char *t = tu_read_file(p, &len);
	for (size_t i = 0; t && i < len; i++)
		n += t[i] == '\n';
	free(t);
	free(p);
	return n;
}

static void append(struct world *w, const char *name, const char *text)
{
	char *p = tu_path(w->dir, name);
	FILE *f = fopen(p, "ab");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	free(p);
}

/*
 * Power lost mid-write leaves a last line without its newline. Here the
 * journal gets a torn record, and the results lose the second half of their
 * last line, so that item has no whole line: the re-run cuts both tails,
 * adopts that item's run from the journal and writes its line again.
 */
static void test_torn_journal_and_results_tails(void **state)
{
	struct world *w = start(state, "--run-time 1s");
	write_manifest(w, 10);
	const char *extra = "--concurrency 4";
	/*
	 * A crash tears only lines no volume holds yet (a volume is built after
	 * its lines are durable): kill -9 while the last items are in flight,
	 * before the invocation's volume, once every item has its run.
	 */
	fb_start(w, extra, "first");
	long long until = e2e_now_ms() + 20000;
	while (count_lines(w, "out/results.jsonl") < 8 || stat_of(w, "runs_created") < 10) {
		if (e2e_wait(w->pid, 0) >= 0 || e2e_now_ms() > until) {
			print_error("the first run ended, or made no 8 lines in 20 s\n");
			fail();
		}
		e2e_sleep_ms(10);
	}
	kill(w->pid, SIGKILL);
	assert_true(fb_wait(w, 5000, "after SIGKILL") >= 0);
	assert_false(file_exists(w, "out/outputs.tar.gz"));
	assert_true(file_exists(w, "out/journal.jsonl"));

	char *rp = tu_path(w->dir, "out/results.jsonl");
	size_t len;
	char *text = tu_read_file(rp, &len);
	assert_non_null(text);
	assert_true(len > 2 && text[len - 1] == '\n');
	size_t last = len - 1;
	while (last > 0 && text[last - 1] != '\n')
		last--;
	char *tail = strndup(text + last, len - 1 - last);
	char ebuf[256];
	yajl_val torn_line = yajl_tree_parse(tail, ebuf, sizeof(ebuf));
	assert_non_null(torn_line);
	char *torn_id = strdup(e2e_str(torn_line, "id", NULL));
	char *torn_key = strdup(e2e_str(torn_line, "idempotency_key", NULL));
	yajl_tree_free(torn_line);
	size_t keep = last + (len - 1 - last) / 2; /* half of the last line, no newline */
	free(tu_write_file(w->dir, "out/results.jsonl", text, keep));

	char rec[512];
	snprintf(rec, sizeof(rec), "{\"t\":\"run\",\"key\":\"%s\",\"ru", torn_key);
	append(w, "out/journal.jsonl", rec);

	long long creates = stat_of(w, "creates");
	struct e2e_run r = fb(w, extra);
	assert_finished(w, &r, 10, "the re-run after torn tails");
	e2e_run_free(&r);
	/* The item whose line was torn was adopted by run id, not created again. */
	assert_int_equal(stat_of(w, "creates"), creates);
	assert_one_run_per_item(w, 10, "the re-run after torn tails");
	int torn;
	struct e2e_lines l = results(w, &torn);
	assert_non_null(e2e_find(&l, torn_id));
	/* The nine whole lines are kept as they were, byte for byte, ahead of the new one. */
	char *after = tu_read_file(rp, NULL);
	assert_memory_equal(after, text, last);
	free(after);
	e2e_lines_free(&l);

	/* A torn journal record on its own (no results damage): nothing to redo. */
	append(w, "out/journal.jsonl", "{\"t\":\"create\",\"key\":\"fb1-");
	append(w, "out/results.jsonl", "{\"id\":\"p4\",\"status\":\"compl");
	r = fb(w, extra);
	assert_finished(w, &r, 10, "the re-run after a torn results line of a done item");
	e2e_run_free(&r);
	assert_int_equal(stat_of(w, "creates"), creates);
	assert_one_run_per_item(w, 10, "the re-run after a torn results line of a done item");

	free(torn_id);
	free(torn_key);
	free(tail);
	free(text);
	free(rp);
}

static void test_fresh_starts_over(void **state)
{
	struct world *w = start(state, "--run-time 300ms");
	write_manifest(w, 5);
	struct e2e_run r = fb(w, "");
	assert_finished(w, &r, 5, "the first run");
	e2e_run_free(&r);
	assert_int_equal(stat_of(w, "creates"), 5);

	r = fb(w, "--fresh");
	assert_finished(w, &r, 5, "the run with --fresh"); /* 5 lines again, not 10 */
	e2e_run_free(&r);
	/* The five keys were sent again and florasim replayed them: no new run. */
	assert_int_equal(stat_of(w, "creates"), 10);
	assert_int_equal(stat_of(w, "duplicate_keys"), 5);
	assert_one_run_per_item(w, 5, "the run with --fresh");
}

static void test_rerun_of_finished_batch_does_nothing(void **state)
{
	struct world *w = start(state, "--run-time 2s");
	write_manifest(w, 8);
	const char *extra = "--concurrency 8";
	struct e2e_run r = fb(w, extra);
	assert_finished(w, &r, 8, "the first run");
	e2e_run_free(&r);
	char *rp = tu_path(w->dir, "out/results.jsonl");
	size_t len0;
	char *before = tu_read_file(rp, &len0);
	long long creates = stat_of(w, "creates"), polls = stat_of(w, "polls");
	long long fetches = stat_of(w, "fetches");

	long long t0 = e2e_now_ms();
	r = fb(w, extra);
	long long took = e2e_now_ms() - t0;
	assert_finished(w, &r, 8, "the re-run of a finished batch");
	e2e_run_free(&r);
	if (took >= 1500)
		print_error("the re-run of a finished batch took %lld ms\n", took);
	/* Runs take 2 s: it waited for none (under valgrind a start alone takes longer) */
	assert_true(!E2E_MEASURED || took < 1500);
	size_t len1;
	char *after = tu_read_file(rp, &len1);
	if (len1 != len0 || memcmp(after, before, len0))
		print_error("the re-run of a finished batch changed results.jsonl (%zu bytes, "
			    "was %zu)\n",
			    len1, len0);
	assert_int_equal(len1, len0);
	assert_memory_equal(after, before, len0);
	/* Nothing asked of the API: no create, no poll, no download (outputs come from the spool).
	 */
	assert_int_equal(stat_of(w, "creates"), creates);
	assert_int_equal(stat_of(w, "polls"), polls);
	assert_int_equal(stat_of(w, "fetches"), fetches);
	free(before);
	free(after);
	free(rp);
}

/*
 * A reader of standard output that leaves (| head) stops new runs at once,
 * and every run created before is finished, written to results.jsonl and
 * archived: nothing paid for is lost. The exit status says what happened
 * (141, not a death by SIGPIPE), and the next invocation does the rest.
 */
static void test_closed_results_pipe(void **state)
{
	struct world *w = start(state, "--run-time 200ms");
	write_manifest(w, 40);
	char args[1024], cmd[4096];
	cmdline(w, args, sizeof(args), "--concurrency 4 --results -");
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && { env FLORA_API_KEY=" KEY " '%s' %s 2>fb.err; echo $? >fb.rc; } "
		 "| head -n 2 >/dev/null",
		 w->dir, tu_env("FB_BIN"), args);
	int st = tu_run(cmd, NULL, NULL);
	(void)st;
	char *rc = read_log(w, "fb.rc"), *err = read_log(w, "fb.err");
	int code = atoi(rc);
	if (code != 141)
		print_error("florabatch writing to a closed pipe exited %d; stderr:\n%s\n", code,
			    err);
	assert_int_equal(code, 141);
	assert_non_null(strstr(err, "went away"));
	long long created = stat_of(w, "runs_created");
	struct e2e_lines l = results(w, NULL);
	if ((long long)l.n != created || created >= 40)
		print_error("%lld runs created, %zu result lines\n", created, l.n);
	assert_true(created < 40); /* it stopped creating */
	assert_int_equal((long long)l.n, created);
	assert_int_equal(count_status(&l, "completed"), l.n);
	check_archive(w, &l, "after the reader left");
	e2e_lines_free(&l);
	free(rc);
	free(err);
	/* The next invocation does the rest, creating no run twice. */
	struct e2e_run r = fb(w, "--concurrency 4");
	assert_finished(w, &r, 40, "the invocation after the reader left");
	e2e_run_free(&r);
	assert_one_run_per_item(w, 40, "after the reader left");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_second_invocation_on_same_out_is_refused, teardown),
	    cmocka_unit_test_teardown(test_sigterm_mid_batch_then_resume, teardown),
	    cmocka_unit_test_teardown(test_sigint_mid_batch_then_resume, teardown),
	    cmocka_unit_test_teardown(test_second_sigint_exits_at_once, teardown),
	    cmocka_unit_test_teardown(test_summary_tells_created_from_resumed, teardown),
	    cmocka_unit_test_teardown(test_torn_journal_and_results_tails, teardown),
	    cmocka_unit_test_teardown(test_fresh_starts_over, teardown),
	    cmocka_unit_test_teardown(test_rerun_of_finished_batch_does_nothing, teardown),
	    cmocka_unit_test_teardown(test_closed_results_pipe, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
