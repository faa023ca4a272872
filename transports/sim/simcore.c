/* simcore: hashing, ids, the hash index and answer helpers shared by the simulator's parts. */
#include "simcore.h"
#include "error.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const fb_sim_media_type[] = {"imageUrl", "videoUrl", "audioUrl", "text"};
const char *const fb_sim_media_ext[] = {"png", "mp4", "wav", "txt"};
const char *const fb_sim_media_ctype[] = {"image/png", "video/mp4", "audio/wav",
					  "text/plain; charset=utf-8"};

/* splitmix64's finaliser. */
uint64_t fb_sim_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t fb_sim_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return fb_sim_mix64(h);
}

double fb_sim_unit(uint64_t h)
{
	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

void fb_sim_make_id(char *dst, const char *prefix, uint64_t h)
{
	static const char alnum[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	size_t p = strlen(prefix);
	memcpy(dst, prefix, p);
	for (size_t i = 0; i < SIM_ID_CHARS; i++) {
		if (i % 10 == 0) /* 36^10 < 2^64: ten digits per 64-bit draw */
			h = fb_sim_mix64(h + i);
		dst[p + i] = alnum[h % 36];
		h /= 36;
	}
	dst[p + SIM_ID_CHARS] = '\0';
}

int fb_sim_sha256(const struct fb_simmodel *m, const void *data, size_t len,
		  unsigned char out[SIM_DIGEST])
{
	unsigned int n = 0;
	return EVP_Digest(data, len, out, &n, m->sha256, NULL) && n == SIM_DIGEST ? 0 : FB_ENOMEM;
}

void fb_sim_iso8601(uint64_t wall_ms, char out[32])
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm)) {
		strcpy(out, "1970-01-01T00:00:00.000Z");
		return;
	}
	size_t n = strlen(out);
	snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(wall_ms % 1000));
}

/* ---- index ---- */

static void ix_place(struct fb_simix_ent *e, size_t cap, uint64_t h, uint32_t slot)
{
	size_t i = h & (cap - 1);
	while (e[i].slot)
		i = (i + 1) & (cap - 1);
	e[i].h = h;
	e[i].slot = slot;
}

int fb_simix_reserve(struct fb_simix *ix)
{
	if ((ix->n + 1) * 2 > ix->cap) { /* keep the load under one half */
		size_t cap = ix->cap ? ix->cap * 2 : 64;
		struct fb_simix_ent *e = calloc(cap, sizeof(*e));
		if (!e)
			return FB_ENOMEM;
		for (size_t i = 0; i < ix->cap; i++)
			if (ix->e[i].slot)
				ix_place(e, cap, ix->e[i].h, ix->e[i].slot);
		free(ix->e);
		ix->e = e;
		ix->cap = cap;
	}
	return 0;
}

void fb_simix_add(struct fb_simix *ix, uint64_t h, uint32_t idx)
{
	ix_place(ix->e, ix->cap, h, idx + 1);
	ix->n++;
}

long fb_simix_find(const struct fb_simix *ix, uint64_t h,
		   int (*eq)(const struct fb_simmodel *m, uint32_t idx, const void *want),
		   const struct fb_simmodel *m, const void *want)
{
	if (!ix->cap)
		return -1;
	for (size_t i = h & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
		const struct fb_simix_ent *e = &ix->e[i];
		if (!e->slot)
			return -1;
		if (e->h == h && eq(m, e->slot - 1, want))
			return (long)e->slot - 1;
	}
}

void fb_simix_remove(struct fb_simix *ix, uint64_t h, uint32_t idx)
{
	size_t mask = ix->cap - 1, i = h & mask;
	while (ix->e[i].slot != idx + 1)
		i = (i + 1) & mask;
	ix->e[i].slot = 0;
	ix->n--;
	/* Linear probing without tombstones: pull back what the hole would cut off. */
	for (size_t j = (i + 1) & mask; ix->e[j].slot; j = (j + 1) & mask) {
		size_t home = ix->e[j].h & mask;
		int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			ix->e[i] = ix->e[j];
			ix->e[j].slot = 0;
			i = j;
		}
	}
}

