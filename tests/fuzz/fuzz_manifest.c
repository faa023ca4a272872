/* fuzz_manifest: format detection (binary, UTF-16, CSV or JSONL) and then that reader, through the
 * manifest's stream entry. */
#include "fuzz.h"
#include "manifest.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* fmemopen cannot open an empty buffer everywhere; an empty manifest is tested elsewhere.
	 */
	if (!size)
		return 0;
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	struct fb_manifest *m = NULL;
	struct fb_err err = {0};
	if (fb_manifest_open_stream(&m, f, "fuzz", 1, FB_FORMAT_AUTO, &err))
		return 0;
	for (;;) {
		struct fb_item it = {0};
		int rc = fb_manifest_next(m, &it, &err);
		fb_item_release(&it);
		if (rc <= 0)
			break;
	}
	fb_manifest_free(m);
	return 0;
}
