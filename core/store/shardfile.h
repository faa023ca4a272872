/*
 * shardfile: the shard an output folder holds, in DIR/shard.json, so that a
 * re-run with another --shard is refused (it would mix two shards' items in
 * one folder) and a tool that reads several folders (merge, status) can
 * tell which shard each one is. A run with --shard writes it once, before
 * the journal's first record; a folder without it holds a batch run
 * without --shard (or none yet). --fresh removes it with the batch's files.
 *
 * The file: one JSON object and a newline,
 *   {"shard":"2/4","index":2,"count":4,"rule":"sha256-u64be-mod"}
 * rule names shard.h's rule, so a reader can tell if it ever changes.
 */
#ifndef FB_SHARDFILE_H
#define FB_SHARDFILE_H

#include "error.h"
#include "shard.h"

#define FB_SHARDFILE_NAME "shard.json"
#define FB_SHARDFILE_RULE "sha256-u64be-mod"

/*
 * The shard dir holds into *out: count 0 when dir has no shard.json (or dir
 * is missing). 0, FB_EIO (unreadable, a symbolic link) or FB_EPARSE (not a
 * shard record, or another rule), with err naming the file.
 */
int fb_shardfile_read(const char *dir, struct fb_shard *out, struct fb_err *err);

/*
 * Writes dir/shard.json for sh (count >= 1): to a temporary name, made
 * durable, renamed, never through a symbolic link. 0, or FB_EIO with err.
 */
int fb_shardfile_write(const char *dir, const struct fb_shard *sh, struct fb_err *err);

/*
 * Whether an invocation taking want (count 0: every item) may use dir, whose
 * record of result lines is record (NULL: dir/results.jsonl). Refused with
 * FB_EINVAL and a message saying what to do when dir holds another shard,
 * or holds lines or journal records of a batch run without --shard and
 * want is a shard of N > 1 (1/1 and no shard take the same items). *have
 * gets the shard dir records (count 0: none). 0, or the codes of read.
 */
int fb_shardfile_check(const char *dir, const char *record, const struct fb_shard *want,
		       struct fb_shard *have, struct fb_err *err);

#endif
