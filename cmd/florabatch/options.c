/* options: parsing and checking of `florabatch run` options. */
#include "options.h"
#include "connect.h"
#include "outdir.h"
#include "runhelp.h"
#include "args.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_TECHNIQUE = 256,
	OPT_TECHNIQUE_ID,
	OPT_GENERATION,
	OPT_WORKSPACE,
	OPT_PROJECT,
	OPT_MODEL,
	OPT_GEN_ROUTE,
	OPT_FORMAT,
	OPT_OUT,
	OPT_RESULTS,
	OPT_ARCHIVE,
	OPT_TRANSPORT,
	OPT_BASE_URL,
	OPT_API_KEY_FILE,
	OPT_INSECURE,
	OPT_CONCURRENCY,
	OPT_POLL,
	OPT_POLL_MODE,
	OPT_STRICT,
	OPT_NAMESPACE,
	OPT_RETRIES,
	OPT_MAX_OUTPUT,
	OPT_REQUEST_TIMEOUT,
	OPT_STALL_TIMEOUT,
	OPT_SEED,
	OPT_QUIET,
	OPT_VERBOSE,
	OPT_SIM_RUN_TIME,
	OPT_SIM_FAIL,
	OPT_SIM_LATENCY,
	OPT_SIM_SEED,
	OPT_SIM_CLOCK,
	OPT_SIM_OUTPUTS,
	OPT_SIM_ESTIMATE,
	OPT_SIM_SIGMA,
	OPT_SIM_LIST_LAG,
	OPT_SIM_PAGE_CAP,
	OPT_RATE,
	OPT_BURST,
	OPT_BACKOFF_BASE,
	OPT_BACKOFF_CAP,
	OPT_RETRY_FAILED,
	OPT_RUN_TIMEOUT,
	OPT_RECREATE,
	OPT_MAX_COST,
	OPT_FRESH,
	OPT_GRACE,
	OPT_INPUT_ID,
	OPT_GLOB,
	OPT_HIDDEN,
	OPT_ARCHIVE_FORMAT,
	OPT_OUTPUTS_DIR,
	OPT_KEEP_ORDER,
	OPT_PROGRESS,
	OPT_SUMMARY,
	OPT_DRY_RUN,
	OPT_ROLL,
	OPT_SIM_OUTPUT_BYTES,
	OPT_SHARD,
	OPT_SHARD_COUNT,
};

