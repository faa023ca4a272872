/*
 * transport: the interface between the driver and an implementation of the
 * FLORA API (in the manner of curl's vtls backends and git's
 * transport_vtable). The driver never knows which one it has.
 *
 * Contract, for every slot that takes a callback:
 *  - The call only starts the work and returns at once. 0 means started: the
 *    callback fires exactly once, later, from inside fb_transport_step(),
 *    never from inside the starting call.
 *  - A negative return means not started: err says why, and the callback
 *    never fires (libuv's rule).
 *  - Everything the request points to is borrowed for the duration of the
 *    starting call only; the transport copies what it keeps.
 *  - What the callback receives is borrowed until the callback returns.
 *  - Callbacks may start new requests on the same transport.
 */
#ifndef FB_TRANSPORT_H
#define FB_TRANSPORT_H

#include "error.h"
#include "item.h"

#include <stddef.h>
#include <stdint.h>

/* What a create asks for. Which fields matter depends on kind. */
struct fb_run_request {
	enum fb_job_kind kind;
	const char *technique;	       /* TECHNIQUE: slug or tech_ id; TECHNIQUE_ID: tech_ id */
	const struct fb_input *inputs; /* TECHNIQUE, TECHNIQUE_ID */
	size_t ninputs;
	const char *workspace_id;    /* TECHNIQUE_ID, GENERATION */
	const char *project_id;	     /* GENERATION */
	const char *generation;	     /* GENERATION: image, video, audio, text */
	const char *prompt;	     /* GENERATION */
	const char *model;	     /* GENERATION, optional */
	yajl_val params;	     /* GENERATION, optional object */
	int legacy_generation_route; /* GENERATION: 1 for POST /runs/generation, 0 for /generate */
	/* Sent in the Idempotency-Key header, and in the body where the route has the field. */
	const char *idempotency_key;
};

/* Where a run lives, for polling. */
struct fb_run_ref {
	enum fb_job_kind kind;
	const char *run_id;
	const char *technique; /* for the nested GET when there is no poll_url */
	const char *poll_url;  /* absolute, or relative to the base URL; may be NULL */
};

enum fb_run_status {
	FB_RUN_UNKNOWN = 0, /* a RunCreated answer: no status yet */
	FB_RUN_PENDING,
	FB_RUN_RUNNING,
	FB_RUN_COMPLETED,
	FB_RUN_FAILED,
};
const char *fb_run_status_name(enum fb_run_status s);

struct fb_run_output {
	char *output_id; /* owned */
	char *type;	 /* imageUrl, videoUrl, audioUrl, text, documentUrl; owned */
	char *url;	 /* owned; for type text it may hold the text itself */
};

/* A parsed RunStatus or RunCreated body. All strings owned; NULL when absent. */
struct fb_run_info {
	char *run_id;
	enum fb_run_status status;
	double progress; /* 0-100, or -1 when absent */
	char *poll_url;
	long estimated_seconds; /* -1 when absent or null */
	int64_t created_at;	/* as the API gives it (unix ms), or -1 when absent */
	int has_cost;
	double charged_cost; /* USD; meaningful when has_cost */
	char *error_code;
	char *error_message;
	struct fb_run_output *outputs;
	size_t noutputs;
};
void fb_run_info_release(struct fb_run_info *ri);
/* Releases runs[0..n) and frees the array (a list page's runs). runs may be NULL. */
void fb_run_list_free(struct fb_run_info *runs, size_t n);

/* What a create or poll callback receives. Borrowed until the callback returns. */
struct fb_reply {
	int ok;			/* 1: a 2xx whose body parsed into run */
	int http_status;	/* 0 when no HTTP answer arrived */
	const char *request_id; /* the request-id response header, or NULL */
	long retry_after_ms;	/* from Retry-After / retry-after-ms, or -1 */
	struct fb_err err;	/* when !ok: what went wrong, with its kind */
	struct fb_run_info run; /* when ok */
};
typedef void (*fb_reply_cb)(void *ud, const struct fb_reply *reply);

/*
 * Output download. data fires zero or more times with the next bytes
 * (borrowed); returning non-zero aborts the download, and done then reports
 * that code. done fires exactly once.
 */
typedef int (*fb_fetch_data_cb)(void *ud, const void *data, size_t len);
struct fb_fetch_result {
	int ok; /* 1: every byte arrived (length checked where known) */
	int http_status;
	const char *content_type; /* or NULL */
	uint64_t bytes;		  /* bytes passed to data */
	struct fb_err err;	  /* when !ok */
};
typedef void (*fb_fetch_done_cb)(void *ud, const struct fb_fetch_result *res);

/*
 * A page of the list endpoints (GET /technique-runs, GET /generations):
 * which runs to list. Strings borrowed for the starting call only.
 */
struct fb_list_query {
	enum fb_job_kind
	    kind; /* TECHNIQUE, TECHNIQUE_ID: /technique-runs; GENERATION: /generations */
	const char *technique_id; /* tech_ id filter (technique runs), or NULL */
	const char *workspace_id; /* or NULL */
	const char *project_id;	  /* or NULL */
	const char *status;	  /* "pending", ... or NULL */
	const char *cursor;	  /* from the previous page's next_cursor, or NULL */
	unsigned limit;		  /* 1-100; 0 means 100 */
};

