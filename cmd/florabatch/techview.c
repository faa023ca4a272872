/* techview: a technique catalog as a table or as JSON lines. */
#include "techview.h"

#include "buf.h"
#include "json.h"

#include <string.h>

#define FB_TECHVIEW_ABOUT 1024 /* of a name and description shown on one line */

/* Characters (not bytes) of s, as put() would show them. */
static int cols_of(const char *s)
{
	int c = 0;
	for (size_t i = 0, n = s ? strlen(s) : 0; i < n; c++) {
		int valid;
		i += fb_json_utf8_next(s + i, n - i, &valid);
	}
	return c;
}

/*
 * Writes s (NULL: "-") in at most max characters, ending a cut with "...",
 * then spaces up to pad. What the API says reaches a terminal: a control
 * character (an escape sequence would drive the terminal) or a broken
 * UTF-8 sequence is shown as '?'.
 */
static void put(FILE *f, const char *s, int max, int pad)
{
	if (!s)
		s = "-";
	size_t n = strlen(s);
	int shown = 0, cut = cols_of(s) > max;
	for (size_t i = 0; i < n && shown < (cut ? max - 3 : max); shown++) {
		int valid;
		size_t k = fb_json_utf8_next(s + i, n - i, &valid);
		unsigned char c = (unsigned char)s[i];
		if (!valid || (k == 1 && (c < 0x20 || c == 0x7f)) ||
		    (k == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0))
			fputc('?', f);
		else
			fwrite(s + i, 1, k, f);
		i += k;
	}
	if (cut && max >= 3) {
		fputs("...", f);
		shown += 3;
	}
	for (; shown < pad; shown++)
		fputc(' ', f);
}

static void cost(char *buf, size_t n, const struct fb_technique *t)
{
	if (t->has_cost)
		snprintf(buf, n, "$%.3f", t->run_cost);
	else
		snprintf(buf, n, "-");
}

void fb_techview_rows(FILE *f, const struct fb_technique *t, size_t n, int header, int width)
{
	int idw = 9;
	for (size_t i = 0; i < n; i++) {
		int a = cols_of(t[i].technique_id);
		idw = a > idw ? a : idw;
	}
	idw = idw > 48 ? 48 : idw;
	int descw = width - idw - 2 - 8 - 2;
	descw = descw < 20 ? 20 : descw;
	if (header)
		fprintf(f, "%-*s  %-8s  %s\n", idw, "TECHNIQUE", "COST", "NAME: DESCRIPTION");
	for (size_t i = 0; i < n; i++) {
		char c[32], about[FB_TECHVIEW_ABOUT];
		cost(c, sizeof(c), &t[i]);
		snprintf(about, sizeof(about), "%s%s%s", t[i].name ? t[i].name : "",
			 t[i].name && t[i].description ? ": " : "",
			 t[i].description ? t[i].description : "");
		put(f, t[i].technique_id, idw, idw + 2);
		fprintf(f, "%-8s  ", c);
		put(f, about, descw, 0);
		fputc('\n', f);
	}
}

static void fields(FILE *f, const char *title, const struct fb_technique_field *x, size_t n,
		   int inputs, int width)
{
	int idw = (int)strlen(title), typew = 4;
	for (size_t i = 0; i < n; i++) {
		int a = cols_of(x[i].id), b = cols_of(x[i].type);
		idw = a > idw ? a : idw;
		typew = b > typew ? b : typew;
	}
	idw = idw > 40 ? 40 : idw;
	typew = typew > 16 ? 16 : typew;
	int descw = width - 2 - idw - 2 - typew - 2 - (inputs ? 10 : 0);
	descw = descw < 20 ? 20 : descw;
	fprintf(f, "\n  %-*s  %-*s  %s%s\n", idw, title, typew, "TYPE", inputs ? "REQUIRED  " : "",
		"DESCRIPTION");
	if (!n)
		fprintf(f, "  (none)\n");
	for (size_t i = 0; i < n; i++) {
		fputs("  ", f);
		put(f, x[i].id, idw, idw + 2);
		put(f, x[i].type, typew, typew + 2);
		if (inputs)
			fprintf(f, "%-10s", x[i].required ? "yes" : "no");
		put(f, x[i].description ? x[i].description : x[i].name ? x[i].name : "", descw, 0);
		fputc('\n', f);
	}
}

