/*
 * https downloads against a real TLS server: a libmicrohttpd daemon with a
 * self-signed certificate made at test time (the openssl command; the
 * test is skipped without it), next to httpfx.h's plain server. An https
 * download may be redirected over https, never to plain http, whatever
 * the easy handle fetched before; plain downloads still follow http.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "httpfx.h"
#include "testutil.h"

struct tls {
	struct srv *plain; /* httpfx.h's server: where the downgrade would go */
	struct MHD_Daemon *d;
	char root[64];
	char *dir, *key, *cert;
	pthread_mutex_t mu;
	int hits;
};

static enum MHD_Result tls_handle(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)method;
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	struct tls *t = cls;
	pthread_mutex_lock(&t->mu);
	t->hits++;
	pthread_mutex_unlock(&t->mu);
	char to[160];
	const char *const hdrs[] = {"Location", to, NULL};
	if (!strcmp(url, "/files/to-http")) {
		snprintf(to, sizeof(to), "%s/files/sized", t->plain->root);
		return text(c, 302, "text/plain", "moved", hdrs);
	}
	if (!strcmp(url, "/files/to-https")) {
		snprintf(to, sizeof(to), "%s/files/sized", t->root);
		return text(c, 302, "text/plain", "moved", hdrs);
	}
	if (!strcmp(url, "/files/sized")) {
		static const struct stream sized = {SIZED_LEN, SIZED_LEN};
		return stream(c, &sized, 1);
	}
	return text(c, 404, "text/plain", "no such file", NULL);
}

/* A key and a self-signed certificate for 127.0.0.1, read into memory; -1 without openssl. */
static int make_cert(struct tls *t)
{
	t->dir = tu_tmpdir();
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
		 "-nodes -keyout key.pem -out cert.pem -days 1 -subj /CN=127.0.0.1",
		 t->dir);
	char *err = NULL;
	int rc = tu_run(cmd, NULL, &err);
	if (rc)
		print_message("openssl failed (%d): %s\n", rc, err ? err : "");
	free(err);
	if (rc)
		return -1;
	char *kp = tu_path(t->dir, "key.pem"), *cp = tu_path(t->dir, "cert.pem");
	t->key = tu_read_file(kp, NULL);
	t->cert = tu_read_file(cp, NULL);
	free(kp);
	free(cp);
	return t->key && t->cert ? 0 : -1;
}

static int tls_start(void **state)
{
	struct tls *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	*state = t;
	pthread_mutex_init(&t->mu, NULL);
	void *ps = NULL;
	if (srv_start(&ps))
		return -1;
	t->plain = ps;
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS) || make_cert(t))
		return 0; /* the test skips */
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t->d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
				tls_handle, t, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
				MHD_OPTION_HTTPS_MEM_KEY, t->key, MHD_OPTION_HTTPS_MEM_CERT,
				t->cert, MHD_OPTION_END);
	if (!t->d)
		return -1;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(t->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(t->root, sizeof(t->root), "https://127.0.0.1:%u", (unsigned)di->port);
	return 0;
}

static int tls_stop(void **state)
{
	struct tls *t = *state;
	if (t->d)
		MHD_stop_daemon(t->d);
	void *ps = t->plain;
	if (ps)
		srv_stop(&ps);
	if (t->dir) {
		tu_rmrf(t->dir);
		free(t->dir);
	}
	free(t->key);
	free(t->cert);
	pthread_mutex_destroy(&t->mu);
	free(t);
	return 0;
}

static void fetch_url(struct fb_transport *tr, const char *root, const char *path, struct sink *k)
{
	char url[192];
	snprintf(url, sizeof(url), "%s%s", root, path);
	assert_int_equal(fb_transport_fetch(tr, url, on_data, on_done, k, NULL), 0);
	drain(tr);
}

static void test_https_never_redirected_to_http(void **state)
{
	struct tls *t = *state;
	if (!t->d)
		skip();
	srv_reset(t->plain);
	struct fb_http_config cfg = {
	    .base_url = t->plain->base, .api_key = KEY, .insecure = 1 /* self-signed */};
	struct fb_transport *tr = NULL;
	assert_int_equal(fb_http_transport_new(&tr, &cfg, NULL), 0);
	for (int round = 0; round < 2; round++) {
		/* Over https, and redirected over https: the server and the client speak TLS. */
		struct sink ok = {0}, down = {0}, plain = {0};
		fetch_url(tr, t->root, "/files/to-https", &ok);
		if (!ok.ok)
			fail_msg("%s", ok.err.msg);
		assert_int_equal(ok.got, SIZED_LEN);
		assert_int_equal(ok.bad, 0);

		/* Redirected to plain http: refused before anything is asked there. */
		fetch_url(tr, t->root, "/files/to-http", &down);
		assert_false(down.ok);
		assert_int_equal(down.err.code, FB_ETRANSPORT);
		assert_int_equal(down.err.kind, FB_KIND_ITEM);
		assert_int_equal(down.calls, 0);
		assert_non_null(strstr(down.err.msg, "an https one over https only"));
		pthread_mutex_lock(&t->plain->mu);
		assert_int_equal(t->plain->fetches, 0);
		pthread_mutex_unlock(&t->plain->mu);

		/* The handle that refused http goes on to a plain download that redirects over
		 * http. */
		fetch_url(tr, t->plain->root, "/files/redirect", &plain);
		assert_true(plain.ok);
		assert_int_equal(plain.got, SIZED_LEN);
		srv_reset(t->plain);
	}
	pthread_mutex_lock(&t->mu);
	assert_int_equal(t->hits, 6); /* to-https and its file, and to-http, twice */
	pthread_mutex_unlock(&t->mu);
	fb_transport_free(tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_https_never_redirected_to_http),
	};
	return cmocka_run_group_tests_name("tls", tests, tls_start, tls_stop);
}
