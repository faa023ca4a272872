/*
 * transport: what every transport shares: run status names, the lifetime of
 * run info, run lists and techniques.
 */
#include "transport.h"

#include <stdlib.h>
#include <string.h>

const char *fb_run_status_name(enum fb_run_status s)
{
	switch (s) {
	case FB_RUN_PENDING:
		return "pending";
	case FB_RUN_RUNNING:
		return "running";
	case FB_RUN_COMPLETED:
		return "completed";
	case FB_RUN_FAILED:
		return "failed";
	default:
		return "unknown";
	}
}

void fb_run_info_release(struct fb_run_info *ri)
{
	free(ri->run_id);
	free(ri->poll_url);
	free(ri->error_code);
	free(ri->error_message);
	for (size_t i = 0; i < ri->noutputs; i++) {
		free(ri->outputs[i].output_id);
		free(ri->outputs[i].type);
		free(ri->outputs[i].url);
	}
	free(ri->outputs);
	memset(ri, 0, sizeof(*ri));
	ri->progress = -1;
	ri->estimated_seconds = -1;
	ri->created_at = -1;
}

void fb_run_list_free(struct fb_run_info *runs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fb_run_info_release(&runs[i]);
	free(runs);
}

static void fields_free(struct fb_technique_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].id);
		free(f[i].name);
		free(f[i].type);
		free(f[i].description);
	}
	free(f);
}

void fb_technique_release(struct fb_technique *t)
{
	free(t->technique_id);
	free(t->name);
	free(t->description);
	fields_free(t->inputs, t->ninputs);
	fields_free(t->outputs, t->noutputs);
	memset(t, 0, sizeof(*t));
}

void fb_technique_list_free(struct fb_technique *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fb_technique_release(&list[i]);
	free(list);
}
