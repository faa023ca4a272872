/*
 * simoutputs: the bytes behind output URLs (GET /_sim/outputs/{run}/out_N),
 * made again on every download from the run id and output number: a PNG,
 * MP4-shaped bytes, a WAV or text, by the run's kind. Downloads are where
 * truncation and slowness faults happen. With hostile_names, outputs are
 * named and typed the way a careless or hostile API might. A forgotten
 * run's outputs are made from what its id says (simstore.c).
 */
#include "simcore.h"
#include "error.h"
#include "png.h"
#include "simmedia.h"

#include <stdlib.h>
#include <string.h>

/*
 * Which fault, if any, this download gets; the first truncation of an
 * output is also its last. A forgotten run (r NULL) has no memory of its
 * truncations, so its outputs are never truncated.
 */
static enum fb_sim_fault download_fault(struct fb_simmodel *m, struct fb_simrun *r, unsigned long n)
{
	uint64_t h = fb_sim_mix64(m->cfg.seed ^ SALT_DOWNLOAD ^ fb_sim_mix64(m->stats.requests));
	uint32_t bit = n <= 32 ? 1u << (n - 1) : 0;
	if (r && bit && !(r->truncated & bit) && fb_sim_unit(h) < m->cfg.fault_truncate_rate) {
		r->truncated |= bit;
		m->stats.truncated++;
		return FB_SIM_FAULT_TRUNCATE;
	}
	if (fb_sim_unit(fb_sim_mix64(h)) < m->cfg.fault_slow_rate)
		return FB_SIM_FAULT_SLOW;
	return FB_SIM_FAULT_NONE;
}

/* Per enum sim_media: a content type that is right but unusually spelled. */
static const char *const odd_ctype[] = {"image/png; charset=binary", "Video/MP4; codecs=avc1",
					"audio/wav; charset=binary", "text/plain;charset=UTF-8"};

/* Output n whose id is name (the route has decoded it), or 0. */
static unsigned long hostile_output(const struct fb_simmodel *m, unsigned long from,
				    const char *name, int *rc)
{
	struct fb_buf id = FB_BUF_INIT;
	unsigned long hit = 0;
	for (unsigned n = 1; n <= m->cfg.outputs_per_run && !hit; n++) {
		fb_buf_reset(&id);
		if ((*rc = fb_simanswer_output_id(from, n, &id)) != 0)
			break;
		if (!strcmp(fb_buf_str(&id), name))
			hit = n;
	}
	fb_buf_release(&id);
	return hit;
}

/*
 * The bytes of output n: from the run id and n alone, except a text
 * generation's, which quote the prompt kept with the run (r NULL: forgotten).
 */
static int output_bytes(struct fb_simmodel *m, const char *id, const struct fb_simrun_facts *f,
			const struct fb_simrun *r, unsigned long n, struct fb_buf *out)
{
	uint64_t seed = fb_sim_hash(id, strlen(id)) ^ fb_sim_mix64(n);
	switch (f->media) {
	case SIM_VIDEO:
		return fb_simmedia_mp4(seed, out);
	case SIM_AUDIO:
		return fb_simmedia_wav(seed, out);
	case SIM_TEXT: {
		struct fb_buf what = FB_BUF_INIT;
		int rc = f->kind == SIM_GENERATION
			     ? fb_buf_addf(&what, "Text for the prompt \"%s\"",
					   r && r->text ? r->text : "")
			     : fb_buf_addf(&what, "%s, output %lu",
					   fb_simcat_name((int)f->technique), n);
		if (!rc)
			rc = fb_simmedia_text(seed, fb_buf_str(&what), id, out);
		fb_buf_release(&what);
		return rc;
	}
	default:
		return fb_png_stamp(&m->png, seed, out);
	}
}

int fb_simoutputs_get(struct fb_simmodel *m, const char *id, const char *name,
		      struct fb_simresp *resp)
{
	m->stats.fetches++;
	struct fb_simrun *r = fb_simruns_find(m, id);
	struct fb_simrun_facts f;
	if (r) {
		f = (struct fb_simrun_facts){r->seq, r->kind, r->media, r->failed, r->technique};
	} else if (fb_simstore_read_id(m, id, &f) ||
		   (f.kind == SIM_GENERATION && f.media == SIM_TEXT)) {
		return fb_sim_not_found(resp, "Output", name);
	}
	char *end = NULL;
	unsigned long n = 0;
	int rc = 0, named = 0;
	if (m->cfg.hostile_names) {
		n = hostile_output(m, fb_sim_hostile_from(m, f.seq), name, &rc);
		if (rc)
			return FB_ENOMEM;
		named = n > 0;
	} else if (!strncmp(name, "out_", 4) && name[4] >= '1' && name[4] <= '9') {
		n = strtoul(name + 4, &end, 10);
		named = !*end || (*end == '.' && !strcmp(end + 1, fb_sim_media_ext[f.media]));
	}
	/* Outputs exist once their run has completed, not before; a forgotten run has ended. */
	int completed = r ? !strcmp(fb_simruns_status(m, r), "completed") : !f.failed;
	if (!named || n > m->cfg.outputs_per_run || !completed)
		return fb_sim_not_found(resp, "Output", name);
	if (output_bytes(m, id, &f, r, n, &resp->body))
		return FB_ENOMEM;
	if (m->cfg.output_bytes > resp->body.len) {
		resp->pad = m->cfg.output_bytes - resp->body.len;
		resp->pad_seed = f.seq * 31 + n;
	}
	resp->status = 200;
	resp->content_type = fb_sim_media_ctype[f.media];
	if (m->cfg.hostile_names) {
		unsigned long k = fb_sim_hostile_from(m, f.seq) - 1 + n - 1;
		if (k % 3 == 1)
			resp->content_type = "application/octet-stream";
		else if (k % 3 == 2)
			resp->content_type = odd_ctype[f.media];
	}
	resp->fault = download_fault(m, r, n);
	return 0;
}

void fb_simresp_filler(uint64_t seed, uint64_t at, char *out, size_t n)
{
	/* Cheap and position-addressed, so any range can be made on its own. */
	for (size_t i = 0; i < n; i++) {
		uint64_t x = (at + i) / 8 * 0x9e3779b97f4a7c15ull ^ seed;
		x ^= x >> 29;
		out[i] = (char)(x >> (8 * ((at + i) % 8)));
	}
}
