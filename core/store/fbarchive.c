/* archive: the tar (gzip'd, zstd'd or plain) of outputs; its names follow archnames.c. */
#include "fbarchive.h"
#include "safeopen.h"
#include "item.h"
#include "json.h"
#include "gzsink.h"
#include "spillset.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct fb_archive {
	struct archive *aw;
	int fd;
	char *path;
	int failed;
	struct fb_archive_names *names; /* for fb_archive_add; NULL until first used */
	struct fb_gzsink *gz; /* tar.gz: the gzip stream (libarchive writes a plain tar) */
	/*
	 * libarchive converts an entry's UTF-8 name through the current
	 * locale's charset and, up to 3.7 at least, crashes on a non-ASCII
	 * name when that is the C locale (libarchive issue #2233). The
	 * writer's calls run under this UTF-8 LC_CTYPE (uselocale: this thread
	 * only, restored at once). Without one, names are kept to ASCII.
	 */
	locale_t utf8;
};

static locale_t utf8_locale(void)
{
	static const char *const names[] = {"C.UTF-8", "C.utf8", "en_US.UTF-8", "UTF-8"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		locale_t l = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);
		if (l != (locale_t)0)
			return l;
	}
	return (locale_t)0;
}

/* Enters the archive's UTF-8 locale; the result goes back to leave_utf8. */
static locale_t enter_utf8(const struct fb_archive *a)
{
	return a->utf8 != (locale_t)0 ? uselocale(a->utf8) : (locale_t)0;
}

static void leave_utf8(locale_t old)
{
	if (old != (locale_t)0)
		uselocale(old);
}

int fb_archive_format_parse(const char *s, enum fb_archive_format *out)
{
	static const struct {
		const char *name;
		enum fb_archive_format f;
	} names[] = {
	    {"tar.gz", FB_ARCHIVE_TGZ}, {"tgz", FB_ARCHIVE_TGZ}, {"tar.zst", FB_ARCHIVE_TZST},
	    {"tzst", FB_ARCHIVE_TZST},	{"tar", FB_ARCHIVE_TAR},
	};
	if (!s)
		return FB_EINVAL;
	if (*s == '.')
		s++;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name)) {
			*out = names[i].f;
			return 0;
		}
	return FB_EINVAL;
}

const char *fb_archive_format_ext(enum fb_archive_format f)
{
	switch (f) {
	case FB_ARCHIVE_TZST:
		return ".tar.zst";
	case FB_ARCHIVE_TAR:
		return ".tar";
	default:
		return ".tar.gz";
	}
}

/* Nonzero when the format's compression filter cannot be set up. */
static int add_filter(struct archive *aw, enum fb_archive_format f, int threads)
{
	char n[16];
	switch (f) {
	case FB_ARCHIVE_TAR:
		return 0;
	case FB_ARCHIVE_TZST:
		/* ARCHIVE_WARN: no libzstd inside, an external zstd program does the work. */
		if (archive_write_add_filter_zstd(aw) < ARCHIVE_WARN)
			return 1;
		if (threads <= 0) {
			long cpus = sysconf(_SC_NPROCESSORS_ONLN);
			threads = cpus > 0 ? (int)(cpus < 256 ? cpus : 256) : 1;
		}
		/*
		 * "threads" (zstd's nbWorkers) came with libarchive 3.6.0: 3.6.2
		 * with libzstd 1.5.4 accepts it and compresses in worker threads
		 * (on 2 cores, 400 MiB went 1.4x faster than with one). An older
		 * libarchive answers ARCHIVE_FAILED or WARN for the unknown
		 * option; the archive is the same either way, only slower.
		 */
		if (threads > 1) {
			snprintf(n, sizeof(n), "%d", threads);
			(void)archive_write_set_filter_option(aw, "zstd", "threads", n);
		}
		return 0;
	default:
		/* tar.gz: gzsink compresses what libarchive writes, unblocked (see fb_archive). */
		return archive_write_set_bytes_per_block(aw, 0) != ARCHIVE_OK;
	}
}

static la_ssize_t gz_write(struct archive *aw, void *ud, const void *p, size_t n)
{
	struct fb_archive *a = ud;
	if (fb_gzsink_write(a->gz, p, n)) {
		archive_set_error(aw, errno ? errno : EIO, "cannot write the archive: %s",
				  strerror(errno ? errno : EIO));
		return -1;
	}
	return (la_ssize_t)n;
}

/* The level for what comes next; a failure shows in the next write. */
static void gz_level(struct fb_archive *a, int level)
{
	if (a->gz && fb_gzsink_level(a->gz, level))
		a->failed = 1;
}

