/*
 * simassets: assets (CONTRACT.md §5): the store, the JSON POST /assets
 * (a signed-url reservation, or an https source taken at its word),
 * complete and retry, GET and list. The bytes' way in and out (the upload
 * URL, the one-call multipart POST /assets, downloads) is simupload.c.
 *
 * Uploaded bytes are kept in memory for the model's lifetime (direct
 * uploads up to 4 MB, signed uploads up to 64 MB each); an asset from an
 * https source is not fetched and serves a small placeholder of its type.
 * Idempotency-Key headers are not honoured on asset routes.
 */
#include "simcore.h"
#include "error.h"
#include "item.h"
#include "json.h"
#include "sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPLOAD_TTL_MS (3600u * 1000u)

const char *const fb_simasset_status[3] = {"pending_upload", "ready", "failed"};
const char *const fb_simasset_via[3] = {"url", "signed_url", "direct"};

static int eq_asset(const struct fb_simmodel *m, uint32_t idx, const void *want)
{
	return !strcmp(m->assets[idx]->id, want);
}

struct fb_simasset *fb_simassets_find(struct fb_simmodel *m, const char *id)
{
	long i = fb_simix_find(&m->assets_by_id, fb_sim_hash(id, strlen(id)), eq_asset, m, id);
	return i < 0 ? NULL : m->assets[i];
}

static void asset_free(struct fb_simasset *a)
{
	free(a->file_name);
	free(a->content_type);
	free(a->upload_content_type);
	free(a->failure);
	free(a);
}

void fb_simassets_free(struct fb_simmodel *m)
{
	for (size_t i = 0; i < m->nassets; i++)
		asset_free(m->assets[i]);
	free(m->assets);
	fb_simix_release(&m->assets_by_id);
}

/* A fresh upload reservation: new token, new expiry, nothing uploaded. */
static void reserve(struct fb_simmodel *m, struct fb_simasset *a)
{
	a->status = AS_PENDING;
	a->reservations++;
	a->expires_wall = fb_clock_wall_ms(m->clock) + UPLOAD_TTL_MS;
	a->uploaded = 0;
	a->size = 0;
	a->sha256[0] = '\0';
	free(a->failure);
	a->failure = NULL;
	uint64_t h = fb_sim_mix64(m->cfg.seed ^ SALT_TOKEN ^ fb_sim_hash(a->id, strlen(a->id)) ^
				  a->reservations);
	snprintf(a->token, sizeof(a->token), "%016llx", (unsigned long long)h);
}

/* A new asset in the store; NULL when out of memory. Strings are copied. */
struct fb_simasset *fb_simassets_new(struct fb_simmodel *m, int w, int p, int via,
				     const char *file_name, const char *content_type)
{
	if (m->nassets == m->capassets) {
		size_t cap = m->capassets ? m->capassets * 2 : 16;
		struct fb_simasset **v = realloc(m->assets, cap * sizeof(*v));
		if (!v)
			return NULL;
		m->assets = v;
		m->capassets = cap;
	}
	struct fb_simasset *a = calloc(1, sizeof(*a));
	if (!a || fb_simix_reserve(&m->assets_by_id))
		goto fail;
	a->file_name = fb_strdup(file_name);
	a->content_type = content_type ? fb_strdup(content_type) : NULL;
	if (!a->file_name || (content_type && !a->content_type))
		goto fail;
	do
		fb_sim_make_id(a->id, "asset_",
			       fb_sim_mix64(m->cfg.seed ^ SALT_ASSET_ID) ^
				   m->stats.assets_created++);
	while (fb_simassets_find(m, a->id));
	a->workspace = (int8_t)w;
	a->project = (int8_t)p;
	a->via = (uint8_t)via;
	a->status = via == VIA_SIGNED ? AS_PENDING : AS_READY;
	a->created_wall = fb_clock_wall_ms(m->clock);
	if (via == VIA_SIGNED)
		reserve(m, a);
	fb_simix_add(&m->assets_by_id, fb_sim_hash(a->id, strlen(a->id)), (uint32_t)m->nassets);
	m->assets[m->nassets++] = a;
	return a;
fail:
	if (a)
		asset_free(a);
	return NULL;
}

