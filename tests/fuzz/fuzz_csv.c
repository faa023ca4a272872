/* fuzz_csv: the CSV manifest reader, header and records, through the manifest's stream entry. */
#include "fuzz.h"
#include "manifest.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fuzz_file(data, size);
	struct fb_manifest *m = NULL;
	struct fb_err err = {0};
	if (fb_manifest_open_stream(&m, f, "fuzz.csv", 1, FB_FORMAT_CSV, &err))
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
