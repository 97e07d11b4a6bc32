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
#include "net/simd.h"

#include <math.h>
#include <string.h>
#if NET_X86
#include <immintrin.h>
#endif

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
    const struct axis_taps *taps[3]; /* per axis, per output position (scratch) */
} pool_job;

static int64_t taps_in(const window_geom *g) { return g->kernel[0] * g->kernel[1] * g->kernel[2]; }

/* The taps of one window along one axis: k in [lo, hi) read input index
 * wrap(start + k·dilation) — the taps inside the input, or with circular pads
 * every tap inside the padded extent (wrapped around). `padded` counts the
 * taps inside the padded extent [−pad_begin, in + pad_end). */
typedef struct axis_taps {
    int64_t lo, hi, start, dilation, size, padded;
    bool circular;
} axis_taps;

static int64_t first_tap_at_or_after(int64_t start, int64_t d, int64_t bound)
{
    return bound <= start ? 0 : (bound - start + d - 1) / d;
}

static axis_taps axis_taps_of(const window_geom *g, int a, int64_t o, bool circular)
{
    axis_taps t = {0, 0, o * g->stride[a] - g->pad_begin[a], g->dilation[a], g->in[a], 0, circular};
    int64_t k = g->kernel[a], d = t.dilation;
    if (t.start >= 0 && t.start + (k - 1) * d < t.size) { /* the window is inside: the usual case */
        t.hi = t.padded = k;
        return t;
    }
    int64_t plo = first_tap_at_or_after(t.start, d, -g->pad_begin[a]);
    int64_t phi = first_tap_at_or_after(t.start, d, g->in[a] + g->pad_end[a]);
    phi = phi < k ? phi : k;
    t.padded = phi > plo ? phi - plo : 0;
    if (circular) {
        t.lo = plo;
        t.hi = phi;
    } else {
        t.lo = first_tap_at_or_after(t.start, d, 0);
        t.hi = first_tap_at_or_after(t.start, d, g->in[a]);
        t.hi = t.hi < k ? t.hi : k;
    }
    if (t.hi < t.lo)
        t.hi = t.lo;
    return t;
}

static inline int64_t axis_index(const axis_taps *t, int64_t k)
{
    int64_t i = t->start + k * t->dilation;
    if (t->circular && (i < 0 || i >= t->size)) {
        i %= t->size;
        i += i < 0 ? t->size : 0;
    }
    return i;
}

typedef struct {
    axis_taps ax[3];
} window_taps;

/* The taps of every window along every axis, computed once per call into
 * the scratch buffer (pool_scratch_bytes): outputs differ only in where their
 * window starts along each axis. */
static pool_job pool_job_for(const op_call *c, const tensor *gout, tensor *gin)
{
    const window_geom *g = c->geo;
    axis_taps *t = c->scratch;
    pool_job j = {c, gout, gin, {NULL, NULL, NULL}};
    for (int a = 0; a < 3; a++) {
        j.taps[a] = t;
        for (int64_t o = 0; o < g->out[a]; o++)
            *t++ = axis_taps_of(g, a, o, c->circular);
    }
    return j;
}

size_t pool_scratch_bytes(const window_geom *geo)
{
    return (size_t)(geo->out[0] + geo->out[1] + geo->out[2]) * sizeof(axis_taps);
}

/* Input offset within a plane of tap (k0, k1, k2). */
static inline int64_t tap_offset(const window_geom *g, const window_taps *w, int64_t k0, int64_t k1,
                                 int64_t k2)
{
    return (axis_index(&w->ax[0], k0) * g->in[1] + axis_index(&w->ax[1], k1)) * g->in[2] +
           axis_index(&w->ax[2], k2);
}

static void window_at(const pool_job *j, const int64_t *o, window_taps *w)
{
    for (int a = 0; a < 3; a++)
        w->ax[a] = j->taps[a][o[a]];
}

/* Steps output coordinates (od, oh, ow) to the next output of the plane. */
static void next_output(const window_geom *g, int64_t *o)
{
    if (++o[2] < g->out[2])
        return;
    o[2] = 0;
    if (++o[1] < g->out[1])
        return;
    o[1] = 0;
    o[0]++;
}

static int64_t out_plane(const window_geom *g) { return g->out[0] * g->out[1] * g->out[2]; }

