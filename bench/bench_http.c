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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static pid_t start_sim(const char *bin, const char *run_time, int *port)
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

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
	FILE *f = ud;
	return fwrite(p, sz, n, f) * sz;
}

/* florasim's counters of what it was asked to do. */
static yajl_val get_stats(int port)
{
	char url[128], *buf = NULL, err[128];
	size_t len = 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/_sim/stats", port);
	FILE *mem = open_memstream(&buf, &len);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	fclose(mem);
	yajl_val v = rc == CURLE_OK ? yajl_tree_parse(buf, err, sizeof(err)) : NULL;
	free(buf);
	return v;
}

/* Result lines with status completed. */
static long count_completed(const char *out)
{
	char path[512];
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

static long long num(yajl_val v, const char *k)
{
	const char *path[] = {k, NULL};
	yajl_val x = yajl_tree_get(v, path, yajl_t_number);
	return x ? YAJL_GET_INTEGER(x) : -1;
}

static void gen_num(yajl_gen g, const char *k, double v)
{
	char s[64];
	int n = snprintf(s, sizeof(s), "%.3f", v);
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
	yajl_gen_number(g, s, (size_t)n);
}

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
	const char *tmp = getenv("TMPDIR");
	char dir[256], manifest[300], out[300], base[64], rts[32];
	snprintf(dir, sizeof(dir), "%s/fbbench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	snprintf(manifest, sizeof(manifest), "%s/m.csv", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(rts, sizeof(rts), "%ss", rt);
	FILE *f = fopen(manifest, "w");
	fputs("id,input_image:imageUrl\n", f);
	for (long i = 1; i <= runs; i++)
		fprintf(f, "r%ld,https://storage.googleapis.com/bench/%ld.jpg\n", i, i);
	fclose(f);

	int port = 0;
	pid_t sim = start_sim(argv[2], rts, &port);
	if (sim < 0)
		return 1;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/api/v1", port);
	double t0 = now_s();
	pid_t pid = fork();
	if (pid == 0) {
		setenv("FLORA_API_KEY", "sk_bench", 1);
		execl(argv[1], argv[1], "run", manifest, "--transport", "http", "--base-url", base,
		      "--technique", "cctv-cam", "--out", out, "--quiet", "--concurrency", conc,
		      argc > 6 ? argv[6] : (char *)NULL, (char *)NULL);
		_exit(127);
	}
	int st;
	struct rusage ru;
	wait4(pid, &st, 0, &ru);
	double wall = now_s() - t0;
	double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		     (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	double ideal = (double)runs / atof(conc) * atof(rt);
	if (ideal < atof(rt))
		ideal = atof(rt);
	yajl_val stats = get_stats(port);
	kill(sim, SIGTERM);
	waitpid(sim, NULL, 0);
	long long reqs = stats ? num(stats, "requests") : -1;
	long long fetches = stats ? num(stats, "fetches") : 0;
	long completed = count_completed(out);
	double per_run = reqs >= 0 && completed ? (double)(reqs - fetches) / completed : -1.0;
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;

	printf("http: %ld runs of %ss against florasim on loopback, %s in flight\n", runs, rt,
	       conc);
	printf("  exit %d, wall %.2f s (ideal %.2f s, x%.3f), client CPU %.2f s = %.0f us/run, "
	       "peak RSS %.1f MiB, API requests per completed run %.2f (%ld completed; downloads "
	       "excluded)\n",
	       code, wall, ideal, wall / ideal, cpu, cpu * 1e6 / runs, ru.ru_maxrss / 1024.0,
	       per_run, completed);
	yajl_gen g = yajl_gen_alloc(NULL);
	yajl_gen_map_open(g);
	gen_num(g, "runs", (double)runs);
	gen_num(g, "exit", code);
	gen_num(g, "wall_s", wall);
	gen_num(g, "wall_over_ideal", wall / ideal);
	gen_num(g, "cpu_us_per_run", cpu * 1e6 / runs);
	gen_num(g, "peak_rss_mib", ru.ru_maxrss / 1024.0);
	gen_num(g, "completed", (double)completed);
	gen_num(g, "api_requests_per_completed_run", per_run);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	yajl_gen_get_buf(g, &buf, &len);
	printf("%.*s\n", (int)len, buf);
	yajl_gen_free(g);
	if (stats)
		yajl_tree_free(stats);
	char cmd[320];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return code == 0 ? 0 : 1;
}
