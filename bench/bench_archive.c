/*
 * bench_archive: how fast florabatch's archive writer packs a batch's
 * outputs, against tar doing the same. Writes FILES files of MB MiB each
 * (half pseudo-random, half repeated blocks, so compression has something
 * to do and something it cannot) into a temporary folder, then times, in
 * alternating order over ROUNDS rounds: fb_archive as tar.gz, fb_archive as
 * tar.zst with a zstd worker per core, `tar -I 'gzip -1' -cf` (gzip at
 * fb_archive's level, FB_ARCHIVE_GZIP_LEVEL), `tar --zstd -cf` and
 * `tar -I 'zstd -T0' -cf`. Every writer reads the files from the page
 * cache and ends with its archive fsynced (fb_archive does so itself; the
 * tar runs get an fsync after). Reports input MB/s (best round) and the
 * archive's size, as text and as one JSON line.
 *
 * usage: bench_archive [FILES] [MB] [ROUNDS]    (default 1000 1 2)
 */
#define _DEFAULT_SOURCE
#include "error.h"
#include "fbarchive.h"

#include "benchutil.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#define BLOCK 4096

enum kind { FB_TGZ = 0, FB_TZST, TAR_GZ, TAR_ZST, TAR_ZST_MT, NKINDS };
static const char *const kind_name[NKINDS] = {
    "fb_archive tar.gz",
    "fb_archive tar.zst (threads = cores)",
    "tar -I 'gzip -" FB_ARCHIVE_GZIP_LEVEL "' -cf",
    "tar --zstd -cf",
    "tar -I 'zstd -T0' -cf",
};
static const char *const kind_key[NKINDS] = {"fb_tgz", "fb_tzst", "tar_gz", "tar_zst",
					     "tar_zst_t0"};
static const char *const kind_file[NKINDS] = {"fb.tar.gz", "fb.tar.zst", "tar.tar.gz",
					      "tar.tar.zst", "tar-t0.tar.zst"};

struct result {
	int ran;
	const char *skipped; /* why, or NULL */
	double best_s, sum_s;
	int rounds;
	long long out_bytes;
};

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* One file: each 4 KiB block is random, a copy of an earlier block, or a run of text. */
static void fill(unsigned char *p, size_t len, uint64_t seed)
{
	static const char text[] = "the quick brown fox jumps over the lazy dog 0123456789 ";
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t at = 0; at < len; at += BLOCK) {
		size_t n = len - at < BLOCK ? len - at : BLOCK;
		uint64_t pick = next(&s) % 4;
		if (pick < 2) {
			for (size_t i = 0; i < n; i += 8) {
				uint64_t v = next(&s);
				memcpy(p + at + i, &v, n - i < 8 ? n - i : 8);
			}
		} else if (pick == 2 && at >= BLOCK) {
			size_t from = (size_t)(next(&s) % (at / BLOCK)) * BLOCK;
			memmove(p + at, p + from, n);
		} else {
			for (size_t i = 0; i < n; i++)
				p[at + i] =
				    (unsigned char)text[(i + at / BLOCK) % (sizeof(text) - 1)];
		}
	}
}

static int write_inputs(const char *dir, int files, size_t len)
{
	unsigned char *buf = malloc(len);
	if (!buf)
		return -1;
	char path[1100];
	for (int i = 0; i < files; i++) {
		fill(buf, len, (uint64_t)i + 1);
		snprintf(path, sizeof(path), "%s/f%05d.bin", dir, i);
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
			perror(path);
			free(buf);
			return -1;
		}
	}
	free(buf);
	return 0;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

static int run_fb(const char *in, const char *out, enum fb_archive_format f, int files, size_t len)
{
	struct fb_archive *a = NULL;
	struct fb_err err = {0};
	struct fb_buf name = FB_BUF_INIT;
	unsigned char *buf = malloc(len);
	char path[1100], base[32];
	int rc = buf ? fb_archive_open_format(&a, out, f, 0, &err) : -1;
	for (int i = 0; i < files && !rc; i++) {
		snprintf(base, sizeof(base), "f%05d.bin", i);
		snprintf(path, sizeof(path), "%s/%s", in, base);
		FILE *fp = fopen(path, "rb");
		size_t got = fp ? fread(buf, 1, len, fp) : 0;
		if (fp)
			fclose(fp);
		if (got != len) {
			fprintf(stderr, "bench_archive: cannot read %s\n", path);
			rc = -1;
			break;
		}
		rc = fb_archive_add(a, NULL, base, buf, len, 1700000000, &name, &err);
	}
	if (a && fb_archive_close(a, rc ? NULL : &err) && !rc)
		rc = -1;
	if (rc && err.msg[0])
		fprintf(stderr, "bench_archive: %s\n", err.msg);
	fb_buf_release(&name);
	free(buf);
	return rc;
}

