/* intake: a manifest read in place, or through a feed the transport watches. */
#include "intake.h"
#include "feed.h"

#include <stdlib.h>

#define POLL_MS 20 /* a transport that cannot watch: how often the loop looks for an item */

struct fb_intake {
	struct fb_manifest *m;
	struct fb_transport *t;
	struct fb_feed *feed; /* NULL: a file, read in place */
	int watching;
	int cannot_watch;
	int wanted;
};

int fb_intake_open(struct fb_intake **out, struct fb_manifest *m, struct fb_transport *t,
		   struct fb_err *err)
{
	*out = NULL;
	struct fb_intake *in = calloc(1, sizeof(*in));
	if (!in)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	in->m = m;
	in->t = t;
	if (fb_manifest_live(m)) {
		int rc = fb_feed_start(&in->feed, m, err);
		if (rc) {
			free(in);
			return rc;
		}
	}
	*out = in;
	return 0;
}

int fb_intake_next(struct fb_intake *in, struct fb_item *item, struct fb_err *err)
{
	return in->feed ? fb_feed_next(in->feed, item, err) : fb_manifest_next(in->m, item, err);
}

void fb_intake_want(struct fb_intake *in, int want)
{
	in->wanted = want;
	if (!in->feed || in->cannot_watch || want == in->watching)
		return;
	int rc = fb_transport_watch(in->t, want ? fb_feed_fd(in->feed) : -1);
	if (rc && want) {
		in->cannot_watch = 1; /* the loop looks every POLL_MS instead */
		return;
	}
	in->watching = want;
}

uint64_t fb_intake_max_wait_ms(const struct fb_intake *in)
{
	return in->feed && in->cannot_watch && in->wanted ? POLL_MS : UINT64_MAX;
}

int fb_intake_live(const struct fb_intake *in)
{
	return in->feed != NULL;
}

void fb_intake_free(struct fb_intake *in)
{
	if (!in)
		return;
	if (in->watching)
		fb_transport_watch(in->t, -1);
	fb_feed_free(in->feed);
	free(in);
}
