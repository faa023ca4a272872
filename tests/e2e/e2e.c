/* e2e: running the binary, parsing its JSONL, reading its archive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "volumes.h"
#include "sha256.h"
#include "testutil.h"
#include "buf.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int e2e_wrapped(void)
{
	const char *w = getenv("FB_E2E_WRAPPER");
	return w && *w;
}

long long e2e_patience_ms(long long ms)
{
	return e2e_wrapped() ? ms * 10 : ms;
}

struct e2e_run e2e_florabatch(const char *dir, const char *args)
{
	struct e2e_run r = {0};
	const char *bin = tu_env("FB_BIN");
	size_t n = strlen(dir) + strlen(bin) + strlen(args) + 32;
	char *cmd = malloc(n);
	snprintf(cmd, n, "cd '%s' && '%s' %s", dir, bin, args);
	r.status = tu_run(cmd, &r.out, &r.err);
	free(cmd);
	return r;
}

void e2e_run_free(struct e2e_run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

struct e2e_lines e2e_parse_jsonl(const char *text)
{
	struct e2e_lines l = {0};
	const char *p = text ? text : "";
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, len);
		char ebuf[256];
		yajl_val v = yajl_tree_parse(line, ebuf, sizeof(ebuf));
		if (!v || !YAJL_IS_OBJECT(v)) {
			fprintf(stderr, "not a JSON object line: %s (%s)\n", line, ebuf);
			abort();
		}
		free(line);
		l.v = realloc(l.v, (l.n + 1) * sizeof(*l.v));
		l.v[l.n++] = v;
		p += len + (nl ? 1 : 0);
	}
	return l;
}

void e2e_lines_free(struct e2e_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		yajl_tree_free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const char *e2e_str(yajl_val v, ...)
{
	const char *path[8];
	size_t n = 0;
	va_list ap;
	va_start(ap, v);
	const char *k;
	while ((k = va_arg(ap, const char *)) && n < 7)
		path[n++] = k;
	va_end(ap);
	path[n] = NULL;
	yajl_val s = yajl_tree_get(v, path, yajl_t_string);
	return s ? YAJL_GET_STRING(s) : NULL;
}

yajl_val e2e_find(const struct e2e_lines *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *x = e2e_str(l->v[i], "id", NULL);
		if (x && !strcmp(x, id))
			return l->v[i];
	}
	return NULL;
}

struct e2e_archive e2e_read_archive(const char *path)
{
	struct e2e_archive a;
	if (e2e_try_read_archive(path, &a))
		abort();
	return a;
}

void e2e_archive_free(struct e2e_archive *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->names[i]);
		free(a->data[i]);
		free(a->vols[i]);
	}
	free(a->vols);
	free(a->names);
	free(a->data);
	free(a->len);
	memset(a, 0, sizeof(*a));
}

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

struct e2e_sim e2e_florasim_start(const char *args)
{
	struct e2e_sim s = {0};
	const char *bin = tu_env("FLORASIM_BIN");
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "exec '%s' --port 0 --max-seconds 120 %s", bin, args);
	int pfd[2];
	if (pipe(pfd)) {
		perror("pipe");
		abort();
	}
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	FILE *f = fdopen(pfd[0], "r");
	char line[256] = "";
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "florasim listening on http://127.0.0.1:%d/api/v1", &s.port) != 1) {
		fprintf(stderr, "florasim did not start (%s): %s\n", cmd, line);
		abort();
	}
	fclose(f); /* florasim writes nothing more to stdout */
	s.pid = pid;
	snprintf(s.base, sizeof(s.base), "http://127.0.0.1:%d/api/v1", s.port);
	return s;
}

void e2e_florasim_stop(struct e2e_sim *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
}

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
	struct fb_buf *b = ud;
	fb_buf_add(b, p, sz * n);
	return sz * n;
}

static yajl_val sim_request(const struct e2e_sim *s, const char *path, const char *post)
{
	char url[512];
	struct fb_buf body = FB_BUF_INIT;
	snprintf(url, sizeof(url), "%s%s", s->base, path);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	char ebuf[256];
	yajl_val v = rc == CURLE_OK ? yajl_tree_parse(fb_buf_str(&body), ebuf, sizeof(ebuf)) : NULL;
	if (!v) {
		fprintf(stderr, "GET %s: %s\n", url, fb_buf_str(&body));
		abort();
	}
	fb_buf_release(&body);
	return v;
}

yajl_val e2e_sim_get_json(const struct e2e_sim *s, const char *path)
{
	return sim_request(s, path, NULL);
}

