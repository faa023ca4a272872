/*
 * exitcode: the exit statuses every florabatch subcommand shares (run.h
 * includes this header; README and the man page list them).
 */
#ifndef FB_CMD_EXITCODE_H
#define FB_CMD_EXITCODE_H

enum {
	FB_EXIT_OK = 0,	     /* every item completed */
	FB_EXIT_PARTIAL = 1, /* some item failed, was invalid, skipped or unresolved */
	FB_EXIT_USAGE = 2,   /* bad options, or a manifest that cannot be read */
	FB_EXIT_AUTH =
	    3, /* the API refused the batch (the key; a workspace or technique refused alike) */
	FB_EXIT_IO = 4,	     /* results or archive could not be written; internal error */
	FB_EXIT_CREDITS = 5, /* out of credits: no new runs; the ones in flight were collected */
	FB_EXIT_BUDGET = 6,  /* --max-cost reached: no new runs */
	/* --results -: standard output's reader went away (128 + SIGPIPE, as a shell
	 * reports a command a broken pipe ended); the runs created were collected */
	FB_EXIT_PIPE = 141,
};

#endif
