/* runhelp: the text of `florabatch run --help`. */
#ifndef FB_CMD_RUNHELP_H
#define FB_CMD_RUNHELP_H

#include <stdio.h>

/* Writes run's options and exit statuses to f. */
void fb_run_usage(FILE *f);

#endif
