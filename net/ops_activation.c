/* Element-wise activations: Relu, LeakyRelu, Clip, Sigmoid, Tanh, forward and
 * backward side by side. Any shape.
 *
 * What backward keeps: Relu, LeakyRelu and Clip one bit per element (x > 0,
 * or min <= x <= max for Clip), Sigmoid and Tanh their output. Relu's
 * backward has three modes:
 *   standard   dx = dy · [x > 0]
 *   deconvnet  dx = max(dy, 0)                 (Zeiler & Fergus 2014)
 *   guided     dx = max(dy, 0) · [x > 0]       (Springenberg et al. 2015)
 * Work is split in runs of 8 elements, so each mask byte has one writer.
 */
#include "net/ops.h"
#include "net/simd.h"

#include <math.h>
#include <string.h>
#if NET_X86
#include <immintrin.h>
#endif

status clip_infer(const nd_shape *in, int ninputs, nd_shape *out)
{
    for (int i = 1; i < ninputs; i++)
        if (in[i].ndim >= 0 && shape_count(&in[i]) != 1)
            return error_set(NULL, "%s must be a scalar", i == 1 ? "min" : "max");
    *out = in[0];
    return ST_OK;
}

typedef struct {
    const op_call *c;
    const tensor *gout;
    tensor *gin;
    int64_t n;
    float lo, hi; /* Clip bounds */
} act_job;

static void clip_bounds(const op_call *c, float *lo, float *hi)
{
    *lo = c->node->attrs.clip.min;
    *hi = c->node->attrs.clip.max;
    if (c->node->ninputs > 1 && c->in[1])
        *lo = c->in[1]->data[0];
    if (c->node->ninputs > 2 && c->in[2])
        *hi = c->in[2]->data[0];
}

/* Relu with its sign bits, whole runs of 8 from element i; returns where it
 * stopped (the scalar code below does the rest). */
#if NET_X86
__attribute__((target("avx512f"))) static int64_t relu_avx512(const float *x, float *y,
                                                             uint8_t *bits, int64_t i, int64_t end)
{
    for (; i + 16 <= end; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        __mmask16 on = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
        _mm512_storeu_ps(y + i, _mm512_maskz_mov_ps(on, v));
        if (bits) {
            uint16_t b = (uint16_t)on;
            memcpy(bits + i / 8, &b, 2); /* element i + k is bit k: little-endian */
        }
    }
    return i;
}

__attribute__((target("avx512f"))) static int64_t relu_backward_avx512(const float *gy, float *gx,
                                                                      const uint8_t *bits,
                                                                      bool overwrite, int64_t i,
                                                                      int64_t end)
{
    for (; i + 16 <= end; i += 16) {
        uint16_t b;
        memcpy(&b, bits + i / 8, 2);
        __m512 d = _mm512_loadu_ps(gy + i);
        if (overwrite) {
            _mm512_storeu_ps(gx + i, _mm512_maskz_mov_ps((__mmask16)b, d));
            continue;
        }
        __m512 g = _mm512_loadu_ps(gx + i);
        _mm512_storeu_ps(gx + i, _mm512_mask_add_ps(g, (__mmask16)b, g, d));
    }
    return i;
}
#endif

