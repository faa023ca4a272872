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

/*
 * Runs the in-process simulator keeps once shown finished when
 * model.retain_runs is 0: far more than a client re-asks about (a run is
 * only forgotten after an answer showed it finished, so no concurrency can
 * lose one), and about 1 MB. FB_SIM_RETAIN_ALL keeps every run.
 */
#define FB_SIM_RETAIN_DEFAULT 4096u
#define FB_SIM_RETAIN_ALL     UINT64_MAX

struct fb_sim_config {
	/* retain_runs 0 means FB_SIM_RETAIN_DEFAULT here */
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
