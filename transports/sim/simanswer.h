/*
 * simanswer: the simulator's JSON answers, generated with yajl_gen: a
 * writer that spells member names in snake_case or camelCase, the
 * contract's RunStatus and RunCreated bodies, its error envelope, and the
 * simulator's own counters.
 */
#ifndef FB_SIMANSWER_H
#define FB_SIMANSWER_H

#include "buf.h"
#include "simreq.h"

#include <stdint.h>
#include <yajl/yajl_gen.h>

/*
 * A JSON writer that remembers any failure, so a body is built with plain
 * calls and checked once at the end. Strings are sanitised to UTF-8.
 */
struct fb_simjw {
	yajl_gen g;
	int bad;
	int camel;		    /* member names given in snake_case are written in camelCase */
	int borrowed;		    /* g is the caller's: finish empties it instead of freeing it */
	struct fb_simjw_sink *sink; /* where g prints, when it is a fb_simjw_gen_new one */
};
int fb_simjw_start(struct fb_simjw *w, int camel); /* 0 or FB_ENOMEM */
/*
 * Where a generator from fb_simjw_gen_new prints: straight into buf, with
 * short pieces copied inline (yajl's own buffer costs a call per piece,
 * and an answer is hundreds of pieces). nomem: a piece was lost.
 */
struct fb_simjw_sink {
	struct fb_buf buf;
	int nomem;
};
/* A compact generator printing into sink (borrowed for its life); the writer checks
 * strings, so yajl does not. Caller frees with yajl_gen_free; NULL when out of memory. */
yajl_gen fb_simjw_gen_new(struct fb_simjw_sink *sink);
/* A writer over g (from fb_simjw_gen_new over sink; borrowed), emptied first: no
 * allocation per answer. */
void fb_simjw_reuse(struct fb_simjw *w, yajl_gen g, struct fb_simjw_sink *sink, int camel);
/* A member name in the answer's casing ("run_id" or "runId"); snake is ASCII. */
void fb_simjw_key(struct fb_simjw *w, const char *snake);
/* A name that is data, not schema (form field names, idempotency keys): as is. */
void fb_simjw_datakey(struct fb_simjw *w, const char *key);
void fb_simjw_str(struct fb_simjw *w, const char *s); /* NULL: null */
/*
 * A string the simulator made from parts known to be valid UTF-8 (its ids,
 * catalog names, URLs under a base URL checked once): written as is,
 * without fb_simjw_str's check. len bytes, no NUL needed.
 */
void fb_simjw_ascii(struct fb_simjw *w, const char *s, size_t len);
void fb_simjw_int(struct fb_simjw *w, long long v);
/* Money with at most three decimals, shortest form (0.25, 0.873, 0). */
void fb_simjw_cost(struct fb_simjw *w, double v);
void fb_simjw_bool(struct fb_simjw *w, int v);
void fb_simjw_null(struct fb_simjw *w);
void fb_simjw_open(struct fb_simjw *w, int array);
void fb_simjw_close(struct fb_simjw *w, int array);
/* Appends the document to out and frees (or empties) the generator; 0 or FB_ENOMEM. */
int fb_simjw_finish(struct fb_simjw *w, struct fb_buf *out);

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
	/*
	 * outputs[] is written when noutputs > 0: out_1..out_N of output_type
	 * (NULL: imageUrl) at output_base/out_N.output_ext (NULL: png); with
	 * hostile_from > 0, output n is fb_simanswer_output_id's instead, at
	 * output_base/<that id, percent-encoded>.
	 */
	unsigned noutputs;
	unsigned long hostile_from;
	const char *output_base; /* ".../_sim/outputs/run_…" */
	const char *output_type;
	const char *output_ext;
	const char *poll_url;
	long estimated_seconds; /* -1: leave out */
	/* 1: every string above is known valid UTF-8 (the simulator made it): no check. */
	int clean;
};

/*
 * Appends output n's id (n from 1) to out: "out_N" when hostile_from is 0;
 * else hostile id number (hostile_from - 1 + n - 1), cycling through
 * "../../etc/passwd", "/abs/path", "a\nb\tc", "..", 300 characters,
 * "CON" and "name with spaces/and:colons", with "~C" added for a run's
 * C-th pass through the list (C >= 2), so a run's ids stay distinct.
 * 0 or FB_ENOMEM.
 */
int fb_simanswer_output_id(unsigned long hostile_from, unsigned n, struct fb_buf *out);
/* Appends s percent-encoded for one path segment: all but [A-Za-z0-9_~-], '.' too. */
int fb_simanswer_pct_segment(const char *s, struct fb_buf *out);

/* Writes v's members into the object w has open. */
void fb_simanswer_run_members(struct fb_simjw *w, const struct fb_simrun_view *v);
/* Each appends one JSON document to out and returns 0 or FB_ENOMEM. */
int fb_simanswer_run(const struct fb_simrun_view *v, int camel, struct fb_buf *out);

/* A RunCreated body (CONTRACT.md §3). Strings borrowed; NULL ones are written as null. */
struct fb_simcreated_view {
	const char *run_id;
	const char *type; /* generation, technique */
	long estimated_seconds;
	double charged_cost;
	const char *poll_url;
	const char *project_id;
	const char *model_id;	  /* NULL: "model": null */
	const char *technique_id; /* NULL: "technique": null */
	const char *technique_name;
};
int fb_simanswer_created(const struct fb_simcreated_view *v, int camel, struct fb_buf *out);

/* {"error":{"code","message"[,"fields":[{"field","message"}]]}}; fields only when nfields > 0. */
int fb_simanswer_error(const char *code, const char *message, const struct fb_simreq_field *fields,
		       size_t nfields, struct fb_buf *out);
/* A flat object of integer counters, names[i] -> values[i]. */
int fb_simanswer_counters(const char *const *names, const uint64_t *values, size_t n,
			  struct fb_buf *out);

#endif
