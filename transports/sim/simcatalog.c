/*
 * simcatalog: what the simulated account can see: the contract's 38
 * example techniques (CONTRACT.md §4), each with a plausible schema, and
 * the fixed workspaces and projects.
 *
 * Every technique takes an image (input_image, imageUrl) and an optional
 * prompt (text); a few take a second image (reference_image). A run's
 * inputs are checked against its technique's schema as the API does
 * (CONTRACT.md §2, §4, §7): an unknown id, a wrong type, a required input
 * left out or an optional one sent empty is 400 input_validation_error
 * naming the field.
 */
#include "simcore.h"
#include "error.h"

#include <stdio.h>
#include <string.h>

/* A technique's inputs and outputs, and what its runs produce. */
enum tmpl { T_IMAGE = 0, T_PAIR, T_VIDEO, T_TEXT };

struct tech {
	const char *slug, *name, *description;
	enum tmpl tmpl;
};

/* clang-format off */
static const struct tech catalog[] = {
	{"art-directors-critique", "Art Director's Critique", "A written critique of an image, as an art director would give it.", T_TEXT},
	{"auto-translate", "Auto Translate", "Reads the text in an image and translates it.", T_TEXT},
	{"book-drop", "Book Drop", "Places a book cover on a styled product shot.", T_IMAGE},
	{"cctv-cam", "CCTV Cam", "Restyles an image as a security camera still.", T_IMAGE},
	{"character-lock", "Character Lock", "Keeps a character consistent across a new scene.", T_PAIR},
	{"cinematic-movie-generator", "Cinematic Movie Generator", "Turns an image into a short cinematic clip.", T_VIDEO},
	{"color-mapping", "Color Mapping", "Maps the colors of a reference onto an image.", T_PAIR},
	{"color-transfer", "Color Transfer", "Transfers the grade of a reference image.", T_PAIR},
	{"earth-zoom-out", "Earth Zoom Out", "A zoom out from the scene to orbit.", T_VIDEO},
	{"facade-swap", "Facade Swap", "Swaps a building facade for the reference style.", T_PAIR},
	{"fit-checks", "Fit Checks", "Shows a garment on a model.", T_PAIR},
	{"glam-shots", "Glam Shots", "Studio glamour portraits from a photo.", T_IMAGE},
	{"icon-pack", "Icon Pack", "A matching set of icons in the style of an image.", T_IMAGE},
	{"live-like-an-amsterdammer", "Live Like an Amsterdammer", "Places the subject in an Amsterdam street scene.", T_IMAGE},
	{"location-scouter", "Location Scouter", "Finds alternative locations for a scene.", T_IMAGE},
	{"logo-stylist", "Logo Stylist", "Restyles a logo.", T_IMAGE},
	{"memoji-me", "Memoji Me", "Turns a portrait into a memoji.", T_IMAGE},
	{"moodboard-maker", "Moodboard Maker", "A moodboard built around an image.", T_IMAGE},
	{"mugshot", "Mugshot", "A police lineup photo of the subject.", T_IMAGE},
	{"palette-pull", "Palette Pull", "Extracts a color palette card from an image.", T_IMAGE},
	{"product-animator", "Product Animator", "Animates a product shot.", T_VIDEO},
	{"product-lookbook-grid", "Product Lookbook Grid", "A lookbook grid of a product.", T_IMAGE},
	{"product-motion", "Product Motion", "A short motion clip of a product.", T_VIDEO},
	{"quick-reframe", "Quick Reframe", "Reframes an image to a new aspect ratio.", T_IMAGE},
	{"relight-technique", "Relight", "Relights a scene.", T_IMAGE},
	{"room-render", "Room Render", "Renders a furnished room from a sketch or photo.", T_IMAGE},
	{"seamless-transition", "Seamless Transition", "A seamless video transition between two images.", T_VIDEO},
	{"sigil", "Sigil", "Turns a word or image into a sigil.", T_IMAGE},
	{"sketch-to-garment", "Sketch to Garment", "Renders a garment from a sketch.", T_IMAGE},
	{"studio-blur", "Studio Blur", "Adds a studio background blur.", T_IMAGE},
	{"studio-shot", "Studio Shot", "A clean studio product shot.", T_IMAGE},
	{"tarot-pull", "Tarot Pull", "A tarot card featuring the subject.", T_IMAGE},
	{"texture-matchers", "Texture Matchers", "Applies the texture of a reference.", T_PAIR},
	{"turn-any-product-into-4-ad-visuals", "Turn Any Product into 4 Ad Visuals", "Four ad visuals of a product.", T_IMAGE},
	{"ugc-creation", "UGC Creation", "A user-generated-content style clip of a product.", T_VIDEO},
	{"video-scene-builder", "Video Scene Builder", "Builds a video scene around an image.", T_VIDEO},
	{"wireframe", "Wireframe", "A wireframe rendering of an object.", T_IMAGE},
	{"wonder-fy", "Wonder-fy", "A whimsical makeover of an image.", T_IMAGE},
};
/* clang-format on */
#define NCATALOG (sizeof(catalog) / sizeof(catalog[0]))