yajl_val e2e_sim_post_json(const struct e2e_sim *s, const char *path, const char *body)
{
	return sim_request(s, path, body);
}

long long e2e_num(yajl_val v, ...)
{
	const char *path[8];
	size_t n = 0;
	va_list ap;
	va_start(ap, v);
	const char *k;
	while ((k = va_arg(ap, const char *)) && n < 7)
		path[n++] = k;
	va_end(ap);
	path[n] = NULL;
	yajl_val x = yajl_tree_get(v, path, yajl_t_number);
	return x && YAJL_IS_INTEGER(x) ? YAJL_GET_INTEGER(x) : -1;
}

#include <errno.h>
#include <fcntl.h>
#include <time.h>

extern char **environ;

/* in/out: -1 for /dev/null in and a file out; else the descriptor the child gets. */
static int spawn(const char *dir, const char *key, const char *args, const char *log, int in_fd,
		 int out_fd, int close_fd1, int close_fd2)
{
	/* Everything the child needs is built before fork: it only calls exec-safe functions. */
	char *words = strdup(args);
	char *argv[64];
	int argc = 0;
	argv[argc++] = (char *)tu_env("FB_BIN");
	for (char *t = strtok(words, " "); t && argc < 63; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	size_t nenv = 0;
	while (environ[nenv])
		nenv++;
	char **envp = calloc(nenv + 2, sizeof(*envp));
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], "FLORA_API_KEY=", 14))
			envp[k++] = environ[i];
	char keyvar[256];
	snprintf(keyvar, sizeof(keyvar), "FLORA_API_KEY=%s", key);
	envp[k++] = keyvar;
	envp[k] = NULL;
	char name[256];
	snprintf(name, sizeof(name), "%s.out", log);
	char *outp = tu_path(dir, name);
	snprintf(name, sizeof(name), "%s.err", log);
	char *errp = tu_path(dir, name);

	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		abort();
	}
	if (pid == 0) {
		int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
		int o = out_fd >= 0 ? out_fd : open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || o < 0 || e < 0 || chdir(dir))
			_exit(126);
		dup2(in, STDIN_FILENO);
		dup2(o, STDOUT_FILENO);
		dup2(e, STDERR_FILENO);
		if (close_fd1 >= 0)
			close(close_fd1);
		if (close_fd2 >= 0)
			close(close_fd2);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	free(words);
	free(envp);
	free(outp);
	free(errp);
	return (int)pid;
}

int e2e_florabatch_spawn(const char *dir, const char *key, const char *args, const char *log)
{
	return spawn(dir, key, args, log, -1, -1, -1, -1);
}

int e2e_florabatch_spawn_piped(const char *dir, const char *key, const char *args, const char *log,
			       int *in, int *out)
{
	int pi[2], po[2] = {-1, -1};
	if (pipe(pi) || (out && pipe(po))) {
		perror("pipe");
		abort();
	}
	int pid = spawn(dir, key, args, log, pi[0], out ? po[1] : -1, pi[1], out ? po[0] : -1);
	close(pi[0]);
	*in = pi[1];
	if (out) {
		close(po[1]);
		*out = po[0];
	}
	return pid;
}

int e2e_wait(int pid, long ms)
{
	long long deadline = e2e_now_ms() + ms;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			if (WIFEXITED(st))
				return WEXITSTATUS(st);
			if (WIFSIGNALED(st))
				return 128 + WTERMSIG(st);
			return 255;
		}
		if (r < 0 && errno != EINTR) {
			perror("waitpid");
			abort();
		}
		if (e2e_now_ms() >= deadline)
			return -1;
		e2e_sleep_ms(5);
	}
}

