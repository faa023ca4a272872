/* fuzz_api_error: the error envelope of a non-2xx answer (or a body that is not one). */
#include "api.h"
#include "fuzz.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first two bytes pick the status (so 4xx, 5xx and odd ones are all reached). */
	int status = 400;
	if (size >= 2) {
		status = 100 + (data[0] << 8 | data[1]) % 500;
		data += 2;
		size -= 2;
	}
	struct fb_err err = {0};
	fb_api_parse_error(status, (const char *)data, size, size % 2 ? "req_fuzz" : NULL, &err);
	/* msg is one line for humans: always terminated, never a raw control character. */
	if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL ||
	    memchr(err.api_code, '\0', sizeof(err.api_code)) == NULL)
		abort();
	return 0;
}