static int64_t plane_size(const window_geom *g) { return g->in[0] * g->in[1] * g->in[2]; }

/* ---- MaxPool ------------------------------------------------------------------ */

/* v replaces the best so far when larger, or NaN over a number. */
static inline bool takes_over(float v, float best)
{
    return (v > best) | ((v != v) & (best == best)); /* no branches: it vectorizes */
}

/* The maximum of output o's window, the general way (pads, wraps, ceil_mode,
 * 3-D): the first maximum in scan order, and the first NaN, win. */
static void max_window(const pool_job *j, const float *plane, const int64_t *o, float *best_out,
                       uint32_t *tap_out)
{
    const window_geom *g = j->c->geo;
    size_t width = argmax_width(taps_in(g));
    window_taps w;
    window_at(j, o, &w);
    float best = -INFINITY;
    uint32_t best_tap = no_tap(width);
    for (int64_t k0 = w.ax[0].lo; k0 < w.ax[0].hi; k0++)
        for (int64_t k1 = w.ax[1].lo; k1 < w.ax[1].hi; k1++) {
            const float *row =
                plane + (axis_index(&w.ax[0], k0) * g->in[1] + axis_index(&w.ax[1], k1)) * g->in[2];
            for (int64_t k2 = w.ax[2].lo; k2 < w.ax[2].hi; k2++) {
                float v = row[axis_index(&w.ax[2], k2)];
                if (best_tap == no_tap(width) || takes_over(v, best)) {
                    best = v;
                    best_tap = (uint32_t)((k0 * g->kernel[1] + k1) * g->kernel[2] + k2);
                }
            }
        }
    *best_out = best;
    *tap_out = best_tap;
}

/* 1-D and 2-D windows of up to 254 taps (one-byte argmax) whose output rows
 * and columns have a part where every window lies inside the input: there
 * the windows are scanned without index checks, a run of outputs at once. */
static bool has_interior(const window_geom *g)
{
    return g->kernel[0] == 1 && g->in[0] == 1 && taps_in(g) < 255;
}

/* The outputs [lo, hi) along axis a whose windows lie inside the input. */
static void interior(const window_geom *g, int a, int64_t *lo, int64_t *hi)
{
    int64_t s = g->stride[a], ext = (g->kernel[a] - 1) * g->dilation[a];
    *lo = g->pad_begin[a] <= 0 ? 0 : (g->pad_begin[a] + s - 1) / s;
    int64_t last = g->in[a] - 1 - ext + g->pad_begin[a]; /* o·s ≤ last */
    *hi = last < 0 ? 0 : last / s + 1;
    *hi = *hi > g->out[a] ? g->out[a] : *hi;
    *lo = *lo > *hi ? *hi : *lo;
}

enum { POOL_RUN = 128 }; /* outputs max_run does at most */

/* n ≤ POOL_RUN outputs of one row, all windows inside: row[ky] points at the
 * first window's top-left tap for window row ky. */
HOT_KERNEL static void max_run(const float *const *rows, int64_t kh, int64_t kw, int64_t s,
                               int64_t d, int64_t n, float *restrict y, uint8_t *restrict arg)
{
    float best[POOL_RUN];
    int32_t tap[POOL_RUN]; /* as wide as a float, for the vector loops */
    for (int64_t i = 0; i < n; i++) {
        best[i] = rows[0][i * s];
        tap[i] = 0;
    }
    for (int64_t ky = 0; ky < kh; ky++)
        for (int64_t kx = ky ? 0 : 1; kx < kw; kx++) {
            const float *restrict r = rows[ky] + kx * d;
            int32_t t = (int32_t)(ky * kw + kx);
            for (int64_t i = 0; i < n; i++) {
                float v = r[i * s];
                bool on = takes_over(v, best[i]);
                best[i] = on ? v : best[i];
                tap[i] = on ? t : tap[i];
            }
        }
    for (int64_t i = 0; i < n; i++)
        y[i] = best[i];
    if (arg)
        for (int64_t i = 0; i < n; i++)
            arg[i] = (uint8_t)tap[i];
}

