/*
 * bench_poll: what polling costs, in API requests per completed run
 * (creates, polls and list pages; downloads excluded), for florabatch's
 * default polling (the list endpoints) against a fixed 2 s poller
 * (--poll-mode get --poll-interval 2s), measured in one invocation.
 *
 * The grid (run time 1, 5, 30 s x 10, 100, 1,000 runs in flight) runs the
 * driver in process on the simulator with a virtual clock, so it takes
 * seconds and the simulator's own request counts are exact. One row then
 * runs in real time: the florabatch binary against florasim on loopback
 * with RT_RUNS runs of RT_TIME_S seconds, all in flight (the issue's
 * target: <= 1.5 requests per completed run at 1,000 runs of 30 s).
 *
 * usage: bench_poll [FLORABATCH FLORASIM [RT_RUNS] [RT_TIME_S]]
 *        (without the binaries, only the grid)
 */
#define _DEFAULT_SOURCE
#include "collector.h"
#include "driver.h"
#include "manifest.h"
#include "sim.h"

#include "benchutil.h"

struct cell {
	double per_run; /* API requests per completed run */
	uint64_t completed;
	double wall_s; /* on the clock the run used */
};

/* One grid cell: items runs of run_s seconds, inflight at once, on a virtual clock. */
static struct cell in_process(const char *dir, unsigned items, unsigned inflight, double run_s,
			      int fixed_get)
{
	struct cell c = {0};
	char mp[512], rp[512], sp[512];
	snprintf(mp, sizeof(mp), "%s/m.csv", dir);
	snprintf(rp, sizeof(rp), "%s/results-%d.jsonl", dir, fixed_get);
	snprintf(sp, sizeof(sp), "%s/spool-%d.dat", dir, fixed_get);
	unlink(rp);
	unlink(sp);
	if (bench_write_manifest(mp, items, NULL, 0))
		exit(1);
	struct fb_err err = {0};
	struct fb_clock *clock = fb_clock_virtual_new(0);
	struct fb_sim_config sc = {.latency_ms = 20};
	sc.model.seed = 1;
	sc.model.run_ms = (uint64_t)(run_s * 1000);
	sc.model.run_ms_jitter = 0.1;
	sc.model.outputs_per_run = 1;
	struct fb_transport *t = NULL;
	struct fb_manifest *m = NULL;
	struct fb_collector *col = NULL;
	struct fb_collector_config cc = {.record_path = rp, .spool_path = sp};
	if (!clock || fb_sim_transport_new(&t, &sc, clock, &err) ||
	    fb_manifest_open(&m, mp, FB_FORMAT_AUTO, &err) || fb_collector_open(&col, &cc, &err)) {
		fprintf(stderr, "bench_poll: %s\n", err.msg);
		exit(1);
	}
	struct fb_driver_config cfg = {
	    .concurrency = inflight,
	    .defaults = {.technique = "cctv-cam"},
	    .policy = {.max_retries = 5,
		       .max_429_retries = 5,
		       .backoff_base_ms = 500,
		       .backoff_cap_ms = 30000,
		       .poll_interval_ms = fixed_get ? 2000 : 0,
		       .fetch_attempts = 3,
		       .max_output_bytes = 1 << 20,
		       .api_origin = "sim://api"},
	    .poll_mode = fixed_get ? FB_POLL_GET : FB_POLL_LIST,
	    .seed = 7,
	    .max_cost = -1,
	};
	struct fb_summary sum;
	if (fb_driver_run(&cfg, m, t, col, clock, NULL, &sum, &err) ||
	    fb_collector_close(col, NULL, &err)) {
		fprintf(stderr, "bench_poll: %s\n", err.msg);
		exit(1);
	}
	struct fb_simstats st;
	fb_simmodel_stats(fb_sim_transport_model(t), &st);
	c.completed = sum.completed;
	c.per_run = sum.completed ? (double)(st.requests - st.fetches) / sum.completed : -1;
	c.wall_s = sum.elapsed_ms / 1000.0;
	fb_transport_free(t);
	fb_manifest_free(m);
	fb_clock_free(clock);
	return c;
}

