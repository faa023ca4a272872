/*
 * fuzz_headers: what the http transport reads from an answer's headers and
 * URLs: Retry-After and retry-after-ms, and the URL rules (absolute, names
 * another host, join onto the base, same origin), and the raw header lines
 * libcurl hands over. The input is up to eight NUL-separated fields:
 * Retry-After, retry-after-ms, a URL, a base URL, then header lines (not
 * NUL-terminated when given to the parser, as libcurl gives them).
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
	const char *f[8];
	fuzz_fields(s, size, f, 8);
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

	struct fb_http_headers h;
	memset(&h, 0, sizeof(h));
	for (int i = 4; i < 8 && f[i]; i++) {
		/* An exact-size copy, so reading past the line is an ASan error. */
		size_t n = strlen(f[i]);
		char *line = malloc(n ? n : 1);
		if (!line)
			break;
		memcpy(line, f[i], n);
		fb_http_header_line(&h, line, n);
		free(line);
		/* What is kept may go into a message: printable ASCII, terminated. */
		const char *kept[] = {h.request_id, h.retry_after, h.retry_after_ms};
		for (size_t k = 0; k < 3; k++)
			for (const char *c = kept[k];; c++) {
				if (!*c)
					break;
				if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
					abort();
			}
	}
	fb_http_retry_after_ms(h.retry_after[0] ? h.retry_after : NULL,
			       h.retry_after_ms[0] ? h.retry_after_ms : NULL, now);
	free(s);
	return 0;
}
