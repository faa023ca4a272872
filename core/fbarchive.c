/* archive: the tar (gzip'd, zstd'd or plain) of outputs, and the naming rules that keep it safe to
 * extract. */
#include "fbarchive.h"
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

/* A tar header's classic name field is 100 bytes; pax lifts it, but extractors and eyes like it. */
#define COMP_MAX 100
/* With names of at most COMP_MAX, every entry stays under 255 bytes. */
#define DIR_MAX 150
/* A shorter dir budget than this is not worth a component: the rest is dropped. */
#define DIR_MIN_ROOM 8
/* Longer "extensions" are part of the name and may be cut. */
#define EXT_MAX 16

enum name_kind { KIND_FILE = 1, KIND_DIR = 2 };

/*
 * The names written so far, as 64-bit hashes of their case-folded forms
 * (spillset.h: in memory while few, then in a temporary file, so a
 * million names cost no memory). Two names sharing a hash only make the
 * later one take a "-N" suffix it did not need, which is harmless.
 */
struct fb_archive_names {
	struct fb_spillset set;
	int ascii;	    /* no UTF-8 locale: names are kept to ASCII */
	struct fb_buf comp; /* scratch: one sanitised component */
};

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

static uint64_t name_hash(enum name_kind kind, const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)kind * 0x9e3779b97f4a7c15ull);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		/* Folded so "A.png" and "a.png" do not overwrite each other on macOS or Windows. */
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = (h ^ c) * 0x100000001b3ull;
	}
	/* FNV leaves the low bits weak; the table indexes with them. */
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return h ? h : 1;
}

static void buf_cut(struct fb_buf *b, size_t len)
{
	if (b->ptr && len < b->len) {
		b->len = len;
		b->ptr[len] = '\0';
	}
}

/* The longest prefix of s[0..n) within max bytes that does not split a UTF-8 character. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

static int safe_comp(struct fb_buf *out, const char *s, size_t n, size_t max, int ascii)
{
	size_t start = out->len, i = 0;
	int ok;

	if (max == 0)
		max = 1;
	while (i < n) {
		size_t k = fb_json_utf8_next(s + i, n - i, &ok);
		unsigned char c = (unsigned char)s[i];
		size_t used = out->len - start;
		/* No ".." anywhere, not even inside a name: a run of dots is one dot. */
		if (c == '.' && used > 0 && out->ptr[out->len - 1] == '.') {
			i += k;
			continue;
		}
		int bad = !ok || c < 0x20 || (ascii && c >= 0x80) || c == 0x7f || c == '/' ||
			  c == '\\' || c == ':' ||
			  /* C1 controls, U+0080..U+009F, are control characters too. */
			  (k == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) ||
			  /* No hidden files. */
			  (c == '.' && used == 0);
		if (bad) {
			/* Each byte of an ill-formed sequence becomes one '_'. */
			size_t nbad = ok ? 1 : k;
			if (nbad > max - used)
				nbad = max - used;
			for (size_t j = 0; j < nbad; j++)
				if (fb_buf_addc(out, '_'))
					return FB_ENOMEM;
		} else {
			if (k > max - used)
				break;
			if (fb_buf_add(out, s + i, k))
				return FB_ENOMEM;
		}
		if (out->len - start >= max)
			break;
		i += k;
	}
	if (out->len == start && fb_buf_addc(out, '_'))
		return FB_ENOMEM;
	return 0;
}

int fb_archive_safe_name(struct fb_buf *out, const char *s, size_t max_bytes)
{
	size_t len = out->len;
	int rc = safe_comp(out, s ? s : "", s ? strlen(s) : 0, max_bytes, 0);
	if (rc)
		buf_cut(out, len);
	return rc;
}

/*
 * Appends to b (which holds the prefix) the first free form of stem[.ext]
 * within max bytes, the prefix not counted: as is, then stem-2, stem-3...
 * A file is free when no file or directory has its name; a directory when
 * no file has (an existing directory of that name is simply shared).
 */
