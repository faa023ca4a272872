/*
 * spoollegacy: line records for a spool an earlier version wrote (outputs
 * only, no line records; see spool.h), made once from the record
 * (results.jsonl), so a batch begun by that version goes on and its archive
 * keeps every output. Its memory follows the earlier batch (24 bytes an
 * output), for this step only.
 */
#ifndef FB_SPOOLLEGACY_H
#define FB_SPOOLLEGACY_H

#include "error.h"
#include "spool.h"

#include <stdint.h>

/*
 * Appends, for every completed line of the record at record_path after the
 * first from (those have line records already), a line record naming its
 * outputs where the spool holds them; an output the spool lacks is left out
 * and counted in *missing. 0, or FB_EIO/FB_ENOMEM with err.
 */
int fb_spool_legacy_lines(struct fb_spool *s, const char *record_path, uint64_t from,
			  uint64_t *missing, struct fb_err *err);

#endif
