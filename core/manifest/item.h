/*
 * item: one unit of work from a manifest. A plain value type: readers fill
 * it, the driver reads it, fb_item_release frees what it owns. Its fields
 * are its interface.
 */
#ifndef FB_ITEM_H
#define FB_ITEM_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

enum fb_input_type {
	FB_INPUT_TEXT = 0,
	FB_INPUT_IMAGE_URL,
	FB_INPUT_VIDEO_URL,
	FB_INPUT_AUDIO_URL,
	FB_INPUT_DOCUMENT_URL,
};

/* The contract's spelling ("text", "imageUrl", ...). */
const char *fb_input_type_name(enum fb_input_type t);
/* Parses the contract's spelling (case-insensitive); 0 on success, FB_EINVAL otherwise. */
int fb_input_type_parse(const char *s, enum fb_input_type *out);
/*
 * The type a bare value implies: an http(s) URL whose path ends in an image
 * or video extension is imageUrl or videoUrl; anything else is text.
 */
enum fb_input_type fb_input_type_infer(const char *value);
/* Whether value is an absolute http:// or https:// URL with a host. */
int fb_is_http_url(const char *value);

struct fb_input {
	char *id; /* the technique's input id; owned */
	enum fb_input_type type;
	char *value; /* text, or a URL; a local file's path when local; owned */
	/*
	 * A local file, uploaded through the assets API before the run is
	 * created (its value then becomes the asset's url). Its sha256 (hex,
	 * 64 digits) stands for it in the idempotency key, so the key follows
	 * the content, not the path.
	 */
	int local;
	char sha256[65];
	char *asset_id; /* once uploaded; owned */
};

enum fb_job_kind {
	FB_JOB_TECHNIQUE = 0, /* POST /techniques/{slug}/runs, polled on its poll_url */
	FB_JOB_TECHNIQUE_ID,  /* POST /runs/technique (tech_ id, ws_), polled on /runs/{id} */
	FB_JOB_GENERATION,    /* POST /generate or /runs/generation, polled on /runs/{id} */
};
/* "technique", "technique_id", "generation". */
const char *fb_job_kind_name(enum fb_job_kind k);

struct fb_item {
	uint64_t seq;	       /* 1-based position in the manifest (data rows only) */
	char *id;	       /* from the manifest, or derived from seq; owned, never NULL */
	int id_explicit;       /* 1 when the manifest named the id */
	char *source;	       /* "manifest.csv:17" for messages; owned */
	enum fb_job_kind kind; /* set by fb_resolve_item */
	char *technique;       /* slug (nested route); NULL means the batch default; owned */
	char *technique_id;    /* tech_ id (top-level route); owned */
	char *workspace_id;    /* ws_ id; owned */
	char *project_id;      /* prj_ id; owned */
	char *generation;      /* generation type: image, video, audio, text; owned */
	char *prompt;	       /* generation prompt; owned */
	char *model;	       /* generation model id; owned */
	yajl_val params;       /* generation params (an object), or NULL */
	int params_owned;      /* 1: params is a tree of its own (CSV); else borrowed from json */
	struct fb_input *inputs;
	size_t ninputs;
	/*
	 * JSONL only: the whole parsed line (an object), owned. Keys other than
	 * the reserved ones (fb_item_reserved_key) are carried to the result
	 * line's "meta" untouched. NULL for CSV rows.
	 */
	yajl_val json;
	/* When the row is invalid: why (owned), and the field it is about (owned, may be NULL). */
	char *invalid;
	char *invalid_field;
};

/*
 * Whether a JSONL key belongs to florabatch (id, technique, technique_id,
 * workspace_id, project_id, generation, prompt, model, params, inputs)
 * rather than to meta.
 */
int fb_item_reserved_key(const char *key);

/* Appends an input, copying id and value. 0 or FB_ENOMEM. */
int fb_item_add_input(struct fb_item *it, const char *id, enum fb_input_type type,
		      const char *value);
/* Marks the item invalid with a formatted reason about field (may be NULL). Returns 0 or FB_ENOMEM.
 */
int fb_item_set_invalid(struct fb_item *it, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Frees everything the item owns and zeroes it. */
void fb_item_release(struct fb_item *it);

/* strdup that reports failure as NULL; NULL in, NULL out. */
char *fb_strdup(const char *s);

#endif
