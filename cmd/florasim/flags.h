/* flags: florasim's command line, parsed into the model's and the server's settings. */
#ifndef FS_FLAGS_H
#define FS_FLAGS_H

#include "simmodel.h"

#include <stdint.h>
#include <stdio.h>

struct fs_flags {
	unsigned port; /* 0: a free port */
	/* The model's settings; strings borrowed from argv or the environment. base_url unset. */
	struct fb_simmodel_config model;
	uint64_t latency_ms;	 /* added before every answer; with latency_max_ms, the least */
	uint64_t latency_max_ms; /* > latency_ms: each answer's delay uniform in between */
	uint64_t latency_p99_ms; /* one answer in a hundred waits this long instead; 0: none */
	double close_rate;	 /* share of answers that close their keep-alive connection */
	uint64_t max_seconds;	 /* 0: run until SIGINT or SIGTERM */
	int quiet;		 /* no start-up or per-request lines on stderr */
	int sigma_given; /* --run-time-sigma was given: --run-time-jitter does not clear it */
};

/*
 * Parses argv (and FLORASIM_API_KEY). Returns 0 to run, 1 when --help or
 * --version was printed (exit 0), 2 after printing a message about a bad
 * flag or value to stderr (exit 2).
 */
int fs_flags_parse(int argc, char **argv, struct fs_flags *out);

void fs_flags_usage(FILE *f);

#endif
