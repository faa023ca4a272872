/* fuzz_api_asset: an asset answer (reserve, complete, GET), then the upload body built from it. */
#include "apiasset.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_api_asset a = {0};
	struct fb_err err = {0};
	if (!fb_api_parse_asset((const char *)data, size, &a, &err)) {
		/* The answer's names and values go into the multipart body: they must not break it.
		 */
		struct fb_buf out = FB_BUF_INIT;
		char *ctype = NULL;
		fb_api_multipart_body(&a, "in.png", "image/png", "PNG", 3, "fuzzboundary", &out,
				      &ctype, &err);
		fb_buf_release(&out);
		free(ctype);
	}
	fb_api_asset_release(&a);
	return 0;
}
