/*
 * benchutil.h: what the benchmark programs share. Timing, temporary folders,
 * generated manifests, running a child (florabatch) and measuring it with
 * wait4, starting florasim on a free loopback port and reading its request
 * counters, counting completed results, and the one JSON line each program
 * prints. Header-only (static inline, so a program that uses only part of it
 * compiles clean): bench/CMakeLists.txt builds every bench_*.c on its own.
 * Include it after defining _DEFAULT_SOURCE (wait4, mkdtemp, open_memstream).
 */
#ifndef FB_BENCHUTIL_H
#define FB_BENCHUTIL_H

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A fresh folder $TMPDIR/PREFIX.XXXXXX (or under /tmp) into dir; 0 or -1 (said on stderr). */
static inline int bench_tmpdir(char *dir, size_t cap, const char *prefix)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, cap, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
	if (!mkdtemp(dir)) {
		perror(dir);
		return -1;
	}
	return 0;
}

/* Removes a folder and all it holds; a failure is only reported. */
static inline void bench_rmrf(const char *dir)
{
	char cmd[1100];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/*
 * A CSV manifest of rows 1..n for cctv-cam. Without a column: "r<i>,<image URL>".
 * With one: "item-<i>,<image URL>,style <i % mod>" (mod 0: <i>) under that column's
 * name, so a program can keep its text short (mod) or let it grow with i.
 * 0, or -1 said on stderr.
 */
static inline int bench_write_manifest(const char *path, unsigned long n, const char *column,
				       unsigned long mod)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	if (column)
		fprintf(f, "id,input_image:imageUrl,%s\n", column);
	else
		fputs("id,input_image:imageUrl\n", f);
	for (unsigned long i = 1; i <= n; i++) {
		if (column)
			fprintf(f,
				"item-%lu,https://storage.googleapis.com/bench/img-%lu.jpg,style "
				"%lu\n",
				i, i, mod ? i % mod : i);
		else
			fprintf(f, "r%lu,https://storage.googleapis.com/bench/%lu.jpg\n", i, i);
	}
	if (fclose(f)) {
		perror(path);
		return -1;
	}
	return 0;
}

/* What one child cost, from wait4: the whole process, not a sample. */
struct bench_child {
	int code;	/* exit status; 128 when a signal ended it */
	double wall_s;	/* fork to reaped */
	double cpu_s;	/* user + system */
	double rss_mib; /* peak resident set */
};

/* Runs argv (argv[0] the program's path, NULL-terminated) to its end; 0, or -1 said on stderr. */
static inline int bench_spawn(const char *const argv[], struct bench_child *c)
{
	double t0 = bench_now();
	pid_t pid = fork();
	if (pid == 0) {
		/* execv's prototype predates const; it does not write to argv. */
		execv(argv[0], (char *const *)argv);
		perror(argv[0]);
		_exit(127);
	}
	int st;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &st, 0, &ru) < 0) {
		perror("wait4");
		return -1;
	}
	c->wall_s = bench_now() - t0;
	c->cpu_s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	c->rss_mib = (double)ru.ru_maxrss / 1024.0;
	c->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	return 0;
}

/*
 * florabatch (fb) running manifest into out over HTTP against florasim at base
 * (with its key), conc runs in flight, plus up to four extra options (a
 * NULL-terminated list, or NULL); as bench_spawn.
 */
static inline int bench_spawn_http(const char *fb, const char *manifest, const char *base,
				   const char *out, const char *conc, const char *const extra[],
				   struct bench_child *c)
{
	/* clang-format off */
	const char *args[19] = {
		fb,
		"run", manifest,
		"--transport", "http",
		"--base-url", base,
		"--technique", "cctv-cam",
		"--out", out,
		"--quiet",
		"--concurrency", conc};
	/* clang-format on */
	for (int i = 0; i < 4 && extra && extra[i]; i++)
		args[14 + i] = extra[i];
	setenv("FLORA_API_KEY", "sk_bench", 1);
	return bench_spawn(args, c);
}

/*
 * Starts florasim (bin) on a free loopback port with runs of run_time
 * (e.g. "2s") and the key sk_bench; its first line says the port. The
 * child's pid (stop it with bench_stop_sim), or -1 said on stderr.
 */
static inline pid_t bench_start_sim(const char *bin, const char *run_time, int *port)
{
	int pfd[2];
	if (pipe(pfd))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execl(bin, bin, "--port", "0", "--max-seconds", "1800", "--quiet", "--run-time",
		      run_time, "--api-key", "sk_bench", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	FILE *f = fdopen(pfd[0], "r");
	char line[256] = "";
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "florasim listening on http://127.0.0.1:%d", port) != 1) {
		fprintf(stderr, "florasim did not start: %s\n", line);
		return -1;
	}
	fclose(f);
	return pid;
}

static inline void bench_stop_sim(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static inline size_t bench_collect(char *p, size_t sz, size_t n, void *ud)
{
	return fwrite(p, sz, n, (FILE *)ud) * sz;
}

/*
 * API requests florasim on port has answered, downloads excluded (its
 * /_sim/stats "requests" less "fetches"); -1 when they cannot be read.
 */
static inline long long bench_sim_requests(int port)
{
	char url[128], *buf = NULL, err[128];
	size_t len = 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/_sim/stats", port);
	FILE *mem = open_memstream(&buf, &len);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bench_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	fclose(mem);
	yajl_val v = rc == CURLE_OK ? yajl_tree_parse(buf, err, sizeof(err)) : NULL;
	free(buf);
	const char *p1[] = {"requests", NULL}, *p2[] = {"fetches", NULL};
	yajl_val a = v ? yajl_tree_get(v, p1, yajl_t_number) : NULL;
	yajl_val b = v ? yajl_tree_get(v, p2, yajl_t_number) : NULL;
	long long r = a && b ? YAJL_GET_INTEGER(a) - YAJL_GET_INTEGER(b) : -1;
	yajl_tree_free(v);
	return r;
}

/* Lines of out/results.jsonl with status completed (0 when there is no file). */
static inline long bench_count_completed(const char *out)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/results.jsonl", out);
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	long n = 0;
	while (f && getline(&line, &cap, f) > 0)
		n += strstr(line, "\"status\":\"completed\"") != NULL;
	free(line);
	if (f)
		fclose(f);
	return n;
}

static inline void bench_gen_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

/* A number with a fixed count of decimals: what the figures deserve, not yajl's twenty. */
static inline void bench_gen_fixed(yajl_gen g, double v, int decimals)
{
	char num[64];
	int n = snprintf(num, sizeof(num), "%.*f", decimals, v);
	yajl_gen_number(g, num, (size_t)n);
}

/* Key k and v with three decimals. */
static inline void bench_gen_num(yajl_gen g, const char *k, double v)
{
	bench_gen_str(g, k);
	bench_gen_fixed(g, v, 3);
}

static inline void bench_gen_int(yajl_gen g, const char *k, long long v)
{
	bench_gen_str(g, k);
	yajl_gen_integer(g, v);
}

/* Prints what g holds as one line on stdout and frees g. */
static inline void bench_json_line(yajl_gen g)
{
	const unsigned char *buf;
	size_t len;
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		printf("%.*s\n", (int)len, (const char *)buf);
	yajl_gen_free(g);
}

#endif
