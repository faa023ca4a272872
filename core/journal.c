/*
 * journal: the append-only record of creates sent and runs made, replayed
 * into a compact in-memory map on open. Only the replay fills the map
 * (see journal.h): a fresh batch's records cost no memory once written.
 *
 * Memory layout of the map, sized for a million keys of an earlier batch:
 * - Every key becomes a 16-byte id. A key in the project's own form ("fb1-"
 *   and 32 lowercase hex digits) is its 32 digits decoded; any other key is
 *   the first 16 bytes of its SHA-256, with a flag so the two kinds never
 *   meet. No key string is kept: lookups only need equality.
 * - Entries (id, run, poll, flags: 28 bytes) sit in one dense array; an
 *   open-addressing index of 32-bit entry numbers (linear probing, at most
 *   half full, hashed by the id's first 8 bytes) finds them.
 * - Run ids and poll URLs live in an arena of 1 MiB chunks addressed by
 *   32-bit references. Chunks never move, so the pointers fb_journal_run_of
 *   hands out stay valid until close. When the poll URL ends with the run id
 *   (the API's usual ".../runs/<run id>") the run id is the URL's tail and
 *   costs nothing more.
 * So a key costs 40 to 60 bytes (entry, index, growth slack) plus its poll
 * URL, or its run id when it has none: about 150 MB for a million runs with
 * 90-byte URLs, most of it the URLs themselves.
 */
#include "journal.h"
#include "buf.h"
#include "item.h"
#include "json.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NO_REF	     UINT32_MAX
#define CHUNK_BITS   20
#define CHUNK_SIZE   ((uint32_t)1 << CHUNK_BITS)
#define MAX_CHUNKS   4095 /* keeps every reference below NO_REF */
#define MAX_STR	     (64 * 1024)
#define MAX_LINE     (4 * 1024 * 1024) /* three MAX_STR strings, escaped, fit */
#define READ_SIZE    (64 * 1024)
#define MAX_ENTRIES  (UINT32_MAX - 1)
#define F_HASHED     1 /* id is a SHA-256 prefix, not a decoded "fb1-" key */
#define F_CREATE     2 /* a create record was seen */
#define ID_LEN	     16
#define CANON_PREFIX "fb1-"
#define CANON_LEN    36

struct entry {
	unsigned char id[ID_LEN];
	uint32_t run;  /* arena reference, or NO_REF */
	uint32_t poll; /* arena reference, or NO_REF */
	unsigned char flags;
};

struct fb_journal {
	int fd;
	char *path;
	off_t size;	    /* where the next record starts on disk */
	off_t open_size;    /* what the file held when opened: the part the map holds */
	int dirty;	    /* appended (or truncated) since the last fdatasync */
	struct fb_buf pend; /* records of this invocation not yet written (fb_journal_sync) */
	int failed;	    /* a write or sync failed: every later call repeats failure */
	struct fb_err failure;
	yajl_gen gen;
	struct fb_buf rec;

	struct entry *ents;
	uint32_t nents;
	size_t ents_cap;
	uint32_t *index; /* entry number + 1; 0 is an empty slot */
	size_t index_cap;

	char **chunks;
	uint32_t nchunks;
	uint32_t chunk_used; /* bytes used in the last chunk */

