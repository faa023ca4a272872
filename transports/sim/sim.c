/*
 * sim: the in-process transport. Requests are built by api.c, answered by
 * simmodel.c and parsed by api.c again, so the bytes are the ones the http
 * transport sends and reads.
 *
 * The model is asked when the request starts: the server acts the moment
 * a request arrives, and the whole latency is the answer's way back. Each
 * answer waits in the project's deadline heap (core/engine/timers), ordered by due
 * time, then by start order (so equal due times fire in the order they were
 * started, deterministically), until step() finds it due.
 *
 * Faults the model orders are acted out as a client would meet them: a
 * reset is a retryable transport error with no HTTP answer, a truncated
 * download delivers half its bytes and then fails retryably, and a slow one
 * is an ordinary download here.
 */
#include "sim.h"
#include "api.h"
#include "apijson.h"
#include "timers.h"
#include "upload.h"

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BASE_URL "sim://api/v1"
#define FETCH_CHUNK	 (16u * 1024u) /* the most one data callback receives */

struct job {
	struct fb_simresp resp; /* the model's answer, taken when the request started */
	fb_reply_cb reply;	/* a create or poll; else a list; else a fetch */
	fb_list_cb list;
	enum fb_job_kind list_kind; /* which list's answer to expect */
	fb_catalog_cb catalog;	    /* else the technique catalog: one, or a page */
	int catalog_one;
	fb_fetch_data_cb data;
	fb_fetch_done_cb done;
	uint64_t from; /* a resumed download: the bytes before it are had already */
	void *ud;
	struct fb_upload_op *up; /* a step of an upload (owned); with wake, the wait before one */
	int wake;
};

struct sim {
	struct fb_transport base; /* first: a struct fb_transport * is a struct sim * */
	struct fb_simmodel *model;
	struct fb_clock *clock;
	uint64_t latency_ms;
	char *authorization;  /* "Bearer <key>", or NULL */
	struct fb_timers due; /* ptr: a struct job; never cancelled, so tag is unused */
	size_t dead;	      /* jobs in due whose request never started */
	int watch_fd;	      /* fb_transport_watch's descriptor, or -1 */
};

static void job_free(struct job *j)
{
	fb_simresp_release(&j->resp);
	fb_upload_op_free(j->up);
	free(j);
}

/*
 * Hands one request to the model and queues its answer. The job is queued
 * before the model is asked, so that once the model has acted the callback
 * is sure to fire.
 */
static int start_call(struct sim *s, const struct fb_simcall *call, struct job *proto,
		      struct fb_err *err)
{
	struct job *j = malloc(sizeof(*j));
	if (!j || fb_timers_add(&s->due, fb_clock_now_ms(s->clock) + s->latency_ms, j, 0)) {
		free(j);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "out of memory");
	}
	*j = *proto;
	j->resp = (struct fb_simresp)FB_SIMRESP_INIT;
	if (fb_simmodel_handle(s->model, call, &j->resp)) {
		/* The job is the newest timer; an empty answer tells fire_*() to drop it. */
		fb_simresp_release(&j->resp);
		j->reply = NULL;
		j->list = NULL;
		j->catalog = NULL;
		j->done = NULL;
		j->up = NULL; /* still the caller's */
		s->dead++;
		return fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE,
				  "simulator: out of memory answering %s %s", call->method,
				  call->path);
	}
	return 0;
}

static int start(struct sim *s, const char *method, const char *path, const char *idem_key,
		 const struct fb_buf *body, struct job *proto, struct fb_err *err)
{
	struct fb_simcall call = {.method = method,
				  .path = path,
				  .authorization = s->authorization,
				  .idem_key = idem_key,
				  .content_type = body && body->len ? "application/json" : NULL,
				  .body = body ? body->ptr : NULL,
				  .body_len = body ? body->len : 0};
	return start_call(s, &call, proto, err);
}

static int sim_create_run(struct fb_transport *t, const struct fb_run_request *req, fb_reply_cb cb,
			  void *ud, struct fb_err *err)
{
	struct sim *s = (struct sim *)t;
	if (!req || !cb)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "create: no request or callback");
	struct fb_api_call call = FB_API_CALL_INIT;
	struct job proto = {.reply = cb, .ud = ud};
	int rc = fb_api_create_call(req, &call, err);
	if (!rc)
		rc = start(s, call.method, fb_buf_str(&call.path), call.idem_key, &call.body,
			   &proto, err);
	fb_api_call_release(&call);
	return rc;
}

