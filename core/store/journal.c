/*
 * journal: the append-only record of creates sent and runs made. The file
 * is replayed on open into a jmap (jmap.h); this invocation's records are
 * queued and written at each sync, and not added to the map (journal.h).
 */
#include "journal.h"
#include "safeopen.h"
#include "item.h"
#include "journalpriv.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
	} else if (!strcmp(t, "create")) {
		struct fb_jmap_entry *e = fb_jmap_get(&j->map, key);
		if (!e)
			rc = FB_ENOMEM;
		else
			e->flags |= FB_JMAP_CREATE;
	} else if (!strcmp(t, "run") && str_ok(run, 0) && str_ok(poll, 1) &&
		   (!pv || poll || YAJL_IS_NULL(pv))) {
		struct fb_jmap_entry *e = fb_jmap_get(&j->map, key);
		rc = e ? fb_jmap_set_run(&j->map, e, run, poll) : FB_ENOMEM;
	} else {
		j->skipped++; /* an unknown type, or a run record without its fields */
	}
	yajl_tree_free(v);
	return rc;
}

int fb_journal_io_fail(struct fb_err *err, const char *what, const char *path, int e)
{
	if (e == ENOSPC)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH,
				  "cannot %s the journal %s: no space left on the device", what,
				  path);
	return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot %s the journal %s: %s", what, path,
			  fb_safe_strerror(e));
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
			rc = fb_journal_io_fail(err, "read", j->path, errno);
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
			rc =
			    fb_journal_io_fail(err, "cut the torn last record off", j->path, errno);
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
	j->fd = fb_safe_open(path, O_RDWR | O_CREAT | O_APPEND, 0644);
	if (j->fd < 0) {
		rc = fb_journal_io_fail(err, "open", path, errno);
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
	const struct fb_jmap_entry *e = fb_jmap_find(&j->map, key);
	if (poll_url)
		*poll_url = e ? fb_jmap_str(&j->map, e->poll) : NULL;
	return e ? fb_jmap_str(&j->map, e->run) : NULL;
}

