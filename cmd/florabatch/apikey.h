/*
 * apikey: where the API key comes from: a key file (--api-key-file) or the
 * FLORA_API_KEY environment variable, never the command line, where every
 * user of the machine could read it in the process list.
 */
#ifndef FB_APIKEY_H
#define FB_APIKEY_H

#include <stddef.h>

/*
 * Reads the key into out (NUL-terminated, surrounding white space removed).
 * A key file readable by every user is refused. 0, or -1 after a message
 * on stderr that never shows the key.
 */
int fb_apikey_load(const char *file, char *out, size_t outlen);

#endif
