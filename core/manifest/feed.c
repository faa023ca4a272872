/* feed: a live manifest read off the event loop, handed over through a bounded queue. */
#include "feed.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fb_feed {
	struct fb_manifest *m;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t room;		 /* the queue has room, or stop was asked */
	struct fb_item q[FB_FEED_QUEUE]; /* a ring */
	size_t head, len;
	int ended; /* the thread read its last item: end_rc says why */
	int end_rc;
	struct fb_err end_err;
	int stop;
	int wake[2];   /* a byte in wake[0]: something to take */
	int cancel[2]; /* a byte in cancel[0]: the thread's read gives up */
};

static void poke(int fd)
{
	char b = 1;
	while (write(fd, &b, 1) < 0 && errno == EINTR)
		;
	/* EAGAIN: the pipe is full of pokes already, and one is enough. */
}

static void drain(int fd)
{
	char b[64];
	while (read(fd, b, sizeof(b)) > 0)
		;
}

static void *reader(void *arg)
{
	struct fb_feed *f = arg;
	for (;;) {
		pthread_mutex_lock(&f->lock);
		while (f->len == FB_FEED_QUEUE && !f->stop)
			pthread_cond_wait(&f->room, &f->lock);
		int stop = f->stop;
		pthread_mutex_unlock(&f->lock);
		if (stop)
			return NULL;
		struct fb_item it = {0};
		struct fb_err e = {0};
		int rc = fb_manifest_next(f->m, &it, &e);
		pthread_mutex_lock(&f->lock);
		int was_empty = f->len == 0;
		if (rc == 1) {
			f->q[(f->head + f->len) % FB_FEED_QUEUE] = it;
			f->len++;
		} else {
			fb_item_release(&it);
			f->ended = 1;
			f->end_rc = rc;
			f->end_err = e;
		}
		pthread_mutex_unlock(&f->lock);
		if (was_empty)
			poke(f->wake[1]);
		if (rc != 1)
			return NULL;
	}
}

static int pipe_nb(int p[2])
{
	if (pipe(p))
		return -1;
	for (int i = 0; i < 2; i++)
		if (fcntl(p[i], F_SETFL, O_NONBLOCK) || fcntl(p[i], F_SETFD, FD_CLOEXEC))
			return -1;
	return 0;
}

static void close_pipe(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
}

int fb_feed_start(struct fb_feed **out, struct fb_manifest *m, struct fb_err *err)
{
	*out = NULL;
	struct fb_feed *f = calloc(1, sizeof(*f));
	if (!f)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	f->m = m;
	f->wake[0] = f->wake[1] = f->cancel[0] = f->cancel[1] = -1;
	if (pipe_nb(f->wake) || pipe_nb(f->cancel)) {
		int e = errno;
		close_pipe(f->wake);
		close_pipe(f->cancel);
		free(f);
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot read %s as a stream: %s",
				  fb_manifest_name(m), strerror(e));
	}
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->room, NULL);
	fb_manifest_set_cancel(m, f->cancel[0]);
	/* Signals go to the loop's thread, whose waits they are meant to end. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&f->thread, NULL, reader, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		fb_manifest_set_cancel(m, -1);
		pthread_cond_destroy(&f->room);
		pthread_mutex_destroy(&f->lock);
		close_pipe(f->wake);
		close_pipe(f->cancel);
		free(f);
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot start a reader for %s: %s",
				  fb_manifest_name(m), strerror(rc));
	}
	*out = f;
	return 0;
}

int fb_feed_next(struct fb_feed *f, struct fb_item *item, struct fb_err *err)
{
	int rc;
	pthread_mutex_lock(&f->lock);
	if (f->len) {
		*item = f->q[f->head];
		memset(&f->q[f->head], 0, sizeof(f->q[f->head]));
		f->head = (f->head + 1) % FB_FEED_QUEUE;
		if (f->len-- == FB_FEED_QUEUE)
			pthread_cond_signal(&f->room);
		rc = 1;
	} else if (f->ended) {
		rc = f->end_rc;
		if (rc < 0 && err)
			*err = f->end_err;
	} else {
		/* Under the lock: a poke after this is for an item this did not see. */
		drain(f->wake[0]);
		rc = FB_EAGAIN;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int fb_feed_fd(const struct fb_feed *f)
{
	return f->wake[0];
}

void fb_feed_free(struct fb_feed *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = 1;
	pthread_cond_signal(&f->room);
	pthread_mutex_unlock(&f->lock);
	poke(f->cancel[1]);
	pthread_join(f->thread, NULL);
	fb_manifest_set_cancel(f->m, -1);
	for (size_t i = 0; i < f->len; i++)
		fb_item_release(&f->q[(f->head + i) % FB_FEED_QUEUE]);
	pthread_cond_destroy(&f->room);
	pthread_mutex_destroy(&f->lock);
	close_pipe(f->wake);
	close_pipe(f->cancel);
	free(f);
}
