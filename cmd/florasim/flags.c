/* flags: option parsing, with messages that name the flag and what it takes. */
#include "flags.h"
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* In parts: one string literal this long is more than C11 promises to hold. */
static const char *const usage[] = {
    "usage: florasim [options]\n"
    "\n"
    "A local HTTP server that behaves like the FLORA API (technique runs,\n"
    "polling, output downloads, idempotency, errors), on 127.0.0.1 only.\n"
    "It prints one line to stdout once it listens:\n"
    "  florasim listening on http://127.0.0.1:PORT/api/v1\n"
    "Point a client at that URL. GET /api/v1/_sim/stats shows its counters.\n"
    "\n"
    "Server:\n"
    "  --port N              port to listen on; 0 (default) picks a free one\n"
    "  --latency DUR|MIN-MAX delay before every answer (default 0), e.g. 300ms, or\n"
    "                        drawn uniformly for each answer, e.g. 0-300ms; other\n"
    "                        connections are served meanwhile\n"
    "  --latency-p99 DUR     one answer in a hundred waits this long instead (a tail)\n"
    "  --close-rate P        share of answers that end their keep-alive connection\n"
    "                        (Connection: close), 0..1 (default 0)\n"
    "  --max-seconds N       exit by itself after N seconds (default 0: run until\n"
    "                        SIGINT or SIGTERM)\n"
    "  --quiet               no start-up or per-request lines on stderr\n"
    "\n",
    "Runs:\n"
    "  --seed N              seed of every simulated outcome (default 1)\n"
    "  --run-time DUR        mean time from create to completed or failed\n"
    "                        (default 2s)\n"
    "  --run-time-sigma S    each run's time log-normal around --run-time, S the\n"
    "                        sigma of its log, drawn from --seed and the run's key\n"
    "                        (default 0.5; 0: every run takes --run-time)\n"
    "  --run-time-jitter P   instead: uniform over run-time x (1 +- P), 0..1\n"
    "  --run-time-by B       what a run's time is drawn from: key (default) or order\n"
    "                        (its creation number: two clients sending the same\n"
    "                        number of runs meet the same times)\n"
    "  --estimate E          estimated_seconds in create answers: absent (default:\n"
    "                        RunCreated says null, the nested RunStatus has none, as\n"
    "                        the contract gives), exact, wrong (x3 or /3 by run), or\n"
    "                        huge (30 days: a hint no client should wait out)\n"
    "  --list-lag DUR        lists show runs as they were DUR ago: a finished run\n"
    "                        stays running there that long after a GET shows it\n"
    "                        finished (default 0)\n"
    "  --page-cap N          list pages hold at most N runs (or techniques)\n"
    "                        whatever limit asks, 1..100 (default 100)\n"
    "  --fail-rate P         share of runs that end failed, 0..1 (default 0)\n"
    "  --outputs N           outputs per completed run (default 1)\n"
    "  --output-bytes SIZE   each output padded to SIZE bytes (64k, 50M, 2G) after its\n"
    "                        media, like FLORA's video and large images; the padding is\n"
    "                        made as it is sent, never held (default: as made, ~1 KiB)\n"
    "  --casing C            field names: snake (default), camel or mixed\n"
    "  --duplicates D        a create that repeats an idempotency key: replay\n"
    "                        (default: the original run again) or conflict (409)\n"
    "  --hostile-names       outputs get ids such as \"../../etc/passwd\", \"/abs/path\",\n"
    "                        \"..\", \"CON\", 300 characters or control characters,\n"
    "                        and some an odd content type, to test that a client\n"
    "                        saves them safely\n"
    "  --retain-runs N       keep at most N runs an answer has shown finished; older\n"
    "                        ones answer 404 and their idempotency keys are\n"
    "                        forgotten, their outputs still download (default:\n"
    "                        keep every run)\n"
    "\n",
    "Account:\n"
    "  --api-key KEY         require \"Authorization: Bearer KEY\" (default: the\n"
    "                        FLORASIM_API_KEY environment variable; unset: no check)\n"
    "  --credits USD         balance; a create whose quote exceeds it gets 402\n"
    "                        insufficient_credits (default: unlimited); change it\n"
    "                        while running with POST /api/v1/_sim/credits\n"
    "                        {\"add\": USD} or {\"set\": USD}\n"
    "  --forbidden LIST      comma-separated technique slugs, tech_ or ws_ ids whose\n"
    "                        creates get 403 forbidden\n"
    "  --rate-limit RPS      requests per second over all API routes; beyond, 429\n"
    "                        rate_limited with Retry-After (default 0: none)\n"
    "  --burst N             requests allowed at once under --rate-limit\n"
    "                        (default: the rate)\n"
    "\n",
    "Faults (each a share P of requests, 0..1, reproducible from --seed):\n"
    "  --fault-5xx P         API requests answered 500 or 503 without acting\n"
    "  --fault-html P        of those 5xx, the share with an HTML body\n"
    "  --fault-reset-before P  creates whose connection closes, no run made\n"
    "  --fault-reset-after P   creates whose connection closes after the run\n"
    "                        was made\n"
    "  --fault-truncate P    output downloads that stop at half the body (the\n"
    "                        next download of that output is whole)\n"
    "  --fault-slow P        output downloads sent slowly (256 bytes every 50 ms)\n"
    "\n"
    "Durations: 500ms, 2s, 1.5m, 1h, or a bare number of seconds.\n"
    "  -h, --help            this text\n"
    "  --version             the version\n",
};

