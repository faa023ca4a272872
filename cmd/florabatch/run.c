/* run: the `florabatch run` subcommand: options in, a batch run, a summary and an exit code out. */
#include "run.h"
#include "args.h"

#include "clock.h"
#include "collector.h"
#include "driver.h"
#include "log.h"
#include "manifest.h"
#include "sim.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct run_opts {
	const char *input;
	enum fb_format format;
	const char *out_dir;
	const char *results;
	const char *archive;
	const char *transport;
	int strict;
	int quiet, verbose;
	struct fb_driver_config drv;
	struct fb_sim_config sim;
	int sim_virtual;
};

enum {
	OPT_TECHNIQUE = 256,
	OPT_FORMAT,
	OPT_OUT,
	OPT_RESULTS,
	OPT_ARCHIVE,
	OPT_TRANSPORT,
	OPT_CONCURRENCY,
	OPT_POLL,
	OPT_STRICT,
	OPT_NAMESPACE,
	OPT_RETRIES,
	OPT_MAX_OUTPUT,
	OPT_SEED,
	OPT_QUIET,
	OPT_VERBOSE,
	OPT_HELP,
	OPT_SIM_RUN_TIME,
	OPT_SIM_FAIL,
	OPT_SIM_LATENCY,
	OPT_SIM_SEED,
	OPT_SIM_CLOCK,
	OPT_SIM_OUTPUTS,
};

static const struct option long_opts[] = {
    {"technique", required_argument, NULL, OPT_TECHNIQUE},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"out", required_argument, NULL, OPT_OUT},
    {"results", required_argument, NULL, OPT_RESULTS},
    {"archive", required_argument, NULL, OPT_ARCHIVE},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"poll-interval", required_argument, NULL, OPT_POLL},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"max-output-bytes", required_argument, NULL, OPT_MAX_OUTPUT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"help", no_argument, NULL, OPT_HELP},
    {"sim-run-time", required_argument, NULL, OPT_SIM_RUN_TIME},
    {"sim-fail-rate", required_argument, NULL, OPT_SIM_FAIL},
    {"sim-latency", required_argument, NULL, OPT_SIM_LATENCY},
    {"sim-seed", required_argument, NULL, OPT_SIM_SEED},
    {"sim-clock", required_argument, NULL, OPT_SIM_CLOCK},
    {"sim-outputs", required_argument, NULL, OPT_SIM_OUTPUTS},
    {NULL, 0, NULL, 0},
};

void fb_run_usage(FILE *f)
{
	fputs(
	    "Usage: florabatch run [OPTIONS] [INPUT]\n"
	    "\n"
	    "Runs one FLORA technique run per manifest item, polls each to the end,\n"
	    "archives every output and writes one JSON result line per item.\n"
	    "INPUT is a .csv or .jsonl manifest; '-' or nothing reads standard input.\n"
	    "\n"
	    "What to run:\n"
	    "  --technique SLUG        technique for items that name none\n"
	    "  --format csv|jsonl      manifest format when the name or content does not tell\n"
	    "  --strict                refuse the whole batch if any row of a file is invalid\n"
	    "  --namespace NS          mixed into every idempotency key (separate re-runs on "
	    "purpose)\n"
	    "\n"
	    "Where results go:\n"
	    "  --out DIR               folder for results.jsonl and outputs.tar.gz (default "
	    "florabatch-out)\n"
	    "  --results FILE|-        results JSONL elsewhere; '-' streams it to standard output\n"
	    "  --archive FILE|none     outputs archive elsewhere, or not kept at all\n"
	    "  --max-output-bytes N    largest output accepted (default 512M)\n"
	    "\n"
	    "How it runs:\n"
	    "  --transport sim|http    sim: the built-in simulator (default); http: the FLORA API\n"
	    "  --concurrency N         runs in flight at once (default 16)\n"
	    "  --poll-interval DUR     fixed poll interval (default: the API's estimate, then 2-5 "
	    "s)\n"
	    "  --retries N             retries per request on retryable errors (default 5)\n"
	    "  --seed N                seed for retry and poll jitter\n"
	    "  --quiet | --verbose     only errors | also debug messages\n"
	    "\n"
	    "Simulator (--transport sim):\n"
	    "  --sim-run-time DUR      how long each run takes (default 2s)\n"
	    "  --sim-fail-rate P       share of runs that fail, 0 to 1 (default 0)\n"
	    "  --sim-latency DUR       answer latency per request (default 20ms)\n"
	    "  --sim-outputs N         outputs per completed run (default 1)\n"
	    "  --sim-seed N            the simulator's seed (default 1)\n"
	    "  --sim-clock real|virtual  virtual time jumps instead of waiting (tests, "
	    "benchmarks)\n"
	    "\n"
	    "Durations: 500ms, 2s, 1.5m, 1h or a number of seconds.\n"
	    "Exit status: 0 every item completed; 1 some item failed, was invalid or skipped;\n"
	    "2 usage or manifest error; 3 the API stopped the batch (key, credits); 4 output I/O "
	    "error.\n",
	    f);
}

