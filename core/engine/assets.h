/*
 * assets: the uploads of one batch, by content (sha256): which files are
 * uploaded (asset id and url), which are being uploaded now, so identical
 * files are uploaded once. Uploads of earlier invocations come from the
 * journal, so a re-run uses them instead of uploading again.
 */
#ifndef FB_ASSETS_H
#define FB_ASSETS_H

#include "error.h"
#include "journal.h"

enum fb_asset_state {
	FB_ASSET_NONE = 0, /* not uploaded: the asker is now the one uploading it */
	FB_ASSET_BUSY,	   /* another item is uploading it now */
	FB_ASSET_READY,	   /* uploaded: *asset_id and *url are set */
};

struct fb_assets;

/* journal (borrowed, may be NULL) is read for earlier uploads and written for new ones. */
struct fb_assets *fb_assets_new(struct fb_journal *journal);
void fb_assets_free(struct fb_assets *a);

/*
 * The state of the file whose content is sha256 (64 hex digits); asset_id
 * and url are borrowed until fb_assets_free. NONE marks it busy: the caller
 * must end with fb_assets_done.
 */
enum fb_asset_state fb_assets_get(struct fb_assets *a, const char *sha256, const char **asset_id,
				  const char **url);

/* The upload of sha256 ended: with its asset (remembered, journaled) or without (NULL: free again).
 */
int fb_assets_done(struct fb_assets *a, const char *sha256, const char *asset_id, const char *url,
		   struct fb_err *err);

/* Uploads made by this invocation. */
unsigned long fb_assets_uploaded(const struct fb_assets *a);

#endif
