/*
 * simcore: the simulated API's internals, shared by its parts and by
 * nothing outside the simulator. Types come from simtypes.h, never from
 * simmodel.h, whose entry point sits above every part:
 *   simmodel.c   the entry point: routing, auth, rate limit, faults, stats
 *   simruns.c    runs: the four create routes, polls
 *   simoutputs.c output bytes
 *   simlist.c    GET /technique-runs and GET /generations
 *   simcatalog.c techniques, workspaces and projects (fixed fixtures)
 *   simassets.c  assets: reservations, complete, retry, GET and list
 *   simupload.c  asset bytes: the upload URL, one-call uploads, downloads
 *   simstore.c   the bounded run store: runs in play, the newest finished
 *                ones (retention), ids that say what a run's outputs are
 *   simreqfast.c the common nested create body, read without a yajl tree
 *   simpolicy.c  account policy: the 403 gate, credits top-up, run-time
 *                jitter, the observed request rate
 *   simcore.c    hashing, ids, a hash index, the answer helpers below
 */
#ifndef FB_SIMCORE_H
#define FB_SIMCORE_H

#include "clock.h"
#include "error.h"
#include "png.h"
#include "simanswer.h"
#include "simreq.h"
#include "simtypes.h"

#include <openssl/evp.h>
#include <stdint.h>

#define SIM_ID_CHARS   20 /* after the prefix: "run_…", "req_…", "asset_…" */
#define SIM_DIGEST     32
#define SIM_OUTPUT_DIM 32 /* image outputs are SIM_OUTPUT_DIM pixels square */

/* Salts keep the hash streams for different purposes independent. */
enum {
	SALT_RUN_ID = 1,
	SALT_REQ_ID,
	SALT_FAIL,
	SALT_CODE,
	SALT_COST,
	SALT_5XX,
	SALT_HTML,
	SALT_RESET,
	SALT_DOWNLOAD,
	SALT_ASSET_ID,
	SALT_TOKEN,
	SALT_RUN_TIME,
	SALT_RUN_TAG,
	SALT_NO_KEY,
	SALT_RUN_TIME2,
	SALT_ESTIMATE,
};

enum sim_kind { SIM_TECHNIQUE = 0, SIM_GENERATION };
/* What a run's outputs are; also a generation's type, in the API's order. */
enum sim_media { SIM_IMAGE = 0, SIM_VIDEO, SIM_AUDIO, SIM_TEXT };

/*
 * One run: about 190 bytes plus its idempotency key and, for text
 * generations, the first bytes of the prompt. Outputs are not stored: their
 * bytes are made again from the run id on every download.
 */
struct fb_simrun {
	char id[4 + SIM_ID_CHARS + 1];
	uint8_t kind;	   /* enum sim_kind */
	uint8_t technique; /* catalog index (technique runs) */
	uint8_t tech_form; /* created through the nested route naming the tech_ id */
	uint8_t nested;	   /* created through POST /techniques/{id}/runs */
	uint8_t media;	   /* enum sim_media of the outputs */
	uint8_t model;	   /* index into the model's model names (generations) */
	int8_t workspace;  /* fixture index */
	int8_t project;	   /* fixture index, -1: none */
	uint8_t failed, error_idx, has_key;
	uint8_t shown_terminal; /* an answer has shown it terminal: it may be forgotten */
	uint64_t seq;		/* creation number, from 0 */
	uint32_t truncated;	/* bit n-1: output n was already served truncated once */
	unsigned char key_digest[SIM_DIGEST];  /* of the operation and the key */
	unsigned char body_digest[SIM_DIGEST]; /* of what the create asked for */
	char *key;			       /* owned: the key as sent, or NULL */
	char *text;			       /* owned: text generations' prompt head, or NULL */
	uint64_t created_mono, created_wall;
	uint64_t run_ms; /* create -> terminal: the config's run_ms, jittered */
	double quote, final_cost;
};