static int add_unique(struct fb_archive_names *a, struct fb_buf *b, const char *stem,
		      size_t stem_len, const char *ext, size_t ext_len, size_t max,
		      enum name_kind kind)
{
	size_t pre = b->len;
	char suffix[24] = "";
	size_t suffix_len = 0;

	for (unsigned long n = 1;; n++) {
		if (n > 1)
			suffix_len = (size_t)snprintf(suffix, sizeof(suffix), "-%lu", n);
		size_t need = suffix_len + (ext_len ? ext_len + 1 : 0);
		/* Past a million clashes in a nearly full dir, the cap gives way. */
		size_t room = max > need ? max - need : 1;
		size_t keep = utf8_cut(stem, stem_len, room);
		/* A cut stem ending in '.' would meet the extension's dot as "..". */
		while (keep < stem_len && keep > 1 && stem[keep - 1] == '.')
			keep--;
		buf_cut(b, pre);
		if (fb_buf_add(b, stem, keep) || fb_buf_add(b, suffix, suffix_len) ||
		    (ext_len && (fb_buf_addc(b, '.') || fb_buf_add(b, ext, ext_len))))
			return FB_ENOMEM;
		const char *name = fb_buf_str(b);
		uint64_t as_file = name_hash(KIND_FILE, name, b->len);
		uint64_t as_dir = name_hash(KIND_DIR, name, b->len);
		int taken = fb_spillset_has(&a->set, as_file);
		if (!taken && kind == KIND_FILE)
			taken = fb_spillset_has(&a->set, as_dir);
		if (taken < 0)
			return taken;
		if (taken)
			continue;
		int rc = fb_spillset_add(&a->set, kind == KIND_FILE ? as_file : as_dir);
		return rc < 0 ? rc : 0;
	}
}

static int build_name(struct fb_archive_names *a, const char *dir, const char *name,
		      struct fb_buf *out)
{
	struct fb_buf *c = &a->comp;
	int ascii = a->ascii;
	int rc, folders = 0;

	for (const char *p = dir ? dir : ""; *p;) {
		size_t n = strcspn(p, "/");
		const char *seg = p;
		p += n + (p[n] == '/');
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		size_t room = DIR_MAX - out->len - (out->len ? 1 : 0);
		if (out->len + 1 + DIR_MIN_ROOM > DIR_MAX)
			break;
		if (room > COMP_MAX)
			room = COMP_MAX;
		fb_buf_reset(c);
		if ((rc = safe_comp(c, seg, n, (size_t)-1, ascii)))
			return rc;
		if (out->len && fb_buf_addc(out, '/'))
			return FB_ENOMEM;
		if ((rc = add_unique(a, out, c->ptr, c->len, NULL, 0, room, KIND_DIR)))
			return rc;
		folders++;
	}
	/* Every item has a folder of its own: an id of "." or "/" is not the archive's root. */
	if (!folders && dir && *dir &&
	    (rc = add_unique(a, out, "_", 1, NULL, 0, COMP_MAX, KIND_DIR)))
		return rc;