#if NET_X86
/* The same for exactly 16 outputs with AVX-512 (stride 1 or 2). */
__attribute__((target("avx512f"))) static void max_run16(const float *const *rows, int64_t kh,
                                                        int64_t kw, int64_t s, int64_t d,
                                                        float *y, uint8_t *arg)
{
    const __m512i evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    __m512 best = _mm512_setzero_ps();
    __m512i tap = _mm512_setzero_si512();
    for (int64_t ky = 0; ky < kh; ky++)
        for (int64_t kx = 0; kx < kw; kx++) {
            const float *r = rows[ky] + kx * d;
            __m512 v = s == 1 ? _mm512_loadu_ps(r)
                              : _mm512_permutex2var_ps(_mm512_loadu_ps(r), evens, /* r[2i] */
                                                       _mm512_maskz_loadu_ps(0x7FFF, r + 16));
            if (ky == 0 && kx == 0) {
                best = v;
                continue;
            }
            __mmask16 nan_over = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) &
                                 _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q);
            __mmask16 on = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | nan_over;
            best = _mm512_mask_mov_ps(best, on, v);
            tap = _mm512_mask_mov_epi32(tap, on, _mm512_set1_epi32((int)(ky * kw + kx)));
        }
    _mm512_storeu_ps(y, best);
    if (arg)
        _mm512_mask_cvtepi32_storeu_epi8(arg, 0xFFFF, tap);
}
#endif

/* Outputs [0, n) of an interior run, 16 at a time where AVX-512 is there
 * (the last group overlapping the one before rather than running short:
 * the same outputs again give the same values). */
static void max_interior_run(const float *const *rows, int64_t kh, int64_t kw, int64_t s,
                             int64_t d, int64_t n, float *y, uint8_t *arg)
{
#if NET_X86
    if ((s == 1 || s == 2) && n >= 16 && cpu_has_avx512()) {
        const float *at[254];
        for (int64_t x = 0; x < n; x += 16) {
            int64_t x0 = x + 16 > n ? n - 16 : x;
            for (int64_t ky = 0; ky < kh; ky++)
                at[ky] = rows[ky] + x0 * s;
            max_run16(at, kh, kw, s, d, y + x0, arg ? arg + x0 : NULL);
        }
        return;
    }
#endif
    const float *at[254];
    for (int64_t x = 0; x < n; x += POOL_RUN) {
        for (int64_t ky = 0; ky < kh; ky++)
            at[ky] = rows[ky] + x * s;
        max_run(at, kh, kw, s, d, n - x < POOL_RUN ? n - x : POOL_RUN, y + x, arg ? arg + x : NULL);
    }
}

/* A window cut by the input's edges (zero pads): the taps [lo, hi) along
 * each axis lie inside, scanned in order. */
static void max_clipped(const window_geom *g, const float *plane, int64_t oy, int64_t ox,
                        float *best_out, uint8_t *tap_out)
{
    int64_t y0 = oy * g->stride[1] - g->pad_begin[1], x0 = ox * g->stride[2] - g->pad_begin[2];
    int64_t dy = g->dilation[1], dx = g->dilation[2];
    int64_t kylo = first_tap_at_or_after(y0, dy, 0), kyhi = first_tap_at_or_after(y0, dy, g->in[1]);
    int64_t kxlo = first_tap_at_or_after(x0, dx, 0), kxhi = first_tap_at_or_after(x0, dx, g->in[2]);
    kyhi = kyhi < g->kernel[1] ? kyhi : g->kernel[1];
    kxhi = kxhi < g->kernel[2] ? kxhi : g->kernel[2];
    float best = -INFINITY;
    uint8_t tap = 0xFF; /* no tap */
    for (int64_t ky = kylo; ky < kyhi; ky++)
        for (int64_t kx = kxlo; kx < kxhi; kx++) {
            float v = plane[(y0 + ky * dy) * g->in[2] + x0 + kx * dx];
            if (tap == 0xFF || takes_over(v, best)) {
                best = v;
                tap = (uint8_t)(ky * g->kernel[2] + kx);
            }
        }
    *best_out = best;
    *tap_out = tap;
}

/* 1-D and 2-D windows of up to 254 taps with zero pads: rows of outputs,
 * the interior as runs, the edges clipped. */
static bool by_rows(const op_call *c) { return has_interior(c->geo) && !c->circular; }

