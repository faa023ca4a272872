/* log: leveled messages and an in-place progress line on standard error. */
#include "log.h"

#include <stdarg.h>
#include <stdlib.h>

struct fb_log {
	FILE *f;
	enum fb_log_level level;
	int progress;	    /* draw the progress line at all */
	int progress_shown; /* a progress line is on screen now */
};

struct fb_log *fb_log_new(FILE *f, enum fb_log_level level, int progress)
{
	struct fb_log *l = calloc(1, sizeof(*l));
	if (l) {
		l->f = f;
		l->level = level;
		l->progress = progress;
	}
	return l;
}

void fb_log_free(struct fb_log *l)
{
	if (l)
		fb_log_progress_done(l);
	free(l);
}

int fb_log_enabled(const struct fb_log *l, enum fb_log_level level)
{
	return l && level <= l->level;
}

static void clear_progress(struct fb_log *l)
{
	if (l->progress_shown) {
		fputs("\r\033[K", l->f);
		l->progress_shown = 0;
	}
}

void fb_log_msg(struct fb_log *l, enum fb_log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	if (!fb_log_enabled(l, level))
		return;
	clear_progress(l);
	fprintf(l->f, "florabatch: %s: ", names[level]);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(l->f, fmt, ap);
	va_end(ap);
	fputc('\n', l->f);
	fflush(l->f);
}

void fb_log_progress(struct fb_log *l, const char *fmt, ...)
{
	if (!l || !l->progress)
		return;
	fputs("\r\033[K", l->f);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(l->f, fmt, ap);
	va_end(ap);
	fflush(l->f);
	l->progress_shown = 1;
}

void fb_log_line(struct fb_log *l, const char *text, size_t len)
{
	if (!l)
		return;
	clear_progress(l);
	fwrite(text, 1, len, l->f);
	fputc('\n', l->f);
	fflush(l->f);
}

void fb_log_progress_done(struct fb_log *l)
{
	if (l) {
		clear_progress(l);
		fflush(l->f);
	}
}

FILE *fb_log_stream(struct fb_log *l)
{
	return l->f;
}
