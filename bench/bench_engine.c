/*
 * bench_engine: the engine's own cost. Pushes N items through the real
 * florabatch binary on the built-in simulator with zero run time, zero
 * latency and a virtual clock, so what is measured is florabatch alone:
 * manifest parsing, keys, creates, polls, downloads, sha256, the archive and
 * the results. Reports items/s, CPU microseconds per item and peak RSS of
 * the child (wait4), as text and as one JSON line (yajl).
 *
 * usage: bench_engine FLORABATCH [ITEMS] [CONCURRENCY]
 */
#define _DEFAULT_SOURCE
#include "benchutil.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FLORABATCH [ITEMS] [CONCURRENCY]\n", argv[0]);
		return 2;
	}
	unsigned long items = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	const char *conc = argc > 3 ? argv[3] : "256";
	char dir[256], manifest[300], out[300];
	if (bench_tmpdir(dir, sizeof(dir), "fbbench"))
		return 1;
	snprintf(manifest, sizeof(manifest), "%s/m.csv", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	if (bench_write_manifest(manifest, items, "prompt", 97))
		return 1;

	/* clang-format off */
	const char *args[] = {
		argv[1],
		"run", manifest,
		"--technique", "cctv-cam",
		"--out", out,
		"--quiet",
		"--sim-clock", "virtual",
		"--sim-run-time", "0",
		"--sim-latency", "0",
		"--concurrency", conc,
		NULL};
	/* clang-format on */
	struct bench_child r;
	if (bench_spawn(args, &r))
		return 1;

	printf("engine: %lu items through sim (virtual clock, zero run time), concurrency %s\n",
	       items, conc);
	printf(
	    "  exit %d, wall %.2f s, %.0f items/s, CPU %.2f s = %.1f us/item, peak RSS %.1f MiB\n",
	    r.code, r.wall_s, items / r.wall_s, r.cpu_s, r.cpu_s * 1e6 / items, r.rss_mib);

	yajl_gen g = yajl_gen_alloc(NULL);
	yajl_gen_map_open(g);
	bench_gen_num(g, "items", (double)items);
	bench_gen_num(g, "exit", r.code);
	bench_gen_num(g, "wall_s", r.wall_s);
	bench_gen_num(g, "items_per_s", items / r.wall_s);
	bench_gen_num(g, "cpu_us_per_item", r.cpu_s * 1e6 / items);
	bench_gen_num(g, "peak_rss_mib", r.rss_mib);
	yajl_gen_map_close(g);
	bench_json_line(g);
	bench_rmrf(dir);
	return r.code == 0 ? 0 : 1;
}
