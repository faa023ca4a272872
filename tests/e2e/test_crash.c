/*
 * Crash safety end to end: one batch of 200 items against florasim, with
 * florabatch killed by SIGKILL at random moments at least 20 times and run
 * again after each kill, then let finish. A new user whose machine dies
 * mid-batch must get, after re-running the same command, exactly what an
 * undisturbed batch gives: one result line per item, every output in the
 * archive once, and never a second paid run for an item (florasim's per-key
 * counts are the witness).
 *
 * The kill moments come from a seed: FB_CRASH_SEED, else a fixed default.
 * The seed is printed with every failure; FB_CRASH_SEED=<seed> replays the
 * same schedule (the same kill delays, florasim outcomes and client jitter).
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
#include <sys/wait.h>

#define KEY		"sk_test_crash"
#define ITEMS		200
#define KILLS		24 /* aimed for; at least MIN_KILLS must land on a live process */
#define MIN_KILLS	20 /* what the crash-safety requirement asks */
#define MAX_INVOCATIONS 40
#define KILL_MIN_MS	50
#define KILL_MAX_MS	900
#define FINAL_LIMIT_MS	60000
#define DEFAULT_SEED	20240605ULL

/*
 * Runs take 3 s (1.5 s to 4.5 s with the jitter): 200 items at 40 in flight
 * are then about 15 s of work, so the batch outlasts the ~10 s that 20 kill
 * windows of 50-900 ms add up to, and every kill lands on unfinished work
 * with runs pending, running and done on the server. The latency keeps
 * requests in the air when the kill comes.
 */
#define SIM_ARGS "--run-time 3s --run-time-jitter 0.5 --latency 30ms"
#define FB_ARGS                                                                                    \
	"run m.csv --transport http --base-url %s --technique cctv-cam --out out "                 \
	"--concurrency 40 --poll-interval 300ms --seed %llu"

struct world {
	char *dir;
	struct e2e_sim sim;
	int pid; /* a florabatch still to reap, killed by teardown */
	unsigned long long seed;
	uint64_t rng;
	int inv;    /* invocation number, 1-based, for the messages */
	long delay; /* when that invocation is killed, ms after its start; 0: never */
	char *kept; /* the whole lines of results.jsonl after the last kill */
	size_t nkept;
};

#define FAIL(w, ...)                                                                               \
	do {                                                                                       \
		print_error("crash test seed %llu (replay: FB_CRASH_SEED=%llu), invocation %d "    \
			    "(kill at %ld ms): ",                                                  \
			    (w)->seed, (w)->seed, (w)->inv, (w)->delay);                           \
		print_error(__VA_ARGS__);                                                          \
		print_error("\n");                                                                 \
		fail();                                                                            \
	} while (0)

/* splitmix64: small, seedable, and the same on every platform. */
static uint64_t next_rand(struct world *w)
{
	uint64_t z = (w->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
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
		free(w->kept);
		tu_rmrf(w->dir);
		free(w->dir);
		free(w);
	}
	*state = NULL;
	return 0;
}

static void write_manifest(struct world *w)
{
	char *text = malloc((size_t)ITEMS * 80 + 64);
	size_t len = (size_t)sprintf(text, "id,input_image:imageUrl\n");
	for (int i = 1; i <= ITEMS; i++)
		len += (size_t)sprintf(text + len, "p%d,https://storage.googleapis.com/b/%d.jpg\n",
				       i, i);
	free(tu_write_file(w->dir, "m.csv", text, len));
	free(text);
}

static char *log_of(struct world *w, const char *ext)
{
	char name[64];
	snprintf(name, sizeof(name), "inv-%d.%s", w->inv, ext);
	char *p = tu_path(w->dir, name);
	char *text = tu_read_file(p, NULL);
	free(p);
	return text ? text : strdup("(none)");
}

/*
 * What must hold after any kill: the whole lines results.jsonl had after the
 * previous kill are still there, byte for byte (the file is only appended
 * to; a torn last line may be cut); every whole line is JSON and names a
 * manifest item at most once; and an archive, when there is one, is whole.
 */
static void check_results_kept(struct world *w, const char *when)
{
	char why[512];
	char *rp = tu_path(w->dir, "out/results.jsonl");
	size_t len = 0;
	char *text = tu_read_file(rp, &len);
	if (!text)
		text = strdup("");
	if (len < w->nkept || (w->nkept && memcmp(text, w->kept, w->nkept)))
		FAIL(w,
		     "%s, results.jsonl lost or changed lines an earlier run had written "
		     "(%zu bytes before, %zu now)",
		     when, w->nkept, len);
	size_t whole = len;
	while (whole > 0 && text[whole - 1] != '\n')
		whole--;
	free(w->kept);
	w->kept = text;
	w->nkept = whole;
	struct e2e_lines l;
	int torn;
	if (e2e_read_jsonl_file(rp, &l, &torn, why, sizeof(why)))
		FAIL(w, "%s: %s", when, why);
	if (e2e_check_ids(&l, ITEMS, 0, why, sizeof(why)))
		FAIL(w, "%s, results.jsonl: %s", when, why);
	e2e_lines_free(&l);
	free(rp);
}

static void check_between_kills(struct world *w)
{
	check_results_kept(w, "after the kill");
	char *ap = tu_path(w->dir, "out/outputs.tar.gz");
	char *bytes = tu_read_file(ap, NULL);
	if (bytes) {
		struct e2e_archive a;
		if (e2e_try_read_archive(ap, &a))
			FAIL(w, "after the kill, outputs.tar.gz is not a whole archive (it must be "
				"replaced atomically)");
		e2e_archive_free(&a);
	}
	free(bytes);
	free(ap);
}

