/* fuzz_api_run: a RunCreated or RunStatus answer (create and poll), read by fb_api_parse_run. */
#include "api.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fb_run_info ri = {0};
	struct fb_err err = {0};
	fb_api_parse_run((const char *)data, size, &ri, &err);
	fb_run_info_release(&ri);
	return 0;
}
