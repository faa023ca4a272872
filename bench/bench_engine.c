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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void write_manifest(const char *path, unsigned long n)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs("id,input_image:imageUrl,style\n", f);
	for (unsigned long i = 1; i <= n; i++)
		fprintf(f, "item-%lu,https://storage.googleapis.com/bench/img-%lu.jpg,style %lu\n",
			i, i, i % 97);
	if (fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* Three decimals are what the figures deserve; yajl_gen_double would print twenty. */
static void gen_num(yajl_gen g, const char *k, double v)
{
	char num[64];
	int n = snprintf(num, sizeof(num), "%.3f", v);
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
	yajl_gen_number(g, num, (size_t)n);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FLORABATCH [ITEMS] [CONCURRENCY]\n", argv[0]);
		return 2;
	}
	unsigned long items = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	const char *conc = argc > 3 ? argv[3] : "256";
	const char *tmp = getenv("TMPDIR");
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/fbbench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	char manifest[300], out[300];
	snprintf(manifest, sizeof(manifest), "%s/m.csv", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	write_manifest(manifest, items);

	double t0 = now_s();
	pid_t pid = fork();
	if (pid == 0) {
		execl(argv[1], argv[1], "run", manifest, "--technique", "cctv-cam", "--out", out,
		      "--quiet", "--sim-clock", "virtual", "--sim-run-time", "0", "--sim-latency",
		      "0", "--concurrency", conc, (char *)NULL);
		perror(argv[1]);
		_exit(127);
	}
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0) {
		perror("wait4");
		return 1;
	}
	double wall = now_s() - t0;
	double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		     (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;

	printf("engine: %lu items through sim (virtual clock, zero run time), concurrency %s\n",
	       items, conc);
	printf(
	    "  exit %d, wall %.2f s, %.0f items/s, CPU %.2f s = %.1f us/item, peak RSS %.1f MiB\n",
	    code, wall, items / wall, cpu, cpu * 1e6 / items, ru.ru_maxrss / 1024.0);

	yajl_gen g = yajl_gen_alloc(NULL);
	yajl_gen_map_open(g);
	gen_num(g, "items", (double)items);
	gen_num(g, "exit", code);
	gen_num(g, "wall_s", wall);
	gen_num(g, "items_per_s", items / wall);
	gen_num(g, "cpu_us_per_item", cpu * 1e6 / items);
	gen_num(g, "peak_rss_mib", ru.ru_maxrss / 1024.0);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	yajl_gen_get_buf(g, &buf, &len);
	printf("%.*s\n", (int)len, buf);
	yajl_gen_free(g);

	char cmd[320];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return code == 0 ? 0 : 1;
}
