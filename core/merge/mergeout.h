/*
 * mergeout: the merged folder's files, written where no reader sees them
 * half done and put in place so that a crash at any instant leaves a
 * folder the next merge finishes: everything is written into OUT/.merge.tmp
 * and made durable; then merge.json says "writing", the files are renamed
 * over the earlier merge's, volumes that earlier merge had beyond the new
 * count are removed, and merge.json says "complete". merge.json is also
 * what lets a merge replace a folder's files: OUT must be new or empty of
 * a batch's files, or a folder an earlier merge made that no invocation has
 * worked in since.
 */
#ifndef FB_MERGEOUT_H
#define FB_MERGEOUT_H

#include "error.h"
#include "fbarchive.h"

#include <stddef.h>

/*
 * Whether a merge may write into out: 0, or FB_EINVAL with err saying why
 * not (out holds a batch's record, volumes, journal or spool, and no
 * merge.json; or a journal beside a merge.json: a run has worked there).
 */
int fb_mergeout_check(const char *out, struct fb_err *err);

/*
 * A fresh, empty OUT/.merge.tmp (what a crashed merge left there goes
 * first); its path into *stage (caller frees). 0, or FB_EIO / FB_ENOMEM.
 */
int fb_mergeout_stage(const char *out, char **stage, struct fb_err *err);

/* The staged name of a file: stage/name, into a new string (NULL: out of memory). */
char *fb_mergeout_path(const char *dir, const char *name);

/*
 * Puts the staged files in place: volumes 1..volumes of format f
 * (volumes.jsonl with them; none: OUT keeps no volume), results.jsonl and
 * duplicates.jsonl; merge.json says writing (json_writing) first and
 * complete (json_done) last. Removes the stage. 0, or FB_EIO with err.
 */
int fb_mergeout_commit(const char *out, const char *stage, unsigned volumes,
		       enum fb_archive_format f, const char *json_writing, const char *json_done,
		       struct fb_err *err);

/* Removes the stage and what it holds (after a failure). */
void fb_mergeout_abandon(const char *stage);

#endif
