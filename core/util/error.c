/* error: error capture and the retry/fatality policy table. */
#include "error.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int fb_err_vset(struct fb_err *err, int code, enum fb_errkind kind, const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->code = code;
	err->kind = kind;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return code;
}

int fb_err_set(struct fb_err *err, int code, enum fb_errkind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fb_err_vset(err, code, kind, fmt, ap);
	va_end(ap);
	return code;
}

void fb_err_clear(struct fb_err *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

enum fb_errkind fb_err_kind_for_http(int status, const char *api_code)
{
	if (api_code && *api_code) {
		/* Codes that say more than their status. */
		if (!strcmp(api_code, "insufficient_credits") ||
		    !strcmp(api_code, "invalid_api_key") || !strcmp(api_code, "unauthorized"))
			return FB_KIND_BATCH;
		if (!strcmp(api_code, "rate_limited"))
			return FB_KIND_RETRYABLE;
	}
	if (status == 401 || status == 402)
		return FB_KIND_BATCH;
	if (status == 408 || status == 425 || status == 429 || status >= 500)
		return FB_KIND_RETRYABLE;
	/* 400, 403, 404, 409, 422 and anything else: retrying cannot help. */
	return FB_KIND_ITEM;
}

int fb_err_run_code_retryable(const char *code)
{
	static const char *const retryable[] = {
	    "model_timeout",
	    "internal_error",
	    "provider_error",
	    "GENERATION_PROVIDER_TIMEOUT",
	    "GPU_PROVIDER_ERROR",
	    "GENERATION_GENERIC_ERROR",
	    "GENERATION_FAILED_TO_START",
	    "SERVER_ERROR",
	    "GENERATION_DOWNSTREAM_SERVICE_ERROR",
	    "GENERATION_QUEUE_TOO_LARGE",
	    "GENERATION_CIRCUIT_BREAKER_OPEN",
	    "GENERATION_NO_RESULT",
	};
	if (!code)
		return 0;
	for (size_t i = 0; i < sizeof(retryable) / sizeof(retryable[0]); i++)
		if (!strcasecmp(code, retryable[i]))
			return 1;
	return 0;
}

const char *fb_err_hint(const struct fb_err *err)
{
	if (err->http_status == 401 || !strcmp(err->api_code, "invalid_api_key") ||
	    !strcmp(err->api_code, "unauthorized"))
		return "check the API key (FLORA_API_KEY or --api-key-file): it may be mistyped, "
		       "or rotated or revoked, since a workspace has one active key";
	if (err->http_status == 402 || !strcmp(err->api_code, "insufficient_credits"))
		return "add credits to the workspace, then run the same command again (it sends "
		       "the same idempotency keys)";
	return NULL;
}

const char *fb_err_kind_name(enum fb_errkind kind)
{
	switch (kind) {
	case FB_KIND_RETRYABLE:
		return "retryable";
	case FB_KIND_ITEM:
		return "item";
	case FB_KIND_BATCH:
		return "batch";
	default:
		return "none";
	}
}

const char *fb_errcode_name(int code)
{
	switch (code) {
	case FB_OK:
		return "ok";
	case FB_ENOMEM:
		return "out_of_memory";
	case FB_EINVAL:
		return "invalid";
	case FB_EIO:
		return "io_error";
	case FB_EPARSE:
		return "parse_error";
	case FB_ETOOBIG:
		return "too_big";
	case FB_ETRANSPORT:
		return "transport_error";
	case FB_EHTTP:
		return "http_error";
	case FB_ERUN:
		return "run_failed";
	case FB_EUNSUPP:
		return "unsupported";
	case FB_EAGAIN:
		return "again";
	case FB_EPIPE:
		return "broken_pipe";
	case FB_ESTATE:
		return "bad_state";
	default:
		return "error";
	}
}
