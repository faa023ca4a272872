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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#define RATIO_MAX   1.2
#define RSS_MAX_MIB 32.0

struct run {
	unsigned long items;
	int code;
	double wall_s, cpu_s, rss_mib;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The same rows bench_engine writes: an id, an image URL, a prompt. */
static int write_manifest(const char *path, unsigned long n)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("id,input_image:imageUrl,prompt\n", f);
	for (unsigned long i = 0; i < n; i++)
		fprintf(f, "item-%lu,https://storage.googleapis.com/bench/img-%lu.jpg,style %lu\n",
			i, i, i);
	return fclose(f);
}

static int run_one(const char *bin, const char *dir, unsigned long items, const char *conc,
		   struct run *r)
{
	char manifest[300], out[300], cmd[700];
	snprintf(manifest, sizeof(manifest), "%s/m%lu.csv", dir, items);
	snprintf(out, sizeof(out), "%s/out%lu", dir, items);
	if (write_manifest(manifest, items)) {
		perror(manifest);
		return -1;
	}
	r->items = items;
	double t0 = now_s();
	pid_t pid = fork();
	if (pid == 0) {
		execl(bin, bin, "run", manifest, "--technique", "cctv-cam", "--out", out, "--quiet",
		      "--transport", "sim", "--sim-clock", "virtual", "--sim-run-time", "0",
		      "--sim-latency", "0", "--concurrency", conc, (char *)NULL);
		perror(bin);
		_exit(127);
	}
	int st;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &st, 0, &ru) < 0) {
		perror("wait4");
		return -1;
	}
	r->wall_s = now_s() - t0;
	r->cpu_s = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		   (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	r->rss_mib = ru.ru_maxrss / 1024.0;
	r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	/* The next run's files should not share the disk with this one's. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", manifest, out);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", out);
	printf("  %8lu items: exit %d, peak RSS %.1f MiB, wall %.1f s, CPU %.1f us/item\n", items,
	       r->code, r->rss_mib, r->wall_s, r->cpu_s * 1e6 / (double)items);
	fflush(stdout);
	return 0;
}

static void gen_num(yajl_gen g, const char *k, double v)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%.3f", v);
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
	yajl_gen_number(g, num, (size_t)n);
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
	const char *tmp = getenv("TMPDIR");
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/fbmem.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!small || !large || !mkdtemp(dir)) {
		fprintf(stderr, "bench_memory: bad sizes or no temporary folder\n");
		return 1;
	}
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
	yajl_gen_string(g, (const unsigned char *)"bench", 5);
	yajl_gen_string(g, (const unsigned char *)"memory", 6);
	gen_num(g, "small_items", (double)a.items);
	gen_num(g, "small_rss_mib", a.rss_mib);
	gen_num(g, "large_items", (double)b.items);
	gen_num(g, "large_rss_mib", b.rss_mib);
	gen_num(g, "ratio", ratio);
	yajl_gen_string(g, (const unsigned char *)"met", 3);
	yajl_gen_bool(g, met);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	yajl_gen_get_buf(g, &buf, &len);
	printf("%.*s\n", (int)len, buf);
	yajl_gen_free(g);
	return a.code == 0 && b.code == 0 ? 0 : 1;
}
