/* httpcatalog: the technique catalog (GET /techniques, GET /techniques/{id}) over libcurl. */
#include "httpreq.h"

#include <string.h>

int fb_http_catalog_start(struct fb_http *h, const struct fb_catalog_query *query, fb_catalog_cb cb,
			  void *ud, struct fb_err *err)
{
	if (!query || !cb)
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
				  "techniques: no query or callback");
	struct fb_api_call call = FB_API_CALL_INIT;
	struct fb_http_req *q = NULL;
	int rc = fb_api_techniques_call(query, &call, err);
	if (!rc)
		rc = fb_http_req_api(h, &call, NULL, ud, &q, err);
	if (!rc) {
		q->catalog = cb;
		q->catalog_one = query->technique != NULL;
		rc = fb_http_submit(h, q, err);
	}
	fb_api_call_release(&call);
	return rc;
}

void fb_http_catalog_finish(struct fb_http *h, struct fb_http_req *q, CURLcode res)
{
	struct fb_catalog_reply r;
	struct fb_api_catalog keep;
	memset(&r, 0, sizeof(r));
	memset(&keep, 0, sizeof(keep));
	if (fb_http_req_answer(q, res, &r.http_status, &r.request_id, &r.retry_after_ms, &r.err))
		fb_api_catalog_parse(fb_buf_str(&q->resp), q->resp.len, q->catalog_one, &r, &keep);
	if (!r.ok)
		fb_http_req_failed(h, &r.err, r.request_id);
	q->catalog(q->ud, &r);
	fb_api_catalog_release(&r, &keep);
}
