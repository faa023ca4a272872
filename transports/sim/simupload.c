/*
 * simupload: asset bytes in and out: the one-call multipart POST /assets,
 * the signed upload URL (multipart POST as the SDK sends it, or a raw PUT
 * with the token in the query), and GET of an asset's URL.
 */
#include "simcore.h"
#include "error.h"
#include "png.h"
#include "simmedia.h"
#include "simmultipart.h"

#include <stdlib.h>
#include <string.h>

#define DIRECT_MAX (4u * 1024u * 1024u)
#define SIGNED_MAX (64u * 1024u * 1024u)

/* ---- content types ---- */

/* The type the bytes announce, or NULL. */
static const char *sniff(const unsigned char *b, size_t n)
{
	if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return "image/jpeg";
	if (n >= 4 && !memcmp(b, "GIF8", 4))
		return "image/gif";
	if (n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4))
		return "image/webp";
	if (n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WAVE", 4))
		return "audio/wav";
	if (n >= 8 && !memcmp(b + 4, "ftyp", 4))
		return "video/mp4";
	if (n >= 5 && !memcmp(b, "%PDF-", 5))
		return "application/pdf";
	return NULL;
}

/* A text field of a form as a C string (cut at a NUL); NULL when absent. */
static int form_text(const struct fb_simmp *mp, const char *name, char **out)
{
	const struct fb_simmp_part *p = fb_simmp_get(mp, name);
	*out = NULL;
	if (p && !(*out = strndup(p->data ? p->data : "", p->len)))
		return FB_ENOMEM;
	return 0;
}

/* Validates the one-call form; answers 400 and returns 1 when it is wrong. */
static int check_form(const struct fb_simmp_part *file, const char *wsid, const char *pid,
		      struct fb_simresp *resp, int *rc)
{
	if (!file || !file->filename)
		*rc = fb_sim_field_error(resp, "file", "Required");
	else if (!wsid)
		*rc = fb_sim_field_error(resp, "workspace_id", "Required");
	else if (!fb_simreq_has_prefix(wsid, "ws_"))
		*rc = fb_sim_field_error(resp, "workspace_id",
					 "Invalid ID: expected ws_ followed by the ID");
	else if (pid && !fb_simreq_has_prefix(pid, "prj_"))
		*rc = fb_sim_field_error(resp, "project_id",
					 "Invalid ID: expected prj_ followed by the ID");
	else if (file->len > DIRECT_MAX)
		*rc = fb_sim_field_error(resp, "file",
					 "File is larger than 4 MB; reserve a signed-url upload");
	else
		return 0;
	return 1;
}

/* The one-call path: a multipart body with the file and the fields, as the SDK sends it. */
int fb_simupload_direct(struct fb_simmodel *m, const struct fb_simcall *c, struct fb_simresp *resp)
{
	struct fb_simmp mp = FB_SIMMP_INIT;
	const char *why;
	char *wsid = NULL, *pid = NULL, *ctype = NULL, *fname = NULL;
	int w, p, rc = fb_simmp_parse(c->content_type, c->body, c->body_len, &mp, &why);
	if (rc) {
		if (rc == FB_EPARSE)
			rc = fb_sim_field_error(resp, "file", why);
		goto out;
	}
	if ((rc = form_text(&mp, "workspace_id", &wsid)) ||
	    (rc = form_text(&mp, "project_id", &pid)) ||
	    (rc = form_text(&mp, "content_type", &ctype)) ||
	    (rc = form_text(&mp, "file_name", &fname)))
		goto out;
	const struct fb_simmp_part *file = fb_simmp_get(&mp, "file");
	if (check_form(file, wsid, pid, resp, &rc))
		goto out;
	const unsigned char *bytes = (const unsigned char *)file->data;
	const char *type = ctype && *ctype ? ctype
			   : file->content_type && fb_simassets_allowed_type(file->content_type)
			       ? file->content_type
			       : sniff(bytes, file->len);
	if (!type || !fb_simassets_allowed_type(type)) {
		rc = fb_sim_field_error(resp, "content_type", "Unsupported content type");
		goto out;
	}
	if (fb_simassets_placement(m, wsid, pid, &w, &p, resp, &rc))
		goto out;
	const char *name = fname && *fname ? fname : *file->filename ? file->filename : "upload";
	struct fb_simasset *a = fb_simassets_new(m, w, p, VIA_DIRECT, name, type);
	if (!a || fb_simassets_store(a, file->data, file->len, file->content_type))
		rc = FB_ENOMEM;
	else
		rc = fb_simassets_answer(m, resp, 201, a, 1);
out:
	free(wsid);
	free(pid);
	free(ctype);
	free(fname);
	fb_simmp_release(&mp);
	return rc;
}

