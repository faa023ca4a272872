/* precheck: --strict's reading of a whole manifest before anything runs. */
#include "precheck.h"
#include "dupids.h"

int fb_precheck_manifest(const char *path, enum fb_format format,
			 const struct fb_resolve_defaults *defaults, struct fb_log *log,
			 uint64_t *invalid, struct fb_err *err)
{
	struct fb_manifest *m;
	int rc = fb_manifest_open(&m, path, format, err);
	if (rc)
		return rc;
	*invalid = 0;
	struct fb_dupids *ids = fb_dupids_new();
	if (!ids) {
		fb_manifest_free(m);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
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
		uint64_t first = 0;
		int dup = it.invalid ? 0 : fb_dupids_note(ids, &it, &first);
		if (dup < 0) {
			fb_item_release(&it);
			rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
			break;
		}
		if (it.invalid) {
			fb_log_msg(log, FB_LOG_ERROR, "%s: %s", it.source, it.invalid);
			(*invalid)++;
		} else if (dup) {
			fb_log_msg(log, FB_LOG_ERROR,
				   "%s: id \"%s\" is the id of line %llu too: results.jsonl would "
				   "hold two lines with it; give each row its own id",
				   it.source, it.id, (unsigned long long)first);
			(*invalid)++;
		}
		fb_item_release(&it);
	}
	fb_dupids_free(ids);
	fb_manifest_free(m);
	return rc < 0 ? rc : 0;
}
