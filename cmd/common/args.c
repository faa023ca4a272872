/* args: option value parsing shared by the programs in cmd/. */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* strtoull skips leading blanks and then takes a sign: the sign check must skip them too. */
static const char *after_blanks(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

static int bad(const char *prog, const char *opt, const char *s, const char *expected)
{
	fprintf(stderr, "%s: %s: invalid value \"%s\" (expected %s)\n", prog, opt, s, expected);
	return -1;
}

int fb_args_duration_ms(const char *prog, const char *opt, const char *s, uint64_t *out)
{
	const char *expected = "a duration such as 500ms, 2s, 1.5m, 1h, 1d or a number of seconds";
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || v < 0 || !isfinite(v))
		return bad(prog, opt, s, expected);
	double mult = 1000;
	if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "s") || !*end)
		mult = 1000;
	else if (!strcmp(end, "m"))
		mult = 60000;
	else if (!strcmp(end, "h"))
		mult = 3600000;
	else if (!strcmp(end, "d"))
		mult = 86400000;
	else
		return bad(prog, opt, s, expected);
	if (v * mult > 1e15)
		return bad(prog, opt, s, expected);
	*out = (uint64_t)llround(v * mult);
	return 0;
}

int fb_args_uint(const char *prog, const char *opt, const char *s, uint64_t min, uint64_t max,
		 uint64_t *out)
{
	char *end;
	char expected[96];
	snprintf(expected, sizeof(expected), "a whole number from %llu to %llu",
		 (unsigned long long)min, (unsigned long long)max);
	errno = 0;
	if (*after_blanks(s) == '-' || *after_blanks(s) == '+')
		return bad(prog, opt, s, expected);
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || *end || errno || v < min || v > max)
		return bad(prog, opt, s, expected);
	*out = v;
	return 0;
}

int fb_args_size(const char *prog, const char *opt, const char *s, uint64_t *out)
{
	const char *expected = "a size such as 1048576, 64k, 10M or 1G";
	char *end;
	errno = 0;
	if (*after_blanks(s) == '-')
		return bad(prog, opt, s, expected);
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno)
		return bad(prog, opt, s, expected);
	int shift = 0;
	if (!*end)
		shift = 0;
	else if (!strcmp(end, "k") || !strcmp(end, "K"))
		shift = 10;
	else if (!strcmp(end, "M"))
		shift = 20;
	else if (!strcmp(end, "G"))
		shift = 30;
	else if (!strcmp(end, "T"))
		shift = 40;
	else
		return bad(prog, opt, s, expected);
	if (v > (UINT64_MAX >> shift) || v == 0)
		return bad(prog, opt, s, expected);
	*out = (uint64_t)v << shift;
	return 0;
}

int fb_args_double(const char *prog, const char *opt, const char *s, double min, double max,
		   double *out)
{
	char *end;
	char expected[96];
	snprintf(expected, sizeof(expected), "a number from %g to %g", min, max);
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno || !(v >= min && v <= max))
		return bad(prog, opt, s, expected);
	*out = v;
	return 0;
}

void fb_args_getopt_error(const char *prog, int argc, char **argv, int optind, int optopt)
{
	const char *a = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	/* getopt_long sets optopt to a long option's value when it knows the option. */
	const char *eq = strchr(a, '=');
	if (optopt && !strncmp(a, "--", 2) && eq)
		fprintf(stderr, "%s: %.*s takes no value\n", prog, (int)(eq - a), a);
	else if (optopt && !strncmp(a, "--", 2))
		fprintf(stderr, "%s: %s needs a value\n", prog, a);
	else
		fprintf(stderr, "%s: unknown option \"%s\"\n", prog, a);
}
