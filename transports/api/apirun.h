/*
 * apirun: a run answer or a list page read with yajl's callback parser,
 * keeping only the members a run is made from (api.c fills the runs from
 * them; api.h is the public face). Each member's first occurrence counts,
 * as a lookup in a tree would find it; everything else is skipped at any
 * depth without a stack of its own. Internal to the transports.
 */
#ifndef FB_APIRUN_H
#define FB_APIRUN_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/* A member's value as first seen: its JSON type, and text for strings and numbers. */
enum fb_apirun_type {
	FB_APIRUN_NONE = 0,
	FB_APIRUN_NULL,
	FB_APIRUN_STR,
	FB_APIRUN_NUM,
	FB_APIRUN_BOOL,
	FB_APIRUN_OBJ,
	FB_APIRUN_ARR
};
struct fb_apirun_val {
	uint8_t t;
	size_t off; /* into the arena, NUL-terminated: FB_APIRUN_STR, FB_APIRUN_NUM */
};

/* A run object's members; FB_APIRUN_F_ERR_* come from a nested "error" object. */
enum {
	FB_APIRUN_F_RUN_ID,
	FB_APIRUN_F_RUNID,
	FB_APIRUN_F_ID,
	FB_APIRUN_F_TRID,
	FB_APIRUN_F_TRID_C,
	FB_APIRUN_F_GENID,
	FB_APIRUN_F_GENID_C,
	FB_APIRUN_F_STATUS,
	FB_APIRUN_F_PROGRESS,
	FB_APIRUN_F_ETA,
	FB_APIRUN_F_ETA_C,
	FB_APIRUN_F_COST,
	FB_APIRUN_F_COST_C,
	FB_APIRUN_F_CREATED,
	FB_APIRUN_F_CREATED_C,
	FB_APIRUN_F_POLL,
	FB_APIRUN_F_POLL_C,
	FB_APIRUN_F_ECODE,
	FB_APIRUN_F_ECODE_C,
	FB_APIRUN_F_EMSG,
	FB_APIRUN_F_EMSG_C,
	FB_APIRUN_F_ERROR,
	FB_APIRUN_F_OUTPUTS,
	FB_APIRUN_F_NAMED, /* members above are matched by name in a run object */
	FB_APIRUN_F_ERR_CODE = FB_APIRUN_F_NAMED,
	FB_APIRUN_F_ERR_MSG,
	FB_APIRUN_NF
};

enum {
	FB_APIRUN_O_TYPE,
	FB_APIRUN_O_URL,
	FB_APIRUN_O_TEXT,
	FB_APIRUN_O_CONTENT,
	FB_APIRUN_O_OID,
	FB_APIRUN_O_OID_C,
	FB_APIRUN_O_ID,
	FB_APIRUN_NO
};

/* Where a value goes: which object or array the parser is in. */
enum fb_apirun_role {
	FB_APIRUN_R_RUN,
	FB_APIRUN_R_ERROBJ,
	FB_APIRUN_R_OUTS,
	FB_APIRUN_R_OUT,
	FB_APIRUN_R_LIST,
	FB_APIRUN_R_META,
	FB_APIRUN_R_RUNTOP,
	FB_APIRUN_R_LISTTOP
};

/* Top-level members of a run answer and of a list page. */
enum {
	FB_APIRUN_T_WRAP_RUN,
	FB_APIRUN_T_WRAP_DATA,
	FB_APIRUN_T_META,
	FB_APIRUN_T_CURSOR,
	FB_APIRUN_T_CURSOR_C,
	FB_APIRUN_T_CAND0,
	FB_APIRUN_NT = FB_APIRUN_T_CAND0 + 4
};

struct fb_apirun_run {
	struct fb_apirun_val f[FB_APIRUN_NF];
	size_t out0, nout; /* its outputs: oslots[out0 .. out0 + nout) */
};
struct fb_apirun_out {
	struct fb_apirun_val f[FB_APIRUN_NO];
	int is_obj;
};
struct fb_apirun_item {
	size_t slot; /* rslot, when is_obj */
	int cand, is_obj;
};
struct fb_apirun_frame {
	enum fb_apirun_role role;
	int pending; /* the member the next value belongs to; -1: none we keep */
	size_t slot;
	int cand;
};

#define FB_APIRUN_MAX_FRAMES 8 /* the deepest kept member: list -> item -> outputs -> output */

struct fb_apirun {
	struct fb_buf arena;
	struct fb_apirun_run *rs;
	size_t nrs, caprs;
	struct fb_apirun_out *os;
	size_t nos, capos;
	struct fb_apirun_item *items;
	size_t nitems, capitems;
	struct fb_apirun_frame fr[FB_APIRUN_MAX_FRAMES];
	int nfr;
	size_t skip;				/* depth inside a container nobody reads */
	int list;				/* reading a list page */
	const char *const *cands;		/* the list's array names, NULL-terminated */
	uint8_t top_t;				/* the answer's own type */
	struct fb_apirun_val top[FB_APIRUN_NT]; /* top-level members */
	struct fb_apirun_val meta[2];		/* meta.next_cursor, meta.nextCursor */
	size_t wrap_slot[2];			/* rslots of the run and data wrappers */
	int nomem;
};

/*
 * Reads body (len bytes) into r, which the caller zeroes and, for a list
 * page, marks with list = 1 and its array names (cands). 0; 1 when the
 * body is not JSON (or holds a NUL byte); FB_ENOMEM. Release r either way.
 */
int fb_apirun_read(struct fb_apirun *r, const char *body, size_t len);
void fb_apirun_release(struct fb_apirun *r);

#endif
