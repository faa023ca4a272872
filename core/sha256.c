/* sha256: streaming SHA-256 over libcrypto's EVP interface. */
#include "sha256.h"
#include "error.h"

#include <openssl/evp.h>
#include <stdlib.h>

struct fb_sha256 {
	EVP_MD_CTX *ctx;
	/* EVP forbids updates after final; a flag turns that misuse into FB_ESTATE. */
	int finished;
};

struct fb_sha256 *fb_sha256_new(void)
{
	struct fb_sha256 *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || fb_sha256_reset(h)) {
		fb_sha256_free(h);
		return NULL;
	}
	return h;
}

int fb_sha256_reset(struct fb_sha256 *h)
{
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		return FB_ENOMEM;
	h->finished = 0;
	return 0;
}

int fb_sha256_update(struct fb_sha256 *h, const void *data, size_t len)
{
	if (h->finished)
		return FB_ESTATE;
	if (len == 0)
		return 0;
	return EVP_DigestUpdate(h->ctx, data, len) == 1 ? 0 : FB_ENOMEM;
}

int fb_sha256_final_hex(struct fb_sha256 *h, char hex[FB_SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (h->finished)
		return FB_ESTATE;
	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n * 2 != FB_SHA256_HEX_LEN)
		return FB_ENOMEM;
	h->finished = 1;
	for (unsigned int i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[FB_SHA256_HEX_LEN] = '\0';
	return 0;
}

void fb_sha256_free(struct fb_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int fb_sha256_hex(const void *data, size_t len, char hex[FB_SHA256_HEX_LEN + 1])
{
	struct fb_sha256 *h = fb_sha256_new();
	if (!h)
		return FB_ENOMEM;
	int rc = fb_sha256_update(h, data, len);
	if (!rc)
		rc = fb_sha256_final_hex(h, hex);
	fb_sha256_free(h);
	return rc;
}
