/*
 * End-to-end: outputs whose URLs or servers are hostile. Each run's create
 * answer (hostsrv, hostfx.h; the row's technique names the scenario) is a
 * completed run whose outputs lie on another scheme (file://, ftp://), on
 * another host, behind redirect loops or redirects to another host or
 * scheme, carry credentials, are 10 kB long, or are shorter than their
 * Content-Length. Each item must complete or fail with a reason that says
 * why, the API key must reach no host but the API's, no credentials may be
 * written anywhere, nothing outside the output folder may be read, and
 * every result line must stay one valid JSON object.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hostfx.h"

#include <sys/stat.h>

#define SECRET	  "the-secret-file-content"
#define PASSWORD  "s3cretpassw0rd"
#define SHORT_LEN 10000
#define LONG_LEN  10240

static const char png[] = "\x89PNG\r\n\x1a\nhostile test image";

static void redirect(int fd, const char *to)
{
	char extra[16384];
	snprintf(extra, sizeof(extra), "Location: %s\r\n", to);
	hs_reply(fd, 302, "text/plain", extra, "moved", 5);
}

/* The downloads: /files/<name> on either host. */
static void files(struct hworld *w, struct hs_server *s, int fd, const char *name)
{
	char to[512];
	if (!strcmp(name, "ok.png") || !strncmp(name, "long/", 5)) {
		hs_reply(fd, 200, "image/png", NULL, png, sizeof(png) - 1);
	} else if (!strcmp(name, "short.png")) {
		/* Half of what the head promises, then the end of the connection. */
		char head[256], half[SHORT_LEN / 2];
		memset(half, 'h', sizeof(half));
		snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: %d\r\n"
			 "Connection: close\r\n\r\n",
			 SHORT_LEN);
		if (!hs_write(fd, head, strlen(head)))
			hs_write(fd, half, sizeof(half));
	} else if (!strcmp(name, "loop-a") || !strcmp(name, "loop-b")) {
		snprintf(to, sizeof(to), "/files/loop-%c", name[5] == 'a' ? 'b' : 'a');
		redirect(fd, to);
	} else if (!strcmp(name, "self")) {
		redirect(fd, "/files/self");
	} else if (!strcmp(name, "to-other")) {
		snprintf(to, sizeof(to), "%s/files/ok.png", hs_root(w->other));
		redirect(fd, to);
	} else if (!strcmp(name, "to-file")) {
		snprintf(to, sizeof(to), "file://%s/secret.txt", w->dir);
		redirect(fd, to);
	} else if (!strcmp(name, "to-ftp")) {
		redirect(fd, "ftp://127.0.0.1:21/x.png");
	} else {
		(void)s;
		static const char nf[] =
		    "{\"error\":{\"code\":\"not_found\",\"message\":\"No such file.\"}}";
		hs_reply(fd, 404, "application/json", NULL, nf, sizeof(nf) - 1);
	}
}

/* A URL of exactly LONG_LEN bytes at root: a long path and a long query. */
static void long_url(char *out, const char *root)
{
	int n = snprintf(out, LONG_LEN + 1, "%s/files/long/", root);
	memset(out + n, 'p', LONG_LEN / 2 - (size_t)n);
	memcpy(out + LONG_LEN / 2, ".png?sig=", 9);
	memset(out + LONG_LEN / 2 + 9, 'q', LONG_LEN / 2 - 9);
	out[LONG_LEN] = '\0';
}

