/*
 * mergescan: one output folder as `florabatch merge` reads it: its finished
 * archive volumes (volumes.jsonl), what made it (folderid.h), the
 * techniques its lines ran, and every line of results.jsonl checked and
 * added to the merge's index (mergeidx.h). A line that cannot be merged is
 * an error naming the file, the line and what is wrong: a last line cut
 * short, a line that is not a result line, a completed line whose volume
 * is not finished or not there. Nothing in the folder is written; its lock
 * is held shared while the merge reads it, so no invocation starts there
 * meanwhile (one working there already makes the open fail).
 */
#ifndef FB_MERGESCAN_H
#define FB_MERGESCAN_H

#include "buf.h"
#include "error.h"
#include "folderid.h"
#include "mergeidx.h"

#include <stdint.h>
#include <sys/types.h>

struct fb_mvol {
	unsigned number;     /* its line in volumes.jsonl, from 1 */
	char *name;	     /* its file name, in the folder */
	uint64_t from, to;   /* the completed lines it holds: ordinals [from, to) */
	int64_t finished_at; /* as volumes.jsonl says */
	uint32_t first_line; /* the first line of results.jsonl that names it; 0: none */
};

#define FB_MSCAN_TECHS 16 /* techniques of a folder's lines told apart */

struct fb_mfolder {
	char *dir;
	char *record; /* dir/results.jsonl */
	int fd;	      /* the record, for lines read back; -1 when closed */
	int lockfd;   /* dir/.lock, held shared; -1: the folder has none */
	dev_t dev;
	ino_t ino;
	uint16_t index; /* its place among the folders */
	uint64_t lines, completed;
	uint64_t archiveless; /* completed lines that name no volume (--archive none) */
	struct fb_mvol *vols;
	unsigned nvols;
	int format; /* enum fb_archive_format of its volumes, -1 when it has none */
	/* the distinct "kind:technique" of its completed and failed lines, as hashes and (cut)
	 * for a person */
	uint64_t techs[FB_MSCAN_TECHS];
	char tech_names[FB_MSCAN_TECHS][64];
	unsigned ntechs;
	struct fb_folder_id id;
};

/*
 * Opens the folder dir (index: its place): takes its lock shared, reads
 * volumes.jsonl and what made it, opens results.jsonl. Call
 * fb_mfolder_close in every case. 0; FB_ESTATE when an invocation holds
 * the folder; FB_EINVAL when it is not a folder or holds no
 * results.jsonl; FB_EPARSE for a bad volumes.jsonl; FB_EIO; with err.
 */
int fb_mfolder_open(struct fb_mfolder *f, const char *dir, uint16_t index, struct fb_err *err);

/*
 * Reads every line of the record into x, checking each (see above), and
 * that every volume its completed lines name is finished and present.
 * 0, or FB_EPARSE / FB_EIO / FB_ENOMEM with err.
 */
int fb_mfolder_scan(struct fb_mfolder *f, struct fb_mergeidx *x, struct fb_err *err);

/* The text of the line r (of this folder) into out, reset first. 0, or FB_EIO with err. */
int fb_mfolder_line(const struct fb_mfolder *f, const struct fb_mrec *r, struct fb_buf *out,
		    struct fb_err *err);

/* The finished volume that holds the completed line of ordinal ord, or NULL. */
const struct fb_mvol *fb_mfolder_volume_of(const struct fb_mfolder *f, uint64_t ord);

/* The path of volume v in the folder into out (len bytes). 0 or FB_ETOOBIG. */
int fb_mfolder_volume_path(const struct fb_mfolder *f, const struct fb_mvol *v, char *out,
			   size_t len);

/* Releases the lock and what f holds (f may have failed to open). */
void fb_mfolder_close(struct fb_mfolder *f);

#endif