void fs_flags_usage(FILE *f)
{
	for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++)
		fputs(usage[i], f);
}

static int bad(const char *opt, const char *s, const char *expected)
{
	fprintf(stderr, "florasim: %s: invalid value \"%s\" (expected %s)\n", opt, s, expected);
	return 2;
}

/* The shared parsers (cmd/common/args.c) say what is wrong; a bad value exits 2. */
static int duration_ms(const char *opt, const char *s, uint64_t *out)
{
	return fb_args_duration_ms("florasim", opt, s, out) ? 2 : 0;
}

static int whole(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return fb_args_uint("florasim", opt, s, min, max, out) ? 2 : 0;
}

static int number(const char *opt, const char *s, double min, double max, const char *expected,
		  double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v) || v < min || v > max)
		return bad(opt, s, expected);
	*out = v;
	return 0;
}

static int share(const char *opt, const char *s, double *out)
{
	return number(opt, s, 0, 1, "a share from 0 to 1, such as 0.05", out);
}

/* The flags that take a share, and where each lands in the model's settings. */
struct share_flag {
	const char *name;
	size_t offset;
};
#define SHARE(n, f)                                                                                \
	{                                                                                          \
		n, offsetof(struct fb_simmodel_config, f)                                          \
	}
static const struct share_flag shares[] = {
    SHARE("--fail-rate", fail_rate),
    SHARE("--run-time-jitter", run_ms_jitter),
    SHARE("--fault-5xx", fault_5xx_rate),
    SHARE("--fault-html", fault_html_rate),
    SHARE("--fault-reset-before", fault_reset_before_rate),
    SHARE("--fault-reset-after", fault_reset_after_rate),
    SHARE("--fault-truncate", fault_truncate_rate),
    SHARE("--fault-slow", fault_slow_rate),
};

/* The flags without a value; --help and --version end the parse. */
static const char *const switches[] = {"-h", "--help", "--version", "--quiet", "--hostile-names"};

/* The flags that take a value besides the shares. */
static const char *const valued[] = {
    "--port",	     "--seed",	       "--run-time",	"--latency",	 "--outputs",
    "--casing",	     "--duplicates",   "--api-key",	"--credits",	 "--forbidden",
    "--rate-limit",  "--burst",	       "--max-seconds", "--retain-runs", "--latency-p99",
    "--close-rate",  "--estimate",     "--list-lag",	"--page-cap",	 "--run-time-sigma",
    "--run-time-by", "--output-bytes",
};

/*
 * --latency DUR or MIN-MAX. A bare MIN takes MAX's unit ("100-300ms" is
 * 100 ms to 300 ms), since "100" alone would mean seconds.
 */
