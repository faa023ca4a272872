/* results: one JSON object per final item, appended to the results JSONL. */
#include "results.h"
#include "safeopen.h"
#include "buf.h"
#include "item.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fb_results {
	int fd;
	int is_stdout;
	char *name;	    /* the path, or "standard output", for messages */
	struct fb_buf line; /* reused for every line; with a buffer, the lines not yet written */
	size_t limit;	    /* buffered: write when line holds this many bytes; 0: every line */
	struct sink *sink;  /* where gen prints: line */
	yajl_gen gen;	    /* one generator for every line: allocating one per line cost more */
	int failed;	    /* after a failed write nothing more goes out */
	struct fb_err failure;
};

/* yajl prints straight into a buffer, with no buffer of its own in between. */
struct sink {
	struct fb_buf *out;
	int oom;
};

static void print_to(void *ctx, const char *s, size_t n)
{
	struct sink *k = ctx;
	if (!k->oom && fb_buf_add(k->out, s, n))
		k->oom = 1;
}

static yajl_gen sink_gen(struct sink *k)
{
	yajl_gen g = fb_json_gen_new();
	if (g)
		yajl_gen_config(g, yajl_gen_print_callback, print_to, k);
	return g;
}

static int to_json(yajl_gen g, struct sink *k, const struct fb_result *res, struct fb_err *err);

const char *fb_item_status_name(enum fb_item_status s)
{
	switch (s) {
	case FB_STATUS_COMPLETED:
		return "completed";
	case FB_STATUS_FAILED:
		return "failed";
	case FB_STATUS_INVALID:
		return "invalid";
	case FB_STATUS_SKIPPED:
		return "skipped";
	case FB_STATUS_UNRESOLVED:
		return "unresolved";
	}
	return "unknown";
}

static int open_mode(struct fb_results **out, const char *path, int append, int follow,
		     struct fb_err *err);

int fb_results_open(struct fb_results **out, const char *path, struct fb_err *err)
{
	return open_mode(out, path, 0, 0, err);
}

int fb_results_open_append(struct fb_results **out, const char *path, struct fb_err *err)
{
	return open_mode(out, path, 1, 0, err);
}

int fb_results_open_named(struct fb_results **out, const char *path, int append, struct fb_err *err)
{
	return open_mode(out, path, append, 1, err);
}

static int open_mode(struct fb_results **out, const char *path, int append, int follow,
		     struct fb_err *err)
{
	*out = NULL;
	struct fb_results *r = calloc(1, sizeof(*r));
	if (!r)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	r->is_stdout = !strcmp(path, "-");
	r->name = fb_strdup(r->is_stdout ? "standard output" : path);
	r->sink = calloc(1, sizeof(*r->sink));
	if (r->sink)
		r->sink->out = &r->line;
	if (!r->name || !r->sink || !(r->gen = sink_gen(r->sink))) {
		free(r->name);
		free(r->sink);
		free(r);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	if (r->is_stdout) {
		/* Lines bypass stdio; anything already buffered for stdout goes first. */
		fflush(stdout);
		r->fd = STDOUT_FILENO;
	} else {
		int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
		r->fd =
		    follow ? open(path, flags | O_CLOEXEC, 0644) : fb_safe_open(path, flags, 0644);
		if (r->fd < 0) {
			int e = errno;
			yajl_gen_free(r->gen);
			free(r->sink);
			free(r->name);
			free(r);
			return fb_err_set(err, FB_EIO, FB_KIND_BATCH,
					  "cannot create the results file %s: %s", path,
					  fb_safe_strerror(e));
		}
	}
	*out = r;
	return 0;
}

static int io_error(struct fb_err *err, const char *what, const char *name, int e)
{
	if (e == EPIPE)
		return fb_err_set(
		    err, FB_EPIPE, FB_KIND_BATCH,
		    "cannot %s %s: the reader of the pipe has gone away (broken pipe)", what, name);
	if (e == ENOSPC)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH,
				  "cannot %s %s: no space left on the device", what, name);
	return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot %s %s: %s", what, name, strerror(e));
}

