/* plan: the dry run's report. */
#include "plan.h"
#include "dryrun.h"
#include "exitcode.h"
#include "shardfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void duration(char *buf, size_t len, double s)
{
	long v = (long)(s + 0.5);
	if (v < 120)
		snprintf(buf, len, "%ld s", v);
	else if (v < 7200)
		snprintf(buf, len, "%ldm%02lds", v / 60, v % 60);
	else
		snprintf(buf, len, "%ldh%02ldm", v / 3600, v % 3600 / 60);
}

int fb_cmd_plan(const struct run_opts *o, struct fb_manifest *m, struct fb_transport *t,
		struct fb_log *log)
{
	char record[4096];
	int to_stdout = o->results && !strcmp(o->results, "-");
	if (o->results && !to_stdout)
		snprintf(record, sizeof(record), "%s", o->results);
	else
		snprintf(record, sizeof(record), "%s/results.jsonl", o->out_dir);
	struct fb_dryrun_config cfg = {
	    .defaults = &o->drv.defaults,
	    .key_namespace = o->drv.key_namespace,
	    .record_path = o->fresh ? NULL : record,
	    .concurrency = o->drv.concurrency,
	    .rate = o->drv.rate,
	    .log = log,
	    .plan = to_stdout ? stdout : NULL,
	    .shard = o->drv.shard,
	};
	struct fb_dryrun_report r;
	struct fb_err err = {0};
	/* The run would refuse a folder of another shard: so does its plan. */
	struct fb_shard held;
	if (!o->fresh &&
	    fb_shardfile_check(o->out_dir, o->results && !to_stdout ? o->results : NULL,
			       &o->drv.shard, &held, &err)) {
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
		return err.code == FB_EINVAL || err.code == FB_EPARSE ? FB_EXIT_USAGE : FB_EXIT_IO;
	}
	int rc = fb_dryrun(&cfg, m, t, &r, &err);
	if (to_stdout)
		fflush(stdout);
	if (rc) {
		fb_log_msg(log, FB_LOG_ERROR, "dry run: %s", err.msg);
		return rc == FB_EPARSE				      ? FB_EXIT_USAGE
		       : err.http_status || err.kind == FB_KIND_BATCH ? FB_EXIT_AUTH
								      : FB_EXIT_IO;
	}
	FILE *f = stderr;
	if (o->drv.shard.count) /* "shard K/N: M of T items" */
		fprintf(f,
			"florabatch: dry run of %s, shard %u/%u: %llu of %llu items: %llu new, "
			"%llu done before, %llu invalid\n",
			fb_manifest_name(m), o->drv.shard.index, o->drv.shard.count,
			(unsigned long long)r.rows, (unsigned long long)(r.rows + r.other_shards),
			(unsigned long long)r.fresh, (unsigned long long)r.done,
			(unsigned long long)r.invalid);
	else
		fprintf(f,
			"florabatch: dry run of %s: %llu rows: %llu new, %llu done before, %llu "
			"invalid\n",
			fb_manifest_name(m), (unsigned long long)r.rows,
			(unsigned long long)r.fresh, (unsigned long long)r.done,
			(unsigned long long)r.invalid);
	uint64_t priced = r.fresh - r.generations - r.uncosted;
	fprintf(f, "  cost      about $%.2f for %llu new run%s", r.cost, (unsigned long long)priced,
		priced == 1 ? "" : "s");
	if (r.generations)
		fprintf(f, ", and %llu generations whose cost is not known beforehand",
			(unsigned long long)r.generations);
	if (r.uncosted)
		fprintf(f, ", and %llu runs whose technique gives no run_cost",
			(unsigned long long)r.uncosted);
	fputc('\n', f);
	char d[32], rs[32];
	duration(d, sizeof(d), r.wall_s);
	duration(rs, sizeof(rs), r.run_s);
	fprintf(f, "  time      about %s: %llu new run%s, %u at a time, %s a run (%s)\n", d,
		(unsigned long long)r.fresh, r.fresh == 1 ? "" : "s", o->drv.concurrency, rs,
		r.run_samples ? "the median of this folder's completed runs"
			      : "assumed: this folder has no completed run to learn from");
	if (o->drv.max_cost >= 0 && r.cost > o->drv.max_cost)
		fprintf(f, "  budget    --max-cost %.2f stops the batch before its end\n",
			o->drv.max_cost);
	if (r.invalid)
		fprintf(f,
			"  invalid   fix the rows above (file:line: field: why), then run again\n");
	fprintf(f, "  nothing was created, uploaded or written\n");
	return r.invalid ? FB_EXIT_USAGE : FB_EXIT_OK;
}