static int latency(const char *opt, const char *v, struct fs_flags *o)
{
	const char *dash = strchr(v + (*v == '-'), '-');
	if (!dash)
		return duration_ms(opt, v, &o->latency_ms);
	char lo[32];
	size_t n = (size_t)(dash - v);
	const char *unit = dash + 1;
	while (*unit && (isdigit((unsigned char)*unit) || *unit == '.'))
		unit++;
	if (n == 0 || n + strlen(unit) >= sizeof(lo))
		return bad(opt, v, "a duration such as 300ms, or a range such as 0-300ms");
	memcpy(lo, v, n);
	lo[n] = 0;
	if (strspn(lo, "0123456789.") == n)
		strcat(lo, unit);
	if (duration_ms(opt, lo, &o->latency_ms) || duration_ms(opt, dash + 1, &o->latency_max_ms))
		return 2;
	if (o->latency_max_ms < o->latency_ms)
		return bad(opt, v, "a range whose first end is the smaller, such as 0-300ms");
	return 0;
}

static int is_switch(const char *name)
{
	for (size_t i = 0; i < sizeof(switches) / sizeof(switches[0]); i++)
		if (!strcmp(name, switches[i]))
			return 1;
	return 0;
}

static int known(const char *name)
{
	for (size_t i = 0; i < sizeof(valued) / sizeof(valued[0]); i++)
		if (!strcmp(name, valued[i]))
			return 1;
	for (size_t i = 0; i < sizeof(shares) / sizeof(shares[0]); i++)
		if (!strcmp(name, shares[i].name))
			return 1;
	return 0;
}

static int parse_one(const char *opt, const char *v, struct fs_flags *o)
{
	struct fb_simmodel_config *m = &o->model;
	uint64_t u;
	for (size_t i = 0; i < sizeof(shares) / sizeof(shares[0]); i++)
		if (!strcmp(opt, shares[i].name))
			return share(opt, v, (double *)((char *)m + shares[i].offset));
	if (!strcmp(opt, "--port")) {
		if (whole(opt, v, 0, 65535, &u))
			return 2;
		o->port = (unsigned)u;
	} else if (!strcmp(opt, "--seed")) {
		return whole(opt, v, 0, UINT64_MAX, &m->seed);
	} else if (!strcmp(opt, "--run-time")) {
		return duration_ms(opt, v, &m->run_ms);
	} else if (!strcmp(opt, "--latency")) {
		return latency(opt, v, o);
	} else if (!strcmp(opt, "--latency-p99")) {
		return duration_ms(opt, v, &o->latency_p99_ms);
	} else if (!strcmp(opt, "--close-rate")) {
		return share(opt, v, &o->close_rate);
	} else if (!strcmp(opt, "--run-time-sigma")) {
		o->sigma_given = 1;
		return number(opt, v, 0, 3, "a sigma from 0 to 3, such as 0.5", &m->run_ms_sigma);
	} else if (!strcmp(opt, "--run-time-by")) {
		if (strcmp(v, "key") && strcmp(v, "order"))
			return bad(opt, v, "key or order");
		m->run_time_by_order = !strcmp(v, "order");
	} else if (!strcmp(opt, "--estimate")) {
		if (fb_sim_estimate_parse(v, &m->estimate))
			return bad(opt, v, "absent, exact, wrong or huge");
	} else if (!strcmp(opt, "--list-lag")) {
		return duration_ms(opt, v, &m->list_lag_ms);
	} else if (!strcmp(opt, "--page-cap")) {
		if (whole(opt, v, 1, 100, &u))
			return 2;
		m->page_cap = (unsigned)u;
	} else if (!strcmp(opt, "--output-bytes")) {
		if (fb_args_size("florasim", opt, v, &m->output_bytes))
			return 2;
	} else if (!strcmp(opt, "--outputs")) {
		if (whole(opt, v, 1, 16, &u))
			return 2;
		m->outputs_per_run = (unsigned)u;
	} else if (!strcmp(opt, "--casing")) {
		if (!strcmp(v, "snake"))
			m->casing = FB_SIM_SNAKE;
		else if (!strcmp(v, "camel"))
			m->casing = FB_SIM_CAMEL;
		else if (!strcmp(v, "mixed"))
			m->casing = FB_SIM_MIXED;
		else
			return bad(opt, v, "snake, camel or mixed");
	} else if (!strcmp(opt, "--duplicates")) {
		if (!strcmp(v, "replay"))
			m->dup_mode = FB_SIM_DUP_REPLAY;
		else if (!strcmp(v, "conflict"))
			m->dup_mode = FB_SIM_DUP_CONFLICT;
		else
			return bad(opt, v, "replay or conflict");
	} else if (!strcmp(opt, "--api-key")) {
		if (!*v || strpbrk(v, " \t\r\n"))
			return bad(opt, v, "a key without spaces");
		m->api_key = v;
	} else if (!strcmp(opt, "--credits")) {
		m->credits_limited = 1;
		return number(opt, v, 0, 1e12, "an amount in USD such as 25 or 0.5", &m->credits);
	} else if (!strcmp(opt, "--forbidden")) {
		m->forbidden = v;
	} else if (!strcmp(opt, "--rate-limit")) {
		if (number(opt, v, 0, 1e6, "requests per second such as 5 or 0.5",
			   &m->rate_limit_rps))
			return 2;
	} else if (!strcmp(opt, "--retain-runs")) {
		return whole(opt, v, 1, UINT64_MAX / 2, &m->retain_runs);
	} else if (!strcmp(opt, "--burst")) {
		if (whole(opt, v, 1, 1000000, &u))
			return 2;
		m->rate_burst = (unsigned)u;
	} else if (!strcmp(opt, "--max-seconds")) {
		return whole(opt, v, 0, 365ull * 24 * 3600, &o->max_seconds);
	} else {
		fprintf(stderr, "florasim: unknown option %s (see florasim --help)\n", opt);
		return 2;
	}
	return 0;
}