static int parse(int argc, char **argv, struct run_opts *o)
{
	uint64_t u;
	double d;
	optind = 1;
	for (;;) {
		int c = getopt_long(argc, argv, "", long_opts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case OPT_TECHNIQUE:
			o->drv.default_technique = optarg;
			break;
		case OPT_FORMAT:
			if (fb_format_parse(optarg, &o->format)) {
				fprintf(stderr,
					"florabatch: --format: expected csv or jsonl, got \"%s\"\n",
					optarg);
				return -1;
			}
			break;
		case OPT_OUT:
			o->out_dir = optarg;
			break;
		case OPT_RESULTS:
			o->results = optarg;
			break;
		case OPT_ARCHIVE:
			o->archive = optarg;
			break;
		case OPT_TRANSPORT:
			o->transport = optarg;
			break;
		case OPT_CONCURRENCY:
			if (fb_args_uint("--concurrency", optarg, 1, 100000, &u))
				return -1;
			o->drv.concurrency = (unsigned)u;
			break;
		case OPT_POLL:
			if (fb_args_duration_ms("--poll-interval", optarg,
						&o->drv.policy.poll_interval_ms))
				return -1;
			break;
		case OPT_STRICT:
			o->strict = 1;
			break;
		case OPT_NAMESPACE:
			o->drv.key_namespace = optarg;
			break;
		case OPT_RETRIES:
			if (fb_args_uint("--retries", optarg, 0, 100, &u))
				return -1;
			o->drv.policy.max_retries = (unsigned)u;
			break;
		case OPT_MAX_OUTPUT:
			if (fb_args_size("--max-output-bytes", optarg,
					 &o->drv.policy.max_output_bytes))
				return -1;
			break;
		case OPT_SEED:
			if (fb_args_uint("--seed", optarg, 0, UINT64_MAX, &o->drv.seed))
				return -1;
			break;
		case OPT_QUIET:
			o->quiet = 1;
			break;
		case OPT_VERBOSE:
			o->verbose = 1;
			break;
		case OPT_HELP:
			fb_run_usage(stdout);
			exit(0);
		case OPT_SIM_RUN_TIME:
			if (fb_args_duration_ms("--sim-run-time", optarg, &o->sim.model.run_ms))
				return -1;
			break;
		case OPT_SIM_FAIL:
			if (fb_args_double("--sim-fail-rate", optarg, 0, 1, &d))
				return -1;
			o->sim.model.fail_rate = d;
			break;
		case OPT_SIM_LATENCY:
			if (fb_args_duration_ms("--sim-latency", optarg, &o->sim.latency_ms))
				return -1;
			break;
		case OPT_SIM_SEED:
			if (fb_args_uint("--sim-seed", optarg, 0, UINT64_MAX, &o->sim.model.seed))
				return -1;
			break;
		case OPT_SIM_OUTPUTS:
			if (fb_args_uint("--sim-outputs", optarg, 1, 16, &u))
				return -1;
			o->sim.model.outputs_per_run = (unsigned)u;
			break;
		case OPT_SIM_CLOCK:
			if (strcmp(optarg, "real") && strcmp(optarg, "virtual")) {
				fprintf(stderr,
					"florabatch: --sim-clock: expected real or virtual, got "
					"\"%s\"\n",
					optarg);
				return -1;
			}
			o->sim_virtual = !strcmp(optarg, "virtual");
			break;
		default:
			fputs("Try 'florabatch run --help'.\n", stderr);
			return -1;
		}
	}
	if (optind < argc)
		o->input = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "florabatch: one manifest at a time; unexpected \"%s\"\n",
			argv[optind]);
		return -1;
	}
	if (strcmp(o->transport, "sim") && strcmp(o->transport, "http")) {
		fprintf(stderr, "florabatch: --transport: expected sim or http, got \"%s\"\n",
			o->transport);
		return -1;
	}
	if (o->sim_virtual && strcmp(o->transport, "sim")) {
		fputs("florabatch: --sim-clock virtual works only with --transport sim\n", stderr);
		return -1;
	}
	return 0;
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static int make_dir(const char *dir)
{
	if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
		struct stat st;
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		fprintf(stderr, "florabatch: --out %s: exists and is not a folder\n", dir);
		return -1;
	}
	fprintf(stderr, "florabatch: --out %s: cannot create the folder: %s\n", dir,
		strerror(errno));
	return -1;
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

static void print_summary(FILE *f, const struct fb_summary *s, const char *results,
			  const char *archive, uint64_t wall_ms)
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
	fprintf(f, "  items     %llu: %llu completed, %llu failed, %llu invalid, %llu skipped\n",
		(unsigned long long)s->items, (unsigned long long)s->completed,
		(unsigned long long)s->failed, (unsigned long long)s->invalid,
		(unsigned long long)s->skipped);
	if (s->stopped)
		fprintf(f, "  stopped   %s\n", s->stop_err.msg);
	fprintf(f, "  runs      %llu created\n", (unsigned long long)s->runs);
	fprintf(f, "  outputs   %llu archived, %s\n", (unsigned long long)s->outputs, bytes);
	if (s->costed)
		fprintf(f, "  cost      $%.3f charged (%llu runs reported a cost)\n", s->cost,
			(unsigned long long)s->costed);
	fprintf(f, "  results   %s\n", results);
	fprintf(f, "  archive   %s\n", archive ? archive : "(not kept)");
	fprintf(f, "  speed     %.1f items/s, CPU %.2f s (%.1f us/item), peak RSS %s\n",
		secs > 0 ? s->items / secs : 0.0, cpu, s->items ? cpu * 1e6 / s->items : 0.0, rss);
	if (s->failed || s->invalid)
		fprintf(
		    f,
		    "  see why   jq -c 'select(.status!=\"completed\") | {id,status,error}' %s\n",
		    strcmp(results, "-") ? results : "<results>");
}