static void max_pool_rows(const pool_job *j, int64_t p)
{
    const window_geom *g = j->c->geo;
    int64_t ylo, yhi, xlo, xhi, OW = g->out[2];
    interior(g, 1, &ylo, &yhi);
    interior(g, 2, &xlo, &xhi);
    const float *plane = j->c->in[0]->data + p * plane_size(g);
    uint8_t scratch[POOL_RUN], *saved = j->c->saved;
    const float *rows[254];
    for (int64_t oy = 0; oy < g->out[1]; oy++) {
        int64_t oi = (p * g->out[1] + oy) * OW;
        float *y = j->c->out->data + oi;
        uint8_t *arg = saved ? saved + oi : NULL;
        bool inside = oy >= ylo && oy < yhi && xlo < xhi;
        for (int64_t ox = 0; ox < OW; ox++) {
            if (inside && ox == xlo) {
                for (int64_t ky = 0; ky < g->kernel[1]; ky++)
                    rows[ky] = plane + (oy * g->stride[1] - g->pad_begin[1] + ky * g->dilation[1]) * g->in[2] +
                               xlo * g->stride[2] - g->pad_begin[2];
                max_interior_run(rows, g->kernel[1], g->kernel[2], g->stride[2], g->dilation[2],
                                 xhi - xlo, y + xlo, arg ? arg + xlo : NULL);
                ox = xhi - 1;
                continue;
            }
            max_clipped(g, plane, oy, ox, &y[ox], arg ? &arg[ox] : scratch);
        }
    }
}

static void max_pool_planes(void *ctx, int64_t p0, int64_t p1, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    const window_geom *g = j->c->geo;
    void *saved = j->c->saved;
    size_t width = argmax_width(taps_in(g));
    for (int64_t p = p0; p < p1; p++) {
        if (by_rows(j->c)) {
            max_pool_rows(j, p);
            continue;
        }
        const float *plane = j->c->in[0]->data + p * plane_size(g);
        int64_t o[3] = {0, 0, 0};
        for (int64_t i = 0, oi = p * out_plane(g); i < out_plane(g); i++, oi++, next_output(g, o)) {
            float best;
            uint32_t tap;
            max_window(j, plane, o, &best, &tap);
            j->c->out->data[oi] = best;
            if (saved)
                argmax_store(saved, width, oi, tap);
        }
    }
}

/* The common VGG case, 2×2 windows at stride 2 all inside the input: each
 * input pixel is in at most one window. Same rules as above: the first
 * maximum in scan order (top-left, top-right, bottom-left, bottom-right),
 * and the first NaN wins. */
static bool is_2x2(const window_geom *g)
{
    return g->nspatial == 2 && g->kernel[1] == 2 && g->kernel[2] == 2 && g->stride[1] == 2 &&
           g->stride[2] == 2 && g->dilation[1] == 1 && g->dilation[2] == 1 &&
           g->pad_begin[1] == 0 && g->pad_begin[2] == 0 && 2 * g->out[1] <= g->in[1] &&
           2 * g->out[2] <= g->in[2];
}

HOT_KERNEL static void max_2x2_rows(const float *restrict r0, const float *restrict r1, int64_t ow,
                                    float *restrict y, uint8_t *restrict arg)
{
    for (int64_t ox = 0; ox < ow; ox++) {
        float best = r0[2 * ox], v;
        uint8_t tap = 0;
        v = r0[2 * ox + 1];
        tap = takes_over(v, best) ? 1 : tap;
        best = takes_over(v, best) ? v : best;
        v = r1[2 * ox];
        tap = takes_over(v, best) ? 2 : tap;
        best = takes_over(v, best) ? v : best;
        v = r1[2 * ox + 1];
        tap = takes_over(v, best) ? 3 : tap;
        best = takes_over(v, best) ? v : best;
        y[ox] = best;
        if (arg)
            arg[ox] = tap;
    }
}

HOT_KERNEL static void max_2x2_rows_backward(const float *restrict gy, const uint8_t *restrict arg,
                                             int64_t ow, float *restrict d0, float *restrict d1)
{
    for (int64_t ox = 0; ox < ow; ox++) {
        float g = gy[ox];
        uint8_t tap = arg[ox];
        d0[2 * ox] += tap == 0 ? g : 0.0f;
        d0[2 * ox + 1] += tap == 1 ? g : 0.0f;
        d1[2 * ox] += tap == 2 ? g : 0.0f;
        d1[2 * ox + 1] += tap == 3 ? g : 0.0f;
    }
}

