/*
 * folderid: what an output folder says made it, for `florabatch merge`,
 * which must not join the folders of two different batches by mistake:
 * the kind, technique and namespace its invocations ran with (the start
 * records of journal.jsonl, journal.h), or those a merge recorded in the
 * merge.json of a folder it wrote; and the shard (--shard K/N) its
 * shard.json records, when one does. Read without writing or locking anything.
 */
#ifndef FB_FOLDERID_H
#define FB_FOLDERID_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#define FB_FOLDER_ID_MAX 1024 /* bytes of a technique or namespace kept */

struct fb_folder_id {
	int known; /* a record says what the batch runs (folders of earlier versions: 0) */
	int mixed; /* its records disagree: different batches ran in it */
	char kind[16];
	char technique[FB_FOLDER_ID_MAX + 4]; /* "" when none was given */
	char ns[FB_FOLDER_ID_MAX + 4];	      /* "" when none was given */
	uint64_t technique_h, ns_h;	      /* hashes of the whole values (0: none) */
	unsigned shard_k, shard_n;	      /* the shard on record, 0/0 when none */
};

/* Reads dir's record of itself into id. 0, or FB_EIO / FB_ENOMEM with err. */
int fb_folder_id_read(const char *dir, struct fb_folder_id *id, struct fb_err *err);

/*
 * Whether a and b (both known) ran the same batch: 0, or the first member
 * that differs ("kind", "technique", "namespace"), static.
 */
const char *fb_folder_id_differs(const struct fb_folder_id *a, const struct fb_folder_id *b);

/* id's batch for a person, "technique cctv-cam, namespace v2", into out (len bytes). */
void fb_folder_id_describe(const struct fb_folder_id *id, char *out, size_t len);

#endif