int fb_simassets_store(struct fb_simasset *a, const char *data, size_t len, const char *part_type)
{
	if (fb_sha256_hex(data, len, a->sha256))
		return FB_ENOMEM;
	a->size = len;
	a->uploaded = len > 0;
	free(a->upload_content_type);
	a->upload_content_type = part_type ? fb_strdup(part_type) : NULL;
	if (part_type && !a->upload_content_type)
		return FB_ENOMEM;
	const unsigned char *b = (const unsigned char *)data;
	if (len >= 24 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8) && !memcmp(b + 12, "IHDR", 4)) {
		a->width =
		    (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
		a->height =
		    (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
	}
	return 0;
}

int fb_simmodel_asset_digest(struct fb_simmodel *m, const char *id, char *sha256, uint64_t *size)
{
	const struct fb_simasset *a = fb_simassets_find(m, id);
	if (!a || !a->uploaded)
		return FB_EINVAL;
	memcpy(sha256, a->sha256, sizeof(a->sha256));
	*size = a->size;
	return 0;
}

/* ---- answers ---- */

static int asset_url(const struct fb_simmodel *m, const struct fb_simasset *a, struct fb_buf *b)
{
	if (fb_buf_addf(b, "%s/_sim/assets/%s/", m->base_url, a->id))
		return FB_ENOMEM;
	/* The name only makes the URL readable: anything outside [A-Za-z0-9._-] becomes '_'. */
	for (const char *p = a->file_name; *p; p++) {
		char c = *p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
		if (fb_buf_addc(b, ok ? c : '_'))
			return FB_ENOMEM;
	}
	return 0;
}

/* Members of the create, complete and retry answers. */
static void write_state(struct fb_simmodel *m, struct fb_simjw *w, const struct fb_simasset *a,
			int with_via)
{
	struct fb_buf url = FB_BUF_INIT, up = FB_BUF_INIT;
	w->bad |= asset_url(m, a, &url) != 0;
	fb_simjw_key(w, "asset_id");
	fb_simjw_str(w, a->id);
	if (with_via) {
		fb_simjw_key(w, "uploaded_via");
		fb_simjw_str(w, fb_simasset_via[a->via]);
	}
	fb_simjw_key(w, "url");
	fb_simjw_str(w, fb_buf_str(&url));
	fb_simjw_key(w, "workspace_id");
	fb_simjw_str(w, fb_simcat_workspace_id(a->workspace));
	fb_simjw_key(w, "visibility");
	fb_simjw_str(w, "workspace");
	fb_simjw_key(w, "status");
	fb_simjw_str(w, fb_simasset_status[a->status]);
	if (a->failure) {
		fb_simjw_key(w, "failure_message");
		fb_simjw_str(w, a->failure);
	}
	if (a->status == AS_PENDING) {
		char when[32];
		w->bad |= fb_buf_addf(&up, "%s/_sim/upload/%s", m->base_url, a->id) != 0;
		fb_simjw_key(w, "upload");
		fb_simjw_open(w, 0);
		fb_simjw_key(w, "url");
		fb_simjw_str(w, fb_buf_str(&up));
		fb_simjw_key(w, "method");
		fb_simjw_str(w, "POST");
		fb_simjw_key(w, "content_type");
		fb_simjw_str(w, "multipart/form-data");
		fb_simjw_key(w, "file_field");
		fb_simjw_str(w, "file");
		fb_simjw_key(w, "form_fields");
		fb_simjw_open(w, 0);
		fb_simjw_datakey(w, "token");
		fb_simjw_str(w, a->token);
		fb_simjw_close(w, 0);
		fb_simjw_close(w, 0);
		/* The raw-PUT fallback carries its signature in the query. */
		w->bad |= fb_buf_addf(&up, "?token=%s", a->token) != 0;
		fb_simjw_key(w, "upload_url");
		fb_simjw_str(w, fb_buf_str(&up));
		fb_sim_iso8601(a->expires_wall, when);
		fb_simjw_key(w, "expires_at");
		fb_simjw_str(w, when);
	}
	fb_buf_release(&url);
	fb_buf_release(&up);
}

int fb_simassets_answer(struct fb_simmodel *m, struct fb_simresp *resp, int status,
			const struct fb_simasset *a, int with_via)
{
	struct fb_simjw w;
	if (fb_simjw_start(&w, m->camel))
		return FB_ENOMEM;
	fb_simjw_open(&w, 0);
	write_state(m, &w, a, with_via);
	fb_simjw_close(&w, 0);
	fb_buf_reset(&resp->body);
	return fb_sim_json(resp, status, fb_simjw_finish(&w, &resp->body));
}

/* The GET's members; list items give created_at as a number, the GET as an ISO string. */
static void write_record(struct fb_simmodel *m, struct fb_simjw *w, const struct fb_simasset *a,
			 int in_list)
{
	struct fb_buf url = FB_BUF_INIT;
	w->bad |= asset_url(m, a, &url) != 0;
	int has_bytes = a->status == AS_READY && a->via != VIA_URL;
	char when[32];
	fb_simjw_open(w, 0);
	fb_simjw_key(w, "asset_id");
	fb_simjw_str(w, a->id);
	fb_simjw_key(w, "name");
	fb_simjw_str(w, a->file_name);
	fb_simjw_key(w, "description");
	fb_simjw_null(w);
	fb_simjw_key(w, "workspace_id");
	fb_simjw_str(w, fb_simcat_workspace_id(a->workspace));
	if (in_list) {
		fb_simjw_key(w, "project_id");
		fb_simjw_str(w, a->project >= 0 ? fb_simcat_project_id(a->project) : NULL);
	}
	fb_simjw_key(w, "url");
	fb_simjw_str(w, a->status == AS_READY ? fb_buf_str(&url) : NULL);
	fb_simjw_key(w, "content_type");
	fb_simjw_str(w, a->content_type ? a->content_type : "application/octet-stream");
	fb_simjw_key(w, "upload_content_type");
	fb_simjw_str(w, a->upload_content_type);
	fb_simjw_key(w, "size_bytes");
	if (has_bytes)
		fb_simjw_int(w, (long long)a->size);
	else
		fb_simjw_null(w);
	fb_simjw_key(w, "uploaded_via");
	fb_simjw_str(w, fb_simasset_via[a->via]);
	fb_simjw_key(w, "created_at");
	if (in_list) {
		fb_simjw_int(w, (long long)a->created_wall);
	} else {
		fb_sim_iso8601(a->created_wall, when);
		fb_simjw_str(w, when);
	}
	fb_simjw_key(w, "status");
	fb_simjw_str(w, fb_simasset_status[a->status]);
	if (!in_list) {
		fb_simjw_key(w, "failure_message");
		fb_simjw_str(w, a->failure);
	}
	fb_simjw_key(w, "width");
	if (a->width)
		fb_simjw_int(w, a->width);
	else
		fb_simjw_null(w);
	fb_simjw_key(w, "height");
	if (a->height)
		fb_simjw_int(w, a->height);
	else
		fb_simjw_null(w);
	fb_simjw_close(w, 0);
	fb_buf_release(&url);
}

/* ---- routes ---- */

/* Whether an https source names a host the real API would refuse to fetch (SSRF guard). */
static int private_host(const char *url)
{
	const char *h = url + 8; /* after "https://" */
	size_t n = strcspn(h, "/?#");
	const char *at = memchr(h, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	if (h[0] == '[')
		return 1; /* IPv6 literals: not worth telling public from private here */
	n = strcspn(h, ":/?#");
	char host[256];
	if (!n || n >= sizeof(host))
		return 1;
	for (size_t i = 0; i < n; i++)
		host[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] + 32 : h[i]);
	host[n] = '\0';
	static const char *const suffixes[] = {".local", ".internal", ".localhost"};
	for (size_t i = 0; i < 3; i++) {
		size_t k = strlen(suffixes[i]);
		if (n > k && !strcmp(host + n - k, suffixes[i]))
			return 1;
	}
	unsigned a = 0, b = 0, c = 0, d = 0;
	char tail;
	if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4)
		return a == 0 || a == 10 || a == 127 || (a == 169 && b == 254) ||
		       (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168) ||
		       (a == 100 && b >= 64 && b <= 127);
	return !strcmp(host, "localhost") || !strcmp(host, "metadata.google.internal");
}

