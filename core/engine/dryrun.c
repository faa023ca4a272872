/* dryrun: the manifest read through, checked against the techniques, counted and priced. */
#include "dryrun.h"
#include "hashset.h"
#include "idemkey.h"
#include "item.h"
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define SAMPLES	      1024 /* run times kept from the record, for the median */
#define ASSUMED_RUN_S 60.0 /* a run's time when the folder has none to learn from */

struct tech {
	char *name; /* as the rows name it: a slug or a tech_ id */
	int found;  /* 0: the API has no such technique (404) */
	struct fb_technique t;
};

struct plan {
	const struct fb_dryrun_config *cfg;
	struct fb_transport *t;
	struct fb_dryrun_report *rep;
	struct fb_hashset done; /* "k:<key>" and "i:<id>" of lines the record holds */
	double samples[SAMPLES];
	size_t nsamples;
	uint64_t seen_samples;
	struct tech *techs;
	size_t ntechs;
};

/* ---- the record: what is done, and how long runs took ---- */

static int mark(struct fb_hashset *h, const char *prefix, const char *s)
{
	size_t n = strlen(prefix) + strlen(s) + 1;
	char *b = malloc(n);
	if (!b)
		return FB_ENOMEM;
	snprintf(b, n, "%s%s", prefix, s);
	int rc = fb_hashset_add(h, b) < 0 ? FB_ENOMEM : 0;
	free(b);
	return rc;
}

static void sample(struct plan *p, double run_s)
{
	/* Every run time has the same chance to be kept, however long the record. */
	p->seen_samples++;
	if (p->nsamples < SAMPLES) {
		p->samples[p->nsamples++] = run_s;
		return;
	}
	uint64_t j = (p->seen_samples * 0x9E3779B97F4A7C15ULL >> 11) % p->seen_samples;
	if (j < SAMPLES)
		p->samples[j] = run_s;
}

static int learn(struct plan *p, const char *line)
{
	char ebuf[64];
	yajl_val v = yajl_tree_parse(line, ebuf, sizeof(ebuf));
	const char *st = YAJL_IS_OBJECT(v) ? fb_json_get_str(v, "status") : NULL;
	int rc = 0;
	/* skipped and unresolved lines give way to the next run's: not done. */
	if (st && strcmp(st, "skipped") && strcmp(st, "unresolved")) {
		const char *key = fb_json_get_str(v, "idempotency_key");
		const char *id = fb_json_get_str(v, "id");
		rc = key ? mark(&p->done, "k:", key) : id ? mark(&p->done, "i:", id) : 0;
		yajl_val run_ms = fb_json_get(fb_json_get(v, "timings"), "run_ms");
		if (!strcmp(st, "completed") && YAJL_IS_NUMBER(run_ms) &&
		    YAJL_GET_DOUBLE(run_ms) > 0)
			sample(p, YAJL_GET_DOUBLE(run_ms) / 1000.0);
	}
	yajl_tree_free(v);
	return rc;
}

