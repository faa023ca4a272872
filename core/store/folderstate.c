/* folderstate: results.jsonl, journal.jsonl, volumes.jsonl and the lock, read as they are. */
#include "folderstate.h"
#include "hashset.h"
#include "idemkey.h"
#include "json.h"
#include "spillset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Calls fn on each whole line of path (a torn last one is a write in progress). */
static int each_line(const char *path, int (*fn)(void *ud, yajl_val v), void *ud, int *exists,
		     struct fb_err *err)
{
	FILE *f = fopen(path, "r");
	*exists = f != NULL;
	if (!f)
		return errno == ENOENT ? 0
				       : fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", path,
						    strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while (!rc && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break;
		line[n - 1] = '\0';
		char ebuf[64];
		yajl_val v = fb_json_depth_ok(line, (size_t)n - 1, 64)
				 ? yajl_tree_parse(line, ebuf, sizeof(ebuf))
				 : NULL;
		if (YAJL_IS_OBJECT(v))
			rc = fn(ud, v);
		yajl_tree_free(v);
	}
	free(line);
	fclose(f);
	if (rc == FB_ENOMEM)
		return fb_err_set(err, rc, FB_KIND_BATCH, "out of memory");
	if (rc == FB_EIO)
		return fb_err_set(err, rc, FB_KIND_BATCH,
				  "cannot write a temporary file (TMPDIR) while reading %s", path);
	return rc;
}

/*
 * Keys as 64-bit hashes in spillsets, so memory stays bounded however long
 * the record and the journal are: ended, the keys of runs a line ends;
 * open and made, the journal's keys without such a line (any record, a run
 * record).
 */
struct ctx {
	struct fb_folder_state *st;
	struct fb_spillset ended, open, made;
};

/* Copies at most max bytes of s into out (max + 4 bytes), cut on a character, "..." marking it. */
static void clip(char *out, size_t max, const char *s)
{
	size_t n = strlen(s), i = 0;
	while (i < n) {
		int valid;
		size_t k = fb_json_utf8_next(s + i, n - i, &valid);
		if (i + k > max)
			break;
		i += k;
	}
	memcpy(out, s, i);
	strcpy(out + i, i < n ? "..." : "");
}

/* Counts a failed line, under its error.code; the table is fixed, the rest go together. */
static void count_code(struct fb_folder_state *st, yajl_val line)
{
	yajl_val e = fb_json_get(line, "error");
	const char *code = fb_json_get_str(e, "code"), *msg = fb_json_get_str(e, "message");
	char c[FB_FOLDER_CODE_MAX + 4];
	clip(c, FB_FOLDER_CODE_MAX, code && *code ? code : "(none)");
	unsigned i = 0;
	st->failed++;
	while (i < st->ncodes && strcmp(st->codes[i].code, c))
		i++;
	if (i == st->ncodes) {
		if (i == FB_FOLDER_CODES) {
			st->other_codes++;
			return;
		}
		snprintf(st->codes[i].code, sizeof(st->codes[i].code), "%s", c);
		st->ncodes++;
	}
	st->codes[i].count++;
	if (msg)
		clip(st->codes[i].example, FB_FOLDER_EXAMPLE_MAX, msg);
}

