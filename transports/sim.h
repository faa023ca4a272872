/*
 * sim: the in-process transport. Builds each request exactly as the http
 * transport would (api.c), answers it with the shared simulator model
 * (simmodel.c), and parses the answer with the same parser, after a
 * configurable latency measured on the transport's clock.
 */
#ifndef FB_SIM_H
#define FB_SIM_H

#include "clock.h"
#include "simmodel.h"
#include "transport.h"

struct fb_sim_config {
	struct fb_simmodel_config model;
	uint64_t latency_ms; /* from request to callback */
	/* Sent as "Authorization: Bearer <api_key>"; NULL or "": no header. Copied. */
	const char *api_key;
};

/*
 * clock is borrowed for the transport's lifetime; on a virtual clock, step()
 * with nothing due advances the clock to the next due callback (or by the
 * timeout) instead of sleeping. Free with fb_transport_free.
 */
int fb_sim_transport_new(struct fb_transport **out, const struct fb_sim_config *cfg,
			 struct fb_clock *clock, struct fb_err *err);

/* The model behind a sim transport (borrowed), for stats in tests. */
struct fb_simmodel *fb_sim_transport_model(struct fb_transport *t);

#endif
