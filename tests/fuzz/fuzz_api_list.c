/* fuzz_api_list: a page of a list endpoint, for each kind of job, read by fb_api_parse_list. */
#include "api.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum fb_job_kind kinds[] = {FB_JOB_TECHNIQUE, FB_JOB_TECHNIQUE_ID,
						 FB_JOB_GENERATION};
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct fb_run_info *runs = NULL;
		size_t n = 0;
		char *cursor = NULL;
		struct fb_err err = {0};
		fb_api_parse_list((const char *)data, size, kinds[k], &runs, &n, &cursor, &err);
		fb_run_list_free(runs, n);
		free(cursor);
	}
	return 0;
}