/* The workspace and project an asset goes to; answers 404/403 and returns 1 when refused. */
int fb_simassets_placement(struct fb_simmodel *m, const char *wsid, const char *pid, int *w, int *p,
			   struct fb_simresp *resp, int *rc)
{
	*w = fb_simcat_workspace(wsid);
	*p = pid ? fb_simcat_project(pid) : -1;
	if (*w < 0)
		*rc = fb_sim_not_found(resp, "Workspace", wsid);
	else if (pid && (*p < 0 || fb_simcat_project_workspace(*p) != *w))
		*rc = fb_sim_error(resp, 404, "not_found",
				   "Project '%s' not found in workspace '%s'.", pid, wsid);
	else
		return fb_simpolicy_forbidden(m, *w, -1, NULL, resp, rc);
	return 1;
}

int fb_simassets_allowed_type(const char *ct)
{
	static const char *const ok[] = {
	    "image/jpeg",  "image/png",	      "image/webp", "image/gif",
	    "image/avif",  "image/heic",      "image/heif", "video/mp4",
	    "video/webm",  "video/quicktime", "audio/mpeg", "audio/wav",
	    "audio/x-wav", "audio/wave",      "audio/ogg",  "application/pdf"};
	size_t n = strcspn(ct, "; \t");
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strlen(ok[i]) == n && !strncmp(ct, ok[i], n))
			return 1;
	return 0;
}

