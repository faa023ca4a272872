/*
 * folderstate: what an output folder says about its batch, read without
 * taking its lock, so it answers for a folder a running invocation is
 * writing (a torn last line is read past): the items with a line and their
 * outcomes, the money charged, the runs the journal knows that have no
 * line yet, the archive's volumes, and whether an invocation holds the
 * folder now.
 */
#ifndef FB_FOLDERSTATE_H
#define FB_FOLDERSTATE_H

#include "error.h"

#include <stdint.h>
#include <sys/types.h>

struct fb_folder_state {
	int has_record; /* results.jsonl exists */
	uint64_t lines; /* whole lines of results.jsonl */
	uint64_t completed, failed, invalid, skipped, unresolved, other;
	uint64_t costed; /* lines with a charged cost */
	double cost;
	uint64_t outputs, output_bytes; /* of completed lines */
	uint64_t open_runs; /* keys the journal made a run (or sent a create) for, with no line */
	unsigned volumes;   /* finished archive volumes */
	uint64_t volume_lines; /* completed lines in them */
	uint64_t volume_bytes;
	char last_volume[256]; /* its file name, or "" */
	pid_t holder;	       /* the pid of the invocation that holds the folder, 0 when none */
};

/* Reads the folder dir. 0, or FB_EIO (not a folder, or unreadable) / FB_ENOMEM with err. */
int fb_folder_state_read(const char *dir, struct fb_folder_state *st, struct fb_err *err);

#endif