/* The same writing the two input rows whole (the first write of dX). */
HOT_KERNEL static void max_2x2_rows_first(const float *restrict gy, const uint8_t *restrict arg,
                                          int64_t ow, float *restrict d0, float *restrict d1)
{
    for (int64_t ox = 0; ox < ow; ox++) {
        float g = gy[ox];
        uint8_t tap = arg[ox];
        d0[2 * ox] = tap == 0 ? g : 0.0f;
        d0[2 * ox + 1] = tap == 1 ? g : 0.0f;
        d1[2 * ox] = tap == 2 ? g : 0.0f;
        d1[2 * ox + 1] = tap == 3 ? g : 0.0f;
    }
}

static void max_2x2_planes(void *ctx, int64_t p0, int64_t p1, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    const window_geom *g = j->c->geo;
    int64_t W = g->in[2], OW = g->out[2];
    /* Writing dX whole: the windows cover it but for a last odd row or
     * column, zeroed first then. */
    bool first = j->gin && (j->c->overwrite & 1), covered = 2 * OW == W && 2 * g->out[1] == g->in[1];
    for (int64_t p = p0; p < p1; p++) {
        if (first && !covered)
            memset(j->gin->data + p * plane_size(g), 0, (size_t)plane_size(g) * sizeof(float));
        for (int64_t oy = 0; oy < g->out[1]; oy++) {
            int64_t oi = (p * g->out[1] + oy) * OW, ii = (p * g->in[1] + 2 * oy) * W;
            uint8_t *arg = j->c->saved ? (uint8_t *)j->c->saved + oi : NULL;
            if (j->gin && first && covered)
                max_2x2_rows_first(j->gout->data + oi, arg, OW, j->gin->data + ii,
                                   j->gin->data + ii + W);
            else if (j->gin)
                max_2x2_rows_backward(j->gout->data + oi, arg, OW, j->gin->data + ii,
                                      j->gin->data + ii + W);
            else
                max_2x2_rows(j->c->in[0]->data + ii, j->c->in[0]->data + ii + W, OW,
                             j->c->out->data + oi, arg);
        }
    }
}

void max_pool_forward(const op_call *c)
{
    if (is_2x2(c->geo)) {
        pool_job j = {c, NULL, NULL, {NULL, NULL, NULL}};
        parallel_for(c->geo->n * c->geo->c, max_2x2_planes, &j);
        return;
    }
    pool_job j = pool_job_for(c, NULL, NULL);
    parallel_for(c->geo->n * c->geo->c, max_pool_planes, &j);
}

static void max_pool_backward_planes(void *ctx, int64_t p0, int64_t p1, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    const window_geom *g = j->c->geo;
    size_t width = argmax_width(taps_in(g));
    /* By rows (zero pads): tap t's input is a fixed offset from the window's
     * top-left corner, inside the input whenever t was chosen. */
    bool rows = by_rows(j->c);
    int64_t offset[254];
    for (int64_t t = 0; rows && t < taps_in(g); t++)
        offset[t] = t / g->kernel[2] * g->dilation[1] * g->in[2] + t % g->kernel[2] * g->dilation[2];
    for (int64_t p = p0; p < p1; p++) {
        float *plane = j->gin->data + p * plane_size(g);
        if (j->c->overwrite & 1) /* the first write of dX: from zero */
            memset(plane, 0, (size_t)plane_size(g) * sizeof(float));
        if (rows) {
            const uint8_t *arg = (const uint8_t *)j->c->saved + p * out_plane(g);
            const float *gy = j->gout->data + p * out_plane(g);
            for (int64_t oy = 0; oy < g->out[1]; oy++) {
                int64_t corner = (oy * g->stride[1] - g->pad_begin[1]) * g->in[2] - g->pad_begin[2];
                for (int64_t ox = 0; ox < g->out[2]; ox++, arg++, gy++, corner += g->stride[2])
                    if (*arg != 0xFF)
                        plane[corner + offset[*arg]] += *gy;
            }
            continue;
        }
        int64_t o[3] = {0, 0, 0};
        for (int64_t i = 0, oi = p * out_plane(g); i < out_plane(g); i++, oi++, next_output(g, o)) {
            uint32_t tap = argmax_load(j->c->saved, width, oi);
            if (tap == no_tap(width))
                continue;
            window_taps w;
            window_at(j, o, &w);
            int64_t k2 = tap % g->kernel[2], k1 = tap / g->kernel[2] % g->kernel[1],
                    k0 = tap / (g->kernel[1] * g->kernel[2]);
            plane[tap_offset(g, &w, k0, k1, k2)] += j->gout->data[oi];
        }
    }
}

