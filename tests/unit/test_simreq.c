/* Tests for simreq: what the simulator reads from a request's path and create body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "error.h"
#include "simreq.h"

static void parse(const char *body, struct fb_simreq *r)
{
	*r = (struct fb_simreq)FB_SIMREQ_INIT;
	assert_int_equal(fb_simreq_parse(body, strlen(body), r), 0);
}

static void test_digest_ignores_order_space_and_key(void **state)
{
	(void)state;
	struct fb_simreq a, b, c, d;
	parse("{\"inputs\":[{\"id\":\"p\",\"type\":\"text\",\"value\":\"x\"}],\"mode\":\"async\"}",
	      &a);
	parse(" { \"mode\":\"async\", \"idempotency_key\":\"k1\",\n \"inputs\":[{\"value\":\"x\","
	      "\"id\":\"p\",\"type\":\"text\"}] } ",
	      &b);
	parse("{\"inputs\":[{\"id\":\"p\",\"type\":\"text\",\"value\":\"y\"}],\"mode\":\"async\"}",
	      &c);
	/* Array order is meaning, not form. */
	parse(
	    "{\"inputs\":[{\"id\":\"p\",\"type\":\"text\",\"value\":\"x\"},{\"id\":\"q\",\"type\":"
	    "\"text\",\"value\":\"z\"}],\"mode\":\"async\"}",
	    &d);
	assert_null(a.error_code);
	assert_null(b.error_code);
	assert_null(a.idempotency_key);
	assert_string_equal(b.idempotency_key, "k1");
	assert_memory_equal(a.digest, b.digest, FB_SIMREQ_DIGEST_LEN);
	assert_memory_not_equal(a.digest, c.digest, FB_SIMREQ_DIGEST_LEN);
	assert_memory_not_equal(a.digest, d.digest, FB_SIMREQ_DIGEST_LEN);
	struct fb_simreq e;
	parse(
	    "{\"inputs\":[{\"id\":\"q\",\"type\":\"text\",\"value\":\"z\"},{\"id\":\"p\",\"type\":"
	    "\"text\",\"value\":\"x\"}],\"mode\":\"async\"}",
	    &e);
	assert_memory_not_equal(d.digest, e.digest, FB_SIMREQ_DIGEST_LEN);
	fb_simreq_release(&a);
	fb_simreq_release(&b);
	fb_simreq_release(&c);
	fb_simreq_release(&d);
	fb_simreq_release(&e);
}

/* The digest is SHA-256 of the canonical form, whichever reader took the body. */
static void check_canonical(const char *body, const char *canonical)
{
	struct fb_simreq r = FB_SIMREQ_INIT;
	unsigned char want[FB_SIMREQ_DIGEST_LEN];
	unsigned int n = 0;
	assert_int_equal(fb_simreq_parse(body, strlen(body), &r), 0);
	if (r.error_code)
		fail_msg("%s: %s", body, r.message);
	assert_null(r.root); /* the route reads the key and the digest only */
	assert_true(EVP_Digest(canonical, strlen(canonical), want, &n, EVP_sha256(), NULL));
	assert_memory_equal(r.digest, want, FB_SIMREQ_DIGEST_LEN);
	fb_simreq_release(&r);
}

static void test_digest_is_of_the_canonical_form(void **state)
{
	(void)state;
	/* The common shape (read without a tree): sorted, key left out, escapes as yajl's. */
	check_canonical("{\"mode\":\"async\",/* c */\"idempotency_key\":\"k\",\"inputs\":[{"
			"\"value\":\"a\\/b\\u00e9\\n\",\"type\":\"text\",\"id\":\"p\"}],"
			"\"callback_url\":\"https://h/cb\"}",
			"{\"callback_url\":\"https://h/cb\",\"inputs\":[{\"id\":\"p\",\"type\":"
			"\"text\",\"value\":\"a/b\xc3\xa9\\n\"}],\"mode\":\"async\"}");
	/* An extra member of an input (read with a tree). */
	check_canonical("{\"inputs\":[{\"n\":[2,{\"b\":1,\"a\":null}],\"value\":\"v\","
			"\"type\":\"imageUrl\",\"id\":\"i\"}],\"mode\":\"stream\"}",
			"{\"inputs\":[{\"id\":\"i\",\"n\":[2,{\"a\":null,\"b\":1}],\"type\":"
			"\"imageUrl\",\"value\":\"v\"}],\"mode\":\"stream\"}");
}

