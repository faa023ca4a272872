/*
 * mergeidx: what `florabatch merge` knows of every line of every folder it
 * reads, one fixed record of 56 bytes a line (where the line is, hashes of
 * its id and idempotency key, its status, finish time and outputs), and the
 * choice of the one line each item keeps. The lines stay in their files:
 * the few the choice reads (an item with more than one line) come back
 * through a callback. Items are told apart by id; a hash shared by two
 * different ids is found by reading their lines, so it costs nothing.
 *
 * The choice: a terminal line (completed, failed, invalid) over one that
 * only says why the item has not run (skipped, unresolved); then the
 * latest timings.finished_at; then the folder named later; then the later
 * line. The lines of an item disagree when their terminal outcomes differ,
 * when two completed lines hold different outputs, or when their keys
 * differ (different work under one id); the caller hears of every item
 * with more than one line, so none is dropped unsaid.
 */
#ifndef FB_MERGEIDX_H
#define FB_MERGEIDX_H

#include "buf.h"
#include "error.h"

#include <stddef.h>
#include <stdint.h>

#define FB_MREC_NO_ORD UINT32_MAX
enum { FB_MREC_KEEP = 1 };

struct fb_mrec {
	uint64_t idh;	   /* fb_hashset_hash of the id */
	uint64_t keyh;	   /* of the idempotency key; 0: null */
	uint64_t off;	   /* where the line starts in its folder's results.jsonl */
	uint64_t finished; /* timings.finished_at (unix ms); 0: none */
	uint64_t outfp;	   /* a hash of the outputs' ids, sizes and sha256; 0: none */
	uint32_t line;	   /* 1-based */
	uint32_t len;	   /* bytes, without the newline */
	uint32_t ord;	   /* a completed line's ordinal in its folder, else FB_MREC_NO_ORD */
	uint16_t folder;   /* the folder's place on the command line */
	uint8_t status;	   /* enum fb_item_status */
	uint8_t flags;	   /* FB_MREC_KEEP */
};

struct fb_mergeidx {
	struct fb_mrec *v;
	size_t n, cap;
};

/* Appends a copy of r. 0 or FB_ENOMEM. */
int fb_mergeidx_add(struct fb_mergeidx *x, const struct fb_mrec *r);
void fb_mergeidx_release(struct fb_mergeidx *x);
/* Sorts the records by place: folder, then offset (each folder's file order). */
void fb_mergeidx_by_place(struct fb_mergeidx *x);

/* How an item's lines disagree. */
enum {
	FB_MERGE_OUTCOMES = 1, /* terminal lines of different statuses */
	FB_MERGE_OUTPUTS = 2,  /* completed lines with different outputs */
	FB_MERGE_WORK = 4,     /* different idempotency keys */
};

struct fb_merge_member {
	const struct fb_mrec *r;
	const char *key; /* NULL: null */
};

/* An item with more than one line. Borrowed for the callback. */
struct fb_merge_group {
	const char *id;
	const struct fb_merge_member *m; /* by place */
	size_t n;
	size_t keep;  /* the member kept */
	unsigned why; /* FB_MERGE_* flags; 0: the lines agree */
	/* Two folders give the id different sets of keys: made from different manifests,
	 * techniques or namespaces (a manifest's own repeated id, in each folder alike, is not) */
	int foreign;
};

struct fb_merge_resolver {
	/* r's line (without its newline) into out (reset first). 0, or FB_E* with err. */
	int (*line)(void *ud, const struct fb_mrec *r, struct fb_buf *out, struct fb_err *err);
	/* Each item with more than one line, once chosen. 0, or FB_E* with err (stops). */
	int (*group)(void *ud, const struct fb_merge_group *g, struct fb_err *err);
	void *ud;
};

/*
 * Sorts x by item and sets FB_MREC_KEEP on exactly one line of each item.
 * 0, or the first error of a callback, or FB_EPARSE (a line read back is
 * not what it was) / FB_ENOMEM with err.
 */
int fb_mergeidx_resolve(struct fb_mergeidx *x, const struct fb_merge_resolver *res,
			struct fb_err *err);

/* Whether a beats b as an item's line (the order above). */
int fb_mergeidx_better(const struct fb_mrec *a, const struct fb_mrec *b);

#endif
