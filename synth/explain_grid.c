/* Grids of tiles — the one layout behind filters, activations and
 * top-patches — and the filter and feature-map grids drawn with it. */
#include "synth/synth.h"

#include <math.h>
#include <string.h>

static const float grid_background = 0.12f;

status grid_layout_init(grid_layout *g, int count, int tile_width, int tile_height, int cols)
{
    return grid_layout_init_gap(g, count, tile_width, tile_height, cols, 1);
}

status grid_layout_init_gap(grid_layout *g, int count, int tile_width, int tile_height, int cols, int gap)
{
    memset(g, 0, sizeof *g);
    if (gap < 0 || gap > 65536)
        return error_set("grid", "gap %d", gap);
    if (count < 1 || tile_width < 1 || tile_height < 1)
        return error_set("grid", "nothing to lay out");
    if (cols <= 0)
        cols = (int)ceil(sqrt((double)count));
    cols = cols > count ? count : cols;
    g->count = count;
    g->cols = cols;
    g->rows = (count + cols - 1) / cols;
    g->tile_width = tile_width;
    g->tile_height = tile_height;
    g->gap = gap;
    int64_t w = (int64_t)cols * (tile_width + g->gap) + g->gap;
    int64_t h = (int64_t)g->rows * (tile_height + g->gap) + g->gap;
    if (w > INT32_MAX || h > INT32_MAX)
        return error_set("grid", "%lld x %lld pixels is too large", (long long)w, (long long)h);
    return ST_OK;
}

status grid_image(const grid_layout *g, image *out)
{
    int w = g->cols * (g->tile_width + g->gap) + g->gap;
    int h = g->rows * (g->tile_height + g->gap) + g->gap;
    if (image_alloc(out, w, h, "grid") != ST_OK)
        return ST_ERROR;
    size_t n = (size_t)w * (size_t)h * 3;
    for (size_t i = 0; i < n; i++)
        out->data[i] = grid_background;
    return ST_OK;
}

void grid_slot_origin(const grid_layout *g, int index, int *x, int *y)
{
    *x = g->gap + (index % g->cols) * (g->tile_width + g->gap);
    *y = g->gap + (index / g->cols) * (g->tile_height + g->gap);
}

void grid_put(const grid_layout *g, image *out, int index, const image *tile)
{
    int x0, y0;
    grid_slot_origin(g, index, &x0, &y0);
    for (int c = 0; c < 3; c++) {
        const float *src = image_plane(tile, c);
        float *dst = image_plane(out, c);
        for (int y = 0; y < g->tile_height; y++) {
            int sy = (int)((int64_t)y * tile->height / g->tile_height);
            for (int x = 0; x < g->tile_width; x++) {
                int sx = (int)((int64_t)x * tile->width / g->tile_width);
                dst[(size_t)(y0 + y) * (size_t)out->width + (size_t)(x0 + x)] =
                    src[(size_t)sy * (size_t)tile->width + (size_t)sx];
            }
        }
    }
}

/* min and max of v[0..n) */
static void range_of(const float *v, size_t n, float *lo, float *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        *lo = fminf(*lo, v[i]);
        *hi = fmaxf(*hi, v[i]);
    }
}

/* (v - lo) / (hi - lo); 0.5 when the range is empty. */
static float stretch(float v, float lo, float hi) { return hi > lo ? (v - lo) / (hi - lo) : 0.5f; }

/* The same n values in all three planes of `tile`, stretched. */
static void gray_tile(image *tile, const float *v, float lo, float hi)
{
    size_t n = (size_t)tile->width * (size_t)tile->height;
    for (size_t i = 0; i < n; i++)
        tile->data[i] = tile->data[n + i] = tile->data[2 * n + i] = stretch(v[i], lo, hi);
}

static int zoom_for(int zoom, int64_t h, int64_t w, int target)
{
    int64_t big = h > w ? h : w;
    return zoom > 0 ? zoom : (int)((target + big - 1) / big);
}