static const struct option long_opts[] = {
    {"technique", required_argument, NULL, OPT_TECHNIQUE},
    {"technique-id", required_argument, NULL, OPT_TECHNIQUE_ID},
    {"generation", required_argument, NULL, OPT_GENERATION},
    {"workspace", required_argument, NULL, OPT_WORKSPACE},
    {"project", required_argument, NULL, OPT_PROJECT},
    {"model", required_argument, NULL, OPT_MODEL},
    {"generation-route", required_argument, NULL, OPT_GEN_ROUTE},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"out", required_argument, NULL, OPT_OUT},
    {"results", required_argument, NULL, OPT_RESULTS},
    {"archive", required_argument, NULL, OPT_ARCHIVE},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"base-url", required_argument, NULL, OPT_BASE_URL},
    {"api-key-file", required_argument, NULL, OPT_API_KEY_FILE},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"poll-interval", required_argument, NULL, OPT_POLL},
    {"poll-mode", required_argument, NULL, OPT_POLL_MODE},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"max-output-bytes", required_argument, NULL, OPT_MAX_OUTPUT},
    {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
    {"stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"help", no_argument, NULL, 'h'},
    {"sim-run-time", required_argument, NULL, OPT_SIM_RUN_TIME},
    {"sim-fail-rate", required_argument, NULL, OPT_SIM_FAIL},
    {"sim-latency", required_argument, NULL, OPT_SIM_LATENCY},
    {"sim-seed", required_argument, NULL, OPT_SIM_SEED},
    {"sim-clock", required_argument, NULL, OPT_SIM_CLOCK},
    {"sim-outputs", required_argument, NULL, OPT_SIM_OUTPUTS},
    {"sim-estimate", required_argument, NULL, OPT_SIM_ESTIMATE},
    {"sim-run-time-sigma", required_argument, NULL, OPT_SIM_SIGMA},
    {"sim-list-lag", required_argument, NULL, OPT_SIM_LIST_LAG},
    {"sim-page-cap", required_argument, NULL, OPT_SIM_PAGE_CAP},
    {"rate", required_argument, NULL, OPT_RATE},
    {"burst", required_argument, NULL, OPT_BURST},
    {"backoff-base", required_argument, NULL, OPT_BACKOFF_BASE},
    {"backoff-cap", required_argument, NULL, OPT_BACKOFF_CAP},
    {"retry-failed", required_argument, NULL, OPT_RETRY_FAILED},
    {"run-timeout", required_argument, NULL, OPT_RUN_TIMEOUT},
    {"recreate-unresolved", no_argument, NULL, OPT_RECREATE},
    {"max-cost", required_argument, NULL, OPT_MAX_COST},
    {"fresh", no_argument, NULL, OPT_FRESH},
    {"input-id", required_argument, NULL, OPT_INPUT_ID},
    {"glob", required_argument, NULL, OPT_GLOB},
    {"hidden", no_argument, NULL, OPT_HIDDEN},
    {"archive-format", required_argument, NULL, OPT_ARCHIVE_FORMAT},
    {"outputs-dir", required_argument, NULL, OPT_OUTPUTS_DIR},
    {"grace", required_argument, NULL, OPT_GRACE},
    {"keep-order", no_argument, NULL, OPT_KEEP_ORDER},
    {"progress", required_argument, NULL, OPT_PROGRESS},
    {"summary", required_argument, NULL, OPT_SUMMARY},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"roll", required_argument, NULL, OPT_ROLL},
    {"sim-output-bytes", required_argument, NULL, OPT_SIM_OUTPUT_BYTES},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"shard-count", required_argument, NULL, OPT_SHARD_COUNT},
    {NULL, 0, NULL, 0},
};

static int bad_choice(const char *opt, const char *v, const char *expected)
{
	fprintf(stderr, "florabatch: %s: expected %s, got \"%s\"\n", opt, expected, v);
	return -1;
}

/* --roll SIZE (500M, 2G: a k/K/M/G/T suffix) or DURATION (30m, 1h, 1d): either kind once. */
static int parse_roll(struct run_opts *o, const char *arg)
{
	size_t n = strlen(arg);
	char last = n ? arg[n - 1] : '\0';
	if (last && strchr("kKMGT", last))
		return fb_args_size("florabatch", "--roll", arg, &o->drv.roll_bytes);
	if (last && strchr("smhd", last))
		return fb_args_duration_ms("florabatch", "--roll", arg, &o->drv.roll_ms);
	fprintf(stderr,
		"florabatch: --roll: invalid value \"%s\" (expected a size such as 500M or 2G, "
		"or a duration such as 30m, 1h or 1d)\n",
		arg);
	return -1;
}

