/*
 * label_ft.c - glyph bitmaps for the raster canvas, from the same font file
 * the PDF embeds.  The only user of FreeType.
 *
 * An FT_Face may be used by one thread at a time, so the context keeps a
 * small pool of faces (each with its own FT_Library), opened on first use
 * and handed to one render at a time (label_ft_get / label_ft_put).  Each
 * face caches the glyphs it has rendered, keyed by code point, size (1/64
 * pt), dpi and weight: a label's fixed text and digits repeat from label to
 * label.  When the cache is full it is emptied and filled again.
 *
 * Glyphs are rendered 1-bit (FreeType's monochrome rasteriser, hinted for
 * it), bold as the PDF's fill-then-stroke: the outline grown by the stroke
 * width (BOLD_STROKE em) before it is rasterised.  The pen positions are
 * the caller's (advances from font.c, as the PDF measures), so a raster line
 * is as wide as the PDF's.
 */
/* FreeType's headers come before common.h: its ftstdlib.h names the
 * unbounded string calls that common.h poisons (as macros it never expands
 * here).  The feature macro is common.h's own, set first as it would. */
#define _GNU_SOURCE 1
#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H

#include "common.h"

#include <pthread.h>
#include <stdlib.h>

#include "label_int.h"

#define FT_FACES 8	       /* faces in the pool: renders at once without waiting */
#define CACHE_SLOTS 4096       /* glyphs a face caches (a power of two) */
#define CACHE_BYTES (4u << 20) /* bitmap bytes a face caches */

struct cached {
	uint32_t cp;
	int32_t size64; /* 1/64 pt; 0: the slot is free */
	int16_t dpi;
	bool bold, blank;
	struct label_glyph g;
	unsigned char *bits;
};

struct label_ft_face {
	pthread_mutex_t mu;
	bool open, broken;
	FT_Library lib;
	FT_Face face;
	struct cached *cache; /* CACHE_SLOTS */
	size_t cached_bytes, cached_n;
};

struct label_ft {
	char *path;
	unsigned index;
	struct label_ft_face faces[FT_FACES];
};

static void cache_clear(struct label_ft_face *f)
{
	for (size_t i = 0; f->cache && i < CACHE_SLOTS; i++) {
		free(f->cache[i].bits);
		memset(&f->cache[i], 0, sizeof(f->cache[i]));
	}
	f->cached_bytes = 0;
	f->cached_n = 0;
}

static bool face_open(const struct label_ft *ft, struct label_ft_face *f)
{
	if (f->open)
		return true;
	if (f->broken)
		return false;
	f->cache = calloc(CACHE_SLOTS, sizeof(*f->cache));
	if (!f->cache || FT_Init_FreeType(&f->lib) != 0) {
		free(f->cache);
		f->cache = NULL;
		return false; /* out of memory: try again next time */
	}
	if (FT_New_Face(f->lib, ft->path, (FT_Long)ft->index, &f->face) != 0) {
		FT_Done_FreeType(f->lib);
		free(f->cache);
		f->cache = NULL;
		f->broken = true;
		return false;
	}
	f->open = true;
	return true;
}

enum st label_ft_new(const char *path, unsigned index, struct label_ft **out)
{
	struct label_ft *ft = calloc(1, sizeof(*ft));

	if (!ft)
		return ST_NOMEM;
	ft->path = strdup(path);
	ft->index = index;
	if (!ft->path) {
		free(ft);
		return ST_NOMEM;
	}
	for (int i = 0; i < FT_FACES; i++)
		pthread_mutex_init(&ft->faces[i].mu, NULL);
	/* Open one face now: a font FreeType cannot read fails at start-up. */
	if (!face_open(ft, &ft->faces[0])) {
		enum st st = ft->faces[0].broken ? ST_INVALID : ST_NOMEM;
		label_ft_free(ft);
		return st;
	}
	*out = ft;
	return ST_OK;
}

void label_ft_free(struct label_ft *ft)
{
	if (!ft)
		return;
	for (int i = 0; i < FT_FACES; i++) {
		struct label_ft_face *f = &ft->faces[i];
		if (f->open) {
			cache_clear(f);
			FT_Done_Face(f->face);
			FT_Done_FreeType(f->lib);
		}
		free(f->cache);
		pthread_mutex_destroy(&f->mu);
	}
	free(ft->path);
	free(ft);
}

struct label_ft_face *label_ft_get(struct label_ft *ft)
{
	static _Atomic unsigned next;