/* What a list callback receives. Borrowed until the callback returns. */
struct fb_list_reply {
	int ok; /* 1: a 2xx whose body parsed */
	int http_status;
	const char *request_id;
	long retry_after_ms;
	struct fb_err err;	  /* when !ok */
	struct fb_run_info *runs; /* newest first, as the API lists them */
	size_t nruns;
	const char *next_cursor; /* NULL on the last page */
};
typedef void (*fb_list_cb)(void *ud, const struct fb_list_reply *reply);

/*
 * An asset upload (CONTRACT.md section 5), one composite operation: reserve
 * (POST /assets, source "signed-url"), send the bytes to the upload URL
 * (multipart, form fields first, then the file; never with the API key),
 * complete, then GET the asset every second, for at most 120 s, until it
 * is ready. Any step's failure ends the operation with that step's error;
 * the caller retries the whole operation with the same key. Strings
 * borrowed for the starting call only.
 */
struct fb_upload_request {
	const char *path;	     /* the local file; must be readable when the call starts */
	const char *file_name;	     /* the name to give it (a basename) */
	const char *content_type;    /* e.g. "image/png" */
	const char *workspace_id;    /* ws_ */
	const char *idempotency_key; /* sent as Idempotency-Key on the reserve; may be NULL */
};

/* What an upload callback receives. Borrowed until the callback returns. */
struct fb_upload_reply {
	int ok;
	int http_status; /* of the step that ended the operation; 0 without an HTTP answer */
	const char *request_id;
	long retry_after_ms;
	struct fb_err err;    /* when !ok: with its kind (fb_err_kind_for_http for HTTP errors) */
	const char *asset_id; /* when ok */
	const char *url;      /* when ok: the ready asset's url, to use as an imageUrl input */
};
typedef void (*fb_upload_cb)(void *ud, const struct fb_upload_reply *reply);

/* One input or output a technique declares. All strings owned; NULL when absent. */
struct fb_technique_field {
	char *id;   /* never NULL: what a run's inputs[].id names */
	char *name; /* for people */
	char *type; /* imageUrl, videoUrl, audioUrl, text, documentUrl, as the API says */
	char *description;
	int required; /* inputs: 0 when the API marks it optional */
};

/* A Technique (CONTRACT.md section 4). All strings owned; NULL when absent. */
struct fb_technique {
	char *technique_id; /* never NULL: tech_..., or as the API gives it */
	char *name;
	char *description;
	int has_cost;
	double run_cost; /* USD per run, when has_cost */
	struct fb_technique_field *inputs, *outputs;
	size_t ninputs, noutputs;
};
void fb_technique_release(struct fb_technique *t);
/* Releases list[0..n) and frees the array. list may be NULL. */
void fb_technique_list_free(struct fb_technique *list, size_t n);

/* Which part of the technique catalog to read. Strings borrowed for the starting call only. */
struct fb_catalog_query {
	const char *technique; /* a slug or tech_ id: that technique; NULL: a page of the list */
	const char *query;     /* the list: the API's search filter, or NULL */
	const char *cursor; /* the list: the previous page's next_cursor, or NULL for the first */
	unsigned limit;	    /* the list: 1-100 techniques a page; 0 means 100 */
};

/* What a catalog callback receives. Borrowed until the callback returns. */
struct fb_catalog_reply {
	int ok; /* 1: a 2xx whose body parsed */
	int http_status;
	const char *request_id;
	long retry_after_ms;
	struct fb_err err;		 /* when !ok: 404 for an unknown technique, with its kind */
	struct fb_technique *techniques; /* when ok: the one asked for, or the page's */
	size_t ntechniques;
	const char *next_cursor; /* the list: NULL on the last page */
};
typedef void (*fb_catalog_cb)(void *ud, const struct fb_catalog_reply *reply);

struct fb_transport;