static int one(struct run_opts *o, int c, const char *arg)
{
	struct fb_job_policy *p = &o->drv.policy;
	struct fb_resolve_defaults *d = &o->drv.defaults;
	uint64_t u;
	double x;
	switch (c) {
	case OPT_TECHNIQUE:
		d->technique = arg;
		return 0;
	case OPT_TECHNIQUE_ID:
		d->technique_id = arg;
		return 0;
	case OPT_GENERATION:
		d->generation = arg;
		return 0;
	case OPT_WORKSPACE:
		d->workspace_id = arg;
		return 0;
	case OPT_PROJECT:
		d->project_id = arg;
		return 0;
	case OPT_MODEL:
		d->model = arg;
		return 0;
	case OPT_GEN_ROUTE:
		if (strcmp(arg, "generate") && strcmp(arg, "runs"))
			return bad_choice("--generation-route", arg, "generate or runs");
		p->legacy_generation_route = !strcmp(arg, "runs");
		return 0;
	case OPT_FORMAT:
		return fb_format_parse(arg, &o->format)
			   ? bad_choice("--format", arg, "csv or jsonl")
			   : 0;
	case OPT_OUT:
		o->out_dir = arg;
		return 0;
	case OPT_RESULTS:
		o->results = arg;
		return 0;
	case OPT_ARCHIVE:
		o->archive = arg;
		return 0;
	case OPT_TRANSPORT:
		if (strcmp(arg, "sim") && strcmp(arg, "http"))
			return bad_choice("--transport", arg, "sim or http");
		o->transport = arg;
		return 0;
	case OPT_BASE_URL:
		o->base_url = arg;
		return 0;
	case OPT_API_KEY_FILE:
		o->api_key_file = arg;
		return 0;
	case OPT_INSECURE:
		o->insecure = 1;
		return 0;
	case OPT_CONCURRENCY:
		if (fb_args_uint("florabatch", "--concurrency", arg, 1, 100000, &u))
			return -1;
		o->drv.concurrency = (unsigned)u;
		return 0;
	case OPT_POLL:
		return fb_args_duration_ms("florabatch", "--poll-interval", arg,
					   &p->poll_interval_ms);
	case OPT_POLL_MODE:
		if (strcmp(arg, "list") && strcmp(arg, "get"))
			return bad_choice("--poll-mode", arg, "list or get");
		o->drv.poll_mode = !strcmp(arg, "get") ? FB_POLL_GET : FB_POLL_LIST;
		return 0;
	case OPT_STRICT:
		o->strict = 1;
		return 0;
	case OPT_NAMESPACE:
		o->drv.key_namespace = arg;
		return 0;
	case OPT_RETRIES:
		if (fb_args_uint("florabatch", "--retries", arg, 0, 100, &u))
			return -1;
		p->max_retries = (unsigned)u;
		return 0;
	case OPT_REQUEST_TIMEOUT:
		return fb_args_duration_ms("florabatch", "--request-timeout", arg,
					   &o->request_timeout_ms);
	case OPT_STALL_TIMEOUT:
		return fb_args_duration_ms("florabatch", "--stall-timeout", arg,
					   &o->stall_timeout_ms);
	case OPT_MAX_OUTPUT:
		return fb_args_size("florabatch", "--max-output-bytes", arg, &p->max_output_bytes);
	case OPT_SEED:
		return fb_args_uint("florabatch", "--seed", arg, 0, UINT64_MAX, &o->drv.seed);
	case OPT_QUIET:
		o->quiet = 1;
		return 0;
	case OPT_VERBOSE:
		o->verbose = 1;
		return 0;
	case 'h':
		fb_run_usage(stdout);
		exit(0);
	case OPT_SIM_RUN_TIME:
		return fb_args_duration_ms("florabatch", "--sim-run-time", arg,
					   &o->sim.model.run_ms);
	case OPT_SIM_FAIL:
		if (fb_args_double("florabatch", "--sim-fail-rate", arg, 0, 1, &x))
			return -1;
		o->sim.model.fail_rate = x;
		return 0;
	case OPT_SIM_LATENCY:
		return fb_args_duration_ms("florabatch", "--sim-latency", arg, &o->sim.latency_ms);
	case OPT_SIM_SEED:
		return fb_args_uint("florabatch", "--sim-seed", arg, 0, UINT64_MAX,
				    &o->sim.model.seed);
	case OPT_SIM_OUTPUTS:
		if (fb_args_uint("florabatch", "--sim-outputs", arg, 1, 16, &u))
			return -1;
		o->sim.model.outputs_per_run = (unsigned)u;
		return 0;
	case OPT_SIM_ESTIMATE:
		if (fb_sim_estimate_parse(arg, &o->sim.model.estimate))
			return bad_choice("--sim-estimate", arg, "absent, exact, wrong or huge");
		return 0;
	case OPT_SIM_SIGMA:
		return fb_args_double("florabatch", "--sim-run-time-sigma", arg, 0, 3,
				      &o->sim.model.run_ms_sigma);
	case OPT_SIM_LIST_LAG:
		return fb_args_duration_ms("florabatch", "--sim-list-lag", arg,
					   &o->sim.model.list_lag_ms);
	case OPT_SIM_PAGE_CAP:
		if (fb_args_uint("florabatch", "--sim-page-cap", arg, 1, 100, &u))
			return -1;
		o->sim.model.page_cap = (unsigned)u;
		return 0;
	case OPT_RATE:
		return fb_args_double("florabatch", "--rate", arg, 0.01, 100000, &o->drv.rate);
	case OPT_BURST:
		if (fb_args_uint("florabatch", "--burst", arg, 1, 100000, &u))
			return -1;
		o->drv.burst = (unsigned)u;
		return 0;
	case OPT_BACKOFF_BASE:
		return fb_args_duration_ms("florabatch", "--backoff-base", arg,
					   &p->backoff_base_ms);
	case OPT_BACKOFF_CAP:
		return fb_args_duration_ms("florabatch", "--backoff-cap", arg, &p->backoff_cap_ms);
	case OPT_RETRY_FAILED:
		if (fb_args_uint("florabatch", "--retry-failed", arg, 0, 10, &u))
			return -1;
		p->retry_failed = (unsigned)u;
		return 0;
	case OPT_RUN_TIMEOUT:
		return fb_args_duration_ms("florabatch", "--run-timeout", arg, &p->run_timeout_ms);
	case OPT_RECREATE:
		p->recreate_unresolved = 1;
		return 0;
	case OPT_MAX_COST:
		return fb_args_double("florabatch", "--max-cost", arg, 0, 1e9, &o->drv.max_cost);
	case OPT_FRESH:
		o->fresh = 1;
		return 0;
	case OPT_INPUT_ID:
		o->input_id = arg;
		return 0;
	case OPT_GLOB:
		o->glob = arg;
		return 0;
	case OPT_HIDDEN:
		o->hidden = 1;
		return 0;
	case OPT_ARCHIVE_FORMAT:
		return fb_archive_format_parse(arg, &o->archive_format)
			   ? bad_choice("--archive-format", arg, "tar.gz, tar.zst or tar")
			   : 0;
	case OPT_OUTPUTS_DIR:
		o->outputs_dir = arg;
		return 0;
	case OPT_GRACE:
		return fb_args_duration_ms("florabatch", "--grace", arg, &o->drv.grace_ms);
	case OPT_KEEP_ORDER:
		o->keep_order = 1;
		return 0;
	case OPT_PROGRESS:
		if (strcmp(arg, "auto") && strcmp(arg, "bar") && strcmp(arg, "jsonl") &&
		    strcmp(arg, "none"))
			return bad_choice("--progress", arg, "auto, bar, jsonl or none");
		o->progress = arg;
		return 0;
	case OPT_DRY_RUN:
		o->dry_run = 1;
		return 0;
	case OPT_SUMMARY:
		if (strcmp(arg, "block") && strcmp(arg, "line") && strcmp(arg, "none"))
			return bad_choice("--summary", arg, "block, line or none");
		o->summary = arg;
		return 0;
	case OPT_ROLL:
		return parse_roll(o, arg);
	case OPT_SIM_OUTPUT_BYTES:
		return fb_args_size("florabatch", "--sim-output-bytes", arg,
				    &o->sim.model.output_bytes);
	case OPT_SHARD:
		o->shard = arg;
		return 0;
	case OPT_SHARD_COUNT:
		if (fb_args_uint("florabatch", "--shard-count", arg, 1, FB_SHARD_MAX, &u))
			return -1;
		o->shard_count = (unsigned)u;
		return 0;
	case OPT_SIM_CLOCK:
		if (strcmp(arg, "real") && strcmp(arg, "virtual"))
			return bad_choice("--sim-clock", arg, "real or virtual");
		o->sim_virtual = !strcmp(arg, "virtual");
		return 0;
	default:
		fputs("Try 'florabatch run --help'.\n", stderr);
		return -1;
	}
}