	for (int i = 0; i < FT_FACES; i++)
		if (pthread_mutex_trylock(&ft->faces[i].mu) == 0) {
			if (face_open(ft, &ft->faces[i]))
				return &ft->faces[i];
			pthread_mutex_unlock(&ft->faces[i].mu);
		}
	/* All busy (or unopenable): wait for one that opens. */
	for (int tries = 0; tries < FT_FACES; tries++) {
		struct label_ft_face *f = &ft->faces[next++ % FT_FACES];
		pthread_mutex_lock(&f->mu);
		if (face_open(ft, f))
			return f;
		pthread_mutex_unlock(&f->mu);
	}
	return NULL;
}

void label_ft_put(struct label_ft *ft, struct label_ft_face *face)
{
	(void)ft;
	if (face)
		pthread_mutex_unlock(&face->mu);
}

static size_t cache_hash(uint32_t cp, int32_t size64, int dpi, bool bold)
{
	uint32_t h = cp * 2654435761u ^ (uint32_t)size64 * 40503u ^ (uint32_t)dpi * 97u ^ bold;
	return (h ^ h >> 15) & (CACHE_SLOTS - 1);
}

/* Render cp into the face's glyph slot as a 1-bit bitmap. */
static bool glyph_render(struct label_ft_face *f, uint32_t cp, int32_t size64, int dpi, bool bold)
{
	FT_UInt gi = FT_Get_Char_Index(f->face, cp);

	if (gi == 0)
		return false;
	if (FT_Set_Char_Size(f->face, 0, size64, (FT_UInt)dpi, (FT_UInt)dpi) != 0)
		return false;
	if (FT_Load_Glyph(f->face, gi, FT_LOAD_NO_BITMAP | FT_LOAD_TARGET_MONO) != 0)
		return false;
	FT_GlyphSlot s = f->face->glyph;
	if (s->format != FT_GLYPH_FORMAT_OUTLINE)
		return false;
	if (bold) {
		/* the PDF strokes the outline BOLD_STROKE em wide, centred */
		FT_Pos grow = (FT_Pos)(size64 / 64.0 * BOLD_STROKE * dpi / 72.0 * 64.0 + 0.5);
		FT_Outline_Embolden(&s->outline, grow);
	}
	return FT_Render_Glyph(s, FT_RENDER_MODE_MONO) == 0;
}

bool label_ft_glyph(struct label_ft_face *f, uint32_t cp, double size, int dpi, bool bold,
		    struct label_glyph *g)
{
	int32_t size64 = (int32_t)(size * 64.0 + 0.5);
	size_t h = cache_hash(cp, size64, dpi, bold);
	struct cached *c = NULL;

	if (size64 <= 0)
		return false;
	for (size_t i = 0; i < 8; i++) {
		struct cached *e = &f->cache[(h + i) & (CACHE_SLOTS - 1)];
		if (e->size64 == 0) {
			c = c ? c : e;
			break;
		}
		if (e->cp == cp && e->size64 == size64 && e->dpi == dpi && e->bold == bold) {
			if (e->blank)
				return false;
			*g = e->g;
			return true;
		}
	}
	if (!glyph_render(f, cp, size64, dpi, bold))
		return false;
	FT_Bitmap *bm = &f->face->glyph->bitmap;
	struct label_glyph ng = {
	    .left = f->face->glyph->bitmap_left,
	    .top = f->face->glyph->bitmap_top,
	    .w = (int)bm->width,
	    .h = (int)bm->rows,
	    .pitch = (int)((bm->width + 7) / 8),
	};
	size_t n = (size_t)ng.pitch * (size_t)ng.h;
	if (!c || f->cached_bytes + n > CACHE_BYTES || f->cached_n >= CACHE_SLOTS / 2) {
		cache_clear(f);
		c = &f->cache[h];
	}
	unsigned char *bits = n ? malloc(n) : NULL;
	if (n && !bits) {
		/* no memory to keep it: still draw it, from FreeType's buffer */
		if (bm->pitch != ng.pitch)
			return false;
		ng.bits = bm->buffer;
		*g = ng;
		return true;
	}
	for (int y = 0; y < ng.h; y++)
		memcpy(bits + (size_t)y * (size_t)ng.pitch, bm->buffer + (ptrdiff_t)y * bm->pitch,
		       (size_t)ng.pitch);
	ng.bits = bits;
	*c = (struct cached){cp, size64, (int16_t)dpi, bold, n == 0, ng, bits};
	f->cached_bytes += n;
	f->cached_n++;
	if (n == 0)
		return false;
	*g = ng;
	return true;
}
