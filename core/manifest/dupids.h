/*
 * dupids: manifest ids given twice. Results are joined on "id", so two rows
 * with one id make two lines no join can tell apart: the batch warns and
 * names both lines (--strict refuses). Only ids the manifest names are
 * kept (ids made from row numbers are unique): 16 bytes each in a table at
 * most half full, for the manifest's lifetime. Two ids with one 64-bit
 * hash would be taken for one: a false warning, never a lost row.
 */
#ifndef FB_DUPIDS_H
#define FB_DUPIDS_H

#include "error.h"
#include "item.h"

#include <stdint.h>

struct fb_dupids;

/* NULL when out of memory. Caller frees with fb_dupids_free. */
struct fb_dupids *fb_dupids_new(void);
void fb_dupids_free(struct fb_dupids *d);

/*
 * Notes it's id when the manifest named it: 1 with *first_line (the line
 * of its source, "file:line", that gave the id first) when an earlier row
 * gave it too, 0 when not, FB_ENOMEM.
 */
int fb_dupids_note(struct fb_dupids *d, const struct fb_item *it, uint64_t *first_line);

#endif