static void test_body_need_not_be_terminated(void **state)
{
	(void)state;
	const char *json = "{\"inputs\":[{\"id\":\"p\",\"type\":\"text\",\"value\":\"x\"}],"
			   "\"mode\":\"async\"}GARBAGE";
	size_t len = strlen(json) - strlen("GARBAGE");
	char *exact = malloc(len); /* no NUL: a read past the end trips the sanitizer */
	memcpy(exact, json, len);
	struct fb_simreq r = FB_SIMREQ_INIT;
	assert_int_equal(fb_simreq_parse(exact, len, &r), 0);
	assert_null(r.error_code);
	fb_simreq_release(&r);
	/* An embedded NUL is not JSON. */
	assert_int_equal(fb_simreq_parse("{}\0{}", 5, &r), 0);
	assert_string_equal(r.error_code, "invalid_json");
	fb_simreq_release(&r);
	assert_int_equal(fb_simreq_parse(NULL, 0, &r), 0);
	assert_string_equal(r.error_code, "invalid_json");
	fb_simreq_release(&r);
	free(exact);
}

static void test_fields_and_message(void **state)
{
	(void)state;
	struct fb_simreq r;
	parse("{\"extra\":1,\"inputs\":[{\"id\":\"p\",\"type\":\"TEXT\",\"value\":\"x\"}]}", &r);
	assert_string_equal(r.error_code, "input_validation_error");
	assert_int_equal(r.nfields, 3);
	assert_string_equal(r.fields[0].field, "extra");
	assert_string_equal(r.fields[0].message, "Unrecognized key");
	assert_string_equal(r.fields[1].field, "inputs.0.type");
	assert_string_equal(r.fields[2].field, "mode");
	assert_string_equal(r.fields[2].message, "Required");
	assert_non_null(strstr(r.message, "mode: Required"));
	assert_int_equal(strncmp(r.message, "extra: Unrecognized key; ", 25), 0);
	fb_simreq_release(&r);
	/* Many problems: reported up to the limit, still invalid. */
	char big[4096] = "{\"mode\":\"async\",\"inputs\":[";
	for (int i = 0; i < 40; i++)
		strcat(big, i ? ",1" : "1");
	strcat(big, "]}");
	parse(big, &r);
	assert_string_equal(r.error_code, "input_validation_error");
	assert_int_equal(r.nfields, FB_SIMREQ_MAX_FIELDS);
	fb_simreq_release(&r);
}

static void test_depth_limit(void **state)
{
	(void)state;
	char ok[256], deep[256];
	/* An extra member inside an input may nest, within the limit. */
	int d = FB_SIMREQ_MAX_DEPTH - 3; /* the body, inputs[] and the input take three */
	strcpy(ok,
	       "{\"mode\":\"async\",\"inputs\":[{\"id\":\"p\",\"type\":\"text\",\"value\":\"x\","
	       "\"n\":");
	size_t n = strlen(ok);
	memset(ok + n, '[', (size_t)d);
	memset(ok + n + d, ']', (size_t)d);
	strcpy(ok + n + 2 * d, "}]}");
	struct fb_simreq r;
	parse(ok, &r);
	assert_null(r.error_code);
	fb_simreq_release(&r);
	memset(deep, '[', FB_SIMREQ_MAX_DEPTH + 1);
	memset(deep + FB_SIMREQ_MAX_DEPTH + 1, ']', FB_SIMREQ_MAX_DEPTH + 1);
	deep[2 * (FB_SIMREQ_MAX_DEPTH + 1)] = '\0';
	parse(deep, &r);
	assert_string_equal(r.error_code, "invalid_json");
	fb_simreq_release(&r);
	/* Brackets inside strings are text, not nesting. */
	char s[256] =
	    "{\"mode\":\"async\",\"inputs\":[{\"id\":\"p\",\"type\":\"text\",\"value\":\"";
	n = strlen(s);
	memset(s + n, '[', 40);
	strcpy(s + n + 40, "\\\"\"}]}");
	parse(s, &r);
	assert_null(r.error_code);
	fb_simreq_release(&r);
}