long long e2e_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void e2e_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Appends the entries of one volume to a. */
static int read_volume(const char *path, struct e2e_archive *a)
{
	struct archive *ar = archive_read_new();
	archive_read_support_filter_all(ar);
	archive_read_support_format_all(ar);
	int rc = 0;
	if (archive_read_open_filename(ar, path, 65536) != ARCHIVE_OK) {
		fprintf(stderr, "cannot open archive %s: %s\n", path, archive_error_string(ar));
		archive_read_free(ar);
		return -1;
	}
	const char *slash = strrchr(path, '/');
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(ar, &e)) == ARCHIVE_OK) {
		size_t size = (size_t)archive_entry_size(e);
		char *buf = malloc(size + 1);
		la_ssize_t got = archive_read_data(ar, buf, size);
		if (got < 0 || (size_t)got != size) {
			fprintf(stderr, "short entry %s in %s\n", archive_entry_pathname(e), path);
			free(buf);
			rc = -1;
			break;
		}
		a->names = realloc(a->names, (a->n + 1) * sizeof(*a->names));
		a->data = realloc(a->data, (a->n + 1) * sizeof(*a->data));
		a->len = realloc(a->len, (a->n + 1) * sizeof(*a->len));
		a->vols = realloc(a->vols, (a->n + 1) * sizeof(*a->vols));
		a->names[a->n] = strdup(archive_entry_pathname(e));
		a->data[a->n] = buf;
		a->len[a->n] = size;
		a->vols[a->n] = strdup(slash ? slash + 1 : path);
		a->n++;
	}
	if (!rc && r != ARCHIVE_EOF) {
		fprintf(stderr, "archive %s ends early: %s\n", path, archive_error_string(ar));
		rc = -1;
	}
	archive_read_free(ar);
	return rc;
}

int e2e_try_read_archive(const char *path, struct e2e_archive *a)
{
	memset(a, 0, sizeof(*a));
	int rc = read_volume(path, a);
	/* The volumes after the first, as long as they come. */
	for (unsigned n = 2; !rc; n++) {
		char vp[4096];
		struct stat st;
		if (fb_volumes_path(path, n, vp, sizeof(vp)) || stat(vp, &st) != 0)
			break;
		rc = read_volume(vp, a);
	}
	if (rc)
		e2e_archive_free(a);
	return rc;
}

#include "sha256.h"

int e2e_read_jsonl_file(const char *path, struct e2e_lines *l, int *torn, char *why, size_t wlen)
{
	memset(l, 0, sizeof(*l));
	*torn = 0;
	char *text = tu_read_file(path, NULL);
	if (!text)
		return 0;
	const char *p = text;
	int lineno = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		if (!nl) {
			*torn = 1;
			break;
		}
		lineno++;
		char *line = strndup(p, (size_t)(nl - p));
		char ebuf[256] = "";
		yajl_val v = yajl_tree_parse(line, ebuf, sizeof(ebuf));
		if (!v || !YAJL_IS_OBJECT(v)) {
			snprintf(why, wlen, "%s line %d is not a JSON object: %.200s", path, lineno,
				 line);
			yajl_tree_free(v);
			free(line);
			free(text);
			e2e_lines_free(l);
			return -1;
		}
		free(line);
		l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = v;
		p = nl + 1;
	}
	free(text);
	return 0;
}

int e2e_check_ids(const struct e2e_lines *l, int n, int exact, char *why, size_t wlen)
{
	int *seen = calloc((size_t)n + 1, sizeof(*seen));
	int rc = 0;
	for (size_t i = 0; i < l->n && !rc; i++) {
		const char *id = e2e_str(l->v[i], "id", NULL);
		char *end = NULL;
		long k = id && id[0] == 'p' ? strtol(id + 1, &end, 10) : 0;
		if (!id || !end || *end || k < 1 || k > n) {
			snprintf(why, wlen, "line %zu has id %s, not one of p1..p%d", i + 1,
				 id ? id : "(none)", n);
			rc = -1;
		} else if (++seen[k] > 1) {
			snprintf(why, wlen, "item %s has %d lines (line %zu is a second)", id,
				 seen[k], i + 1);
			rc = -1;
		}
	}
	for (int k = 1; k <= n && !rc && exact; k++)
		if (!seen[k]) {
			snprintf(why, wlen, "item p%d has no line (%zu lines for %d items)", k,
				 l->n, n);
			rc = -1;
		}
	free(seen);
	return rc;
}

static int check_archive(const char *path, const struct e2e_lines *l, int by_volume, char *why,
			 size_t wlen);

int e2e_check_archive(const char *path, const struct e2e_lines *l, char *why, size_t wlen)
{
	return check_archive(path, l, 1, why, wlen);
}

int e2e_check_packed(const char *path, const struct e2e_lines *l, char *why, size_t wlen)
{
	return check_archive(path, l, 0, why, wlen);
}

