/*
 * fuzz_headers: what the http transport reads from an answer's headers and
 * URLs: Retry-After and retry-after-ms, and the URL rules (absolute, names
 * another host, join onto the base, same origin). The input is up to four
 * NUL-separated fields: Retry-After, retry-after-ms, a URL, a base URL.
 */
#include "buf.h"
#include "fuzz.h"
#include "http.h"

#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	if (!s)
		return 0;
	const char *f[4];
	fuzz_fields(s, size, f, 4);
	/* A fixed now, so a date in the input gives the same answer every run. */
	const time_t now = 1780000000;
	long ms = fb_http_retry_after_ms(f[0], f[1], now);
	if (ms < -1)
		abort();
	fb_http_retry_after_ms(f[0], NULL, now);

	const char *url = f[2] ? f[2] : f[0];
	const char *base = f[3] ? f[3] : "https://api.example.com/v1";
	fb_http_is_absolute(url);
	fb_http_names_elsewhere(url);
	fb_http_same_origin(url, base);
	struct fb_buf out = FB_BUF_INIT;
	fb_http_join_url(&out, base, url);
	fb_buf_release(&out);
	free(s);
	return 0;
}