/* What a run of each template is quoted at, in USD. */
static const double tmpl_cost[] = {0.25, 0.3, 1.2, 0.05};
static const enum sim_media tmpl_media[] = {SIM_IMAGE, SIM_IMAGE, SIM_VIDEO, SIM_TEXT};

struct workspace {
	const char *id, *name, *role;
	uint64_t created_at; /* unix ms */
};
static const struct workspace workspaces[] = {
    {"ws_accept", "Acceptance", "owner", 1735689600000ULL},
    {"ws_readonly", "Shared (read-only)", "viewer", 1738368000000ULL},
};
static const struct {
	const char *id;
	int workspace;
} projects[] = {{"prj_accept", 0}, {"prj_readonly", 1}};

size_t fb_simcat_count(void)
{
	return NCATALOG;
}

int fb_simcat_find(const char *s, int *tech_form)
{
	*tech_form = !strncmp(s, "tech_", 5);
	if (*tech_form)
		s += 5;
	for (size_t i = 0; i < NCATALOG; i++)
		if (!strcmp(s, catalog[i].slug))
			return (int)i;
	return -1;
}

const char *fb_simcat_slug(int t)
{
	return catalog[t].slug;
}

const char *fb_simcat_name(int t)
{
	return catalog[t].name;
}

double fb_simcat_cost(int t)
{
	return tmpl_cost[catalog[t].tmpl];
}

enum sim_media fb_simcat_media(int t)
{
	return tmpl_media[catalog[t].tmpl];
}

int fb_simcat_workspace(const char *id)
{
	for (size_t i = 0; i < sizeof(workspaces) / sizeof(workspaces[0]); i++)
		if (!strcmp(id, workspaces[i].id))
			return (int)i;
	return -1;
}

int fb_simcat_project(const char *id)
{
	for (size_t i = 0; i < sizeof(projects) / sizeof(projects[0]); i++)
		if (!strcmp(id, projects[i].id))
			return (int)i;
	return -1;
}

const char *fb_simcat_workspace_id(int w)
{
	return workspaces[w].id;
}

const char *fb_simcat_project_id(int p)
{
	return projects[p].id;
}

int fb_simcat_project_workspace(int p)
{
	return projects[p].workspace;
}

/* The declared inputs of technique t: id, type, required. */
struct decl {
	const char *id, *type;
	int required;
};

static size_t declared(int t, struct decl *d)
{
	size_t n = 0;
	d[n++] = (struct decl){"input_image", "imageUrl", 1};
	if (catalog[t].tmpl == T_PAIR)
		d[n++] = (struct decl){"reference_image", "imageUrl", 1};
	d[n++] = (struct decl){"prompt", "text", 0};
	return n;
}