int fs_flags_parse(int argc, char **argv, struct fs_flags *o)
{
	memset(o, 0, sizeof(*o));
	o->model.seed = 1;
	o->model.run_ms = 2000;
	o->model.run_ms_sigma = 0.5; /* runs of one technique do not all take one time */
	o->model.outputs_per_run = 1;
	const char *env_key = getenv("FLORASIM_API_KEY");
	if (env_key && *env_key)
		o->model.api_key = env_key;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (is_switch(a)) {
			if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
				fs_flags_usage(stdout);
				return 1;
			}
			if (!strcmp(a, "--version")) {
				printf("florasim %s\n", FB_VERSION);
				return 1;
			}
			if (!strcmp(a, "--quiet"))
				o->quiet = 1;
			else
				o->model.hostile_names = 1;
			continue;
		}
		if (strncmp(a, "--", 2) || !a[2]) {
			fprintf(stderr,
				"florasim: unexpected argument \"%s\" (see florasim --help)\n", a);
			return 2;
		}
		/* Both "--flag value" and "--flag=value". */
		char name[64];
		const char *v, *eq = strchr(a, '=');
		if (eq) {
			size_t n = (size_t)(eq - a);
			if (n >= sizeof(name)) {
				fprintf(stderr, "florasim: unknown option %s\n", a);
				return 2;
			}
			memcpy(name, a, n);
			name[n] = 0;
			v = eq + 1;
			if (is_switch(name)) {
				fprintf(stderr, "florasim: %s takes no value\n", name);
				return 2;
			}
		} else {
			snprintf(name, sizeof(name), "%s", a);
			if (i + 1 >= argc) {
				if (known(name))
					fprintf(stderr, "florasim: %s needs a value\n", name);
				else
					fprintf(
					    stderr,
					    "florasim: unknown option %s (see florasim --help)\n",
					    name);
				return 2;
			}
			v = argv[++i];
		}
		int rc = parse_one(name, v, o);
		if (rc)
			return rc;
	}
	if (o->model.run_ms_jitter > 0 && !o->sigma_given)
		o->model.run_ms_sigma = 0; /* the jitter's uniform spread instead */
	if (o->model.rate_burst && o->model.rate_limit_rps <= 0) {
		fprintf(stderr, "florasim: --burst needs --rate-limit\n");
		return 2;
	}
	return 0;
}
