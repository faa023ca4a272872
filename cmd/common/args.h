/*
 * args: parsing of option values (durations, counts, sizes, numbers) for
 * every program in cmd/, with messages a user can act on: "PROG: OPT:
 * invalid value ... (expected ...)".
 */
#ifndef FB_ARGS_H
#define FB_ARGS_H

#include <stdint.h>

/* "250ms", "2s", "1.5s", "3m", "1h", or a bare number of seconds. 0 or -1 (message printed). */
int fb_args_duration_ms(const char *prog, const char *opt, const char *s, uint64_t *out);
/* A whole number in [min, max]. */
int fb_args_uint(const char *prog, const char *opt, const char *s, uint64_t min, uint64_t max,
		 uint64_t *out);
/* A size: "512", "64k", "10M", "1G" (powers of 1024). */
int fb_args_size(const char *prog, const char *opt, const char *s, uint64_t *out);
/* A number in [min, max]. */
int fb_args_double(const char *prog, const char *opt, const char *s, double min, double max,
		   double *out);

/*
 * After getopt_long returned '?' (with opterr set to 0): says on stderr
 * what was wrong with the argument it stopped at (an unknown option, a
 * missing value, a value given to an option that takes none), naming prog.
 */
void fb_args_getopt_error(const char *prog, int argc, char **argv, int optind, int optopt);

#endif
