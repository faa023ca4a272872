/* sha256: streaming SHA-256 over OpenSSL's libcrypto (EVP), with hex output. */
#ifndef FB_SHA256_H
#define FB_SHA256_H

#include <stddef.h>

#define FB_SHA256_HEX_LEN 64

struct fb_sha256;

/* Caller frees with fb_sha256_free. NULL when out of memory. */
struct fb_sha256 *fb_sha256_new(void);
/* Starts over, so one context can hash many streams. */
int fb_sha256_reset(struct fb_sha256 *h);
int fb_sha256_update(struct fb_sha256 *h, const void *data, size_t len);
/* Writes 64 lowercase hex digits and a NUL into hex; the context needs a reset before reuse. */
int fb_sha256_final_hex(struct fb_sha256 *h, char hex[FB_SHA256_HEX_LEN + 1]);
void fb_sha256_free(struct fb_sha256 *h);

/* One-shot convenience. 0 or FB_ENOMEM. */
int fb_sha256_hex(const void *data, size_t len, char hex[FB_SHA256_HEX_LEN + 1]);

#endif
