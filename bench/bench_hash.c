/*
 * bench_hash: what parallel hashing of local files buys. Writes a folder of
 * pseudo-random files (default 256 x 2 MiB = 512 MiB) under $TMPDIR, hashes
 * them all with one thread and with every core, three rounds alternating so
 * the page cache favours neither, and reports MB/s of each and the speed-up,
 * as text and as one JSON line (yajl). The files are removed afterwards.
 *
 * usage: bench_hash [FILES] [MIB_PER_FILE]
 */
#define _DEFAULT_SOURCE
#include "error.h"
#include "hashfiles.h"

#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#define ROUNDS 3

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void gen_num(yajl_gen g, const char *k, double v)
{
	char num[64];
	int n = snprintf(num, sizeof(num), "%.3f", v);
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
	yajl_gen_number(g, num, (size_t)n);
}

static void gen_int(yajl_gen g, const char *k, long long v)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
	yajl_gen_integer(g, v);
}

/* Incompressible bytes, cheaply: xorshift64 words. */
static void fill(unsigned char *p, size_t n, uint64_t *s)
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		*s ^= *s << 13;
		*s ^= *s >> 7;
		*s ^= *s << 17;
		memcpy(p + i, s, 8);
	}
}

static double hash_round(struct fb_hashfile *files, size_t n, int threads, uint64_t total)
{
	struct fb_err err = {0};
	double t0 = now_s();
	if (fb_hash_files(files, n, threads, &err) != 0) {
		fprintf(stderr, "bench_hash: %s\n", err.msg);
		exit(1);
	}
	double dt = now_s() - t0;
	return total / 1e6 / dt;
}

int main(int argc, char **argv)
{
	size_t nfiles = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 2;
	if (nfiles == 0 || mib == 0) {
		fprintf(stderr, "usage: %s [FILES] [MIB_PER_FILE]\n", argv[0]);
		return 2;
	}
	size_t size = mib << 20;
	const char *tmp = getenv("TMPDIR");
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/fbbench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}

	unsigned char *data = malloc(size);
	struct fb_hashfile *files = calloc(nfiles, sizeof(*files));
	char **paths = calloc(nfiles, sizeof(*paths));
	if (!data || !files || !paths) {
		fprintf(stderr, "bench_hash: out of memory\n");
		return 1;
	}
	uint64_t seed = 0x2545f4914f6cdd1dull, total = 0;
	for (size_t i = 0; i < nfiles; i++) {
		fill(data, size, &seed);
		paths[i] = malloc(strlen(dir) + 32);
		sprintf(paths[i], "%s/f%05zu.bin", dir, i);
		FILE *f = fopen(paths[i], "wb");
		if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
			perror(paths[i]);
			return 1;
		}
		files[i].path = paths[i];
		total += size;
	}
	free(data);

	int cores = omp_get_max_threads();
	double serial[ROUNDS], parallel[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		serial[r] = hash_round(files, nfiles, 1, total);
		parallel[r] = hash_round(files, nfiles, 0, total);
	}
	/* The best round: the one least disturbed by other work on the machine. */
	double best_s = 0, best_p = 0;
	for (int r = 0; r < ROUNDS; r++) {
		best_s = serial[r] > best_s ? serial[r] : best_s;
		best_p = parallel[r] > best_p ? parallel[r] : best_p;
	}

	printf("hash: %zu files x %zu MiB = %.0f MB, %d rounds, best of each\n", nfiles, mib,
	       total / 1e6, ROUNDS);
	for (int r = 0; r < ROUNDS; r++)
		printf("  round %d: 1 thread %.1f MB/s, %d threads %.1f MB/s\n", r + 1, serial[r],
		       cores, parallel[r]);
	printf("  best: 1 thread %.1f MB/s, %d threads %.1f MB/s, speed-up x%.2f\n", best_s, cores,
	       best_p, best_p / best_s);

	yajl_gen g = yajl_gen_alloc(NULL);
	yajl_gen_map_open(g);
	gen_int(g, "files", (long long)nfiles);
	gen_num(g, "total_mb", total / 1e6);
	gen_int(g, "threads", cores);
	gen_num(g, "serial_mb_per_s", best_s);
	gen_num(g, "parallel_mb_per_s", best_p);
	gen_num(g, "speedup", best_p / best_s);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	yajl_gen_get_buf(g, &buf, &len);
	printf("%.*s\n", (int)len, buf);
	yajl_gen_free(g);

	for (size_t i = 0; i < nfiles; i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
	free(paths);
	free(files);
	if (rmdir(dir) != 0)
		perror(dir);
	return 0;
}
