/* csv: the RFC 4180 manifest reader (header, typed columns, one record at a time). */
#include "csv.h"
#include "buf.h"
#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A header this wide is a mistake (a data file without a header), not a manifest. */
#define MAX_COLUMNS 1024

/* ROLE_FIELD columns fill the item's named string fields (technique, workspace_id, ...). */
enum role { ROLE_INPUT, ROLE_ID, ROLE_FIELD, ROLE_PARAMS };

/* The reserved columns other than id: each fills one string field of the item. */
static const char *const field_cols[] = {"technique",  "technique_id", "workspace_id",
					 "project_id", "generation",   "model"};

static char **field_slot(struct fb_item *it, const char *name)
{
	char **slots[] = {&it->technique,  &it->technique_id, &it->workspace_id,
			  &it->project_id, &it->generation,   &it->model};
	for (size_t i = 0; i < sizeof(field_cols) / sizeof(field_cols[0]); i++)
		if (!strcmp(name, field_cols[i]))
			return slots[i];
	return NULL;
}

static int is_field_col(const char *name)
{
	for (size_t i = 0; i < sizeof(field_cols) / sizeof(field_cols[0]); i++)
		if (!strcmp(name, field_cols[i]))
			return 1;
	return 0;
}

struct column {
	char *name; /* owned */
	enum role role;
	enum fb_input_type type;
	int typed;
};

struct csv {
	struct fb_src *src; /* borrowed */
	const char *name;   /* borrowed */
	struct column *cols;
	size_t ncols;
	int id_col;    /* -1 when absent */
	uint64_t line; /* physical line of the next byte */
	uint64_t seq;
	struct fb_buf rec; /* the stored fields, each NUL-terminated */
	size_t *starts;	   /* offset of each stored field in rec */
};

/* What one record looked like; fields past store_max are counted, not kept. */
struct record {
	uint64_t line;
	size_t nfields;
	size_t nstored;
	size_t store_max;
	int too_long;
	int unterminated;
	uint64_t quote_line;
	size_t quote_field;
	size_t nul_field; /* first field with a NUL byte, SIZE_MAX if none */
	int oom;
};

static void put(struct csv *r, struct record *rec, size_t field, int c)
{
	if (rec->too_long || field >= rec->store_max)
		return;
	if (fb_buf_addc(&r->rec, (char)c))
		rec->oom = 1;
}

static void start_field(struct csv *r, struct record *rec, size_t field)
{
	if (!rec->too_long && field < rec->store_max)
		r->starts[field] = r->rec.len;
}

static void end_field(struct csv *r, struct record *rec, size_t field)
{
	if (rec->too_long || field >= rec->store_max)
		return;
	if (fb_buf_addc(&r->rec, '\0'))
		rec->oom = 1;
	else
		rec->nstored = field + 1;
}

/*
 * Reads one record, skipping blank lines before it. Over
 * FB_MANIFEST_MAX_RECORD bytes it stops storing but keeps parsing, so it
 * still finds where the record ends. 1: a record; 0: the end; -1: a read
 * error or no memory (see rec->oom).
 */
static int read_record(struct csv *r, struct record *rec, size_t store_max)
{
	struct fb_src *s = r->src;
	enum { START, PLAIN, QUOTED, QUOTE_END } st = START;
	size_t raw = 0, field = 0;
	int c;

	memset(rec, 0, sizeof(*rec));
	rec->nul_field = SIZE_MAX;
	rec->store_max = store_max;
	fb_buf_reset(&r->rec);
	for (;;) {
		c = fb_src_peek(s);
		if (c != '\n' && c != '\r')
			break;
		fb_src_getc(s);
		if (c == '\r' && fb_src_peek(s) == '\n')
			fb_src_getc(s);
		r->line++;
	}
	if (c == EOF)
		return fb_src_error(s) ? -1 : 0;
	rec->line = r->line;
	start_field(r, rec, 0);
	for (;;) {
		c = fb_src_getc(s);
		if (c == EOF) {
			rec->unterminated = st == QUOTED;
			end_field(r, rec, field);
			break;
		}
		if (++raw > FB_MANIFEST_MAX_RECORD)
			rec->too_long = 1;
		if (c == '\0' && rec->nul_field == SIZE_MAX)
			rec->nul_field = field;
		if (st == QUOTED) {
			if (c == '"')
				st = QUOTE_END;
			else
				put(r, rec, field, c);
			if (c == '\n')
				r->line++;
			continue;
		}
		if (c == ',') {
			end_field(r, rec, field);
			start_field(r, rec, ++field);
			st = START;
			continue;
		}
		if (c == '\n' || c == '\r') {
			if (c == '\r' && fb_src_peek(s) == '\n')
				fb_src_getc(s);
			r->line++;
			end_field(r, rec, field);
			break;
		}
		if (st == START && c == '"') {
			st = QUOTED;
			rec->quote_line = r->line;
			rec->quote_field = field;
			continue;
		}
		if (st == QUOTE_END && c == '"') {
			put(r, rec, field, '"');
			st = QUOTED;
			continue;
		}
		/* A stray quote, or text after a closing quote: kept as is. */
		put(r, rec, field, c);
		st = PLAIN;
	}
	rec->nfields = field + 1;
	if (rec->oom || fb_src_error(s))
		return -1;
	return 1;
}