	size_t skipped;	   /* lines of the replay that were not records */
	size_t superseded; /* runs of the map replaced by a later run of their key */
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int decode_hex(const char *hex, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* The key's id and whether it is hashed. 0 or FB_ENOMEM. */
static int key_id(const char *key, unsigned char id[ID_LEN], unsigned char *hashed)
{
	char hex[FB_SHA256_HEX_LEN + 1];

	*hashed = 0;
	if (strlen(key) == CANON_LEN && !strncmp(key, CANON_PREFIX, 4) &&
	    decode_hex(key + 4, id, ID_LEN) == 0)
		return 0;
	*hashed = F_HASHED;
	if (fb_sha256_hex(key, strlen(key), hex))
		return FB_ENOMEM;
	decode_hex(hex, id, ID_LEN);
	return 0;
}

static size_t slot_of(const unsigned char id[ID_LEN], size_t cap)
{
	uint64_t h;
	memcpy(&h, id, sizeof(h)); /* the id is already uniformly distributed */
	return (size_t)h & (cap - 1);
}

static struct entry *find(const struct fb_journal *j, const unsigned char id[ID_LEN],
			  unsigned char hashed)
{
	if (!j->index_cap)
		return NULL;
	for (size_t s = slot_of(id, j->index_cap);; s = (s + 1) & (j->index_cap - 1)) {
		uint32_t v = j->index[s];
		if (!v)
			return NULL;
		struct entry *e = &j->ents[v - 1];
		if ((e->flags & F_HASHED) == hashed && !memcmp(e->id, id, ID_LEN))
			return e;
	}
}

static void index_put(uint32_t *index, size_t cap, const unsigned char id[ID_LEN], uint32_t v)
{
	size_t s = slot_of(id, cap);
	while (index[s])
		s = (s + 1) & (cap - 1);
	index[s] = v;
}

/* The entry for id, added empty when missing; NULL when out of memory. */
static struct entry *get_or_add(struct fb_journal *j, const unsigned char id[ID_LEN],
				unsigned char hashed)
{
	struct entry *e = find(j, id, hashed);
	if (e)
		return e;
	if (j->nents >= MAX_ENTRIES)
		return NULL;
	if ((size_t)j->nents + 1 > j->index_cap / 2) {
		size_t cap = j->index_cap ? j->index_cap * 2 : 1024;
		uint32_t *index = calloc(cap, sizeof(*index));
		if (!index)
			return NULL;
		for (uint32_t i = 0; i < j->nents; i++)
			index_put(index, cap, j->ents[i].id, i + 1);
		free(j->index);
		j->index = index;
		j->index_cap = cap;
	}
	if (j->nents == j->ents_cap) {
		/* Growing by half, not double, wastes less at a million keys. */
		size_t cap = j->ents_cap ? j->ents_cap + j->ents_cap / 2 : 256;
		struct entry *ents = realloc(j->ents, cap * sizeof(*ents));
		if (!ents)
			return NULL;
		j->ents = ents;
		j->ents_cap = cap;
	}
	e = &j->ents[j->nents++];
	memcpy(e->id, id, ID_LEN);
	e->run = e->poll = NO_REF;
	e->flags = hashed;
	index_put(j->index, j->index_cap, id, j->nents);
	return e;
}

static const char *deref(const struct fb_journal *j, uint32_t ref)
{
	if (ref == NO_REF)
		return NULL;
	return j->chunks[ref >> CHUNK_BITS] + (ref & (CHUNK_SIZE - 1));
}

/* Copies s (n bytes, n < MAX_STR) into the arena. 0 or FB_ENOMEM. */
static int arena_put(struct fb_journal *j, const char *s, size_t n, uint32_t *ref)
{
	if (!j->nchunks || CHUNK_SIZE - j->chunk_used < n + 1) {
		if (j->nchunks == MAX_CHUNKS)
			return FB_ENOMEM;
		char **chunks = realloc(j->chunks, (j->nchunks + 1) * sizeof(*chunks));
		if (!chunks)
			return FB_ENOMEM;
		j->chunks = chunks;
		if (!(chunks[j->nchunks] = malloc(CHUNK_SIZE)))
			return FB_ENOMEM;
		j->nchunks++;
		j->chunk_used = 0;
	}
	char *p = j->chunks[j->nchunks - 1] + j->chunk_used;
	memcpy(p, s, n);
	p[n] = '\0';
	*ref = (j->nchunks - 1) << CHUNK_BITS | j->chunk_used;
	j->chunk_used += (uint32_t)n + 1;
	return 0;
}

/*
 * Stores run and poll (NULL or "" for none) for e. A rerun's old strings
 * stay in the arena unreferenced: reruns are rare, and pointers handed out
 * earlier must stay valid.
 */
static int same_run(const struct fb_journal *j, const struct entry *e, const char *run,
		    const char *poll)
{
	const char *r = deref(j, e->run), *p = deref(j, e->poll);
	return r && !strcmp(r, run) && !strcmp(p ? p : "", poll ? poll : "");
}

static int set_run(struct fb_journal *j, struct entry *e, const char *run, const char *poll)
{
	if (same_run(j, e, run, poll))
		return 0; /* a resumed run noted again: nothing new */
	size_t rl = strlen(run), pl = poll ? strlen(poll) : 0;
	uint32_t r, p = NO_REF;

	if (pl >= rl && !strcmp(poll + pl - rl, run)) {
		if (arena_put(j, poll, pl, &p))
			return FB_ENOMEM;
		r = p + (uint32_t)(pl - rl); /* one string never spans two chunks */
	} else {
		if (arena_put(j, run, rl, &r) || (pl && arena_put(j, poll, pl, &p)))
			return FB_ENOMEM;
	}
	j->superseded += e->run != NO_REF;
	e->run = r;
	e->poll = p;
	return 0;
}

static int str_ok(const char *s, int may_be_empty)
{
	if (!s)
		return may_be_empty;
	size_t n = strlen(s);
	return (n > 0 || may_be_empty) && n <= MAX_STR && fb_json_utf8_valid(s, n);
}

/* Applies one replayed line; a line that is not a record is counted and skipped. */
static int apply_line(struct fb_journal *j, const char *line, size_t len)
{
	unsigned char id[ID_LEN], hashed;
	char errbuf[128];
	int rc = 0;

	/* A crash can leave zeroed blocks before a record; look past them. */
	while (len && *line == '\0') {
		line++;
		len--;
	}
	if (!len || memchr(line, '\0', len) || !fb_json_depth_ok(line, len, 4)) {
		j->skipped += len > 0;
		return 0;
	}
	yajl_val v = yajl_tree_parse(line, errbuf, sizeof(errbuf));
	const char *t = fb_json_get_str(v, "t"), *key = fb_json_get_str(v, "key");
	const char *run = fb_json_get_str(v, "run");
	yajl_val pv = fb_json_get(v, "poll");
	const char *poll = pv && YAJL_IS_STRING(pv) ? pv->u.string : NULL;

	if (!t || !str_ok(key, 0)) {
		j->skipped++;
	} else if (key_id(key, id, &hashed)) {
		rc = FB_ENOMEM;
	} else if (!strcmp(t, "create")) {
		struct entry *e = get_or_add(j, id, hashed);
		if (!e)
			rc = FB_ENOMEM;
		else
			e->flags |= F_CREATE;
	} else if (!strcmp(t, "run") && str_ok(run, 0) && str_ok(poll, 1) &&
		   (!pv || poll || YAJL_IS_NULL(pv))) {
		struct entry *e = get_or_add(j, id, hashed);
		rc = e ? set_run(j, e, run, poll) : FB_ENOMEM;
	} else {
		j->skipped++; /* an unknown type, or a run record without its fields */
	}
	yajl_tree_free(v);
	return rc;
}

static int io_fail(struct fb_err *err, const char *what, const char *path, int e)
{
	if (e == ENOSPC)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH,
				  "cannot %s the journal %s: no space left on the device", what,
				  path);
	return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot %s the journal %s: %s", what, path,
			  strerror(e));
}

