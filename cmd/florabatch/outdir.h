/*
 * outdir: the output folder as one invocation's own: created if missing,
 * locked (flock) for the whole invocation so two cron runs cannot write
 * one batch at once, and emptied of the batch's files on --fresh.
 */
#ifndef FB_OUTDIR_H
#define FB_OUTDIR_H

/* Exit code of an invocation that found the folder locked: EX_TEMPFAIL, which cron wrappers know.
 */
#define FB_EXIT_LOCKED 75

/*
 * Creates dir when missing and takes its lock. Returns the lock's fd (kept
 * open until exit), -1 after a message when the folder cannot be used, or
 * -FB_EXIT_LOCKED when another invocation holds it.
 */
int fb_outdir_lock(const char *dir);

/* The output folder when none is named (--out of run, DIR of status and pack). */
#define FB_OUTDIR_DEFAULT "florabatch-out"

/*
 * A subcommand's folder argument (cmd names the subcommand for messages):
 * sets *dir, or says what is wrong with arg (an unknown option or one
 * without its value, a second folder) and returns -1.
 */
int fb_outdir_arg(const char *cmd, const char *arg, const char **dir);

/* --fresh: removes results.jsonl, journal.jsonl, spool.dat, every archive volume and
 * volumes.jsonl from dir. 0 or -1 after a message. */
int fb_outdir_fresh(const char *dir, const char *record, const char *archive);

#endif
