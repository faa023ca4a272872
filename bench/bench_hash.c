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

#include "benchutil.h"
#include <omp.h>
#include <stdint.h>

#define ROUNDS 3

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
	double t0 = bench_now();
	if (fb_hash_files(files, n, threads, &err) != 0) {
		fprintf(stderr, "bench_hash: %s\n", err.msg);
		exit(1);
	}
	double dt = bench_now() - t0;
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
	char dir[256];
	if (bench_tmpdir(dir, sizeof(dir), "fbbench"))
		return 1;

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
	bench_gen_int(g, "files", (long long)nfiles);
	bench_gen_num(g, "total_mb", total / 1e6);
	bench_gen_int(g, "threads", cores);
	bench_gen_num(g, "serial_mb_per_s", best_s);
	bench_gen_num(g, "parallel_mb_per_s", best_p);
	bench_gen_num(g, "speedup", best_p / best_s);
	yajl_gen_map_close(g);
	bench_json_line(g);

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