/* What a run id says of its run (simstore.c). */
struct fb_simrun_facts {
	uint64_t seq;
	unsigned kind, media, failed, technique;
};

/*
 * The runs kept: records in a pool of reused slots, a ring of slots in
 * creation order (0: forgotten) from creation number obase on, and the
 * runs shown terminal, oldest first, of which at most cfg.retain_runs stay.
 */
struct fb_simstore {
	size_t cap, used; /* pool slots allocated, ever handed out */
	uint32_t *freelist;
	size_t nfree, capfree;
	uint32_t *order;
	size_t ocap, ohead, on;
	uint64_t obase;
	uint32_t *shown;
	size_t scap, shead, sn;
	uint64_t next_seq;
	uint64_t live[2]; /* runs kept, per enum sim_kind */
	uint64_t forgotten;
};

/* Open addressing from a 64-bit hash to an index; the owner compares the candidates. */
struct fb_simix {
	struct fb_simix_ent {
		uint64_t h;
		uint32_t slot; /* index + 1; 0: empty */
	} * e;
	size_t cap, n;
};

enum { AS_PENDING = 0, AS_READY, AS_FAILED };
enum { VIA_URL = 0, VIA_SIGNED, VIA_DIRECT };
extern const char *const fb_simasset_status[3]; /* pending_upload, ready, failed */
extern const char *const fb_simasset_via[3];	/* url, signed_url, direct */

/*
 * An asset. Of its bytes only their digest and size are kept: the model's
 * memory must not follow what a batch uploads (2,000 images of 1 MB once
 * took 2 GB), and the URL serves a placeholder of the asset's kind.
 */
struct fb_simasset {
	char id[6 + SIM_ID_CHARS + 1];
	int8_t workspace, project;
	uint8_t status, via;
	uint8_t uploaded; /* bytes came for the current reservation */
	char *file_name, *content_type, *upload_content_type, *failure; /* owned or NULL */
	uint64_t size;
	char sha256[65]; /* of the bytes uploaded, lowercase hex; "" before */
	uint64_t created_wall, expires_wall;
	unsigned width, height, reservations;
	char token[17]; /* the upload URL's signature */
};

/* Endpoints as counted in the stats; SIM_EP_NAMES below gives their names. */
enum sim_ep {
	EP_OTHER = 0,
	EP_NESTED_CREATE,
	EP_NESTED_GET,
	EP_RUN_GET,
	EP_TOP_CREATE,
	EP_GEN_LEGACY,
	EP_GENERATE,
	EP_TECH_RUNS,
	EP_GENERATIONS,
	EP_TECHNIQUES,
	EP_TECHNIQUE,
	EP_WORKSPACES,
	EP_ASSET_CREATE,
	EP_ASSET_LIST,
	EP_ASSET_GET,
	EP_ASSET_COMPLETE,
	EP_ASSET_RETRY,
	EP_SIM_UPLOAD,
	EP_SIM_OUTPUT,
	EP_SIM_ASSET,
	EP_SIM_STATS,
	EP_SIM_CREDITS,
	EP_COUNT
};

/*
 * The requests seen in the last second of the model's clock, as (ms, count)
 * pairs oldest first in a ring: at most one pair per millisecond, so its
 * size is bounded by the window, not by the busiest second. peak is the
 * most requests any 1000 ms window held.
 */
struct fb_simwindow {
	struct fb_simwindow_ms {
		uint64_t t, n;
	} * e;
	size_t cap, head, len;
	uint64_t total, peak;
};

struct fb_simmodel {
	struct fb_simmodel_config cfg; /* its strings point at the copies below */
	char *base_url;
	size_t base_len;
	int base_clean; /* base_url is valid UTF-8, so URLs made from it need no check */
	char *api_key;
	char **forbidden; /* the config's list, split; NULL-terminated */
	struct fb_clock *clock;

	struct fb_simrun *runs; /* the pool of struct fb_simstore */
	struct fb_simstore store;
	struct fb_simix by_id, by_key;
	char **models; /* generation model ids seen so far (interned; at most 255) */
	size_t nmodels;

