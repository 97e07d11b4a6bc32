/* Conv: forward and backward-data through SGEMM on im2col bands, plus the
 * window geometry shared with the pools (strides, pads, dilations, auto_pad,
 * ceil_mode).
 *
 * Shapes: X [N, C, H, W], W [M, C/G, kH, kW], B [M], Y [N, M, OH, OW] (1-D
 * convs run as H = 1). Per sample n and group g, with K = (C/G)·kH·kW:
 *   forward   Y[n, g] (Mg × OH·OW) = W_g (Mg × K) · col(X[n, g]) (K × OH·OW) + B
 *   backward  dcol = W_gᵀ · dY[n, g];  dX[n, g] += col2im(dcol)
 * Backward-data reads only the weights. The im2col matrix is built one band
 * of output rows at a time (scratch: one K × band buffer), its rows split over
 * the pool (col2im: by input rows), and the products are split by net_gemm;
 * all splits depend on sizes only, so results do not depend on the thread
 * count.
 * A 1×1, stride-1, unpadded conv needs no im2col: X is the column matrix.
 * Circular padding (tileable output) reads wrapped-around pixels instead of
 * zeros in the pads.
 */
#include "net/ops.h"

#include <string.h>

/* ---- window geometry (Conv, MaxPool, AveragePool) --------------------------- */

status window_infer(const graph_node *node, const nd_shape *x, const nd_shape *w, nd_shape *out,
                    window_geom *geo)
{
    const window_attrs *a = &node->attrs.window;
    bool conv = node->op == OP_CONV;
    if (x->ndim < 3 || x->ndim > 2 + (conv ? 2 : GRAPH_MAX_SPATIAL))
        return error_set(NULL, "input has %d dimensions (expects N, C and %s spatial dims)",
                         x->ndim, conv ? "1 or 2" : "1 to 3");
    int nsp = x->ndim - 2;
    if (a->nspatial && a->nspatial != nsp)
        return error_set(NULL, "attributes are for %d spatial dims, the input has %d", a->nspatial,
                         nsp);
    memset(geo, 0, sizeof *geo);
    geo->nspatial = nsp;
    geo->n = x->d[0];
    geo->c = x->d[1];
    geo->m = geo->c;
    geo->group = 1;
    for (int i = 0; i < 3; i++) {
        geo->in[i] = geo->out[i] = geo->kernel[i] = geo->stride[i] = geo->dilation[i] = 1;
        geo->pad_begin[i] = geo->pad_end[i] = 0;
    }
    int off = 3 - nsp; /* spatial dim i lives at geo index off + i */
    if (conv) {
        int64_t group = a->group ? a->group : 1;
        if (w->ndim != x->ndim)
            return error_set(NULL, "weights have %d dimensions, the input %d", w->ndim, x->ndim);
        if (group < 1 || geo->c % group != 0 || w->d[0] % group != 0)
            return error_set(NULL,
                             "group %lld does not divide the %lld input and %lld output channels",
                             (long long)group, (long long)geo->c, (long long)w->d[0]);
        if (w->d[1] * group != geo->c)
            return error_set(NULL, "weights expect %lld input channels, the input has %lld",
                             (long long)(w->d[1] * group), (long long)geo->c);
        geo->group = group;
        geo->m = w->d[0];
    }
    for (int i = 0; i < nsp; i++) {
        int64_t *k = &geo->kernel[off + i];
        *k = conv ? w->d[2 + i] : a->kernel[i];
        if (conv && a->kernel[i] && a->kernel[i] != *k)
            return error_set(NULL, "kernel_shape does not match the weights");
        if (*k < 1)
            return error_set(NULL, "kernel_shape missing or not positive");
        geo->stride[off + i] = a->strides[i] ? a->strides[i] : 1;
        geo->dilation[off + i] = a->dilations[i] ? a->dilations[i] : 1;
        if (geo->stride[off + i] < 1 || geo->dilation[off + i] < 1)
            return error_set(NULL, "strides and dilations must be positive");
        const int64_t limit = (int64_t)1 << 30; /* keeps every sum below in int64 */
        if (*k > limit || geo->stride[off + i] > limit || geo->dilation[off + i] > limit ||
            a->pads[i] > limit || a->pads[nsp + i] > limit)
            return error_set(NULL, "kernel, strides, dilations or pads out of range");
        geo->in[off + i] = x->d[2 + i];
        int64_t in = x->d[2 + i], s = geo->stride[off + i];
        int64_t extent = (*k - 1) * geo->dilation[off + i] + 1;
        int64_t pb = a->pads[i], pe = a->pads[nsp + i], o;
        if (pb < 0 || pe < 0)
            return error_set(NULL, "negative pads");
        switch (a->auto_pad) {
        case AUTO_PAD_SAME_UPPER:
        case AUTO_PAD_SAME_LOWER: {
            o = (in + s - 1) / s;
            int64_t total = (o - 1) * s + extent - in;
            if (total < 0)
                total = 0;
            pb = a->auto_pad == AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            pe = total - pb;
            break;
        }
        case AUTO_PAD_VALID:
            pb = pe = 0;
            o = in >= extent ? (in - extent) / s + 1 : 0;
            break;
        default: {
            int64_t span = in + pb + pe - extent;
            if (span < 0) {
                o = 0;
            } else if (!conv && a->ceil_mode) {
                o = (span + s - 1) / s + 1;
                /* PyTorch's rule: the last window must start inside the input
                 * or its leading pad, never entirely in the trailing pad. */
                if ((o - 1) * s >= in + pb)
                    o--;
            } else {
                o = span / s + 1;
            }
        }
        }
        if (o < 1) {
            char ks[64], is[64];
            nd_shape sp = {nsp, {0}};
            for (int j = 0; j < nsp; j++)
                sp.d[j] = x->d[2 + j];
            nd_shape kk = {nsp, {0}};
            for (int j = 0; j < nsp; j++)
                kk.d[j] = conv ? w->d[2 + j] : a->kernel[j];
            return error_set(NULL, "the %s input is too small for the %s kernel",
                             nd_shape_format(&sp, is, sizeof is),
                             nd_shape_format(&kk, ks, sizeof ks));
        }
        geo->pad_begin[off + i] = pb;
        geo->pad_end[off + i] = pe;
        geo->out[off + i] = o;
    }
    out->ndim = x->ndim;
    out->d[0] = geo->n;
    out->d[1] = geo->m;
    for (int i = 0; i < nsp; i++)
        out->d[2 + i] = geo->out[off + i];
    return ST_OK;
}