static int run_tar(const char *in, const char *out, enum kind k)
{
	static const char *const how[NKINDS] = {
	    /* gzip at fb_archive's level: the comparison is of the writers, not the levels. */
	    [TAR_GZ] = "-I 'gzip -" FB_ARCHIVE_GZIP_LEVEL "' -cf",
	    [TAR_ZST] = "--zstd -cf",
	    [TAR_ZST_MT] = "-I 'zstd -T0' -cf"};
	char cmd[2400];
	snprintf(cmd, sizeof(cmd), "tar %s '%s' -C '%s' .", how[k], out, in);
	if (system(cmd) != 0)
		return -1;
	return fsync_path(out);
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) ? -1 : (long long)st.st_size;
}

static void print_json(const struct result *r, int files, size_t len, int rounds, int cores)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return;
	yajl_gen_map_open(g);
	bench_gen_str(g, "bench");
	bench_gen_str(g, "archive");
	bench_gen_int(g, "files", files);
	bench_gen_int(g, "input_bytes", (long long)files * (long long)len);
	bench_gen_int(g, "rounds", rounds);
	bench_gen_int(g, "cores", cores);
	for (int k = 0; k < NKINDS; k++) {
		bench_gen_str(g, kind_key[k]);
		if (!r[k].ran) {
			yajl_gen_map_open(g);
			bench_gen_str(g, "skipped");
			bench_gen_str(g, r[k].skipped ? r[k].skipped : "failed");
			yajl_gen_map_close(g);
			continue;
		}
		double mb = (double)files * (double)len / 1e6;
		yajl_gen_map_open(g);
		bench_gen_num(g, "best_s", r[k].best_s);
		bench_gen_num(g, "mean_s", r[k].sum_s / r[k].rounds);
		bench_gen_str(g, "mb_per_s");
		bench_gen_fixed(g, mb / r[k].best_s, 1);
		bench_gen_int(g, "output_bytes", r[k].out_bytes);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
	bench_json_line(g);
}

int main(int argc, char **argv)
{
	int files = argc > 1 ? atoi(argv[1]) : 1000;
	int mb = argc > 2 ? atoi(argv[2]) : 1;
	int rounds = argc > 3 ? atoi(argv[3]) : 2;
	if (files < 1 || mb < 1 || rounds < 1) {
		fprintf(stderr, "usage: bench_archive [FILES] [MB] [ROUNDS]\n");
		return 2;
	}
	size_t len = (size_t)mb << 20;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	char root[1024], in[1040];
	if (bench_tmpdir(root, sizeof(root), "bench_archive"))
		return 1;
	snprintf(in, sizeof(in), "%s/in", root);
	if (mkdir(in, 0755) || write_inputs(in, files, len)) {
		bench_rmrf(root);
		return 1;
	}

	struct result r[NKINDS];
	memset(r, 0, sizeof(r));
	int have_zstd = system("command -v zstd >/dev/null 2>&1") == 0;
	if (!have_zstd)
		r[TAR_ZST].skipped = r[TAR_ZST_MT].skipped = "no zstd program installed";
	int rc = 0;
	for (int round = 0; round < rounds; round++) {
		for (int j = 0; j < NKINDS; j++) {
			/* Alternating order, so neither side always runs on a warmer machine. */
			enum kind k = (enum kind)(round % 2 ? NKINDS - 1 - j : j);
			if (r[k].skipped)
				continue;
			char out[1100];
			snprintf(out, sizeof(out), "%s/%s", root, kind_file[k]);
			double t0 = bench_now();
			int bad = k == FB_TGZ	 ? run_fb(in, out, FB_ARCHIVE_TGZ, files, len)
				  : k == FB_TZST ? run_fb(in, out, FB_ARCHIVE_TZST, files, len)
						 : run_tar(in, out, k);
			double t = bench_now() - t0;
			if (bad) {
				r[k].skipped = "failed";
				r[k].ran = 0;
				rc = 1;
				continue;
			}
			if (!r[k].ran || t < r[k].best_s)
				r[k].best_s = t;
			r[k].ran = 1;
			r[k].sum_s += t;
			r[k].rounds++;
			r[k].out_bytes = file_size(out);
			remove(out);
		}
	}

	double in_mb = (double)files * (double)len / 1e6;
	printf("archive: %d files of %d MiB (%.0f MB), %d round(s), %ld core(s)\n", files, mb,
	       in_mb, rounds, cores);
	for (int k = 0; k < NKINDS; k++) {
		if (!r[k].ran) {
			printf("  %-38s skipped: %s\n", kind_name[k], r[k].skipped);
			continue;
		}
		printf("  %-38s %7.1f MB/s  best %6.2f s  mean %6.2f s  %8.1f MB (%.1f%%)\n",
		       kind_name[k], in_mb / r[k].best_s, r[k].best_s, r[k].sum_s / r[k].rounds,
		       (double)r[k].out_bytes / 1e6, 100.0 * (double)r[k].out_bytes / 1e6 / in_mb);
	}
	print_json(r, files, len, rounds, (int)cores);
	bench_rmrf(root);
	return rc;
}