static void handler(struct hs_server *s, void *ud, int fd, const struct hs_req *r)
{
	struct hworld *w = ud;
	char tech[64] = "";
	if (!strncmp(r->target, "/files/", 7)) {
		files(w, s, fd, r->target + 7);
		return;
	}
	if (sscanf(r->target, "/api/v1/techniques/%63[^/]/runs", tech) != 1) {
		hs_reply(fd, 404, "application/json", NULL, "{}", 2);
		return;
	}
	char *url = malloc(LONG_LEN + 1); /* handlers run at once, on threads of their own */
	if (!url)
		return;
	const char *api = hs_root(w->api);
	const char *urls[] = {url, NULL};
	if (!strcmp(tech, "file"))
		snprintf(url, LONG_LEN + 1, "file://%s/secret.txt", w->dir);
	else if (!strcmp(tech, "ftp"))
		snprintf(url, LONG_LEN + 1, "ftp://127.0.0.1:21/x.png");
	else if (!strcmp(tech, "other"))
		snprintf(url, LONG_LEN + 1, "%s/files/ok.png", hs_root(w->other));
	else if (!strcmp(tech, "creds"))
		snprintf(url, LONG_LEN + 1, "http://user:" PASSWORD "@%s/files/ok.png", api + 7);
	else if (!strcmp(tech, "long"))
		long_url(url, api);
	else if (!strcmp(tech, "longdown")) /* a port nobody listens on */
		long_url(url, "http://127.0.0.1:1");
	else /* the name of a file on the API's host */
		snprintf(url, LONG_LEN + 1, "%s/files/%s", api, tech);
	hw_completed_run(fd, urls);
	free(url);
}

static int setup(void **state)
{
	struct hworld *w = hw_start(state, handler);
	free(tu_write_file(w->dir, "secret.txt", SECRET, sizeof(SECRET) - 1));
	return 0;
}

static int exists(struct hworld *w, const char *name)
{
	char *p = tu_path(w->dir, name);
	struct stat st;
	int yes = !stat(p, &st);
	free(p);
	return yes;
}

/*
 * file:// and ftp:// outputs, given or reached by a redirect: never
 * fetched, the items fail saying so, and the file outside the output
 * folder is read by nobody.
 */
static void test_file_and_ftp_urls(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "f1,file\nf2,ftp\nf3,to-file\nf4,to-ftp", "--outputs-dir plain");
	assert_int_equal(w->r.status, 1);
	hw_failed(w, "f1", "download_failed", "only http and https URLs are fetched");
	hw_failed(w, "f2", "download_failed", "only http and https URLs are fetched");
	hw_failed(w, "f3", "download_failed", "GET ");
	hw_failed(w, "f4", "download_failed", "GET ");
	assert_null(strstr(w->text, SECRET));
	assert_false(exists(w, "out/outputs.tar.gz"));
	assert_false(exists(w, "plain/f1"));
	assert_false(exists(w, "plain/f3"));
	assert_int_equal(hs_count(w->api, "GET /files/to-file"), 1); /* not retried */
}

/* An output on another host gets no API key, nor any Authorization at all. */
static void test_output_on_other_host(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "o1,other", "");
	assert_int_equal(w->r.status, 0);
	hw_completed(w, "o1");
	assert_int_equal(hs_count(w->other, "GET /files/ok.png"), 1);
	assert_int_equal(hs_count(w->other, HKEY), 0);
	assert_int_equal(hs_count(w->other, "Authorization"), 0);
	assert_int_equal(hs_count(w->api, "Authorization: Bearer " HKEY), 1); /* the create */
}

/*
 * A body shorter than its Content-Length is never archived: each try is
 * resumed, and the item fails after the last with the reason.
 */
static void test_body_shorter_than_length(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "s1,short.png", "--outputs-dir plain");
	assert_int_equal(w->r.status, 1);
	hw_failed(w, "s1", "download_failed", "bytes remaining to read");
	assert_int_equal(hs_count(w->api, "GET /files/short.png"), 4);
	assert_false(exists(w, "out/outputs.tar.gz"));
	assert_false(exists(w, "plain/s1/o1.png"));
}