status conv_infer(const graph_node *node, const nd_shape *in, nd_shape *out, window_geom *geo)
{
    if (window_infer(node, &in[0], &in[1], out, geo) != ST_OK)
        return ST_ERROR;
    if (node->ninputs > 2 && in[2].ndim >= 0 && (in[2].ndim != 1 || in[2].d[0] != geo->m))
        return error_set(NULL, "bias must have %lld elements", (long long)geo->m);
    return ST_OK;
}

/* ---- bands of output rows ------------------------------------------------------ */

enum { CONV_BAND_FLOATS = 1 << 21 }; /* im2col scratch target: 8 MB */

static bool is_pointwise(const window_geom *g)
{
    for (int i = 1; i < 3; i++)
        if (g->kernel[i] != 1 || g->stride[i] != 1 || g->pad_begin[i] || g->pad_end[i])
            return false;
    return true;
}

static int64_t conv_k(const window_geom *g)
{
    return g->c / g->group * g->kernel[1] * g->kernel[2];
}

/* Output rows per band: as many as fit CONV_BAND_FLOATS, at least one. */
static int64_t band_rows(const window_geom *g)
{
    int64_t per_row = conv_k(g) * g->out[2];
    int64_t rows = per_row > 0 ? CONV_BAND_FLOATS / per_row : g->out[1];
    if (rows < 1)
        rows = 1;
    if (rows > g->out[1])
        rows = g->out[1];
    return rows;
}

size_t conv_scratch_bytes(const window_geom *geo, bool backward, bool circular, int threads)
{
    if (winograd_applies(geo, circular))
        return winograd_scratch_bytes(geo, backward, threads);
    if (is_pointwise(geo))
        return 0;
    return (size_t)(conv_k(geo) * band_rows(geo) * geo->out[2]) * sizeof(float);
}

typedef struct {
    const window_geom *g;
    const float *x; /* X[n, g]: Cg planes of H × W (forward) */
    float *dx; /* dX[n, g] (backward) */
    float *col; /* K × cols */
    int64_t row0, rows; /* output rows of the band */
    bool circular;
} band_job;

/* Along a row, tap kx reads ix = ox·sx + base; for ox in [lo, hi) that is
 * inside the input (no pad, no wrap). */
