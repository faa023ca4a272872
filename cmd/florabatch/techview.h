/*
 * techview: techniques as a person reads them (a table, with the API's
 * text made safe for a terminal) or as a script does (one JSON object a
 * line, through yajl).
 */
#ifndef FB_TECHVIEW_H
#define FB_TECHVIEW_H

#include "transport.h"

#include <stdio.h>

/* The catalog's rows: a header first when header is set; width is the terminal's. */
void fb_techview_rows(FILE *f, const struct fb_technique *t, size_t n, int header, int width);
/* One technique: its cost, inputs, outputs and a manifest header that fits it. */
void fb_techview_one(FILE *f, const struct fb_technique *t, int width);
/*
 * One JSON object per technique: technique_id, name, description, run_cost
 * (null when the API gave none), and with fields also inputs and outputs
 * ([{id, name, type, required, description}]; outputs without required).
 * 0, or -1 when memory ran out.
 */
int fb_techview_jsonl(FILE *f, const struct fb_technique *t, size_t n, int fields);

#endif