/* A→B→A… and A→A: cut after the redirect cap, at once, without a retry. */
static void test_redirect_loops(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "l1,loop-a\nl2,self", "");
	assert_int_equal(w->r.status, 1);
	hw_failed(w, "l1", "download_failed", "redirects");
	hw_failed(w, "l2", "download_failed", "redirects");
	size_t loops = hs_count(w->api, "GET /files/loop-"),
	       self = hs_count(w->api, "GET /files/self");
	print_message("redirect loops: %zu and %zu requests, %lld ms\n", loops, self, w->ms);
	assert_int_equal(loops, 6); /* the first, then five redirects */
	assert_int_equal(self, 6);
	assert_true(e2e_wrapped() || w->ms < 5000); /* under valgrind a start takes seconds */
}

/* A redirect from the API's host to another: neither request carries the key. */
static void test_redirect_to_other_host(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "r1,to-other", "");
	assert_int_equal(w->r.status, 0);
	hw_completed(w, "r1");
	assert_int_equal(hs_count(w->other, "GET /files/ok.png"), 1);
	assert_int_equal(hs_count(w->other, HKEY), 0);
	assert_int_equal(hs_count(w->other, "Authorization"), 0);
	assert_int_equal(hs_count(w->api, "GET /files/to-other"), 1);
	assert_int_equal(hs_count(w->api, HKEY), 1); /* the create alone */
}

/*
 * An output URL with a user name and password is refused: nothing is
 * sent, and the password is in no result line and no message, --verbose
 * included.
 */
static void test_credentials_in_url(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "c1,creds", "--verbose");
	assert_int_equal(w->r.status, 1);
	hw_failed(w, "c1", "download_failed", "carries a user name or password");
	assert_int_equal(hs_count(w->api, "GET /files/ok.png"), 0);
	assert_null(strstr(w->text, PASSWORD));
	assert_null(strstr(w->r.err, PASSWORD));
	assert_null(strstr(w->r.out, PASSWORD));
	char *journal = tu_path(w->dir, "out/journal.jsonl");
	char *j = tu_read_file(journal, NULL);
	assert_null(j ? strstr(j, PASSWORD) : NULL);
	free(j);
	free(journal);
}

/*
 * A 10 kB output URL downloads, and its line holds the whole URL; one
 * that fails says why, in a message that shows the URL cut short (marked
 * so) and still ends with the reason.
 */
static void test_long_url(void **state)
{
	struct hworld *w = *state;
	hw_run(w, "g1,long\ng2,longdown", "");
	assert_int_equal(w->r.status, 1);
	hw_completed(w, "g1");
	const char *op[] = {"outputs", NULL};
	yajl_val outs = yajl_tree_get(hw_line(w, "g1"), op, yajl_t_array);
	assert_non_null(outs);
	assert_int_equal(YAJL_GET_ARRAY(outs)->len, 1);
	const char *url = e2e_str(YAJL_GET_ARRAY(outs)->values[0], "url", NULL);
	assert_non_null(url);
	assert_int_equal(strlen(url), LONG_LEN);
	assert_non_null(strstr(url, "?sig=qqqq"));
	const char *msg =
	    hw_failed(w, "g2", "download_failed", "GET http://127.0.0.1:1/files/long/ppp");
	print_message("a 10 kB URL that fails: %s\n", msg);
	assert_non_null(strstr(msg, "ppp...: "));
	assert_non_null(strstr(msg, "127.0.0.1 port 1"));
	assert_null(strstr(msg, "sig="));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_file_and_ftp_urls, setup, hw_teardown),
	    cmocka_unit_test_setup_teardown(test_output_on_other_host, setup, hw_teardown),
	    cmocka_unit_test_setup_teardown(test_body_shorter_than_length, setup, hw_teardown),
	    cmocka_unit_test_setup_teardown(test_redirect_loops, setup, hw_teardown),
	    cmocka_unit_test_setup_teardown(test_redirect_to_other_host, setup, hw_teardown),
	    cmocka_unit_test_setup_teardown(test_credentials_in_url, setup, hw_teardown),
	    cmocka_unit_test_setup_teardown(test_long_url, setup, hw_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
