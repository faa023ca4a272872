/* options: the `florabatch run` command line, parsed and checked, before anything runs. */
#ifndef FB_OPTIONS_H
#define FB_OPTIONS_H

#include "driver.h"
#include "fbarchive.h"
#include "manifest.h"
#include "sim.h"

#include <stdio.h>

struct run_opts {
	const char *input; /* NULL or "-": standard input */
	enum fb_format format;
	const char *out_dir;
	const char *results;
	const char *archive;
	const char *transport; /* "sim" or "http" */
	int strict;
	const char *input_id; /* folders: the input the files go to */
	const char *glob;
	int hidden;
	enum fb_archive_format archive_format;
	const char *outputs_dir;
	int keep_order; /* --keep-order: standard output's lines in input order */
	int fresh;
	int dry_run; /* --dry-run, or `florabatch validate`: plan, spend nothing (plan.h) */
	int quiet, verbose;
	const char *progress; /* --progress: auto (NULL), bar, jsonl, none */
	const char
	    *summary; /* --summary: NULL (block on a terminal, else line), block, line, none */
	struct fb_driver_config drv; /* drv.shard, drv.rate and drv.burst: this shard's */
	const char *shard;	     /* --shard K/N or auto, as given */
	unsigned shard_count;	     /* --shard-count (0: not given) */
	double rate_total;	     /* --rate as given: the workspace's, shared by the shards */
	/* http */
	const char *base_url;	  /* --base-url, else FLORA_BASE_URL, else the API's */
	const char *api_key_file; /* --api-key-file, else FLORA_API_KEY */
	int insecure;
	uint64_t request_timeout_ms, stall_timeout_ms; /* 0: the transport's defaults */
	char api_origin[256]; /* scheme://host[:port] of the API, for the rate limit of downloads */
	/* sim */
	struct fb_sim_config sim;
	int sim_virtual;
};

/* Fills o with the defaults, then the command line. 0, or -1 after a message on stderr. */
int fb_options_parse(int argc, char **argv, struct run_opts *o);

#endif