static int check_archive(const char *path, const struct e2e_lines *l, int by_volume, char *why,
			 size_t wlen)
{
	struct e2e_archive a;
	if (e2e_try_read_archive(path, &a)) {
		snprintf(why, wlen, "%s is not a whole readable archive", path);
		return -1;
	}
	size_t expected = 0;
	int rc = 0;
	for (size_t i = 0; i < l->n && !rc; i++) {
		const char *op[] = {"outputs", NULL};
		yajl_val outs = yajl_tree_get(l->v[i], op, yajl_t_array);
		for (size_t k = 0; outs && k < YAJL_GET_ARRAY(outs)->len && !rc; k++) {
			yajl_val o = YAJL_GET_ARRAY(outs)->values[k];
			const char *name = e2e_str(o, "path", NULL),
				   *sha = e2e_str(o, "sha256", NULL);
			if (!name || !sha) {
				snprintf(why, wlen, "an output of %s has no path or sha256",
					 e2e_str(l->v[i], "id", NULL));
				rc = -1;
				break;
			}
			size_t found = 0;
			const char *vol = e2e_str(l->v[i], "volume", NULL);
			for (size_t j = 0; j < a.n; j++) {
				if (strcmp(a.names[j], name))
					continue;
				found++;
				/* null: written while no archive was kept; a later volume took it.
				 */
				if (by_volume && vol && strcmp(vol, a.vols[j])) {
					snprintf(why, wlen, "output %s is in %s, its line says %s",
						 name, a.vols[j], vol ? vol : "(no volume)");
					rc = -1;
				}
				char hex[FB_SHA256_HEX_LEN + 1];
				fb_sha256_hex(a.data[j], a.len[j], hex);
				if (strcmp(hex, sha)) {
					snprintf(why, wlen,
						 "archive entry %s has sha256 %s, its line says %s",
						 name, hex, sha);
					rc = -1;
				}
			}
			if (!rc && found != 1) {
				snprintf(why, wlen,
					 "output %s is in the archive %zu times, not once", name,
					 found);
				rc = -1;
			}
			expected++;
		}
	}
	if (!rc && a.n != expected) {
		snprintf(why, wlen, "archive has %zu entries, the results name %zu outputs", a.n,
			 expected);
		rc = -1;
	}
	e2e_archive_free(&a);
	return rc;
}

struct e2e_world *e2e_world_start(void **state, const char *key, const char *sim_args)
{
	struct e2e_world *w = calloc(1, sizeof(*w));
	char args[1024];
	snprintf(args, sizeof(args), "--api-key %s --quiet %s", key, sim_args);
	w->dir = tu_tmpdir();
	w->sim = e2e_florasim_start(args);
	*state = w;
	return w;
}

int e2e_world_teardown(void **state)
{
	struct e2e_world *w = *state;
	if (w) {
		e2e_florasim_stop(&w->sim);
		tu_rmrf(w->dir);
		free(w->dir);
		free(w);
	}
	*state = NULL;
	return 0;
}

struct e2e_run e2e_world_run(struct e2e_world *w, const char *key, const char *args)
{
	char cmd[4400];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && env FLORA_API_KEY=%s '%s' run --transport http --base-url %s %s",
		 w->dir, key, tu_env("FB_BIN"), w->sim.base, args);
	struct e2e_run r = {0};
	r.status = tu_run(cmd, &r.out, &r.err);
	return r;
}

struct e2e_lines e2e_world_results(struct e2e_world *w)
{
	char *p = tu_path(w->dir, "out/results.jsonl");
	char *text = tu_read_file(p, NULL);
	assert_non_null(text);
	struct e2e_lines l = e2e_parse_jsonl(text);
	free(text);
	free(p);
	return l;
}

size_t e2e_count_status(const struct e2e_lines *l, const char *status)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *s = e2e_str(l->v[i], "status", NULL);
		n += s && !strcmp(s, status);
	}
	return n;
}

void e2e_assert_archive(const struct e2e_lines *l, const char *path)
{
	struct e2e_archive a = e2e_read_archive(path);
	size_t expected = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *op[] = {"outputs", NULL};
		yajl_val outs = yajl_tree_get(l->v[i], op, yajl_t_array);
		for (size_t k = 0; outs && k < YAJL_GET_ARRAY(outs)->len; k++) {
			yajl_val o = YAJL_GET_ARRAY(outs)->values[k];
			const char *name = e2e_str(o, "path", NULL),
				   *sha = e2e_str(o, "sha256", NULL);
			assert_non_null(name);
			assert_non_null(sha);
			size_t found = 0;
			for (size_t j = 0; j < a.n; j++) {
				if (strcmp(a.names[j], name))
					continue;
				char hex[FB_SHA256_HEX_LEN + 1];
				assert_int_equal(fb_sha256_hex(a.data[j], a.len[j], hex), 0);
				assert_string_equal(hex, sha);
				found++;
			}
			assert_int_equal(found, 1);
			expected++;
		}
	}
	assert_int_equal(a.n, expected);
	e2e_archive_free(&a);
}
