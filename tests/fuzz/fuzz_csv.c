/* fuzz_csv: the CSV manifest reader, header and records, through the manifest's stream entry. */
#define FB_FUZZ_MANIFEST
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_read_manifest(data, size, "fuzz.csv", FB_FORMAT_CSV);
	return 0;
}
