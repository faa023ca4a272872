/* simmedia: WAV, MP4-shaped and text bytes for simulated outputs. */
#include "simmedia.h"
#include "error.h"

#include <string.h>

static void le(unsigned char *p, uint32_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint64_t next(uint64_t *s)
{
	uint64_t x = (*s += 0x9e3779b97f4a7c15ULL);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int append(struct fb_buf *out, size_t keep, const void *p, size_t n)
{
	if (fb_buf_add(out, p, n)) {
		out->len = keep; /* back to what it held */
		if (out->ptr)
			out->ptr[keep] = '\0';
		return FB_ENOMEM;
	}
	return 0;
}

int fb_simmedia_wav(uint64_t seed, struct fb_buf *out)
{
	unsigned char h[44], pcm[FB_SIMMEDIA_WAV_SAMPLES];
	const uint32_t n = FB_SIMMEDIA_WAV_SAMPLES;
	memcpy(h, "RIFF", 4);
	le(h + 4, 36 + n, 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	le(h + 16, 16, 4);		     /* fmt chunk size */
	le(h + 20, 1, 2);		     /* PCM */
	le(h + 22, 1, 2);		     /* mono */
	le(h + 24, FB_SIMMEDIA_WAV_RATE, 4); /* sample rate */
	le(h + 28, FB_SIMMEDIA_WAV_RATE, 4); /* bytes per second */
	le(h + 32, 1, 2);		     /* block align */
	le(h + 34, 8, 2);		     /* bits per sample */
	memcpy(h + 36, "data", 4);
	le(h + 40, n, 4);
	/* A triangle wave whose period follows the seed: audible, and different per output. */
	uint64_t s = seed;
	unsigned period = 8 + (unsigned)(next(&s) % 56);
	for (uint32_t i = 0; i < n; i++) {
		unsigned ph = i % period, half = period / 2;
		unsigned v = ph < half ? ph * 96 / half : (period - ph) * 96 / half;
		pcm[i] = (unsigned char)(128 - 48 + v);
	}
	size_t keep = out->len;
	if (append(out, keep, h, sizeof(h)) || append(out, keep, pcm, n))
		return FB_ENOMEM;
	return 0;
}

int fb_simmedia_mp4(uint64_t seed, struct fb_buf *out)
{
	static const char brands[] = "isom\0\0\2\0isomiso2avc1mp41";
	unsigned char ftyp[8 + 24], freebox[8], mdat[8 + 256];
	be32(ftyp, sizeof(ftyp));
	memcpy(ftyp + 4, "ftyp", 4);
	memcpy(ftyp + 8, brands, 24); /* major brand, minor version 512, compatible brands */
	be32(freebox, sizeof(freebox));
	memcpy(freebox + 4, "free", 4);
	be32(mdat, sizeof(mdat));
	memcpy(mdat + 4, "mdat", 4);
	uint64_t s = seed;
	for (size_t i = 8; i < sizeof(mdat); i += 8) {
		uint64_t v = next(&s);
		memcpy(mdat + i, &v, 8);
	}
	size_t keep = out->len;
	if (append(out, keep, ftyp, sizeof(ftyp)) || append(out, keep, freebox, sizeof(freebox)) ||
	    append(out, keep, mdat, sizeof(mdat)))
		return FB_ENOMEM;
	return 0;
}

int fb_simmedia_text(uint64_t seed, const char *what, const char *id, struct fb_buf *out)
{
	static const char *const words[] = {"luminous", "quiet",  "bold",    "textured",
					    "warm",	"crisp",  "layered", "muted",
					    "vivid",	"grainy", "airy",    "balanced"};
	size_t keep = out->len;
	uint64_t s = seed;
	int rc = fb_buf_addf(out, "%s (%s)\n", what, id);
	for (int i = 0; i < 6 && !rc; i++)
		rc = fb_buf_addf(out, "%s%s", i ? " " : "", words[next(&s) % 12]);
	if (!rc)
		rc = fb_buf_addf(out, ".\n");
	if (rc) {
		out->len = keep;
		if (out->ptr)
			out->ptr[keep] = '\0';
		return FB_ENOMEM;
	}
	return 0;
}
