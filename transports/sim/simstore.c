/*
 * simstore: where the simulator keeps its runs, and for how long. Records
 * live in a pool whose slots are reused; a ring in creation order (a slot,
 * or 0 for a forgotten run) serves the list routes newest first and lets a
 * cursor resume by arithmetic. With a retention of N (cfg.retain_runs), a
 * run becomes forgettable once an answer has shown it terminal, and only
 * the N most recently shown stay: memory follows the runs still in play,
 * not every run ever made.
 *
 * Run ids carry what a forgotten run's outputs need: the creation number,
 * kind, output media, outcome and technique, behind a keyed permutation of
 * the seed (so they still look random) and a check that only this seed's
 * ids pass.
 */
#include "simcore.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

/* ---- ids ---- */

#define ID_BODY_DIGITS 13 /* 36^13 > 2^64 */
#define ID_TAG_DIGITS  7
#define SEQ_BITS       48

static const char alnum[] = "0123456789abcdefghijklmnopqrstuvwxyz";

/* A four-round Feistel permutation of 64 bits keyed by the seed, and its inverse. */
static uint64_t permute(uint64_t seed, uint64_t x, int inverse)
{
	uint32_t l = (uint32_t)(x >> 32), r = (uint32_t)x;
	for (int i = 0; i < 4; i++) {
		int k = inverse ? 3 - i : i;
		uint32_t f = (uint32_t)fb_sim_mix64(seed ^ SALT_RUN_ID ^ ((uint64_t)k << 56) ^
						    (inverse ? l : r));
		if (inverse) {
			uint32_t t = r;
			r = l;
			l = t ^ f;
		} else {
			uint32_t t = l ^ f;
			l = r;
			r = t;
		}
	}
	return (uint64_t)l << 32 | r;
}

static uint64_t tag_of(uint64_t seed, uint64_t body)
{
	uint64_t m = 1;
	for (int i = 0; i < ID_TAG_DIGITS; i++)
		m *= 36;
	return fb_sim_mix64(seed ^ SALT_RUN_TAG ^ fb_sim_mix64(body)) % m;
}

void fb_simstore_make_id(const struct fb_simmodel *m, const struct fb_simrun_facts *f,
			 char out[4 + SIM_ID_CHARS + 1])
{
	uint64_t payload =
	    f->seq | (uint64_t)f->kind << SEQ_BITS | (uint64_t)f->media << (SEQ_BITS + 1) |
	    (uint64_t)f->failed << (SEQ_BITS + 3) | (uint64_t)f->technique << (SEQ_BITS + 4);
	uint64_t body = permute(m->cfg.seed, payload, 0), tag = tag_of(m->cfg.seed, body);
	memcpy(out, "run_", 4);
	for (int i = ID_BODY_DIGITS - 1; i >= 0; i--, body /= 36)
		out[4 + i] = alnum[body % 36];
	for (int i = ID_TAG_DIGITS - 1; i >= 0; i--, tag /= 36)
		out[4 + ID_BODY_DIGITS + i] = alnum[tag % 36];
	out[4 + SIM_ID_CHARS] = '\0';
}

static int digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : -1;
}

int fb_simstore_read_id(const struct fb_simmodel *m, const char *id, struct fb_simrun_facts *f)
{
	if (strncmp(id, "run_", 4) || strlen(id) != 4 + SIM_ID_CHARS)
		return -1;
	uint64_t body = 0, tag = 0;
	for (int i = 0; i < ID_BODY_DIGITS; i++) {
		int d = digit(id[4 + i]);
		if (d < 0 || body > (UINT64_MAX - (uint64_t)d) / 36)
			return -1;
		body = body * 36 + (uint64_t)d;
	}
	for (int i = 0; i < ID_TAG_DIGITS; i++) {
		int d = digit(id[4 + ID_BODY_DIGITS + i]);
		if (d < 0)
			return -1;
		tag = tag * 36 + (uint64_t)d;
	}
	if (tag != tag_of(m->cfg.seed, body))
		return -1;
	uint64_t p = permute(m->cfg.seed, body, 1);
	f->seq = p & ((1ULL << SEQ_BITS) - 1);
	f->kind = (unsigned)(p >> SEQ_BITS) & 1;
	f->media = (unsigned)(p >> (SEQ_BITS + 1)) & 3;
	f->failed = (unsigned)(p >> (SEQ_BITS + 3)) & 1;
	f->technique = (unsigned)(p >> (SEQ_BITS + 4));
	if (f->seq >= m->store.next_seq || f->technique >= fb_simcat_count())
		return -1;
	return 0;
}

/* ---- the pool and the creation ring ---- */

