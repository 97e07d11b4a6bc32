/* The Gram (style) loss of Gatys et al. 2016, accumulable over tiles of
 * positions. With F: C × N (a layer's activation, N = H·W positions):
 *
 *   G = F Fᵀ / (C·N)          S = Σ_ij (G_ij − A_ij)²
 *
 * Gradient, with K = C·N: ∂S/∂G = 2(G − A), and G = F Fᵀ / K gives
 * ∂S/∂F = (1/K)(∂S/∂G + ∂S/∂Gᵀ) F = (4/K)(G − A) F, since G and A are
 * symmetric. Both products are the hot path (C up to 512, N up to 10⁶) and go
 * through OpenBLAS: SSYRK for F Fᵀ (half the work of SGEMM), SGEMM for the
 * gradient, tile by tile so memory follows the tile. */
#include "synth/synth.h"
#include "synth/vec.h"

#include <cblas.h>
#include <string.h>

/* gram: C×C, f: C×positions. gram += f fᵀ, upper triangle only. */
void gram_accumulate(float *gram, const float *f, int c, size_t positions)
{
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, c, (int)positions, 1.0f, f,
                (int)positions, 1.0f, gram, c);
}

/* gram: C×C with its upper triangle = Σ_tiles F_t F_tᵀ over `positions` in
 * all. Divides by C·positions and mirrors the upper triangle into the lower. */
void gram_finish(float *gram, int c, size_t positions)
{
    float inv = (float)(1.0 / ((double)c * (double)positions));
    for (int i = 0; i < c; i++)
        for (int j = i; j < c; j++) {
            float v = gram[(size_t)i * c + j] * inv;
            gram[(size_t)i * c + j] = v;
            gram[(size_t)j * c + i] = v;
        }
}

void gram_compute(const float *f, act_shape s, float *gram)
{
    memset(gram, 0, (size_t)s.c * (size_t)s.c * sizeof *gram);
    gram_accumulate(gram, f, s.c, act_positions(s));
    gram_finish(gram, s.c, act_positions(s));
}

/* gram, target, dgram: C×C. S = Σ (G − A)²; dgram = scale·4/(C·N)·(G − A)
 * (so that gram_backward gives scale·∂S/∂F). */
double gram_loss(const float *gram, const float *target, int c, size_t positions,
                 double scale, float *dgram)
{
    size_t cc = (size_t)c * (size_t)c;
    memset(dgram, 0, cc * sizeof *dgram);
    float k = (float)(scale * 4.0 / ((double)c * (double)positions));
    return vec_diff_sq(gram, target, cc, k, dgram);
}

/* dgram: C×C, f, grad: C×positions. grad += dgram · f, split over the
 * engine's threads (net_gemm: by size alone, so the same bytes for any
 * thread count). */
void gram_backward(const float *dgram, const float *f, int c, size_t positions, float *grad)
{
    net_gemm(false, false, c, (int64_t)positions, c, 1.0f, dgram, c, f, (int64_t)positions, 1.0f,
             grad, (int64_t)positions);
}
