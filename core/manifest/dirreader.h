/*
 * dirreader: a folder as a manifest (the reader slot of reader.h): one
 * item per image file under it, its id the path relative to the folder (so
 * results and archive entries mirror the folder), its one input the file
 * itself (local: uploaded before the run), its key the file's content.
 * Files are hashed in chunks, in parallel across the machine's cores
 * (hashfiles.h), as items are handed out; a file the stat cache knows
 * unchanged is neither sniffed nor hashed.
 */
#ifndef FB_DIRREADER_H
#define FB_DIRREADER_H

#include "dirwalk.h"
#include "reader.h"

struct fb_statcache;

struct fb_dir_options {
	const char *input_id; /* the technique input the files go to; NULL: "input_image" */
	const char *glob;     /* NULL: every image */
	int include_hidden;
	/* NULL, or the hashes remembered (statcache.h): borrowed while the reader lives */
	struct fb_statcache *cache;
};

extern const struct fb_reader_ops fb_dir_reader;

/*
 * Walks dir (listing every image first: memory grows with the number of
 * files, about their paths' length each) and prepares the reader's state.
 * stats gets the walk's counts. Caller frees state with fb_dir_reader.free.
 */
int fb_dirreader_open(void **state, const char *dir, const struct fb_dir_options *opts,
		      struct fb_dirwalk_stats *stats, struct fb_err *err);

#endif
