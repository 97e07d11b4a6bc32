/* text.h — private to synth/: one line of text drawn with FreeType into a
 * float image (the poster's captions and title). */
#ifndef SYNTH_TEXT_H
#define SYNTH_TEXT_H

#include "synth/synth.h"

typedef struct text_font text_font;

/* Opens a TrueType/OpenType file at `pixel_size` pixels per em. path NULL:
 * the first of poster_default_font()'s list that exists. Errors name
 * `what` (the flag) and the path. */
status text_font_open(const char *path, int pixel_size, const char *what, text_font **out);
void text_font_free(text_font *f);
/* Pixels above and below the baseline of a line (the face's ascender and
 * descender at this size, both ≥ 0). */
void text_font_extent(const text_font *f, int *ascent, int *descent);
/* The advance width of `utf8` in pixels (kerning included). */
int text_width(text_font *f, const char *utf8);
/* `utf8` when it is at most max_width wide, else its longest prefix (whole
 * characters, trailing spaces dropped) followed by "…" that is; "" when not
 * even that fits. buf: n bytes. */
void text_fit(text_font *f, const char *utf8, int max_width, char *buf, size_t n);
/* Draws `utf8` with its pen starting at x and its baseline at row
 * `baseline`: each pixel becomes (1 − a)·pixel + a·rgb, a the glyph's
 * anti-aliased coverage; pixels outside the image are skipped. */
void text_draw(text_font *f, image *im, int x, int baseline, const char *utf8, const float rgb[3]);

#endif