int fb_journal_create_sent(const struct fb_journal *j, const char *key)
{
	const struct fb_jmap_entry *e = fb_jmap_find(&j->map, key);
	return e && (e->flags & FB_JMAP_CREATE);
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
				fb_journal_io_fail(&j->failure, "write to", j->path, e);
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

/* Queues j->rec; it is written by the next write or sync. */
static int append(struct fb_journal *j, struct fb_err *err)
{
	if (fb_buf_add(&j->pend, j->rec.ptr, j->rec.len))
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	j->queued++;
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
	/* When, so that compaction can keep the records young enough to matter (jcompact.c). */
	if (j->clock && ((rc = fb_json_gen_key(g, "at")) ||
			 (rc = fb_json_gen_u64(g, fb_clock_wall_ms(j->clock)))))
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

/* The batch's members of a start record (fb_journal_batch). Nonzero when yajl refuses. */
static int gen_batch(yajl_gen g, const struct fb_journal_batch *b)
{
	return b && b->kind &&
	       (fb_json_gen_key(g, "kind") || fb_json_gen_str(g, b->kind) ||
		fb_json_gen_key(g, "technique") || fb_json_gen_str(g, b->technique) ||
		fb_json_gen_key(g, "namespace") || fb_json_gen_str(g, b->ns));
}

/*
 * An invocation record in j->rec:
 * {"t":"invocation","phase":phase,name:value[,batch members],"at":now}.
 */
static int build_invocation(struct fb_journal *j, const char *phase, const char *name,
			    int64_t value, const struct fb_journal_batch *b, struct fb_err *err)
{
	yajl_gen g = j->gen;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t at = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	yajl_gen_reset(g, NULL);
	yajl_gen_clear(g);
	fb_buf_reset(&j->rec);
	int rc = fb_json_gen_status(yajl_gen_map_open(g)) || fb_json_gen_key(g, "t") ||
		 fb_json_gen_str(g, "invocation") || fb_json_gen_key(g, "phase") ||
		 fb_json_gen_str(g, phase) || fb_json_gen_key(g, name) ||
		 fb_json_gen_i64(g, value) || gen_batch(g, b) || fb_json_gen_key(g, "at") ||
		 fb_json_gen_u64(g, at) || fb_json_gen_status(yajl_gen_map_close(g)) ||
		 fb_json_gen_take(g, &j->rec) || fb_buf_addc(&j->rec, '\n');
	return rc ? fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory") : 0;
}

int fb_journal_note_start(struct fb_journal *j, long pid, const struct fb_journal_batch *b,
			  struct fb_err *err)
{
	if (j->failed)
		return failed(j, err);
	int rc = build_invocation(j, "start", "pid", pid, b, err);
	return rc ? rc : append(j, err);
}

int fb_journal_note_end(struct fb_journal *j, int exit_code, struct fb_err *err)
{
	if (j->failed)
		return failed(j, err);
	int rc = build_invocation(j, "end", "exit", exit_code, NULL, err);
	return rc ? rc : append(j, err);
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
	struct fb_jmap_entry *e;
	int rc;

	if (j->failed)
		return failed(j, err);
	if (!str_ok(key, 0))
		return bad_arg(err, "a key");
	e = fb_jmap_find(&j->map, key);
	if ((rc = build(j, "create", key, NULL, NULL, err)) || (rc = append(j, err)))
		return rc;
	if (e)
		e->flags |= FB_JMAP_CREATE;
	return 0;
}

int fb_journal_note_run(struct fb_journal *j, const char *key, const char *run_id,
			const char *poll_url, struct fb_err *err)
{
	struct fb_jmap_entry *e, saved = {{0}, 0, 0, 0};
	int rc;

	if (j->failed)
		return failed(j, err);
	if (!str_ok(key, 0))
		return bad_arg(err, "a key");
	if (!str_ok(run_id, 0))
		return bad_arg(err, "a run id");
	if (!str_ok(poll_url, 1))
		return bad_arg(err, "a poll URL");
	e = fb_jmap_find(&j->map, key);
	if (e && fb_jmap_same_run(&j->map, e, run_id, poll_url))
		e = NULL; /* a resumed run noted again: the map says it already */
	if (e) {
		saved = *e;
		if (fb_jmap_set_run(&j->map, e, run_id, poll_url))
			return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	if ((rc = build(j, "run", key, run_id, poll_url, err)) || (rc = append(j, err))) {
		if (e)
			*e = saved; /* memory says what the file says */
		return rc;
	}
	return 0;
}

int fb_journal_write(struct fb_journal *j, struct fb_err *err)
{
	if (j->failed)
		return failed(j, err);
	if (j->pend.len && write_pending(j, err))
		return failed(j, err);
	return 0;
}

int fb_journal_sync(struct fb_journal *j, struct fb_err *err)
{
	if (fb_journal_write(j, err))
		return FB_EIO;
	if (!j->dirty) {
		j->durable = j->queued;
		return 0;
	}
	uint64_t covered = j->queued;
	j->syncs++;
	if (fdatasync(j->fd) != 0) {
		/* After a failed fdatasync the kernel may have dropped the pages: never retry. */
		fb_journal_io_fail(&j->failure, "save", j->path, errno);
		j->failed = 1;
		return failed(j, err);
	}
	j->dirty = 0;
	j->durable = covered;
	return 0;
}

uint64_t fb_journal_mark(const struct fb_journal *j)
{
	return j->queued;
}

int fb_journal_make_durable(struct fb_journal *j, uint64_t mark, struct fb_err *err)
{
	return mark <= j->durable && !j->failed ? 0 : fb_journal_sync(j, err);
}

uint64_t fb_journal_syncs(const struct fb_journal *j)
{
	return j->syncs;
}

int fb_journal_close(struct fb_journal *j, struct fb_err *err)
{
	int rc = 0;

	if (!j)
		return 0;
	if (j->fd >= 0) {
		rc = fb_journal_sync(j, err);
		if (close(j->fd) != 0 && !rc)
			rc = fb_journal_io_fail(err, "close", j->path, errno);
	}
	fb_jmap_release(&j->map);
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

int fb_journal_each_line(struct fb_journal *j, off_t from, off_t to, fb_journal_line_fn fn,
			 void *ud, struct fb_err *err)
{
	struct fb_buf line = FB_BUF_INIT;
	char *chunk = malloc(READ_SIZE);
	off_t start = from;
	int rc = 0;
	if (!chunk)
		return oom(err);
	while (!rc && from < to) {
		size_t want = (size_t)(to - from) < READ_SIZE ? (size_t)(to - from) : READ_SIZE;
		ssize_t n = pread(j->fd, chunk, want, from);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = fb_journal_io_fail(err, "read", j->path, n < 0 ? errno : EIO);
			break;
		}
		for (size_t i = 0; !rc && i < (size_t)n;) {
			const char *nl = memchr(chunk + i, '\n', (size_t)n - i);
			size_t take = nl ? (size_t)(nl - (chunk + i)) : (size_t)n - i;
			if (line.len + take <= MAX_LINE && fb_buf_add(&line, chunk + i, take))
				rc = oom(err);
			i += take + (nl != NULL);
			if (!rc && nl) {
				rc = fn(ud, line.ptr ? line.ptr : "", line.len, start);
				if (rc == FB_ENOMEM)
					oom(err);
				start = from + (off_t)i;
				fb_buf_reset(&line);
			}
		}
		from += n;
	}
	fb_buf_release(&line);
	free(chunk);
	return rc;
}

static int made_fn(void *ud, const char *line, size_t len, off_t at)
{
	(void)at;
	return line_made(line, len, ud);
}

int fb_journal_run_known(struct fb_journal *j, const char *run_id, struct fb_err *err)
{
	if (!run_id || !*run_id)
		return 0;
	if (fb_jmap_made(&j->map, run_id))
		return 1;
	/* The map holds the latest run of each earlier key: older ones only the file has. */
	/* Scans the file a line at a time for a run record of run_id. */
	int rc = fb_journal_each_line(j, j->map.superseded ? 0 : j->open_size, j->size, made_fn,
				      (void *)run_id, err);
	for (size_t i = 0; !rc && i < j->pend.len;) {
		const char *line = j->pend.ptr + i, *nl = memchr(line, '\n', j->pend.len - i);
		size_t len = nl ? (size_t)(nl - line) : j->pend.len - i;
		if ((rc = line_made(line, len, run_id)) < 0)
			rc = oom(err);
		i += len + 1;
	}
	return rc;
}

void fb_journal_set_clock(struct fb_journal *j, struct fb_clock *clock)
{
	j->clock = clock;
}

uint64_t fb_journal_size(const struct fb_journal *j)
{
	return (uint64_t)j->size + j->pend.len;
}
