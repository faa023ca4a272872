/* sha256: streaming SHA-256 over libcrypto's EVP interface. */
#include "sha256.h"
#include "error.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>

/*
 * EVP_sha256() makes every EVP_DigestInit_ex look the algorithm up in the
 * provider store again (a lock and a name search: most of a short hash's
 * cost, and the engine hashes a few short strings per item). The fetched
 * method is looked up once per process and only read afterwards; it is
 * never freed, like the provider that holds it.
 */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256_method(void)
{
	pthread_once(&sha256_once, fetch_sha256);
	return sha256_md ? sha256_md : EVP_sha256();
}

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
	if (EVP_DigestInit_ex(h->ctx, sha256_method(), NULL) != 1)
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
