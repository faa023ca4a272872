/*
 * techniques: `florabatch techniques [TECHNIQUE]`: the catalog page by
 * page, or one technique, through the same transports a batch uses
 * (connect.h), retrying what the API says is worth retrying.
 */
#include "techniques.h"
#include "connect.h"
#include "run.h"
#include "techview.h"

#include "clock.h"
#include "log.h"
#include "args.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TRIES	  5    /* per request, on retryable errors (5xx, 429, the connection) */
#define MAX_PAGES 1000 /* a list whose cursors never end is the API's fault, not a loop */

void fb_techniques_usage(FILE *f)
{
	fputs("Usage: florabatch techniques [OPTIONS] [TECHNIQUE]\n"
	      "\n"
	      "Without TECHNIQUE: the techniques the API offers (GET /techniques, every page):\n"
	      "each one's id, run cost, name and description. With TECHNIQUE (a slug such as\n"
	      "cctv-cam, or its tech_ id): that technique (GET /techniques/TECHNIQUE): its run\n"
	      "cost, its inputs (id, type, required or not), its outputs, and the header of a\n"
	      "CSV manifest that gives it every input. The list may show no inputs and a cost\n"
	      "of 0 for every technique (the API's own example does): ask for one technique\n"
	      "to see what its runs take and cost.\n"
	      "\n"
	      "On a terminal it prints a table. Otherwise (a pipe, a file), or with --json, it\n"
	      "prints JSON lines, one object per technique: {technique_id, name, description,\n"
	      "run_cost} for the list (run_cost null when the API gives none), and for one\n"
	      "technique the same with inputs and outputs, arrays of {id, name, type,\n"
	      "required, description} (outputs without required). For example:\n"
	      "  florabatch techniques --transport http cctv-cam | jq -r '.inputs[].id'\n"
	      "\n"
	      "  --json                  JSON lines even on a terminal\n"
	      "  --query TEXT            only the techniques the API finds for TEXT\n"
	      "  --transport sim|http    sim: the built-in simulator's catalog (default);\n"
	      "                          http: the FLORA API\n"
	      "  --base-url URL          the API (default $FLORA_BASE_URL, else\n"
	      "                          https://app.flora.ai/api/v1)\n"
	      "  --api-key-file FILE     read the API key from FILE (default: $FLORA_API_KEY)\n"
	      "  --insecure              skip TLS checks: only for a test server of your own\n"
	      "  -h, --help              this text\n"
	      "\n"
	      "A request the API may answer better later (429, 5xx, a dropped connection) is\n"
	      "tried up to 5 times, waiting as the API says.\n"
	      "Exit status: 0 shown; 1 the API has no such technique (404); 2 usage error;\n"
	      "3 the API refused the key (401); 4 the API could not be reached or its answer\n"
	      "read, or standard output could not be written; 141 the reader of standard\n"
	      "output went away.\n",
	      f);
}

struct opts {
	const char *technique, *query;
	const char *transport, *base_url, *api_key_file;
	int insecure, json;
};

