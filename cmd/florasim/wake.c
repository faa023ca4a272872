/*
 * wake: a deadline heap of suspended connections and the thread that
 * resumes them. Deadlines ride CLOCK_MONOTONIC so the condition variable
 * can wait on the same clock.
 */
#include "wake.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct entry {
	uint64_t due_ms;
	uint64_t seq; /* ties resume in suspension order */
	struct MHD_Connection *conn;
};

struct fs_wake {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int started, stopping;
	struct entry *heap;
	size_t n, cap;
	uint64_t seq;
};

uint64_t fs_wake_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int before(const struct entry *a, const struct entry *b)
{
	return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static int push(struct fs_wake *w, struct entry e)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct entry *h = realloc(w->heap, cap * sizeof(*h));
		if (!h)
			return -1;
		w->heap = h;
		w->cap = cap;
	}
	size_t i = w->n++;
	while (i > 0 && before(&e, &w->heap[(i - 1) / 2])) {
		w->heap[i] = w->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	w->heap[i] = e;
	return 0;
}

static struct entry pop(struct fs_wake *w)
{
	struct entry top = w->heap[0], last = w->heap[--w->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= w->n)
			break;
		if (c + 1 < w->n && before(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!before(&w->heap[c], &last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->n)
		w->heap[i] = last;
	return top;
}

static void *run(void *arg)
{
	struct fs_wake *w = arg;
	struct MHD_Connection *batch[64];
	pthread_mutex_lock(&w->mu);
	for (;;) {
		uint64_t now = fs_wake_now_ms();
		size_t k = 0;
		while (k < 64 && w->n && (w->stopping || w->heap[0].due_ms <= now))
			batch[k++] = pop(w).conn;
		if (k) {
			/*
			 * Resumed outside the lock so that this lock never nests
			 * inside libmicrohttpd's own. The connections stay
			 * suspended (so valid) until resumed here.
			 */
			pthread_mutex_unlock(&w->mu);
			for (size_t i = 0; i < k; i++)
				MHD_resume_connection(batch[i]);
			pthread_mutex_lock(&w->mu);
			continue;
		}
		if (w->stopping)
			break;
		if (!w->n) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		uint64_t due = w->heap[0].due_ms;
		struct timespec ts = {(time_t)(due / 1000), (long)(due % 1000) * 1000000};
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int fs_wake_new(struct fs_wake **out, struct fb_err *err)
{
	*out = NULL;
	struct fs_wake *w = calloc(1, sizeof(*w));
	if (!w)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&w->thread, NULL, run, w);
	if (rc) {
		fs_wake_free(w);
		return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH, "cannot start a thread (error %d)",
				  rc);
	}
	w->started = 1;
	*out = w;
	return 0;
}

int fs_wake_suspend(struct fs_wake *w, struct MHD_Connection *conn, uint64_t due_ms)
{
	int ok = 0;
	pthread_mutex_lock(&w->mu);
	if (!w->stopping && !push(w, (struct entry){due_ms, w->seq++, conn})) {
		/* Suspended before the lock drops, so the thread never resumes a running one. */
		MHD_suspend_connection(conn);
		if (w->heap[0].conn == conn)
			pthread_cond_signal(&w->cv);
		ok = 1;
	}
	pthread_mutex_unlock(&w->mu);
	return ok;
}

size_t fs_wake_pending(struct fs_wake *w)
{
	pthread_mutex_lock(&w->mu);
	size_t n = w->n;
	pthread_mutex_unlock(&w->mu);
	return n;
}

void fs_wake_stop(struct fs_wake *w)
{
	if (!w || !w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	w->started = 0;
}

void fs_wake_free(struct fs_wake *w)
{
	if (!w)
		return;
	fs_wake_stop(w);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->heap);
	free(w);
}
