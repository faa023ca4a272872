/* item: the manifest's unit of work and the input type rules. */
#include "item.h"
#include "buf.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[] = {"text", "imageUrl", "videoUrl", "audioUrl", "documentUrl"};

const char *fb_input_type_name(enum fb_input_type t)
{
	if ((unsigned)t < sizeof(type_names) / sizeof(type_names[0]))
		return type_names[t];
	return "text";
}

int fb_input_type_parse(const char *s, enum fb_input_type *out)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (!strcasecmp(s, type_names[i])) {
			*out = (enum fb_input_type)i;
			return 0;
		}
	}
	return FB_EINVAL;
}

int fb_is_http_url(const char *v)
{
	const char *rest;
	if (!strncasecmp(v, "https://", 8))
		rest = v + 8;
	else if (!strncasecmp(v, "http://", 7))
		rest = v + 7;
	else
		return 0;
	if (!*rest || *rest == '/' || *rest == '?' || *rest == '#')
		return 0;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ')
			return 0;
	return 1;
}

static int ends_with_ext(const char *path, size_t len, const char *const *exts)
{
	for (; *exts; exts++) {
		size_t n = strlen(*exts);
		if (len > n && path[len - n - 1] == '.' && !strncasecmp(path + len - n, *exts, n))
			return 1;
	}
	return 0;
}

enum fb_input_type fb_input_type_infer(const char *value)
{
	static const char *const image[] = {"png",  "jpg",  "jpeg", "webp", "gif", "avif",
					    "heic", "heif", "bmp",  "tiff", NULL};
	static const char *const video[] = {"mp4", "webm", "mov", "m4v", "mkv", NULL};
	if (!fb_is_http_url(value))
		return FB_INPUT_TEXT;
	/* The path ends at the query or fragment. */
	size_t len = strcspn(value, "?#");
	if (ends_with_ext(value, len, image))
		return FB_INPUT_IMAGE_URL;
	if (ends_with_ext(value, len, video))
		return FB_INPUT_VIDEO_URL;
	return FB_INPUT_TEXT;
}

static const char *const reserved[] = {
    "id",	  "technique", "technique_id", "workspace_id", "project_id",
    "generation", "prompt",    "model",	       "params",       "inputs",
};

int fb_item_reserved_key(const char *key)
{
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(key, reserved[i]))
			return 1;
	return 0;
}

const char *fb_job_kind_name(enum fb_job_kind k)
{
	switch (k) {
	case FB_JOB_TECHNIQUE_ID:
		return "technique_id";
	case FB_JOB_GENERATION:
		return "generation";
	default:
		return "technique";
	}
}

char *fb_strdup(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

int fb_item_add_input(struct fb_item *it, const char *id, enum fb_input_type type,
		      const char *value)
{
	struct fb_input *in = realloc(it->inputs, (it->ninputs + 1) * sizeof(*in));
	if (!in)
		return FB_ENOMEM;
	it->inputs = in;
	in = &it->inputs[it->ninputs];
	memset(in, 0, sizeof(*in));
	in->id = fb_strdup(id);
	in->value = fb_strdup(value);
	in->type = type;
	if (!in->id || !in->value) {
		free(in->id);
		free(in->value);
		return FB_ENOMEM;
	}
	it->ninputs++;
	return 0;
}

int fb_item_set_invalid(struct fb_item *it, const char *field, const char *fmt, ...)
{
	if (it->invalid) /* the first problem is the one worth reporting */
		return 0;
	struct fb_buf b = FB_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || fb_buf_grow(&b, (size_t)n))
		return FB_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b.ptr, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b.len = (size_t)n;
	it->invalid = fb_buf_detach(&b, NULL);
	free(it->invalid_field);
	it->invalid_field = fb_strdup(field);
	return 0;
}

void fb_item_release(struct fb_item *it)
{
	free(it->id);
	free(it->source);
	free(it->technique);
	free(it->technique_id);
	free(it->workspace_id);
	free(it->project_id);
	free(it->generation);
	free(it->prompt);
	free(it->model);
	if (it->params_owned && it->params)
		yajl_tree_free(it->params);
	for (size_t i = 0; i < it->ninputs; i++) {
		free(it->inputs[i].id);
		free(it->inputs[i].value);
		free(it->inputs[i].asset_id);
	}
	free(it->inputs);
	if (it->json)
		yajl_tree_free(it->json);
	free(it->invalid);
	free(it->invalid_field);
	memset(it, 0, sizeof(*it));
}
