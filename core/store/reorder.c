/* reorder: a ring of the window's slots, indexed by seq. */
#include "reorder.h"

#include <stdlib.h>
#include <string.h>

enum { EMPTY = 0, HELD, PASSED };

struct slot {
	int state;
	char *line;
	size_t len;
};

struct fb_reorder {
	struct slot *s;
	size_t window, held;
	uint64_t base; /* the next seq to leave */
	fb_reorder_emit emit;
	void *ud;
};

int fb_reorder_new(struct fb_reorder **out, size_t window, fb_reorder_emit emit, void *ud)
{
	*out = NULL;
	struct fb_reorder *o = calloc(1, sizeof(*o));
	if (!o || !window || !(o->s = calloc(window, sizeof(*o->s)))) {
		free(o);
		return window ? FB_ENOMEM : FB_EINVAL;
	}
	o->window = window;
	o->base = 1;
	o->emit = emit;
	o->ud = ud;
	*out = o;
	return 0;
}

int fb_reorder_room(const struct fb_reorder *o, uint64_t seq)
{
	return seq < o->base + o->window;
}

/* Lets out the lines at the front, up to the first item still out. */
static int advance(struct fb_reorder *o)
{
	for (;;) {
		struct slot *sl = &o->s[o->base % o->window];
		if (sl->state == EMPTY)
			return 0;
		if (sl->state == HELD) {
			int rc = o->emit(o->ud, sl->line, sl->len);
			if (rc)
				return rc;
			free(sl->line);
			o->held--;
		}
		*sl = (struct slot){0};
		o->base++;
	}
}

int fb_reorder_put(struct fb_reorder *o, uint64_t seq, const char *line, size_t len)
{
	if (seq < o->base)
		return line ? o->emit(o->ud, line, len) : 0;
	if (!fb_reorder_room(o, seq))
		return FB_ESTATE;
	struct slot *sl = &o->s[seq % o->window];
	if (sl->state != EMPTY)
		return FB_ESTATE; /* two lines for one item */
	if (line) {
		if (!(sl->line = malloc(len ? len : 1)))
			return FB_ENOMEM;
		memcpy(sl->line, line, len);
		sl->len = len;
		sl->state = HELD;
		o->held++;
	} else {
		sl->state = PASSED;
	}
	return advance(o);
}

size_t fb_reorder_held(const struct fb_reorder *o)
{
	return o->held;
}

int fb_reorder_drain(struct fb_reorder *o)
{
	while (o->held) {
		struct slot *sl = &o->s[o->base % o->window];
		if (sl->state == EMPTY)
			sl->state = PASSED; /* an item that never ended: the next go on */
		int rc = advance(o);
		if (rc)
			return rc;
	}
	return 0;
}

void fb_reorder_free(struct fb_reorder *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->window; i++)
		free(o->s[i].line);
	free(o->s);
	free(o);
}
