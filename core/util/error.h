/*
 * error: the project's error codes, and the one place that says which kind
 * an error is (retryable, item-fatal, batch-fatal), so policy code reads the
 * kind instead of re-deciding it from status codes in scattered ifs.
 */
#ifndef FB_ERROR_H
#define FB_ERROR_H

#include <stdarg.h>

enum fb_errcode {
	FB_OK = 0,
	FB_ENOMEM = -1,	    /* allocation failed */
	FB_EINVAL = -2,	    /* a caller or a user gave a value that cannot work */
	FB_EIO = -3,	    /* reading or writing a file failed */
	FB_EPARSE = -4,	    /* input is not in the expected format */
	FB_ETOOBIG = -5,    /* over a configured size limit */
	FB_ETRANSPORT = -6, /* connection, timeout, DNS: no HTTP answer */
	FB_EHTTP = -7,	    /* the API answered with an error status */
	FB_ERUN = -8,	    /* the run itself ended failed */
	FB_EUNSUPP = -9,    /* not available in this build or transport */
	FB_ESTATE = -10,    /* an operation at the wrong moment */
	FB_EAGAIN = -11,    /* nothing yet: try again when told (a live manifest) */
	FB_EPIPE = -12,	    /* the reader of a stream went away */
};

enum fb_errkind {
	FB_KIND_NONE = 0,
	FB_KIND_RETRYABLE, /* the same request may succeed later, same idempotency key */
	FB_KIND_ITEM,	   /* this item cannot succeed; the batch goes on */
	FB_KIND_BATCH,	   /* no further item can succeed (bad key, no credits) */
};

#define FB_ERR_MSG_MAX	512
#define FB_ERR_CODE_MAX 64

/*
 * A captured error: what the user reads, and what the result line carries.
 * Plain value type; zero-initialised means "no error".
 */
struct fb_err {
	int code;			/* an fb_errcode, 0 when none */
	enum fb_errkind kind;		/* how the policy treats it */
	int http_status;		/* 0 when there was no HTTP answer */
	char api_code[FB_ERR_CODE_MAX]; /* the API's error.code or a run's error_code */
	char msg[FB_ERR_MSG_MAX];	/* one line, for humans */
};

/* Fills err (when not NULL) and returns code, so callers can `return fb_err_set(...)`. */
int fb_err_set(struct fb_err *err, int code, enum fb_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int fb_err_vset(struct fb_err *err, int code, enum fb_errkind kind, const char *fmt, va_list ap);
void fb_err_clear(struct fb_err *err);

/*
 * The policy table: what kind an HTTP answer is, from its status and the
 * error envelope's code (api_code may be NULL or empty).
 */
enum fb_errkind fb_err_kind_for_http(int http_status, const char *api_code);

/* Whether a failed run's error_code is worth a new run (model_timeout, ...). */
int fb_err_run_code_retryable(const char *error_code);

/*
 * What the user should check for an error that stops a batch (a rejected
 * key, no credits), or NULL when there is nothing more to say. Static.
 */
const char *fb_err_hint(const struct fb_err *err);

const char *fb_err_kind_name(enum fb_errkind kind);
const char *fb_errcode_name(int code);

#endif
