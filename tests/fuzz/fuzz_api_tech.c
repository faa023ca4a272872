/* fuzz_api_tech: a technique (GET /techniques/{id}) and a page of the catalog (GET /techniques). */
#include "api.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct fb_err err = {0};
	struct fb_technique t = {0};
	fb_api_parse_technique(body, size, &t, &err);
	fb_technique_release(&t);

	struct fb_technique *list = NULL;
	size_t n = 0;
	char *cursor = NULL;
	fb_api_parse_techniques(body, size, &list, &n, &cursor, &err);
	fb_technique_list_free(list, n);
	free(cursor);

	/* The transports' entry, which keeps what the reply points to. */
	for (int one = 0; one < 2; one++) {
		struct fb_catalog_reply r = {0};
		struct fb_api_catalog keep = {0};
		fb_api_catalog_parse(body, size, one, &r, &keep);
		fb_api_catalog_release(&r, &keep);
	}
	return 0;
}
