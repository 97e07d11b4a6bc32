/* Normalizations: LRN, BatchNormalization (inference form) and Softmax,
 * forward and backward side by side.
 *
 * LRN (ONNX): X [N, C, ...]; window(c) = channels c − ⌊(size−1)/2⌋ ..
 * c + ⌈(size−1)/2⌉ within [0, C);
 *   s_c = bias + α/size · Σ_{i ∈ window(c)} x_i²,   y_c = x_c · s_c^−β
 *   dx_j = g_j s_j^−β − (2αβ/size) x_j Σ_{c : j ∈ window(c)} g_c x_c s_c^(−β−1)
 * Backward keeps X only and recomputes s.
 * BatchNormalization: y = scale · (x − mean) / √(var + ε) + B per channel
 * (dim 1); dx = g · scale / √(var + ε). Usually folded into the Conv before.
 * Softmax along one axis (opset 13) or, legacy (opset < 13), over all dims
 * from the axis on: y = exp(x − max) / Σ exp(x − max); dx = y (g − Σ g y).
 */
#include "net/ops.h"

#include <math.h>
#include <string.h>

/* ---- LRN ------------------------------------------------------------------------------ */

status lrn_infer(const graph_node *node, const nd_shape *in, nd_shape *out)
{
    if (in[0].ndim < 2)
        return error_set(NULL, "input must have N and C dimensions");
    if (node->attrs.lrn.size < 1)
        return error_set(NULL, "size must be positive");
    *out = in[0];
    return ST_OK;
}

typedef struct {
    const op_call *c;
    const tensor *gout;
    tensor *gin;
    int64_t channels, plane; /* C, and elements per channel (product of spatial dims) */
} lrn_job;

static int64_t lrn_plane(const tensor *x)
{
    int64_t p = 1;
    for (int i = 2; i < x->ndim; i++)
        p *= x->shape[i];
    return p;
}

/* s_c over one channel's plane into `s` (n is the sample). */
static void lrn_scale(const op_call *c, const float *xn, int64_t ch, int64_t channels,
                      int64_t plane, float *s)
{
    int64_t size = c->node->attrs.lrn.size;
    int64_t lo = ch - (size - 1) / 2, hi = ch + size / 2;
    if (lo < 0)
        lo = 0;
    if (hi > channels - 1)
        hi = channels - 1;
    for (int64_t p = 0; p < plane; p++)
        s[p] = 0.0f;
    for (int64_t i = lo; i <= hi; i++) {
        const float *xi = xn + i * plane;
        for (int64_t p = 0; p < plane; p++)
            s[p] += xi[p] * xi[p];
    }
    float k = c->node->attrs.lrn.alpha / (float)size, bias = c->node->attrs.lrn.bias;
    for (int64_t p = 0; p < plane; p++)
        s[p] = bias + k * s[p];
}

static void lrn_forward_channels(void *ctx, int64_t i0, int64_t i1, int thread)
{
    const lrn_job *j = ctx;
    float *s = (float *)j->c->scratch + (size_t)thread * 2 * (size_t)j->plane;
    float beta = j->c->node->attrs.lrn.beta;
    for (int64_t item = i0; item < i1; item++) {
        int64_t n = item / j->channels, ch = item % j->channels;
        const float *xn = j->c->in[0]->data + n * j->channels * j->plane;
        lrn_scale(j->c, xn, ch, j->channels, j->plane, s);
        const float *x = xn + ch * j->plane;
        float *y = j->c->out->data + item * j->plane;
        for (int64_t p = 0; p < j->plane; p++)
            y[p] = x[p] * powf(s[p], -beta);
    }
}

void lrn_forward(const op_call *c)
{
    lrn_job j = {c, NULL, NULL, c->in[0]->shape[1], lrn_plane(c->in[0])};
    parallel_for(c->in[0]->shape[0] * j.channels, lrn_forward_channels, &j);
}

static void lrn_backward_channels(void *ctx, int64_t i0, int64_t i1, int thread)
{
    const lrn_job *j = ctx;
    float *s = (float *)j->c->scratch + (size_t)thread * 2 * (size_t)j->plane;
    float *acc = s + j->plane;
    int64_t size = j->c->node->attrs.lrn.size, C = j->channels, P = j->plane;
    float alpha = j->c->node->attrs.lrn.alpha, beta = j->c->node->attrs.lrn.beta;
    for (int64_t item = i0; item < i1; item++) {
        int64_t n = item / C, jc = item % C;
        const float *xn = j->c->in[0]->data + n * C * P;
        const float *gn = j->gout->data + n * C * P;
        /* Channels c whose window holds jc: c − ⌊(size−1)/2⌋ <= jc <= c + ⌊size/2⌋. */
        int64_t lo = jc - size / 2, hi = jc + (size - 1) / 2;
        if (lo < 0)
            lo = 0;
        if (hi > C - 1)
            hi = C - 1;
        for (int64_t p = 0; p < P; p++)
            acc[p] = 0.0f;
        for (int64_t ch = lo; ch <= hi; ch++) {
            lrn_scale(j->c, xn, ch, C, P, s);
            const float *xc = xn + ch * P, *gc = gn + ch * P;
            for (int64_t p = 0; p < P; p++)
                acc[p] += gc[p] * xc[p] * powf(s[p], -beta - 1.0f);
        }
        lrn_scale(j->c, xn, jc, C, P, s);
        const float *xj = xn + jc * P, *gj = gn + jc * P;
        float *dx = j->gin->data + item * P;
        float k = 2.0f * alpha * beta / (float)size;
        for (int64_t p = 0; p < P; p++)
            dx[p] += gj[p] * powf(s[p], -beta) - k * xj[p] * acc[p];
    }
}