	struct fb_simasset **assets;
	size_t nassets, capassets;
	struct fb_simix assets_by_id;

	double credits;	    /* balance when credits_limited */
	double tokens;	    /* rate limit bucket */
	uint64_t bucket_ms; /* when tokens was last refilled */
	int bucket_started;

	struct fb_simwindow req_window, create_window; /* API requests; run creates */

	struct fb_png_stamp png;	     /* image outputs, made without deflate */
	yajl_gen gen;			     /* reused by the hot answers (fb_simjw_reuse) */
	struct fb_simjw_sink sink;	     /* where gen prints */
	struct fb_buf poll_url, output_base; /* reused by run answers */
	EVP_MD *sha256; /* fetched once: an implicit fetch per digest is slow */

	struct fb_simstats stats;
	uint64_t endpoints[EP_COUNT];
	int camel;	   /* the casing of the answer being made */
	uint64_t view_lag; /* ms: runs are seen as they were this long ago (the lists' lag) */
};

/* ---- simcore.c ---- */
/* Per enum sim_media: the output type, the URL's extension, the content type. */
extern const char *const fb_sim_media_type[4];
extern const char *const fb_sim_media_ext[4];
extern const char *const fb_sim_media_ctype[4];
uint64_t fb_sim_mix64(uint64_t x);
uint64_t fb_sim_hash(const void *p, size_t n);
double fb_sim_unit(uint64_t h); /* [0, 1) */
/* prefix + SIM_ID_CHARS of [0-9a-z] from h; dst needs strlen(prefix) + 21 bytes. */
void fb_sim_make_id(char *dst, const char *prefix, uint64_t h);
int fb_sim_sha256(const struct fb_simmodel *m, const void *data, size_t len,
		  unsigned char out[SIM_DIGEST]);
/* "2026-01-01T00:00:00.000Z" */
void fb_sim_iso8601(uint64_t wall_ms, char out[32]);
/*
 * The view's hostile_from for the run created seq-th: 0 unless
 * hostile_names (see fb_simanswer_output_id).
 */
unsigned long fb_sim_hostile_from(const struct fb_simmodel *m, uint64_t seq);

/* Makes room for one more entry (0 or FB_ENOMEM), so that the next add cannot fail. */
int fb_simix_reserve(struct fb_simix *ix);
void fb_simix_add(struct fb_simix *ix, uint64_t h, uint32_t idx);
/* The index whose entry hashes to h and for which eq says yes, or -1. */
long fb_simix_find(const struct fb_simix *ix, uint64_t h,
		   int (*eq)(const struct fb_simmodel *m, uint32_t idx, const void *want),
		   const struct fb_simmodel *m, const void *want);
/* Removes the entry for idx, which hashes to h and must be there. */
void fb_simix_remove(struct fb_simix *ix, uint64_t h, uint32_t idx);
void fb_simix_release(struct fb_simix *ix);

/* ---- simstore.c ---- */
void fb_simstore_make_id(const struct fb_simmodel *m, const struct fb_simrun_facts *f,
			 char out[4 + SIM_ID_CHARS + 1]);
/* 0 and *f filled when id is a run id this model made (kept or forgotten), else -1. */
int fb_simstore_read_id(const struct fb_simmodel *m, const char *id, struct fb_simrun_facts *f);
/* Room for one more run, so that take and append cannot fail. 0 or FB_ENOMEM. */
int fb_simstore_reserve(struct fb_simmodel *m);
/* A zeroed slot for a new run; then set its seq and kind and append it. */
uint32_t fb_simstore_take(struct fb_simmodel *m);
void fb_simstore_append(struct fb_simmodel *m, uint32_t slot);
/* The slot of the kept run created seq-th, or -1 (forgotten, or not in range). */
long fb_simstore_at(const struct fb_simmodel *m, uint64_t seq);
/* Notes that an answer showed r terminal (it may be forgotten from now on). 0 or FB_ENOMEM. */
int fb_simstore_shown_terminal(struct fb_simmodel *m, struct fb_simrun *r);
/* Forgets the oldest runs shown terminal beyond cfg.retain_runs, and their keys. */
void fb_simstore_reap(struct fb_simmodel *m);
void fb_simstore_release(struct fb_simmodel *m);

