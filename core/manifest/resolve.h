/*
 * resolve: decides each item's job kind and its fields, from the row's own
 * values and then the batch's defaults, and checks them against the
 * contract before anything is sent (id prefixes, required fields): a
 * malformed ws_ or prj_ id would otherwise cost a 500 from the API.
 *
 * The kind: a row's own generation, technique_id or technique (in that
 * order) picks it; a row that names none takes the batch's.
 */
#ifndef FB_RESOLVE_H
#define FB_RESOLVE_H

#include "item.h"

/* The batch's defaults, from the command line. All borrowed; NULL when not given. */
struct fb_resolve_defaults {
	enum fb_job_kind kind; /* the kind for rows that name none */
	const char *technique;
	const char *technique_id;
	const char *generation;
	const char *workspace_id;
	const char *project_id;
	const char *model;
};

/*
 * Sets it->kind and fills the fields the row left empty from d (copies).
 * A row that cannot be sent is marked invalid with the field at fault.
 * Returns 0 or FB_ENOMEM. Items already invalid are left as they are.
 */
int fb_resolve_item(struct fb_item *it, const struct fb_resolve_defaults *d);

/* The technique (slug or tech_ id) an item runs, or NULL for a generation. Borrowed. */
const char *fb_resolve_technique(const struct fb_item *it);

#endif
