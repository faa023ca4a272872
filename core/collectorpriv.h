/*
 * collectorpriv: the collector's state, shared by collector.c (the record,
 * the spool, the lines) and volumebuild.c (the volumes made from the
 * spool). No other module includes it.
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

/* Sets err to "out of memory"; returns FB_ENOMEM. */
int fb_collector_oom(struct fb_err *err);
/*
 * --outputs-dir's files (loose.c). fb_loose_begin opens "<name>.tmp" in the
 * folder (made as needed) and returns its descriptor, path and tmp getting
 * the file's two names; fb_loose_write writes all of data; fb_loose_end
 * closes fd and, when ok, makes it durable and renames it into place (else
 * removes it). fb_loose_place_fd places the len bytes of the file src
 * (linked where it can be, else copied; src stays the caller's), and
 * fb_loose_place the bytes of data. 0 or a negative FB_E* with err.
 */
int fb_loose_begin(struct fb_collector *c, const char *name, struct fb_buf *path,
		   struct fb_buf *tmp, struct fb_err *err);
int fb_loose_write(int fd, const void *data, size_t len, const struct fb_buf *path,
		   struct fb_err *err);
int fb_loose_end(int fd, int ok, const struct fb_buf *path, const struct fb_buf *tmp,
		 struct fb_err *err);
int fb_loose_place_fd(struct fb_collector *c, const char *name, int src, uint64_t len,
		      struct fb_err *err);
int fb_loose_place(struct fb_collector *c, const char *name, const void *data, size_t len,
		   struct fb_err *err);
/* The next volume from the spool (volumebuild.c); nothing when no line is new. */
int fb_collector_build_volume(struct fb_collector *c, struct fb_err *err);

#endif