void fb_simix_release(struct fb_simix *ix)
{
	free(ix->e);
	memset(ix, 0, sizeof(*ix));
}

/* ---- answers ---- */

int fb_sim_json(struct fb_simresp *resp, int status, int rc)
{
	if (rc)
		return rc;
	resp->status = status;
	resp->content_type = "application/json";
	return 0;
}

int fb_sim_error(struct fb_simresp *resp, int status, const char *code, const char *fmt, ...)
{
	char msg[512]; /* long names are cut; the sanitising writer mends a cut character */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fb_buf_reset(&resp->body);
	return fb_sim_json(resp, status, fb_simanswer_error(code, msg, NULL, 0, &resp->body));
}

int fb_sim_field_error(struct fb_simresp *resp, const char *field, const char *why)
{
	struct fb_buf msg = FB_BUF_INIT;
	struct fb_simreq_field f = {(char *)field, (char *)why};
	int rc = fb_buf_addf(&msg, "%s: %s", field, why);
	if (!rc) {
		fb_buf_reset(&resp->body);
		rc = fb_sim_json(resp, 400,
				 fb_simanswer_error("input_validation_error", fb_buf_str(&msg), &f,
						    1, &resp->body));
	}
	fb_buf_release(&msg);
	return rc ? FB_ENOMEM : 0;
}

int fb_sim_invalid(struct fb_simresp *resp, const struct fb_simreq *rq)
{
	fb_buf_reset(&resp->body);
	return fb_sim_json(
	    resp, 400,
	    fb_simanswer_error(rq->error_code, rq->message, rq->fields, rq->nfields, &resp->body));
}

int fb_sim_not_found(struct fb_simresp *resp, const char *what, const char *name)
{
	return fb_sim_error(resp, 404, "not_found", "%s '%s' not found.", what, name);
}

/* ---- pagination ---- */

/* Cursors are opaque to clients: base64 of "p:<position>". */
void fb_sim_cursor(uint64_t pos, char out[32])
{
	char text[24];
	int n = snprintf(text, sizeof(text), "p:%llu", (unsigned long long)pos);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, n);
}

long long fb_sim_cursor_pos(const char *cursor)
{
	size_t n = strlen(cursor);
	unsigned char text[32];
	if (!n || n > 28 || n % 4)
		return -1;
	int len = EVP_DecodeBlock(text, (const unsigned char *)cursor, (int)n);
	while (len > 0 && cursor[n - 1] == '=') { /* EVP_DecodeBlock keeps the padding's zeros */
		len--;
		n--;
	}
	if (len < 3 || text[0] != 'p' || text[1] != ':')
		return -1;
	long long pos = 0;
	for (int i = 2; i < len; i++) {
		if (text[i] < '0' || text[i] > '9' || pos > 100000000000LL)
			return -1;
		pos = pos * 10 + (text[i] - '0');
	}
	return pos;
}

int fb_sim_limit(struct fb_simresp *resp, const char *text, size_t *limit, int *rc)
{
	*limit = 20;
	if (!text)
		return 0;
	size_t v = 0, i = 0;
	for (; text[i] >= '0' && text[i] <= '9' && v <= 1000; i++)
		v = v * 10 + (size_t)(text[i] - '0');
	if (i && !text[i] && v >= 1 && v <= 100) {
		*limit = v;
		return 0;
	}
	*rc =
	    fb_sim_field_error(resp, "limit",
			       i && !text[i] && v > 100 ? "Number must be less than or equal to 100"
			       : i && !text[i] ? "Number must be greater than or equal to 1"
					       : "Expected integer");
	return 1;
}

unsigned long fb_sim_hostile_from(const struct fb_simmodel *m, uint64_t seq)
{
	/* The creation number, so that consecutive runs walk through every hostile id. */
	return m->cfg.hostile_names ? (unsigned long)seq + 1 : 0;
}
