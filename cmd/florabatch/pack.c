/* pack: the command line of `florabatch pack`. */
#include "pack.h"
#include "outdir.h"
#include "run.h"

#include "fbarchive.h"
#include "volpack.h"

#include <stdio.h>
#include <string.h>

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
	      "\n"
	      "Exit status: 0 packed; 2 usage error, or no finished volume; 4 a volume\n"
	      "cannot be read whole, or the packed file cannot be written.\n",
	      f);
}

int fb_cmd_pack(int argc, char **argv)
{
	const char *dir = NULL, *to = NULL;
	enum fb_archive_format fmt = FB_ARCHIVE_TGZ;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fb_pack_usage(stdout);
			return FB_EXIT_OK;
		} else if (!strcmp(argv[i], "--to") && i + 1 < argc) {
			to = argv[++i];
		} else if (!strcmp(argv[i], "--archive-format") && i + 1 < argc) {
			if (fb_archive_format_parse(argv[++i], &fmt)) {
				fprintf(stderr,
					"florabatch pack: --archive-format: invalid value "
					"\"%s\" (expected tar.gz, tar.zst or tar)\n",
					argv[i]);
				return FB_EXIT_USAGE;
			}
		} else if (fb_outdir_arg("pack", argv[i], &dir)) {
			fb_pack_usage(stderr);
			return FB_EXIT_USAGE;
		}
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
