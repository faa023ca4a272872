/* florabatch: the command line's entry point: subcommand dispatch, --help, --version. */
#include "merge.h"
#include "pack.h"
#include "run.h"
#include "runhelp.h"
#include "status.h"
#include "techniques.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static void usage(FILE *f)
{
	fputs("Usage: florabatch run [OPTIONS] [INPUT]\n"
	      "       florabatch validate [OPTIONS] [INPUT]   (run --dry-run)\n"
	      "       florabatch status [--json] [DIR]\n"
	      "       florabatch techniques [OPTIONS] [TECHNIQUE]\n"
	      "       florabatch pack [--to FILE] [--archive-format F] [DIR]\n"
	      "       florabatch merge [OPTIONS] OUT DIR...\n"
	      "       florabatch --help | --version\n"
	      "\n"
	      "Runs thousands of FLORA technique runs from one manifest (CSV or JSONL, a file,\n"
	      "a folder of images or standard input), archives every output into a tarball\n"
	      "and writes one JSON result line per item.\n"
	      "\n"
	      "  run         a batch; 'florabatch run --help' lists the options and exit statuses\n"
	      "  validate    the batch previewed: rows checked, cost and time; nothing spent\n"
	      "  status      what an output folder holds: items, failures, runs in flight, the\n"
	      "              last invocation, money spent (even while a batch runs there)\n"
	      "  techniques  the API's techniques, or one technique's inputs, outputs and cost\n"
	      "  pack        a folder's archive volumes merged into one file\n"
	      "  merge       the output folders of several shards or machines joined into one\n"
	      "\n"
	      "'florabatch COMMAND --help' says more of each; the manual: man florabatch.\n",
	      f);
}

int main(int argc, char **argv)
{
	/* A closed results pipe must end in a clean write error, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	/* A file over the size limit must fail its write (EFBIG), like a full disk. */
	signal(SIGXFSZ, SIG_IGN);
	/* Each run in flight may hold a connection and a download's file: 1,000 in flight
	 * need more than the usual soft limit of 1,024 descriptors, which the hard one allows. */
	struct rlimit nofile;
	if (!getrlimit(RLIMIT_NOFILE, &nofile) && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	if (argc < 2) {
		usage(stderr);
		return FB_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		if (argc > 2 && (!strcmp(argv[2], "run") || !strcmp(argv[2], "validate")))
			fb_run_usage(stdout);
		else if (argc > 2 && !strcmp(argv[2], "status"))
			fb_status_usage(stdout);
		else if (argc > 2 && !strcmp(argv[2], "pack"))
			fb_pack_usage(stdout);
		else if (argc > 2 && !strcmp(argv[2], "merge"))
			fb_merge_usage(stdout);
		else if (argc > 2 && !strcmp(argv[2], "techniques"))
			fb_techniques_usage(stdout);
		else
			usage(stdout);
		return FB_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("florabatch %s\n", FB_VERSION);
		return FB_EXIT_OK;
	}
	if (!strcmp(argv[1], "run"))
		return fb_cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "validate"))
		return fb_cmd_run(argc - 1, argv + 1); /* run --dry-run */
	if (!strcmp(argv[1], "status"))
		return fb_cmd_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "pack"))
		return fb_cmd_pack(argc - 1, argv + 1);
	if (!strcmp(argv[1], "techniques"))
		return fb_cmd_techniques(argc - 1, argv + 1);
	if (!strcmp(argv[1], "merge"))
		return fb_cmd_merge(argc - 1, argv + 1);
	fprintf(stderr, "florabatch: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return FB_EXIT_USAGE;
}
