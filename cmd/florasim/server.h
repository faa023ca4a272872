/*
 * server: florasim's HTTP side. Listens on 127.0.0.1, hands every request
 * under /api/v1 to the simulated API model (transports/sim/simmodel) and sends
 * back its answer, acting out the faults the model asks for (closed
 * connections, truncated and slow bodies) and the configured latency
 * without holding up other connections.
 */
#ifndef FS_SERVER_H
#define FS_SERVER_H

#include "buf.h"
#include "error.h"
#include "flags.h"

struct fs_server;

/*
 * Binds 127.0.0.1:flags->port (0: a free port), creates the model with the
 * server's URL as its base_url and starts serving. flags is copied; the
 * strings it points to are borrowed for the server's lifetime. Caller frees
 * with fs_server_free.
 */
int fs_server_start(struct fs_server **out, const struct fs_flags *flags, struct fb_err *err);

/* The bound port, and the API's base URL "http://127.0.0.1:PORT/api/v1" (borrowed). */
unsigned fs_server_port(const struct fs_server *s);
const char *fs_server_url(const struct fs_server *s);

/* Stops accepting, wakes every waiting connection, closes all of them. Idempotent. */
void fs_server_stop(struct fs_server *s);

/* One line (no newline) of what was served; call after fs_server_stop. */
int fs_server_summary(struct fs_server *s, struct fb_buf *out);

/* Stops (if needed) and frees. NULL is fine. */
void fs_server_free(struct fs_server *s);

#endif
