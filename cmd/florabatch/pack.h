/* pack: `florabatch pack DIR`, the folder's archive volumes merged into one file. */
#ifndef FB_PACK_CMD_H
#define FB_PACK_CMD_H

#include <stdio.h>

/* argv[0] is "pack". Returns the exit status. */
int fb_cmd_pack(int argc, char **argv);
void fb_pack_usage(FILE *f);

#endif
