/* timers: binary min-heap keyed by (due, insertion order). */
#include "timers.h"
#include "error.h"

#include <stdlib.h>

static int before(const struct fb_timer *a, const struct fb_timer *b)
{
	return a->due_ms != b->due_ms ? a->due_ms < b->due_ms : a->seq < b->seq;
}

static void swap(struct fb_timer *a, struct fb_timer *b)
{
	struct fb_timer t = *a;
	*a = *b;
	*b = t;
}

int fb_timers_add(struct fb_timers *t, uint64_t due_ms, void *ptr, uint64_t tag)
{
	if (t->len == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct fb_timer *h = realloc(t->heap, cap * sizeof(*h));
		if (!h)
			return FB_ENOMEM;
		t->heap = h;
		t->cap = cap;
	}
	size_t i = t->len++;
	t->heap[i] = (struct fb_timer){due_ms, t->next_seq++, ptr, tag};
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!before(&t->heap[i], &t->heap[parent]))
			break;
		swap(&t->heap[i], &t->heap[parent]);
		i = parent;
	}
	return 0;
}

const struct fb_timer *fb_timers_peek(const struct fb_timers *t)
{
	return t->len ? &t->heap[0] : NULL;
}

int fb_timers_pop(struct fb_timers *t, struct fb_timer *out)
{
	if (!t->len)
		return 0;
	*out = t->heap[0];
	t->heap[0] = t->heap[--t->len];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->len && before(&t->heap[l], &t->heap[m]))
			m = l;
		if (r < t->len && before(&t->heap[r], &t->heap[m]))
			m = r;
		if (m == i)
			break;
		swap(&t->heap[i], &t->heap[m]);
		i = m;
	}
	return 1;
}

void fb_timers_release(struct fb_timers *t)
{
	free(t->heap);
	*t = (struct fb_timers)FB_TIMERS_INIT;
}
