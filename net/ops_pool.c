/* Pools: MaxPool, AveragePool (1-D to 3-D windows, strides, pads, dilations
 * for MaxPool, ceil_mode, count_include_pad), GlobalAveragePool and
 * GlobalMaxPool, forward and backward side by side.
 *
 * Shapes: X [N, C, D, H, W] (fewer spatial dims run with the leading ones at
 * 1), Y [N, C, OD, OH, OW]. Planes (n, c) are independent and split over the
 * pool, so backward scatters never race.
 * MaxPool keeps for backward only the argmax of each window as the tap index
 * inside the window (1 byte for windows of up to 255 taps), not the input.
 * Ties go to the first tap in scan order and NaN wins, as in PyTorch.
 */
#include "net/ops.h"

#include <math.h>
#include <string.h>

status pool_infer(const graph_node *node, const nd_shape *in, nd_shape *out, window_geom *geo)
{
    return window_infer(node, &in[0], NULL, out, geo);
}

status global_pool_infer(const nd_shape *in, nd_shape *out)
{
    if (in[0].ndim < 3)
        return error_set(NULL, "input has %d dimensions (expects N, C and spatial dims)",
                         in[0].ndim);
    *out = in[0];
    for (int i = 2; i < out->ndim; i++)
        out->d[i] = 1;
    return ST_OK;
}

static int64_t taps_of(const window_attrs *a)
{
    int64_t t = 1;
    for (int i = 0; i < GRAPH_MAX_SPATIAL; i++)
        t *= a->kernel[i] > 0 ? a->kernel[i] : 1;
    return t;
}

/* Bytes per saved argmax: the smallest unsigned type holding every tap index
 * plus the "no tap" marker. */
static size_t argmax_width(int64_t taps) { return taps < 255 ? 1 : taps < 65535 ? 2 : 4; }

size_t max_pool_saved_bytes(const graph_node *node, const nd_shape *out)
{
    return shape_count(out) * argmax_width(taps_of(&node->attrs.window));
}

static void argmax_store(void *saved, size_t width, int64_t i, uint32_t tap)
{
    if (width == 1)
        ((uint8_t *)saved)[i] = (uint8_t)tap;
    else if (width == 2)
        ((uint16_t *)saved)[i] = (uint16_t)tap;
    else
        ((uint32_t *)saved)[i] = tap;
}

static uint32_t argmax_load(const void *saved, size_t width, int64_t i)
{
    return width == 1   ? ((const uint8_t *)saved)[i]
           : width == 2 ? ((const uint16_t *)saved)[i]
                        : ((const uint32_t *)saved)[i];
}

static uint32_t no_tap(size_t width)
{
    return width == 1 ? 0xFFu : width == 2 ? 0xFFFFu : 0xFFFFFFFFu;
}

typedef struct {
    const op_call *c;
    const tensor *gout;
    tensor *gin;
} pool_job;

static int64_t taps_in(const window_geom *g) { return g->kernel[0] * g->kernel[1] * g->kernel[2]; }

/* The input offset (within a plane) of tap number `tap` ((kd·kH + kh)·kW + kw)
 * of output (od, oh, ow), or -1 for a zero pad; *in_padded tells whether the tap lies inside the
 * padded extent [-pad_begin, in + pad_end). */
static int64_t tap_source(const window_geom *g, const int64_t *o, int64_t tap, bool circular,
                          bool *in_padded)
{
    int64_t k[3] = {tap / (g->kernel[1] * g->kernel[2]), tap / g->kernel[2] % g->kernel[1],
                    tap % g->kernel[2]};
    int64_t off = 0;
    bool inside = true;
    *in_padded = true;
    for (int a = 0; a < 3; a++) {
        int64_t pos = o[a] * g->stride[a] - g->pad_begin[a] + k[a] * g->dilation[a];
        if (pos < -g->pad_begin[a] || pos >= g->in[a] + g->pad_end[a])
            *in_padded = false;
        int64_t i = window_source(o[a], k[a], g->stride[a], g->dilation[a], g->pad_begin[a],
                                  g->in[a], circular);
        if (i < 0 || (circular && !*in_padded))
            inside = false;
        off = off * g->in[a] + (i < 0 ? 0 : i);
    }
    return inside ? off : -1;
}

