/*
 * simmedia: the bytes of the simulator's non-image outputs, each a pure
 * function of a seed so a download can be checked against another: a short
 * WAV tone, an MP4-shaped byte stream (ftyp, free and mdat boxes; enough
 * for content sniffing and type checks, not a playable movie), and a line
 * of text.
 */
#ifndef FB_SIMMEDIA_H
#define FB_SIMMEDIA_H

#include "buf.h"

#include <stdint.h>

/* Sample rate and length of the WAV: 8 kHz, 8-bit mono, a quarter second. */
#define FB_SIMMEDIA_WAV_RATE	8000u
#define FB_SIMMEDIA_WAV_SAMPLES 2000u

/* Each appends to out and returns 0 or FB_ENOMEM (out then holds what it held before). */
int fb_simmedia_wav(uint64_t seed, struct fb_buf *out);
int fb_simmedia_mp4(uint64_t seed, struct fb_buf *out);
/* "<what> (<id>)\n" followed by a few seeded words; what and id are borrowed. */
int fb_simmedia_text(uint64_t seed, const char *what, const char *id, struct fb_buf *out);

#endif