/* Answers. Each returns 0, or FB_ENOMEM. */
int fb_sim_json(struct fb_simresp *resp, int status, int rc);
int fb_sim_error(struct fb_simresp *resp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 400 input_validation_error for one field; the message reads "field: why". */
int fb_sim_field_error(struct fb_simresp *resp, const char *field, const char *why);
/* 400 for a request whose body did not validate (rq->error_code set). */
int fb_sim_invalid(struct fb_simresp *resp, const struct fb_simreq *rq);
int fb_sim_not_found(struct fb_simresp *resp, const char *what, const char *name);
/* The cursor text for position pos, and back; -1 when the cursor is not ours. */
void fb_sim_cursor(uint64_t pos, char out[32]);
long long fb_sim_cursor_pos(const char *cursor);
/* A ?limit= value: 1..100, default 20. 0 when valid, else 400 answered (rc in *rc). */
int fb_sim_limit(struct fb_simresp *resp, const char *text, size_t *limit, int *rc);

/* ---- simcatalog.c ---- */
size_t fb_simcat_count(void);
/* A catalog index from a slug or tech_ id, or -1; *tech_form says which it was. */
int fb_simcat_find(const char *slug_or_id, int *tech_form);
const char *fb_simcat_slug(int t);
const char *fb_simcat_name(int t);
double fb_simcat_cost(int t);
enum sim_media fb_simcat_media(int t);
int fb_simcat_list(struct fb_simmodel *m, const struct fb_simquery *q, struct fb_simresp *resp);
int fb_simcat_get(struct fb_simmodel *m, const char *id, struct fb_simresp *resp);
int fb_simcat_workspaces(struct fb_simmodel *m, struct fb_simresp *resp);
/* Fixture index of a ws_ or prj_ id, or -1. */
int fb_simcat_workspace(const char *id);
int fb_simcat_project(const char *id);
const char *fb_simcat_workspace_id(int w);
const char *fb_simcat_project_id(int p);
int fb_simcat_project_workspace(int p);
int fb_simcat_writable(int w);
/*
 * Checks a run's inputs (nested: the array form, whose items carry types)
 * against technique t's schema. 0 when they fit; else answers 400
 * input_validation_error naming the field, sets *rc and returns 1.
 */
int fb_simcat_check_inputs(int t, const struct fb_simreq_input *in, size_t n, int nested,
			   struct fb_simresp *resp, int *rc);

/* ---- simruns.c ---- */
int fb_simruns_create_nested(struct fb_simmodel *m, const char *slug, const struct fb_simcall *c,
			     struct fb_simresp *resp);
int fb_simruns_create_top(struct fb_simmodel *m, const struct fb_simcall *c,
			  struct fb_simresp *resp);
int fb_simruns_create_generation(struct fb_simmodel *m, const struct fb_simcall *c,
				 struct fb_simresp *resp);
/* slug NULL: GET /runs/{id}, any run; else only technique runs of that technique. */
int fb_simruns_poll(struct fb_simmodel *m, const char *slug, const char *id,
		    struct fb_simresp *resp);
struct fb_simrun *fb_simruns_find(struct fb_simmodel *m, const char *id);
/* Writes r's RunStatus members into the open object; a terminal r counts as shown terminal. */
int fb_simruns_write_status(struct fb_simmodel *m, struct fb_simjw *w, struct fb_simrun *r);
const char *fb_simruns_status(struct fb_simmodel *m, const struct fb_simrun *r);
/* How many runs were made with r's key (0 without one; 1 or 2: one per operation). */
unsigned fb_simruns_key_runs(const struct fb_simmodel *m, const struct fb_simrun *r);
void fb_simruns_free(struct fb_simmodel *m);

/* ---- simoutputs.c ---- */
int fb_simoutputs_get(struct fb_simmodel *m, const char *run_id, const char *name,
		      struct fb_simresp *resp);

/* ---- simpolicy.c ---- */
/*
 * Checks that workspace w may start something and that t (a catalog index,
 * or -1) is allowed; answers 403 naming the refused scope in message and
 * fields[] (workspace_id or technique_id) and returns 1 when not. tname is
 * the technique as the request named it (slug or tech_ id; NULL with t -1).
 */
int fb_simpolicy_forbidden(struct fb_simmodel *m, int w, int t, const char *tname,
			   struct fb_simresp *resp, int *rc);
/* POST /_sim/credits {"add": USD} or {"set": USD} -> {"credits_left": USD}. */
int fb_simpolicy_credits(struct fb_simmodel *m, const struct fb_simcall *c,
			 struct fb_simresp *resp);
/* A run's duration: run_ms spread by run_ms_jitter, drawn from the seed and src (key or id). */
uint64_t fb_simpolicy_run_ms(const struct fb_simmodel *m, uint64_t src);
/* Counts one request at now (model ms) and updates the peak. 0 or FB_ENOMEM. */
int fb_simwindow_note(struct fb_simwindow *w, uint64_t now);
void fb_simwindow_release(struct fb_simwindow *w);

/* ---- simlist.c ---- */
int fb_simlist_runs(struct fb_simmodel *m, enum sim_kind kind, const struct fb_simquery *q,
		    struct fb_simresp *resp);

/* ---- simassets.c ---- */
int fb_simassets_create(struct fb_simmodel *m, const struct fb_simcall *c, struct fb_simresp *resp);
int fb_simassets_list(struct fb_simmodel *m, const struct fb_simquery *q, struct fb_simresp *resp);
int fb_simassets_get(struct fb_simmodel *m, const char *id, struct fb_simresp *resp);
int fb_simassets_complete(struct fb_simmodel *m, const char *id, struct fb_simresp *resp);
int fb_simassets_retry(struct fb_simmodel *m, const char *id, struct fb_simresp *resp);
void fb_simassets_free(struct fb_simmodel *m);
struct fb_simasset *fb_simassets_find(struct fb_simmodel *m, const char *id);
/* A new asset (strings copied); NULL when out of memory. Signed ones start reserved. */
struct fb_simasset *fb_simassets_new(struct fb_simmodel *m, int w, int p, int via,
				     const char *file_name, const char *content_type);
/* Keeps the bytes' digest and size, and what can be read from their head. 0 or FB_ENOMEM. */
int fb_simassets_store(struct fb_simasset *a, const char *data, size_t len, const char *part_type);
/* The create/complete/retry answer; with_via adds uploaded_via. */
int fb_simassets_answer(struct fb_simmodel *m, struct fb_simresp *resp, int status,
			const struct fb_simasset *a, int with_via);
/* Where an asset goes; answers 404/403 and returns 1 when refused. pid may be NULL. */
int fb_simassets_placement(struct fb_simmodel *m, const char *wsid, const char *pid, int *w, int *p,
			   struct fb_simresp *resp, int *rc);
int fb_simassets_expired(struct fb_simmodel *m, const struct fb_simasset *a);
/* Whether the API takes this content type (parameters ignored). */
int fb_simassets_allowed_type(const char *ct);

/* ---- simupload.c ---- */
int fb_simupload_direct(struct fb_simmodel *m, const struct fb_simcall *c, struct fb_simresp *resp);
int fb_simupload_receive(struct fb_simmodel *m, const char *id, const struct fb_simcall *c,
			 struct fb_simresp *resp);
int fb_simupload_serve(struct fb_simmodel *m, const char *id, const char *name,
		       struct fb_simresp *resp);

#endif
