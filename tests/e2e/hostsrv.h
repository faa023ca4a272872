/*
 * hostsrv: a small scripted HTTP/1.1 server for the end-to-end tests of
 * what a broken or hostile server may do to florabatch. It listens on a
 * loopback address, reads one request per connection (its head, and its
 * body by Content-Length) and hands it to the test's handler, which writes
 * whatever bytes it likes, at whatever pace, or none at all: the cases an
 * ordinary server library will not send (a lying Content-Length, a header
 * a byte a second, a connection that never answers). Every request head is
 * kept, so a test can check what the server was sent. The handler runs on
 * a thread of the connection's own; hs_stop ends them all.
 */
#ifndef FB_HOSTSRV_H
#define FB_HOSTSRV_H

#include <stddef.h>

struct hs_server;

struct hs_req {
	char method[16];
	const char *target; /* as sent: "/api/v1/techniques/t/runs" */
	const char *head;   /* the whole request head, the request line first */
};

/* Answers r on fd (hostsrv closes it after); ud is hs_start's. */
typedef void (*hs_handler)(struct hs_server *s, void *ud, int fd, const struct hs_req *r);

/* A server on ip ("127.0.0.1", "127.0.0.2") at a free port; aborts on failure. */
struct hs_server *hs_start(const char *ip, hs_handler h, void *ud);
/* Closes every connection, ends the handlers and frees s. */
void hs_stop(struct hs_server *s);
/* "http://IP:PORT" */
const char *hs_root(const struct hs_server *s);

/* Writes all of p: 0, or -1 when the peer has gone. */
int hs_write(int fd, const void *p, size_t n);
/* A whole answer with Content-Length and Connection: close; extra is more header lines
 * ("Name: value\r\n" each), or NULL. */
int hs_reply(int fd, int status, const char *ctype, const char *extra, const void *body, size_t n);
/* Sleeps ms: 0, or -1 at once when the server stops. */
int hs_pause(struct hs_server *s, long ms);
/* Waits until the peer closes the connection or the server stops: a server that never answers. */
void hs_hold(struct hs_server *s, int fd);

/* How many request heads so far contain needle (case-sensitive). */
size_t hs_count(struct hs_server *s, const char *needle);
/* How many requests so far. */
size_t hs_requests(struct hs_server *s);

#endif
