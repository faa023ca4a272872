/* run: the `florabatch run` subcommand: options in, a batch run, a summary and an exit code out. */
#include "run.h"
#include "volumes.h"
#include "connect.h"
#include "options.h"
#include "outdir.h"

#include "clock.h"
#include "collector.h"
#include "dirreader.h"
#include "driver.h"
#include "journal.h"
#include "plan.h"
#include "precheck.h"
#include "progress.h"
#include "rowcount.h"
#include "safeopen.h"
#include "shardfile.h"
#include "statcache.h"
#include "log.h"
#include "manifest.h"
#include "sim.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * The only state a signal touches. The first SIGINT or SIGTERM asks the
 * batch to stop admitting and let what is in flight finish; a second
 * SIGINT leaves at once, which the journal makes safe.
 */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t roll_requests; /* SIGUSR1: a new archive volume now */

static void on_roll(int sig)
{
	(void)sig;
	roll_requests++;
}

static void on_signal(int sig)
{
	if (stop_requested && sig == SIGINT)
		_exit(130);
	stop_signal = sig;
	stop_requested = 1;
}

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_roll;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
}

static char *join_ext(const char *dir, const char *name, const char *ext)
{
	size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s%s", dir, name, ext);
	return p;
}

static int is_dir_input(const char *path)
{
	struct stat st;
	return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void print_walk(FILE *f, const struct fb_dirwalk_stats *w, const struct fb_statcache *sc)
{
	uint64_t hits, puts;
	fb_statcache_counts(sc, &hits, &puts);
	fprintf(f,
		"  folder    %llu images (%llu unchanged since the last scan, not read); "
		"passed over: %llu hidden, %llu not images",
		(unsigned long long)w->images, (unsigned long long)hits,
		(unsigned long long)w->hidden, (unsigned long long)w->not_image);
	if (w->not_matching)
		fprintf(f, ", %llu not matching --glob", (unsigned long long)w->not_matching);
	if (w->symlink_outside)
		fprintf(f, ", %llu links out of the folder",
			(unsigned long long)w->symlink_outside);
	if (w->unreadable)
		fprintf(f, ", %llu unreadable", (unsigned long long)w->unreadable);
	fputc('\n', f);
}

/* The wall clock in ns: file times are the real clock's, whatever the batch runs on. */
static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static void human_bytes(char *buf, size_t n, uint64_t b)
{
	if (b < 1024)
		snprintf(buf, n, "%llu B", (unsigned long long)b);
	else if (b < 1024 * 1024)
		snprintf(buf, n, "%.1f KiB", b / 1024.0);
	else if (b < 1024ULL * 1024 * 1024)
		snprintf(buf, n, "%.1f MiB", b / (1024.0 * 1024));
	else
		snprintf(buf, n, "%.2f GiB", b / (1024.0 * 1024 * 1024));
}

/* A shard's share of the manifest, and of --rate when one was given. */
static void print_shard(FILE *f, const struct run_opts *o, const struct fb_summary *s)
{
	const struct fb_shard *sh = &o->drv.shard;
	if (!sh->count)
		return;
	fprintf(f, "  shard     %u/%u: %llu of %llu items", sh->index, sh->count,
		(unsigned long long)s->items, (unsigned long long)(s->items + s->other_shards));
	if (s->other_shards)
		fprintf(f, " (the other %llu are other shards')",
			(unsigned long long)s->other_shards);
	if (o->rate_total > 0 && sh->count > 1)
		fprintf(f, "; --rate %g shared: %g requests/s for this one", o->rate_total,
			o->drv.rate);
	fputc('\n', f);
}

static void print_summary(FILE *f, const struct run_opts *o, const struct fb_summary *s,
			  const char *results, const char *archive, uint64_t wall_ms)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		     (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	char bytes[32], rss[32];
	human_bytes(bytes, sizeof(bytes), s->output_bytes);
	human_bytes(rss, sizeof(rss), (uint64_t)ru.ru_maxrss * 1024);
	double secs = wall_ms / 1000.0;

	fprintf(f, "\nflorabatch: %s in %.1f s\n", s->stopped ? "batch STOPPED" : "batch finished",
		secs);
	fprintf(f, "  items     %llu: %llu completed, %llu failed, %llu invalid, %llu skipped",
		(unsigned long long)s->items, (unsigned long long)s->completed,
		(unsigned long long)s->failed, (unsigned long long)s->invalid,
		(unsigned long long)s->skipped);
	if (s->unresolved)
		fprintf(f, ", %llu unresolved", (unsigned long long)s->unresolved);
	fputc('\n', f);
	print_shard(f, o, s);
	if (s->done_before)
		fprintf(f, "  earlier   %llu items were done by an earlier run of this batch\n",
			(unsigned long long)s->done_before);
	if (s->reader_gone)
		fprintf(f,
			"  stopped   the reader of standard output went away: no new runs; %llu "
			"in flight left without a line; results.jsonl has every line\n",
			(unsigned long long)s->abandoned);
	if (s->interrupted)
		fprintf(f,
			"  stopped   by a signal: %llu in flight left without a line; run the "
			"same command again to finish\n",
			(unsigned long long)s->abandoned);
	if (s->throttled_ms)
		fprintf(f, "  throttled %.1f s: the API answered 429 and every request waited\n",
			s->throttled_ms / 1000.0);
	if (s->budget_stopped)
		fprintf(f, "  budget    --max-cost reached: no new runs started after $%.3f\n",
			s->cost);
	if (s->stopped)
		fprintf(f, "  stopped   %s%s%s\n  what now  %s\n", s->stop_err.api_code,
			s->stop_err.api_code[0] ? ": " : "", s->stop_err.msg,
			fb_err_hint(&s->stop_err) ? fb_err_hint(&s->stop_err)
						  : "see the skipped items' error in the results");
	/* Runs an earlier invocation made and this one picked up by id are no new cost. */
	fprintf(f, "  runs      %llu created", (unsigned long long)s->runs);
	if (s->resumed)
		fprintf(f, ", %llu resumed from an earlier invocation",
			(unsigned long long)s->resumed);
	fputc('\n', f);
	fprintf(f, "  outputs   %llu %s, %s\n", (unsigned long long)s->outputs,
		archive ? "archived" : "kept as files", bytes);
	if (s->costed)
		fprintf(f, "  cost      $%.3f charged (%llu runs reported a cost)\n", s->cost,
			(unsigned long long)s->costed);
	fprintf(f, "  results   %s\n", results);
	char last[4096];
	if (!archive)
		fprintf(f, "  archive   (not kept)\n");
	else if (!s->volumes || fb_volumes_path(archive, s->volume_count, last, sizeof(last)))
		fprintf(f, "  archive   no new volume (%u volumes of %s)\n", s->volume_count,
			archive);
	else
		fprintf(f, "  archive   %s (%llu new volume%s, %u in all)\n", last,
			(unsigned long long)s->volumes, s->volumes == 1 ? "" : "s",
			s->volume_count);
	fprintf(f,
		"  speed     %.1f items/s, CPU %.2f s (%.1f us/item), peak RSS %s, %llu journal "
		"syncs\n",
		secs > 0 ? s->items / secs : 0.0, cpu, s->items ? cpu * 1e6 / s->items : 0.0, rss,
		(unsigned long long)s->journal_syncs);
	if (s->failed || s->invalid)
		fprintf(
		    f,
		    "  see why   jq -c 'select(.status!=\"completed\") | {id,status,error}' %s\n",
		    strcmp(results, "-") ? results : "<results>");
}

/* The summary in one line, for cron's mail and a pipeline's log. */
static void print_summary_line(FILE *f, const struct run_opts *o, const struct fb_summary *s,
			       const char *results, const char *archive, uint64_t wall_ms, int code)
{
	char bytes[32], last[4096] = "", shard[64] = "";
	human_bytes(bytes, sizeof(bytes), s->output_bytes);
	if (archive && s->volumes && fb_volumes_path(archive, s->volume_count, last, sizeof(last)))
		last[0] = '\0';
	if (o->drv.shard.count) /* "shard K/N: M of T items" */
		snprintf(shard, sizeof(shard), "shard %u/%u: ", o->drv.shard.index,
			 o->drv.shard.count);
	fprintf(f, "florabatch: %s: %s%llu ", s->stopped ? "batch STOPPED" : "batch finished",
		shard, (unsigned long long)s->items);
	if (shard[0])
		fprintf(f, "of %llu ", (unsigned long long)(s->items + s->other_shards));
	fprintf(f,
		"items in %.1f s: %llu completed, %llu failed, %llu invalid, "
		"%llu skipped",
		wall_ms / 1000.0, (unsigned long long)s->completed, (unsigned long long)s->failed,
		(unsigned long long)s->invalid, (unsigned long long)s->skipped);
	if (s->unresolved)
		fprintf(f, ", %llu unresolved", (unsigned long long)s->unresolved);
	if (s->done_before)
		fprintf(f, ", %llu done before", (unsigned long long)s->done_before);
	fprintf(f, "; %llu runs created", (unsigned long long)s->runs);
	if (s->resumed)
		fprintf(f, ", %llu resumed", (unsigned long long)s->resumed);
	if (s->costed)
		fprintf(f, "; $%.3f charged", s->cost);
	if (s->throttled_ms)
		fprintf(f, "; throttled %.1f s by 429s", s->throttled_ms / 1000.0);
	fprintf(f, "; %llu outputs (%s)%s%s; results %s", (unsigned long long)s->outputs, bytes,
		last[0] ? " in " : "", last, results);
	if (s->stopped)
		fprintf(f, "; stopped: %s%s%s", s->stop_err.api_code,
			s->stop_err.api_code[0] ? ": " : "", s->stop_err.msg);
	fprintf(f, "; exit %d\n", code);
}

static int exit_code(const struct fb_summary *s)
{
	if (s->stopped)
		return s->stop_err.http_status == 402 ||
			       !strcmp(s->stop_err.api_code, "insufficient_credits")
			   ? FB_EXIT_CREDITS
			   : FB_EXIT_AUTH;
	if (s->budget_stopped)
		return FB_EXIT_BUDGET;
	if (s->failed || s->invalid || s->skipped || s->unresolved)
		return FB_EXIT_PARTIAL;
	return FB_EXIT_OK;
}

static int open_transport(struct run_opts *o, struct fb_clock *clock, struct fb_log *log,
			  struct fb_transport **t)
{
	struct fb_connect c = {
	    .transport = o->transport,
	    .base_url = o->base_url,
	    .api_key_file = o->api_key_file,
	    .insecure = o->insecure,
	    .max_output_bytes = o->drv.policy.max_output_bytes,
	    .request_timeout_ms = o->request_timeout_ms,
	    .stall_timeout_ms = o->stall_timeout_ms,
	    .sim = &o->sim,
	};
	if (fb_connect_open(&c, clock, log, o->api_origin, sizeof(o->api_origin), t))
		return -1;
	o->drv.policy.api_origin = o->api_origin;
	return 0;
}

int fb_cmd_run(int argc, char **argv)
{
	struct run_opts o;
	if (fb_options_parse(argc, argv, &o))
		return FB_EXIT_USAGE;
	if (!strcmp(argv[0], "validate"))
		o.dry_run = 1; /* the same check under its own name */
	if (!o.drv.seed)
		o.drv.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	int from_stdin = !o.input || !strcmp(o.input, "-");
	if (from_stdin && isatty(STDIN_FILENO)) {
		fputs("florabatch: no manifest: give a .csv or .jsonl file, or pipe one in "
		      "(florabatch run --help)\n",
		      stderr);
		return FB_EXIT_USAGE;
	}
	/* --progress auto: the line on a terminal that can redraw it; --quiet: nothing unasked. */
	const char *term = getenv("TERM");
	enum fb_progress_mode pmode = FB_PROGRESS_NONE;
	if (!o.quiet || o.progress)
		fb_progress_mode_parse(o.progress ? o.progress : "auto", isatty(STDERR_FILENO),
				       term, &pmode);
	int color = pmode == FB_PROGRESS_BAR && isatty(STDERR_FILENO) && !getenv("NO_COLOR") &&
		    !(term && !strcmp(term, "dumb"));
	struct fb_log *log = fb_log_new(stderr,
					o.quiet	    ? FB_LOG_ERROR
					: o.verbose ? FB_LOG_DEBUG
						    : FB_LOG_WARN,
					pmode == FB_PROGRESS_BAR);
	struct fb_progress *prog = NULL;
	struct fb_err err = {0};
	int code = FB_EXIT_IO;
	struct fb_manifest *m = NULL;
	struct fb_clock *clock = NULL;
	struct fb_transport *t = NULL;
	struct fb_collector *c = NULL;
	char *results = NULL, *archive = NULL, *spool = NULL, *jpath = NULL, *volumes = NULL;
	char *cache_path = NULL;
	struct fb_statcache *cache = NULL;
	struct fb_journal *journal = NULL;

	/* A missing key or a bad URL is the user's to fix before any file is touched. */
	clock = o.sim_virtual ? fb_clock_virtual_new(0) : fb_clock_real_new();
	code = FB_EXIT_USAGE;
	if (!clock || open_transport(&o, clock, log, &t))
		goto out;
	code = FB_EXIT_IO;

	if (o.strict && !from_stdin && !is_dir_input(o.input)) {
		uint64_t invalid = 0;
		if (fb_precheck_manifest(o.input, o.format, &o.drv.defaults, log, &invalid, &err)) {
			fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
			code = FB_EXIT_USAGE;
			goto out;
		}
		if (invalid) {
			fb_log_msg(log, FB_LOG_ERROR,
				   "--strict: %llu invalid row%s in %s; nothing was run",
				   (unsigned long long)invalid, invalid == 1 ? "" : "s", o.input);
			code = FB_EXIT_USAGE;
			goto out;
		}
	} else if (o.strict) {
		fb_log_msg(log, FB_LOG_WARN,
			   "--strict checks a manifest file before running; "
			   "standard input is checked row by row");
	}
	struct stat in_st;
	int is_dir = !from_stdin && stat(o.input, &in_st) == 0 && S_ISDIR(in_st.st_mode);
	/* Read now, written back only under the folder's lock. */
	if (is_dir && !(cache_path = join(o.out_dir, "local-hashes.tsv")))
		goto out;
	/* An unreadable cache only costs hashing, but a link planted in its place is refused. */
	if (is_dir && fb_safe_nolink(cache_path)) {
		fb_log_msg(log, FB_LOG_ERROR, "%s: %s", cache_path, fb_safe_strerror(errno));
		goto out;
	}
	if (is_dir && fb_statcache_open(&cache, cache_path, wall_ns(), &err)) {
		fb_log_msg(log, FB_LOG_WARN, "%s; every file is hashed", err.msg);
		cache = NULL;
	}
	struct fb_dir_options dopts = {o.input_id, o.glob, o.hidden, cache};
	if (is_dir ? fb_manifest_open_dir(&m, o.input, &dopts, &err)
		   : fb_manifest_open(&m, o.input, o.format, &err)) {
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
		code = FB_EXIT_USAGE;
		goto out;
	}
	if (o.dry_run) {
		code = fb_cmd_plan(&o, m, t, log);
		goto out;
	}
	/* The progress line's total: a folder's images, or a file's rows (a stream has none). */
	struct stat mst;
	if (pmode != FB_PROGRESS_NONE && is_dir)
		o.drv.total = fb_manifest_dir_stats(m)->images;
	else if (pmode != FB_PROGRESS_NONE && !from_stdin && stat(o.input, &mst) == 0 &&
		 S_ISREG(mst.st_mode) && fb_rowcount(o.input, fb_manifest_format(m), &o.drv.total))
		o.drv.total = 0;
	if (!(prog = fb_progress_new(pmode, log, color, fb_clock_now_ms(clock))))
		goto out;
	o.drv.progress = prog;
	int lock = fb_outdir_lock(o.out_dir);
	if (lock < 0) {
		code = lock == -FB_EXIT_LOCKED ? FB_EXIT_LOCKED : FB_EXIT_IO;
		goto out;
	}
	/* The record of the batch is a file in the folder even when lines also go to stdout. */
	int to_stdout = o.results && !strcmp(o.results, "-");
	results = o.results && !to_stdout ? fb_safe_user_path(o.results)
					  : join(o.out_dir, "results.jsonl");
	if (!o.archive)
		archive = join_ext(o.out_dir, "outputs", fb_archive_format_ext(o.archive_format));
	else if (strcmp(o.archive, "none"))
		archive = fb_safe_user_path(o.archive);
	spool = join(o.out_dir, "spool.dat");
	volumes = join(o.out_dir, "volumes.jsonl");
	jpath = join(o.out_dir, "journal.jsonl");
	if (!results || !spool || !jpath || !volumes)
		goto out;
	if (o.fresh && fb_outdir_fresh(o.out_dir, results, archive))
		goto out;
	/* A folder holds one shard's items (or every item): refuse to mix them, and record ours. */
	struct fb_shard held;
	if (fb_shardfile_check(o.out_dir, results, &o.drv.shard, &held, &err)) {
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
		code = err.code == FB_EINVAL || err.code == FB_EPARSE ? FB_EXIT_USAGE : FB_EXIT_IO;
		goto out;
	}
	if (o.drv.shard.count && !held.count && fb_shardfile_write(o.out_dir, &o.drv.shard, &err)) {
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
		goto out;
	}
	if (fb_journal_open(&journal, jpath, &err)) {
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
		goto out;
	}
	fb_journal_set_clock(journal, clock);
	/* When this invocation started and ended, for `florabatch status`; what it runs,
	 * for `florabatch merge`. */
	const struct fb_resolve_defaults *d = &o.drv.defaults;
	struct fb_journal_batch batch = {
	    .kind = fb_job_kind_name(d->kind),
	    .technique = d->kind == FB_JOB_GENERATION	  ? d->generation
			 : d->kind == FB_JOB_TECHNIQUE_ID ? d->technique_id
							  : d->technique,
	    .ns = o.drv.key_namespace && *o.drv.key_namespace ? o.drv.key_namespace : NULL,
	};
	if (fb_journal_note_start(journal, (long)getpid(), &batch, &err)) {
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
		goto out;
	}
	o.drv.journal = journal;
	o.drv.policy.workspace_id = o.drv.defaults.workspace_id;
	struct fb_collector_config cc = {
	    .record_path = results,
	    .record_named = o.results && !to_stdout,
	    .copy_to_stdout = to_stdout,
	    .keep_order = o.keep_order ? 4 * (size_t)o.drv.concurrency : 0,
	    .spool_path = spool,
	    .archive_path = archive,
	    .volumes_path = volumes,
	    .format = o.archive_format,
	    .outputs_dir = o.outputs_dir,
	    .mtime_s = (int64_t)time(NULL),
	    .clock = clock,
	    .fresh = o.fresh,
	};
	if (fb_collector_open(&c, &cc, &err)) {
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
		goto out;
	}
	catch_signals();
	o.drv.stop = &stop_requested;
	o.drv.roll = &roll_requests;

	struct fb_summary sum;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = fb_driver_run(&o.drv, m, t, c, clock, log, &sum, &err);
	if (rc)
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
	/* What the scan did not reach is kept for the next one. */
	int whole =
	    !rc && !sum.interrupted && !sum.reader_gone && !sum.stopped && !sum.budget_stopped;
	if (fb_statcache_save(cache, whole, &err))
		fb_log_msg(log, FB_LOG_WARN, "%s; the next scan hashes every file again", err.msg);
	struct fb_collector *cl = c;
	struct fb_collector_stats cs;
	c = NULL;
	memset(&cs, 0, sizeof(cs));
	int crc = fb_collector_close(cl, &cs, &err);
	sum.outputs = cs.outputs; /* the last volume is built at close */
	sum.volumes = cs.volumes;
	sum.volume_count = cs.volume_count;
	sum.output_bytes = cs.output_bytes;
	if (crc && !rc) {
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
		rc = FB_EIO;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t wall = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000 +
			(uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000000);
	char shard[48] = "";
	if (o.drv.shard.count)
		snprintf(shard, sizeof(shard), " of shard %u/%u", o.drv.shard.index,
			 o.drv.shard.count);
	if (sum.items == 0 && !rc && sum.other_shards)
		fb_log_msg(log, FB_LOG_WARN, "%s has no items%s (its %llu are other shards')",
			   fb_manifest_name(m), shard, (unsigned long long)sum.other_shards);
	else if (sum.items == 0 && !rc)
		fb_log_msg(log, FB_LOG_WARN, "%s has no items", fb_manifest_name(m));
	/* An hourly cron run that finds nothing new says nothing (on a terminal, one line). */
	int nothing_new = !rc && sum.items && sum.done_before == sum.items;
	if (nothing_new && !o.quiet && isatty(STDERR_FILENO))
		fprintf(stderr, "florabatch: nothing new: all %llu items%s were done before\n",
			(unsigned long long)sum.items, shard);
	if (rc == FB_EPARSE)
		code = FB_EXIT_USAGE; /* the manifest broke part-way: a manifest error */
	else
		code = rc		 ? FB_EXIT_IO
		       : sum.interrupted ? 128 + stop_signal
		       : sum.reader_gone ? FB_EXIT_PIPE
					 : exit_code(&sum);
	/* The block on a terminal; one line in a pipe or under cron (or as --summary says). */
	const char *how = o.summary ? o.summary : isatty(STDERR_FILENO) ? "block" : "line";
	if (!o.quiet && !nothing_new && !strcmp(how, "block")) {
		print_summary(stderr, &o, &sum, results, archive, wall);
		if (fb_manifest_dir_stats(m))
			print_walk(stderr, fb_manifest_dir_stats(m), cache);
	} else if (!o.quiet && !nothing_new && !strcmp(how, "line")) {
		print_summary_line(stderr, &o, &sum, results, archive, wall, code);
	}
out:
	if (c)
		fb_collector_close(c, NULL, NULL);
	if (journal && fb_journal_note_end(journal, code, &err) && code == FB_EXIT_OK) {
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
		code = FB_EXIT_IO;
	}
	if (journal && fb_journal_close(journal, &err) && code == FB_EXIT_OK) {
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
		code = FB_EXIT_IO;
	}
	free(spool);
	free(jpath);
	free(cache_path);
	fb_transport_free(t);
	fb_manifest_free(m);
	fb_statcache_free(cache); /* after the reader that borrowed it */
	fb_progress_free(prog);
	fb_clock_free(clock);
	fb_log_free(log);
	free(results);
	free(archive);
	free(volumes);
	return code;
}
