/*
 * collectorpriv: the collector's state, owned by collector.c (the record,
 * the spool, the lines) and used by the files above it: volumebuild.c (the
 * volumes made from the spool) and collectoropen.c (open and close). No
 * other module includes it.
 */
#ifndef FB_COLLECTORPRIV_H
#define FB_COLLECTORPRIV_H

#include "buf.h"
#include "collector.h"
#include "hashset.h"

#include <stdint.h>

struct fb_archive_names;
struct fb_outstream;
struct fb_spool;
struct fb_volumes;

/* An output kept while its item is in flight: where its bytes are, until its line is written. */
struct pending {
	char *path;
	uint64_t off, len;
	char sha[65];
};

/* Record bytes gathered before the spool and the record are written out together. */
#define RECORD_BUF (64 * 1024)

struct fb_collector {
	char *record_path;
	int record_named; /* the user named it: a link there is theirs (safeopen.h) */
	char *spool_path; /* for messages */
	char *dir;	  /* the spool's folder: downloads wait there (fb_collector_part) */

	char *archive_path;
	char *outputs_dir;
	enum fb_archive_format format;
	struct fb_results *record;
	struct fb_outstream *stdout_copy; /* NULL unless asked */
	struct fb_spool *spool;
	struct fb_volumes *vol; /* NULL: no archive */
	uint64_t roll_pos;	/* the spool's first line record not in a volume, or before it */
	uint64_t unrolled;	/* bytes of outputs of completed lines not in a volume yet */
	uint64_t punched;	/* the spool's front given back (forget_archived) */
	int dirty;		/* written since the last sync */
	/*
	 * Keys ("k:") and ids ("i:") with a line in the record as it was
	 * opened: its size follows the earlier record; this invocation's
	 * lines are not added (each manifest row gets its own line).
	 */
	struct fb_hashset done;
	/* Archive names given out, by any invocation: spills to a file when large. */
	struct fb_archive_names *names;
	struct pending *pend; /* outputs of items in flight: a few per concurrent item */
	size_t npend, cappend;
	uint64_t completed;    /* completed lines in the record: the next line record's ordinal */
	uint64_t spool_lines;  /* line records the spool kept when opened */
	uint64_t missing;      /* outputs of earlier lines the spool lacks */
	struct fb_buf entries; /* scratch: one line record */
	struct fb_collector_stats stats;
	int64_t mtime_s;
	struct fb_clock *clock; /* NULL: volumes are stamped mtime_s */
};

/* Sets err to "out of memory"; returns FB_ENOMEM (collector.c). */
int fb_collector_oom(struct fb_err *err);
/* The next volume from the spool (volumebuild.c); nothing when no line is new. */
int fb_collector_build_volume(struct fb_collector *c, struct fb_err *err);

#endif