static int result_line(void *ud, yajl_val v)
{
	struct ctx *c = ud;
	struct fb_folder_state *st = c->st;
	const char *s = fb_json_get_str(v, "status");
	st->lines++;
	if (!s)
		st->other++;
	else if (!strcmp(s, "completed"))
		st->completed++;
	else if (!strcmp(s, "failed"))
		count_code(st, v);
	else if (!strcmp(s, "invalid"))
		st->invalid++;
	else if (!strcmp(s, "skipped"))
		st->skipped++;
	else if (!strcmp(s, "unresolved"))
		st->unresolved++;
	else
		st->other++;
	double cost;
	if (!fb_json_get_double(v, "charged_cost", &cost)) {
		st->cost += cost;
		st->costed++;
	}
	yajl_val outs = fb_json_get(v, "outputs");
	for (size_t i = 0;
	     s && !strcmp(s, "completed") && YAJL_IS_ARRAY(outs) && i < outs->u.array.len; i++) {
		int64_t b;
		st->outputs++;
		if (!fb_json_get_i64(outs->u.array.values[i], "bytes", &b) && b > 0)
			st->output_bytes += (uint64_t)b;
	}
	/* A line that is not provisional ends its key's runs in the journal. */
	const char *key = fb_json_get_str(v, "idempotency_key");
	if (!key || !s || !strcmp(s, "skipped") || !strcmp(s, "unresolved"))
		return 0;
	/* One run per attempt, each under its own key (the first is the item's, which a
	 * create refused outright also journaled). */
	int64_t attempts = 1;
	fb_json_get_i64(v, "attempts", &attempts);
	attempts = attempts < 1 ? 1 : attempts > 64 ? 64 : attempts;
	for (int64_t n = 1; n <= attempts; n++) {
		char k[FB_IDEMKEY_LEN + 1];
		if (fb_idemkey_attempt(key, (unsigned)n, k))
			return FB_ENOMEM;
		int rc = fb_spillset_add(&c->ended, fb_hashset_hash(k));
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* An invocation record: the latest start, and the end that follows it. */
static void invocation(struct fb_folder_state *st, yajl_val v)
{
	const char *phase = fb_json_get_str(v, "phase");
	int64_t at = 0, n = 0;
	if (!phase || fb_json_get_i64(v, "at", &at) || at <= 0)
		return;
	if (!strcmp(phase, "start")) {
		st->started_at = (uint64_t)at;
		st->started_pid = !fb_json_get_i64(v, "pid", &n) ? (long)n : 0;
		st->ended_at = 0;
	} else if (!strcmp(phase, "end")) {
		st->ended_at = (uint64_t)at;
		st->exit_code = !fb_json_get_i64(v, "exit", &n) ? (int)n : -1;
	}
}

static int journal_line(void *ud, yajl_val v)
{
	struct ctx *c = ud;
	const char *key = fb_json_get_str(v, "key"), *t = fb_json_get_str(v, "t");
	if (!key) {
		if (t && !strcmp(t, "invocation"))
			invocation(c->st, v);
		return 0;
	}
	uint64_t h = fb_hashset_hash(key);
	int rc = fb_spillset_has(&c->ended, h);
	if (rc)
		return rc < 0 ? rc : 0;
	if ((rc = fb_spillset_add(&c->open, h)) < 0)
		return rc;
	c->st->open_runs += (uint64_t)rc;
	if (!t || strcmp(t, "run") || !fb_json_get_str(v, "run"))
		return 0;
	if ((rc = fb_spillset_add(&c->made, h)) < 0)
		return rc;
	c->st->in_flight += (uint64_t)rc;
	return 0;
}

static int volume_line(void *ud, yajl_val v)
{
	struct fb_folder_state *st = ((struct ctx *)ud)->st;
	int64_t to, bytes;
	const char *name = fb_json_get_str(v, "volume");
	st->volumes++;
	if (!fb_json_get_i64(v, "lines_to", &to) && to > 0)
		st->volume_lines = (uint64_t)to;
	if (!fb_json_get_i64(v, "bytes", &bytes) && bytes > 0)
		st->volume_bytes += (uint64_t)bytes;
	if (name)
		snprintf(st->last_volume, sizeof(st->last_volume), "%s", name);
	return 0;
}

/* The pid holding an flock on the folder's .lock, from /proc/locks, without touching it. */
static pid_t holder(const char *dir)
{
	char path[4096], line[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/.lock", dir);
	if (stat(path, &st) != 0)
		return 0;
	FILE *f = fopen("/proc/locks", "r");
	pid_t who = 0;
	while (f && !who && fgets(line, sizeof(line), f)) {
		char kind[16];
		int pid;
		unsigned maj, min;
		unsigned long long ino;
		/* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" */
		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%llu", kind, &pid, &maj, &min, &ino) ==
			5 &&
		    !strcmp(kind, "FLOCK") && ino == (unsigned long long)st.st_ino)
			who = pid;
	}
	if (f)
		fclose(f);
	return who;
}

static int by_count(const void *a, const void *b)
{
	const struct fb_folder_code *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->code, y->code);
}

int fb_folder_state_read(const char *dir, struct fb_folder_state *st, struct fb_err *err)
{
	struct stat sb;
	memset(st, 0, sizeof(*st));
	st->exit_code = -1;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", dir,
				  errno && stat(dir, &sb) != 0 ? strerror(errno) : "not a folder");
	struct ctx c = {.st = st};
	char path[4096];
	int exists, rc = 0;
	if (fb_spillset_init(&c.ended, NULL) || fb_spillset_init(&c.open, NULL) ||
	    fb_spillset_init(&c.made, NULL))
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	/* The record first: a run whose line lands between the two reads counts as in flight. */
	snprintf(path, sizeof(path), "%s/results.jsonl", dir);
	if (!rc)
		rc = each_line(path, result_line, &c, &st->has_record, err);
	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	if (!rc)
		rc = each_line(path, journal_line, &c, &exists, err);
	snprintf(path, sizeof(path), "%s/volumes.jsonl", dir);
	if (!rc)
		rc = each_line(path, volume_line, &c, &exists, err);
	fb_spillset_release(&c.ended);
	fb_spillset_release(&c.open);
	fb_spillset_release(&c.made);
	qsort(st->codes, st->ncodes, sizeof(st->codes[0]), by_count);
	st->holder = holder(dir);
	return rc;
}
