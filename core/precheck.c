/* precheck: --strict's reading of a whole manifest before anything runs. */
#include "precheck.h"

int fb_precheck_manifest(const char *path, enum fb_format format,
			 const struct fb_resolve_defaults *defaults, struct fb_log *log,
			 uint64_t *invalid, struct fb_err *err)
{
	struct fb_manifest *m;
	int rc = fb_manifest_open(&m, path, format, err);
	if (rc)
		return rc;
	*invalid = 0;
	for (;;) {
		struct fb_item it = {0};
		rc = fb_manifest_next(m, &it, err);
		if (rc <= 0) {
			fb_item_release(&it);
			break;
		}
		if (fb_resolve_item(&it, defaults)) {
			fb_item_release(&it);
			rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
			break;
		}
		if (it.invalid) {
			fb_log_msg(log, FB_LOG_ERROR, "%s: %s", it.source, it.invalid);
			(*invalid)++;
		}
		fb_item_release(&it);
	}
	fb_manifest_free(m);
	return rc < 0 ? rc : 0;
}
