/*
 * dryrun: what a batch would do, before it spends anything (run --dry-run,
 * validate). Reads the whole manifest; checks every row as the batch would
 * (kinds, keys) and against its technique's declared inputs (one GET
 * /techniques/{id} per technique); says which rows are new, which the
 * output folder's record holds already and which are invalid (file, line,
 * field); and estimates the cost (run_cost x new rows) and the wall time.
 * It creates no run, uploads nothing and writes nothing in the folder.
 */
#ifndef FB_DRYRUN_H
#define FB_DRYRUN_H

#include "error.h"
#include "log.h"
#include "manifest.h"
#include "resolve.h"
#include "shard.h"
#include "transport.h"

#include <stdint.h>
#include <stdio.h>

struct fb_dryrun_config {
	const struct fb_resolve_defaults *defaults;
	const char *key_namespace; /* may be NULL */
	const char *record_path;   /* the folder's results.jsonl; absent: nothing done yet */
	unsigned concurrency;
	double rate;	    /* API requests a second; 0: none */
	struct fb_log *log; /* invalid rows, as warnings */
	FILE *plan;	    /* NULL, or a JSON line per row: {id, source, plan, technique, ...} */
	struct fb_shard shard; /* only this shard's rows are planned (count 0: every row) */
};

struct fb_dryrun_report {
	uint64_t rows, fresh, done, invalid; /* of this shard's rows */
	uint64_t other_shards;		     /* rows of other shards: not planned */
	uint64_t generations;		     /* new rows whose cost is not known beforehand */
	double cost;			     /* run_cost x new technique rows */
	uint64_t uncosted;    /* new technique rows whose technique gives no run_cost */
	double run_s;	      /* a run's time: the folder's median, else an assumption */
	uint64_t run_samples; /* completed runs the median came from; 0: assumed */
	double wall_s;	      /* the estimate */
};

/*
 * Plans the batch of m over t (for the technique lookups only). 0 with
 * *rep filled; a negative FB_E* with err when the plan could not be made
 * (the manifest broke, the API refused the lookups: err's kind says).
 */
int fb_dryrun(const struct fb_dryrun_config *cfg, struct fb_manifest *m, struct fb_transport *t,
	      struct fb_dryrun_report *rep, struct fb_err *err);

#endif
