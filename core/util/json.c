/* json: yajl generator helpers, UTF-8 sanitising and typed tree lookups. */
#include "json.h"
#include "error.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

yajl_gen fb_json_gen_new(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return NULL;
	/* Compact is yajl's default; beautify stays off so one value is one line. */
	yajl_gen_config(g, yajl_gen_beautify, 0);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

int fb_json_gen_status(yajl_gen_status st)
{
	return st == yajl_gen_status_ok ? 0 : FB_EPARSE;
}

size_t fb_json_utf8_next(const char *s, size_t n, int *valid)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	*valid = 0;
	if (c < 0x80) {
		*valid = 1;
		return 1;
	}
	/* Unicode Table 3-7: the lead byte fixes the length and the second byte's range. */
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c == 0xe0) {
		need = 2;
		lo = 0xa0;
	} else if (c == 0xed) {
		need = 2;
		hi = 0x9f;
	} else if (c >= 0xe1 && c <= 0xef) {
		need = 2;
	} else if (c == 0xf0) {
		need = 3;
		lo = 0x90;
	} else if (c == 0xf4) {
		need = 3;
		hi = 0x8f;
	} else if (c >= 0xf1 && c <= 0xf3) {
		need = 3;
	} else {
		return 1;
	}
	for (i = 1; i <= need && i < n; i++) {
		unsigned char b = p[i];
		if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
			break;
	}
	if (i == need + 1)
		*valid = 1;
	return i;
}

int fb_json_utf8_valid(const char *s, size_t n)
{
	size_t i = 0;
	int ok;
	while (i < n) {
		/* Most text is ASCII: eight bytes at a time while no high bit is set. */
		while (n - i >= 8) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i == n)
			break;
		if (!((unsigned char)s[i] & 0x80)) {
			i++;
			continue;
		}
		i += fb_json_utf8_next(s + i, n - i, &ok);
		if (!ok)
			return 0;
	}
	return 1;
}

int fb_json_utf8_sanitize(struct fb_buf *out, const char *s, size_t n)
{
	static const char replacement[] = "\xef\xbf\xbd";
	size_t i = 0, start = 0;
	int ok;

	/* Worst case each bad byte triples; grow once so a failure leaves out unchanged. */
	if (n > ((size_t)-1) / 3 || fb_buf_grow(out, n * 3))
		return FB_ENOMEM;
	while (i < n) {
		size_t k = fb_json_utf8_next(s + i, n - i, &ok);
		if (!ok) {
			fb_buf_add(out, s + start, i - start);
			fb_buf_add(out, replacement, 3);
			start = i + k;
		}
		i += k;
	}
	fb_buf_add(out, s + start, n - start);
	return 0;
}

/*
 * The string is checked here, so yajl's own check (the net for strings
 * handed to the generator directly) is off for this one call: a second pass
 * over every string was a tenth of a results line's cost.
 */
static int gen_checked(yajl_gen g, const char *s, size_t len)
{
	yajl_gen_config(g, yajl_gen_validate_utf8, 0);
	yajl_gen_status st = yajl_gen_string(g, (const unsigned char *)s, len);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return fb_json_gen_status(st);
}

static int gen_string(yajl_gen g, const char *s, size_t len)
{
	if (fb_json_utf8_valid(s, len))
		return gen_checked(g, s, len);
	struct fb_buf clean = FB_BUF_INIT;
	int rc = fb_json_utf8_sanitize(&clean, s, len);
	if (!rc)
		rc = gen_checked(g, fb_buf_str(&clean), clean.len);
	fb_buf_release(&clean);
	return rc;
}

int fb_json_gen_strn(yajl_gen g, const char *s, size_t len)
{
	if (!s)
		return fb_json_gen_status(yajl_gen_null(g));
	return gen_string(g, s, len);
}

int fb_json_gen_str(yajl_gen g, const char *s)
{
	return fb_json_gen_strn(g, s, s ? strlen(s) : 0);
}

int fb_json_gen_key(yajl_gen g, const char *key)
{
	if (!key)
		return FB_EPARSE;
	return gen_string(g, key, strlen(key));
}

/* Decimal digits of v, right-aligned before end; returns where they start. */
static char *u64_digits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

int fb_json_gen_u64(yajl_gen g, uint64_t v)
{
	char num[24], *end = num + sizeof(num);
	char *p = u64_digits(end, v);
	return fb_json_gen_status(yajl_gen_number(g, p, (size_t)(end - p)));
}