static void test_sigkill_at_random_moments(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	*state = w;
	const char *env = getenv("FB_CRASH_SEED");
	w->seed = env && *env ? strtoull(env, NULL, 10) : DEFAULT_SEED;
	w->rng = w->seed;
	w->dir = tu_tmpdir();
	char args[512];
	snprintf(args, sizeof(args), "--api-key " KEY " --quiet --seed %llu " SIM_ARGS, w->seed);
	w->sim = e2e_florasim_start(args);
	write_manifest(w);
	char fbargs[512];
	snprintf(fbargs, sizeof(fbargs), FB_ARGS, w->sim.base, w->seed);
	long long t0 = e2e_now_ms();

	int kills = 0, finished = 0;
	while (kills < KILLS && w->inv < MAX_INVOCATIONS && !finished) {
		w->inv++;
		long delay = KILL_MIN_MS + (long)(next_rand(w) % (KILL_MAX_MS - KILL_MIN_MS + 1));
		w->delay = delay;
		char log[32];
		snprintf(log, sizeof(log), "inv-%d", w->inv);
		w->pid = e2e_florabatch_spawn(w->dir, KEY, fbargs, log);
		int st = e2e_wait(w->pid, delay);
		if (st < 0) {
			kill(w->pid, SIGKILL);
			st = e2e_wait(w->pid, 10000);
			if (st < 0)
				FAIL(w, "florabatch did not die within 10 s of SIGKILL");
		}
		w->pid = 0;
		if (st == 128 + SIGKILL) {
			kills++;
		} else if (st == 0) {
			finished = 1; /* the batch ended before this kill */
		} else {
			char *err = log_of(w, "err");
			FAIL(w, "florabatch exited %d on its own before the kill; stderr:\n%s", st,
			     err);
			free(err);
		}
		check_between_kills(w);
	}
	if (kills < MIN_KILLS)
		FAIL(w,
		     "only %d kills landed on a running florabatch in %d invocations "
		     "(the batch %s); at least %d are needed",
		     kills, w->inv, finished ? "finished too early" : "kept exiting", MIN_KILLS);

	/* Then the same command, to the end. */
	w->inv++;
	w->delay = 0;
	char log[32];
	snprintf(log, sizeof(log), "inv-%d", w->inv);
	w->pid = e2e_florabatch_spawn(w->dir, KEY, fbargs, log);
	int st = e2e_wait(w->pid, FINAL_LIMIT_MS);
	if (st < 0) {
		kill(w->pid, SIGKILL);
		e2e_wait(w->pid, 10000);
		w->pid = 0;
		char *err = log_of(w, "err");
		FAIL(w, "the final run after %d kills did not finish within %d s; stderr:\n%s",
		     kills, FINAL_LIMIT_MS / 1000, err);
		free(err);
	}
	w->pid = 0;
	if (st != 0) {
		char *err = log_of(w, "err");
		FAIL(w, "the final run after %d kills exited %d, not 0; stderr:\n%s", kills, st,
		     err);
		free(err);
	}

	check_results_kept(w, "after the final run");
	char why[512];
	char *rp = tu_path(w->dir, "out/results.jsonl");
	struct e2e_lines l;
	int torn;
	if (e2e_read_jsonl_file(rp, &l, &torn, why, sizeof(why)))
		FAIL(w, "final results: %s", why);
	if (torn)
		FAIL(w, "final results.jsonl ends in a line without its newline");
	if (l.n != ITEMS)
		FAIL(w, "final results.jsonl has %zu lines, not %d", l.n, ITEMS);
	if (e2e_check_ids(&l, ITEMS, 1, why, sizeof(why)))
		FAIL(w, "final results.jsonl: %s", why);
	for (size_t i = 0; i < l.n; i++) {
		const char *s = e2e_str(l.v[i], "status", NULL);
		if (!s || strcmp(s, "completed"))
			FAIL(w, "item %s ended %s, not completed", e2e_str(l.v[i], "id", NULL),
			     s ? s : "(no status)");
	}
	char *ap = tu_path(w->dir, "out/outputs.tar.gz");
	if (e2e_check_archive(ap, &l, why, sizeof(why)))
		FAIL(w, "final outputs.tar.gz: %s", why);

	yajl_val st_json = e2e_sim_get_json(&w->sim, "/_sim/stats");
	long long runs = e2e_num(st_json, "runs_created", NULL);
	long long most = e2e_num(st_json, "max_runs_per_key", NULL);
	if (runs != ITEMS || most != 1)
		FAIL(w,
		     "florasim made %lld runs (most for one key %lld) for %d items: some item "
		     "was paid for twice or never",
		     runs, most, ITEMS);
	/* Each line's key made exactly its one run. */
	for (size_t i = 0; i < l.n; i++) {
		const char *key = e2e_str(l.v[i], "idempotency_key", NULL);
		if (!key || e2e_num(st_json, "keys", key, NULL) != 1)
			FAIL(w, "item %s: its key %s made %lld runs on florasim, not 1",
			     e2e_str(l.v[i], "id", NULL), key ? key : "(none)",
			     key ? e2e_num(st_json, "keys", key, NULL) : -1);
	}
	print_message("crash test seed %llu: %d kills in %d invocations, %.1f s\n", w->seed, kills,
		      w->inv, (double)(e2e_now_ms() - t0) / 1000.0);
	yajl_tree_free(st_json);
	free(ap);
	free(rp);
	e2e_lines_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_sigkill_at_random_moments, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