static void parse_as(enum fb_simreq_kind kind, const char *body, struct fb_simreq *r)
{
	*r = (struct fb_simreq)FB_SIMREQ_INIT;
	assert_int_equal(fb_simreq_parse_as(kind, body, strlen(body), r), 0);
}

static void test_other_bodies(void **state)
{
	(void)state;
	struct fb_simreq r;
	parse_as(FB_SIMREQ_GENERATION,
		 "{\"type\":\"video\",\"prompt\":\"p\",\"workspace_id\":\"ws_a\",\"project_id\":"
		 "\"prj_b\",\"params\":{\"n\":[1,2]},\"callback_url\":\"https://h/cb\"}",
		 &r);
	assert_null(r.error_code);
	assert_non_null(r.root); /* kept for the route */
	assert_string_equal(
	    YAJL_GET_STRING(yajl_tree_get(r.root, (const char *[]){"type", NULL}, yajl_t_string)),
	    "video");
	fb_simreq_release(&r);
	assert_null(r.root);

	/* Every problem is named, in the body's order, then the missing ones. */
	parse_as(FB_SIMREQ_GENERATION,
		 "{\"type\":\"t2i\",\"prompt\":\"\",\"workspace_id\":\"ws_\",\"model\":\"\","
		 "\"params\":[],\"x\":1}",
		 &r);
	assert_string_equal(r.error_code, "input_validation_error");
	assert_null(r.root);
	static const char *const want[] = {"x",		 "type",  "prompt", "workspace_id",
					   "project_id", "model", "params"};
	assert_int_equal(r.nfields, 7);
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(r.fields[i].field, want[i]);
	assert_non_null(strstr(r.fields[1].message, "'image' | 'video' | 'audio' | 'text'"));
	fb_simreq_release(&r);

	/* /runs/technique: inputs is an object of strings, any ids. */
	parse_as(FB_SIMREQ_TOP_RUN,
		 "{\"technique_id\":\"tech_x\",\"workspace_id\":\"ws_a\",\"inputs\":{\"anything"
		 "\":\"v\",\"n\":1,\"o\":{}}}",
		 &r);
	assert_int_equal(r.nfields, 2);
	assert_string_equal(r.fields[0].field, "inputs.n");
	assert_string_equal(r.fields[1].field, "inputs.o");
	assert_string_equal(r.fields[1].message, "Expected string, received object");
	fb_simreq_release(&r);
	/* The nested route's body field is not part of another route's body. */
	parse_as(FB_SIMREQ_TOP_RUN,
		 "{\"technique_id\":\"x\",\"workspace_id\":\"ws_a\",\"inputs\":{},"
		 "\"idempotency_key\":\"k\"}",
		 &r);
	assert_int_equal(r.nfields, 2);
	assert_string_equal(r.fields[0].field, "idempotency_key");
	assert_string_equal(r.fields[1].field, "technique_id");
	assert_null(r.idempotency_key);
	fb_simreq_release(&r);
	parse_as(FB_SIMREQ_ASSET,
		 "{\"source\":\"signed-url\",\"workspace_id\":\"ws_a\",\"project_id\":\"prj_b\","
		 "\"folder\":\"f\",\"file_name\":\"a.png\",\"content_type\":\"image/png\"}",
		 &r);
	assert_null(r.error_code);
	fb_simreq_release(&r);
	parse_as(FB_SIMREQ_ASSET, "{\"source\":1}", &r);
	assert_int_equal(r.nfields, 2);
	assert_string_equal(r.fields[0].message, "Expected string, received number");
	fb_simreq_release(&r);
}

