/* merge: `florabatch merge OUT DIR...`, the output folders of several shards or machines joined. */
#ifndef FB_CMD_MERGE_H
#define FB_CMD_MERGE_H

#include <stdio.h>

/* argv[0] is "merge". Returns the exit status. */
int fb_cmd_merge(int argc, char **argv);
void fb_merge_usage(FILE *f);

#endif
