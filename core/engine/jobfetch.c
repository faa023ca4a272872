/*
 * jobfetch: a completed run's outputs, one after another, each written to
 * a nameless file in the output folder as it arrives (hashed on the way),
 * then handed to the collector: memory does not follow an output's size. A
 * short or broken download is fetched again whole, never archived short.
 * Part of the job module (jobpriv.h).
 */
#include "backoff.h"
#include "fbarchive.h"
#include "jobstate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fb_job_copy_outputs(struct fb_job *j, const struct fb_run_info *run)
{
	size_t n = run->noutputs;
	fb_run_info_release(&j->final);
	j->final.outputs = calloc(n, sizeof(*j->final.outputs));
	j->outs = calloc(n, sizeof(*j->outs));
	j->paths = calloc(n, sizeof(*j->paths));
	if (!j->final.outputs || !j->outs || !j->paths)
		return FB_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct fb_run_output *o = &j->final.outputs[i];
		o->output_id = fb_strdup(run->outputs[i].output_id);
		o->type = fb_strdup(run->outputs[i].type ? run->outputs[i].type : "unknown");
		o->url = fb_strdup(run->outputs[i].url ? run->outputs[i].url : "");
		j->final.noutputs++;
		if (!o->output_id || !o->type || !o->url)
			return FB_ENOMEM;
	}
	return 0;
}

/*
 * The output folder cannot take what was downloaded (a full disk): the item
 * gets no line, since its run is in the journal and a later invocation,
 * with room again, fetches it; the batch stops with the I/O status.
 */
static void stop_on_disk(struct fb_job *j, const struct fb_err *e)
{
	j->env->done(j->env->owner, j, e->code ? e->code : FB_EIO, e); /* frees j */
}

/* Downloads from the API's own host count against its rate limit; a CDN's do not. */
static int on_api_origin(struct fb_job *j, const char *url)
{
	const char *origin = j->env->policy->api_origin;
	size_t n = origin ? strlen(origin) : 0;
	return n && !strncmp(url, origin, n) && (url[n] == '/' || url[n] == '\0');
}

/* Text outputs may carry their content in url instead of a link. */
static int is_inline_text(const struct fb_run_output *o)
{
	return !strcmp(o->type, "text") && !strstr(o->url, "://");
}

/*
 * sha256 is the digest computed while streaming, or NULL to compute it here;
 * data NULL: the bytes are the download's file (len of them).
 */
static int keep_output(struct fb_job *j, const char *ctype, const void *data, size_t len,
		       const char *sha256)
{
	const struct fb_run_output *o = &j->final.outputs[j->out_idx];
	struct fb_result_output *r = &j->outs[j->nouts];
	struct fb_buf path = FB_BUF_INIT;
	struct fb_err e = {0};
	char extbuf[FB_ARCHIVE_EXT_MAX];
	const char *ext =
	    is_inline_text(o) ? "txt" : fb_archive_ext_for(ctype, o->url, o->type, extbuf);
	int rc = 0;
	if (sha256)
		memcpy(r->sha256, sha256, sizeof(r->sha256));
	else
		rc = fb_sha256_hex(data, len, r->sha256);
	if (!rc && data)
		rc = fb_collector_add_output(j->env->collector, j->item.id, o->output_id, ext, data,
					     len, r->sha256, &path, &e);
	else if (!rc)
		rc = fb_collector_add_output_fd(j->env->collector, j->item.id, o->output_id, ext,
						j->dl_fd, len, r->sha256, &path, &e);
	if (!data && j->dl_fd >= 0) {
		/* Kept in the spool: the download's file (nameless) goes with its descriptor. */
		close(j->dl_fd);
		j->dl_fd = -1;
	}
	if (rc) {
		fb_buf_release(&path);
		if (!e.code)
			fb_err_set(&e, rc, FB_KIND_BATCH, "out of memory");
		stop_on_disk(j, &e);
		return rc;
	}
	r->output_id = o->output_id;
	r->type = o->type;
	r->url = is_inline_text(o) ? NULL : o->url;
	r->bytes = len;
	j->paths[j->nouts] = fb_buf_detach(&path, NULL);
	r->path = j->paths[j->nouts];
	j->nouts++;
	j->out_idx++;
	j->fetch_try = 0;
	return 0;
}

/* The item fails for its output: the message names it, the code says a download failed. */
static void download_failed(struct fb_job *j, const struct fb_err *e)
{
	const struct fb_run_output *o = &j->final.outputs[j->out_idx];
	struct fb_err fe = *e; /* keeps http_status and api_code */
	fb_err_set(&fe, e->code ? e->code : FB_ETRANSPORT, FB_KIND_ITEM, "output %s of run %s: %s",
		   o->output_id, j->run_id, e->msg);
	if (!fe.api_code[0])
		snprintf(fe.api_code, sizeof(fe.api_code), "download_failed");
	fb_job_fail(j, &fe);
}

