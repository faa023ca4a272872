/*
 * techniques: `florabatch techniques [TECHNIQUE]`, the API's technique
 * catalog, or one technique's inputs, outputs and run cost: a table on a
 * terminal, JSON lines otherwise.
 */
#ifndef FB_TECHNIQUES_H
#define FB_TECHNIQUES_H

#include <stdio.h>

/* Exit status of a technique the API does not know (404). */
#define FB_EXIT_NO_TECHNIQUE 1

/* argv[0] is "techniques". Returns the exit status. */
int fb_cmd_techniques(int argc, char **argv);
void fb_techniques_usage(FILE *f);

#endif
