/*
 * jobupload: before a run is created, every local-file input is uploaded
 * through the assets API and replaced by the asset's url. Identical files
 * are uploaded once per batch (the owner's asset table, keyed by sha256,
 * which remembers uploads of earlier invocations through the journal); a
 * job that finds its file being uploaded by another waits for that upload.
 * Part of the job module (jobpriv.h).
 */
#include "backoff.h"
#include "jobstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define UPLOAD_WAIT_MS 200 /* how often a job looks at another job's upload of its file */

static const char *content_type_of(const char *path)
{
	static const char *const map[][2] = {
	    {".png", "image/png"},   {".jpg", "image/jpeg"},	  {".jpeg", "image/jpeg"},
	    {".webp", "image/webp"}, {".gif", "image/gif"},	  {".avif", "image/avif"},
	    {".heic", "image/heic"}, {".heif", "image/heif"},	  {".bmp", "image/bmp"},
	    {".tif", "image/tiff"},  {".tiff", "image/tiff"},	  {".mp4", "video/mp4"},
	    {".webm", "video/webm"}, {".mov", "video/quicktime"},
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcasecmp(dot, map[i][0]))
			return map[i][1];
	return "application/octet-stream";
}

static struct fb_input *next_local(struct fb_job *j)
{
	for (size_t i = 0; i < j->item.ninputs; i++)
		if (j->item.inputs[i].local && !j->item.inputs[i].asset_id)
			return &j->item.inputs[i];
	return NULL;
}

/* The input now stands for the uploaded asset. */
static int use_asset(struct fb_input *in, const char *asset_id, const char *url)
{
	char *a = fb_strdup(asset_id), *u = fb_strdup(url);
	if (!a || !u) {
		free(a);
		free(u);
		return FB_ENOMEM;
	}
	free(in->value);
	in->value = u;
	in->asset_id = a;
	return 0;
}

static void on_upload(void *ud, const struct fb_upload_reply *r)
{
	struct fb_job *j = ud;
	struct fb_input *in = next_local(j);
	const struct fb_job_policy *p = j->env->policy;
	if (r->ok) {
		j->req_retries = 0;
		j->env->asset_done(j->env->owner, in->sha256, r->asset_id, r->url);
		if (use_asset(in, r->asset_id, r->url)) {
			struct fb_err e = {0};
			fb_err_set(&e, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
			fb_job_finish(j, FB_STATUS_FAILED, &e);
			return;
		}
		fb_job_upload(j);
		return;
	}
	j->env->asset_done(j->env->owner, in->sha256, NULL, NULL); /* no longer in progress */
	if (r->err.kind == FB_KIND_RETRYABLE && j->req_retries < p->max_retries) {
		j->req_retries++;
		fb_job_wait(j, J_WAIT_UPLOAD,
			    fb_backoff_after(fb_backoff_ms(p->backoff_base_ms, p->backoff_cap_ms,
							   j->req_retries, j->env->rng),
					     r->retry_after_ms, 120000));
		return;
	}
	struct fb_err e = r->err;
	fb_err_set(&e, r->err.code ? r->err.code : FB_EIO, r->err.kind,
		   "upload of %s (input %s): %s", in->value, in->id, r->err.msg);
	if (e.kind == FB_KIND_BATCH) {
		j->env->batch_error(j->env->owner, &e);
		fb_job_finish(j, FB_STATUS_SKIPPED, &e);
		return;
	}
	if ((r->http_status == 403 || r->http_status == 404) &&
	    j->env->forbidden(j->env->owner, &j->item, &e)) {
		fb_job_finish(j, FB_STATUS_SKIPPED, &e); /* maybe the batch's: a re-run tries it */
		return;
	}
	fb_job_fail(j, &e);
}

void fb_job_upload(struct fb_job *j)
{
	struct fb_input *in = next_local(j);
	if (!in) {
		fb_job_send_create(j); /* every input is a url now */
		return;
	}
	const char *asset_id = NULL, *url = NULL;
	switch (j->env->asset(j->env->owner, in->sha256, &asset_id, &url)) {
	case FB_ASSET_READY:
		if (use_asset(in, asset_id, url)) {
			struct fb_err e = {0};
			fb_err_set(&e, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
			fb_job_finish(j, FB_STATUS_FAILED, &e);
			return;
		}
		fb_job_upload(j);
		return;
	case FB_ASSET_BUSY:
		fb_job_wait(j, J_WAIT_UPLOAD, UPLOAD_WAIT_MS);
		return;
	default:
		break; /* ours to upload; the owner now counts it as in progress */
	}
	if (!fb_job_pass_gate(j, J_WAIT_UPLOAD)) {
		j->env->asset_done(j->env->owner, in->sha256, NULL, NULL);
		return;
	}
	const char *base = strrchr(in->value, '/');
	char key[FB_IDEMKEY_LEN + 1];
	/* One key per content and workspace: an upload retried is the same upload. */
	snprintf(key, sizeof(key), "fb1-%.32s", in->sha256);
	struct fb_upload_request req = {
	    .path = in->value,
	    .file_name = base ? base + 1 : in->value,
	    .content_type = content_type_of(in->value),
	    .workspace_id =
		j->item.workspace_id ? j->item.workspace_id : j->env->policy->workspace_id,
	    .idempotency_key = key,
	};
	struct fb_err e = {0};
	j->state = J_UPLOADING;
	if (fb_transport_upload_asset(j->env->transport, &req, on_upload, j, &e) < 0) {
		j->env->asset_done(j->env->owner, in->sha256, NULL, NULL);
		fb_job_fail(j, &e);
	}
}
