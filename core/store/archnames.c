/*
 * archnames: the naming rules that keep an archive (and --outputs-dir) safe
 * to extract and readable: every component sanitised (no hidden names, no
 * "..", no control characters, bounded), unique across the whole batch on a
 * disk that ignores case, every item in a folder of its own; and the
 * extension an output's content type or URL gives.
 */
#include "archnames.h"
#include "error.h"
#include "item.h"
#include "json.h"
#include "spillset.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Whether this system has a UTF-8 locale for libarchive: without one, names stay ASCII. */
static int have_utf8(void)
{
	static const char *const names[] = {"C.UTF-8", "C.utf8", "en_US.UTF-8", "UTF-8"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		locale_t l = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);
		if (l != (locale_t)0) {
			freelocale(l);
			return 1;
		}
	}
	return 0;
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
	n->ascii = !have_utf8();
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
