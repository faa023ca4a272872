/*
 * hostfx: the fixture of the hostile-server tests: a temporary folder, the
 * "API" (a hostsrv on 127.0.0.1) and "another host" (a hostsrv on
 * 127.0.0.2) answering through the test's handler, and florabatch run
 * against them with short retries. Kept in cmocka's state, so the servers
 * stop even after a failed assertion. Include after cmocka.h; every
 * function is static inline.
 */
#ifndef FB_HOSTFX_H
#define FB_HOSTFX_H

#include "e2e.h"
#include "hostsrv.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HKEY "sk_test_hostile_5ecret0123456789"

struct hworld {
	char *dir;
	struct hs_server *api, *other;
	struct e2e_run r;
	char *text; /* out/results.jsonl */
	struct e2e_lines l;
	long long ms;	      /* how long florabatch ran */
	const char *scenario; /* for handlers that need more than the path */
};

static inline struct hworld *hw_start(void **state, hs_handler h)
{
	struct hworld *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	w->dir = tu_tmpdir();
	*state = w;
	w->api = hs_start("127.0.0.1", h, w);
	w->other = hs_start("127.0.0.2", h, w);
	return w;
}

static inline void hw_clear(struct hworld *w)
{
	e2e_run_free(&w->r);
	e2e_lines_free(&w->l);
	free(w->text);
	w->text = NULL;
}

static inline int hw_teardown(void **state)
{
	struct hworld *w = *state;
	if (w) {
		hs_stop(w->api);
		hs_stop(w->other);
		hw_clear(w);
		tu_rmrf(w->dir);
		free(w->dir);
		free(w);
	}
	*state = NULL;
	return 0;
}

/*
 * Runs florabatch on m.csv of rows ("id,technique" each, the technique
 * naming the server's scenario) with short retries and args, then reads
 * out/results.jsonl (every line must be a JSON object).
 */
static inline void hw_run(struct hworld *w, const char *rows, const char *args)
{
	hw_clear(w);
	char csv[4096];
	size_t n = (size_t)snprintf(csv, sizeof(csv), "id,technique,input_image\n");
	for (const char *p = rows; *p;) {
		size_t len = strcspn(p, "\n");
		n += (size_t)snprintf(csv + n, sizeof(csv) - n,
				      "%.*s,https://storage.example/in.png\n", (int)len, p);
		p += len + (p[len] == '\n');
	}
	free(tu_write_file(w->dir, "m.csv", csv, n));
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && env FLORA_API_KEY=" HKEY " '%s' run m.csv --transport http "
		 "--base-url %s/api/v1 --out out --poll-mode get --poll-interval 100ms "
		 "--backoff-base 10ms --backoff-cap 50ms --summary block %s",
		 w->dir, tu_env("FB_BIN"), hs_root(w->api), args);
	long long t0 = e2e_now_ms();
	w->r.status = tu_run(cmd, &w->r.out, &w->r.err);
	w->ms = e2e_now_ms() - t0;
	char *rp = tu_path(w->dir, "out/results.jsonl");
	w->text = tu_read_file(rp, NULL);
	free(rp);
	if (!w->text)
		print_error("no results; florabatch said:\n%s\n", w->r.err);
	assert_non_null(w->text);
	w->l = e2e_parse_jsonl(w->text);
}

/* The line of item id, which must exist. */
static inline yajl_val hw_line(struct hworld *w, const char *id)
{
	yajl_val v = e2e_find(&w->l, id);
	if (!v)
		print_error("no line for %s in:\n%s\n", id, w->text);
	assert_non_null(v);
	return v;
}

/* Item id ended failed with error code code and a message holding needle; its message. */
static inline const char *hw_failed(struct hworld *w, const char *id, const char *code,
				    const char *needle)
{
	yajl_val v = hw_line(w, id);
	const char *st = e2e_str(v, "status", NULL), *c = e2e_str(v, "error", "code", NULL),
		   *msg = e2e_str(v, "error", "message", NULL);
	if (!st || strcmp(st, "failed") || !c || strcmp(c, code) || !msg || !strstr(msg, needle))
		print_error("%s: expected failed, %s, \"%s\"; the results:\n%s\nstderr:\n%s\n", id,
			    code, needle, w->text, w->r.err);
	assert_string_equal(st, "failed");
	assert_string_equal(c, code);
	assert_non_null(strstr(msg, needle));
	return msg;
}

/* Item id ended completed. */
static inline void hw_completed(struct hworld *w, const char *id)
{
	const char *st = e2e_str(hw_line(w, id), "status", NULL);
	if (!st || strcmp(st, "completed"))
		print_error("%s: expected completed; the results:\n%s\nstderr:\n%s\n", id, w->text,
			    w->r.err);
	assert_string_equal(st, "completed");
}

/* "peak RSS 14.6 MiB" from the summary, in MiB; -1 when absent. */
static inline double hw_peak_rss_mib(const struct hworld *w)
{
	const char *p = strstr(w->r.err ? w->r.err : "", "peak RSS ");
	return p ? atof(p + 9) : -1;
}

/*
 * A create's answer: a run that ended completed, its outputs at these URLs
 * (NULL-ended). On a server thread: no assertions here.
 */
static inline int hw_completed_run(int fd, const char *const *urls)
{
	char body[32768];
	size_t n = (size_t)snprintf(body, sizeof(body),
				    "{\"run_id\":\"run_h\",\"status\":\"completed\","
				    "\"charged_cost\":0.01,\"outputs\":[");
	for (size_t i = 0; urls[i] && n < sizeof(body); i++)
		n += (size_t)snprintf(
		    body + n, sizeof(body) - n,
		    "%s{\"output_id\":\"o%zu\",\"type\":\"imageUrl\",\"url\":\"%s\"}", i ? "," : "",
		    i + 1, urls[i]);
	if (n < sizeof(body))
		n += (size_t)snprintf(body + n, sizeof(body) - n, "]}");
	if (n >= sizeof(body))
		return hs_reply(fd, 500, "text/plain", NULL, "fixture: too long", 17);
	return hs_reply(fd, 201, "application/json", NULL, body, n);
}

#endif