void lrn_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    if (!gin[0])
        return;
    lrn_job j = {c, gout, gin[0], c->in[0]->shape[1], lrn_plane(c->in[0])};
    parallel_for(c->in[0]->shape[0] * j.channels, lrn_backward_channels, &j);
}

size_t lrn_scratch_bytes(const nd_shape *in, int threads)
{
    int64_t p = 1;
    for (int i = 2; i < in->ndim; i++)
        p *= in->d[i];
    return (size_t)threads * 2 * (size_t)p * sizeof(float);
}

/* ---- BatchNormalization ---------------------------------------------------------------- */

status batch_norm_infer(const nd_shape *in, nd_shape *out)
{
    if (in[0].ndim < 2)
        return error_set(NULL, "input must have N and C dimensions");
    for (int i = 1; i < 5; i++)
        if (in[i].ndim != 1 || in[i].d[0] != in[0].d[1])
            return error_set(NULL, "scale, B, mean and var must have %lld elements",
                             (long long)in[0].d[1]);
    *out = in[0];
    return ST_OK;
}

/* Per channel: y = a·x + b with a = scale/√(var+ε), b = B − a·mean. */
static void batch_norm_coefficients(const op_call *c, int64_t ch, float *a, float *b)
{
    const float *scale = c->in[1]->data, *var = c->in[4]->data;
    float eps = c->node->attrs.batch_norm.epsilon;
    *a = scale[ch] / sqrtf(var[ch] + eps);
    if (b)
        *b = c->in[2]->data[ch] - *a * c->in[3]->data[ch];
}

void batch_norm_forward(const op_call *c)
{
    const tensor *x = c->in[0];
    int64_t N = x->shape[0], C = x->shape[1], P = lrn_plane(x);
    for (int64_t n = 0; n < N; n++)
        for (int64_t ch = 0; ch < C; ch++) {
            float a, b;
            batch_norm_coefficients(c, ch, &a, &b);
            const float *src = x->data + (n * C + ch) * P;
            float *dst = c->out->data + (n * C + ch) * P;
            for (int64_t p = 0; p < P; p++)
                dst[p] = a * src[p] + b;
        }
}

void batch_norm_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    if (!gin[0])
        return;
    int64_t N = gout->shape[0], C = gout->shape[1], P = lrn_plane(gout);
    for (int64_t n = 0; n < N; n++)
        for (int64_t ch = 0; ch < C; ch++) {
            float a;
            batch_norm_coefficients(c, ch, &a, NULL);
            const float *g = gout->data + (n * C + ch) * P;
            float *dx = gin[0]->data + (n * C + ch) * P;
            for (int64_t p = 0; p < P; p++)
                dx[p] += a * g[p];
        }
}

/* ---- Softmax ------------------------------------------------------------------------------ */

status softmax_infer(const graph_node *node, const nd_shape *in, nd_shape *out)
{
    int axis;
    if (!axis_normalize(node->attrs.softmax.axis, in[0].ndim, false, &axis) && in[0].ndim > 0)
        return error_set(NULL, "axis %lld out of range for rank %d",
                         (long long)node->attrs.softmax.axis, in[0].ndim);
    *out = in[0];
    return ST_OK;
}

/* The normalized runs: `outer` groups of `len` elements spaced `inner` apart. */
static void softmax_layout(const op_call *c, const tensor *t, int64_t *outer, int64_t *len,
                           int64_t *inner)
{
    int axis = 0;
    axis_normalize(c->node->attrs.softmax.axis, t->ndim, false, &axis);
    *outer = *len = *inner = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (d < axis)
            *outer *= t->shape[d];
        else if (d == axis || c->node->attrs.softmax.legacy)
            *len *= t->shape[d];
        else
            *inner *= t->shape[d];
    }
}

void softmax_forward(const op_call *c)
{
    int64_t outer, len, inner;
    softmax_layout(c, c->in[0], &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *x = c->in[0]->data + o * len * inner + i;
            float *y = c->out->data + o * len * inner + i;
            float mx = -INFINITY;
            for (int64_t k = 0; k < len; k++)
                mx = x[k * inner] > mx ? x[k * inner] : mx;
            double sum = 0;
            for (int64_t k = 0; k < len; k++) {
                y[k * inner] = expf(x[k * inner] - mx);
                sum += y[k * inner];
            }
            for (int64_t k = 0; k < len; k++)
                y[k * inner] = (float)(y[k * inner] / sum);
        }
}

void softmax_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    if (!gin[0])
        return;
    int64_t outer, len, inner;
    softmax_layout(c, gout, &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            size_t base = (size_t)(o * len * inner + i);
            const float *y = c->out->data + base, *g = gout->data + base;
            float *dx = gin[0]->data + base;
            double dot = 0;
            for (int64_t k = 0; k < len; k++)
                dot += (double)g[k * inner] * y[k * inner];
            for (int64_t k = 0; k < len; k++)
                dx[k * inner] += y[k * inner] * (g[k * inner] - (float)dot);
        }
}