/*
 * --shard: K/N as given, or read from the scheduler's environment; then
 * --rate and --burst, the workspace's limits, split evenly between the N
 * shards, which share them without talking to each other.
 */
static int resolve_shard(struct run_opts *o)
{
	struct fb_err e = {0};
	struct fb_shard *sh = &o->drv.shard;
	if (o->shard_count && (!o->shard || strcmp(o->shard, "auto"))) {
		fputs("florabatch: --shard-count goes with --shard auto (--shard K/N gives the "
		      "count itself)\n",
		      stderr);
		return -1;
	}
	o->rate_total = o->drv.rate;
	if (!o->shard)
		return 0;
	if (!strcmp(o->shard, "auto")) {
		const struct fb_shard_env env = {
		    .slurm_task_id = getenv("SLURM_ARRAY_TASK_ID"),
		    .slurm_task_count = getenv("SLURM_ARRAY_TASK_COUNT"),
		    .slurm_task_min = getenv("SLURM_ARRAY_TASK_MIN"),
		    .slurm_task_max = getenv("SLURM_ARRAY_TASK_MAX"),
		    .slurm_task_step = getenv("SLURM_ARRAY_TASK_STEP"),
		    .job_completion_index = getenv("JOB_COMPLETION_INDEX"),
		    .parallel_seq = getenv("PARALLEL_SEQ"),
		    .shard_count = getenv("FLORABATCH_SHARD_COUNT"),
		};
		if (fb_shard_from_env(&env, o->shard_count, sh, &e)) {
			fprintf(stderr, "florabatch: --shard auto: %s\n", e.msg);
			return -1;
		}
	} else if (fb_shard_parse(o->shard, sh, &e)) {
		fprintf(stderr, "florabatch: --shard: %s\n", e.msg);
		return -1;
	}
	if (sh->count > 1) {
		o->drv.rate /= sh->count;
		if (o->drv.burst)
			o->drv.burst = o->drv.burst / sh->count ? o->drv.burst / sh->count : 1;
	}
	return 0;
}