int fb_simassets_create(struct fb_simmodel *m, const struct fb_simcall *c, struct fb_simresp *resp)
{
	struct fb_simreq rq = FB_SIMREQ_INIT;
	rq.md = m->sha256;
	int w, p, rc = fb_simreq_parse_as(FB_SIMREQ_ASSET, c->body, c->body_len, &rq);
	if (rc || rq.error_code) {
		rc = rc ? rc : fb_sim_invalid(resp, &rq);
		goto out;
	}
	const char *source = fb_json_get_str(rq.root, "source");
	const char *ctype = fb_json_get_str(rq.root, "content_type");
	const char *fname = fb_json_get_str(rq.root, "file_name");
	int signed_url = !strcmp(source, "signed-url");
	if (!signed_url && strncmp(source, "https://", 8)) {
		rc = fb_sim_field_error(resp, "source", "Expected \"signed-url\" or an https URL");
		goto out;
	}
	if (!signed_url && private_host(source)) {
		rc = fb_sim_field_error(resp, "source", "The URL's host is not allowed");
		goto out;
	}
	if (ctype && !fb_simassets_allowed_type(ctype)) {
		rc = fb_sim_field_error(resp, "content_type", "Unsupported content type");
		goto out;
	}
	if (fb_simassets_placement(m, fb_json_get_str(rq.root, "workspace_id"),
				   fb_json_get_str(rq.root, "project_id"), &w, &p, resp, &rc))
		goto out;
	/* Without a name, a fetched asset is named after the last segment of its URL. */
	char derived[128] = "upload";
	if (!fname && !signed_url) {
		const char *path = strchr(source + 8, '/');
		if (path) {
			size_t n = strcspn(path, "?#");
			const char *seg = path;
			for (size_t i = 0; i < n; i++)
				if (path[i] == '/')
					seg = path + i + 1;
			size_t k = (size_t)(path + n - seg);
			if (k && k < sizeof(derived)) {
				memcpy(derived, seg, k);
				derived[k] = '\0';
			}
		}
	}
	struct fb_simasset *a = fb_simassets_new(m, w, p, signed_url ? VIA_SIGNED : VIA_URL,
						 fname && *fname ? fname : derived,
						 ctype	      ? ctype
						 : signed_url ? NULL
							      : "image/png");
	rc = a ? fb_simassets_answer(m, resp, 201, a, 1) : FB_ENOMEM;
out:
	fb_simreq_release(&rq);
	return rc;
}

int fb_simassets_get(struct fb_simmodel *m, const char *id, struct fb_simresp *resp)
{
	const struct fb_simasset *a = fb_simassets_find(m, id);
	if (!a)
		return fb_sim_not_found(resp, "Asset", id);
	struct fb_simjw w;
	if (fb_simjw_start(&w, m->camel))
		return FB_ENOMEM;
	write_record(m, &w, a, 0);
	return fb_sim_json(resp, 200, fb_simjw_finish(&w, &resp->body));
}

