/*
 * simoutputs: the bytes behind output URLs (GET /_sim/outputs/{run}/out_N),
 * made again on every download from the run id and output number: a PNG,
 * MP4-shaped bytes, a WAV or text, by the run's kind. Downloads are where
 * truncation and slowness faults happen.
 */
#include "simcore.h"
#include "error.h"
#include "png.h"
#include "simmedia.h"

#include <stdlib.h>
#include <string.h>

#define OUTPUT_DIM 32

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

int fb_simoutputs_get(struct fb_simmodel *m, const char *id, const char *name,
		      struct fb_simresp *resp)
{
	m->stats.fetches++;
	struct fb_simrun *r = fb_simruns_find(m, id);
	char *end = NULL;
	unsigned long n = 0;
	if (!strncmp(name, "out_", 4) && name[4] >= '1' && name[4] <= '9')
		n = strtoul(name + 4, &end, 10);
	/* Outputs exist once their run has completed, not before. */
	if (!r || !end || (*end && (*end != '.' || strcmp(end + 1, fb_sim_media_ext[r->media]))) ||
	    n > m->cfg.outputs_per_run || strcmp(fb_simruns_status(m, r), "completed"))
		return fb_sim_not_found(resp, "Output", name);
	uint64_t seed = fb_sim_hash(r->id, strlen(r->id)) ^ fb_sim_mix64(n);
	int rc;
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
		rc = fb_png_from_seed(seed, OUTPUT_DIM, OUTPUT_DIM, &resp->body);
	}
	if (rc)
		return FB_ENOMEM;
	resp->status = 200;
	resp->content_type = fb_sim_media_ctype[r->media];
	resp->fault = download_fault(m, r, n);
	return 0;
}
