/* Loss terms on one activation: each returns its value S (double) and adds
 * scale·∂S/∂a into grad. The objective (objective.c) picks scale =
 * direction·weight; nothing here knows about ascent or descent.
 * The Gram (style) loss lives in loss_gram.c. */
#include "synth/synth.h"
#include "synth/vec.h"

#include <math.h>

size_t act_positions(act_shape s) { return (size_t)s.h * (size_t)s.w; }
size_t act_size(act_shape s) { return (size_t)s.c * act_positions(s); }

/* The mean of channel c of a (C × hw), and grad[c, ·] += g. */
static double channel_mean(const float *a, size_t hw, int c)
{
    const float *ac = a + (size_t)c * hw;
    double sum = 0;
    for (size_t p = 0; p < hw; p++)
        sum += ac[p];
    return sum / (double)hw;
}

static void channel_add(float *grad, size_t hw, int c, float g)
{
    float *gc = grad + (size_t)c * hw;
    for (size_t p = 0; p < hw; p++)
        gc[p] += g;
}

/* a: C×H×W. S = (1/HW) Σ a[c]; ∂S/∂a[c,·] = 1/HW. */
double loss_channel_mean(const float *a, act_shape s, int c, double scale, float *grad)
{
    size_t hw = act_positions(s);
    channel_add(grad, hw, c, (float)(scale / (double)hw));
    return channel_mean(a, hw, c);
}

/* a: C×H×W; z_c = (1/HW) Σ a[c] (C logits).
 * S = z_k − lse(z), lse(z) = m + log Σ exp(z_c − m), m = max z.
 * ∂S/∂z_c = δ_ck − softmax(z)_c; ∂z_c/∂a[c,y,x] = 1/HW. */
double loss_log_softmax(const float *a, act_shape s, int k, double scale, float *grad)
{
    /* The logits are recomputed in each pass rather than stored: no
     * allocation, and C·HW is small for a logit layer. */
    size_t hw = act_positions(s);
    double zmax = -INFINITY;
    for (int c = 0; c < s.c; c++)
        zmax = fmax(zmax, channel_mean(a, hw, c));
    double sum_exp = 0;
    for (int c = 0; c < s.c; c++)
        sum_exp += exp(channel_mean(a, hw, c) - zmax);
    double lse = zmax + log(sum_exp);
    for (int c = 0; c < s.c; c++) {
        double softmax = exp(channel_mean(a, hw, c) - lse);
        channel_add(grad, hw, c, (float)(scale * ((c == k) - softmax) / (double)hw));
    }
    return channel_mean(a, hw, k) - lse;
}

/* S = a[c, y, x]; ∂S/∂a is 1 there, 0 elsewhere. */
double loss_neuron(const float *a, act_shape s, int c, int x, int y, double scale, float *grad)
{
    size_t i = ((size_t)c * (size_t)s.h + (size_t)y) * (size_t)s.w + (size_t)x;
    grad[i] += (float)scale;
    return a[i];
}

/* a, target: n values. S = ‖a − t‖² / N, N = target_norm2; ∂S/∂a = 2(a − t)/N. */
double loss_inversion(const float *a, const float *target, size_t n, double target_norm2,
                      double scale, float *grad)
{
    return vec_diff_sq(a, target, n, (float)(2.0 * scale / target_norm2), grad) / target_norm2;
}

/* a, target: n values. S = ½ Σ (a − t)²; ∂S/∂a = a − t. */
double loss_content(const float *a, const float *target, size_t n, double scale, float *grad)
{
    return 0.5 * vec_diff_sq(a, target, n, (float)scale, grad);
}

/* a: n values. S = ½ Σ a²; ∂S/∂a = a. */
double loss_dream(const float *a, size_t n, double scale, float *grad)
{
    vec_axpy(grad, (float)scale, a, n);
    return 0.5 * vec_dot(a, a, n);
}

enum { GUIDED_WORK_FLOATS = 1 << 20 }; /* 4 MiB of dot products per block */

size_t loss_guided_work(size_t guide_positions)
{
    return guide_positions > GUIDED_WORK_FLOATS ? guide_positions : GUIDED_WORK_FLOATS;
}

/* a: C×N (N = H·W), guide: C×Q, work: rows×Q with rows = work_len / Q.
 * For a block of positions p: dots[p][q] = a_p·g_q = (aᵀ g)[p][q] (SGEMM,
 * aᵀ read with stride N, through net_gemm), q* = argmax_q, S += dots[p][q*],
 * grad[·, p] += scale·g[·, q*]. */
double loss_guided_dream(const float *a, act_shape s, const float *guide,
                         size_t guide_positions, double scale, float *grad, float *work,
                         size_t work_len)
{
    size_t n = act_positions(s), q_count = guide_positions;
    size_t rows = work_len / q_count;
    float g = (float)scale;
    double sum = 0;
    for (size_t p0 = 0; p0 < n; p0 += rows) {
        size_t block = n - p0 < rows ? n - p0 : rows;
        net_gemm(true, false, (int64_t)block, (int64_t)q_count, s.c, 1.0f, a + p0, (int64_t)n,
                 guide, (int64_t)q_count, 0.0f, work, (int64_t)q_count);
        for (size_t r = 0; r < block; r++) {
            const float *dots = work + r * q_count;
            size_t best = 0;
            for (size_t q = 1; q < q_count; q++)
                if (dots[q] > dots[best])
                    best = q;
            sum += dots[best];
            for (int c = 0; c < s.c; c++)
                grad[(size_t)c * n + p0 + r] += g * guide[(size_t)c * q_count + best];
        }
    }
    return sum;
}