void fb_techview_one(FILE *f, const struct fb_technique *t, int width)
{
	char c[32];
	cost(c, sizeof(c), t);
	put(f, t->technique_id, 80, 0);
	if (t->name) {
		fputs("  ", f);
		put(f, t->name, 60, 0);
	}
	fputc('\n', f);
	if (t->description) {
		fputs("  ", f);
		put(f, t->description, width > 24 ? width - 2 : 22, 0);
		fputc('\n', f);
	}
	fprintf(f, "  run cost  %s%s\n", c, t->has_cost ? " a run" : " (not given)");
	fields(f, "INPUT", t->inputs, t->ninputs, 1, width);
	fields(f, "OUTPUT", t->outputs, t->noutputs, 0, width);
	/* The columns a CSV manifest gives this technique (README: Manifests). */
	fputs("\n  a CSV manifest's header: id", f);
	for (size_t i = 0; i < t->ninputs; i++) {
		fputc(',', f);
		put(f, t->inputs[i].id, 64, 0);
		if (t->inputs[i].type) {
			fputc(':', f);
			put(f, t->inputs[i].type, 16, 0);
		}
	}
	fputc('\n', f);
}

static int gen_fields(yajl_gen g, const char *key, const struct fb_technique_field *x, size_t n,
		      int inputs)
{
	int rc = fb_json_gen_key(g, key) || fb_json_gen_status(yajl_gen_array_open(g));
	for (size_t i = 0; !rc && i < n; i++) {
		rc = fb_json_gen_status(yajl_gen_map_open(g)) || fb_json_gen_key(g, "id") ||
		     fb_json_gen_str(g, x[i].id) || fb_json_gen_key(g, "name") ||
		     fb_json_gen_str(g, x[i].name) || fb_json_gen_key(g, "type") ||
		     fb_json_gen_str(g, x[i].type);
		if (!rc && inputs)
			rc = fb_json_gen_key(g, "required") ||
			     fb_json_gen_status(yajl_gen_bool(g, x[i].required));
		rc = rc || fb_json_gen_key(g, "description") ||
		     fb_json_gen_str(g, x[i].description) ||
		     fb_json_gen_status(yajl_gen_map_close(g));
	}
	return rc || fb_json_gen_status(yajl_gen_array_close(g));
}

static int gen_one(yajl_gen g, const struct fb_technique *t, int with_fields)
{
	int rc = fb_json_gen_status(yajl_gen_map_open(g)) || fb_json_gen_key(g, "technique_id") ||
		 fb_json_gen_str(g, t->technique_id) || fb_json_gen_key(g, "name") ||
		 fb_json_gen_str(g, t->name) || fb_json_gen_key(g, "description") ||
		 fb_json_gen_str(g, t->description) || fb_json_gen_key(g, "run_cost") ||
		 (t->has_cost ? fb_json_gen_double(g, t->run_cost)
			      : fb_json_gen_status(yajl_gen_null(g)));
	if (!rc && with_fields)
		rc = gen_fields(g, "inputs", t->inputs, t->ninputs, 1) ||
		     gen_fields(g, "outputs", t->outputs, t->noutputs, 0);
	return rc || fb_json_gen_status(yajl_gen_map_close(g));
}

int fb_techview_jsonl(FILE *f, const struct fb_technique *t, size_t n, int with_fields)
{
	yajl_gen g = fb_json_gen_new();
	struct fb_buf line = FB_BUF_INIT;
	int rc = g ? 0 : -1;
	for (size_t i = 0; !rc && i < n; i++) {
		yajl_gen_reset(g, NULL);
		fb_buf_reset(&line);
		rc = gen_one(g, &t[i], with_fields) || fb_json_gen_take(g, &line) ||
		     fb_buf_addc(&line, '\n');
		if (!rc)
			fwrite(line.ptr, 1, line.len, f);
	}
	fb_buf_release(&line);
	if (g)
		yajl_gen_free(g);
	return rc ? -1 : 0;
}
