/* e2e: running the binary, parsing its JSONL, reading its archive. */
#include "e2e.h"
#include "testutil.h"
#include "buf.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	struct e2e_archive a = {0};
	struct archive *ar = archive_read_new();
	archive_read_support_filter_all(ar);
	archive_read_support_format_all(ar);
	if (archive_read_open_filename(ar, path, 65536) != ARCHIVE_OK) {
		fprintf(stderr, "cannot open archive %s: %s\n", path, archive_error_string(ar));
		abort();
	}
	struct archive_entry *e;
	while (archive_read_next_header(ar, &e) == ARCHIVE_OK) {
		size_t size = (size_t)archive_entry_size(e);
		char *buf = malloc(size + 1);
		la_ssize_t got = archive_read_data(ar, buf, size);
		if (got < 0 || (size_t)got != size) {
			fprintf(stderr, "short entry %s in %s\n", archive_entry_pathname(e), path);
			abort();
		}
		a.names = realloc(a.names, (a.n + 1) * sizeof(*a.names));
		a.data = realloc(a.data, (a.n + 1) * sizeof(*a.data));
		a.len = realloc(a.len, (a.n + 1) * sizeof(*a.len));
		a.names[a.n] = strdup(archive_entry_pathname(e));
		a.data[a.n] = buf;
		a.len[a.n] = size;
		a.n++;
	}
	archive_read_free(ar);
	return a;
}

void e2e_archive_free(struct e2e_archive *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->names[i]);
		free(a->data[i]);
	}
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