/* Makes room for one more entry in a ring; a new ring starts unwrapped at 0. */
static int grow_ring(uint32_t **ring, size_t *cap, size_t *head, size_t n)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 64;
	uint32_t *r = malloc(nc * sizeof(*r));
	if (!r)
		return FB_ENOMEM;
	for (size_t i = 0; i < n; i++)
		r[i] = (*ring)[(*head + i) % *cap];
	free(*ring);
	*ring = r;
	*cap = nc;
	*head = 0;
	return 0;
}

int fb_simstore_reserve(struct fb_simmodel *m)
{
	struct fb_simstore *s = &m->store;
	if (!s->nfree && s->used == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		if (cap > UINT32_MAX - 1)
			return FB_ENOMEM;
		struct fb_simrun *runs = realloc(m->runs, cap * sizeof(*runs));
		if (!runs)
			return FB_ENOMEM;
		m->runs = runs;
		s->cap = cap;
	}
	/* Every slot can be free at once: forgetting never needs memory. */
	if (m->cfg.retain_runs && s->capfree < s->cap) {
		uint32_t *f = realloc(s->freelist, s->cap * sizeof(*f));
		if (!f)
			return FB_ENOMEM;
		s->freelist = f;
		s->capfree = s->cap;
	}
	return grow_ring(&s->order, &s->ocap, &s->ohead, s->on);
}

uint32_t fb_simstore_take(struct fb_simmodel *m)
{
	struct fb_simstore *s = &m->store;
	uint32_t slot = s->nfree ? s->freelist[--s->nfree] : (uint32_t)s->used++;
	memset(&m->runs[slot], 0, sizeof(m->runs[slot]));
	return slot;
}

void fb_simstore_append(struct fb_simmodel *m, uint32_t slot)
{
	struct fb_simstore *s = &m->store;
	if (!s->on)
		s->obase = m->runs[slot].seq;
	s->order[(s->ohead + s->on++) % s->ocap] = slot + 1;
	s->live[m->runs[slot].kind]++;
}

long fb_simstore_at(const struct fb_simmodel *m, uint64_t seq)
{
	const struct fb_simstore *s = &m->store;
	if (seq < s->obase || seq - s->obase >= s->on)
		return -1;
	uint32_t v = s->order[(s->ohead + (seq - s->obase)) % s->ocap];
	return v ? (long)v - 1 : -1;
}

/* ---- retention ---- */

static void forget(struct fb_simmodel *m, uint32_t slot)
{
	struct fb_simstore *s = &m->store;
	struct fb_simrun *r = &m->runs[slot];
	fb_simix_remove(&m->by_id, fb_sim_hash(r->id, strlen(r->id)), slot);
	if (r->has_key)
		fb_simix_remove(&m->by_key, fb_sim_hash(r->key_digest, SIM_DIGEST), slot);
	free(r->key);
	free(r->text);
	r->key = r->text = NULL;
	s->order[(s->ohead + (r->seq - s->obase)) % s->ocap] = 0;
	while (s->on && !s->order[s->ohead]) { /* the oldest end moves past the forgotten */
		s->ohead = (s->ohead + 1) % s->ocap;
		s->on--;
		s->obase++;
	}
	s->live[r->kind]--;
	s->forgotten++;
	s->freelist[s->nfree++] = slot;
}

int fb_simstore_shown_terminal(struct fb_simmodel *m, struct fb_simrun *r)
{
	struct fb_simstore *s = &m->store;
	if (!m->cfg.retain_runs || r->shown_terminal)
		return 0;
	if (grow_ring(&s->shown, &s->scap, &s->shead, s->sn))
		return FB_ENOMEM;
	r->shown_terminal = 1;
	s->shown[(s->shead + s->sn++) % s->scap] = (uint32_t)(r - m->runs);
	return 0;
}

void fb_simstore_reap(struct fb_simmodel *m)
{
	struct fb_simstore *s = &m->store;
	while (m->cfg.retain_runs && s->sn > m->cfg.retain_runs) {
		uint32_t slot = s->shown[s->shead];
		s->shead = (s->shead + 1) % s->scap;
		s->sn--;
		forget(m, slot);
	}
}

void fb_simstore_release(struct fb_simmodel *m)
{
	struct fb_simstore *s = &m->store;
	for (size_t k = 0; k < s->on; k++) {
		uint32_t v = s->order[(s->ohead + k) % s->ocap];
		if (v) {
			free(m->runs[v - 1].key);
			free(m->runs[v - 1].text);
		}
	}
	free(m->runs);
	m->runs = NULL;
	free(s->order);
	free(s->shown);
	free(s->freelist);
	memset(s, 0, sizeof(*s));
}
