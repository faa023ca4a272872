/*
 * bench_http: florabatch over real HTTP. Starts florasim on a free loopback
 * port, pushes N runs through `florabatch run --transport http` with C runs
 * in flight, and reports the client's wall time against the ideal
 * (N / C x run time), its CPU time per run and peak RSS (wait4), and the
 * API requests per completed run from florasim's stats (creates, polls and
 * list pages; downloads excluded). The defaults are the benchmark:
 * 10,000 runs of 2 s, 1,000 in flight, no rate limit (target: wall <= 1.10
 * x ideal); smaller arguments make a seconds-long smoke run.
 *
 * usage: bench_http FLORABATCH FLORASIM [RUNS] [CONCURRENCY] [RUN_TIME_S] [EXTRA_ARG]
 *        (EXTRA_ARG: one more florabatch option, e.g. --poll-mode=get)
 */
#define _DEFAULT_SOURCE
#include "benchutil.h"

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
			"usage: %s FLORABATCH FLORASIM [RUNS] [CONCURRENCY] [RUN_TIME_S] "
			"[EXTRA_ARG]\n",
			argv[0]);
		return 2;
	}
	long runs = argc > 3 ? atol(argv[3]) : 10000;
	const char *conc = argc > 4 ? argv[4] : "1000";
	const char *rt = argc > 5 ? argv[5] : "2";
	char dir[256], manifest[300], out[300], base[64], rts[32];
	if (bench_tmpdir(dir, sizeof(dir), "fbbench"))
		return 1;
	snprintf(manifest, sizeof(manifest), "%s/m.csv", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(rts, sizeof(rts), "%ss", rt);
	if (bench_write_manifest(manifest, (unsigned long)runs, NULL, 0))
		return 1;

	int port = 0;
	pid_t sim = bench_start_sim(argv[2], rts, &port);
	if (sim < 0)
		return 1;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/api/v1", port);
	const char *extra[] = {argc > 6 ? argv[6] : NULL, NULL};
	struct bench_child r;
	int spawned = bench_spawn_http(argv[1], manifest, base, out, conc, extra, &r);
	double ideal = (double)runs / atof(conc) * atof(rt);
	if (ideal < atof(rt))
		ideal = atof(rt);
	long long reqs = bench_sim_requests(port);
	bench_stop_sim(sim);
	if (spawned)
		return 1;
	long completed = bench_count_completed(out);
	double per_run = reqs >= 0 && completed ? (double)reqs / completed : -1.0;

	printf("http: %ld runs of %ss against florasim on loopback, %s in flight\n", runs, rt,
	       conc);
	printf("  exit %d, wall %.2f s (ideal %.2f s, x%.3f), client CPU %.2f s = %.0f us/run, "
	       "peak RSS %.1f MiB, API requests per completed run %.2f (%ld completed; downloads "
	       "excluded)\n",
	       r.code, r.wall_s, ideal, r.wall_s / ideal, r.cpu_s, r.cpu_s * 1e6 / runs, r.rss_mib,
	       per_run, completed);
	yajl_gen g = yajl_gen_alloc(NULL);
	yajl_gen_map_open(g);
	bench_gen_num(g, "runs", (double)runs);
	bench_gen_num(g, "exit", r.code);
	bench_gen_num(g, "wall_s", r.wall_s);
	bench_gen_num(g, "wall_over_ideal", r.wall_s / ideal);
	bench_gen_num(g, "cpu_us_per_run", r.cpu_s * 1e6 / runs);
	bench_gen_num(g, "peak_rss_mib", r.rss_mib);
	bench_gen_num(g, "completed", (double)completed);
	bench_gen_num(g, "api_requests_per_completed_run", per_run);
	yajl_gen_map_close(g);
	bench_json_line(g);
	bench_rmrf(dir);
	return r.code == 0 ? 0 : 1;
}