/* Rules between options, checked before anything runs. */
static int check(struct run_opts *o)
{
	struct fb_resolve_defaults *d = &o->drv.defaults;
	int kinds = !!d->technique + !!d->technique_id + !!d->generation;
	if (kinds > 1) {
		fputs("florabatch: give one of --technique, --technique-id and --generation "
		      "(a manifest row may still name its own)\n",
		      stderr);
		return -1;
	}
	d->kind = d->generation	    ? FB_JOB_GENERATION
		  : d->technique_id ? FB_JOB_TECHNIQUE_ID
				    : FB_JOB_TECHNIQUE;
	if (d->generation && strcmp(d->generation, "image") && strcmp(d->generation, "video") &&
	    strcmp(d->generation, "audio") && strcmp(d->generation, "text"))
		return bad_choice("--generation", d->generation, "image, video, audio or text");
	if (o->sim_virtual && strcmp(o->transport, "sim")) {
		fputs("florabatch: --sim-clock virtual works only with --transport sim\n", stderr);
		return -1;
	}
	if (o->keep_order && (!o->results || strcmp(o->results, "-"))) {
		fputs("florabatch: --keep-order orders the lines streamed to standard output; "
		      "use it with --results - (results.jsonl keeps the order items end in)\n",
		      stderr);
		return -1;
	}
	if (o->drv.policy.backoff_cap_ms < o->drv.policy.backoff_base_ms) {
		fputs("florabatch: --backoff-cap must not be below --backoff-base\n", stderr);
		return -1;
	}
	if (fb_connect_check(o->transport, o->base_url, o->api_key_file, o->insecure))
		return -1;
	return resolve_shard(o);
}

int fb_options_parse(int argc, char **argv, struct run_opts *o)
{
	*o = (struct run_opts){
	    .out_dir = FB_OUTDIR_DEFAULT,
	    .transport = "sim",
	    .drv = {.concurrency = 16,
		    .max_cost = -1,
		    .grace_ms = 10000,
		    .policy = {.max_retries = 5,
			       .max_429_retries = 30,
			       .retry_failed = 1,
			       .backoff_base_ms = 500,
			       .backoff_cap_ms = 30000,
			       .fetch_attempts = 4,
			       .max_output_bytes = 512ULL << 20}},
	    .sim = {.model = {.seed = 1, .run_ms = 2000, .outputs_per_run = 1}, .latency_ms = 20},
	};
	optind = 1;
	opterr = 0; /* its messages would name "run"; ours name the program */
	for (;;) {
		int c = getopt_long(argc, argv, "h", long_opts, NULL);
		if (c == -1)
			break;
		if (c == '?')
			fb_args_getopt_error("florabatch run", argc, argv, optind, optopt);
		if (one(o, c, optarg))
			return -1;
	}
	if (optind < argc)
		o->input = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "florabatch: one manifest at a time; unexpected \"%s\"\n",
			argv[optind]);
		return -1;
	}
	return check(o);
}
