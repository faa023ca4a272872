/*
 * apifx: what the api tests share. Include after cmocka.h.
 */
#ifndef FB_APIFX_H
#define FB_APIFX_H

#include <string.h>
#include <yajl/yajl_gen.h>

/* A message must be one line of valid UTF-8, whatever the answer held. */
static inline void assert_clean_line(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		assert_true(*p >= 0x20 && *p != 0x7F);
	yajl_gen g = yajl_gen_alloc(NULL);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	assert_int_equal(yajl_gen_string(g, (const unsigned char *)s, strlen(s)),
			 yajl_gen_status_ok);
	yajl_gen_free(g);
}

#endif