static int scan_record(struct plan *p, struct fb_err *err)
{
	const char *path = p->cfg->record_path;
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f)
		return !path || errno == ENOENT ? 0
						: fb_err_set(err, FB_EIO, FB_KIND_BATCH, "%s: %s",
							     path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while (!rc && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break; /* torn: a run would cut it */
		line[n - 1] = '\0';
		rc = learn(p, line);
	}
	free(line);
	fclose(f);
	return rc ? fb_err_set(err, rc, FB_KIND_BATCH, "out of memory") : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* ---- techniques, one lookup each ---- */

struct lookup {
	int fired;
	struct fb_catalog_reply r;
	struct fb_technique t;
	int copied;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int copy_fields(struct fb_technique_field **out, const struct fb_technique_field *in,
		       size_t n)
{
	*out = n ? calloc(n, sizeof(**out)) : NULL;
	if (n && !*out)
		return -1;
	for (size_t i = 0; i < n; i++) {
		(*out)[i].id = dup_or_null(in[i].id);
		(*out)[i].type = dup_or_null(in[i].type);
		(*out)[i].required = in[i].required;
		if (in[i].id && !(*out)[i].id)
			return -1;
	}
	return 0;
}

static void on_catalog(void *ud, const struct fb_catalog_reply *r)
{
	struct lookup *l = ud;
	l->fired = 1;
	l->r = *r;
	l->r.techniques = NULL; /* freed when this returns: what is needed is copied below */
	if (r->ok && r->ntechniques) {
		const struct fb_technique *t = &r->techniques[0];
		l->t.has_cost = t->has_cost;
		l->t.run_cost = t->run_cost;
		l->t.ninputs = t->ninputs;
		l->copied = (l->t.technique_id = dup_or_null(t->technique_id)) &&
			    !copy_fields(&l->t.inputs, t->inputs, t->ninputs);
	}
}

/* The technique rows call name: looked up once, then remembered. NULL with err when it cannot. */
static struct tech *technique(struct plan *p, const char *name, struct fb_err *err)
{
	for (size_t i = 0; i < p->ntechs; i++)
		if (!strcmp(p->techs[i].name, name))
			return &p->techs[i];
	struct lookup l = {0};
	struct fb_catalog_query q = {.technique = name};
	int rc = fb_transport_get_techniques(p->t, &q, on_catalog, &l, err);
	while (!rc && !l.fired) {
		int n = fb_transport_step(p->t, 100);
		if (n < 0)
			rc = fb_err_set(err, n, FB_KIND_BATCH, "transport failed");
	}
	if (rc)
		return NULL;
	if (!l.r.ok && l.r.http_status != 404) {
		*err = l.r.err;
		fb_err_set(err, l.r.err.code ? l.r.err.code : FB_EHTTP, l.r.err.kind,
			   "cannot look up technique %s: %s", name, l.r.err.msg);
		fb_technique_release(&l.t);
		return NULL;
	}
	struct tech *v = realloc(p->techs, (p->ntechs + 1) * sizeof(*v));
	if (!v || (l.r.ok && !l.copied)) {
		fb_technique_release(&l.t);
		if (v)
			p->techs = v;
		fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		return NULL;
	}
	p->techs = v;
	struct tech *t = &p->techs[p->ntechs];
	t->name = strdup(name);
	t->found = l.r.ok;
	t->t = l.t;
	if (!t->name) {
		fb_technique_release(&t->t);
		fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
		return NULL;
	}
	p->ntechs++;
	return t;
}

/* Whether the row gives what the technique declares; else the item is made invalid. */
static int check_inputs(struct fb_item *it, const char *name, const struct tech *t)
{
	if (!t->found)
		return fb_item_set_invalid(it, "technique",
					   "technique %s does not exist (GET /techniques/%s: 404); "
					   "florabatch techniques lists them",
					   name, name);
	for (size_t i = 0; i < t->t.ninputs; i++) {
		const struct fb_technique_field *f = &t->t.inputs[i];
		const struct fb_input *given = NULL;
		for (size_t k = 0; k < it->ninputs && !given; k++)
			if (!strcmp(it->inputs[k].id, f->id))
				given = &it->inputs[k];
		if (!given && f->required)
			return fb_item_set_invalid(
			    it, f->id,
			    "technique %s needs input \"%s\"%s%s%s, which the row does not give",
			    name, f->id, f->type ? " (" : "", f->type ? f->type : "",
			    f->type ? ")" : "");
		if (given && f->type && strcasecmp(f->type, fb_input_type_name(given->type)))
			return fb_item_set_invalid(
			    it, f->id,
			    "technique %s takes input \"%s\" as %s, the row gives "
			    "%s",
			    name, f->id, f->type, fb_input_type_name(given->type));
	}
	for (size_t k = 0; k < it->ninputs; k++) {
		int known = !t->t.ninputs; /* a technique that declares nothing is not checked */
		for (size_t i = 0; i < t->t.ninputs && !known; i++)
			known = !strcmp(it->inputs[k].id, t->t.inputs[i].id);
		if (!known)
			return fb_item_set_invalid(it, it->inputs[k].id,
						   "technique %s has no input \"%s\"", name,
						   it->inputs[k].id);
	}
	return 0;
}

static void plan_line(struct plan *p, const struct fb_item *it, const char *verdict,
		      const char *technique)
{
	if (!p->cfg->plan)
		return;
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return;
	yajl_gen_map_open(g);
	fb_json_gen_key(g, "id");
	fb_json_gen_str(g, it->id);
	fb_json_gen_key(g, "source");
	fb_json_gen_str(g, it->source);
	fb_json_gen_key(g, "plan");
	fb_json_gen_str(g, verdict);
	fb_json_gen_key(g, "technique");
	if (technique)
		fb_json_gen_str(g, technique);
	else
		yajl_gen_null(g);
	if (it->invalid) {
		fb_json_gen_key(g, "error");
		fb_json_gen_str(g, it->invalid);
		fb_json_gen_key(g, "field");
		if (it->invalid_field)
			fb_json_gen_str(g, it->invalid_field);
		else
			yajl_gen_null(g);
	}
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
		fwrite(buf, 1, len, p->cfg->plan);
		fputc('\n', p->cfg->plan);
	}
	yajl_gen_free(g);
}

static int plan_item(struct plan *p, struct fb_item *it, struct fb_err *err)
{
	char key[FB_IDEMKEY_LEN + 1] = "";
	struct fb_err e = {0};
	if (fb_resolve_item(it, p->cfg->defaults))
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	if (!it->invalid && fb_idemkey_derive(it, p->cfg->key_namespace, key, &e) < 0 &&
	    fb_item_set_invalid(it, NULL, "%s", e.msg))
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	/* As the batch decides it: by the key, before the checks against the catalog. */
	if (!fb_shard_holds(&p->cfg->shard, it->invalid ? NULL : key, it->id)) {
		p->rep->other_shards++;
		return 0;
	}
	p->rep->rows++;
	const char *tname = it->invalid ? NULL : fb_resolve_technique(it);
	char probe[FB_IDEMKEY_LEN + 3];
	snprintf(probe, sizeof(probe), "k:%s", key);
	if (!it->invalid && fb_hashset_has(&p->done, probe)) {
		p->rep->done++;
		plan_line(p, it, "done", tname);
		return 0;
	}
	struct tech *t = tname ? technique(p, tname, err) : NULL;
	if (tname && !t)
		return err->code ? err->code : FB_EHTTP;
	if (t && check_inputs(it, tname, t))
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	if (it->invalid) {
		p->rep->invalid++;
		fb_log_msg(p->cfg->log, FB_LOG_WARN, "%s: %s%s%s", it->source,
			   it->invalid_field ? it->invalid_field : "",
			   it->invalid_field ? ": " : "", it->invalid);
		plan_line(p, it, "invalid", tname);
		return 0;
	}
	p->rep->fresh++;
	if (!t)
		p->rep->generations++;
	else if (t->t.has_cost)
		p->rep->cost += t->t.run_cost;
	else
		p->rep->uncosted++;
	plan_line(p, it, "new", tname);
	return 0;
}

int fb_dryrun(const struct fb_dryrun_config *cfg, struct fb_manifest *m, struct fb_transport *t,
	      struct fb_dryrun_report *rep, struct fb_err *err)
{
	struct plan p = {.cfg = cfg, .t = t, .rep = rep, .done = FB_HASHSET_INIT};
	memset(rep, 0, sizeof(*rep));
	int rc = scan_record(&p, err);
	while (!rc) {
		struct fb_item it;
		memset(&it, 0, sizeof(it));
		int n = fb_manifest_next(m, &it, err);
		if (n <= 0) {
			rc = n;
			break;
		}
		rc = plan_item(&p, &it, err);
		fb_item_release(&it);
	}
	if (p.nsamples) {
		qsort(p.samples, p.nsamples, sizeof(double), cmp_double);
		rep->run_s = p.samples[p.nsamples / 2];
		rep->run_samples = p.seen_samples;
	} else {
		rep->run_s = ASSUMED_RUN_S;
	}
	unsigned c = cfg->concurrency ? cfg->concurrency : 1;
	uint64_t waves = (rep->fresh + c - 1) / c;
	rep->wall_s = (double)waves * rep->run_s;
	/* A create and a few checks a run, within the rate. */
	if (cfg->rate > 0 && rep->fresh * 3 / cfg->rate > rep->wall_s)
		rep->wall_s = (double)rep->fresh * 3 / cfg->rate;
	for (size_t i = 0; i < p.ntechs; i++) {
		free(p.techs[i].name);
		fb_technique_release(&p.techs[i].t);
	}
	free(p.techs);
	fb_hashset_release(&p.done);
	return rc;
}