/* POST (multipart, as the SDK sends it) or PUT (raw bytes) to the upload URL. No API key. */
int fb_simupload_receive(struct fb_simmodel *m, const char *id, const struct fb_simcall *c,
			 struct fb_simresp *resp)
{
	struct fb_simasset *a = fb_simassets_find(m, id);
	if (!a || a->via != VIA_SIGNED)
		return fb_sim_not_found(resp, "Upload", id);
	if (a->status != AS_PENDING)
		return fb_sim_error(resp, 409, "conflict", "Asset '%s' is %s; nothing to upload.",
				    id, fb_simasset_status[a->status]);
	if (fb_simassets_expired(m, a))
		return fb_sim_error(resp, 403, "forbidden", "The upload URL has expired.");
	struct fb_simquery q;
	struct fb_simmp mp = FB_SIMMP_INIT;
	const char *why, *token, *data = c->body, *type = c->content_type;
	size_t len = c->body_len;
	int rc = fb_simreq_query(c->path, &q);
	if (rc)
		goto out;
	token = fb_simquery_get(&q, "token");
	if (!strcmp(c->method, "POST")) {
		if ((rc = fb_simmp_parse(c->content_type, c->body, c->body_len, &mp, &why))) {
			if (rc == FB_EPARSE)
				rc = fb_sim_field_error(resp, "file", why);
			goto out;
		}
		const struct fb_simmp_part *t = fb_simmp_get(&mp, "token"),
					   *f = fb_simmp_get(&mp, "file");
		if (t && t->len == strlen(a->token) && !memcmp(t->data, a->token, t->len))
			token = a->token;
		if (!f) {
			rc = fb_sim_field_error(resp, "file", "Required");
			goto out;
		}
		data = f->data;
		len = f->len;
		type = f->content_type;
	}
	if (!token || strcmp(token, a->token))
		rc = fb_sim_error(resp, 403, "forbidden", "The upload signature does not match.");
	else if (len > SIGNED_MAX)
		rc = fb_sim_field_error(resp, "file", "File is larger than 64 MB");
	else if ((rc = fb_simassets_store(a, data ? data : "", len, type)) == 0) {
		struct fb_simjw w;
		if (fb_simjw_start(&w, m->camel)) {
			rc = FB_ENOMEM;
			goto out;
		}
		fb_simjw_open(&w, 0);
		fb_simjw_key(&w, "asset_id");
		fb_simjw_str(&w, a->id);
		fb_simjw_key(&w, "size_bytes");
		fb_simjw_int(&w, (long long)len);
		fb_simjw_close(&w, 0);
		rc = fb_sim_json(resp, 200, fb_simjw_finish(&w, &resp->body));
	}
out:
	fb_simquery_release(&q);
	fb_simmp_release(&mp);
	return rc;
}

int fb_simupload_serve(struct fb_simmodel *m, const char *id, const char *name,
		       struct fb_simresp *resp)
{
	(void)name; /* the name in the URL is for people; the id finds the asset */
	const struct fb_simasset *a = fb_simassets_find(m, id);
	if (!a || a->status != AS_READY)
		return fb_sim_not_found(resp, "Asset", id);
	/* Uploaded bytes are not kept (simcore.h), and a URL is never fetched: a placeholder. */
	const char *ct = a->content_type ? a->content_type : "application/octet-stream";
	uint64_t seed = fb_sim_hash(a->id, strlen(a->id));
	int rc;
	if (!strncmp(ct, "video/", 6))
		rc = fb_simmedia_mp4(seed, &resp->body), ct = "video/mp4";
	else if (!strncmp(ct, "audio/", 6))
		rc = fb_simmedia_wav(seed, &resp->body), ct = "audio/wav";
	else
		rc = fb_png_from_seed(seed, 32, 32, &resp->body), ct = "image/png";
	if (rc)
		return FB_ENOMEM;
	resp->status = 200;
	resp->content_type = ct;
	return 0;
}
