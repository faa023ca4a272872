/*
 * florasim: a local HTTP server that behaves like the FLORA API, for trying
 * and testing clients without an account. main wires flags, the server and
 * signals; the API itself is the shared simulator model.
 */
#include "flags.h"
#include "server.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* A client with a thousand runs in flight needs a thousand sockets here. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static const char *casing_name(enum fb_sim_casing c)
{
	return c == FB_SIM_CAMEL ? "camel" : c == FB_SIM_MIXED ? "mixed" : "snake";
}

int main(int argc, char **argv)
{
	struct fs_flags flags;
	int rc = fs_flags_parse(argc, argv, &flags);
	if (rc)
		return rc == 1 ? 0 : 2;
	raise_fd_limit();

	/*
	 * Block the stop signals before any thread starts, so every thread
	 * inherits the mask and only sigtimedwait below receives them.
	 */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct fb_err err = {0};
	struct fs_server *srv;
	if (fs_server_start(&srv, &flags, &err)) {
		fprintf(stderr, "florasim: %s\n", err.msg);
		return 1;
	}
	printf("florasim listening on %s\n", fs_server_url(srv));
	fflush(stdout);
	if (!flags.quiet) {
		const struct fb_simmodel_config *m = &flags.model;
		fprintf(stderr,
			"florasim: seed %llu, run time %llu ms (sigma %g, jitter %g), estimate "
			"%s, fail rate %g, %u output(s) per run, %s case, duplicates %s, %s, "
			"latency %llu-%llu ms (p99 %llu), list lag %llu ms, close rate %g\n",
			(unsigned long long)m->seed, (unsigned long long)m->run_ms, m->run_ms_sigma,
			m->run_ms_jitter, fb_sim_estimate_name(m->estimate), m->fail_rate,
			m->outputs_per_run, casing_name(m->casing),
			m->dup_mode == FB_SIM_DUP_CONFLICT ? "conflict" : "replay",
			m->api_key ? "API key required" : "no API key check",
			(unsigned long long)flags.latency_ms,
			(unsigned long long)(flags.latency_max_ms > flags.latency_ms
						 ? flags.latency_max_ms
						 : flags.latency_ms),
			(unsigned long long)flags.latency_p99_ms,
			(unsigned long long)m->list_lag_ms, flags.close_rate);
	}

	int sig;
	if (flags.max_seconds) {
		struct timespec deadline;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += (time_t)flags.max_seconds;
		for (;;) {
			struct timespec now, left;
			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = deadline.tv_sec - now.tv_sec;
			left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_nsec += 1000000000L;
				left.tv_sec--;
			}
			if (left.tv_sec < 0) {
				sig = 0;
				break;
			}
			sig = sigtimedwait(&stop, NULL, &left);
			if (sig > 0)
				break;
			/* EINTR from a stray signal: wait out the rest. */
		}
	} else {
		while (sigwait(&stop, &sig))
			;
	}
	if (sig > 0)
		fprintf(stderr, "florasim: %s received, stopping\n", strsignal(sig));
	else
		fprintf(stderr, "florasim: --max-seconds %llu reached, stopping\n",
			(unsigned long long)flags.max_seconds);

	fs_server_stop(srv);
	struct fb_buf line = FB_BUF_INIT;
	if (fs_server_summary(srv, &line) == 0)
		fprintf(stderr, "florasim: %s\n", fb_buf_str(&line));
	fb_buf_release(&line);
	fs_server_free(srv);
	return 0;
}
