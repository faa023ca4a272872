/* outstream: result lines on standard output, as items end or in input order. */
#include "outstream.h"
#include "buf.h"
#include "reorder.h"

#include <stdlib.h>
#include <string.h>

struct fb_outstream {
	struct fb_results *r; /* NULL once the reader went away */
	int gone;
	struct fb_reorder *order; /* NULL: completion order */
	struct fb_buf line;	  /* scratch: one encoded line */
	struct fb_err failure;	  /* a write error other than EPIPE, from inside emit */
};

/* A reader that left ends the stream, not the batch's work. */
static int gone_or(struct fb_outstream *s, int rc)
{
	if (rc != FB_EPIPE)
		return rc;
	fb_results_close(s->r, NULL);
	s->r = NULL;
	s->gone = 1;
	return 0;
}

static int emit(void *ud, const char *line, size_t len)
{
	struct fb_outstream *s = ud;
	if (!s->r)
		return 0;
	return gone_or(s, fb_results_write_line(s->r, line, len, &s->failure));
}

int fb_outstream_open(struct fb_outstream **out, size_t keep_order, struct fb_err *err)
{
	*out = NULL;
	struct fb_outstream *s = calloc(1, sizeof(*s));
	if (!s)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	int rc = fb_results_open(&s->r, "-", err);
	if (!rc && keep_order && fb_reorder_new(&s->order, keep_order, emit, s))
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	if (rc) {
		fb_outstream_close(s, NULL);
		return rc;
	}
	*out = s;
	return 0;
}

int fb_outstream_write(struct fb_outstream *s, const struct fb_result *res, struct fb_err *err)
{
	if (!s->r)
		return 0;
	if (!s->order || !res->seq)
		return gone_or(s, fb_results_write(s->r, res, err));
	fb_buf_reset(&s->line);
	int rc = fb_result_to_json(res, &s->line, err);
	if (!rc && fb_buf_addc(&s->line, '\n'))
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	if (rc)
		return rc;
	rc = fb_reorder_put(s->order, res->seq, s->line.ptr, s->line.len);
	if (rc && err && s->failure.code)
		*err = s->failure;
	else if (rc)
		fb_err_set(err, rc, FB_KIND_BATCH, "cannot keep the order of result lines (%s)",
			   fb_errcode_name(rc));
	return rc;
}

int fb_outstream_pass(struct fb_outstream *s, uint64_t seq, struct fb_err *err)
{
	if (!s->r || !s->order || !seq)
		return 0;
	int rc = fb_reorder_put(s->order, seq, NULL, 0);
	if (rc && err)
		*err = s->failure;
	return rc;
}

int fb_outstream_room(const struct fb_outstream *s, uint64_t seq)
{
	return !s->r || !s->order || fb_reorder_room(s->order, seq);
}

int fb_outstream_gone(const struct fb_outstream *s)
{
	return s->gone;
}

int fb_outstream_close(struct fb_outstream *s, struct fb_err *err)
{
	if (!s)
		return 0;
	int rc = s->order && s->r ? fb_reorder_drain(s->order) : 0;
	if (rc && err)
		*err = s->failure;
	if (s->r) {
		int rc2 = fb_results_close(s->r, rc ? NULL : err);
		rc = rc ? rc : rc2 == FB_EPIPE ? 0 : rc2;
	}
	fb_reorder_free(s->order);
	fb_buf_release(&s->line);
	free(s);
	return rc;
}