static const char *field_str(const struct csv *r, size_t i)
{
	return r->rec.ptr + r->starts[i];
}

static int read_failed(struct csv *r, const struct record *rec, struct fb_err *err)
{
	if (rec->oom)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s:%llu: cannot read manifest: %s", r->name,
			  (unsigned long long)r->line, strerror(fb_src_error(r->src)));
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Turns header field i into a column; a bad one is an error naming it. */
static int parse_column(struct csv *r, const struct record *rec, size_t i, struct fb_err *err)
{
	unsigned long long ln = (unsigned long long)rec->line;
	struct column *col = &r->cols[i];
	char *raw = (char *)field_str(r, i);
	char *full = trim(raw);
	char *colon = strrchr(full, ':');
	char *spec = fb_strdup(full);
	char *name = full;

	if (!spec)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	int rc = 0;
	if (i == 0 && spec[0] == '{') {
		rc = fb_err_set(
		    err, FB_EPARSE, FB_KIND_BATCH,
		    "%s:%llu: the first row looks like JSON, not a CSV header (JSON Lines "
		    "manifests are read from .jsonl files)",
		    r->name, ln);
		goto out;
	}
	if (fb_is_http_url(spec)) {
		rc = fb_err_set(
		    err, FB_EPARSE, FB_KIND_BATCH,
		    "%s:%llu: column \"%.60s\" looks like data, not a column name: the "
		    "first row must be a header naming the inputs (e.g. prompt,input_image)",
		    r->name, ln, spec);
		goto out;
	}
	if (colon) {
		*colon = '\0';
		name = trim(full);
		const char *type = trim(colon + 1);
		if (fb_input_type_parse(type, &col->type)) {
			rc = fb_err_set(
			    err, FB_EPARSE, FB_KIND_BATCH,
			    "%s:%llu: column \"%s\": unknown input type \"%s\" (expected "
			    "text, imageUrl, videoUrl, audioUrl or documentUrl)",
			    r->name, ln, spec, type);
			goto out;
		}
		col->typed = 1;
	}
	if (!*name) {
		rc =
		    fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
			       "%s:%llu: column %zu of the header has no name", r->name, ln, i + 1);
		goto out;
	}
	col->role = !strcmp(name, "id")	      ? ROLE_ID
		    : !strcmp(name, "params") ? ROLE_PARAMS
		    : is_field_col(name)      ? ROLE_FIELD
					      : ROLE_INPUT;
	if (col->role != ROLE_INPUT && col->typed) {
		rc = fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
				"%s:%llu: column \"%s\": the %s column takes no type", r->name, ln,
				spec, name);
		goto out;
	}
	for (size_t j = 0; j < i; j++) {
		if (!strcmp(r->cols[j].name, name)) {
			rc = fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
					"%s:%llu: column \"%s\" appears twice in the header "
					"(columns %zu and %zu)",
					r->name, ln, name, j + 1, i + 1);
			goto out;
		}
	}
	col->name = fb_strdup(name);
	if (!col->name)
		rc = fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	if (col->role == ROLE_ID)
		r->id_col = (int)i;
out:
	free(spec);
	return rc;
}

static int read_header(struct csv *r, struct fb_err *err)
{
	struct record rec;
	int rc = read_record(r, &rec, MAX_COLUMNS + 1);
	unsigned long long ln = (unsigned long long)rec.line;

	if (rc < 0)
		return read_failed(r, &rec, err);
	if (rc == 0)
		return 0; /* an empty manifest */
	if (rec.unterminated)
		return fb_err_set(
		    err, FB_EPARSE, FB_KIND_BATCH,
		    "%s:%llu: header row: the quote opened on line %llu is never closed", r->name,
		    ln, (unsigned long long)rec.quote_line);
	if (rec.too_long)
		return fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
				  "%s:%llu: header row too long: over %u bytes", r->name, ln,
				  FB_MANIFEST_MAX_RECORD);
	if (rec.nfields > MAX_COLUMNS)
		return fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
				  "%s:%llu: header row has more than %d columns", r->name, ln,
				  MAX_COLUMNS);
	r->cols = calloc(rec.nfields, sizeof(*r->cols));
	if (!r->cols)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	r->ncols = rec.nfields;
	size_t ninputs = 0;
	for (size_t i = 0; i < rec.nfields; i++) {
		const char *f = field_str(r, i);
		if (i == rec.nul_field || !fb_utf8_valid(f, strlen(f), 0, NULL))
			return fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
					  "%s:%llu: column %zu of the header is not valid UTF-8; "
					  "save the manifest as UTF-8",
					  r->name, ln, i + 1);
		rc = parse_column(r, &rec, i, err);
		if (rc)
			return rc;
		ninputs += r->cols[i].role == ROLE_INPUT;
	}
	if (!ninputs)
		return fb_err_set(err, FB_EPARSE, FB_KIND_BATCH,
				  "%s:%llu: the header names no input column (every column other "
				  "than id, technique, technique_id, workspace_id, project_id, "
				  "generation, model and params is an input, e.g. prompt)",
				  r->name, ln);
	return 0;
}

