/* run: the `florabatch run` subcommand. */
#ifndef FB_CMD_RUN_H
#define FB_CMD_RUN_H

#include "exitcode.h"

#include <stdio.h>

int fb_cmd_run(int argc, char **argv);

#endif
