/* utf8: UTF-8 validation and boundary-safe clipping. */
#include "utf8.h"

/* The length of the well-formed sequence at s (0 if bad, -1 if cut off by the end). */
static int seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	int len;
	unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return 0;
	}
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= avail)
			return -1;
		unsigned char lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xBF;
		if (s[i] < lo_i || s[i] > hi_i)
			return 0;
	}
	return len;
}

int fb_utf8_valid(const char *s, size_t n, int truncated_ok, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		int len = seq_len(p + i, n - i);
		if (len > 0) {
			i += (size_t)len;
			continue;
		}
		if (len < 0 && truncated_ok)
			return 1;
		if (bad)
			*bad = i;
		return 0;
	}
	return 1;
}

size_t fb_utf8_clip(const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;

	if (n <= max)
		return n;
	/* Back off continuation bytes so the cut lands before a lead byte. */
	size_t cut = max;
	while (cut > 0 && (p[cut] & 0xC0) == 0x80)
		cut--;
	return cut;
}