static int oom(struct fb_err *err)
{
	return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory reading the journal");
}

/*
 * Reads the file a line at a time. A last line without its newline is a
 * record torn by a crash: it is cut off, so the next record starts a line.
 */
static int replay(struct fb_journal *j, struct fb_err *err)
{
	struct fb_buf line = FB_BUF_INIT;
	char *chunk = malloc(READ_SIZE);
	off_t pos = 0, good_end = 0;
	int overlong = 0, rc = 0;

	if (!chunk)
		return oom(err);
	for (;;) {
		ssize_t n = read(j->fd, chunk, READ_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = io_fail(err, "read", j->path, errno);
			goto out;
		}
		if (n == 0)
			break;
		for (size_t i = 0; i < (size_t)n;) {
			const char *nl = memchr(chunk + i, '\n', (size_t)n - i);
			size_t take = nl ? (size_t)(nl - (chunk + i)) : (size_t)n - i;
			/* A runaway line is not held whole, only skipped to its end. */
			if (!overlong && line.len + take > MAX_LINE) {
				overlong = 1;
				fb_buf_release(&line);
			}
			if (!overlong && fb_buf_add(&line, chunk + i, take)) {
				rc = oom(err);
				goto out;
			}
			i += take;
			if (!nl)
				break;
			i++;
			good_end = pos + (off_t)i;
			if (overlong)
				j->skipped++;
			else if ((rc = apply_line(j, fb_buf_str(&line), line.len)))
				goto out;
			fb_buf_reset(&line);
			overlong = 0;
		}
		pos += n;
	}
	if (pos != good_end) {
		if (ftruncate(j->fd, good_end) != 0) {
			rc = io_fail(err, "cut the torn last record off", j->path, errno);
			goto out;
		}
		j->dirty = 1; /* the cut is made durable with the next records */
	}
	j->size = j->open_size = good_end;
out:
	if (rc == FB_ENOMEM)
		oom(err);
	fb_buf_release(&line);
	free(chunk);
	return rc;
}

