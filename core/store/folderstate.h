/*
 * folderstate: what an output folder says about its batch, read without
 * taking its lock, so it answers for a folder a running invocation is
 * writing (a torn last line is read past): the items with a line and their
 * outcomes, the failures by error code, the money charged, the runs the
 * journal knows that have no line yet, when the last invocation started
 * and ended, the archive's volumes, and whether an invocation holds the
 * folder now.
 *
 * Memory: the files are read a line at a time; what grows with them is
 * held in spillsets (spillset.h: at most about 2.3 MiB each, the rest in
 * unlinked temporary files), and the failures in a fixed table of
 * FB_FOLDER_CODES codes.
 */
#ifndef FB_FOLDERSTATE_H
#define FB_FOLDERSTATE_H

#include "error.h"

#include <stdint.h>
#include <sys/types.h>

#define FB_FOLDER_CODES	      32  /* error codes told apart; the rest are counted together */
#define FB_FOLDER_CODE_MAX    64  /* bytes of a code kept */
#define FB_FOLDER_EXAMPLE_MAX 160 /* bytes of an example message kept */

/* Failed lines of one error.code. */
struct fb_folder_code {
	char code[FB_FOLDER_CODE_MAX + 4]; /* "(none)" for lines without one */
	uint64_t count;			   /* failed lines with it */
	char
	    example[FB_FOLDER_EXAMPLE_MAX + 4]; /* the latest one's error.message, cut with "..." */
};

struct fb_folder_state {
	int has_record; /* results.jsonl exists */
	uint64_t lines; /* whole lines of results.jsonl */
	uint64_t completed, failed, invalid, skipped, unresolved, other;
	uint64_t costed;		/* lines with a charged cost */
	double cost;			/* the sum of their charged_cost, USD */
	uint64_t outputs, output_bytes; /* of completed lines */
	/* Journal keys with a run record and no line that ends them (skipped and unresolved
	 * lines do not): runs in flight, or left by an invocation that stopped. */
	uint64_t in_flight;
	uint64_t open_runs; /* in_flight, and keys with only a create sent (its answer not on
			       record) and no line */
	/* failed lines by error.code, the most frequent first */
	struct fb_folder_code codes[FB_FOLDER_CODES];
	unsigned ncodes;
	uint64_t other_codes; /* failed lines whose code found no room in codes */
	/* The last invocation, from the journal's invocation records; started_at 0: none */
	uint64_t started_at; /* unix ms */
	long started_pid;
	uint64_t ended_at;     /* unix ms of the end after that start, 0 when none came */
	int exit_code;	       /* with ended_at */
	unsigned volumes;      /* finished archive volumes */
	uint64_t volume_lines; /* completed lines in them */
	uint64_t volume_bytes;
	char last_volume[256]; /* its file name, or "" */
	pid_t holder;	       /* the pid of the invocation that holds the folder, 0 when none */
};

/*
 * Reads the folder dir. 0, or FB_EIO (not a folder, or unreadable; a
 * temporary file for the key sets could not be written) / FB_ENOMEM with
 * err.
 */
int fb_folder_state_read(const char *dir, struct fb_folder_state *st, struct fb_err *err);

#endif
