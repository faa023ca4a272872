/*
 * bench_memory: benchmark 4, memory against manifest size. Runs the real
 * florabatch binary on the built-in simulator (virtual clock, zero run
 * time) over a SMALL-line and a LARGE-line manifest and reports each run's
 * peak RSS (the child's ru_maxrss from wait4, the whole process) and their
 * ratio. The target: the large run's peak at most 1.2 times the small
 * run's, and at most 32 MiB. Exits 1 when either run fails, not when a
 * target is missed (the JSON line says which was met).
 *
 * usage: bench_memory FLORABATCH [SMALL] [LARGE] [CONCURRENCY]
 *        (default 10000 1000000 256; a smoke run: 1000 20000)
 */
#define _DEFAULT_SOURCE
#include "benchutil.h"

#define RATIO_MAX   1.2
#define RSS_MAX_MIB 32.0

struct run {
	unsigned long items;
	int code;
	double wall_s, cpu_s, rss_mib;
};

static int run_one(const char *bin, const char *dir, unsigned long items, const char *conc,
		   struct run *r)
{
	char manifest[300], out[300], cmd[700];
	snprintf(manifest, sizeof(manifest), "%s/m%lu.csv", dir, items);
	snprintf(out, sizeof(out), "%s/out%lu", dir, items);
	/* A prompt that grows with the row number, as a real manifest's text would. */
	if (bench_write_manifest(manifest, items, "prompt", 0))
		return -1;
	r->items = items;
	/* clang-format off */
	const char *args[] = {
		bin,
		"run", manifest,
		"--technique", "cctv-cam",
		"--out", out,
		"--quiet",
		"--transport", "sim",
		"--sim-clock", "virtual",
		"--sim-run-time", "0",
		"--sim-latency", "0",
		"--concurrency", conc,
		NULL};
	/* clang-format on */
	struct bench_child c;
	if (bench_spawn(args, &c))
		return -1;
	r->wall_s = c.wall_s;
	r->cpu_s = c.cpu_s;
	r->rss_mib = c.rss_mib;
	r->code = c.code;
	/* The next run's files should not share the disk with this one's. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", manifest, out);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", out);
	printf("  %8lu items: exit %d, peak RSS %.1f MiB, wall %.1f s, CPU %.1f us/item\n", items,
	       r->code, r->rss_mib, r->wall_s, r->cpu_s * 1e6 / (double)items);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FLORABATCH [SMALL] [LARGE] [CONCURRENCY]\n", argv[0]);
		return 2;
	}
	unsigned long small = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
	unsigned long large = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000000;
	const char *conc = argc > 4 ? argv[4] : "256";
	char dir[256];
	if (!small || !large) {
		fprintf(stderr, "bench_memory: SMALL and LARGE must be at least 1\n");
		return 1;
	}
	if (bench_tmpdir(dir, sizeof(dir), "fbmem"))
		return 1;
	printf("memory: peak RSS against manifest size (sim, virtual clock, zero run time), "
	       "concurrency %s\n",
	       conc);
	struct run a = {0}, b = {0};
	int rc = run_one(argv[1], dir, small, conc, &a) || run_one(argv[1], dir, large, conc, &b);
	rmdir(dir);
	if (rc)
		return 1;
	double ratio = b.rss_mib / a.rss_mib;
	int met = ratio <= RATIO_MAX && b.rss_mib <= RSS_MAX_MIB;
	printf("  ratio %.2f (target <= %.1f), large run %.1f MiB (target <= %.0f): %s\n", ratio,
	       RATIO_MAX, b.rss_mib, RSS_MAX_MIB, met ? "met" : "NOT met");

	yajl_gen g = yajl_gen_alloc(NULL);
	yajl_gen_map_open(g);
	bench_gen_str(g, "bench");
	bench_gen_str(g, "memory");
	bench_gen_num(g, "small_items", (double)a.items);
	bench_gen_num(g, "small_rss_mib", a.rss_mib);
	bench_gen_num(g, "large_items", (double)b.items);
	bench_gen_num(g, "large_rss_mib", b.rss_mib);
	bench_gen_num(g, "ratio", ratio);
	bench_gen_str(g, "met");
	yajl_gen_bool(g, met);
	yajl_gen_map_close(g);
	bench_json_line(g);
	return a.code == 0 && b.code == 0 ? 0 : 1;
}
