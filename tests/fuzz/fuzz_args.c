/*
 * fuzz_args: option values as a user types them: durations, sizes, whole
 * numbers and numbers (cmd/common/args.c). Beyond not crashing, a value
 * that is accepted must mean what it says: no sign slips through a size or
 * a count, and a duration stays within its bound.
 */
#include "args.h"
#include "fuzz.h"

#include <stdio.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* The parsers explain a bad value on stderr; the sanitizers write to fd 2 directly. */
	FILE *null = fopen("/dev/null", "w");
	if (null)
		stderr = null;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	if (!s)
		return 0;
	int has_minus = strchr(s, '-') != NULL;
	uint64_t v;
	if (!fb_args_duration_ms("fuzz", "--poll", s, &v) && v > 1000000000000000ull)
		abort();
	if (!fb_args_size("fuzz", "--max-bytes", s, &v) && (has_minus || v == 0))
		abort();
	if (!fb_args_uint("fuzz", "--jobs", s, 1, UINT64_MAX, &v) && (has_minus || v == 0))
		abort();
	double d;
	if (!fb_args_double("fuzz", "--rate", s, 0.0, 1e6, &d) && !(d >= 0.0 && d <= 1e6))
		abort();
	free(s);
	return 0;
}