	/* Sanitised whole first, so a cut name keeps its extension. */
	fb_buf_reset(c);
	if ((rc = safe_comp(c, name ? name : "", name ? strlen(name) : 0, (size_t)-1, ascii)))
		return rc;
	const char *dot = strrchr(c->ptr, '.');
	size_t stem_len = c->len, ext_len = 0;
	if (dot && dot > c->ptr && dot[1] && strlen(dot + 1) <= EXT_MAX) {
		stem_len = (size_t)(dot - c->ptr);
		ext_len = strlen(dot + 1);
	}
	if (out->len && fb_buf_addc(out, '/'))
		return FB_ENOMEM;
	return add_unique(a, out, c->ptr, stem_len, c->ptr + stem_len + 1, ext_len, COMP_MAX,
			  KIND_FILE);
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
	a->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (a->fd < 0) {
		int e = errno;
		free(a->path);
		free(a);
		return fb_err_set(err, FB_EIO, FB_KIND_BATCH, "cannot create the archive %s: %s",
				  path, strerror(e));
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

int fb_archive_names_new(struct fb_archive_names **out, const char *spill_dir)
{
	struct fb_archive_names *n = calloc(1, sizeof(*n));
	*out = NULL;
	if (!n)
		return FB_ENOMEM;
	if (fb_spillset_init(&n->set, spill_dir)) {
		free(n);
		return FB_ENOMEM;
	}
	locale_t l = utf8_locale();
	n->ascii = l == (locale_t)0;
	if (l != (locale_t)0)
		freelocale(l);
	*out = n;
	return 0;
}

void fb_archive_names_free(struct fb_archive_names *n)
{
	if (!n)
		return;
	fb_spillset_release(&n->set);
	fb_buf_release(&n->comp);
	free(n);
}

int fb_archive_names_reserve(struct fb_archive_names *n, const char *dir, const char *name,
			     struct fb_buf *final_name)
{
	fb_buf_reset(final_name);
	int rc = build_name(n, dir, name, final_name);
	if (rc)
		fb_buf_reset(final_name);
	return rc;
}

int fb_archive_names_note(struct fb_archive_names *n, const char *path)
{
	size_t len = strlen(path);
	int rc = 0;
	/* Every folder on the way is taken as a folder, the whole as a file. */
	for (size_t i = 0; i < len && rc >= 0; i++)
		if (path[i] == '/')
			rc = fb_spillset_add(&n->set, name_hash(KIND_DIR, path, i));
	if (rc >= 0)
		rc = fb_spillset_add(&n->set, name_hash(KIND_FILE, path, len));
	return rc < 0 ? rc : 0;
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

static int is_ext(const char *s, size_t n)
{
	if (n < 1 || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return 0;
	}
	return 1;
}

const char *fb_archive_ext_for(const char *content_type, const char *url, const char *output_type,
			       char ext_buf[FB_ARCHIVE_EXT_MAX])
{
	static const char *const types[][2] = {
	    {"image/png", "png"},   {"image/jpeg", "jpg"},	  {"image/jpg", "jpg"},
	    {"image/webp", "webp"}, {"image/gif", "gif"},	  {"video/mp4", "mp4"},
	    {"video/webm", "webm"}, {"video/quicktime", "mov"},	  {"audio/mpeg", "mp3"},
	    {"audio/mp3", "mp3"},   {"audio/wav", "wav"},	  {"audio/x-wav", "wav"},
	    {"audio/wave", "wav"},  {"audio/ogg", "ogg"},	  {"application/pdf", "pdf"},
	    {"text/plain", "txt"},  {"application/json", "json"},
	};

	if (content_type) {
		const char *t = content_type + strspn(content_type, " \t");
		size_t n = strcspn(t, "; \t");
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strlen(types[i][0]) == n && !strncasecmp(t, types[i][0], n))
				return types[i][1];
	}
	/* Only a real URL: a text output's "url" may hold the text itself. */
	if (url && fb_is_http_url(url)) {
		const char *host = strstr(url, "://") + 3;
		size_t path_at = strcspn(host, "/?#");
		const char *path = host + path_at;
		size_t plen = *path == '/' ? strcspn(path, "?#") : 0;
		const char *end = path + plen, *dot = end;
		while (dot > path && dot[-1] != '/' && dot[-1] != '.')
			dot--;
		if (dot > path && dot[-1] == '.' && dot - 1 > path && dot[-2] != '/' &&
		    is_ext(dot, (size_t)(end - dot))) {
			size_t n = (size_t)(end - dot);
			for (size_t i = 0; i < n; i++) {
				char c = dot[i];
				ext_buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
			}
			ext_buf[n] = '\0';
			return ext_buf;
		}
	}
	if (output_type && !strcmp(output_type, "text"))
		return "txt";
	return "bin";
}
