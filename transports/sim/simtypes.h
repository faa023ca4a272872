/*
 * simtypes: the simulated API's vocabulary: its configuration, a request
 * and its answer as simmodel.h's handler takes and gives them, and its
 * counters. simmodel.h (the model's face) includes it, and so do the
 * model's parts (simcore.h), which the model's entry point calls: they
 * know these types, never simmodel.h.
 */
#ifndef FB_SIMTYPES_H
#define FB_SIMTYPES_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

enum fb_sim_casing { FB_SIM_SNAKE = 0, FB_SIM_CAMEL, FB_SIM_MIXED };
enum fb_sim_dup { FB_SIM_DUP_REPLAY = 0, FB_SIM_DUP_CONFLICT };
/*
 * The create answer's estimated_seconds, which the contract leaves open:
 * absent (the nested RunStatus has none, RunCreated says null), exact,
 * wrong (three times too high for some runs, a third for others), or huge
 * (30 days, whatever the run: a hostile hint a client must not wait out).
 */
enum fb_sim_estimate { FB_SIM_EST_ABSENT = 0, FB_SIM_EST_EXACT, FB_SIM_EST_WRONG, FB_SIM_EST_HUGE };
/* "absent", "exact", "wrong" or "huge" into *out: 0, or FB_EINVAL for another word. */
struct fb_simmodel_config {
	uint64_t seed;
	/* create -> terminal; 0: terminal at the first poll (the create's own answer is pending) */
	uint64_t run_ms;
	/* 0..1: each run takes run_ms * (1 +- run_ms_jitter), drawn from the seed and its key
	 * (its run id without one), so runs of one batch finish at different times. */
	double run_ms_jitter;
	/* > 0: each run's time is log-normal with mean run_ms and this sigma of its log,
	 * drawn as the jitter is; takes the place of run_ms_jitter. */
	double run_ms_sigma;
	/* 1: durations (and so outcomes' timing) follow the creation number, not the key,
	 * so two clients sending the same number of runs meet the same durations. */
	int run_time_by_order;
	enum fb_sim_estimate estimate;
	/* The lists show a run as it was this long ago: a finished run stays "running"
	 * there for list_lag_ms after a GET would show it finished. 0: none. */
	uint64_t list_lag_ms;
	/* 1..100: list pages hold at most this many runs (or techniques) whatever limit
	 * asks; 0: 100. */
	unsigned page_cap;
	double fail_rate;	  /* 0..1: share of runs that end failed */
	unsigned outputs_per_run; /* 0 means 1 */
	/* Outputs are padded to this many bytes with filler after their media (0: as made), the
	 * sizes FLORA's video and large images have; the filler is never held in memory. */
	uint64_t output_bytes;
	enum fb_sim_casing casing;
	enum fb_sim_dup dup_mode;
	/*
	 * Prefix of the URLs the model hands out (poll_url, output urls):
	 * "sim://api/v1" in process, "http://127.0.0.1:PORT/api/v1" for
	 * florasim. Copied.
	 */
	const char *base_url;

	/* Everything below: zero means off or unlimited. */
	/* NULL or "": no auth check. Else every API route needs "Bearer <key>":
	 * none -> 401 unauthorized, wrong -> 401 invalid_api_key. /_sim/ routes need none.
	 * Copied, as is forbidden. */
	const char *api_key;
	double credits;	     /* USD balance; 0 with credits_limited == 0 means unlimited */
	int credits_limited; /* 1: a create whose quote exceeds the balance -> 402
				insufficient_credits; the quote is debited at create.
				POST /_sim/credits changes the balance later */
	/* Comma-separated technique slugs, tech_ ids or ws_ ids answering 403 forbidden on create.
	 */
	const char *forbidden;
	/* 0: none. Token bucket (burst rate_burst, default = rps) over all API requests on the
	 * model clock; beyond -> 429 rate_limited with Retry-After. */
	double rate_limit_rps;
	unsigned rate_burst;
	/* Shares of requests, 0..1, drawn from the seed and a per-request counter: */
	double fault_5xx_rate;		/* API requests answered 500/503 without acting */
	double fault_html_rate;		/* of those 5xx, the ones with an HTML body (text/html) */
	double fault_reset_before_rate; /* run creates answered FB_SIM_FAULT_RESET_BEFORE */
	double fault_reset_after_rate;	/* run creates that act, then FB_SIM_FAULT_RESET_AFTER */
	/* Output downloads answered FB_SIM_FAULT_TRUNCATE (each output at most once: its next
	 * download is whole), and FB_SIM_FAULT_SLOW. */
	double fault_truncate_rate;
	double fault_slow_rate;
	/*
	 * 1: completed runs' outputs get hostile ids ("../../etc/passwd",
	 * "/abs/path", "a\nb\tc", "..", 300 characters, "CON", "name with
	 * spaces/and:colons"), cycling from the run's creation index, each
	 * served at output_base/<id percent-encoded>; every third one with
	 * content type application/octet-stream and every third with a
	 * parameter added ("image/png; charset=binary"). For testing that a
	 * client makes such names safe.
	 */
	int hostile_names;
	/*
	 * 0: every run is kept for the model's lifetime. N: a run may be
	 * forgotten once an answer has shown it terminal, and at most N such
	 * runs are kept (the oldest shown go first). A forgotten run answers 404
	 * not_found, leaves the lists, and its idempotency key is forgotten with
	 * it (the simulator's idempotency window); its output URLs still serve
	 * the same bytes, made from the URL (text generations excepted: their
	 * text quotes the prompt, which goes with the run).
	 */
	uint64_t retain_runs;
};