static int sim_get_run(struct fb_transport *t, const struct fb_run_ref *ref, fb_reply_cb cb,
		       void *ud, struct fb_err *err)
{
	struct sim *s = (struct sim *)t;
	if (!ref || !cb)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "poll: no run or callback");
	struct fb_api_call call = FB_API_CALL_INIT;
	struct job proto = {.reply = cb, .ud = ud};
	int rc = fb_api_poll_call(ref, &call, err);
	if (!rc)
		rc = start(s, call.method, fb_buf_str(&call.path), call.idem_key, &call.body,
			   &proto, err);
	fb_api_call_release(&call);
	return rc;
}

static int sim_list_runs(struct fb_transport *t, const struct fb_list_query *q, fb_list_cb cb,
			 void *ud, struct fb_err *err)
{
	struct sim *s = (struct sim *)t;
	if (!q || !cb)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "list: no query or callback");
	struct fb_api_call call = FB_API_CALL_INIT;
	struct job proto = {.list = cb, .list_kind = q->kind, .ud = ud};
	int rc = fb_api_list_call(q, &call, err);
	if (!rc)
		rc = start(s, call.method, fb_buf_str(&call.path), call.idem_key, &call.body,
			   &proto, err);
	fb_api_call_release(&call);
	return rc;
}

static int sim_get_techniques(struct fb_transport *t, const struct fb_catalog_query *q,
			      fb_catalog_cb cb, void *ud, struct fb_err *err)
{
	if (!q || !cb)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "techniques: no query or callback");
	struct fb_api_call call = FB_API_CALL_INIT;
	struct job proto = {.catalog = cb, .catalog_one = q->technique != NULL, .ud = ud};
	int rc = fb_api_techniques_call(q, &call, err);
	if (!rc)
		rc = start((struct sim *)t, call.method, fb_buf_str(&call.path), NULL, NULL, &proto,
			   err);
	fb_api_call_release(&call);
	return rc;
}

static int sim_fetch(struct fb_transport *t, const char *url, fb_fetch_data_cb data,
		     fb_fetch_done_cb done, void *ud, struct fb_err *err)
{
	struct sim *s = (struct sim *)t;
	if (!url || !*url || !done)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "fetch: no URL or callback");
	struct job proto = {.data = data, .done = done, .ud = ud};
	return start(s, "GET", url, NULL, NULL, &proto, err);
}

static int sim_fetch_from(struct fb_transport *t, const char *url, uint64_t from,
			  fb_fetch_data_cb data, fb_fetch_done_cb done, void *ud,
			  struct fb_err *err)
{
	struct sim *s = (struct sim *)t;
	if (!url || !*url || !done)
		return fb_err_set(err, FB_EINVAL, FB_KIND_ITEM, "fetch: no URL or callback");
	struct job proto = {.data = data, .done = done, .ud = ud, .from = from};
	return start(s, "GET", url, NULL, NULL, &proto, err);
}

/* What a client sees when the server closes the connection without answering. */
static void set_reset(const struct fb_simresp *a, struct fb_err *err)
{
	fb_err_set(err, FB_ETRANSPORT, FB_KIND_RETRYABLE,
		   "simulator: connection reset before an answer (request-id %s)", a->request_id);
}

static int is_reset(const struct fb_simresp *a)
{
	return a->fault == FB_SIM_FAULT_RESET_BEFORE || a->fault == FB_SIM_FAULT_RESET_AFTER;
}

/* What every API answer shares: 1 when a 2xx body waits to be parsed, else err is set. */
static int answer_head(const struct fb_simresp *a, int *status, const char **rid,
		       long *retry_after_ms, struct fb_err *err)
{
	*retry_after_ms = -1;
	if (is_reset(a)) {
		set_reset(a, err);
		return 0;
	}
	*status = a->status;
	*rid = a->request_id;
	*retry_after_ms = a->retry_after_s >= 0 ? a->retry_after_s * 1000 : -1;
	if (a->status >= 200 && a->status < 300)
		return 1;
	fb_api_parse_error(a->status, fb_buf_str(&a->body), a->body.len, a->request_id, err);
	return 0;
}

