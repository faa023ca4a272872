/* fuzz_manifest: format detection (binary, UTF-16, CSV or JSONL) and then that reader, through the
 * manifest's stream entry. */
#define FB_FUZZ_MANIFEST
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_read_manifest(data, size, "fuzz", FB_FORMAT_AUTO);
	return 0;
}
