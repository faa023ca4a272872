/* folderstate: results.jsonl, journal.jsonl, volumes.jsonl and the lock, read as they are. */
#include "folderstate.h"
#include "hashset.h"
#include "idemkey.h"
#include "json.h"

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
	return rc == FB_ENOMEM ? fb_err_set(err, rc, FB_KIND_BATCH, "out of memory") : rc;
}

struct ctx {
	struct fb_folder_state *st;
	struct fb_hashset open;	 /* the journal's keys */
	struct fb_hashset ended; /* those of them with a line (both as small as the journal) */
};

static int journal_line(void *ud, yajl_val v)
{
	struct ctx *c = ud;
	const char *key = fb_json_get_str(v, "key");
	return key && fb_hashset_add(&c->open, key) < 0 ? FB_ENOMEM : 0;
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
		st->failed++;
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
	/* A line that is not provisional ends its key's run in the journal. */
	const char *key = fb_json_get_str(v, "idempotency_key");
	if (!key || !s || !strcmp(s, "skipped") || !strcmp(s, "unresolved"))
		return 0;
	/* Its runs: one per attempt, each under its own key (the first is the item's). */
	int64_t attempts = 1;
	fb_json_get_i64(v, "attempts", &attempts);
	for (int64_t n = 1; n <= attempts && n <= 64; n++) {
		char k[FB_IDEMKEY_LEN + 1];
		if (fb_idemkey_attempt(key, (unsigned)n, k))
			return FB_ENOMEM;
		if (fb_hashset_has(&c->open, k) && fb_hashset_add(&c->ended, k) < 0)
			return FB_ENOMEM;
	}
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

int fb_folder_state_read(const char *dir, struct fb_folder_state *st, struct fb_err *err)
{
	struct stat sb;
	memset(st, 0, sizeof(*st));
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s", dir,
				  errno && stat(dir, &sb) != 0 ? strerror(errno) : "not a folder");
	struct ctx c = {.st = st, .open = FB_HASHSET_INIT, .ended = FB_HASHSET_INIT};
	char path[4096];
	int exists, rc;
	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	rc = each_line(path, journal_line, &c, &exists, err);
	snprintf(path, sizeof(path), "%s/results.jsonl", dir);
	if (!rc)
		rc = each_line(path, result_line, &c, &st->has_record, err);
	snprintf(path, sizeof(path), "%s/volumes.jsonl", dir);
	if (!rc)
		rc = each_line(path, volume_line, &c, &exists, err);
	st->open_runs = c.open.len - c.ended.len;
	fb_hashset_release(&c.open);
	fb_hashset_release(&c.ended);
	st->holder = holder(dir);
	return rc;
}