static void direct_span(const window_geom *g, int64_t kx, int64_t *lo, int64_t *hi, int64_t *base)
{
    int64_t sx = g->stride[2], W = g->in[2], OW = g->out[2];
    *base = kx * g->dilation[2] - g->pad_begin[2];
    *lo = *base >= 0 ? 0 : (-*base + sx - 1) / sx;
    *hi = W - 1 - *base < 0 ? 0 : (W - 1 - *base) / sx + 1;
    if (*hi > OW)
        *hi = OW;
    if (*lo > *hi)
        *lo = *hi;
}

/* What output column ox at tap kx reads from an input row: a pixel, or 0 in
 * a zero pad; and the adjoint, adding v back to that pixel. */
static float column_value(const band_job *j, const float *row, int64_t ox, int64_t kx)
{
    const window_geom *g = j->g;
    int64_t ix =
        window_source(ox, kx, g->stride[2], g->dilation[2], g->pad_begin[2], g->in[2], j->circular);
    return ix < 0 ? 0.0f : row[ix];
}

static void column_add(const band_job *j, float *row, int64_t ox, int64_t kx, float v)
{
    const window_geom *g = j->g;
    int64_t ix =
        window_source(ox, kx, g->stride[2], g->dilation[2], g->pad_begin[2], g->in[2], j->circular);
    if (ix >= 0)
        row[ix] += v;
}

/* col[(c·kH + ky)·kW + kx, (oy − row0)·OW + ox] = X[c, iy, ix], for the
 * rows [k0, k1) of col (each (c, ky, kx) is one row: many more than the
 * channels, so the threads share the work evenly even with 3 channels). */
static void im2col_rows(void *ctx, int64_t k0, int64_t k1, int thread)
{
    (void)thread;
    const band_job *j = ctx;
    const window_geom *g = j->g;
    int64_t H = g->in[1], W = g->in[2], OW = g->out[2], kh = g->kernel[1], kw = g->kernel[2];
    int64_t cols = j->rows * OW, sx = g->stride[2];
    for (int64_t k = k0; k < k1; k++) {
        int64_t c = k / (kh * kw), ky = k / kw % kh, kx = k % kw;
        const float *plane = j->x + c * H * W;
        float *dst = j->col + k * cols;
        int64_t lo, hi, base;
        direct_span(g, kx, &lo, &hi, &base);
        for (int64_t r = 0; r < j->rows; r++, dst += OW) {
            int64_t iy = window_source(j->row0 + r, ky, g->stride[1], g->dilation[1],
                                       g->pad_begin[1], H, j->circular);
            if (iy < 0) {
                memset(dst, 0, (size_t)OW * sizeof *dst);
                continue;
            }
            const float *src = plane + iy * W;
            if (sx == 1)
                memcpy(dst + lo, src + lo + base, (size_t)(hi - lo) * sizeof *dst);
            else
                for (int64_t ox = lo; ox < hi; ox++)
                    dst[ox] = src[ox * sx + base];
            for (int64_t ox = 0; ox < lo; ox++) /* left border: pads or wraps */
                dst[ox] = column_value(j, src, ox, kx);
            for (int64_t ox = hi; ox < OW; ox++) /* right border */
                dst[ox] = column_value(j, src, ox, kx);
        }
    }
}

/* The adjoint of im2col: dX[c, iy, ix] += dcol[...], for the input rows
 * [y0, y1) of every channel (each pixel has one writer; for each pixel the
 * terms add in the order c, ky, kx, band row, whatever the split). */
static void col2im_rows(void *ctx, int64_t y0, int64_t y1, int thread)
{
    (void)thread;
    const band_job *j = ctx;
    const window_geom *g = j->g;
    int64_t H = g->in[1], W = g->in[2], OW = g->out[2], kh = g->kernel[1], kw = g->kernel[2];
    int64_t cols = j->rows * OW, sx = g->stride[2], Cg = g->c / g->group;
    for (int64_t c = 0; c < Cg; c++) {
        float *plane = j->dx + c * H * W;
        for (int64_t ky = 0; ky < kh; ky++)
            for (int64_t kx = 0; kx < kw; kx++) {
                const float *src = j->col + ((c * kh + ky) * kw + kx) * cols;
                int64_t lo, hi, base;
                direct_span(g, kx, &lo, &hi, &base);
                for (int64_t r = 0; r < j->rows; r++, src += OW) {
                    int64_t iy = window_source(j->row0 + r, ky, g->stride[1], g->dilation[1],
                                               g->pad_begin[1], H, j->circular);
                    if (iy < y0 || iy >= y1)
                        continue;
                    float *dst = plane + iy * W;
                    for (int64_t ox = lo; ox < hi; ox++)
                        dst[ox * sx + base] += src[ox];
                    for (int64_t ox = 0; ox < lo; ox++) /* left border: pads or wraps */
                        column_add(j, dst, ox, kx, src[ox]);
                    for (int64_t ox = hi; ox < OW; ox++) /* right border */
                        column_add(j, dst, ox, kx, src[ox]);
                }
            }
    }
}