/* Output coordinates (od, oh, ow) of index i within a plane. */
static void output_coords(const window_geom *g, int64_t i, int64_t *o)
{
    o[2] = i % g->out[2];
    i /= g->out[2];
    o[1] = i % g->out[1];
    o[0] = i / g->out[1];
}

static int64_t out_plane(const window_geom *g) { return g->out[0] * g->out[1] * g->out[2]; }

static int64_t plane_size(const window_geom *g) { return g->in[0] * g->in[1] * g->in[2]; }

/* ---- MaxPool ------------------------------------------------------------------ */

static void max_pool_planes(void *ctx, int64_t p0, int64_t p1, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    const window_geom *g = j->c->geo;
    const float *x = j->c->in[0]->data;
    float *y = j->c->out->data;
    void *saved = j->c->saved;
    size_t width = argmax_width(taps_in(g));
    for (int64_t p = p0; p < p1; p++)
        for (int64_t i = 0, oi = p * out_plane(g); i < out_plane(g); i++, oi++) {
            int64_t o[3];
            output_coords(g, i, o);
            const float *plane = x + p * plane_size(g);
            float best = -INFINITY;
            uint32_t best_tap = no_tap(width), tap = 0;
            for (; tap < taps_in(g); tap++) {
                bool in_padded;
                int64_t src = tap_source(g, o, tap, j->c->circular, &in_padded);
                if (src < 0)
                    continue;
                float v = plane[src];
                if (best_tap == no_tap(width) || v > best || isnan(v)) {
                    best = v;
                    best_tap = tap;
                    if (isnan(v))
                        goto done;
                }
            }
        done:
            y[oi] = best;
            if (saved)
                argmax_store(saved, width, oi, best_tap);
        }
}

void max_pool_forward(const op_call *c)
{
    pool_job j = {c, NULL, NULL};
    parallel_for(c->geo->n * c->geo->c, max_pool_planes, &j);
}

static void max_pool_backward_planes(void *ctx, int64_t p0, int64_t p1, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    const window_geom *g = j->c->geo;
    const float *gy = j->gout->data;
    float *gx = j->gin->data;
    size_t width = argmax_width(taps_in(g));
    for (int64_t p = p0; p < p1; p++)
        for (int64_t i = 0, oi = p * out_plane(g); i < out_plane(g); i++, oi++) {
            int64_t o[3];
            output_coords(g, i, o);
            uint32_t tap = argmax_load(j->c->saved, width, oi);
            if (tap == no_tap(width))
                continue;
            bool in_padded;
            int64_t src = tap_source(g, o, tap, j->c->circular, &in_padded);
            gx[p * plane_size(g) + src] += gy[oi];
        }
}

void max_pool_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    if (!gin[0])
        return;
    pool_job j = {c, gout, gin[0]};
    parallel_for(c->geo->n * c->geo->c, max_pool_backward_planes, &j);
}

/* ---- AveragePool ---------------------------------------------------------------- */

/* The divisor of one window: taps inside the input, or (count_include_pad,
 * and always with circular pads, whose taps are real pixels) taps inside the
 * padded extent. */
static float average_divisor(const op_call *c, const int64_t *o)
{
    const window_geom *g = c->geo;
    bool with_pads = c->node->attrs.window.count_include_pad || c->circular;
    int64_t count = 0;
    for (int64_t tap = 0; tap < taps_in(g); tap++) {
        bool in_padded;
        int64_t src = tap_source(g, o, tap, c->circular, &in_padded);
        count += with_pads ? in_padded : src >= 0;
    }
    return count > 0 ? (float)count : 1.0f;
}

static void average_pool_planes(void *ctx, int64_t p0, int64_t p1, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    const window_geom *g = j->c->geo;
    const float *x = j->c->in[0]->data;
    float *y = j->c->out->data;
    for (int64_t p = p0; p < p1; p++)
        for (int64_t i = 0, oi = p * out_plane(g); i < out_plane(g); i++, oi++) {
            int64_t o[3];
            output_coords(g, i, o);
            const float *plane = x + p * plane_size(g);
            double sum = 0;
            for (int64_t tap = 0; tap < taps_in(g); tap++) {
                bool in_padded;
                int64_t src = tap_source(g, o, tap, j->c->circular, &in_padded);
                if (src >= 0)
                    sum += plane[src];
            }
            y[oi] = (float)(sum / average_divisor(j->c, o));
        }
}