/* What the server (or the in-process transport) must do instead of a normal answer. */
enum fb_sim_fault {
	FB_SIM_FAULT_NONE = 0,
	/* The model did NOT act: close the connection without answering. */
	FB_SIM_FAULT_RESET_BEFORE,
	/* The model acted (the run exists): close without answering. */
	FB_SIM_FAULT_RESET_AFTER,
	/* Send the headers with the full Content-Length, then half the body, then close. */
	FB_SIM_FAULT_TRUNCATE,
	/* Deliver the body slowly (e.g. 1 KiB per 50 ms), completely. */
	FB_SIM_FAULT_SLOW,
};

/* One request, in the API's terms. Everything borrowed for the call. */
struct fb_simcall {
	const char *method; /* "GET", "POST", ... */
	/* relative to the base URL ("/techniques/x/runs?limit=5"), or absolute under base_url */
	const char *path;
	const char *authorization; /* the Authorization header value, or NULL */
	const char *idem_key;	   /* the Idempotency-Key header, or NULL */
	const char *content_type;  /* the Content-Type header, or NULL */
	const char *body;	   /* may be NULL when body_len is 0 */
	size_t body_len;
};

/* An answer. body is owned by the response; release with fb_simresp_release. */
struct fb_simresp {
	int status;		  /* HTTP status */
	const char *content_type; /* static string */
	struct fb_buf body;
	long retry_after_s;  /* -1: no Retry-After header */
	char request_id[32]; /* "req_…", always set */
	int replayed;	     /* 1: send the header "idempotent-replayed: true" */
	/* What to do instead of a normal answer; status and body are filled all the same. */
	enum fb_sim_fault fault;
	/* The body goes on for pad more bytes of filler (fb_simresp_filler) after body. */
	uint64_t pad;
	uint64_t pad_seed;
};
/* clang-format off */
#define FB_SIMRESP_INIT {0, NULL, FB_BUF_INIT, -1, {0}, 0, FB_SIM_FAULT_NONE, 0, 0}
/* clang-format on */
/* Bytes [at, at + n) of a padded body's filler for seed, into out. */
struct fb_simstats {
	uint64_t requests;
	uint64_t creates; /* run creates that reached their route */
	uint64_t runs_created;
	uint64_t duplicate_keys; /* creates that named a key already used */
	uint64_t polls;
	uint64_t fetches; /* output downloads */
	uint64_t lists;	  /* GET /technique-runs and /generations */
	uint64_t unauthorized;
	uint64_t rate_limited;
	uint64_t faults_5xx;
	uint64_t resets;
	uint64_t truncated;
	uint64_t insufficient_credits;
	uint64_t forbidden;
	uint64_t assets_created;
	/* The most runs made with one key, and how many keys made more than one (keys are
	 * scoped per operation, so a key reused across technique runs and generations makes
	 * two). */
	uint64_t max_runs_per_key;
	uint64_t keys_with_several_runs;
	/*
	 * The most API requests (every route but the /_sim/ ones, refused ones too) and
	 * the most run-create requests (the four create routes, whatever they
	 * answered) that arrived within any 1000 ms of the model's clock, i.e.
	 * in [t, t + 1000 ms) for some t, counted exactly to the millisecond.
	 */
	uint64_t max_requests_per_second;
	uint64_t max_creates_per_second;
	uint64_t runs_forgotten; /* runs dropped by cfg.retain_runs */
};

#endif