void max_pool_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    if (!gin[0])
        return;
    if (is_2x2(c->geo)) {
        pool_job j = {c, gout, gin[0], {NULL, NULL, NULL}};
        parallel_for(c->geo->n * c->geo->c, max_2x2_planes, &j);
        return;
    }
    pool_job j = pool_job_for(c, gout, gin[0]);
    parallel_for(c->geo->n * c->geo->c, max_pool_backward_planes, &j);
}

/* ---- AveragePool ---------------------------------------------------------------- */

/* The divisor of one window: the taps read (inside the input; with circular
 * pads, inside the padded extent), or with count_include_pad every tap inside
 * the padded extent. */
static float average_divisor(const op_call *c, const window_taps *w)
{
    bool with_pads = c->node->attrs.window.count_include_pad;
    int64_t count = 1;
    for (int a = 0; a < 3; a++)
        count *= with_pads ? w->ax[a].padded : w->ax[a].hi - w->ax[a].lo;
    return count > 0 ? (float)count : 1.0f;
}

static void average_pool_planes(void *ctx, int64_t p0, int64_t p1, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    const window_geom *g = j->c->geo;
    for (int64_t p = p0; p < p1; p++) {
        const float *plane = j->c->in[0]->data + p * plane_size(g);
        int64_t o[3] = {0, 0, 0};
        for (int64_t i = 0, oi = p * out_plane(g); i < out_plane(g); i++, oi++, next_output(g, o)) {
            window_taps w;
            window_at(j, o, &w);
            double sum = 0;
            for (int64_t k0 = w.ax[0].lo; k0 < w.ax[0].hi; k0++)
                for (int64_t k1 = w.ax[1].lo; k1 < w.ax[1].hi; k1++)
                    for (int64_t k2 = w.ax[2].lo; k2 < w.ax[2].hi; k2++)
                        sum += plane[tap_offset(g, &w, k0, k1, k2)];
            j->c->out->data[oi] = (float)(sum / average_divisor(j->c, &w));
        }
    }
}

void average_pool_forward(const op_call *c)
{
    pool_job j = pool_job_for(c, NULL, NULL);
    parallel_for(c->geo->n * c->geo->c, average_pool_planes, &j);
}

static void average_pool_backward_planes(void *ctx, int64_t p0, int64_t p1, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    const window_geom *g = j->c->geo;
    for (int64_t p = p0; p < p1; p++) {
        float *plane = j->gin->data + p * plane_size(g);
        int64_t o[3] = {0, 0, 0};
        for (int64_t i = 0, oi = p * out_plane(g); i < out_plane(g); i++, oi++, next_output(g, o)) {
            window_taps w;
            window_at(j, o, &w);
            float share = j->gout->data[oi] / average_divisor(j->c, &w);
            for (int64_t k0 = w.ax[0].lo; k0 < w.ax[0].hi; k0++)
                for (int64_t k1 = w.ax[1].lo; k1 < w.ax[1].hi; k1++)
                    for (int64_t k2 = w.ax[2].lo; k2 < w.ax[2].hi; k2++)
                        plane[tap_offset(g, &w, k0, k1, k2)] += share;
        }
    }
}

void average_pool_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    if (!gin[0])
        return;
    pool_job j = pool_job_for(c, gout, gin[0]);
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
    pool_job j = {c, NULL, NULL, {NULL, NULL, NULL}};
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
    pool_job j = {c, gout, gin[0], {NULL, NULL, NULL}};
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
    pool_job j = {c, NULL, NULL, {NULL, NULL, NULL}};
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