void average_pool_forward(const op_call *c)
{
    pool_job j = {c, NULL, NULL};
    parallel_for(c->geo->n * c->geo->c, average_pool_planes, &j);
}

static void average_pool_backward_planes(void *ctx, int64_t p0, int64_t p1, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    const window_geom *g = j->c->geo;
    const float *gy = j->gout->data;
    float *gx = j->gin->data;
    for (int64_t p = p0; p < p1; p++)
        for (int64_t i = 0, oi = p * out_plane(g); i < out_plane(g); i++, oi++) {
            int64_t o[3];
            output_coords(g, i, o);
            float *plane = gx + p * plane_size(g);
            float share = gy[oi] / average_divisor(j->c, o);
            for (int64_t tap = 0; tap < taps_in(g); tap++) {
                bool in_padded;
                int64_t src = tap_source(g, o, tap, j->c->circular, &in_padded);
                if (src >= 0)
                    plane[src] += share;
            }
        }
}

void average_pool_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    if (!gin[0])
        return;
    pool_job j = {c, gout, gin[0]};
    parallel_for(c->geo->n * c->geo->c, average_pool_backward_planes, &j);
}

/* ---- global pools: one value per plane -------------------------------------------- */

static int64_t global_plane(const tensor *x)
{
    int64_t s = 1;
    for (int i = 2; i < x->ndim; i++)
        s *= x->shape[i];
    return s;
}

static void global_average_planes(void *ctx, int64_t p0, int64_t p1, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    const tensor *x = j->c->in[0];
    int64_t size = global_plane(x);
    for (int64_t p = p0; p < p1; p++) {
        const float *src = x->data + p * size;
        double sum = 0;
        for (int64_t i = 0; i < size; i++)
            sum += src[i];
        j->c->out->data[p] = size ? (float)(sum / (double)size) : 0.0f;
    }
}

void global_average_pool_forward(const op_call *c)
{
    pool_job j = {c, NULL, NULL};
    parallel_for(c->in[0]->shape[0] * c->in[0]->shape[1], global_average_planes, &j);
}

static void global_average_backward_planes(void *ctx, int64_t p0, int64_t p1, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    int64_t size = global_plane(j->gin);
    for (int64_t p = p0; p < p1; p++) {
        float share = j->gout->data[p] / (float)size;
        float *dst = j->gin->data + p * size;
        for (int64_t i = 0; i < size; i++)
            dst[i] += share;
    }
}

void global_average_pool_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    if (!gin[0])
        return;
    pool_job j = {c, gout, gin[0]};
    parallel_for(gin[0]->shape[0] * gin[0]->shape[1], global_average_backward_planes, &j);
}

static void global_max_planes(void *ctx, int64_t p0, int64_t p1, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    const tensor *x = j->c->in[0];
    int64_t size = global_plane(x);
    int32_t *arg = j->c->saved;
    for (int64_t p = p0; p < p1; p++) {
        const float *src = x->data + p * size;
        float best = -INFINITY;
        int32_t at = size ? 0 : -1;
        for (int64_t i = 0; i < size; i++)
            if (src[i] > best || (i == 0) || isnan(src[i])) {
                best = src[i];
                at = (int32_t)i;
                if (isnan(best))
                    break;
            }
        j->c->out->data[p] = best;
        if (arg)
            arg[p] = at;
    }
}

void global_max_pool_forward(const op_call *c)
{
    pool_job j = {c, NULL, NULL};
    parallel_for(c->in[0]->shape[0] * c->in[0]->shape[1], global_max_planes, &j);
}

void global_max_pool_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    if (!gin[0])
        return;
    const int32_t *arg = c->saved;
    int64_t size = global_plane(gin[0]), planes = gin[0]->shape[0] * gin[0]->shape[1];
    for (int64_t p = 0; p < planes; p++)
        if (arg[p] >= 0)
            gin[0]->data[p * size + arg[p]] += gout->data[p];
}
