/* run: the `florabatch run` subcommand. */
#ifndef FB_CMD_RUN_H
#define FB_CMD_RUN_H

#include <stdio.h>

enum {
	FB_EXIT_OK = 0,	     /* every item completed */
	FB_EXIT_PARTIAL = 1, /* some item failed, was invalid or was skipped */
	FB_EXIT_USAGE = 2,   /* bad options, or a manifest that cannot be read */
	FB_EXIT_STOPPED = 3, /* the API stopped the batch (bad key, no credits) */
	FB_EXIT_IO = 4,	     /* results or archive could not be written; internal error */
};

int fb_cmd_run(int argc, char **argv);
void fb_run_usage(FILE *f); /* options.c */

#endif