int fb_simcat_check_inputs(int t, const struct fb_simreq_input *in, size_t n, int nested,
			   struct fb_simresp *resp, int *rc)
{
	struct decl d[3];
	size_t nd = declared(t, d);
	char field[96], msg[256];
	const char *prefix = nested ? "inputs." : "inputs.";
	if (n > FB_SIMREQ_MAX_INPUTS) {
		*rc = fb_sim_field_error(resp, "inputs", "Too many inputs for this technique");
		return 1;
	}
	int seen[3] = {0};
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < nd && strcmp(in[i].id, d[k].id))
			k++;
		if (nested)
			snprintf(field, sizeof(field), "%s%zu.id", prefix, i);
		else
			snprintf(field, sizeof(field), "%s%.48s", prefix, in[i].id);
		if (k == nd) {
			snprintf(
			    msg, sizeof(msg),
			    "Unknown input \"%.48s\" for technique %s: it takes input_image%s, "
			    "prompt (see GET /techniques/%s)",
			    in[i].id, catalog[t].slug,
			    catalog[t].tmpl == T_PAIR ? ", reference_image" : "", catalog[t].slug);
			*rc = fb_sim_field_error(resp, field, msg);
			return 1;
		}
		if (seen[k]++) {
			*rc = fb_sim_field_error(resp, field, "Duplicate input id");
			return 1;
		}
		if (nested && strcmp(in[i].type, d[k].type)) {
			snprintf(field, sizeof(field), "%s%zu.type", prefix, i);
			snprintf(msg, sizeof(msg), "Input %s has type %s, not %.16s", d[k].id,
				 d[k].type, in[i].type);
			*rc = fb_sim_field_error(resp, field, msg);
			return 1;
		}
		if (in[i].empty) {
			if (nested)
				snprintf(field, sizeof(field), "%s%zu.value", prefix, i);
			*rc = fb_sim_field_error(
			    resp, field,
			    d[k].required ? "Required"
					  : "Omit an optional input rather than send it empty");
			return 1;
		}
	}
	for (size_t k = 0; k < nd; k++) {
		if (d[k].required && !seen[k]) {
			snprintf(field, sizeof(field), "inputs");
			snprintf(msg, sizeof(msg), "Required input %s (%s) is missing", d[k].id,
				 d[k].type);
			*rc = fb_sim_field_error(resp, field, msg);
			return 1;
		}
	}
	return 0;
}

int fb_simcat_writable(int w)
{
	return strcmp(workspaces[w].role, "viewer") != 0;
}

static void field(struct fb_simjw *w, const char *id, const char *name, const char *type,
		  const char *description, int optional)
{
	fb_simjw_open(w, 0);
	fb_simjw_key(w, "id");
	fb_simjw_str(w, id);
	fb_simjw_key(w, "name");
	fb_simjw_str(w, name);
	fb_simjw_key(w, "type");
	fb_simjw_str(w, type);
	fb_simjw_key(w, "description");
	fb_simjw_str(w, description);
	if (optional) {
		fb_simjw_key(w, "optional");
		fb_simjw_bool(w, 1);
	}
	fb_simjw_close(w, 0);
}

static void write_technique(struct fb_simjw *w, int t)
{
	const struct tech *c = &catalog[t];
	char id[96];
	snprintf(id, sizeof(id), "tech_%s", c->slug);
	fb_simjw_open(w, 0);
	fb_simjw_key(w, "technique_id");
	fb_simjw_str(w, id);
	fb_simjw_key(w, "name");
	fb_simjw_str(w, c->name);
	fb_simjw_key(w, "description");
	fb_simjw_str(w, c->description);
	fb_simjw_key(w, "run_cost");
	fb_simjw_cost(w, tmpl_cost[c->tmpl]);
	fb_simjw_key(w, "inputs");
	fb_simjw_open(w, 1);
	field(w, "input_image", "Input image", "imageUrl", "The image to work from.", 0);
	if (c->tmpl == T_PAIR)
		field(w, "reference_image", "Reference image", "imageUrl",
		      "The image whose look is applied.", 0);
	field(w, "prompt", "Prompt", "text", "Extra direction; omit rather than send empty.", 1);
	fb_simjw_close(w, 1);
	fb_simjw_key(w, "outputs");
	fb_simjw_open(w, 1);
	if (c->tmpl == T_VIDEO) {
		fb_simjw_open(w, 0);
		fb_simjw_key(w, "id");
		fb_simjw_str(w, "output_video");
		fb_simjw_key(w, "name");
		fb_simjw_str(w, "Video");
		fb_simjw_key(w, "type");
		fb_simjw_str(w, "videoUrl");
		fb_simjw_key(w, "specified_duration");
		fb_simjw_int(w, 5);
		fb_simjw_close(w, 0);
	} else if (c->tmpl == T_TEXT) {
		field(w, "output_text", "Text", "text", "The written answer.", 0);
	} else {
		field(w, "output_image", "Image", "imageUrl", "The result.", 0);
	}
	fb_simjw_close(w, 1);
	fb_simjw_close(w, 0);
}