static void fire_reply(struct job *j)
{
	const struct fb_simresp *a = &j->resp;
	struct fb_reply r;
	memset(&r, 0, sizeof(r));
	fb_apijson_run_init(&r.run);
	if (answer_head(a, &r.http_status, &r.request_id, &r.retry_after_ms, &r.err)) {
		r.ok = fb_api_parse_run(fb_buf_str(&a->body), a->body.len, &r.run, &r.err) == 0;
		if (!r.ok) {
			r.err.http_status = a->status;
			fb_run_info_release(&r.run); /* nothing half-parsed reaches the callback */
		}
	}
	j->reply(j->ud, &r);
	fb_run_info_release(&r.run);
}

static void fire_list(struct job *j)
{
	const struct fb_simresp *a = &j->resp;
	struct fb_list_reply r;
	char *cursor = NULL;
	memset(&r, 0, sizeof(r));
	if (answer_head(a, &r.http_status, &r.request_id, &r.retry_after_ms, &r.err)) {
		r.ok = fb_api_parse_list(fb_buf_str(&a->body), a->body.len, j->list_kind, &r.runs,
					 &r.nruns, &cursor, &r.err) == 0;
		if (!r.ok)
			r.err.http_status = a->status;
		r.next_cursor = cursor;
	}
	j->list(j->ud, &r);
	fb_run_list_free(r.runs, r.nruns);
	free(cursor);
}

static void fire_catalog(struct job *j)
{
	const struct fb_simresp *a = &j->resp;
	struct fb_catalog_reply r;
	struct fb_api_catalog keep;
	memset(&r, 0, sizeof(r));
	memset(&keep, 0, sizeof(keep));
	if (answer_head(a, &r.http_status, &r.request_id, &r.retry_after_ms, &r.err))
		fb_api_catalog_parse(fb_buf_str(&a->body), a->body.len, j->catalog_one, &r, &keep);
	j->catalog(j->ud, &r);
	fb_api_catalog_release(&r, &keep);
}

static void fire_fetch(struct job *j)
{
	const struct fb_simresp *a = &j->resp;
	struct fb_fetch_result res;
	memset(&res, 0, sizeof(res));
	if (is_reset(a)) {
		set_reset(a, &res.err);
		j->done(j->ud, &res);
		return;
	}
	res.http_status = a->status;
	res.content_type = a->content_type;
	if (a->status != 200) {
		fb_api_parse_error(a->status, fb_buf_str(&a->body), a->body.len, a->request_id,
				   &res.err);
		j->done(j->ud, &res);
		return;
	}
	/*
	 * The media, then the filler of a padded output (made a chunk at a time,
	 * never held whole), from where a resumed download starts. A truncated
	 * answer: the headers promised every byte, half of them came.
	 */
	uint64_t body = a->body.len, total = body + a->pad;
	uint64_t len = a->fault == FB_SIM_FAULT_TRUNCATE ? total / 2 : total;
	char chunk[FETCH_CHUNK];
	res.ok = 1;
	for (uint64_t pos = j->from; res.ok && pos < len;) {
		size_t n = len - pos < FETCH_CHUNK ? (size_t)(len - pos) : FETCH_CHUNK;
		const char *p = chunk;
		if (pos < body) {
			n = body - pos < n ? (size_t)(body - pos) : n;
			p = a->body.ptr + pos;
		} else {
			fb_simresp_filler(a->pad_seed, pos - body, chunk, n);
		}
		int rc = j->data ? j->data(j->ud, p, n) : 0;
		res.bytes += n;
		pos += n;
		if (rc) {
			res.ok = 0;
			fb_err_set(&res.err, rc, FB_KIND_ITEM, "download aborted");
			res.err.http_status = a->status;
		}
	}
	if (res.ok && len < total) {
		res.ok = 0;
		fb_err_set(&res.err, FB_ETRANSPORT, FB_KIND_RETRYABLE,
			   "simulator: connection closed after %llu of %llu bytes",
			   (unsigned long long)len, (unsigned long long)total);
	}
	j->done(j->ud, &res);
}

/* ---- asset uploads: each step one job; the model sees what a client sends ---- */

static int contains(const struct fb_buf *b, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= b->len; i++)
		if (b->ptr[i] == needle[0] && !memcmp(b->ptr + i, needle, n))
			return 1;
	return 0;
}

/* A multipart boundary that does not occur in the data. */
static void pick_boundary(const struct fb_buf *data, char *out, size_t cap)
{
	uint64_t x = 0x9e3779b97f4a7c15ull ^ data->len;
	do {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		snprintf(out, cap, "----florabatch-%016llx", (unsigned long long)x);
	} while (contains(data, out));
}

