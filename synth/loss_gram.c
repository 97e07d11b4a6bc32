/* The Gram (style) loss of Gatys et al. 2016, accumulable over tiles of
 * positions. With F: C × N (a layer's activation, N = H·W positions):
 *
 *   G = F Fᵀ / (C·N)          S = Σ_ij (G_ij − A_ij)²
 *
 * Gradient, with K = C·N: ∂S/∂G = 2(G − A), and G = F Fᵀ / K gives
 * ∂S/∂F = (1/K)(∂S/∂G + ∂S/∂Gᵀ) F = (4/K)(G − A) F, since G and A are
 * symmetric. Both products are the hot path (C up to 512, N up to 10⁶) and go
 * through OpenBLAS, split over net's thread pool (OpenBLAS itself runs on one
 * thread): F Fᵀ as square blocks of the upper triangle, one SGEMM each; the
 * gradient through net_gemm. Blocks depend on C alone, so every element is
 * computed by the same call whatever the thread count: same bytes. */
#include "synth/synth.h"
#include "synth/vec.h"

#include <cblas.h>
#include <string.h>

/* The upper triangle of G = F Fᵀ in B×B blocks (bi ≤ bj), B = max(16, C/8)
 * rounded up to 16: 10 blocks for C = 64, 36 for C ≥ 128, enough to keep
 * a few threads busy while each SGEMM stays large (k = positions). */
typedef struct {
    float *gram;
    const float *f;
    int c, block, nblocks; /* nblocks per side */
    int64_t positions;
} gram_job;

static int gram_block_size(int c)
{
    int b = c / 8 < 16 ? 16 : c / 8;
    return (b + 15) / 16 * 16;
}

/* Block pair number p (row-major over the upper triangle) → (bi, bj). */
static void gram_block_pair(int nblocks, int64_t p, int *bi, int *bj)
{
    int i = 0;
    while (p >= nblocks - i) {
        p -= nblocks - i;
        i++;
    }
    *bi = i;
    *bj = i + (int)p;
}

/* G[rows of bi, cols of bj] += F[bi] F[bj]ᵀ for each pair in [p0, p1). */
static void gram_blocks(void *ctx, int64_t p0, int64_t p1, int thread)
{
    (void)thread;
    const gram_job *j = ctx;
    for (int64_t p = p0; p < p1; p++) {
        int bi, bj;
        gram_block_pair(j->nblocks, p, &bi, &bj);
        int i0 = bi * j->block, j0 = bj * j->block;
        int mi = j->c - i0 < j->block ? j->c - i0 : j->block;
        int nj = j->c - j0 < j->block ? j->c - j0 : j->block;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, mi, nj, (int)j->positions, 1.0f,
                    j->f + (size_t)i0 * (size_t)j->positions, (int)j->positions,
                    j->f + (size_t)j0 * (size_t)j->positions, (int)j->positions, 1.0f,
                    j->gram + (size_t)i0 * (size_t)j->c + j0, j->c);
    }
}

/* gram: C×C, f: C×positions. gram += f fᵀ on the upper triangle (the lower
 * triangle of diagonal blocks gets sums too; gram_finish overwrites it). */
void gram_accumulate(float *gram, const float *f, int c, size_t positions)
{
    if (c <= 0 || positions == 0)
        return;
    gram_job j = {gram, f, c, gram_block_size(c), 0, (int64_t)positions};
    j.nblocks = (c + j.block - 1) / j.block;
    int64_t pairs = (int64_t)j.nblocks * (j.nblocks + 1) / 2;
    parallel_for(pairs, gram_blocks, &j);
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
