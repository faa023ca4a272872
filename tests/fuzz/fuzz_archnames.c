/*
 * fuzz_archnames: the names an archive entry (and --outputs-dir) gets from
 * an item id and an output name, both outside input, and the extension an
 * output's content type or URL gives. Beyond not crashing, every name must
 * be safe to extract: relative, no "." or ".." component, no hidden name,
 * no control character, under 255 bytes, and never given out twice. The
 * input is up to eight NUL-separated fields: (dir, name) pairs, whose
 * first three also serve as content type, URL and output type.
 */
#include "buf.h"
#include "fbarchive.h"
#include "fuzz.h"

#include <strings.h>

#define NFIELDS 8

static void check_name(const char *s)
{
	size_t len = strlen(s);
	if (!len || len >= 255 || s[0] == '/')
		abort();
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\' || *c == ':')
			abort();
	/* Every component: non-empty, not hidden (so neither "." nor ".."). */
	for (const char *p = s;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (!n || p[0] == '.')
			abort();
		if (!slash)
			break;
		p = slash + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	if (!s)
		return 0;
	const char *f[NFIELDS];
	size_t nf = fuzz_fields(s, size, f, NFIELDS);

	char ext_buf[FB_ARCHIVE_EXT_MAX];
	const char *ext = fb_archive_ext_for(f[0], f[1], f[2], ext_buf);
	if (!ext || !*ext || strlen(ext) >= FB_ARCHIVE_EXT_MAX || strchr(ext, '/') ||
	    strchr(ext, '.'))
		abort();

	struct fb_buf one = FB_BUF_INIT;
	if (!fb_archive_safe_name(&one, f[0], 100)) {
		if (one.len > 100)
			abort();
		check_name(one.ptr);
	}
	fb_buf_release(&one);

	struct fb_archive_names *names = NULL;
	if (fb_archive_names_new(&names, NULL)) {
		free(s);
		return 0;
	}
	char *given[NFIELDS + 1] = {0};
	size_t ngiven = 0;
	/* Each pair, then the first pair again: a second reservation must get a name of its own. */
	for (size_t i = 0; i <= nf; i += 2) {
		const char *dir = i < nf ? f[i] : f[0];
		const char *name = i < nf ? f[i + 1] : f[1];
		if (!name)
			name = "output.png";
		struct fb_buf fin = FB_BUF_INIT;
		if (!fb_archive_names_reserve(names, dir, name, &fin)) {
			check_name(fin.ptr);
			for (size_t k = 0; k < ngiven; k++)
				if (!strcasecmp(given[k], fin.ptr))
					abort();
			if ((given[ngiven] = strdup(fin.ptr)) != NULL)
				ngiven++;
		}
		fb_buf_release(&fin);
	}
	for (size_t k = 0; k < ngiven; k++)
		free(given[k]);
	fb_archive_names_free(names);
	free(s);
	return 0;
}
