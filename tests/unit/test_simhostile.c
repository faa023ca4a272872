/* simhostile: with hostile_names, outputs carry dangerous ids and odd types, and still download. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simfx.h"

#include "buf.h"
#include "simanswer.h"

#define NESTED                                                                                     \
	"{\"inputs\":[{\"id\":\"input_image\",\"type\":\"imageUrl\",\"value\":\"https://e.x/"      \
	"a.png\"}],\"mode\":\"async\"}"
#define BASE "sim://api/v1/_sim/outputs/"

static const char *const plain_ids[] = {
    "../../etc/passwd", "/abs/path", "a\nb\tc", "..", NULL, "CON", "name with spaces/and:colons",
};
#define NIDS 7

static struct sfx *hostile(unsigned outputs)
{
	struct fb_simmodel_config c = sfx_config();
	c.hostile_names = 1;
	c.outputs_per_run = outputs;
	return sfx_new(&c);
}

static char *create(struct sfx *f)
{
	assert_int_equal(sfx_post(f, "/techniques/cctv-cam/runs", NULL, NESTED), 201);
	/* Not completed yet: no outputs to name. */
	assert_null(sfx_at(f->v, "outputs", NULL));
	return sfx_dup(f, "run_id");
}

/* The id expected for hostile number k, pass as fb_simanswer_output_id documents. */
static void expect_id(size_t k, unsigned pass, char *out, size_t cap)
{
	const char *p = plain_ids[k % NIDS];
	size_t n;
	if (p) {
		n = (size_t)snprintf(out, cap, "%s", p);
	} else {
		assert_true(cap > 300);
		memcpy(out, "long-", 5);
		for (n = 5; n < 300; n++)
			out[n] = (char)('a' + n % 26);
		out[n] = '\0';
	}
	if (pass > 1)
		snprintf(out + n, cap - n, "~%u", pass);
}

/* The URL must hold the id in one segment: no '/', no '.', nothing below 0x21. */
static void assert_encoded_url(const char *url, const char *run_id)
{
	size_t blen = strlen(BASE);
	assert_int_equal(strncmp(url, BASE, blen), 0);
	assert_int_equal(strncmp(url + blen, run_id, strlen(run_id)), 0);
	const char *seg = url + blen + strlen(run_id);
	assert_int_equal(*seg, '/');
	for (const char *p = seg + 1; *p; p++)
		assert_true(*p != '/' && *p != '.' && (unsigned char)*p > 0x20 &&
			    (unsigned char)*p < 0x7f);
}

static void assert_png(struct sfx *f)
{
	assert_true(f->r.body.len > 8);
	assert_memory_equal(f->r.body.ptr, "\x89PNG\r\n\x1a\n", 8);
}

static void test_ids_cycle_and_download(void **state)
{
	(void)state;
	struct sfx *f = hostile(1);
	enum { RUNS = 9 };
	char *ids[RUNS];
	for (int i = 0; i < RUNS; i++)
		ids[i] = create(f);
	fb_clock_sleep_ms(f->clock, 10001);
	int seen[NIDS] = {0};
	for (int i = 0; i < RUNS; i++) {
		assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", ids[i])), 200);
		assert_string_equal(sfx_str(f->v, "status"), "completed");
		yajl_val outs = sfx_at(f->v, "outputs", NULL);
		assert_true(YAJL_IS_ARRAY(outs));
		assert_int_equal(outs->u.array.len, 1);
		yajl_val o = outs->u.array.values[0];
		char want[400];
		expect_id((size_t)i, 1, want, sizeof(want));
		assert_string_equal(sfx_str(o, "output_id"), want);
		seen[i % NIDS]++;
		char *url = strdup(sfx_str(o, "url"));
		assert_encoded_url(url, ids[i]);

		/* The URL as given downloads the bytes, its type depending on the position. */
		assert_int_equal(sfx_get(f, url), 200);
		assert_png(f);
		static const char *const ctypes[] = {"image/png", "application/octet-stream",
						     "image/png; charset=binary"};
		assert_string_equal(f->r.content_type, ctypes[i % 3]);
		/* And only that name: the ordinary one is not served in this mode. */
		assert_int_equal(sfx_get(f, sfx_fmt(f, BASE "%s/out_1.png", ids[i])), 404);
		/* A name close to it is not the output. */
		if (i == 3)
			assert_int_equal(sfx_get(f, sfx_fmt(f, BASE "%s/%s", ids[i], "%2E")), 404);
		free(url);
		free(ids[i]);
	}
	for (int k = 0; k < NIDS; k++)
		assert_true(seen[k] >= 1);
	sfx_free(f);
}