int fb_journal_open(struct fb_journal **out, const char *path, struct fb_err *err)
{
	struct stat st;
	int rc;

	*out = NULL;
	struct fb_journal *j = calloc(1, sizeof(*j));
	if (j)
		j->fd = -1;
	if (!j || !(j->path = fb_strdup(path)) || !(j->gen = fb_json_gen_new())) {
		fb_journal_close(j, NULL);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (j->fd < 0) {
		rc = io_fail(err, "open", path, errno);
		fb_journal_close(j, NULL);
		return rc;
	}
	if (fstat(j->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH,
				"cannot use the journal %s: it is not a regular file", path);
		fb_journal_close(j, NULL);
		return rc;
	}
	if ((rc = replay(j, err))) {
		fb_journal_close(j, NULL);
		return rc;
	}
	*out = j;
	return 0;
}

const char *fb_journal_run_of(const struct fb_journal *j, const char *key, const char **poll_url)
{
	unsigned char id[ID_LEN], hashed;
	const struct entry *e = NULL;

	if (key && !key_id(key, id, &hashed))
		e = find(j, id, hashed);
	if (poll_url)
		*poll_url = e ? deref(j, e->poll) : NULL;
	return e ? deref(j, e->run) : NULL;
}

int fb_journal_create_sent(const struct fb_journal *j, const char *key)
{
	unsigned char id[ID_LEN], hashed;
	const struct entry *e = NULL;

	if (key && !key_id(key, id, &hashed))
		e = find(j, id, hashed);
	return e && (e->flags & F_CREATE);
}

static int failed(const struct fb_journal *j, struct fb_err *err)
{
	if (err)
		*err = j->failure;
	return j->failure.code;
}

/*
 * Hands the pending records to the kernel in one write(2). Should the
 * kernel take only part of them (a full disk), the part is cut off again
 * so the file still ends on a whole line; either way the journal then
 * refuses every further record, since the driver must not act on one that
 * may not be kept.
 */
static int write_pending(struct fb_journal *j, struct fb_err *err)
{
	size_t done = 0;
	int e;

	while (done < j->pend.len) {
		ssize_t w = write(j->fd, j->pend.ptr + done, j->pend.len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			e = errno;
			if (done && ftruncate(j->fd, j->size) != 0)
				fb_err_set(
				    &j->failure, FB_EIO, FB_KIND_BATCH,
				    "cannot write to the journal %s (%s), and a half-written "
				    "record is left at its end",
				    j->path, strerror(e));
			else
				io_fail(&j->failure, "write to", j->path, e);
			j->failed = 1;
			return failed(j, err);
		}
		done += (size_t)w;
	}
	j->size += (off_t)done;
	j->dirty = 1;
	fb_buf_reset(&j->pend);
	return 0;
}

/* Queues j->rec; it is written by the next sync, before any request can depend on it. */
static int append(struct fb_journal *j, struct fb_err *err)
{
	if (fb_buf_add(&j->pend, j->rec.ptr, j->rec.len))
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	return 0;
}

/* Builds {"t":t,"key":key[,"run":run[,"poll":poll]]} and a newline in j->rec. */
static int build(struct fb_journal *j, const char *t, const char *key, const char *run,
		 const char *poll, struct fb_err *err)
{
	yajl_gen g = j->gen;
	int rc;

	yajl_gen_reset(g, NULL);
	yajl_gen_clear(g);
	fb_buf_reset(&j->rec);
	if ((rc = fb_json_gen_status(yajl_gen_map_open(g))) || (rc = fb_json_gen_key(g, "t")) ||
	    (rc = fb_json_gen_str(g, t)) || (rc = fb_json_gen_key(g, "key")) ||
	    (rc = fb_json_gen_str(g, key)))
		goto out;
	if (run && ((rc = fb_json_gen_key(g, "run")) || (rc = fb_json_gen_str(g, run))))
		goto out;
	if (poll && *poll && ((rc = fb_json_gen_key(g, "poll")) || (rc = fb_json_gen_str(g, poll))))
		goto out;
	if ((rc = fb_json_gen_status(yajl_gen_map_close(g))) || (rc = fb_json_gen_take(g, &j->rec)))
		goto out;
	if (fb_buf_addc(&j->rec, '\n'))
		rc = FB_ENOMEM;
out:
	if (rc == FB_ENOMEM)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	if (rc)
		return fb_err_set(err, rc, FB_KIND_BATCH, "cannot build a journal record for %s",
				  key);
	return 0;
}

static int bad_arg(struct fb_err *err, const char *what)
{
	return fb_err_set(err, FB_EINVAL, FB_KIND_BATCH,
			  "cannot journal %s: it must be 1 to %d bytes of valid UTF-8", what,
			  MAX_STR);
}

/*
 * This invocation's records are not added to the map: the job that wrote
 * one holds what it says, and a map of every key would grow with the
 * batch. Only a key the map has already (from the file as opened) is
 * updated, which costs nothing more unless its run changed.
 */
int fb_journal_note_create(struct fb_journal *j, const char *key, struct fb_err *err)
{
	unsigned char id[ID_LEN], hashed;
	struct entry *e = NULL;
	int rc;

	if (j->failed)
		return failed(j, err);
	if (!str_ok(key, 0))
		return bad_arg(err, "a key");
	if (j->nents) {
		if (key_id(key, id, &hashed))
			return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		e = find(j, id, hashed);
	}
	if ((rc = build(j, "create", key, NULL, NULL, err)) || (rc = append(j, err)))
		return rc;
	if (e)
		e->flags |= F_CREATE;
	return 0;
}

int fb_journal_note_run(struct fb_journal *j, const char *key, const char *run_id,
			const char *poll_url, struct fb_err *err)
{
	unsigned char id[ID_LEN], hashed;
	struct entry *e, saved = {{0}, 0, 0, 0};
	int rc;

	if (j->failed)
		return failed(j, err);
	if (!str_ok(key, 0))
		return bad_arg(err, "a key");
	if (!str_ok(run_id, 0))
		return bad_arg(err, "a run id");
	if (!str_ok(poll_url, 1))
		return bad_arg(err, "a poll URL");
	e = NULL;
	if (j->nents && key_id(key, id, &hashed))
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	if (j->nents)
		e = find(j, id, hashed);
	if (e && same_run(j, e, run_id, poll_url))
		e = NULL; /* a resumed run noted again: the map says it already */
	if (e) {
		saved = *e;
		if (set_run(j, e, run_id, poll_url))
			return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	if ((rc = build(j, "run", key, run_id, poll_url, err)) || (rc = append(j, err))) {
		if (e)
			*e = saved; /* memory says what the file says */
		return rc;
	}
	return 0;
}

int fb_journal_sync(struct fb_journal *j, struct fb_err *err)
{
	if (j->failed)
		return failed(j, err);
	if (j->pend.len && write_pending(j, err))
		return failed(j, err);
	if (!j->dirty)
		return 0;
	if (fdatasync(j->fd) != 0) {
		/* After a failed fdatasync the kernel may have dropped the pages: never retry. */
		io_fail(&j->failure, "save", j->path, errno);
		j->failed = 1;
		return failed(j, err);
	}
	j->dirty = 0;
	return 0;
}

int fb_journal_close(struct fb_journal *j, struct fb_err *err)
{
	int rc = 0;

	if (!j)
		return 0;
	if (j->fd >= 0) {
		rc = fb_journal_sync(j, err);
		if (close(j->fd) != 0 && !rc)
			rc = io_fail(err, "close", j->path, errno);
	}
	for (uint32_t i = 0; i < j->nchunks; i++)
		free(j->chunks[i]);
	free(j->chunks);
	free(j->index);
	free(j->ents);
	fb_buf_release(&j->rec);
	fb_buf_release(&j->pend);
	if (j->gen)
		yajl_gen_free(j->gen);
	free(j->path);
	free(j);
	return rc;
}

/* Whether one line is a run record made for run_id. */
static int line_made(const char *line, size_t len, const char *run_id)
{
	char errbuf[64];
	size_t rl = strlen(run_id);
	int hit = 0;
	/* Cheap test first: most lines do not even hold the id. */
	for (size_t i = 0; !hit && i + rl <= len; i++)
		hit = line[i] == run_id[0] && !memcmp(line + i, run_id, rl);
	if (!hit || memchr(line, '\0', len) || !fb_json_depth_ok(line, len, 4))
		return 0;
	char *copy = malloc(len + 1);
	if (!copy)
		return FB_ENOMEM;
	memcpy(copy, line, len);
	copy[len] = '\0';
	yajl_val v = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
	const char *t = fb_json_get_str(v, "t"), *run = fb_json_get_str(v, "run");
	hit = t && !strcmp(t, "run") && run && !strcmp(run, run_id);
	yajl_tree_free(v);
	free(copy);
	return hit;
}

/* Scans bytes [from, to) of the file, a line at a time, for a run record of run_id. */
static int file_made(struct fb_journal *j, off_t from, off_t to, const char *run_id,
		     struct fb_err *err)
{
	struct fb_buf line = FB_BUF_INIT;
	char *chunk = malloc(READ_SIZE);
	int rc = 0;
	if (!chunk)
		return oom(err);
	while (!rc && from < to) {
		size_t want = (size_t)(to - from) < READ_SIZE ? (size_t)(to - from) : READ_SIZE;
		ssize_t n = pread(j->fd, chunk, want, from);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = io_fail(err, "read", j->path, n < 0 ? errno : EIO);
			break;
		}
		from += n;
		for (size_t i = 0; !rc && i < (size_t)n;) {
			const char *nl = memchr(chunk + i, '\n', (size_t)n - i);
			size_t take = nl ? (size_t)(nl - (chunk + i)) : (size_t)n - i;
			if (line.len + take <= MAX_LINE && fb_buf_add(&line, chunk + i, take))
				rc = oom(err);
			i += take + (nl != NULL);
			if (!rc && nl) {
				rc = line_made(line.ptr ? line.ptr : "", line.len, run_id);
				if (rc < 0)
					rc = oom(err);
				fb_buf_reset(&line);
			}
		}
	}
	fb_buf_release(&line);
	free(chunk);
	return rc;
}

int fb_journal_run_known(struct fb_journal *j, const char *run_id, struct fb_err *err)
{
	if (!run_id || !*run_id)
		return 0;
	for (uint32_t i = 0; i < j->nents; i++) {
		const char *r = deref(j, j->ents[i].run);
		if (r && !strcmp(r, run_id))
			return 1;
	}
	/* The map holds the latest run of each earlier key: older ones only the file has. */
	int rc = file_made(j, j->superseded ? 0 : j->open_size, j->size, run_id, err);
	for (size_t i = 0; !rc && i < j->pend.len;) {
		const char *line = j->pend.ptr + i, *nl = memchr(line, '\n', j->pend.len - i);
		size_t len = nl ? (size_t)(nl - line) : j->pend.len - i;
		if ((rc = line_made(line, len, run_id)) < 0)
			rc = oom(err);
		i += len + 1;
	}
	return rc;
}