/*
 * Lines go to the kernel in one write(2) (looping only if the kernel takes
 * part of it): one line the moment the item is final, or, with a buffer
 * (fb_results_set_buffer), many whole lines at once. Only whole lines are
 * buffered, so a crash can lose lines but never leave a half line to be
 * completed by another.
 */
static int write_all(struct fb_results *r, const char *p, size_t n, struct fb_err *err)
{
	while (n > 0) {
		ssize_t w = write(r->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return io_error(err, "write results to", r->name, errno);
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void fb_results_set_buffer(struct fb_results *r, size_t limit)
{
	r->limit = limit;
}

size_t fb_results_pending(const struct fb_results *r)
{
	return r->limit ? r->line.len : 0;
}

int fb_results_flush(struct fb_results *r, struct fb_err *err)
{
	if (r->failed) {
		if (err)
			*err = r->failure;
		return r->failure.code ? r->failure.code : FB_EIO;
	}
	int rc = write_all(r, r->line.ptr, r->line.len, &r->failure);
	fb_buf_reset(&r->line);
	if (rc) {
		r->failed = 1;
		if (err)
			*err = r->failure;
	}
	return rc;
}

int fb_results_write(struct fb_results *r, const struct fb_result *res, struct fb_err *err)
{
	if (r->failed) {
		if (err)
			*err = r->failure;
		return r->failure.code ? r->failure.code : FB_EIO;
	}
	size_t start = r->line.len;
	int rc = to_json(r->gen, r->sink, res, err);
	if (!rc && fb_buf_addc(&r->line, '\n'))
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	if (rc) {
		/* Only whole lines stay in the buffer. */
		r->line.len = start;
		if (r->line.ptr)
			r->line.ptr[start] = '\0';
		return rc;
	}
	return r->line.len >= r->limit ? fb_results_flush(r, err) : 0;
}

int fb_results_write_line(struct fb_results *r, const char *line, size_t len, struct fb_err *err)
{
	if (r->failed) {
		if (err)
			*err = r->failure;
		return r->failure.code ? r->failure.code : FB_EIO;
	}
	if (fb_buf_add(&r->line, line, len))
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	return r->line.len >= r->limit ? fb_results_flush(r, err) : 0;
}

int fb_results_sync(struct fb_results *r, struct fb_err *err)
{
	struct stat st;
	int rc = fb_results_flush(r, err);
	if (rc)
		return rc;
	if (r->is_stdout || fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	if (fdatasync(r->fd) != 0)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: cannot flush: %s", r->name,
				  strerror(errno));
	return 0;
}

int fb_results_close(struct fb_results *r, struct fb_err *err)
{
	int rc = 0;
	struct stat st;

	if (!r)
		return 0;
	if (!r->failed && r->line.len)
		(void)fb_results_flush(r, NULL); /* a failure is reported below */
	/* Only a regular file can be fsynced; a pipe or terminal has nothing to keep. */
	if (!r->failed && fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode) && fsync(r->fd) != 0)
		rc = io_error(err, "save", r->name, errno);
	if (!r->is_stdout && close(r->fd) != 0 && !rc)
		rc = io_error(err, "close", r->name, errno);
	if (r->failed && !rc) {
		if (err)
			*err = r->failure;
		rc = r->failure.code ? r->failure.code : FB_EIO;
	}
	fb_buf_release(&r->line);
	yajl_gen_free(r->gen);
	free(r->sink);
	free(r->name);
	free(r);
	return rc;
}

#define TRY(x)                                                                                     \
	do {                                                                                       \
		if ((rc = (x)))                                                                    \
			return rc;                                                                 \
	} while (0)

static int gen_kv_str(yajl_gen g, const char *key, const char *val)
{
	int rc;
	TRY(fb_json_gen_key(g, key));
	return fb_json_gen_str(g, val);
}

/* "assets": the local files an item uploaded, when it had any. */
static int gen_assets(yajl_gen g, const struct fb_result *res)
{
	int rc, any = 0;
	for (size_t i = 0; i < res->ninputs; i++)
		any |= res->inputs[i].local;
	if (!any)
		return 0;
	TRY(fb_json_gen_key(g, "assets"));
	TRY(fb_json_gen_status(yajl_gen_array_open(g)));
	for (size_t i = 0; i < res->ninputs; i++) {
		const struct fb_input *in = &res->inputs[i];
		if (!in->local)
			continue;
		TRY(fb_json_gen_status(yajl_gen_map_open(g)));
		TRY(gen_kv_str(g, "input", in->id));
		TRY(gen_kv_str(g, "asset_id", in->asset_id));
		TRY(gen_kv_str(g, "sha256", in->sha256));
		TRY(fb_json_gen_status(yajl_gen_map_close(g)));
	}
	return fb_json_gen_status(yajl_gen_array_close(g));
}

static int gen_str_array(yajl_gen g, const char *key, const char *const *v, size_t n)
{
	int rc;
	TRY(fb_json_gen_key(g, key));
	TRY(fb_json_gen_status(yajl_gen_array_open(g)));
	for (size_t i = 0; i < n; i++)
		TRY(fb_json_gen_str(g, v[i]));
	return fb_json_gen_status(yajl_gen_array_close(g));
}

static int gen_kv_ms(yajl_gen g, const char *key, uint64_t ms, int is_null)
{
	int rc;
	TRY(fb_json_gen_key(g, key));
	if (is_null)
		return fb_json_gen_status(yajl_gen_null(g));
	return fb_json_gen_u64(g, ms);
}

static int gen_output(yajl_gen g, const struct fb_result_output *o)
{
	int rc;
	TRY(fb_json_gen_status(yajl_gen_map_open(g)));
	TRY(gen_kv_str(g, "output_id", o->output_id));
	TRY(gen_kv_str(g, "type", o->type));
	TRY(gen_kv_str(g, "url", o->url));
	TRY(gen_kv_str(g, "path", o->path));
	TRY(fb_json_gen_key(g, "bytes"));
	TRY(fb_json_gen_u64(g, o->bytes));
	TRY(gen_kv_str(g, "sha256", o->sha256[0] ? o->sha256 : NULL));
	return fb_json_gen_status(yajl_gen_map_close(g));
}

static int gen_error(yajl_gen g, const struct fb_result *res)
{
	const struct fb_err *e = res->error;
	int rc;

	TRY(fb_json_gen_key(g, "error"));
	if (!e || e->code == 0)
		return fb_json_gen_status(yajl_gen_null(g));
	TRY(fb_json_gen_status(yajl_gen_map_open(g)));
	TRY(gen_kv_str(g, "code", e->api_code[0] ? e->api_code : fb_errcode_name(e->code)));
	TRY(fb_json_gen_key(g, "http_status"));
	if (e->http_status)
		TRY(fb_json_gen_i64(g, e->http_status));
	else
		TRY(fb_json_gen_status(yajl_gen_null(g)));
	TRY(gen_kv_str(g, "message", e->msg));
	if (res->error_field)
		TRY(gen_kv_str(g, "field", res->error_field));
	return fb_json_gen_status(yajl_gen_map_close(g));
}

static int gen_meta(yajl_gen g, yajl_val src)
{
	size_t i, n = 0;
	int rc;

	if (!YAJL_IS_OBJECT(src))
		return 0;
	for (i = 0; i < src->u.object.len; i++)
		n += !fb_item_reserved_key(src->u.object.keys[i]);
	if (n == 0)
		return 0;
	TRY(fb_json_gen_key(g, "meta"));
	TRY(fb_json_gen_status(yajl_gen_map_open(g)));
	for (i = 0; i < src->u.object.len; i++) {
		if (fb_item_reserved_key(src->u.object.keys[i]))
			continue;
		TRY(fb_json_gen_key(g, src->u.object.keys[i]));
		TRY(fb_json_gen_val(g, src->u.object.values[i]));
	}
	return fb_json_gen_status(yajl_gen_map_close(g));
}

static int gen_result(yajl_gen g, const struct fb_result *res, int with_meta)
{
	int rc;

	TRY(fb_json_gen_status(yajl_gen_map_open(g)));
	TRY(gen_kv_str(g, "id", res->id));
	TRY(gen_kv_str(g, "status", fb_item_status_name(res->status)));
	TRY(gen_kv_str(g, "source", res->source));
	TRY(gen_kv_str(g, "kind", res->kind));
	TRY(gen_kv_str(g, "technique", res->technique));
	TRY(gen_kv_str(g, "run_id", res->run_id));
	TRY(gen_str_array(g, "run_ids", res->run_ids, res->nrun_ids));
	if (res->ncandidates)
		TRY(gen_str_array(g, "candidates", res->candidates, res->ncandidates));
	TRY(gen_kv_str(g, "idempotency_key", res->idempotency_key));
	TRY(gen_assets(g, res));
	TRY(fb_json_gen_key(g, "attempts"));
	TRY(fb_json_gen_u64(g, res->attempts));

	TRY(fb_json_gen_key(g, "outputs"));
	TRY(fb_json_gen_status(yajl_gen_array_open(g)));
	for (size_t i = 0; i < res->noutputs; i++)
		TRY(gen_output(g, &res->outputs[i]));
	TRY(fb_json_gen_status(yajl_gen_array_close(g)));
	TRY(gen_kv_str(g, "volume", res->volume));

	TRY(fb_json_gen_key(g, "charged_cost"));
	if (res->has_cost)
		TRY(fb_json_gen_double(g, res->charged_cost));
	else
		TRY(fb_json_gen_status(yajl_gen_null(g)));

	TRY(gen_error(g, res));

	TRY(fb_json_gen_key(g, "timings"));
	TRY(fb_json_gen_status(yajl_gen_map_open(g)));
	/* 0 is "never happened" for the clock readings... */
	TRY(gen_kv_ms(g, "submitted_at", res->submitted_at_ms, res->submitted_at_ms == 0));
	TRY(gen_kv_ms(g, "finished_at", res->finished_at_ms, res->finished_at_ms == 0));
	/* ...but a run can take 0 ms (a replayed create answers with a finished run). */
	TRY(gen_kv_ms(g, "run_ms", res->run_ms, res->run_id == NULL));
	TRY(gen_kv_ms(g, "total_ms", res->total_ms, 0));
	TRY(fb_json_gen_status(yajl_gen_map_close(g)));

	if (with_meta)
		TRY(gen_meta(g, res->meta_src));
	return fb_json_gen_status(yajl_gen_map_close(g));
}

/* Appends res's object to k->out with g (reset first); on failure k->out is as it was. */
static int to_json(yajl_gen g, struct sink *k, const struct fb_result *res, struct fb_err *err)
{
	size_t start = k->out->len;
	yajl_gen_reset(g, NULL);
	k->oom = 0;
	int rc = gen_result(g, res, 1);
	if (rc == FB_EPARSE && res->meta_src) {
		/*
		 * Only meta nested past the generator's 128 levels gets here; the
		 * item still gets its one line, without meta, rather than none.
		 */
		k->out->len = start;
		yajl_gen_reset(g, NULL);
		rc = gen_result(g, res, 0);
	}
	if (!rc && k->oom)
		rc = FB_ENOMEM;
	if (rc) {
		k->out->len = start;
		if (k->out->ptr)
			k->out->ptr[start] = '\0';
	}
	if (rc == FB_ENOMEM)
		return fb_err_set(err, rc, FB_KIND_BATCH, "out of memory");
	if (rc)
		return fb_err_set(err, rc, FB_KIND_BATCH,
				  "cannot encode the result of item %.200s as JSON",
				  res->id ? res->id : "(no id)");
	return 0;
}

int fb_result_to_json(const struct fb_result *res, struct fb_buf *out, struct fb_err *err)
{
	struct sink k = {out, 0};
	yajl_gen g = sink_gen(&k);
	if (!g)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	int rc = to_json(g, &k, res, err);
	yajl_gen_free(g);
	return rc;
}