int fb_archive_open_format(struct fb_archive **out, const char *path, enum fb_archive_format f,
			   int threads, struct fb_err *err)
{
	*out = NULL;
	struct fb_archive *a = calloc(1, sizeof(*a));
	if (!a || !(a->path = fb_strdup(path))) {
		free(a);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	a->fd = fb_safe_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (a->fd < 0) {
		int e = errno;
		free(a->path);
		free(a);
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot create the archive %s: %s",
				  path, fb_safe_strerror(e));
	}
	a->utf8 = utf8_locale();
	a->aw = archive_write_new();
	if (!a->aw) {
		a->failed = 1;
		fb_archive_close(a, NULL);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	locale_t old = enter_utf8(a);
	/*
	 * Level 1 for tar.gz: outputs are mostly PNG, JPEG and MP4, already
	 * compressed, which level 6 only spent time on (a tenth of an engine
	 * item for under 1%); and those go in stored blocks (gzsink.h).
	 */
	if (f == FB_ARCHIVE_TGZ && fb_gzsink_open(&a->gz, a->fd, FB_ARCHIVE_GZIP_LEVEL_N)) {
		a->failed = 1;
		fb_archive_close(a, NULL);
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	}
	int bad = add_filter(a->aw, f, threads) ||
		  archive_write_set_format_pax_restricted(a->aw) != ARCHIVE_OK ||
		  (a->gz ? archive_write_open(a->aw, a, NULL, gz_write, NULL)
			 : archive_write_open_fd(a->aw, a->fd)) != ARCHIVE_OK;
	leave_utf8(old);
	if (bad) {
		const char *why = archive_error_string(a->aw);
		fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot start the archive %s: %s", path,
			   why ? why : "unknown error");
		a->failed = 1;
		fb_archive_close(a, NULL);
		return FB_EIO;
	}
	*out = a;
	return 0;
}

int fb_archive_open(struct fb_archive **out, const char *path, struct fb_err *err)
{
	return fb_archive_open_format(out, path, FB_ARCHIVE_TGZ, 0, err);
}

static int write_failed(struct fb_archive *a, const char *entry, struct fb_err *err)
{
	const char *why = archive_error_string(a->aw);
	a->failed = 1;
	return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot write %s into the archive %s: %s",
			  entry, a->path, why ? why : strerror(archive_errno(a->aw)));
}

int fb_archive_entry_begin(struct fb_archive *a, const char *name, uint64_t len, const void *head,
			   size_t headlen, int64_t mtime_s, struct fb_err *err)
{
	if (a->failed)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH,
				  "the archive %s is unusable after an earlier write error",
				  a->path);
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return fb_err_set(err, FB_ENOMEM, FB_KIND_BATCH, "out of memory");
	archive_entry_set_pathname_utf8(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, (time_t)mtime_s, 0);
	locale_t old = enter_utf8(a);
	gz_level(a, -FB_ARCHIVE_GZIP_LEVEL_N); /* the header, and the padding before it */
	/* WARN is a header detail (such as a charset note); the entry is written. */
	int r = archive_write_header(a->aw, e);
	leave_utf8(old);
	archive_entry_free(e);
	if (r < ARCHIVE_WARN || a->failed)
		return write_failed(a, name, err);
	gz_level(a, fb_gz_precompressed(head, headlen) ? 0 : FB_ARCHIVE_GZIP_LEVEL_N);
	return 0;
}

int fb_archive_entry_data(struct fb_archive *a, const char *name, const void *data, size_t len,
			  struct fb_err *err)
{
	for (const char *p = data; len > 0;) {
		la_ssize_t w = archive_write_data(a->aw, p, len);
		if (w <= 0)
			return write_failed(a, name, err);
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int fb_archive_add_named(struct fb_archive *a, const char *name, const void *data, size_t len,
			 int64_t mtime_s, struct fb_err *err)
{
	int rc = fb_archive_entry_begin(a, name, len, data, len, mtime_s, err);
	return rc ? rc : fb_archive_entry_data(a, name, data, len, err);
}

int fb_archive_add(struct fb_archive *a, const char *dir, const char *name, const void *data,
		   size_t len, int64_t mtime_s, struct fb_buf *final_name, struct fb_err *err)
{
	fb_buf_reset(final_name);
	if (a->failed)
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH,
				  "the archive %s is unusable after an earlier write error",
				  a->path);
	/* Its table spills, if ever, to $TMPDIR: a caller with millions of names reserves them. */
	int rc = a->names ? 0 : fb_archive_names_new(&a->names, NULL);
	if (!rc)
		rc = fb_archive_names_reserve(a->names, dir, name, final_name);
	if (rc == FB_EIO)
		return fb_err_set(err, rc, FB_KIND_BATCH,
				  "cannot keep the archive's names in a temporary file: %s",
				  strerror(errno));
	if (rc)
		return fb_err_set(err, rc, FB_KIND_BATCH, "out of memory");
	return fb_archive_add_named(a, final_name->ptr, data, len, mtime_s, err);
}

int fb_archive_close(struct fb_archive *a, struct fb_err *err)
{
	int rc = 0;
	struct stat st;

	if (!a)
		return 0;
	locale_t old = enter_utf8(a);
	if (a->failed) {
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH,
				"the archive %s is incomplete: a write into it failed", a->path);
	} else if ((gz_level(a, FB_ARCHIVE_GZIP_LEVEL_N), a->failed) ||
		   archive_write_close(a->aw) != ARCHIVE_OK || (a->gz && fb_gzsink_finish(a->gz))) {
		const char *why = archive_error_string(a->aw);
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot finish the archive %s: %s",
				a->path, why ? why : strerror(errno ? errno : EIO));
	} else if (fstat(a->fd, &st) == 0 && S_ISREG(st.st_mode) && fsync(a->fd) != 0) {
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot save the archive %s: %s",
				a->path, strerror(errno));
	}
	/* Freeing after a failure may try the trailer again; its outcome is already reported. */
	if (a->aw)
		archive_write_free(a->aw);
	fb_gzsink_free(a->gz);
	leave_utf8(old);
	if (a->utf8 != (locale_t)0)
		freelocale(a->utf8);
	if (close(a->fd) != 0 && !rc)
		rc = fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot close the archive %s: %s",
				a->path, strerror(errno));
	fb_archive_names_free(a->names);
	free(a->path);
	free(a);
	return rc;
}
