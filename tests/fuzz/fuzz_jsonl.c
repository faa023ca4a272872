/* fuzz_jsonl: the JSON Lines manifest reader, line by line, through the manifest's stream entry. */
#define FB_FUZZ_MANIFEST
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_read_manifest(data, size, "fuzz.jsonl", FB_FORMAT_JSONL);
	return 0;
}
