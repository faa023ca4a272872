/* resolve: job kind and contract checks for each item. */
#include "resolve.h"
#include "json.h"
#include "error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The contract's id pattern: the prefix, then at least one non-space character. */
static int has_prefix_id(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(s, prefix, n) || !s[n])
		return 0;
	for (const char *p = s + n; *p; p++)
		if (isspace((unsigned char)*p))
			return 0;
	return 1;
}

/* *dst from the batch default when the row left it empty. */
static int fill(char **dst, const char *dflt)
{
	if (!*dst && dflt && *dflt && !(*dst = fb_strdup(dflt)))
		return FB_ENOMEM;
	return 0;
}

static int need_id(struct fb_item *it, const char *value, const char *field, const char *prefix,
		   const char *flag)
{
	if (!value)
		return fb_item_set_invalid(it, field, "no %s: give %s or a %s column/field", field,
					   flag, field);
	if (!has_prefix_id(value, prefix))
		return fb_item_set_invalid(it, field,
					   "field \"%s\": expected an id like %s…, got \"%.60s\"",
					   field, prefix, value);
	return 0;
}

/*
 * A JSONL line shaped like a CSV row ({"id":..,"input_image":..}): its
 * keys are meta, not inputs. The message shows the shape that works.
 */
static int flat_jsonl(struct fb_item *it)
{
	yajl_val v = it->json;
	if (!YAJL_IS_OBJECT(v) || fb_json_get(v, "inputs"))
		return 0;
	char keys[160] = "";
	size_t n = 0, at = 0;
	for (size_t i = 0; i < v->u.object.len && n < 3; i++) {
		const char *k = v->u.object.keys[i];
		if (fb_item_reserved_key(k))
			continue;
		int w = snprintf(keys + at, sizeof(keys) - at, "%s\"%.40s\"", n ? ", " : "", k);
		if (w < 0 || (size_t)w >= sizeof(keys) - at)
			break;
		at += (size_t)w;
		n++;
	}
	if (!n)
		return 0;
	int rc = fb_item_set_invalid(
	    it, "inputs",
	    "no inputs: a JSONL line gives them under \"inputs\", e.g. {\"id\":\"a\","
	    "\"inputs\":{\"input_image\":\"https://...\"}}; its other keys (here %s) are kept "
	    "as the result's meta, not sent",
	    keys);
	return rc ? rc : 1;
}

static int need_inputs(struct fb_item *it)
{
	if (it->ninputs)
		return 0;
	int rc = flat_jsonl(it);
	if (rc)
		return rc < 0 ? rc : 0;
	return fb_item_set_invalid(it, "inputs",
				   "no inputs: every input is empty or missing (technique "
				   "runs need at least one, e.g. input_image)");
}

/* A CSV generation row carries its prompt in the prompt column, read as an input. */
static int prompt_from_inputs(struct fb_item *it)
{
	for (size_t i = 0; i < it->ninputs; i++) {
		const struct fb_input *in = &it->inputs[i];
		if (!strcmp(in->id, "prompt")) {
			if (!it->prompt && !(it->prompt = fb_strdup(in->value)))
				return FB_ENOMEM;
			continue;
		}
		return fb_item_set_invalid(
		    it, in->id,
		    "column \"%s\": a generation takes a prompt, not technique "
		    "inputs (leave it empty on generation rows)",
		    in->id);
	}
	return 0;
}

static int resolve_generation(struct fb_item *it, const struct fb_resolve_defaults *d)
{
	static const char *const types[] = {"image", "video", "audio", "text"};
	int rc;
	if ((rc = fill(&it->generation, d->generation)) ||
	    (rc = fill(&it->workspace_id, d->workspace_id)) ||
	    (rc = fill(&it->project_id, d->project_id)) || (rc = fill(&it->model, d->model)) ||
	    (rc = prompt_from_inputs(it)) || it->invalid)
		return rc;
	int known = 0;
	for (size_t i = 0; i < 4; i++)
		known |= !strcmp(it->generation, types[i]);
	if (!known)
		return fb_item_set_invalid(
		    it, "generation",
		    "field \"generation\": expected image, video, audio or text, "
		    "got \"%.40s\"",
		    it->generation);
	if (!it->prompt || !*it->prompt)
		return fb_item_set_invalid(it, "prompt", "no prompt: a generation needs a prompt");
	if ((rc = need_id(it, it->workspace_id, "workspace_id", "ws_", "--workspace")) ||
	    it->invalid)
		return rc;
	return need_id(it, it->project_id, "project_id", "prj_", "--project");
}

int fb_resolve_item(struct fb_item *it, const struct fb_resolve_defaults *d)
{
	int rc;
	if (it->invalid)
		return 0;

	if (it->generation)
		it->kind = FB_JOB_GENERATION;
	else if (it->technique_id)
		it->kind = FB_JOB_TECHNIQUE_ID;
	else if (it->technique)
		it->kind = FB_JOB_TECHNIQUE;
	else
		it->kind = d->kind;

	int local = 0;
	for (size_t i = 0; i < it->ninputs; i++)
		local |= it->inputs[i].local;
	/* Local files are uploaded to a workspace before the run. */
	if (local && (rc = fill(&it->workspace_id, d->workspace_id)))
		return rc;
	if (local && (rc = need_id(it, it->workspace_id, "workspace_id", "ws_", "--workspace")))
		return rc;
	if (it->invalid)
		return 0;
	switch (it->kind) {
	case FB_JOB_GENERATION:
		return resolve_generation(it, d);
	case FB_JOB_TECHNIQUE_ID:
		if ((rc = fill(&it->technique_id, d->technique_id)) ||
		    (rc = fill(&it->workspace_id, d->workspace_id)))
			return rc;
		if ((rc = need_id(it, it->technique_id, "technique_id", "tech_",
				  "--technique-id")) ||
		    it->invalid ||
		    (rc = need_id(it, it->workspace_id, "workspace_id", "ws_", "--workspace")) ||
		    it->invalid)
			return rc;
		return need_inputs(it);
	default:
		if ((rc = fill(&it->technique, d->technique)))
			return rc;
		if (!it->technique)
			return fb_item_set_invalid(
			    it, "technique",
			    "no technique: give --technique or a technique column/field");
		return need_inputs(it);
	}
}

const char *fb_resolve_technique(const struct fb_item *it)
{
	switch (it->kind) {
	case FB_JOB_TECHNIQUE_ID:
		return it->technique_id;
	case FB_JOB_GENERATION:
		return NULL;
	default:
		return it->technique;
	}
}