static void test_many_outputs_stay_distinct(void **state)
{
	(void)state;
	struct sfx *f = hostile(16);
	char *first = create(f); /* creation index 0: output n is hostile number n - 1 */
	char *id = create(f);	 /* index 1: starts one further along */
	fb_clock_sleep_ms(f->clock, 10001);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", id)), 200);
	yajl_val outs = sfx_at(f->v, "outputs", NULL);
	assert_int_equal(outs->u.array.len, 16);
	char *urls[16], *oids[16];
	for (size_t n = 0; n < 16; n++) {
		yajl_val o = outs->u.array.values[n];
		char want[400];
		expect_id(1 + n, (unsigned)(n / NIDS) + 1, want, sizeof(want));
		oids[n] = strdup(sfx_str(o, "output_id"));
		assert_string_equal(oids[n], want);
		urls[n] = strdup(sfx_str(o, "url"));
		assert_encoded_url(urls[n], id);
		for (size_t j = 0; j < n; j++)
			assert_string_not_equal(oids[n], oids[j]);
	}
	/* Every output downloads, each its own bytes. */
	struct fb_buf prev = FB_BUF_INIT;
	for (size_t n = 0; n < 16; n++) {
		assert_int_equal(sfx_get(f, urls[n]), 200);
		assert_png(f);
		assert_false(prev.len == f->r.body.len &&
			     !memcmp(prev.ptr, f->r.body.ptr, prev.len));
		fb_buf_reset(&prev);
		fb_buf_add(&prev, f->r.body.ptr, f->r.body.len);
		free(urls[n]);
		free(oids[n]);
	}
	fb_buf_release(&prev);
	/* The first run starts the cycle one earlier; a pass no run reaches is not served. */
	assert_int_equal(sfx_get(f, sfx_fmt(f, BASE "%s/%s", first, "%2Fabs%2Fpath")), 200);
	assert_int_equal(sfx_get(f, sfx_fmt(f, BASE "%s/%s", id, "%2Fabs%2Fpath~3")), 200);
	assert_int_equal(sfx_get(f, sfx_fmt(f, BASE "%s/%s", id, "%2Fabs%2Fpath~4")), 404);
	assert_int_equal(sfx_get(f, sfx_fmt(f, BASE "%s/%s", id, "CON~9")), 404);
	free(first);
	free(id);
	sfx_free(f);
}

static void test_off_by_default(void **state)
{
	(void)state;
	struct fb_simmodel_config c = sfx_config();
	struct sfx *f = sfx_new(&c);
	char *id = create(f);
	fb_clock_sleep_ms(f->clock, 10001);
	assert_int_equal(sfx_get(f, sfx_fmt(f, "/runs/%s", id)), 200);
	yajl_val o = sfx_at(f->v, "outputs", NULL)->u.array.values[0];
	assert_string_equal(sfx_str(o, "output_id"), "out_1");
	assert_int_equal(sfx_get(f, sfx_fmt(f, BASE "%s/out_1.png", id)), 200);
	assert_string_equal(f->r.content_type, "image/png");
	free(id);
	sfx_free(f);
}

static void test_pct_segment(void **state)
{
	(void)state;
	struct fb_buf b = FB_BUF_INIT;
	assert_int_equal(fb_simanswer_pct_segment("a b/..:\n\t~_-Z9\xc3\xa9", &b), 0);
	assert_string_equal(fb_buf_str(&b), "a%20b%2F%2E%2E%3A%0A%09~_-Z9%C3%A9");
	fb_buf_reset(&b);
	assert_int_equal(fb_simanswer_output_id(0, 3, &b), 0);
	assert_string_equal(fb_buf_str(&b), "out_3");
	fb_buf_reset(&b);
	assert_int_equal(fb_simanswer_output_id(6, 1, &b), 0);
	assert_string_equal(fb_buf_str(&b), "CON");
	fb_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ids_cycle_and_download),
	    cmocka_unit_test(test_many_outputs_stay_distinct),
	    cmocka_unit_test(test_off_by_default),
	    cmocka_unit_test(test_pct_segment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