void conv_forward(const op_call *c)
{
    if (winograd_applies(c->geo, c->circular)) {
        winograd_forward(c);
        return;
    }
    const window_geom *g = c->geo;
    const float *w = c->in[1]->data;
    const float *bias = c->node->ninputs > 2 && c->in[2] ? c->in[2]->data : NULL;
    int64_t G = g->group, Cg = g->c / G, Mg = g->m / G, K = conv_k(g);
    int64_t HW = g->in[1] * g->in[2], OHW = g->out[1] * g->out[2], OW = g->out[2];
    bool pointwise = is_pointwise(g);
    int64_t rows = pointwise ? g->out[1] : band_rows(g);
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t gi = 0; gi < G; gi++) {
            const float *x = c->in[0]->data + (n * g->c + gi * Cg) * HW;
            const float *wg = w + gi * Mg * K;
            float *y = c->out->data + (n * g->m + gi * Mg) * OHW;
            for (int64_t row0 = 0; row0 < g->out[1]; row0 += rows) {
                int64_t nr = row0 + rows <= g->out[1] ? rows : g->out[1] - row0;
                int64_t cols = nr * OW;
                float *yb = y + row0 * OW;
                for (int64_t m = 0; m < Mg; m++) {
                    float b = bias ? bias[gi * Mg + m] : 0.0f;
                    for (int64_t i = 0; i < cols; i++)
                        yb[m * OHW + i] = b;
                }
                if (pointwise) {
                    net_gemm(false, false, Mg, cols, K, 1.0f, wg, K, x + row0 * OW, HW, 1.0f, yb,
                             OHW);
                    continue;
                }
                band_job j = {g, x, NULL, c->scratch, row0, nr, c->circular};
                parallel_for(K, im2col_rows, &j);
                net_gemm(false, false, Mg, cols, K, 1.0f, wg, K, c->scratch, cols, 1.0f, yb, OHW);
            }
        }
}

void conv_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    if (!gin[0])
        return;
    if (winograd_applies(c->geo, c->circular)) {
        winograd_backward(c, gout, gin[0]);
        return;
    }
    if (c->overwrite & 1) /* col2im adds, and may leave pixels no window reads */
        memset(gin[0]->data, 0, tensor_numel(gin[0]) * sizeof(float));
    const window_geom *g = c->geo;
    const float *w = c->in[1]->data;
    int64_t G = g->group, Cg = g->c / G, Mg = g->m / G, K = conv_k(g);
    int64_t HW = g->in[1] * g->in[2], OHW = g->out[1] * g->out[2], OW = g->out[2];
    bool pointwise = is_pointwise(g);
    int64_t rows = pointwise ? g->out[1] : band_rows(g);
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t gi = 0; gi < G; gi++) {
            float *dx = gin[0]->data + (n * g->c + gi * Cg) * HW;
            const float *wg = w + gi * Mg * K;
            const float *dy = gout->data + (n * g->m + gi * Mg) * OHW;
            for (int64_t row0 = 0; row0 < g->out[1]; row0 += rows) {
                int64_t nr = row0 + rows <= g->out[1] ? rows : g->out[1] - row0;
                int64_t cols = nr * OW;
                if (pointwise) { /* dX[:, band] += Wᵀ · dY[:, band] */
                    net_gemm(true, false, K, cols, Mg, 1.0f, wg, K, dy + row0 * OW, OHW, 1.0f,
                             dx + row0 * OW, HW);
                    continue;
                }
                net_gemm(true, false, K, cols, Mg, 1.0f, wg, K, dy + row0 * OW, OHW, 0.0f,
                         c->scratch, cols);
                band_job j = {g, NULL, dx, c->scratch, row0, nr, c->circular};
                parallel_for(g->in[1], col2im_rows, &j);
            }
        }
}
