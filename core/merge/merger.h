/*
 * merger: `florabatch merge OUT DIR...`, the output folders of several
 * shards or machines joined into one folder like any other (status, pack
 * and run read it): one results.jsonl with one line per item id, and the
 * archive volumes with every kept output exactly once.
 *
 * In four passes over the folders, with memory bounded by the lines'
 * fixed records (mergeidx.h, 56 bytes a line) and one volume's expected
 * entries (mergevol.h): each folder's record is read and checked
 * (mergescan.h); the line each item keeps is chosen (mergeidx.h), every
 * item with more than one line reported, in duplicates.jsonl and, when
 * its lines disagree, on standard error; each folder's volumes go to OUT
 * in order, copied whole when every output in them is kept, else with
 * only the kept outputs (mergevol.h); then each folder's kept lines, their
 * "volume" set to OUT's volume, in the same order, so OUT's volumes hold
 * runs of consecutive completed lines as a batch's do. Everything is
 * staged and then put in place (mergeout.h): a merge run again gives the
 * same folder, and one killed midway is finished by the next.
 *
 * Folders made by different batches (kind, technique, namespace on record,
 * lines that share no technique, or one id given different keys) are
 * refused unless allow_mixed; so are folders with an archive beside
 * folders without one, and outputs of two ids that would share one name.
 */
#ifndef FB_MERGER_H
#define FB_MERGER_H

#include "buf.h"
#include "error.h"
#include "log.h"

#include <stddef.h>
#include <stdint.h>

struct fb_merge_config {
	const char *out;	 /* the merged folder, created and locked by the caller */
	const char *const *dirs; /* the folders, in order (a later one wins a tie) */
	size_t ndirs;
	int allow_mixed;
	int format;	    /* enum fb_archive_format of OUT's volumes; -1: the first folder's */
	struct fb_log *log; /* conflicts and warnings */
	unsigned max_notes; /* items whose lines disagree told on the log, at most */
};

struct fb_merge_stats {
	uint64_t lines_in, lines;	 /* lines read; lines written */
	uint64_t repeated, conflicts;	 /* items with more than one line; of them, disagreeing */
	unsigned volumes, copied;	 /* OUT's volumes; of them copied whole */
	uint64_t outputs, output_bytes;	 /* in OUT's volumes */
	uint64_t completed, archiveless; /* completed lines; of them with no volume */
};

/*
 * 0, or with err: FB_EINVAL (a folder refused: not a folder, no record,
 * OUT among them or not writable by a merge, mixed batches); FB_EPARSE (a
 * folder's files are not what they should be: a line, a volume);
 * FB_ESTATE (an invocation works in a folder); FB_EIO / FB_ENOMEM. OUT's
 * files are as they were after any error.
 */
int fb_merge_run(const struct fb_merge_config *cfg, struct fb_merge_stats *st, struct fb_err *err);

#endif