static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_JSON = 256, O_QUERY, O_TRANSPORT, O_BASE, O_KEYFILE, O_INSECURE, O_HELP };
	static const struct option long_opts[] = {
	    {"json", no_argument, NULL, O_JSON},
	    {"query", required_argument, NULL, O_QUERY},
	    {"transport", required_argument, NULL, O_TRANSPORT},
	    {"base-url", required_argument, NULL, O_BASE},
	    {"api-key-file", required_argument, NULL, O_KEYFILE},
	    {"insecure", no_argument, NULL, O_INSECURE},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	*o = (struct opts){.transport = "sim"};
	optind = 1;
	opterr = 0; /* its messages would name "techniques"; ours name the program */
	for (int c; (c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1;) {
		switch (c) {
		case O_JSON:
			o->json = 1;
			break;
		case O_QUERY:
			o->query = optarg;
			break;
		case O_TRANSPORT:
			if (strcmp(optarg, "sim") && strcmp(optarg, "http")) {
				fprintf(
				    stderr,
				    "florabatch: --transport: expected sim or http, got \"%s\"\n",
				    optarg);
				return -1;
			}
			o->transport = optarg;
			break;
		case O_BASE:
			o->base_url = optarg;
			break;
		case O_KEYFILE:
			o->api_key_file = optarg;
			break;
		case O_INSECURE:
			o->insecure = 1;
			break;
		case 'h':
		case O_HELP:
			return 1;
		default:
			fb_args_getopt_error("florabatch techniques", argc, argv, optind, optopt);
			fputs("Try 'florabatch techniques --help'.\n", stderr);
			return -1;
		}
	}
	if (optind < argc)
		o->technique = argv[optind++];
	if (optind < argc) {
		fprintf(stderr,
			"florabatch techniques: one technique at a time; unexpected \"%s\"\n",
			argv[optind]);
		return -1;
	}
	if (o->technique && !*o->technique) {
		fputs("florabatch techniques: the technique is empty\n", stderr);
		return -1;
	}
	if (o->technique && o->query) {
		fputs("florabatch techniques: --query filters the list; give it or a technique\n",
		      stderr);
		return -1;
	}
	if (fb_connect_check(o->transport, o->base_url, o->api_key_file, o->insecure))
		return -1;
	return 0;
}

/* One request's outcome, filled by the callback: what was shown, or why nothing was. */
struct ask {
	const struct opts *o;
	int fired, ok, shown, out_err, width;
	size_t pages;
	struct fb_err err;
	long retry_after_ms;
	char *cursor; /* the next page's, owned */
};

static void on_reply(void *ud, const struct fb_catalog_reply *r)
{
	struct ask *a = ud;
	a->fired = 1;
	a->ok = r->ok;
	a->err = r->err;
	a->retry_after_ms = r->retry_after_ms;
	free(a->cursor);
	a->cursor = NULL;
	if (!r->ok)
		return;
	if (r->next_cursor && !(a->cursor = strdup(r->next_cursor)))
		a->out_err = 1;
	int table = !a->o->json && isatty(STDOUT_FILENO);
	if (!table)
		a->out_err |= fb_techview_jsonl(stdout, r->techniques, r->ntechniques,
						a->o->technique != NULL) != 0;
	else if (a->o->technique)
		fb_techview_one(stdout, &r->techniques[0], a->width);
	else
		fb_techview_rows(stdout, r->techniques, r->ntechniques, a->pages == 0, a->width);
	a->shown += (int)r->ntechniques;
}

/* Asks q and waits for the answer, again while the API says to; 0 when it was shown. */
static int ask(struct fb_transport *t, struct fb_clock *clock, const struct fb_catalog_query *q,
	       struct ask *a)
{
	uint64_t wait = 500;
	for (int try = 1;; try++) {
		a->fired = 0;
		if (fb_transport_get_techniques(t, q, on_reply, a, &a->err))
			return -1;
		while (!a->fired)
			if (fb_transport_step(t, 1000) < 0) {
				fb_err_set(&a->err, FB_ETRANSPORT, FB_KIND_BATCH,
					   "the transport failed");
				return -1;
			}
		if (a->ok || a->err.kind != FB_KIND_RETRYABLE || try == TRIES)
			return a->ok ? 0 : -1;
		uint64_t w = a->retry_after_ms > 0 ? (uint64_t)a->retry_after_ms : wait;
		fb_clock_sleep_ms(clock, w > 30000 ? 30000 : w);
		wait *= 2;
	}
}

static int fail(const struct opts *o, const struct fb_err *e)
{
	const char *hint = fb_err_hint(e);
	if (e->http_status == 404 && o->technique) {
		fprintf(stderr,
			"florabatch techniques: no technique \"%s\": %s; 'florabatch "
			"techniques%s' lists them\n",
			o->technique, e->msg,
			strcmp(o->transport, "http") ? "" : " --transport http");
		return FB_EXIT_NO_TECHNIQUE;
	}
	fprintf(stderr, "florabatch techniques: %s%s%s\n", e->msg, hint ? "; " : "",
		hint ? hint : "");
	return e->http_status == 401 ? FB_EXIT_AUTH : FB_EXIT_IO;
}

static int terminal_width(void)
{
	struct winsize ws;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 40)
		return ws.ws_col;
	return 100;
}

int fb_cmd_techniques(int argc, char **argv)
{
	struct opts o;
	int p = parse(argc, argv, &o);
	if (p) {
		if (p > 0)
			fb_techniques_usage(stdout);
		return p > 0 ? FB_EXIT_OK : FB_EXIT_USAGE;
	}
	struct fb_sim_config sim = {.model = {.seed = 1, .run_ms = 2000, .outputs_per_run = 1}};
	struct fb_connect c = {.transport = o.transport,
			       .base_url = o.base_url,
			       .api_key_file = o.api_key_file,
			       .insecure = o.insecure,
			       .sim = &sim};
	struct fb_clock *clock = fb_clock_real_new();
	struct fb_log *log = fb_log_new(stderr, FB_LOG_WARN, 0);
	struct fb_transport *t = NULL;
	char origin[256];
	if (!clock || !log || fb_connect_open(&c, clock, log, origin, sizeof(origin), &t)) {
		fb_log_free(log);
		fb_clock_free(clock);
		return FB_EXIT_USAGE;
	}
	if (!strcmp(o.transport, "sim") && isatty(STDERR_FILENO))
		fputs("florabatch techniques: the built-in simulator's catalog; --transport http "
		      "asks the FLORA API\n",
		      stderr);
	struct ask a = {.o = &o, .width = terminal_width()};
	struct fb_catalog_query q = {.technique = o.technique, .query = o.query};
	int rc = ask(t, clock, &q, &a);
	/* The list, page after page, as long as the API hands out a new cursor. */
	while (!rc && !o.technique && a.cursor) {
		char *cursor = a.cursor;
		a.cursor = NULL;
		q.cursor = cursor;
		if (++a.pages == MAX_PAGES)
			rc = fb_err_set(&a.err, FB_EPARSE, FB_KIND_BATCH,
					"the API's list did not end after %d pages", MAX_PAGES);
		else
			rc = ask(t, clock, &q, &a);
		if (!rc && a.cursor && !strcmp(a.cursor, cursor))
			rc = fb_err_set(&a.err, FB_EPARSE, FB_KIND_BATCH,
					"the API answered the same page cursor twice; the list "
					"stops here");
		free(cursor);
	}
	int code = rc ? fail(&o, &a.err) : FB_EXIT_OK;
	if (!rc && !o.technique && !a.shown && isatty(STDERR_FILENO))
		fputs("florabatch techniques: the API lists no technique\n", stderr);
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout) || a.out_err) {
		/* A reader that has read enough (| head) is no error worth a word. */
		if (errno != EPIPE)
			fputs("florabatch techniques: cannot write to standard output\n", stderr);
		code = code ? code : errno == EPIPE ? FB_EXIT_PIPE : FB_EXIT_IO;
	}
	free(a.cursor);
	fb_transport_free(t);
	fb_log_free(log);
	fb_clock_free(clock);
	return code;
}