/* The upload itself: the file read now, sent without the API key. */
static int start_send(struct sim *s, struct fb_upload_op *op, struct job *proto, struct fb_err *err)
{
	struct fb_buf data = FB_BUF_INIT, form = FB_BUF_INIT;
	char *ctype = NULL, boundary[64];
	int put, rc = fb_upload_read_file(op->req.path, &data, err);
	const char *target = fb_upload_op_target(op, &put);
	struct fb_simcall call = {.method = put ? "PUT" : "POST", .path = target};
	if (!rc && put) {
		call.content_type = op->req.content_type;
		call.body = data.ptr;
		call.body_len = data.len;
	} else if (!rc) {
		pick_boundary(&data, boundary, sizeof(boundary));
		rc = fb_api_multipart_body(&op->asset, op->req.file_name, op->req.content_type,
					   data.ptr, data.len, boundary, &form, &ctype, err);
		call.content_type = ctype;
		call.body = form.ptr;
		call.body_len = form.len;
	}
	if (!rc)
		rc = start_call(s, &call, proto, err);
	free(ctype);
	fb_buf_release(&form);
	fb_buf_release(&data);
	return rc;
}

/* Starts op's current step (or the wait before it); on failure op is still the caller's. */
static int start_step(struct sim *s, struct fb_upload_op *op, uint64_t wait_ms, struct fb_err *err)
{
	struct job proto = {.up = op};
	if (wait_ms) {
		struct job *j = calloc(1, sizeof(*j));
		if (!j || fb_timers_add(&s->due, fb_clock_now_ms(s->clock) + wait_ms, j, 0)) {
			free(j);
			return fb_err_set(err, FB_ENOMEM, FB_KIND_RETRYABLE, "out of memory");
		}
		*j = proto;
		j->resp = (struct fb_simresp)FB_SIMRESP_INIT;
		j->wake = 1;
		return 0;
	}
	if (op->step == FB_UPLOAD_SEND)
		return start_send(s, op, &proto, err);
	struct fb_api_call call = FB_API_CALL_INIT;
	int rc = fb_upload_op_call(op, &call, err);
	if (!rc)
		rc = start(s, call.method, fb_buf_str(&call.path), call.idem_key, &call.body,
			   &proto, err);
	fb_api_call_release(&call);
	return rc;
}

static int sim_upload_asset(struct fb_transport *t, const struct fb_upload_request *req,
			    fb_upload_cb cb, void *ud, struct fb_err *err)
{
	struct sim *s = (struct sim *)t;
	struct fb_upload_op *op;
	int rc = fb_upload_op_new(req, cb, ud, &op, err);
	if (!rc && (rc = start_step(s, op, 0, err)))
		fb_upload_op_free(op);
	return rc;
}

/* A step's answer (or a wait's end) moves the op on; 1 when its callback fired. */
static int fire_upload(struct sim *s, struct job *j)
{
	struct fb_upload_op *op = j->up;
	j->up = NULL;
	uint64_t wait = 0;
	struct fb_err err = {0};
	if (!j->wake) {
		const struct fb_simresp *r = &j->resp;
		struct fb_upload_answer a = {
		    .http_status = r->status,
		    .request_id = r->request_id,
		    .retry_after_ms = r->retry_after_s >= 0 ? r->retry_after_s * 1000 : -1,
		    .body = r->body.ptr,
		    .len = r->body.len};
		if (is_reset(r)) {
			set_reset(r, &err);
			a.http_status = 0;
			a.err = &err;
		}
		if (fb_upload_op_next(op, &a, fb_clock_now_ms(s->clock), &wait) == FB_UPLOAD_DONE) {
			fb_upload_op_free(op);
			return 1;
		}
	}
	if (!start_step(s, op, wait, &err))
		return 0;
	fb_upload_op_fail(op, &err);
	fb_upload_op_free(op);
	return 1;
}

/*
 * Fires what is due now and was started before this call, so a callback
 * that starts a request with no latency cannot keep the loop going forever;
 * such a request fires in the next pass. Jobs leave the heap before their
 * callback runs, so callbacks may start requests freely (but must not free
 * the transport that is calling them).
 */