/* ---- the real-time row: the binaries over loopback ---- */

static struct cell real_time(const char *fb, const char *sim, const char *dir, long runs,
			     const char *run_s, int fixed_get)
{
	struct cell c = {0};
	char mp[512], out[512], base[64], rts[32], conc[32];
	snprintf(mp, sizeof(mp), "%s/rt.csv", dir);
	snprintf(out, sizeof(out), "%s/rt-out-%d", dir, fixed_get);
	snprintf(rts, sizeof(rts), "%ss", run_s);
	snprintf(conc, sizeof(conc), "%ld", runs);
	if (bench_write_manifest(mp, (unsigned long)runs, NULL, 0))
		exit(1);
	int port = 0;
	pid_t sp = bench_start_sim(sim, rts, &port);
	if (sp < 0)
		exit(1);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/api/v1", port);
	static const char *const fixed[] = {"--poll-mode", "get", "--poll-interval", "2s", NULL};
	struct bench_child r;
	int spawned = bench_spawn_http(fb, mp, base, out, conc, fixed_get ? fixed : NULL, &r);
	long long reqs = bench_sim_requests(port);
	bench_stop_sim(sp);
	if (spawned)
		exit(1);
	c.completed = (uint64_t)bench_count_completed(out);
	c.per_run = c.completed && reqs >= 0 ? (double)reqs / c.completed : -1;
	c.wall_s = r.wall_s;
	return c;
}

int main(int argc, char **argv)
{
	static const double run_s[] = {1, 5, 30};
	static const unsigned inflight[] = {10, 100, 1000};
	char dir[256];
	if (bench_tmpdir(dir, sizeof(dir), "fbpoll"))
		return 1;
	printf("API requests per completed run (create + polls + list pages; downloads "
	       "excluded)\n");
	printf("in-process simulator, virtual clock, 20 ms latency, run time +-10%%, 2 x in "
	       "flight runs per cell\n\n");
	printf("%8s %9s | %12s %12s | %8s\n", "run time", "in flight", "default", "fixed 2 s",
	       "saved");
	for (size_t i = 0; i < 3; i++) {
		for (size_t k = 0; k < 3; k++) {
			unsigned items = inflight[k] * 2;
			struct cell a = in_process(dir, items, inflight[k], run_s[i], 0);
			struct cell b = in_process(dir, items, inflight[k], run_s[i], 1);
			printf("%7.0fs %9u | %12.2f %12.2f | %7.0f%%\n", run_s[i], inflight[k],
			       a.per_run, b.per_run, 100.0 * (1 - a.per_run / b.per_run));
			if (a.completed != items || b.completed != items)
				fprintf(stderr, "  (completed %llu and %llu of %u)\n",
					(unsigned long long)a.completed,
					(unsigned long long)b.completed, items);
		}
	}
	int code = 0;
	if (argc >= 3) {
		long runs = argc > 3 ? atol(argv[3]) : 1000;
		const char *rt = argc > 4 ? argv[4] : "30";
		printf("\nreal time: florabatch against florasim on loopback, %ld runs of %s s, "
		       "all in flight\n",
		       runs, rt);
		struct cell a = real_time(argv[1], argv[2], dir, runs, rt, 0);
		struct cell b = real_time(argv[1], argv[2], dir, runs, rt, 1);
		printf("%7ss %9ld | %12.2f %12.2f | %7.0f%%   (wall %.1f s and %.1f s)\n", rt, runs,
		       a.per_run, b.per_run, 100.0 * (1 - a.per_run / b.per_run), a.wall_s,
		       b.wall_s);
		if (a.completed != (uint64_t)runs || b.completed != (uint64_t)runs) {
			fprintf(stderr, "completed %llu and %llu of %ld\n",
				(unsigned long long)a.completed, (unsigned long long)b.completed,
				runs);
			code = 1;
		}
		printf("target: <= 1.50 requests per completed run with the default: %s\n",
		       a.per_run >= 0 && a.per_run <= 1.5 ? "met" : "NOT met");
	}
	bench_rmrf(dir);
	return code;
}
