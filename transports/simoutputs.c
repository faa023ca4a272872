/*
 * simoutputs: the bytes behind output URLs (GET /_sim/outputs/{run}/out_N),
 * made again on every download from the run id and output number: a PNG,
 * MP4-shaped bytes, a WAV or text, by the run's kind. Downloads are where
 * truncation and slowness faults happen. With hostile_names, outputs are
 * named and typed the way a careless or hostile API might.
 */
#include "simcore.h"
#include "error.h"
#include "png.h"
#include "simmedia.h"

#include <stdlib.h>
#include <string.h>

/* Which fault, if any, this download gets; the first truncation of an output is also its last. */
static enum fb_sim_fault download_fault(struct fb_simmodel *m, struct fb_simrun *r, unsigned long n)
{
	uint64_t h = fb_sim_mix64(m->cfg.seed ^ SALT_DOWNLOAD ^ fb_sim_mix64(m->stats.requests));
	uint32_t bit = n <= 32 ? 1u << (n - 1) : 0;
	if (bit && !(r->truncated & bit) && fb_sim_unit(h) < m->cfg.fault_truncate_rate) {
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

unsigned long fb_simoutputs_hostile_from(const struct fb_simmodel *m, const struct fb_simrun *r)
{
	/* The creation index, so that consecutive runs walk through every hostile id. */
	return m->cfg.hostile_names ? (unsigned long)(r - m->runs) + 1 : 0;
}

/* Output n of r whose id is name (the route has decoded it), or 0. */
static unsigned long hostile_output(const struct fb_simmodel *m, const struct fb_simrun *r,
				    const char *name, int *rc)
{
	struct fb_buf id = FB_BUF_INIT;
	unsigned long hit = 0, from = fb_simoutputs_hostile_from(m, r);
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

int fb_simoutputs_get(struct fb_simmodel *m, const char *id, const char *name,
		      struct fb_simresp *resp)
{
	m->stats.fetches++;
	struct fb_simrun *r = fb_simruns_find(m, id);
	char *end = NULL;
	unsigned long n = 0;
	int rc = 0, named = 0;
	if (r && m->cfg.hostile_names) {
		n = hostile_output(m, r, name, &rc);
		if (rc)
			return FB_ENOMEM;
		named = n > 0;
	} else if (!strncmp(name, "out_", 4) && name[4] >= '1' && name[4] <= '9') {
		n = strtoul(name + 4, &end, 10);
		named =
		    !*end || (*end == '.' && !strcmp(end + 1, fb_sim_media_ext[r ? r->media : 0]));
	}
	/* Outputs exist once their run has completed, not before. */
	if (!r || !named || n > m->cfg.outputs_per_run ||
	    strcmp(fb_simruns_status(m, r), "completed"))
		return fb_sim_not_found(resp, "Output", name);
	uint64_t seed = fb_sim_hash(r->id, strlen(r->id)) ^ fb_sim_mix64(n);
	switch (r->media) {
	case SIM_VIDEO:
		rc = fb_simmedia_mp4(seed, &resp->body);
		break;
	case SIM_AUDIO:
		rc = fb_simmedia_wav(seed, &resp->body);
		break;
	case SIM_TEXT: {
		struct fb_buf what = FB_BUF_INIT;
		rc = r->kind == SIM_GENERATION
			 ? fb_buf_addf(&what, "Text for the prompt \"%s\"", r->text ? r->text : "")
			 : fb_buf_addf(&what, "%s, output %lu", fb_simcat_name(r->technique), n);
		if (!rc)
			rc = fb_simmedia_text(seed, fb_buf_str(&what), r->id, &resp->body);
		fb_buf_release(&what);
		break;
	}
	default:
		rc = fb_png_stamp(&m->png, seed, &resp->body);
	}
	if (rc)
		return FB_ENOMEM;
	resp->status = 200;
	resp->content_type = fb_sim_media_ctype[r->media];
	if (m->cfg.hostile_names) {
		unsigned long k = fb_simoutputs_hostile_from(m, r) - 1 + n - 1;
		if (k % 3 == 1)
			resp->content_type = "application/octet-stream";
		else if (k % 3 == 2)
			resp->content_type = odd_ctype[r->media];
	}
	resp->fault = download_fault(m, r, n);
	return 0;
}
