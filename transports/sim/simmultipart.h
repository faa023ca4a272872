/*
 * simmultipart: a multipart/form-data reader (RFC 7578) for the simulated
 * asset uploads: the boundary comes from the Content-Type header, each
 * part's name, filename and content type from its headers. Part data is
 * not copied: it points into the body.
 */
#ifndef FB_SIMMULTIPART_H
#define FB_SIMMULTIPART_H

#include <stddef.h>

/* More parts than this, or a part with more header bytes, is refused. */
#define FB_SIMMP_MAX_PARTS  64
#define FB_SIMMP_MAX_HEADER 4096

struct fb_simmp_part {
	char *name;	    /* the form field's name; owned */
	char *filename;	    /* owned, or NULL when the part is not a file */
	char *content_type; /* owned, or NULL when the part has none */
	const char *data;   /* borrowed from the body */
	size_t len;
};

struct fb_simmp {
	struct fb_simmp_part *parts;
	size_t n;
};
#define FB_SIMMP_INIT                                                                              \
	{                                                                                          \
		NULL, 0                                                                            \
	}

/*
 * Whether content_type is multipart/form-data (parameters allowed, case
 * ignored).
 */
int fb_simmp_is_form(const char *content_type);

/*
 * Parses body (len bytes, borrowed: the parts point into it) as
 * multipart/form-data with the boundary given in content_type. Returns 0,
 * FB_EPARSE with *why set to a static sentence, or FB_ENOMEM. out must be
 * FB_SIMMP_INIT; release it with fb_simmp_release in every case.
 */
int fb_simmp_parse(const char *content_type, const char *body, size_t len, struct fb_simmp *out,
		   const char **why);
/* The first part named name, or NULL. */
const struct fb_simmp_part *fb_simmp_get(const struct fb_simmp *mp, const char *name);
void fb_simmp_release(struct fb_simmp *mp);

#endif