static int fire_due(struct sim *s)
{
	uint64_t limit = s->due.next_seq, now = fb_clock_now_ms(s->clock);
	const struct fb_timer *top;
	struct fb_timer tm;
	int fired = 0;
	while ((top = fb_timers_peek(&s->due)) && top->due_ms <= now && top->seq < limit) {
		fb_timers_pop(&s->due, &tm);
		struct job *j = tm.ptr;
		if (j->up) {
			fired += fire_upload(s, j);
		} else if (j->reply) {
			fire_reply(j);
			fired++;
		} else if (j->list) {
			fire_list(j);
			fired++;
		} else if (j->catalog) {
			fire_catalog(j);
			fired++;
		} else if (j->done) {
			fire_fetch(j);
			fired++;
		} else {
			s->dead--; /* the model ran out of memory: never started */
		}
		job_free(j);
	}
	return fired;
}

static int sim_step(struct fb_transport *t, uint64_t timeout_ms)
{
	struct sim *s = (struct sim *)t;
	int fired = fire_due(s);
	if (fired)
		return fired;
	uint64_t wait = timeout_ms, now = fb_clock_now_ms(s->clock);
	const struct fb_timer *top = fb_timers_peek(&s->due);
	if (top) {
		if (top->due_ms <= now)
			wait = 0;
		else if (top->due_ms - now < wait)
			wait = top->due_ms - now;
	}
	if (wait && s->watch_fd >= 0) {
		/* Real time waits on the descriptor; virtual time jumps once it is quiet. */
		int virt = fb_clock_is_virtual(s->clock);
		struct pollfd pf = {s->watch_fd, POLLIN, 0};
		int r = poll(&pf, 1, virt ? 1 : wait > INT_MAX ? INT_MAX : (int)wait);
		if (r > 0)
			return fire_due(s);
		wait = virt ? wait : 0;
	}
	if (wait)
		fb_clock_sleep_ms(s->clock, wait);
	return fire_due(s);
}

static int sim_watch(struct fb_transport *t, int fd)
{
	((struct sim *)t)->watch_fd = fd;
	return 0;
}

static size_t sim_pending(struct fb_transport *t)
{
	struct sim *s = (struct sim *)t;
	return s->due.len - s->dead;
}

static void sim_free(struct fb_transport *t)
{
	struct sim *s = (struct sim *)t;
	struct fb_timer tm;
	while (fb_timers_pop(&s->due, &tm))
		job_free(tm.ptr);
	fb_timers_release(&s->due);
	fb_simmodel_free(s->model);
	free(s->authorization);
	free(s);
}

static const struct fb_transport_ops sim_ops = {
    .name = "sim",
    .create_run = sim_create_run,
    .get_run = sim_get_run,
    .fetch = sim_fetch,
    .fetch_from = sim_fetch_from,
    .list_runs = sim_list_runs,
    .upload_asset = sim_upload_asset,
    .get_techniques = sim_get_techniques,
    .step = sim_step,
    .watch = sim_watch,
    .pending = sim_pending,
    .free = sim_free,
};

int fb_sim_transport_new(struct fb_transport **out, const struct fb_sim_config *cfg,
			 struct fb_clock *clock, struct fb_err *err)
{
	*out = NULL;
	if (!cfg || !clock)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "sim transport: no config or clock");
	struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	struct fb_simmodel_config mc = cfg->model;
	if (!mc.base_url)
		mc.base_url = DEFAULT_BASE_URL;
	if (!mc.retain_runs)
		mc.retain_runs = FB_SIM_RETAIN_DEFAULT;
	else if (mc.retain_runs == FB_SIM_RETAIN_ALL)
		mc.retain_runs = 0; /* the model's own "keep every run" */
	int rc = fb_simmodel_new(&s->model, &mc, clock, err);
	if (rc) {
		free(s);
		return rc;
	}
	if (cfg->api_key && *cfg->api_key) {
		struct fb_buf b = FB_BUF_INIT;
		if (fb_buf_addf(&b, "Bearer %s", cfg->api_key) ||
		    !(s->authorization = fb_buf_detach(&b, NULL))) {
			fb_buf_release(&b);
			fb_simmodel_free(s->model);
			free(s);
			return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		}
	}
	s->base.ops = &sim_ops;
	s->watch_fd = -1;
	s->due = (struct fb_timers)FB_TIMERS_INIT;
	s->clock = clock;
	s->latency_ms = cfg->latency_ms;
	*out = &s->base;
	return 0;
}

struct fb_simmodel *fb_sim_transport_model(struct fb_transport *t)
{
	return t && t->ops == &sim_ops ? ((struct sim *)t)->model : NULL;
}
