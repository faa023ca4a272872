/* status: the folder's state as text for a person or one JSON object for a script. */
#include "status.h"
#include "outdir.h"
#include "run.h"

#include "buf.h"
#include "folderstate.h"
#include "json.h"

#include "args.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Every option of `florabatch status`: the help, the man page and the completions follow it. */
static const struct option long_opts[] = {
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void fb_status_usage(FILE *f)
{
	fputs("Usage: florabatch status [--json] [DIR]\n"
	      "\n"
	      "Says what the output folder DIR (default florabatch-out) holds: the items with\n"
	      "a result line and how they ended, the money charged, the runs created that\n"
	      "have no line yet, the archive's volumes, and whether an invocation is working\n"
	      "in it now. It reads the folder without locking it, so it works while a batch\n"
	      "or a never-ending stream runs there.\n"
	      "\n"
	      "  --json                  one JSON object instead of text\n"
	      "  -h, --help              this text\n"
	      "\n"
	      "Exit status: 0 the folder was read; 2 usage error, or DIR is not a readable\n"
	      "folder; 4 the report could not be written.\n",
	      f);
}

static void human(FILE *f, const char *dir, const struct fb_folder_state *st)
{
	fprintf(f, "%s\n", dir);
	if (st->holder)
		fprintf(f, "  state     running (pid %ld holds the folder)\n", (long)st->holder);
	else
		fprintf(f, "  state     idle\n");
	fprintf(f,
		"  items     %llu with a line: %llu completed, %llu failed, %llu invalid, %llu "
		"skipped",
		(unsigned long long)st->lines, (unsigned long long)st->completed,
		(unsigned long long)st->failed, (unsigned long long)st->invalid,
		(unsigned long long)st->skipped);
	if (st->unresolved)
		fprintf(f, ", %llu unresolved", (unsigned long long)st->unresolved);
	fputc('\n', f);
	fprintf(f, "  open      %llu runs created with no line yet%s\n",
		(unsigned long long)st->open_runs,
		!st->open_runs ? ""
		: st->holder   ? " (in flight)"
			       : " (the next invocation picks them up by id)");
	fprintf(f, "  spent     $%.3f charged (%llu lines report a cost)\n", st->cost,
		(unsigned long long)st->costed);
	fprintf(f, "  outputs   %llu of completed lines, %.1f MiB\n",
		(unsigned long long)st->outputs, st->output_bytes / 1048576.0);
	if (st->volumes)
		fprintf(
		    f,
		    "  archive   %u volumes, the latest %s; %llu completed lines not in one yet\n",
		    st->volumes, st->last_volume,
		    (unsigned long long)(st->completed > st->volume_lines
					     ? st->completed - st->volume_lines
					     : 0));
	else
		fprintf(f, "  archive   no volume yet\n");
}

static int as_json(FILE *f, const struct fb_folder_state *st)
{
	yajl_gen g = fb_json_gen_new();
	struct fb_buf out = FB_BUF_INIT;
	int rc = g ? 0 : -1;
#define U(k, v) (fb_json_gen_key(g, k) || fb_json_gen_u64(g, (uint64_t)(v)))
	if (!rc)
		rc = fb_json_gen_status(yajl_gen_map_open(g)) || fb_json_gen_key(g, "running") ||
		     fb_json_gen_status(yajl_gen_bool(g, st->holder != 0)) ||
		     U("pid", st->holder) || U("lines", st->lines) ||
		     U("completed", st->completed) || U("failed", st->failed) ||
		     U("invalid", st->invalid) || U("skipped", st->skipped) ||
		     U("unresolved", st->unresolved) || U("open_runs", st->open_runs) ||
		     fb_json_gen_key(g, "charged_cost") ||
		     fb_json_gen_double(g, round(st->cost * 1e6) / 1e6) ||
		     U("outputs", st->outputs) || U("output_bytes", st->output_bytes) ||
		     U("volumes", st->volumes) || U("volume_lines", st->volume_lines) ||
		     fb_json_gen_key(g, "latest_volume") ||
		     fb_json_gen_str(g, st->volumes ? st->last_volume : NULL) ||
		     fb_json_gen_status(yajl_gen_map_close(g)) || fb_json_gen_take(g, &out);
#undef U
	if (!rc)
		fprintf(f, "%s\n", out.ptr);
	fb_buf_release(&out);
	if (g)
		yajl_gen_free(g);
	return rc;
}

int fb_cmd_status(int argc, char **argv)
{
	const char *dir = NULL;
	int json = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (c == 'h') {
			fb_status_usage(stdout);
			return FB_EXIT_OK;
		} else if (c == 'j') {
			json = 1;
		} else {
			fb_args_getopt_error("florabatch status", argc, argv, optind, optopt);
			fputs("Try 'florabatch status --help'.\n", stderr);
			return FB_EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++)
		if (fb_outdir_arg("status", argv[i], &dir)) {
			fb_status_usage(stderr);
			return FB_EXIT_USAGE;
		}
	if (!dir)
		dir = FB_OUTDIR_DEFAULT;
	struct fb_folder_state st;
	struct fb_err err = {0};
	if (fb_folder_state_read(dir, &st, &err)) {
		fprintf(stderr, "florabatch status: %s\n", err.msg);
		return FB_EXIT_USAGE;
	}
	if (!st.has_record && !st.volumes)
		fprintf(stderr,
			"florabatch status: %s holds no results.jsonl: no batch has run "
			"there yet\n",
			dir);
	if (json ? as_json(stdout, &st) : (human(stdout, dir, &st), 0))
		return FB_EXIT_IO;
	return FB_EXIT_OK;
}
