/*
 * utf8: UTF-8 well-formedness checks for manifest text. Manifest values end
 * up in JSON request bodies and result lines, which must be valid UTF-8, so
 * a bad byte is caught where it is read, with a message naming the field.
 */
#ifndef FB_UTF8_H
#define FB_UTF8_H

#include <stddef.h>

/*
 * Whether s[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). NUL bytes are valid UTF-8 here.
 * A sequence cut off by the end of s counts as valid when truncated_ok
 * (for checking the start of a longer stream). On failure, *bad (when not
 * NULL) gets the offset of the first byte of the bad sequence.
 */
int fb_utf8_valid(const char *s, size_t n, int truncated_ok, size_t *bad);

/* The longest prefix of s[0..n) of at most max bytes that ends on a character boundary. */
size_t fb_utf8_clip(const char *s, size_t n, size_t max);

#endif