/* W: [O, I, kh, kw]. */
status explain_filters(net_model *m, int layer, const filters_options *o, image *grid)
{
    const tensor *W;
    if (net_layer_weights(m, layer, &W) != ST_OK)
        return ST_ERROR;
    char buf[96];
    if (W->ndim != 4 || W->shape[2] > 4096 || W->shape[3] > 4096)
        return error_set(net_layer_name(m, layer), "filters of shape %s are not 2-D images",
                         shape_format(W->ndim, W->shape, buf, sizeof buf));
    int64_t O = W->shape[0], I = W->shape[1], kh = W->shape[2], kw = W->shape[3];
    int nf = (int)(o->max_filters > 0 && o->max_filters < O ? o->max_filters : O);
    int ns = (int)(o->max_slices > 0 && o->max_slices < I ? o->max_slices : I);
    bool colour = I == 3;
    int zoom = zoom_for(o->zoom, kh, kw, 32);
    if ((int64_t)zoom * kh > 65536 || (int64_t)zoom * kw > 65536)
        return error_set("--zoom", "%d makes tiles too large", zoom);
    grid_layout g;
    image tile = {0};
    if (grid_layout_init(&g, colour ? nf : nf * ns, (int)(kw * zoom), (int)(kh * zoom), colour ? 0 : ns) != ST_OK ||
        image_alloc(&tile, (int)kw, (int)kh, "filters") != ST_OK || grid_image(&g, grid) != ST_OK) {
        image_free(&tile);
        return ST_ERROR;
    }
    bool bgr = net_model_preprocess(m)->bgr;
    size_t k2 = (size_t)(kh * kw), per_filter = (size_t)I * k2;
    for (int f = 0; f < nf; f++) {
        const float *w = W->data + (size_t)f * per_filter;
        float lo, hi;
        range_of(w, per_filter, &lo, &hi);
        if (colour) { /* image channel c shows the weights of network channel c (RGB) or 2 - c */
            for (int c = 0; c < 3; c++)
                for (size_t i = 0; i < k2; i++)
                    image_plane(&tile, c)[i] = stretch(w[(size_t)(bgr ? 2 - c : c) * k2 + i], lo, hi);
            grid_put(&g, grid, f, &tile);
            continue;
        }
        for (int s = 0; s < ns; s++) {
            gray_tile(&tile, w + (size_t)s * k2, lo, hi);
            grid_put(&g, grid, f * ns + s, &tile);
        }
    }
    image_free(&tile);
    return ST_OK;
}

/* act: [1, C, h, w], [1, C, w] or [1, C]. */
status explain_activation_grid(const tensor *act, normalize_mode mode, int zoom, image *grid)
{
    char buf[96];
    if (act->ndim < 2 || act->ndim > 4 || act->shape[0] != 1 || act->shape[1] < 1)
        return error_set("activations", "expected [1, C, h, w], got %s",
                         shape_format(act->ndim, act->shape, buf, sizeof buf));
    int64_t C = act->shape[1], h = act->ndim == 4 ? act->shape[2] : 1,
            w = act->ndim >= 3 ? act->shape[act->ndim - 1] : 1;
    if (C > INT32_MAX || h * w == 0 || h > 65536 || w > 65536)
        return error_set("activations", "cannot lay out %s as maps",
                         shape_format(act->ndim, act->shape, buf, sizeof buf));
    zoom = zoom_for(zoom, h, w, 64);
    if ((int64_t)zoom * h > 65536 || (int64_t)zoom * w > 65536)
        return error_set("--zoom", "%d makes tiles too large", zoom);
    grid_layout g;
    image tile = {0};
    if (grid_layout_init(&g, (int)C, (int)(w * zoom), (int)(h * zoom), 0) != ST_OK ||
        image_alloc(&tile, (int)w, (int)h, "activations") != ST_OK || grid_image(&g, grid) != ST_OK) {
        image_free(&tile);
        return ST_ERROR;
    }
    size_t hw = (size_t)(h * w);
    float lo, hi;
    range_of(act->data, tensor_numel(act), &lo, &hi);
    for (int64_t c = 0; c < C; c++) {
        const float *a = act->data + (size_t)c * hw;
        if (mode == NORMALIZE_MAP)
            range_of(a, hw, &lo, &hi);
        gray_tile(&tile, a, lo, hi);
        grid_put(&g, grid, (int)c, &tile);
    }
    image_free(&tile);
    return ST_OK;
}