static void forward_runs(void *ctx, int64_t r0, int64_t r1, int thread)
{
    (void)thread;
    const act_job *j = ctx;
    const float *x = j->c->in[0]->data;
    float *y = j->c->out->data;
    uint8_t *bits = j->c->saved;
    int64_t i0 = r0 * 8, i1 = r1 * 8 < j->n ? r1 * 8 : j->n;
    float alpha = j->c->node->attrs.leaky_relu.alpha;
    switch (j->c->node->op) {
    case OP_RELU:
#if NET_X86
        if (cpu_has_avx512()) {
            int64_t done = relu_avx512(x, y, bits, i0, i1);
            r0 = done / 8;
            i0 = done;
        }
#endif
        for (int64_t i = i0; i < i1; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case OP_LEAKY_RELU:
        for (int64_t i = i0; i < i1; i++)
            y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
        break;
    case OP_CLIP:
        for (int64_t i = i0; i < i1;
             i++) { /* min(max(x, lo), hi): max wins when lo > hi, NaN passes */
            float v = x[i] < j->lo ? j->lo : x[i];
            y[i] = v > j->hi ? j->hi : v;
        }
        break;
    case OP_SIGMOID:
        for (int64_t i = i0; i < i1; i++)
            y[i] = x[i] >= 0.0f ? 1.0f / (1.0f + expf(-x[i])) : expf(x[i]) / (1.0f + expf(x[i]));
        break;
    case OP_TANH:
        for (int64_t i = i0; i < i1; i++)
            y[i] = tanhf(x[i]);
        break;
    default: break;
    }
    if (!bits)
        return;
    for (int64_t r = r0; r < r1; r++) {
        uint8_t b = 0;
        for (int64_t k = 0; k < 8 && r * 8 + k < j->n; k++) {
            float v = x[r * 8 + k];
            bool on = j->c->node->op == OP_CLIP ? v >= j->lo && v <= j->hi : v > 0.0f;
            b |= (uint8_t)(on << k);
        }
        bits[r] = b;
    }
}

void activation_forward(const op_call *c)
{
    act_job j = {c, NULL, NULL, (int64_t)tensor_numel(c->in[0]), 0, 0};
    if (c->node->op == OP_CLIP)
        clip_bounds(c, &j.lo, &j.hi);
    parallel_for((j.n + 7) / 8, forward_runs, &j);
}

static void backward_runs(void *ctx, int64_t r0, int64_t r1, int thread)
{
    (void)thread;
    const act_job *j = ctx;
    const float *gy = j->gout->data;
    float *gx = j->gin->data;
    const uint8_t *bits = j->c->saved;
    const float *y = j->c->out->data;
    int64_t i0 = r0 * 8, i1 = r1 * 8 < j->n ? r1 * 8 : j->n;
    float alpha = j->c->node->attrs.leaky_relu.alpha;
#define BIT(i) ((bits[(i) >> 3] >> ((i)&7)) & 1)
    switch (j->c->node->op) {
    case OP_RELU: {
        /* Overwriting (the first write of gx): gx = pass ? gy : 0. */
        bool over = j->c->overwrite & 1;
        switch (j->c->relu) {
        case NET_RELU_STANDARD:
#if NET_X86
            if (cpu_has_avx512())
                i0 = relu_backward_avx512(gy, gx, bits, over, i0, i1);
#endif
            for (int64_t i = i0; i < i1; i++) /* as the vector code: gx untouched where off */
                if (over)
                    gx[i] = BIT(i) ? gy[i] : 0.0f;
                else if (BIT(i))
                    gx[i] += gy[i];
            break;
        case NET_RELU_DECONVNET:
            for (int64_t i = i0; i < i1; i++)
                gx[i] = (over ? 0.0f : gx[i]) + (gy[i] > 0.0f ? gy[i] : 0.0f);
            break;
        case NET_RELU_GUIDED:
            for (int64_t i = i0; i < i1; i++)
                gx[i] = (over ? 0.0f : gx[i]) + (BIT(i) && gy[i] > 0.0f ? gy[i] : 0.0f);
            break;
        }
        break;
    }
    case OP_LEAKY_RELU:
        for (int64_t i = i0; i < i1; i++)
            gx[i] += BIT(i) ? gy[i] : alpha * gy[i];
        break;
    case OP_CLIP:
        for (int64_t i = i0; i < i1; i++)
            gx[i] += BIT(i) ? gy[i] : 0.0f;
        break;
    case OP_SIGMOID: /* dy/dx = y (1 − y) */
        for (int64_t i = i0; i < i1; i++)
            gx[i] += gy[i] * y[i] * (1.0f - y[i]);
        break;
    case OP_TANH: /* dy/dx = 1 − y² */
        for (int64_t i = i0; i < i1; i++)
            gx[i] += gy[i] * (1.0f - y[i] * y[i]);
        break;
    default: break;
    }
#undef BIT
}

void activation_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    if (!gin[0])
        return;
    act_job j = {c, gout, gin[0], (int64_t)tensor_numel(gout), 0, 0};
    parallel_for((j.n + 7) / 8, backward_runs, &j);
}