static int exit_code(const struct fb_summary *s)
{
	if (s->stopped)
		return FB_EXIT_STOPPED;
	if (s->failed || s->invalid || s->skipped)
		return FB_EXIT_PARTIAL;
	return FB_EXIT_OK;
}

static int open_transport(struct run_opts *o, struct fb_clock *clock, struct fb_transport **t)
{
	struct fb_err err = {0};
	if (!strcmp(o->transport, "http")) {
		fputs(
		    "florabatch: --transport http: the HTTP transport is not in this version yet; "
		    "use --transport sim\n",
		    stderr);
		return -1;
	}
	if (fb_sim_transport_new(t, &o->sim, clock, &err)) {
		fprintf(stderr, "florabatch: simulator: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int fb_cmd_run(int argc, char **argv)
{
	struct run_opts o = {
	    .out_dir = "florabatch-out",
	    .transport = "sim",
	    .drv = {.concurrency = 16,
		    .policy = {.max_retries = 5,
			       .backoff_base_ms = 500,
			       .backoff_cap_ms = 30000,
			       .fetch_attempts = 4,
			       .max_output_bytes = 512ULL << 20}},
	    .sim = {.model = {.seed = 1, .run_ms = 2000, .outputs_per_run = 1}, .latency_ms = 20},
	};
	if (parse(argc, argv, &o))
		return FB_EXIT_USAGE;
	if (!o.drv.seed)
		o.drv.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	int from_stdin = !o.input || !strcmp(o.input, "-");
	if (from_stdin && isatty(STDIN_FILENO)) {
		fputs("florabatch: no manifest: give a .csv or .jsonl file, or pipe one in "
		      "(florabatch run --help)\n",
		      stderr);
		return FB_EXIT_USAGE;
	}
	struct fb_log *log = fb_log_new(stderr,
					o.quiet	    ? FB_LOG_ERROR
					: o.verbose ? FB_LOG_DEBUG
						    : FB_LOG_WARN,
					!o.quiet && isatty(STDERR_FILENO));
	struct fb_err err = {0};
	int code = FB_EXIT_IO;
	struct fb_manifest *m = NULL;
	struct fb_clock *clock = NULL;
	struct fb_transport *t = NULL;
	struct fb_collector *c = NULL;
	char *results = NULL, *archive = NULL;

	if (o.strict && !from_stdin) {
		uint64_t invalid = 0;
		if (fb_driver_precheck(o.input, o.format, o.drv.default_technique, log, &invalid,
				       &err)) {
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
	if (fb_manifest_open(&m, o.input, o.format, &err)) {
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
		code = FB_EXIT_USAGE;
		goto out;
	}
	int need_dir = !o.results || !o.archive;
	if (need_dir && make_dir(o.out_dir))
		goto out;
	results = o.results ? strdup(o.results) : join(o.out_dir, "results.jsonl");
	if (!o.archive)
		archive = join(o.out_dir, "outputs.tar.gz");
	else if (strcmp(o.archive, "none"))
		archive = strdup(o.archive);

	clock = o.sim_virtual ? fb_clock_virtual_new(0) : fb_clock_real_new();
	if (!clock || !results || open_transport(&o, clock, &t))
		goto out;
	struct fb_collector_config cc = {results, archive, (int64_t)time(NULL)};
	if (fb_collector_open(&c, &cc, &err)) {
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
		goto out;
	}

	struct fb_summary sum;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = fb_driver_run(&o.drv, m, t, c, clock, log, &sum, &err);
	if (rc)
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
	struct fb_collector *cl = c;
	c = NULL;
	if (fb_collector_close(cl, &err) && !rc) {
		fb_log_msg(log, FB_LOG_ERROR, "%s", err.msg);
		rc = FB_EIO;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t wall = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000 +
			(uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000000);
	if (sum.items == 0 && !rc)
		fb_log_msg(log, FB_LOG_WARN, "%s has no items", fb_manifest_name(m));
	if (!o.quiet)
		print_summary(stderr, &sum, results, archive, wall);
	if (rc == FB_EPARSE)
		code = FB_EXIT_USAGE; /* the manifest broke part-way: a manifest error */
	else
		code = rc ? FB_EXIT_IO : exit_code(&sum);
out:
	if (c)
		fb_collector_close(c, NULL);
	fb_transport_free(t);
	fb_manifest_free(m);
	fb_clock_free(clock);
	fb_log_free(log);
	free(results);
	free(archive);
	return code;
}