int fb_simassets_list(struct fb_simmodel *m, const struct fb_simquery *q, struct fb_simresp *resp)
{
	size_t limit;
	int rc = 0;
	if (fb_sim_limit(resp, fb_simquery_get(q, "limit"), &limit, &rc))
		return rc;
	const char *ws = fb_simquery_get(q, "workspace_id"), *cursor = fb_simquery_get(q, "cursor");
	int w = ws && *ws ? fb_simcat_workspace(ws) : -2;
	long long from = cursor && *cursor ? fb_sim_cursor_pos(cursor) : (long long)m->nassets;
	if (from < 0 || from > (long long)m->nassets)
		return fb_sim_field_error(resp, "cursor", "Invalid cursor");
	struct fb_simjw jw;
	if (fb_simjw_start(&jw, m->camel))
		return FB_ENOMEM;
	size_t shown = 0, total = 0, last = 0;
	fb_simjw_open(&jw, 0);
	fb_simjw_key(&jw, "assets");
	fb_simjw_open(&jw, 1);
	for (size_t i = m->nassets; i-- > 0;) {
		if (w != -2 && m->assets[i]->workspace != w)
			continue;
		total++;
		if (i < (size_t)from && shown < limit) {
			write_record(m, &jw, m->assets[i], 1);
			shown++;
			last = i;
		}
	}
	fb_simjw_close(&jw, 1);
	fb_simjw_key(&jw, "meta");
	fb_simjw_open(&jw, 0);
	fb_simjw_key(&jw, "next_cursor");
	char cur[32];
	fb_sim_cursor(last, cur);
	int more = 0;
	for (size_t i = last; shown == limit && i-- > 0 && !more;)
		more = w == -2 || m->assets[i]->workspace == w;
	fb_simjw_str(&jw, more ? cur : NULL);
	fb_simjw_key(&jw, "total_estimate");
	fb_simjw_int(&jw, (long long)total);
	fb_simjw_close(&jw, 0);
	fb_simjw_close(&jw, 0);
	return fb_sim_json(resp, 200, fb_simjw_finish(&jw, &resp->body));
}

int fb_simassets_expired(struct fb_simmodel *m, const struct fb_simasset *a)
{
	return a->status == AS_PENDING && fb_clock_wall_ms(m->clock) > a->expires_wall;
}

static int set_failed(struct fb_simasset *a, const char *why)
{
	a->status = AS_FAILED;
	free(a->failure);
	return (a->failure = fb_strdup(why)) ? 0 : FB_ENOMEM;
}

int fb_simassets_complete(struct fb_simmodel *m, const char *id, struct fb_simresp *resp)
{
	struct fb_simasset *a = fb_simassets_find(m, id);
	if (!a)
		return fb_sim_not_found(resp, "Asset", id);
	if (a->status != AS_PENDING)
		return fb_sim_error(resp, 409, "conflict",
				    "Asset '%s' is %s; only a pending upload can be completed.", id,
				    fb_simasset_status[a->status]);
	int rc = 0;
	if (fb_simassets_expired(m, a))
		rc = set_failed(a, "The upload URL expired before the upload was completed.");
	else if (!a->uploaded)
		rc = set_failed(a, "No file was uploaded.");
	else
		a->status = AS_READY;
	return rc ? rc : fb_simassets_answer(m, resp, 200, a, 0);
}

int fb_simassets_retry(struct fb_simmodel *m, const char *id, struct fb_simresp *resp)
{
	struct fb_simasset *a = fb_simassets_find(m, id);
	if (!a)
		return fb_sim_not_found(resp, "Asset", id);
	if (a->via != VIA_SIGNED || !(a->status == AS_FAILED || fb_simassets_expired(m, a)))
		return fb_sim_error(
		    resp, 409, "conflict",
		    "Asset '%s' is %s; only a failed or expired upload can be retried.", id,
		    fb_simasset_status[a->status]);
	reserve(m, a);
	return fb_simassets_answer(m, resp, 200, a, 0);
}
