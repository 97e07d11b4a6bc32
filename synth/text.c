/* Text with FreeType: UTF-8 decoded here, each glyph rendered by FreeType
 * as an 8-bit coverage bitmap and blended into the float image by us. */
#include "synth/text.h"

#include <errno.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct text_font {
    FT_Library lib;
    FT_Face face;
};

/* DejaVuSans.ttf where distributions put it (Debian's fonts-dejavu-core first). */
static const char *const font_paths[] = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
};

const char *poster_default_font(void)
{
    for (size_t i = 0; i < sizeof font_paths / sizeof *font_paths; i++) {
        FILE *f = fopen(font_paths[i], "rb");
        if (f) {
            fclose(f);
            return font_paths[i];
        }
    }
    return NULL;
}

status text_font_open(const char *path, int pixel_size, const char *what, text_font **out)
{
    *out = NULL;
    if (!path && !(path = poster_default_font()))
        return error_set(what, "no font: %s is missing (install the Debian package "
                         "fonts-dejavu-core) and no --font FILE was given", font_paths[0]);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return error_set(what, "%s: %s", path, strerror(errno));
    fclose(probe);
    if (pixel_size < 1 || pixel_size > 4096)
        return error_set(what, "text size %d px is not in [1, 4096]", pixel_size);
    text_font *f = alloc_array(1, sizeof *f, "font");
    if (!f)
        return ST_ERROR;
    if (FT_Init_FreeType(&f->lib) != 0) {
        free(f);
        return error_set(what, "FreeType did not start");
    }
    if (FT_New_Face(f->lib, path, 0, &f->face) != 0) {
        FT_Done_FreeType(f->lib);
        free(f);
        return error_set(what, "%s: not a font FreeType can read", path);
    }
    if (FT_Set_Pixel_Sizes(f->face, 0, (FT_UInt)pixel_size) != 0) {
        text_font_free(f);
        return error_set(what, "%s: cannot be drawn at %d px", path, pixel_size);
    }
    *out = f;
    return ST_OK;
}

void text_font_free(text_font *f)
{
    if (!f)
        return;
    if (f->face)
        FT_Done_Face(f->face);
    FT_Done_FreeType(f->lib);
    free(f);
}

void text_font_extent(const text_font *f, int *ascent, int *descent)
{
    /* 26.6 fixed point */
    *ascent = (int)((f->face->size->metrics.ascender + 63) >> 6);
    long d = -f->face->size->metrics.descender;
    *descent = d > 0 ? (int)((d + 63) >> 6) : 0;
}

/* The code point at *s, advancing *s; malformed bytes read as U+FFFD. */
static unsigned long next_code_point(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    int len = p[0] < 0x80 ? 1 : (p[0] >> 5) == 6 ? 2 : (p[0] >> 4) == 14 ? 3 : (p[0] >> 3) == 30 ? 4 : 0;
    unsigned long cp = len == 1 ? p[0] : len == 2 ? p[0] & 0x1Fu : len == 3 ? p[0] & 0x0Fu : p[0] & 0x07u;
    for (int i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            len = 0;
            break;
        }
        cp = cp << 6 | (p[i] & 0x3Fu);
    }
    if (len == 0) {
        *s += 1;
        return 0xFFFD;
    }
    *s += len;
    return cp;
}

/* Walks the glyphs of `utf8`: the pen (26.6) before each, after kerning;
 * with `im`, draws them. Returns the final pen position in pixels. */
static int layout(text_font *f, const char *utf8, image *im, int x, int baseline, const float rgb[3])
{
    FT_Face face = f->face;
    long pen = (long)x * 64;
    FT_UInt previous = 0;
    for (const char *s = utf8; *s;) {
        FT_UInt glyph = FT_Get_Char_Index(face, next_code_point(&s));
        if (previous && glyph && FT_HAS_KERNING(face)) {
            FT_Vector k;
            if (FT_Get_Kerning(face, previous, glyph, FT_KERNING_DEFAULT, &k) == 0)
                pen += k.x;
        }
        previous = glyph;
        if (FT_Load_Glyph(face, glyph, im ? FT_LOAD_RENDER : FT_LOAD_DEFAULT) != 0)
            continue;
        FT_GlyphSlot g = face->glyph;
        if (im && g->bitmap.pixel_mode == FT_PIXEL_MODE_GRAY) {
            /* bitmap: rows × width coverage, top-left at (pen + left, baseline − top) */
            int x0 = (int)((pen + 32) >> 6) + g->bitmap_left, y0 = baseline - g->bitmap_top;
            float full = (float)(g->bitmap.num_grays > 1 ? g->bitmap.num_grays - 1 : 255);
            size_t plane = (size_t)im->width * (size_t)im->height;
            for (unsigned r = 0; r < g->bitmap.rows; r++) {
                int y = y0 + (int)r;
                if (y < 0 || y >= im->height)
                    continue;
                const unsigned char *row = g->bitmap.buffer + (long)r * g->bitmap.pitch;
                for (unsigned c = 0; c < g->bitmap.width; c++) {
                    int xx = x0 + (int)c;
                    if (xx < 0 || xx >= im->width || row[c] == 0)
                        continue;
                    float a = row[c] / full;
                    size_t i = (size_t)y * (size_t)im->width + (size_t)xx;
                    for (int ch = 0; ch < 3; ch++)
                        im->data[ch * plane + i] = (1 - a) * im->data[ch * plane + i] + a * rgb[ch];
                }
            }
        }
        pen += g->advance.x;
    }
    return (int)((pen + 63) >> 6);
}

int text_width(text_font *f, const char *utf8) { return layout(f, utf8, NULL, 0, 0, NULL); }

void text_fit(text_font *f, const char *utf8, int max_width, char *buf, size_t n)
{
    static const char ellipsis[] = "\xE2\x80\xA6"; /* U+2026 */
    if (n == 0)
        return;
    snprintf(buf, n, "%s", utf8);
    if (text_width(f, buf) <= max_width && strlen(utf8) < n)
        return;
    /* the longest prefix of whole characters that fits with the ellipsis */
    size_t best = 0;
    bool any = false;
    for (const char *s = utf8; *s;) {
        next_code_point(&s);
        size_t len = (size_t)(s - utf8);
        if (len + sizeof ellipsis > n)
            break;
        memcpy(buf, utf8, len);
        memcpy(buf + len, ellipsis, sizeof ellipsis);
        if (text_width(f, buf) > max_width)
            break;
        best = len;
        any = true;
    }
    while (best > 0 && utf8[best - 1] == ' ')
        best--;
    memcpy(buf, utf8, best);
    memcpy(buf + best, ellipsis, sizeof ellipsis);
    if (!any && text_width(f, buf) > max_width)
        buf[0] = '\0';
}

void text_draw(text_font *f, image *im, int x, int baseline, const char *utf8, const float rgb[3])
{
    layout(f, utf8, im, x, baseline, rgb);
}
