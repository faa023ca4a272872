/* collector: the single owner of the results file and the outputs archive. */
#include "collector.h"
#include "fbarchive.h"

#include <stdlib.h>

struct fb_collector {
	struct fb_results *results;
	struct fb_archive *archive; /* NULL when outputs are not kept */
	struct fb_collector_stats stats;
	int64_t mtime_s;
};

int fb_collector_open(struct fb_collector **out, const struct fb_collector_config *cfg,
		      struct fb_err *err)
{
	struct fb_collector *c = calloc(1, sizeof(*c));
	if (!c)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	c->mtime_s = cfg->mtime_s;
	int rc = fb_results_open(&c->results, cfg->results_path, err);
	if (!rc && cfg->archive_path)
		rc = fb_archive_open(&c->archive, cfg->archive_path, err);
	if (rc) {
		if (c->results)
			fb_results_close(c->results, NULL);
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int fb_collector_add_output(struct fb_collector *c, const char *item_id, const char *output_id,
			    const char *ext, const void *data, size_t len, struct fb_buf *path,
			    struct fb_err *err)
{
	struct fb_buf name = FB_BUF_INIT;
	int rc = fb_buf_addf(&name, "%s.%s", output_id, ext);
	if (rc) {
		fb_buf_release(&name);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	if (c->archive) {
		rc =
		    fb_archive_add(c->archive, item_id, name.ptr, data, len, c->mtime_s, path, err);
		if (!rc) {
			c->stats.outputs++;
			c->stats.output_bytes += len;
		}
	} else {
		fb_buf_reset(path);
		if (fb_buf_adds(path, item_id) || fb_buf_addc(path, '/') ||
		    fb_buf_add(path, name.ptr, name.len))
			rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	fb_buf_release(&name);
	return rc;
}

int fb_collector_write(struct fb_collector *c, const struct fb_result *res, struct fb_err *err)
{
	int rc = fb_results_write(c->results, res, err);
	if (!rc)
		c->stats.results++;
	return rc;
}

void fb_collector_stats(const struct fb_collector *c, struct fb_collector_stats *out)
{
	*out = c->stats;
}

int fb_collector_close(struct fb_collector *c, struct fb_err *err)
{
	int rc = 0;
	if (c->archive)
		rc = fb_archive_close(c->archive, err);
	int rc2 = fb_results_close(c->results, rc ? NULL : err);
	free(c);
	return rc ? rc : rc2;
}
