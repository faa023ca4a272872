/* status: `florabatch status DIR`, what an output folder says of its batch, running or not. */
#ifndef FB_STATUS_H
#define FB_STATUS_H

#include <stdio.h>

/* argv[0] is "status". Returns the exit status. */
int fb_cmd_status(int argc, char **argv);
void fb_status_usage(FILE *f);

#endif
