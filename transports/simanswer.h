/*
 * simanswer: the simulator's JSON answers (generated with yajl_gen): the
 * contract's RunStatus body in snake_case or camelCase, its error envelope,
 * and the simulator's own counters.
 */
#ifndef FB_SIMANSWER_H
#define FB_SIMANSWER_H

#include "buf.h"
#include "simreq.h"

#include <stdint.h>

/* A run as one answer shows it. Strings borrowed for the call. */
struct fb_simrun_view {
	const char *run_id;
	const char *status; /* pending, running, completed, failed */
	int progress;	    /* 0-100 */
	uint64_t created_at;
	uint64_t started_at;   /* wall ms; 0: leave out */
	uint64_t completed_at; /* wall ms; 0: leave out */
	double charged_cost;
	const char *error_code; /* NULL: leave out (with error_message) */
	const char *error_message;
	/* outputs[] is written when noutputs > 0: out_1..out_N, imageUrl, at output_base/out_N.png
	 */
	unsigned noutputs;
	const char *output_base; /* ".../_sim/outputs/run_…" */
	const char *poll_url;
	long estimated_seconds; /* -1: leave out */
};

/* Each appends one JSON document to out and returns 0 or FB_ENOMEM. */
int fb_simanswer_run(const struct fb_simrun_view *v, int camel, struct fb_buf *out);
/* {"error":{"code","message"[,"fields":[{"field","message"}]]}}; fields only when nfields > 0. */
int fb_simanswer_error(const char *code, const char *message, const struct fb_simreq_field *fields,
		       size_t nfields, struct fb_buf *out);
/* A flat object of integer counters, names[i] -> values[i]. */
int fb_simanswer_counters(const char *const *names, const uint64_t *values, size_t n,
			  struct fb_buf *out);

#endif