static void test_prefixes(void **state)
{
	(void)state;
	assert_true(fb_simreq_has_prefix("ws_a", "ws_"));
	assert_true(fb_simreq_has_prefix("ws_abc-123_x", "ws_"));
	assert_false(fb_simreq_has_prefix("ws_", "ws_"));
	assert_false(fb_simreq_has_prefix("abc", "ws_"));
	assert_false(fb_simreq_has_prefix("WS_abc", "ws_"));
	assert_false(fb_simreq_has_prefix("ws_a b", "ws_"));
	assert_false(fb_simreq_has_prefix("ws_a\n", "ws_"));
	assert_false(fb_simreq_has_prefix("prj_x", "ws_"));
}

static void test_query(void **state)
{
	(void)state;
	struct fb_simquery q;
	assert_int_equal(
	    fb_simreq_query("/x?limit=5&cursor=cDo%3D&q=a+b%20c&flag&&limit=7#frag", &q), 0);
	assert_string_equal(fb_simquery_get(&q, "limit"), "5"); /* the first wins */
	assert_string_equal(fb_simquery_get(&q, "cursor"), "cDo=");
	assert_string_equal(fb_simquery_get(&q, "q"), "a b c");
	assert_string_equal(fb_simquery_get(&q, "flag"), "");
	assert_null(fb_simquery_get(&q, "frag"));
	assert_null(fb_simquery_get(&q, "missing"));
	fb_simquery_release(&q);
	assert_int_equal(fb_simreq_query("/x", &q), 0);
	assert_int_equal(q.n, 0);
	assert_null(fb_simquery_get(&q, "limit"));
	fb_simquery_release(&q);
	/* More pairs than kept: the rest are dropped, not overrun. */
	char many[1024] = "/x?";
	for (int i = 0; i < 40; i++)
		sprintf(many + strlen(many), "k%d=%d&", i, i);
	assert_int_equal(fb_simreq_query(many, &q), 0);
	assert_int_equal(q.n, FB_SIMQUERY_MAX);
	assert_string_equal(fb_simquery_get(&q, "k15"), "15");
	assert_null(fb_simquery_get(&q, "k16"));
	fb_simquery_release(&q);
}

static void test_split_path(void **state)
{
	(void)state;
	const char *base = "sim://api/v1";
	char *mem, *seg[6];
	assert_int_equal(fb_simreq_split_path(base, "/techniques/a%20b/runs?x=/y#z", &mem, seg, 6),
			 3);
	assert_string_equal(seg[0], "techniques");
	assert_string_equal(seg[1], "a b");
	assert_string_equal(seg[2], "runs");
	free(mem);
	assert_int_equal(fb_simreq_split_path(base, "sim://api/v1/runs/r", &mem, seg, 6), 2);
	assert_string_equal(seg[1], "r");
	free(mem);
	/* %00 and malformed escapes stay as they are. */
	assert_int_equal(fb_simreq_split_path(base, "/a%00/b%zz/c%4", &mem, seg, 6), 3);
	assert_string_equal(seg[0], "a%00");
	assert_string_equal(seg[1], "b%zz");
	assert_string_equal(seg[2], "c%4");
	free(mem);
	static const char *const none[] = {
	    "",	      "runs/r", "sim://api/v1x/runs/r", "http://h/api/v1/runs",
	    "/runs/", "//runs", "/a/b/c/d/e/f/g"};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		assert_int_equal(fb_simreq_split_path(base, none[i], &mem, seg, 6), 0);
		free(mem);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_digest_ignores_order_space_and_key),
	    cmocka_unit_test(test_digest_is_of_the_canonical_form),
	    cmocka_unit_test(test_body_need_not_be_terminated),
	    cmocka_unit_test(test_fields_and_message),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_split_path),
	    cmocka_unit_test(test_other_bodies),
	    cmocka_unit_test(test_prefixes),
	    cmocka_unit_test(test_query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
