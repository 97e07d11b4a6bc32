/* Posters: tiles with captions laid out by explain's grid, a title band
 * above, text drawn by synth/text.c. */
#include "synth/text.h"

#include <stdlib.h>
#include <string.h>

static const float text_colour[3] = {0.92f, 0.92f, 0.92f};
enum { CAPTION_MAX = 1024 };

void poster_options_default(poster_options *o)
{
    memset(o, 0, sizeof *o);
    classvis_options_default(&o->vis);
    o->cell = 224;
}

enum { POSTER_MAX_CLASSES = 4096, POSTER_MAX_CLASS = 1000000 };

/* A whole number in [0, POSTER_MAX_CLASS] spanning [s, end). */
static bool parse_class(const char *s, const char *end, int *k)
{
    long v = 0;
    if (s == end)
        return false;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9' || v > POSTER_MAX_CLASS)
            return false;
        v = v * 10 + (*s - '0');
    }
    *k = (int)v;
    return v <= POSTER_MAX_CLASS;
}

status poster_classes(const string_list *classes, int **out, int *count)
{
    *out = NULL;
    *count = 0;
    int n = 0;
    int *ks = alloc_array(POSTER_MAX_CLASSES, sizeof *ks, "--classes");
    if (!ks)
        return ST_ERROR;
    for (int i = 0; i < classes->count; i++) {
        const char *item = classes->items[i], *dash = strchr(item, '-'), *end = item + strlen(item);
        int lo, hi;
        if (!(dash ? parse_class(item, dash, &lo) && parse_class(dash + 1, end, &hi) && lo <= hi
                   : parse_class(item, end, &lo))) {
            free(ks);
            return error_set("--classes", "'%s' is not a class index K (0 to %d) or a range A-B", item,
                             POSTER_MAX_CLASS);
        }
        if (!dash)
            hi = lo;
        for (int k = lo; k <= hi; k++) {
            if (n == POSTER_MAX_CLASSES) {
                free(ks);
                return error_set("--classes", "more than %d classes", POSTER_MAX_CLASSES);
            }
            ks[n++] = k;
        }
    }
    if (n == 0) {
        free(ks);
        return error_set("--classes", "no classes");
    }
    *out = ks;
    *count = n;
    return ST_OK;
}

int poster_gap(int cell) { return cell / 32 > 1 ? cell / 32 : 1; }
int poster_caption_px(int cell) { return cell / 14 > 10 ? cell / 14 : 10; }

static status style_check(const poster_style *s, int count)
{
    if (s->cols < 1)
        return error_set("--cols", "must be ≥ 1, got %d", s->cols);
    if (s->cell < 8 || s->cell > 8192)
        return error_set("--cell", "must be in [8, 8192], got %d", s->cell);
    if (s->caption_px < 4 || s->caption_px > 1024)
        return error_set("--caption-size", "must be in [4, 1024], got %d", s->caption_px);
    if (count < 1)
        return error_set("poster", "no tiles");
    return ST_OK;
}

status poster_check_font(const poster_style *s)
{
    text_font *f;
    if (text_font_open(s->font, s->caption_px, "--font", &f) != ST_OK)
        return ST_ERROR;
    text_font_free(f);
    return ST_OK;
}

/* Draws `text` centred in the band [top, top + height) × [left, left + width),
 * cut to fit the width. */
static void draw_centred(text_font *f, image *im, const char *text, int left, int top, int width, int height)
{
    char line[CAPTION_MAX];
    text_fit(f, text, width, line, sizeof line);
    int asc, desc;
    text_font_extent(f, &asc, &desc);
    int x = left + (width - text_width(f, line)) / 2;
    int baseline = top + (height + asc - desc) / 2;
    text_draw(f, im, x, baseline, line, text_colour);
}

status poster_compose(const poster_style *s, const image *tiles, const char *const *captions, int count,
                      image *out)
{
    *out = (image){0};
    if (style_check(s, count) != ST_OK)
        return ST_ERROR;
    int C = s->caption_px, cell = s->cell, band = 2 * C;
    bool titled = s->title && *s->title;
    int title_band = titled ? 4 * C : 0;
    grid_layout g;
    text_font *caption_font = NULL, *title_font = NULL;
    image grid = {0}, slot = {0}, scaled = {0};
    status st = ST_ERROR;
    if (grid_layout_init_gap(&g, count, cell, cell + band, s->cols, poster_gap(cell)) != ST_OK ||
        text_font_open(s->font, C, "--font", &caption_font) != ST_OK ||
        (titled && text_font_open(s->font, 2 * C, "--font", &title_font) != ST_OK) ||
        grid_image(&g, &grid) != ST_OK || image_alloc(&slot, cell, cell + band, "poster") != ST_OK)
        goto done;
    /* the background colour, from the grid's own */
    float bg = grid.data[0];
    for (int k = 0; k < count; k++) {
        int x0, y0;
        grid_slot_origin(&g, k, &x0, &y0);
        if (tiles[k].data) {
            const image *t = &tiles[k];
            if (t->width != cell || t->height != cell) {
                bool down = (double)t->width * t->height > (double)cell * cell;
                if (image_resize(t, cell, cell, down ? IMAGE_RESAMPLE_AREA : IMAGE_RESAMPLE_BICUBIC, &scaled) != ST_OK)
                    goto done;
                t = &scaled;
            }
            /* the slot: the tile above a blank band */
            size_t n = (size_t)3 * cell * (size_t)(cell + band);
            for (size_t i = 0; i < n; i++)
                slot.data[i] = bg;
            for (int c = 0; c < 3; c++)
                memcpy(image_plane(&slot, c), image_plane(t, c), sizeof(float) * (size_t)cell * (size_t)cell);
            grid_put(&g, &grid, k, &slot);
            image_free(&scaled);
        }
        if (captions && captions[k] && *captions[k])
            draw_centred(caption_font, &grid, captions[k], x0, y0 + cell, cell, band);
    }
    if (!titled) {
        *out = grid;
        grid = (image){0};
        st = ST_OK;
        goto done;
    }
    if (image_alloc(out, grid.width, grid.height + title_band, "poster") != ST_OK)
        goto done;
    size_t plane = (size_t)out->width * (size_t)out->height, top = (size_t)out->width * (size_t)title_band;
    for (int c = 0; c < 3; c++) {
        float *p = image_plane(out, c);
        for (size_t i = 0; i < top; i++)
            p[i] = bg;
        memcpy(p + top, image_plane(&grid, c), sizeof(float) * (plane - top));
    }
    draw_centred(title_font, out, s->title, g.gap, 0, out->width - 2 * g.gap, title_band);
    st = ST_OK;
done:
    text_font_free(caption_font);
    text_font_free(title_font);
    image_free(&grid);
    image_free(&slot);
    image_free(&scaled);
    if (st != ST_OK)
        image_free(out);
    return st;
}