int fb_json_gen_i64(yajl_gen g, int64_t v)
{
	char num[24], *end = num + sizeof(num);
	/* Negated as unsigned, so INT64_MIN has a magnitude too. */
	char *p = u64_digits(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	return fb_json_gen_status(yajl_gen_number(g, p, (size_t)(end - p)));
}

/*
 * What the %.*g search below prints, for the common money-like values
 * (up to 15 significant digits, at most 9 decimals, no exponent), without
 * printf: v is m / 10^k for the smallest k that gives back v exactly. At 15
 * digits or fewer two decimals never round to one double (DBL_DIG), so m's
 * digits are the shortest ones %g would find, and %g prints them without an
 * exponent when the leading digit's place is between 10^-4 and the
 * precision. 0 when v is not of that form: the caller searches.
 */
static size_t short_decimal(double v, char *out)
{
	static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
	double a = v < 0 ? -v : v;
	if (!(a >= 1e-4 && a < 1e15))
		return 0;
	for (int k = 0; k <= 9; k++) {
		double scaled = a * pow10[k];
		if (scaled >= 1e15)
			return 0;
		uint64_t m = (uint64_t)(scaled + 0.5);
		if ((double)m / pow10[k] != a)
			continue;
		/* A whole number ending in 0 is printed 1e+01-style by %g: leave it to the search.
		 */
		if (m % 10 == 0)
			return 0;
		char digits[24], *end = digits + sizeof(digits);
		char *d = u64_digits(end, m);
		size_t nd = (size_t)(end - d), n = 0;
		if (v < 0)
			out[n++] = '-';
		if (nd <= (size_t)k) {
			out[n++] = '0';
			out[n++] = '.';
			for (size_t z = nd; z < (size_t)k; z++)
				out[n++] = '0';
			memcpy(out + n, d, nd);
			n += nd;
		} else {
			memcpy(out + n, d, nd - (size_t)k);
			n += nd - (size_t)k;
			if (k) {
				out[n++] = '.';
				memcpy(out + n, end - k, (size_t)k);
				n += (size_t)k;
			}
		}
		return n;
	}
	return 0;
}

int fb_json_gen_double(yajl_gen g, double v)
{
	char num[40];
	int n = 0;

	if (!isfinite(v))
		return fb_json_gen_status(yajl_gen_null(g));
	size_t fast = short_decimal(v, num);
	if (fast)
		return fb_json_gen_status(yajl_gen_number(g, num, fast));
	/* 17 significant digits always round-trip; stop at the first shorter form that does. */
	for (int prec = 1; prec <= 17; prec++) {
		n = snprintf(num, sizeof(num), "%.*g", prec, v);
		if (strtod(num, NULL) == v)
			break;
	}
	return fb_json_gen_status(yajl_gen_number(g, num, (size_t)n));
}

int fb_json_gen_val(yajl_gen g, yajl_val v)
{
	int rc;

	if (!v)
		return fb_json_gen_status(yajl_gen_null(g));
	switch (v->type) {
	case yajl_t_string:
		return fb_json_gen_str(g, v->u.string);
	case yajl_t_number:
		if (v->u.number.r)
			return fb_json_gen_status(
			    yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r)));
		if (v->u.number.flags & YAJL_NUMBER_INT_VALID)
			return fb_json_gen_i64(g, v->u.number.i);
		return fb_json_gen_double(g, v->u.number.d);
	case yajl_t_object:
		/* yajl refuses to open past its depth limit, which bounds this recursion. */
		if ((rc = fb_json_gen_status(yajl_gen_map_open(g))))
			return rc;
		for (size_t i = 0; i < v->u.object.len; i++) {
			if ((rc = fb_json_gen_key(g, v->u.object.keys[i])) ||
			    (rc = fb_json_gen_val(g, v->u.object.values[i])))
				return rc;
		}
		return fb_json_gen_status(yajl_gen_map_close(g));
	case yajl_t_array:
		if ((rc = fb_json_gen_status(yajl_gen_array_open(g))))
			return rc;
		for (size_t i = 0; i < v->u.array.len; i++)
			if ((rc = fb_json_gen_val(g, v->u.array.values[i])))
				return rc;
		return fb_json_gen_status(yajl_gen_array_close(g));
	case yajl_t_true:
		return fb_json_gen_status(yajl_gen_bool(g, 1));
	case yajl_t_false:
		return fb_json_gen_status(yajl_gen_bool(g, 0));
	case yajl_t_null:
		return fb_json_gen_status(yajl_gen_null(g));
	default:
		return FB_EPARSE;
	}
}

int fb_json_gen_take(yajl_gen g, struct fb_buf *out)
{
	const unsigned char *text = NULL;
	size_t len = 0;
	int rc = fb_json_gen_status(yajl_gen_get_buf(g, &text, &len));
	if (rc)
		return rc;
	if (fb_buf_add(out, text, len))
		return FB_ENOMEM;
	yajl_gen_clear(g);
	return 0;
}

yajl_val fb_json_get(yajl_val obj, const char *key)
{
	if (!obj || !key || !YAJL_IS_OBJECT(obj))
		return NULL;
	/* The last of duplicate keys wins, as in most JSON readers. */
	for (size_t i = obj->u.object.len; i-- > 0;)
		if (obj->u.object.keys[i] && !strcmp(obj->u.object.keys[i], key))
			return obj->u.object.values[i];
	return NULL;
}

const char *fb_json_get_str(yajl_val obj, const char *key)
{
	yajl_val v = fb_json_get(obj, key);
	return YAJL_IS_STRING(v) ? v->u.string : NULL;
}

int fb_json_get_i64(yajl_val obj, const char *key, int64_t *out)
{
	yajl_val v = fb_json_get(obj, key);
	if (!YAJL_IS_INTEGER(v))
		return FB_EINVAL;
	*out = (int64_t)v->u.number.i;
	return 0;
}

int fb_json_get_double(yajl_val obj, const char *key, double *out)
{
	yajl_val v = fb_json_get(obj, key);
	if (!YAJL_IS_NUMBER(v))
		return FB_EINVAL;
	/* 1e400 is valid JSON but neither a finite double nor an integer. */
	if (v->u.number.flags & YAJL_NUMBER_DOUBLE_VALID)
		*out = v->u.number.d;
	else if (v->u.number.flags & YAJL_NUMBER_INT_VALID)
		*out = (double)v->u.number.i;
	else
		return FB_EINVAL;
	return 0;
}

int fb_json_get_bool(yajl_val obj, const char *key, int *out)
{
	yajl_val v = fb_json_get(obj, key);
	if (YAJL_IS_TRUE(v))
		*out = 1;
	else if (YAJL_IS_FALSE(v))
		*out = 0;
	else
		return FB_EINVAL;
	return 0;
}

int fb_json_depth_ok(const char *s, size_t n, unsigned max)
{
	unsigned depth = 0;
	int in_str = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return 0;
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
	}
	return 1;
}
