/*
 * fuzz_journal: a journal left by an earlier invocation, torn or corrupted
 * in any way, replayed by fb_journal_open; then the questions a re-run
 * asks of it, one more record, and the close. The journal lives in a
 * temporary folder made once and emptied after every input.
 */
#include "fuzz.h"
#include "journal.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[4096];
static char path[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/fb-fuzz-journal-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	return 0;
}

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int registered;
	if (!registered) {
		atexit(cleanup);
		registered = 1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	close(fd);

	struct fb_journal *j = NULL;
	struct fb_err err = {0};
	if (!fb_journal_open(&j, path, &err)) {
		const char *poll = NULL;
		fb_journal_run_of(j, "row-1", &poll);
		fb_journal_create_sent(j, "row-1");
		fb_journal_run_known(j, "run_1", &err);
		fb_journal_note_run(j, "row-2", "run_2", "https://api.example.com/runs/run_2",
				    &err);
		fb_journal_run_known(j, "run_2", &err);
		fb_journal_close(j, &err);
	}
	unlink(path);
	return 0;
}
