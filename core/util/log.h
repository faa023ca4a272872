/*
 * log: messages and the progress line on standard error. Messages never go
 * to standard output, which belongs to results JSONL. On a terminal, one
 * progress line is redrawn in place and cleared before each message; off a
 * terminal (cron, pipes) there is no progress line at all.
 */
#ifndef FB_LOG_H
#define FB_LOG_H

#include <stdio.h>

enum fb_log_level { FB_LOG_ERROR = 0, FB_LOG_WARN, FB_LOG_INFO, FB_LOG_DEBUG };

struct fb_log;

/*
 * f is borrowed for the log's lifetime. progress: 1 to draw the progress
 * line (callers pass isatty), 0 never. Caller frees with fb_log_free.
 */
struct fb_log *fb_log_new(FILE *f, enum fb_log_level level, int progress);
void fb_log_free(struct fb_log *l);

/* Writes "florabatch: <level>: <message>\n" when level is enabled. l may be NULL (no-op). */
void fb_log_msg(struct fb_log *l, enum fb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int fb_log_enabled(const struct fb_log *l, enum fb_log_level level);

/* Replaces the progress line (no-op when progress is off). */
void fb_log_progress(struct fb_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes text (len bytes, no newline) as a line of its own, as is, at any level. */
void fb_log_line(struct fb_log *l, const char *text, size_t len);
/* Clears the progress line, so a summary starts on a clean line. */
void fb_log_progress_done(struct fb_log *l);
/* The stream, for a summary block written as is. */
FILE *fb_log_stream(struct fb_log *l);

#endif