static int on_fetch_data(void *ud, const void *data, size_t len)
{
	struct fb_job *j = ud;
	if (j->dl_len + len > j->env->policy->max_output_bytes)
		return FB_ETOOBIG;
	if (fb_sha256_update(j->sha, data, len))
		return FB_ENOMEM;
	for (size_t done = 0; done < len;) {
		ssize_t w = pwrite(j->dl_fd, (const char *)data + done, len - done,
				   (off_t)(j->dl_len + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			j->dl_errno = w < 0 ? errno : ENOSPC;
			return FB_EIO;
		}
		done += (size_t)w;
	}
	j->dl_len += len;
	return 0;
}

static void on_fetch_done(void *ud, const struct fb_fetch_result *res)
{
	struct fb_job *j = ud;
	struct fb_err e = res->err;
	char hex[FB_SHA256_HEX_LEN + 1];
	if (j->dl_errno) {
		/* The disk, not the download: no retry helps, and the batch must stop. */
		fb_err_set(&e, FB_EIO, FB_KIND_BATCH, "cannot keep a download in %s: %s",
			   fb_collector_folder(j->env->collector), strerror(j->dl_errno));
		stop_on_disk(j, &e);
		return;
	}
	if (res->ok && j->dl_from + res->bytes == j->dl_len && !fb_sha256_final_hex(j->sha, hex)) {
		if (!keep_output(j, res->content_type, NULL, (size_t)j->dl_len, hex))
			fb_job_fetch_next(j);
		return;
	}
	if (res->ok) /* no URL here: it may be 10 kB long, or carry a token */
		fb_err_set(&e, FB_ETRANSPORT, FB_KIND_RETRYABLE, "the download ended short");
	if (e.code == FB_ETOOBIG) {
		fb_err_set(&e, FB_ETOOBIG, FB_KIND_ITEM,
			   "larger than --max-output-bytes (%llu bytes)",
			   (unsigned long long)j->env->policy->max_output_bytes);
	} else if (e.kind == FB_KIND_RETRYABLE && ++j->fetch_try < j->env->policy->fetch_attempts) {
		/* A short or broken download is never archived: the next try takes the rest. */
		j->resume = 1;
		fb_log_msg(j->env->log, FB_LOG_DEBUG, "%s: %s; download retry %u from byte %llu",
			   j->item.id, e.msg, j->fetch_try, (unsigned long long)j->dl_len);
		fb_job_wait(j, J_WAIT_FETCH,
			    fb_backoff_ms(j->env->policy->backoff_base_ms,
					  j->env->policy->backoff_cap_ms, j->fetch_try,
					  j->env->rng));
		return;
	}
	download_failed(j, &e);
}

void fb_job_fetch_next(struct fb_job *j)
{
	while (j->out_idx < j->final.noutputs) {
		const struct fb_run_output *o = &j->final.outputs[j->out_idx];
		if (is_inline_text(o)) {
			if (keep_output(j, "text/plain", o->url, strlen(o->url), NULL))
				return;
			continue;
		}
		struct fb_err e = {0};
		if (on_api_origin(j, o->url) && !fb_job_pass_gate(j, J_WAIT_FETCH))
			return;
		if (j->dl_fd < 0 && (j->dl_fd = fb_collector_part(j->env->collector, &e)) < 0) {
			j->dl_fd = -1;
			stop_on_disk(j, &e);
			return;
		}
		j->dl_errno = 0;
		j->state = J_FETCHING;
		/* A retry asks for the rest (the file and the hash hold the start); a transport
		 * that cannot resume starts again. */
		int rc = FB_EUNSUPP;
		if (j->resume && j->dl_len)
			rc = fb_transport_fetch_from(j->env->transport, o->url, j->dl_len,
						     on_fetch_data, on_fetch_done, j, &e);
		if (rc == FB_EUNSUPP) {
			j->dl_len = 0;
			fb_sha256_reset(j->sha);
			rc = fb_transport_fetch(j->env->transport, o->url, on_fetch_data,
						on_fetch_done, j, &e);
		}
		j->dl_from = j->dl_len;
		j->resume = 0;
		if (rc < 0)
			download_failed(j, &e); /* a URL the transport refuses to fetch */
		return;
	}
	j->terminal_ms = j->terminal_ms ? j->terminal_ms : fb_job_now(j);
	fb_job_finish(j, FB_STATUS_COMPLETED, NULL);
}
