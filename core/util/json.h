/*
 * json: small helpers over yajl shared by every module that reads or writes
 * JSON: a generator set up the project's way, string emission that never
 * writes invalid UTF-8, faithful re-emission of parsed trees, and typed
 * lookups in parsed objects. Generation helpers return 0, or FB_EPARSE when
 * yajl refuses the call (wrong place for a key, depth over 128) and
 * FB_ENOMEM when memory runs out.
 */
#ifndef FB_JSON_H
#define FB_JSON_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/*
 * A compact generator that validates UTF-8, so a string that slipped past
 * the sanitising helpers is refused instead of written. NULL when out of
 * memory. Caller frees with yajl_gen_free.
 */
yajl_gen fb_json_gen_new(void);

/* Maps a yajl generator status to 0 or an FB_E* code. */
int fb_json_gen_status(yajl_gen_status st);

/* A string value; NULL emits null; ill-formed UTF-8 is replaced with U+FFFD. */
int fb_json_gen_str(yajl_gen g, const char *s);
/* The same for len bytes (s may hold no NUL; NULL emits null). */
int fb_json_gen_strn(yajl_gen g, const char *s, size_t len);
/* A map key (must not be NULL); sanitised like fb_json_gen_str. */
int fb_json_gen_key(yajl_gen g, const char *key);
/* Exact integers: yajl_gen_integer stops at LLONG_MAX, these do not. */
int fb_json_gen_u64(yajl_gen g, uint64_t v);
int fb_json_gen_i64(yajl_gen g, int64_t v);
/*
 * The shortest decimal that reads back as the same double (0.1, not
 * yajl_gen_double's 0.10000000000000000555); NaN and infinities emit null.
 */
int fb_json_gen_double(yajl_gen g, double v);

/*
 * Emits a parsed value (v NULL: null). Numbers are re-emitted from the text
 * they were parsed from, so 12345678901234567890 and 1.5e300 come out as
 * they went in; object keys keep their order; strings are sanitised.
 */
int fb_json_gen_val(yajl_gen g, yajl_val v);

/* Appends everything generated so far to out and clears the generator's buffer. */
int fb_json_gen_take(yajl_gen g, struct fb_buf *out);

/*
 * UTF-8 per RFC 3629 (no overlong forms, no surrogates, nothing past
 * U+10FFFF). fb_json_utf8_next looks at the character starting at s (n > 0):
 * it returns how many bytes it takes and sets *valid to 1, or, when the
 * bytes are ill-formed, sets *valid to 0 and returns the length of the
 * ill-formed run to replace by one U+FFFD (Unicode's "maximal subpart"
 * rule, at least 1).
 */
size_t fb_json_utf8_next(const char *s, size_t n, int *valid);
/* Whether s[0..n) is well-formed UTF-8. */
int fb_json_utf8_valid(const char *s, size_t n);
/* Appends s[0..n) to out with every ill-formed run replaced by U+FFFD. 0 or FB_ENOMEM. */
int fb_json_utf8_sanitize(struct fb_buf *out, const char *s, size_t n);

/*
 * Whether s[0..n) nests objects and arrays at most max levels deep
 * (brackets inside strings do not count). Run it before yajl_tree_parse,
 * which builds and frees its tree recursively, on text from outside.
 */
int fb_json_depth_ok(const char *s, size_t n, unsigned max);

/*
 * Lookups in a parsed object (one key, not a path). Results are borrowed
 * from obj. A missing key, a non-object obj or a value of another type
 * gives NULL (or FB_EINVAL from the typed getters, *out untouched).
 */
yajl_val fb_json_get(yajl_val obj, const char *key);
const char *fb_json_get_str(yajl_val obj, const char *key);
/* An integer that fits int64_t (1.0 and 1e3 are not integers here). */
int fb_json_get_i64(yajl_val obj, const char *key, int64_t *out);
/* Any number. */
int fb_json_get_double(yajl_val obj, const char *key, double *out);
/* true or false. */
int fb_json_get_bool(yajl_val obj, const char *key, int *out);

#endif
