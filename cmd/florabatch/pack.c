/* pack: the command line of `florabatch pack`. */
#include "pack.h"
#include "outdir.h"
#include "run.h"

#include "fbarchive.h"
#include "volpack.h"

#include "args.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* Every option of `florabatch pack`: the help, the man page and the completions follow it. */
static const struct option long_opts[] = {
    {"to", required_argument, NULL, 't'},
    {"archive-format", required_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void fb_pack_usage(FILE *f)
{
	fputs("Usage: florabatch pack [--to FILE] [--archive-format F] [DIR]\n"
	      "\n"
	      "Merges the archive volumes of the output folder DIR (default florabatch-out:\n"
	      "outputs.tar.gz, outputs.0002.tar.gz, ... as volumes.jsonl names them) into one\n"
	      "archive, every output once, for a user who wants a single file. The volumes\n"
	      "stay as they are, so it is safe to run again, and beside a running stream\n"
	      "(a volume not yet finished is not read).\n"
	      "\n"
	      "  --to FILE               the packed archive (default DIR/outputs-all.tar.gz)\n"
	      "  --archive-format F      the volumes' format and the packed one's: tar.gz\n"
	      "                          (default), tar.zst or tar\n"
	      "  -h, --help              this text\n"
	      "\n"
	      "Exit status: 0 packed; 2 usage error, or no finished volume; 4 a volume\n"
	      "cannot be read whole, or the packed file cannot be written.\n",
	      f);
}

int fb_cmd_pack(int argc, char **argv)
{
	const char *dir = NULL, *to = NULL;
	enum fb_archive_format fmt = FB_ARCHIVE_TGZ;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (c == 'h') {
			fb_pack_usage(stdout);
			return FB_EXIT_OK;
		} else if (c == 't') {
			to = optarg;
		} else if (c == 'f') {
			if (fb_archive_format_parse(optarg, &fmt)) {
				fprintf(stderr,
					"florabatch pack: --archive-format: invalid value "
					"\"%s\" (expected tar.gz, tar.zst or tar)\n",
					optarg);
				return FB_EXIT_USAGE;
			}
		} else {
			fb_args_getopt_error("florabatch pack", argc, argv, optind, optopt);
			fputs("Try 'florabatch pack --help'.\n", stderr);
			return FB_EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++)
		if (fb_outdir_arg("pack", argv[i], &dir)) {
			fb_pack_usage(stderr);
			return FB_EXIT_USAGE;
		}
	if (!dir)
		dir = FB_OUTDIR_DEFAULT;
	const char *ext = fb_archive_format_ext(fmt);
	char first[4096], index[4096], out[4096];
	snprintf(first, sizeof(first), "%s/outputs%s", dir, ext);
	snprintf(index, sizeof(index), "%s/volumes.jsonl", dir);
	snprintf(out, sizeof(out), "%s/outputs-all%s", dir, ext);
	struct fb_volpack_stats st;
	struct fb_err err = {0};
	int rc = fb_volpack(first, index, to ? to : out, fmt, &st, &err);
	if (rc) {
		fprintf(stderr, "florabatch pack: %s\n", err.msg);
		return rc == FB_EINVAL ? FB_EXIT_USAGE : FB_EXIT_IO;
	}
	fprintf(stderr, "florabatch pack: %u volumes, %llu outputs, %.1f MiB into %s\n", st.volumes,
		(unsigned long long)st.entries, st.bytes / 1048576.0, to ? to : out);
	return FB_EXIT_OK;
}
