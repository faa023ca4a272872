/* status: the folder's state as text for a person or one JSON object for a script. */
#include "status.h"
#include "outdir.h"
#include "run.h"

#include "buf.h"
#include "folderstate.h"
#include "json.h"

#include "args.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Every option of `florabatch status`: the help, the man page and the completions follow it. */
static const struct option long_opts[] = {
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void fb_status_usage(FILE *f)
{
	fputs("Usage: florabatch status [--json] [DIR...]\n"
	      "\n"
	      "Says what the output folder DIR (default florabatch-out) holds. It reads the\n"
	      "folder without locking or writing it, so it works while a batch or a never-\n"
	      "ending stream runs there, and a line at a time: its memory stays small however\n"
	      "long results.jsonl and journal.jsonl are. Several folders (the shards of a\n"
	      "cluster job) are each told, then summed in a total.\n"
	      "\n"
	      "  state      running (with the pid of the invocation that holds the folder's\n"
	      "             lock: another invocation would exit 75) or idle\n"
	      "  last run   when the last invocation started and ended, and its exit status;\n"
	      "             \"no end on record\" when it was killed or the machine stopped\n"
	      "             (folders written before florabatch recorded this say \"not on\n"
	      "             record\")\n"
	      "  items      result lines by status: completed, failed, invalid, skipped,\n"
	      "             unresolved\n"
	      "  in flight  runs the journal says were created whose items have no line yet:\n"
	      "             in flight while an invocation runs, else left by one that stopped\n"
	      "             (the next picks them up by id, never creating them again); and\n"
	      "             creates sent whose answer is not on record\n"
	      "  failed     failed lines by error.code, the most frequent first (32 codes at\n"
	      "             most; the rest are counted together), each with the message of\n"
	      "             its latest line\n"
	      "  spent      the sum of the lines' charged_cost, in USD\n"
	      "  outputs    outputs of completed lines and their size\n"
	      "  archive    the archive's volumes, and completed lines not in one yet\n"
	      "\n"
	      "  --json     one JSON object instead of text, for scripts: running, pid, lines,\n"
	      "             completed, failed, invalid, skipped, unresolved, in_flight,\n"
	      "             open_runs (in_flight plus creates with no answer on record),\n"
	      "             charged_cost, failures ([{code, count, example}], as above),\n"
	      "             failures_other_codes, last_invocation ({started_at, pid, ended_at,\n"
	      "             exit}: times in unix ms, ended_at and exit null while it runs or\n"
	      "             when it left no end; null when none is on record), outputs,\n"
	      "             output_bytes, volumes, volume_lines, latest_volume. With several\n"
	      "             folders: {\"folders\": [one such object each, with \"dir\"; or\n"
	      "             {dir, error} for a folder that cannot be read], \"total\": {folders,\n"
	      "             unreadable, running (folders held by an invocation), and the sums\n"
	      "             of lines ... volume_lines}}\n"
	      "  -h, --help this text\n"
	      "\n"
	      "Exit status: 0 every folder was read; 2 usage error, or a DIR is not a\n"
	      "readable folder (with several, the others are still told, and the total is\n"
	      "theirs); 4 the answer could not be written.\n",
	      f);
}

/* A point in time for a person: local time, with its offset. */
static void when(char *buf, size_t n, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S %z", &tm))
		snprintf(buf, n, "%llu ms", (unsigned long long)ms);
}

/* A span of time for a person: 42 s, 5 min 8 s, 3 h 2 min. */
static void span(char *buf, size_t n, uint64_t ms)
{
	unsigned long long s = ms / 1000;
	if (s < 60)
		snprintf(buf, n, "%llu s", s);
	else if (s < 3600)
		snprintf(buf, n, "%llu min %llu s", s / 60, s % 60);
	else
		snprintf(buf, n, "%llu h %llu min", s / 3600, s / 60 % 60);
}

static void last_run(FILE *f, const struct fb_folder_state *st)
{
	char start[64], end[64], took[64];
	if (!st->started_at) {
		fprintf(f, "  last run  not on record\n");
		return;
	}
	when(start, sizeof(start), st->started_at);
	fprintf(f, "  last run  started %s (pid %ld)\n            ", start, st->started_pid);
	if (st->ended_at) {
		when(end, sizeof(end), st->ended_at);
		span(took, sizeof(took),
		     st->ended_at > st->started_at ? st->ended_at - st->started_at : 0);
		fprintf(f, "ended %s, after %s, exit %d\n", end, took, st->exit_code);
	} else if (st->holder) {
		fprintf(f, "still running\n");
	} else {
		fprintf(f, "no end on record: it was killed, or the machine stopped\n");
	}
}

static void failures(FILE *f, const struct fb_folder_state *st)
{
	int cw = 0, nw = 1;
	for (unsigned i = 0; i < st->ncodes; i++) {
		int n = (int)strlen(st->codes[i].code),
		    d = snprintf(NULL, 0, "%llu", (unsigned long long)st->codes[i].count);
		cw = n > cw ? n : cw;
		nw = d > nw ? d : nw;
	}
	for (unsigned i = 0; i < st->ncodes; i++)
		fprintf(f, "  %-9s %*llu %-*s  %s\n", i ? "" : "failed", nw,
			(unsigned long long)st->codes[i].count, cw, st->codes[i].code,
			st->codes[i].example);
	if (st->other_codes)
		fprintf(f, "  %-9s %*llu in other codes\n", "", nw,
			(unsigned long long)st->other_codes);
}

/* The lines from "items" on, for one folder or (total: no latest volume) their sum. */
static void body(FILE *f, const struct fb_folder_state *st, int total)
{
	fprintf(f,
		"  items     %llu with a line: %llu completed, %llu failed, %llu invalid, %llu "
		"skipped",
		(unsigned long long)st->lines, (unsigned long long)st->completed,
		(unsigned long long)st->failed, (unsigned long long)st->invalid,
		(unsigned long long)st->skipped);
	if (st->unresolved)
		fprintf(f, ", %llu unresolved", (unsigned long long)st->unresolved);
	fputc('\n', f);
	fprintf(f, "  in flight %llu runs created with no line yet%s",
		(unsigned long long)st->in_flight,
		!st->in_flight || total ? ""
		: st->holder		? ""
					: " (the next invocation picks them up by id)");
	if (st->open_runs > st->in_flight)
		fprintf(f, "; %llu creates sent with no answer on record",
			(unsigned long long)(st->open_runs - st->in_flight));
	fputc('\n', f);
	failures(f, st);
	fprintf(f, "  spent     $%.3f charged (%llu lines report a cost)\n", st->cost,
		(unsigned long long)st->costed);
	fprintf(f, "  outputs   %llu of completed lines, %.1f MiB\n",
		(unsigned long long)st->outputs, st->output_bytes / 1048576.0);
	uint64_t loose = st->completed > st->volume_lines ? st->completed - st->volume_lines : 0;
	if (st->volumes && total)
		fprintf(f, "  archive   %u volumes; %llu completed lines not in one yet\n",
			st->volumes, (unsigned long long)loose);
	else if (st->volumes)
		fprintf(
		    f,
		    "  archive   %u volumes, the latest %s; %llu completed lines not in one yet\n",
		    st->volumes, st->last_volume, (unsigned long long)loose);
	else
		fprintf(f, "  archive   no volume yet\n");
}

static void human(FILE *f, const char *dir, const struct fb_folder_state *st)
{
	fprintf(f, "%s\n", dir);
	if (st->holder)
		fprintf(f, "  state     running (pid %ld holds the folder)\n", (long)st->holder);
	else
		fprintf(f, "  state     idle\n");
	last_run(f, st);
	body(f, st, 0);
}

#define U(k, v) (fb_json_gen_key(g, k) || fb_json_gen_u64(g, (uint64_t)(v)))

static int json_failures(yajl_gen g, const struct fb_folder_state *st)
{
	int rc = fb_json_gen_key(g, "failures") || fb_json_gen_status(yajl_gen_array_open(g));
	for (unsigned i = 0; !rc && i < st->ncodes; i++)
		rc = fb_json_gen_status(yajl_gen_map_open(g)) || fb_json_gen_key(g, "code") ||
		     fb_json_gen_str(g, st->codes[i].code) || U("count", st->codes[i].count) ||
		     fb_json_gen_key(g, "example") || fb_json_gen_str(g, st->codes[i].example) ||
		     fb_json_gen_status(yajl_gen_map_close(g));
	return rc || fb_json_gen_status(yajl_gen_array_close(g)) ||
	       U("failures_other_codes", st->other_codes);
}

static int json_last_run(yajl_gen g, const struct fb_folder_state *st)
{
	int rc = fb_json_gen_key(g, "last_invocation");
	if (rc || !st->started_at)
		return rc || fb_json_gen_status(yajl_gen_null(g));
	rc = fb_json_gen_status(yajl_gen_map_open(g)) || U("started_at", st->started_at) ||
	     fb_json_gen_key(g, "pid") || fb_json_gen_i64(g, st->started_pid) ||
	     fb_json_gen_key(g, "ended_at");
	if (!rc && st->ended_at)
		rc = fb_json_gen_u64(g, st->ended_at) || fb_json_gen_key(g, "exit") ||
		     fb_json_gen_i64(g, st->exit_code);
	else if (!rc)
		rc = fb_json_gen_status(yajl_gen_null(g)) || fb_json_gen_key(g, "exit") ||
		     fb_json_gen_status(yajl_gen_null(g));
	return rc || fb_json_gen_status(yajl_gen_map_close(g));
}

/* The members from "lines" to "failures_other_codes", of a folder or the total. */
static int json_counts(yajl_gen g, const struct fb_folder_state *st)
{
	return U("lines", st->lines) || U("completed", st->completed) || U("failed", st->failed) ||
	       U("invalid", st->invalid) || U("skipped", st->skipped) ||
	       U("unresolved", st->unresolved) || U("in_flight", st->in_flight) ||
	       U("open_runs", st->open_runs) || fb_json_gen_key(g, "charged_cost") ||
	       fb_json_gen_double(g, round(st->cost * 1e6) / 1e6) || json_failures(g, st);
}

static int json_archive(yajl_gen g, const struct fb_folder_state *st)
{
	return U("outputs", st->outputs) || U("output_bytes", st->output_bytes) ||
	       U("volumes", st->volumes) || U("volume_lines", st->volume_lines);
}

/* One folder's object; dir (several folders) goes first when not NULL. */
static int json_folder(yajl_gen g, const char *dir, const struct fb_folder_state *st)
{
	return fb_json_gen_status(yajl_gen_map_open(g)) ||
	       (dir && (fb_json_gen_key(g, "dir") || fb_json_gen_str(g, dir))) ||
	       fb_json_gen_key(g, "running") ||
	       fb_json_gen_status(yajl_gen_bool(g, st->holder != 0)) || U("pid", st->holder) ||
	       json_counts(g, st) || json_last_run(g, st) || json_archive(g, st) ||
	       fb_json_gen_key(g, "latest_volume") ||
	       fb_json_gen_str(g, st->volumes ? st->last_volume : NULL) ||
	       fb_json_gen_status(yajl_gen_map_close(g));
}

/* Several folders' sums. */
struct total {
	struct fb_folder_state st;
	unsigned folders, unreadable, running; /* folders read; not read; of the read, running */
};

static int json_total(yajl_gen g, const struct total *t)
{
	return fb_json_gen_status(yajl_gen_map_open(g)) ||
	       U("folders", t->folders + t->unreadable) || U("unreadable", t->unreadable) ||
	       U("running", t->running) || json_counts(g, &t->st) || json_archive(g, &t->st) ||
	       fb_json_gen_status(yajl_gen_map_close(g));
}

#undef U

/* Adds s to the total: counts summed, failures merged by code (the table's 32 at most). */
static void add_state(struct total *t, const struct fb_folder_state *s)
{
	struct fb_folder_state *a = &t->st;
	a->lines += s->lines;
	a->completed += s->completed;
	a->failed += s->failed;
	a->invalid += s->invalid;
	a->skipped += s->skipped;
	a->unresolved += s->unresolved;
	a->other += s->other;
	a->costed += s->costed;
	a->cost += s->cost;
	a->outputs += s->outputs;
	a->output_bytes += s->output_bytes;
	a->in_flight += s->in_flight;
	a->open_runs += s->open_runs;
	a->volumes += s->volumes;
	a->volume_lines += s->volume_lines;
	a->volume_bytes += s->volume_bytes;
	a->other_codes += s->other_codes;
	for (unsigned i = 0; i < s->ncodes; i++) {
		unsigned k = 0;
		while (k < a->ncodes && strcmp(a->codes[k].code, s->codes[i].code))
			k++;
		if (k == a->ncodes && k == FB_FOLDER_CODES) {
			a->other_codes += s->codes[i].count;
			continue;
		}
		if (k == a->ncodes)
			a->codes[a->ncodes++] = s->codes[i];
		else
			a->codes[k].count += s->codes[i].count;
	}
	t->folders++;
	t->running += s->holder != 0;
}

static int by_count(const void *x, const void *y)
{
	const struct fb_folder_code *a = x, *b = y;
	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	return strcmp(a->code, b->code);
}

/* Reads dir into st; a folder that cannot be read says why on standard error. */
static int read_folder(const char *dir, struct fb_folder_state *st, struct fb_err *err)
{
	if (fb_folder_state_read(dir, st, err)) {
		fprintf(stderr, "florabatch status: %s\n", err->msg);
		return -1;
	}
	if (!st->has_record && !st->volumes)
		fprintf(stderr,
			"florabatch status: %s holds no results.jsonl: no batch has run "
			"there yet\n",
			dir);
	return 0;
}

/* The folders each, then their total: text, or (json) one object. 0, or -1 when unwritable. */
static int report(FILE *f, const char *const *dirs, int n, int json, int *unreadable)
{
	struct total *t = calloc(1, sizeof(*t));
	struct fb_folder_state *st = calloc(1, sizeof(*st));
	yajl_gen g = json ? fb_json_gen_new() : NULL;
	struct fb_buf out = FB_BUF_INIT;
	int rc = t && st && (!json || g) ? 0 : -1;
	if (!rc && json && n > 1)
		rc = fb_json_gen_status(yajl_gen_map_open(g)) || fb_json_gen_key(g, "folders") ||
		     fb_json_gen_status(yajl_gen_array_open(g));
	for (int i = 0; !rc && i < n; i++) {
		struct fb_err err = {0};
		if (read_folder(dirs[i], st, &err)) {
			t->unreadable++;
			if (json && n > 1)
				rc = fb_json_gen_status(yajl_gen_map_open(g)) ||
				     fb_json_gen_key(g, "dir") || fb_json_gen_str(g, dirs[i]) ||
				     fb_json_gen_key(g, "error") || fb_json_gen_str(g, err.msg) ||
				     fb_json_gen_status(yajl_gen_map_close(g));
			else if (!json && n > 1)
				fprintf(f, "%s\n  cannot be read: %s\n", dirs[i], err.msg);
			continue;
		}
		add_state(t, st);
		if (json)
			rc = json_folder(g, n > 1 ? dirs[i] : NULL, st);
		else
			human(f, dirs[i], st);
	}
	qsort(t->st.codes, t->st.ncodes, sizeof(t->st.codes[0]), by_count);
	if (!rc && json && n > 1)
		rc = fb_json_gen_status(yajl_gen_array_close(g)) || fb_json_gen_key(g, "total") ||
		     json_total(g, t) || fb_json_gen_status(yajl_gen_map_close(g));
	if (!rc && json && (n > 1 || !t->unreadable) && !fb_json_gen_take(g, &out))
		fprintf(f, "%s\n", out.ptr);
	if (!rc && !json && n > 1) {
		fprintf(f, "total of %u folders: %u running, %u idle", t->folders + t->unreadable,
			t->running, t->folders - t->running);
		if (t->unreadable)
			fprintf(f, ", %u that cannot be read", t->unreadable);
		fputc('\n', f);
		body(f, &t->st, 1);
	}
	*unreadable = t ? (int)t->unreadable : 0;
	fb_buf_release(&out);
	if (g)
		yajl_gen_free(g);
	free(st);
	free(t);
	return rc;
}

int fb_cmd_status(int argc, char **argv)
{
	int json = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (c == 'h') {
			fb_status_usage(stdout);
			return FB_EXIT_OK;
		} else if (c == 'j') {
			json = 1;
		} else {
			fb_args_getopt_error("florabatch status", argc, argv, optind, optopt);
			fputs("Try 'florabatch status --help'.\n", stderr);
			return FB_EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr,
				"florabatch status: unknown option or missing value \"%s\"\n",
				argv[i]);
			fb_status_usage(stderr);
			return FB_EXIT_USAGE;
		}
	static const char *const fallback[] = {FB_OUTDIR_DEFAULT};
	const char *const *dirs = optind < argc ? (const char *const *)argv + optind : fallback;
	int n = optind < argc ? argc - optind : 1, unreadable = 0;
	if (report(stdout, dirs, n, json, &unreadable))
		return FB_EXIT_IO;
	if (fflush(stdout) != 0)
		return FB_EXIT_IO;
	return unreadable ? FB_EXIT_USAGE : FB_EXIT_OK;
}
