/* hostsrv: a scripted HTTP/1.1 server for end-to-end tests (see hostsrv.h). */
#include "hostsrv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX (1u << 20) /* a 10 kB URL fits many times over */

struct conn {
	struct hs_server *s;
	pthread_t th;
	int fd;
};

struct hs_server {
	int lfd;
	char root[64];
	hs_handler handler;
	void *ud;
	pthread_t acceptor;
	pthread_mutex_t mu;
	atomic_int stop;     /* set by hs_stop, read by every thread */
	struct conn **conns; /* every connection, closed by hs_stop */
	size_t nconns;
	char **heads; /* every request head */
	size_t nheads;
};

static void die(const char *what)
{
	fprintf(stderr, "hostsrv: %s: %s\n", what, strerror(errno));
	abort();
}

int hs_write(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int hs_reply(int fd, int status, const char *ctype, const char *extra, const void *body, size_t n)
{
	char head[1024];
	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d Hostile\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		 "Connection: close\r\n\r\n",
		 status, ctype ? ctype : "application/json", n, extra ? extra : "");
	return hs_write(fd, head, strlen(head)) || hs_write(fd, body, n) ? -1 : 0;
}

int hs_pause(struct hs_server *s, long ms)
{
	while (ms > 0 && !s->stop) {
		long step = ms < 20 ? ms : 20;
		struct timespec ts = {0, step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return s->stop ? -1 : 0;
}

void hs_hold(struct hs_server *s, int fd)
{
	char buf[4096];
	while (!s->stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, 20);
		if (n < 0 && errno != EINTR)
			return;
		if (n > 0 && recv(fd, buf, sizeof(buf), 0) <= 0)
			return; /* the peer gave up */
	}
}

size_t hs_count(struct hs_server *s, const char *needle)
{
	size_t n = 0;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nheads; i++)
		n += strstr(s->heads[i], needle) != NULL;
	pthread_mutex_unlock(&s->mu);
	return n;
}

size_t hs_requests(struct hs_server *s)
{
	pthread_mutex_lock(&s->mu);
	size_t n = s->nheads;
	pthread_mutex_unlock(&s->mu);
	return n;
}

const char *hs_root(const struct hs_server *s)
{
	return s->root;
}

/* Reads until the head's blank line: its length with the blank line, or 0. */
static size_t read_head(struct hs_server *s, int fd, char *buf, size_t cap, size_t *have)
{
	*have = 0;
	while (!s->stop && *have < cap - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 20) <= 0)
			continue;
		ssize_t r = recv(fd, buf + *have, cap - 1 - *have, 0);
		if (r <= 0)
			return 0;
		*have += (size_t)r;
		buf[*have] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end)
			return (size_t)(end - buf) + 4;
	}
	return 0;
}

/* Reads and drops the body, so closing never resets the connection under the answer. */
static void drop_body(struct hs_server *s, int fd, const char *head, size_t extra)
{
	size_t want = 0;
	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n"))
		if (!strncasecmp(l + 2, "Content-Length:", 15))
			want = strtoul(l + 17, NULL, 10);
	char buf[4096];
	while (!s->stop && extra < want) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 20) <= 0)
			continue;
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0)
			return;
		extra += (size_t)r;
	}
}

static void *serve(void *arg)
{
	struct conn *c = arg;
	struct hs_server *s = c->s;
	char *buf = malloc(HEAD_MAX);
	size_t have = 0, n = buf ? read_head(s, c->fd, buf, HEAD_MAX, &have) : 0;
	if (n) {
		buf[n - 2] = '\0'; /* the head ends with its last header line's CRLF */
		drop_body(s, c->fd, buf, have - n);
		struct hs_req r = {.head = buf};
		const char *sp = strchr(buf, ' '), *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
		char *target = sp && sp2 ? malloc((size_t)(sp2 - sp)) : NULL;
		char *copy = strdup(buf);
		if (target && copy && (size_t)(sp - buf) < sizeof(r.method)) {
			memcpy(r.method, buf, (size_t)(sp - buf));
			memcpy(target, sp + 1, (size_t)(sp2 - sp - 1));
			target[sp2 - sp - 1] = '\0';
			r.target = target;
			pthread_mutex_lock(&s->mu);
			char **h = realloc(s->heads, (s->nheads + 1) * sizeof(*h));
			if (h) {
				s->heads = h;
				s->heads[s->nheads++] = copy;
				copy = NULL;
			}
			pthread_mutex_unlock(&s->mu);
			s->handler(s, s->ud, c->fd, &r);
		}
		free(target);
		free(copy);
	}
	free(buf);
	shutdown(c->fd, SHUT_RDWR); /* the end of the answer, whatever it said its length was */
	return NULL;
}

static void *accept_loop(void *arg)
{
	struct hs_server *s = arg;
	while (!s->stop) {
		struct pollfd p = {.fd = s->lfd, .events = POLLIN};
		if (poll(&p, 1, 20) <= 0)
			continue;
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		struct conn *c = calloc(1, sizeof(*c));
		if (!c)
			die("calloc");
		c->s = s;
		c->fd = fd;
		pthread_mutex_lock(&s->mu);
		struct conn **cs = realloc(s->conns, (s->nconns + 1) * sizeof(*cs));
		if (!cs)
			die("realloc");
		s->conns = cs;
		s->conns[s->nconns++] = c;
		pthread_mutex_unlock(&s->mu);
		if (pthread_create(&c->th, NULL, serve, c))
			die("pthread_create");
	}
	return NULL;
}

struct hs_server *hs_start(const char *ip, hs_handler h, void *ud)
{
	struct hs_server *s = calloc(1, sizeof(*s));
	if (!s)
		die("calloc");
	s->handler = h;
	s->ud = ud;
	pthread_mutex_init(&s->mu, NULL);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1)
		die(ip);
	socklen_t len = sizeof(sin);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(s->lfd, 64) || getsockname(s->lfd, (struct sockaddr *)&sin, &len))
		die("listen");
	snprintf(s->root, sizeof(s->root), "http://%s:%u", ip, (unsigned)ntohs(sin.sin_port));
	if (pthread_create(&s->acceptor, NULL, accept_loop, s))
		die("pthread_create");
	return s;
}

void hs_stop(struct hs_server *s)
{
	if (!s)
		return;
	s->stop = 1;
	pthread_join(s->acceptor, NULL);
	close(s->lfd);
	for (size_t i = 0; i < s->nconns; i++) {
		shutdown(s->conns[i]->fd, SHUT_RDWR);
		pthread_join(s->conns[i]->th, NULL);
		close(s->conns[i]->fd);
		free(s->conns[i]);
	}
	for (size_t i = 0; i < s->nheads; i++)
		free(s->heads[i]);
	free(s->heads);
	free(s->conns);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