struct fb_transport_ops {
	const char *name;
	int (*create_run)(struct fb_transport *t, const struct fb_run_request *req, fb_reply_cb cb,
			  void *ud, struct fb_err *err);
	int (*get_run)(struct fb_transport *t, const struct fb_run_ref *ref, fb_reply_cb cb,
		       void *ud, struct fb_err *err);
	int (*fetch)(struct fb_transport *t, const char *url, fb_fetch_data_cb data,
		     fb_fetch_done_cb done, void *ud, struct fb_err *err);
	/*
	 * The rest of a download cut short, from byte `from` on: data gets
	 * only the bytes after it (a server that ignores the range resends the
	 * whole, and the transport drops what came before), and the result's
	 * bytes count those. Otherwise as fetch. May be NULL: the caller then
	 * fetches again whole.
	 */
	int (*fetch_from)(struct fb_transport *t, const char *url, uint64_t from,
			  fb_fetch_data_cb data, fb_fetch_done_cb done, void *ud,
			  struct fb_err *err);
	/* One page of a list endpoint (polling many runs at once; finding a run whose id was lost).
	 */
	int (*list_runs)(struct fb_transport *t, const struct fb_list_query *q, fb_list_cb cb,
			 void *ud, struct fb_err *err);
	/* An asset upload; FB_EIO (kind ITEM) when the file cannot be read. May be NULL. */
	int (*upload_asset)(struct fb_transport *t, const struct fb_upload_request *req,
			    fb_upload_cb cb, void *ud, struct fb_err *err);
	/*
	 * The technique catalog: with q->technique, GET /techniques/{technique}
	 * and a reply holding that one technique (a 404 when there is none);
	 * without, one page of GET /techniques and its next cursor. As every
	 * slot: 0 means cb fires exactly once, later, from step(); a negative
	 * return (FB_EINVAL for a limit over 100 or an empty technique,
	 * FB_ENOMEM) means it never fires. The techniques and the cursor the
	 * reply holds are the transport's, freed when cb returns: copy what
	 * you keep. No retries: a retryable error reaches cb with its kind.
	 * May be NULL.
	 */
	int (*get_techniques)(struct fb_transport *t, const struct fb_catalog_query *q,
			      fb_catalog_cb cb, void *ud, struct fb_err *err);
	/*
	 * Drives I/O and fires due callbacks; waits at most timeout_ms when
	 * there is nothing to do yet (letting the clock pass). Returns the
	 * number of callbacks fired, or a negative FB_E* on a fatal error.
	 */
	int (*step)(struct fb_transport *t, uint64_t timeout_ms);
	/*
	 * From now on step() also returns as soon as fd is readable (a live
	 * manifest's next item); fd < 0 stops that. The transport never reads
	 * fd, which stays the caller's. 0, or FB_EIO. May be NULL: the caller
	 * then keeps its step timeouts short instead.
	 */
	int (*watch)(struct fb_transport *t, int fd);
	/* Requests started and not yet called back. */
	size_t (*pending)(struct fb_transport *t);
	/* Frees the transport; pending callbacks never fire. */
	void (*free)(struct fb_transport *t);
};

/* Implementations embed this as their first member. */
struct fb_transport {
	const struct fb_transport_ops *ops;
};

static inline int fb_transport_create_run(struct fb_transport *t, const struct fb_run_request *req,
					  fb_reply_cb cb, void *ud, struct fb_err *err)
{
	return t->ops->create_run(t, req, cb, ud, err);
}
static inline int fb_transport_get_run(struct fb_transport *t, const struct fb_run_ref *ref,
				       fb_reply_cb cb, void *ud, struct fb_err *err)
{
	return t->ops->get_run(t, ref, cb, ud, err);
}
static inline int fb_transport_fetch(struct fb_transport *t, const char *url, fb_fetch_data_cb data,
				     fb_fetch_done_cb done, void *ud, struct fb_err *err)
{
	return t->ops->fetch(t, url, data, done, ud, err);
}
static inline int fb_transport_fetch_from(struct fb_transport *t, const char *url, uint64_t from,
					  fb_fetch_data_cb data, fb_fetch_done_cb done, void *ud,
					  struct fb_err *err)
{
	if (!t->ops->fetch_from)
		return fb_err_set(err, FB_EUNSUPP, FB_KIND_ITEM, "the %s transport cannot resume",
				  t->ops->name);
	return t->ops->fetch_from(t, url, from, data, done, ud, err);
}
static inline int fb_transport_list_runs(struct fb_transport *t, const struct fb_list_query *q,
					 fb_list_cb cb, void *ud, struct fb_err *err)
{
	if (!t->ops->list_runs)
		return fb_err_set(err, FB_EUNSUPP, FB_KIND_ITEM,
				  "the %s transport cannot list runs", t->ops->name);
	return t->ops->list_runs(t, q, cb, ud, err);
}
static inline int fb_transport_upload_asset(struct fb_transport *t,
					    const struct fb_upload_request *req, fb_upload_cb cb,
					    void *ud, struct fb_err *err)
{
	if (!t->ops->upload_asset)
		return fb_err_set(err, FB_EUNSUPP, FB_KIND_ITEM,
				  "the %s transport cannot upload assets", t->ops->name);
	return t->ops->upload_asset(t, req, cb, ud, err);
}
static inline int fb_transport_get_techniques(struct fb_transport *t,
					      const struct fb_catalog_query *q, fb_catalog_cb cb,
					      void *ud, struct fb_err *err)
{
	if (!t->ops->get_techniques)
		return fb_err_set(err, FB_EUNSUPP, FB_KIND_BATCH,
				  "the %s transport cannot read the technique catalog",
				  t->ops->name);
	return t->ops->get_techniques(t, q, cb, ud, err);
}
static inline int fb_transport_step(struct fb_transport *t, uint64_t timeout_ms)
{
	return t->ops->step(t, timeout_ms);
}
static inline int fb_transport_watch(struct fb_transport *t, int fd)
{
	return t->ops->watch ? t->ops->watch(t, fd) : FB_EUNSUPP;
}
static inline size_t fb_transport_pending(struct fb_transport *t)
{
	return t->ops->pending(t);
}
static inline void fb_transport_free(struct fb_transport *t)
{
	if (t)
		t->ops->free(t);
}

#endif
