/*
 * upload: the asset upload's steps (CONTRACT.md section 5), shared by the
 * transports: what each step sends, what its answer means and which step
 * comes next, the 1 s poll and its 120 s limit, and the one callback at
 * the end. A transport only carries each step's request and answer.
 * Internal to the transports.
 */
#ifndef FB_UPLOAD_H
#define FB_UPLOAD_H

#include "apiasset.h"
#include "apireq.h"
#include "transport.h"

#include <stdint.h>

#define FB_UPLOAD_POLL_MS     1000u
#define FB_UPLOAD_WAIT_MAX_MS 120000u

enum fb_upload_step {
	FB_UPLOAD_RESERVE,  /* POST /assets */
	FB_UPLOAD_SEND,	    /* the bytes to the upload URL, without the API key */
	FB_UPLOAD_COMPLETE, /* POST /assets/{id}/complete */
	FB_UPLOAD_POLL,	    /* GET /assets/{id} */
	FB_UPLOAD_DONE,	    /* the callback has fired: free the op */
};

struct fb_upload_op {
	struct fb_upload_request req; /* every string owned */
	fb_upload_cb cb;
	void *ud;
	enum fb_upload_step step;
	struct fb_api_asset asset; /* the reservation's answer, from SEND on */
	uint64_t poll_until_ms;	   /* when POLL gives up */
};

/* One step's answer; everything borrowed for the call. */
struct fb_upload_answer {
	int http_status;	  /* 0: no HTTP answer, and err says why */
	const struct fb_err *err; /* when http_status is 0 */
	const char *request_id;	  /* or NULL */
	long retry_after_ms;	  /* or -1 */
	const char *body;
	size_t len;
};

/*
 * A new op at FB_UPLOAD_RESERVE, req copied. The file must be a readable
 * regular file now: else FB_EIO (kind ITEM); FB_EINVAL for a missing path,
 * ws_ id or callback; FB_ENOMEM. Free with fb_upload_op_free.
 */
int fb_upload_op_new(const struct fb_upload_request *req, fb_upload_cb cb, void *ud,
		     struct fb_upload_op **out, struct fb_err *err);
void fb_upload_op_free(struct fb_upload_op *op);

/* The API request of the op's step (RESERVE, COMPLETE or POLL); as apireq.h's calls. */
int fb_upload_op_call(const struct fb_upload_op *op, struct fb_api_call *call, struct fb_err *err);

/*
 * Feeds the current step's answer at now_ms (the transport's clock) and
 * moves to the next step, which the transport then starts after *wait_ms
 * (non-zero only between polls). At FB_UPLOAD_DONE the callback has fired
 * (success, or this step's error) and the op is the caller's to free.
 */
enum fb_upload_step fb_upload_op_next(struct fb_upload_op *op, const struct fb_upload_answer *a,
				      uint64_t now_ms, uint64_t *wait_ms);

/* Ends the op with err (a step that could not start): the callback fires; now FB_UPLOAD_DONE. */
void fb_upload_op_fail(struct fb_upload_op *op, const struct fb_err *err);

/*
 * Where SEND goes: *put 0 for a multipart POST to asset.upload_url, 1 for a
 * raw PUT to asset.put_url (only when the reservation gave no upload
 * object). Borrowed from op.
 */
const char *fb_upload_op_target(const struct fb_upload_op *op, int *put);

/* Reads a whole file into out (appended). 0, or FB_EIO / FB_ENOMEM with err set. */
int fb_upload_read_file(const char *path, struct fb_buf *out, struct fb_err *err);

#endif