static void csv_free(void *state)
{
	struct csv *r = state;
	if (!r)
		return;
	for (size_t i = 0; i < r->ncols; i++)
		free(r->cols[i].name);
	free(r->cols);
	free(r->starts);
	fb_buf_release(&r->rec);
	free(r);
}

int fb_csv_open(void **state, struct fb_src *src, const char *name, struct fb_err *err)
{
	struct csv *r = calloc(1, sizeof(*r));

	*state = NULL;
	if (!r)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	r->src = src;
	r->name = name;
	r->line = 1;
	r->id_col = -1;
	r->starts = malloc((MAX_COLUMNS + 1) * sizeof(*r->starts));
	if (!r->starts) {
		csv_free(r);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	int rc = read_header(r, err);
	if (rc) {
		csv_free(r);
		return rc;
	}
	*state = r;
	return 0;
}

/* The first problem with the record's shape or encoding, or 0. */
static int check_record(struct csv *r, const struct record *rec, struct fb_item *it)
{
	if (rec->unterminated) {
		const char *col =
		    rec->quote_field < r->ncols ? r->cols[rec->quote_field].name : NULL;
		return fb_item_set_invalid(it, col,
					   "column \"%s\": unterminated quoted field (the quote "
					   "opened on line %llu is never closed)",
					   col ? col : "?", (unsigned long long)rec->quote_line);
	}
	if (rec->too_long)
		return fb_item_set_invalid(it, NULL, "line too long: over %u bytes",
					   FB_MANIFEST_MAX_RECORD);
	if (rec->nfields != r->ncols)
		return fb_item_set_invalid(
		    it, NULL, "expected %zu fields, found %zu%s", r->ncols, rec->nfields,
		    rec->nfields > r->ncols
			? " (put a value that contains a comma in double quotes)"
			: "");
	for (size_t i = 0; i < r->ncols; i++) {
		const char *f = field_str(r, i);
		if (i == rec->nul_field)
			return fb_item_set_invalid(it, r->cols[i].name,
						   "column \"%s\": contains a NUL byte",
						   r->cols[i].name);
		if (!fb_utf8_valid(f, strlen(f), 0, NULL))
			return fb_item_set_invalid(
			    it, r->cols[i].name,
			    "column \"%s\": not valid UTF-8 (save the manifest "
			    "as UTF-8)",
			    r->cols[i].name);
	}
	return 0;
}

static int fill_item(struct csv *r, const struct record *rec, struct fb_item *it)
{
	const char *id = NULL;
	int rc;

	if (r->id_col >= 0 && (size_t)r->id_col < rec->nstored &&
	    (size_t)r->id_col != rec->nul_field) {
		const char *f = field_str(r, (size_t)r->id_col);
		if (fb_utf8_valid(f, strlen(f), 0, NULL))
			id = f;
	}
	if ((rc = fb_manifest_item_id(it, id)) || (rc = check_record(r, rec, it)) || it->invalid)
		return rc;
	for (size_t i = 0; i < r->ncols && !it->invalid; i++) {
		const struct column *col = &r->cols[i];
		const char *v = field_str(r, i);
		if (col->role == ROLE_FIELD && *v) {
			char **slot = field_slot(it, col->name);
			if (!(*slot = fb_strdup(v)))
				return FB_ENOMEM;
		} else if (col->role == ROLE_PARAMS && *v) {
			char msg[256] = "";
			it->params = yajl_tree_parse(v, msg, sizeof(msg));
			it->params_owned = 1;
			if (!YAJL_IS_OBJECT(it->params))
				return fb_item_set_invalid(
				    it, col->name,
				    "column \"params\": expected a JSON object such as "
				    "{\"aspect_ratio\": \"1:1\"}");
		} else if (col->role == ROLE_INPUT) {
			enum fb_input_type t = col->typed ? col->type : fb_input_type_infer(v);
			rc = fb_manifest_item_input(it, "column", col->name, col->name, t,
						    col->typed, v);
			if (rc)
				return rc;
		}
	}
	return 0; /* whether the item needs inputs depends on its kind: resolve.c decides */
}

static int csv_next(void *state, struct fb_item *it, struct fb_err *err)
{
	struct csv *r = state;
	struct record rec;

	if (!r->ncols)
		return 0;
	int rc = read_record(r, &rec, r->ncols);
	if (rc < 0)
		return read_failed(r, &rec, err);
	if (rc == 0)
		return 0;
	r->seq++;
	rc = fb_manifest_item_begin(it, r->name, rec.line, r->seq);
	if (!rc)
		rc = fill_item(r, &rec, it);
	if (rc) {
		fb_item_release(it);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	return 1;
}

const struct fb_reader_ops fb_csv_reader = {
    .name = "csv",
    .next = csv_next,
    .free = csv_free,
};
