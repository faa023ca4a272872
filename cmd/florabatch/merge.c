/* merge: the command line of `florabatch merge`: options, OUT's lock, the summary, the exit. */
#include "merge.h"
#include "outdir.h"
#include "run.h"

#include "fbarchive.h"
#include "log.h"
#include "merger.h"

#include "args.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every option of `florabatch merge`: the help, the man page and the completions follow it. */
static const struct option long_opts[] = {
    {"allow-mixed", no_argument, NULL, 'm'},
    {"archive-format", required_argument, NULL, 'f'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void fb_merge_usage(FILE *f)
{
	fputs("Usage: florabatch merge [OPTIONS] OUT DIR...\n"
	      "\n"
	      "Joins the output folders DIR... (the shards of one manifest, or one batch run\n"
	      "on several machines) into the folder OUT: one results.jsonl with one line per\n"
	      "item id, and the archive volumes with every kept output exactly once. An item\n"
	      "found in more than one folder keeps its latest terminal line (completed,\n"
	      "failed or invalid over skipped or unresolved, then the latest finished_at,\n"
	      "then the folder named later); every such item is listed in\n"
	      "OUT/duplicates.jsonl, and one whose lines disagree (other outcomes, other\n"
	      "outputs, other work) is also told on standard error. A volume whose outputs\n"
	      "are all kept is copied whole, without being compressed again; from others\n"
	      "only the kept outputs are written. Every output is checked against its\n"
	      "line's size and sha256 on the way.\n"
	      "\n"
	      "Folders of different batches (another technique or namespace on record, or\n"
	      "lines that share no technique, or one id with other keys) are refused, as\n"
	      "are bad lines and missing volumes: then OUT is left as it was. OUT must be a\n"
	      "new folder or one an earlier merge made (merge.json); merging into it again\n"
	      "gives the same folder, and a merge killed midway is finished by the next.\n"
	      "A folder an invocation is working in is refused until it ends.\n"
	      "\n"
	      "  --allow-mixed           merge folders of different batches all the same\n"
	      "                          (still one line per item id: the latest)\n"
	      "  --archive-format F      the format of OUT's volumes: tar.gz, tar.zst or tar\n"
	      "                          (default: that of the first folder with volumes);\n"
	      "                          volumes in another format are written again\n"
	      "  --quiet                 only errors: no warnings, no summary\n"
	      "  -h, --help              this text\n"
	      "\n"
	      "Exit status: 0 merged; 1 merged, and some item's lines disagreed (the latest\n"
	      "kept, each told); 2 usage error, or a folder refused (nothing written); 4 a\n"
	      "file could not be read or written; 75 another florabatch works in OUT or a\n"
	      "DIR.\n",
	      f);
}

/* OUT named among the DIRs (the same folder, however named): refused before OUT is touched. */
static int out_is_a_dir(const char *out, char **dirs, int n)
{
	struct stat o, d;
	if (stat(out, &o) != 0)
		return 0;
	for (int i = 0; i < n; i++)
		if (stat(dirs[i], &d) == 0 && d.st_dev == o.st_dev && d.st_ino == o.st_ino) {
			fprintf(stderr,
				"florabatch merge: %s is one of the folders to merge: merge into a "
				"new folder\n",
				out);
			return 1;
		}
	return 0;
}

/* A merge that failed leaves no OUT it created (the lock file is all that is in it). */
static void unmake(const char *out)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/.lock", out);
	unlink(path);
	rmdir(out);
}

static void summary(const char *out, size_t ndirs, const struct fb_merge_stats *st)
{
	fprintf(stderr,
		"florabatch merge: %zu folders, %llu lines: %llu items into %s; %u volumes (%u "
		"copied whole, %u written again), %llu outputs, %.1f MiB\n",
		ndirs, (unsigned long long)st->lines_in, (unsigned long long)st->lines, out,
		st->volumes, st->copied, st->volumes - st->copied, (unsigned long long)st->outputs,
		st->output_bytes / 1048576.0);
	if (st->repeated)
		fprintf(stderr,
			"florabatch merge: %llu items had more than one line, %llu of them "
			"disagreeing; the latest kept, each listed in %s/duplicates.jsonl\n",
			(unsigned long long)st->repeated, (unsigned long long)st->conflicts, out);
}

int fb_cmd_merge(int argc, char **argv)
{
	struct fb_merge_config cfg = {.format = -1, .max_notes = 20};
	enum fb_archive_format fmt;
	int c, quiet = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (c == 'h') {
			fb_merge_usage(stdout);
			return FB_EXIT_OK;
		} else if (c == 'm') {
			cfg.allow_mixed = 1;
		} else if (c == 'q') {
			quiet = 1;
		} else if (c == 'f') {
			if (fb_archive_format_parse(optarg, &fmt)) {
				fprintf(stderr,
					"florabatch merge: --archive-format: invalid value "
					"\"%s\" (expected tar.gz, tar.zst or tar)\n",
					optarg);
				return FB_EXIT_USAGE;
			}
			cfg.format = (int)fmt;
		} else {
			fb_args_getopt_error("florabatch merge", argc, argv, optind, optopt);
			fputs("Try 'florabatch merge --help'.\n", stderr);
			return FB_EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr,
				"florabatch merge: unknown option or missing value \"%s\"\n",
				argv[i]);
			return FB_EXIT_USAGE;
		}
	if (argc - optind < 2) {
		fputs("florabatch merge: name the folder to write (OUT) and at least one folder "
		      "to merge (DIR)\n",
		      stderr);
		fb_merge_usage(stderr);
		return FB_EXIT_USAGE;
	}
	if (argc - optind - 1 > 65535) {
		fputs("florabatch merge: at most 65535 folders at once\n", stderr);
		return FB_EXIT_USAGE;
	}
	cfg.out = argv[optind];
	cfg.dirs = (const char *const *)(argv + optind + 1);
	cfg.ndirs = (size_t)(argc - optind - 1);
	if (out_is_a_dir(cfg.out, argv + optind + 1, (int)cfg.ndirs))
		return FB_EXIT_USAGE;
	/* OUT made here, so that what goes wrong is said of OUT; then locked as run's folder is. */
	struct stat st_out;
	int created = stat(cfg.out, &st_out) != 0;
	if (created && mkdir(cfg.out, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "florabatch merge: %s: cannot create the folder: %s\n", cfg.out,
			strerror(errno));
		return FB_EXIT_IO;
	}
	if (!created && !S_ISDIR(st_out.st_mode)) {
		fprintf(stderr, "florabatch merge: %s exists and is not a folder\n", cfg.out);
		return FB_EXIT_USAGE;
	}
	int lock = fb_outdir_lock(cfg.out);
	if (lock < 0) {
		if (created)
			rmdir(cfg.out);
		return lock == -FB_EXIT_LOCKED ? FB_EXIT_LOCKED : FB_EXIT_IO;
	}
	cfg.log = fb_log_new(stderr, quiet ? FB_LOG_ERROR : FB_LOG_WARN, 0);
	struct fb_merge_stats st;
	struct fb_err err = {0};
	int rc = cfg.log ? fb_merge_run(&cfg, &st, &err) : FB_ENOMEM;
	int code = FB_EXIT_OK;
	if (rc) {
		fprintf(stderr, "florabatch merge: %s\n",
			rc == FB_ENOMEM && !cfg.log ? "out of memory" : err.msg);
		code = rc == FB_EINVAL || rc == FB_EPARSE ? FB_EXIT_USAGE
		       : rc == FB_ESTATE		  ? FB_EXIT_LOCKED
							  : FB_EXIT_IO;
		if (created)
			unmake(cfg.out);
	} else {
		if (!quiet)
			summary(cfg.out, cfg.ndirs, &st);
		code = st.conflicts ? FB_EXIT_PARTIAL : FB_EXIT_OK;
	}
	fb_log_free(cfg.log);
	close(lock);
	return code;
}