/* Case-insensitive substring match of the slug, name or description (ASCII). */
static int matches(const struct tech *c, const char *query)
{
	const char *hay[] = {c->slug, c->name, c->description};
	size_t qn = strlen(query);
	for (size_t h = 0; h < 3; h++)
		for (const char *p = hay[h]; strlen(p) >= qn; p++) {
			size_t i = 0;
			while (i < qn && (p[i] | 0x20) == (query[i] | 0x20))
				i++;
			if (i == qn)
				return 1;
		}
	return 0;
}

int fb_simcat_list(struct fb_simmodel *m, const struct fb_simquery *q, struct fb_simresp *resp)
{
	size_t limit;
	int rc = 0;
	if (fb_sim_limit(resp, fb_simquery_get(q, "limit"), &limit, &rc))
		return rc;
	if (m->cfg.page_cap && limit > m->cfg.page_cap)
		limit = m->cfg.page_cap; /* a short page, as run lists give: the cursor goes on */
	const char *ws = fb_simquery_get(q, "workspace_id"), *query = fb_simquery_get(q, "query");
	const char *cursor = fb_simquery_get(q, "cursor");
	if (ws && *ws && !fb_simreq_has_prefix(ws, "ws_"))
		return fb_sim_field_error(resp, "workspace_id",
					  "Invalid ID: expected ws_ followed by the ID");
	long long start = cursor && *cursor ? fb_sim_cursor_pos(cursor) : 0;
	if (start < 0 || start > (long long)NCATALOG)
		return fb_sim_field_error(resp, "cursor", "Invalid cursor");
	/* The catalog is the same in every workspace. */
	size_t total = 0, shown = 0, next = 0;
	struct fb_simjw w;
	if (fb_simjw_start(&w, m->camel))
		return FB_ENOMEM;
	fb_simjw_open(&w, 0);
	fb_simjw_key(&w, "techniques");
	fb_simjw_open(&w, 1);
	for (size_t i = 0; i < NCATALOG; i++) {
		if (query && *query && !matches(&catalog[i], query))
			continue;
		total++;
		if (i < (size_t)start)
			continue;
		if (shown == limit) {
			if (!next)
				next = i;
			continue;
		}
		write_technique(&w, (int)i);
		shown++;
	}
	fb_simjw_close(&w, 1);
	fb_simjw_key(&w, "meta");
	fb_simjw_open(&w, 0);
	fb_simjw_key(&w, "next_cursor");
	char cur[32];
	fb_sim_cursor(next, cur);
	fb_simjw_str(&w, next ? cur : NULL);
	fb_simjw_key(&w, "total_estimate");
	fb_simjw_int(&w, (long long)total);
	fb_simjw_close(&w, 0);
	fb_simjw_close(&w, 0);
	return fb_sim_json(resp, 200, fb_simjw_finish(&w, &resp->body));
}

int fb_simcat_get(struct fb_simmodel *m, const char *id, struct fb_simresp *resp)
{
	int tech_form, t = fb_simcat_find(id, &tech_form);
	if (t < 0)
		return fb_sim_not_found(resp, "Technique", id);
	struct fb_simjw w;
	if (fb_simjw_start(&w, m->camel))
		return FB_ENOMEM;
	write_technique(&w, t);
	return fb_sim_json(resp, 200, fb_simjw_finish(&w, &resp->body));
}

int fb_simcat_workspaces(struct fb_simmodel *m, struct fb_simresp *resp)
{
	struct fb_simjw w;
	if (fb_simjw_start(&w, m->camel))
		return FB_ENOMEM;
	fb_simjw_open(&w, 0);
	fb_simjw_key(&w, "workspaces");
	fb_simjw_open(&w, 1);
	for (size_t i = 0; i < sizeof(workspaces) / sizeof(workspaces[0]); i++) {
		fb_simjw_open(&w, 0);
		fb_simjw_key(&w, "workspace_id");
		fb_simjw_str(&w, workspaces[i].id);
		fb_simjw_key(&w, "name");
		fb_simjw_str(&w, workspaces[i].name);
		fb_simjw_key(&w, "created_at");
		fb_simjw_int(&w, (long long)workspaces[i].created_at);
		fb_simjw_key(&w, "role");
		fb_simjw_str(&w, workspaces[i].role);
		fb_simjw_close(&w, 0);
	}
	fb_simjw_close(&w, 1);
	fb_simjw_close(&w, 0);
	return fb_sim_json(resp, 200, fb_simjw_finish(&w, &resp->body));
}
