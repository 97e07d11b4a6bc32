/* Winograd F(4×4, 3×3) convolution (Lavin & Gray 2016) for the 3×3,
 * stride-1, undilated convs of VGG-style networks: forward and backward-data.
 *
 * Shapes, per sample and group: X [Ci, H, W] → Y [Co, OH, OW], W [Co, Ci, 3, 3],
 * output (oy, ox) reading X[oy − pt + ky, ox − pl + kx]. The output is cut
 * into 4×4 tiles, T = ⌈OH/4⌉·⌈OW/4⌉ of them in raster order; tile t at
 * (ty, tx) reads the 6×6 input patch d at (4·ty − pt, 4·tx − pl), with zeros
 * (or wrapped pixels, circular) outside X. With ξ = 6·i + j:
 *   V[ξ][ci][t]  = (Bᵀ d_{ci,t} B)[i][j]          input transform
 *   U[ξ][co][ci] = (G W[co, ci] Gᵀ)[i][j]         weight transform
 *   M[ξ]         = U[ξ] · V[ξ]                    36 products (Co × Ci)·(Ci × T)
 *   Y tile_{co,t} = Aᵀ M[·][co][t] A              output transform (4×4)
 * which is exact in real arithmetic, with 36 multiplies per 16 outputs and
 * channel pair instead of 144. The matrices (points 0, ±1, ±2, ∞):
 *   Bᵀ = [4  0 −5  0 1 0; 0 −4 −4  1 1 0; 0 4 −4 −1 1 0;
 *         0 −2 −1  2 1 0; 0  2 −1 −2 1 0; 0 4  0 −5 0 1]
 *   G  = [1/4 0 0; −1/6 −1/6 −1/6; −1/6 1/6 −1/6;
 *         1/24 1/12 1/6; 1/24 −1/12 1/6; 0 0 1]
 *   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
 *
 * Backward-data of such a conv is again one: dX[ci] = Σ_co dY[co] ⋆ W'[ci, co]
 * with W'[ci, co, ky, kx] = W[co, ci, 2 − ky, 2 − kx], pads 2 − pt (top) and
 * 2 − pl (left), over dX's H × W (added into it). With circular pads and
 * OH = H, OW = W the same holds with wrapped reads.
 *
 * Memory and work: the weight transform is computed per call, for a chunk of
 * output channels at a time (U of a chunk ≤ WINO_U_BYTES); caching it would
 * hold 4× the weights for as long as the model lives. Within a chunk, tiles
 * are split into blocks whose size depends on the problem alone; one thread
 * does a block start to end in its own scratch (input transform, 36 products
 * through the register-blocked kernels below, output transform), so results
 * do not depend on the thread count.
 *
 * The products: U is packed as [ξ][co / 12][ci][12] and V's rows are runs of
 * tiles, so a 12 × 32 block of M is Σ_ci (12 weights) ⊗ (32 tiles): the
 * AVX-512 kernel keeps it in 24 registers (12 broadcasts, 2 loads, 24 FMAs
 * per ci), the AVX2 kernel does 6 × 16 at a time; other CPUs run plain C.
 * Every kernel adds over ci in the same order, one rounding per FMA.
 */
#include "net/ops.h"
#include "net/simd.h"

#include <string.h>

#if NET_X86
#include <immintrin.h>
#endif

enum {
    WINO_XI = 36, /* Winograd-domain points per tile */
    RB = 12, /* output channels per packed group of U */
    TB = 32, /* tiles per kernel call */
    WINO_U_BYTES = 64 << 20, /* transformed weights of one chunk of output channels */
    WINO_VM_BYTES = 512 << 10, /* V and M of a block when they can stay in L2 */
    WINO_SPILL_BYTES = 16 << 20, /* V and M of a block when they cannot */
    WINO_MAX_BLOCK = 256, /* tiles */
};

/* ---- 1-D transforms --------------------------------------------------------------- */

/* v = Bᵀ d: v0 = 4d0 − 5d2 + d4, v1,2 = (d4 − 4d2) ± (d3 − 4d1),
 * v3,4 = (d4 − d2) ± 2(d3 − d1), v5 = 4d1 − 5d3 + d5. */
#define INPUT_1D(d0, d1, d2, d3, d4, d5, v0, v1, v2, v3, v4, v5)                                 \
    do {                                                                                       \
        float p_ = (d4) - 4.0f * (d2), q_ = (d3) - 4.0f * (d1);                                \
        float r_ = (d4) - (d2), s_ = 2.0f * ((d3) - (d1));                                     \
        (v0) = 4.0f * (d0) - 5.0f * (d2) + (d4);                                               \
        (v1) = p_ + q_;                                                                        \
        (v2) = p_ - q_;                                                                        \
        (v3) = r_ + s_;                                                                        \
        (v4) = r_ - s_;                                                                        \
        (v5) = 4.0f * (d1) - 5.0f * (d3) + (d5);                                               \
    } while (0)

/* y = Aᵀ m: with a = m1 + m2, b = m1 − m2, c = m3 + m4, d = m3 − m4:
 * y0 = m0 + a + c, y1 = b + 2d, y2 = a + 4c, y3 = b + 8d + m5. */
#define OUTPUT_1D(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                      \
    do {                                                                                       \
        float a_ = (m1) + (m2), b_ = (m1) - (m2), c_ = (m3) + (m4), d_ = (m3) - (m4);          \
        (y0) = (m0) + a_ + c_;                                                                 \
        (y1) = b_ + 2.0f * d_;                                                                 \
        (y2) = a_ + 4.0f * c_;                                                                 \
        (y3) = b_ + 8.0f * d_ + (m5);                                                          \
    } while (0)

/* u = G g: u0 = g0/4, u1,2 = −(g0 + g2 ± g1)/6, u3,4 = (g0/4 + g2 ± g1/2)/6, u5 = g2. */
#define WEIGHT_1D(g0, g1, g2, u0, u1, u2, u3, u4, u5)                                            \
    do {                                                                                       \
        float e_ = (g0) + (g2), f_ = 0.25f * (g0) + (g2);                                      \
        (u0) = 0.25f * (g0);                                                                   \
        (u1) = (e_ + (g1)) * (-1.0f / 6.0f);                                                   \
        (u2) = (e_ - (g1)) * (-1.0f / 6.0f);                                                   \
        (u3) = (f_ + 0.5f * (g1)) * (1.0f / 6.0f);                                             \
        (u4) = (f_ - 0.5f * (g1)) * (1.0f / 6.0f);                                             \
        (u5) = (g2);                                                                           \
    } while (0)

/* ---- when it applies ------------------------------------------------------------ */

static int64_t tiles_of(int64_t oh, int64_t ow) { return ((oh + 3) / 4) * ((ow + 3) / 4); }

bool winograd_applies(const window_geom *g, bool circular)
{
    if (g->nspatial != 2 || g->kernel[1] != 3 || g->kernel[2] != 3)
        return false;
    for (int a = 1; a < 3; a++) {
        if (g->stride[a] != 1 || g->dilation[a] != 1 || g->pad_begin[a] > 2 || g->pad_end[a] > 2)
            return false;
        if (circular && g->pad_begin[a] + g->pad_end[a] != 2)
            return false; /* then OH = H: the adjoint wraps the same way */
    }
    /* Few channels: the transforms cost more than the products save. Few
     * tiles (in either direction): the kernels' 32-tile runs go half empty. */
    int64_t cg = g->c / g->group, mg = g->m / g->group;
    return cg >= 8 && mg >= 8 && tiles_of(g->out[1], g->out[2]) >= TB &&
           tiles_of(g->in[1], g->in[2]) >= TB;
}

/* ---- the problem one call solves -------------------------------------------------- */

typedef struct {
    /* per (sample, group) */
    int64_t ci, co, h, w, oh, ow, pt, pl;
    bool circular, accumulate;
    int64_t tiles_x, tiles;
    int64_t chunk; /* output channels per weight chunk (a multiple of RB, or co) */
    int64_t block, nblocks; /* tiles per block (a multiple of TB), blocks */
    size_t u_floats, thread_floats;
    /* per call */
    const float *x; /* [ci][h][w] */
    float *y; /* [co][oh][ow] */
    const float *bias; /* [co] or NULL */
    const float *u; /* the chunk's packed U: [36][groups][ci][RB] */
    int64_t co0, nco; /* the chunk's output channels */
    float *scratch; /* per thread: thread_floats each */
} wino_job;

static int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

/* Forward maps ci → co over the conv's output, backward co → ci over its
 * input. Block and chunk sizes follow from the sizes alone. */
static void problem(const window_geom *g, bool backward, int threads, wino_job *j)
{
    memset(j, 0, sizeof *j);
    int64_t cg = g->c / g->group, mg = g->m / g->group;
    if (!backward) {
        j->ci = cg, j->co = mg;
        j->h = g->in[1], j->w = g->in[2], j->oh = g->out[1], j->ow = g->out[2];
        j->pt = g->pad_begin[1], j->pl = g->pad_begin[2];
    } else {
        j->ci = mg, j->co = cg;
        j->h = g->out[1], j->w = g->out[2], j->oh = g->in[1], j->ow = g->in[2];
        j->pt = 2 - g->pad_begin[1], j->pl = 2 - g->pad_begin[2];
    }
    j->tiles_x = (j->ow + 3) / 4;
    j->tiles = tiles_of(j->oh, j->ow);
    int64_t per_row = WINO_XI * j->ci * (int64_t)sizeof(float); /* U bytes per output channel */
    j->chunk = WINO_U_BYTES / per_row / RB * RB;
    if (j->chunk < RB)
        j->chunk = RB;
    if (j->chunk >= j->co)
        j->chunk = j->co;
    /* Tiles per block: when V and M of a block of TB tiles fit in L2, as
     * many as fit (few channels: the transforms' traffic dominates, U is
     * small); else as many as WINO_SPILL_BYTES allow, up to WINO_MAX_BLOCK
     * (many channels: every block reads all of U, so fewer blocks move less).
     * At least one block per thread when there are tiles enough. Blocks
     * only group tiles: every tile's result is the same in any block, so
     * the split may follow the thread count. */
    int64_t per_tile = WINO_XI * (j->ci + round_up(j->chunk, RB)) * (int64_t)sizeof(float);
    int64_t b = WINO_VM_BYTES / per_tile / TB * TB;
    if (b < TB)
        b = WINO_SPILL_BYTES / per_tile / TB * TB;
    b = b < TB ? TB : b > WINO_MAX_BLOCK ? WINO_MAX_BLOCK : b;
    int64_t n = (j->tiles + b - 1) / b, runs = (j->tiles + TB - 1) / TB;
    if (n < threads)
        n = runs < threads ? runs : threads;
    j->block = round_up((j->tiles + n - 1) / n, TB);
    j->nblocks = (j->tiles + j->block - 1) / j->block;
    j->u_floats = (size_t)(WINO_XI * round_up(j->chunk, RB) * j->ci);
    /* V [36][ci][block] and M [36][chunk rounded to RB][block] as panels,
     * then the work space of the transforms. */
    j->thread_floats = (size_t)(WINO_XI * ((j->ci + round_up(j->chunk, RB)) * j->block + 64) +
                                60 * (j->tiles_x + 1));
    j->thread_floats = (size_t)round_up((int64_t)j->thread_floats, 16);
}

size_t winograd_scratch_bytes(const window_geom *g, bool backward, int threads)
{
    wino_job j;
    problem(g, backward, threads, &j);
    return (j.u_floats + j.thread_floats * (size_t)threads) * sizeof(float);
}

/* ---- input transform ---------------------------------------------------------------- */

/* Input pixel column x of a row, or the pad: 0, or the wrapped pixel. */
static inline float pad_pixel(const float *row, int64_t x, int64_t w, bool circular)
{
    if (x >= 0 && x < w)
        return row[x];
    if (!circular)
        return 0.0f;
    x %= w;
    return row[x < 0 ? x + w : x];
}

/* The row y of a plane (NULL for a zero row), wrapping when circular. */
static inline const float *source_row(const wino_job *j, const float *plane, int64_t y)
{
    if (y < 0 || y >= j->h) {
        if (!j->circular)
            return NULL;
        y %= j->h;
        y += y < 0 ? j->h : 0;
    }
    return plane + y * j->w;
}

/* p_q[t] = the row at column 4·(tx0 + t) − pl + q for t in [0, n], q < 4:
 * the row deinterleaved by phase, so that patch column l of tile t is
 * p_{l mod 4}[t + l/4]. */
HOT_KERNEL static void row_phases(const wino_job *j, const float *row, int64_t tx0, int64_t n,
                                  float *restrict p0, float *restrict p1, float *restrict p2,
                                  float *restrict p3)
{
    if (!row) {
        for (int64_t t = 0; t <= n; t++)
            p0[t] = p1[t] = p2[t] = p3[t] = 0.0f;
        return;
    }
    int64_t x0 = 4 * tx0 - j->pl;
    /* Tiles whose 4 columns are all inside the row: [lo, hi). */
    int64_t lo = x0 >= 0 ? 0 : (-x0 + 3) / 4, hi = (j->w - x0) / 4;
    hi = hi > n + 1 ? n + 1 : hi;
    lo = lo > hi ? hi : lo;
    const float *restrict src = row + x0;
    for (int64_t t = lo; t < hi; t++) {
        p0[t] = src[4 * t];
        p1[t] = src[4 * t + 1];
        p2[t] = src[4 * t + 2];
        p3[t] = src[4 * t + 3];
    }
    for (int64_t t = 0; t <= n; t++) { /* the borders: [0, lo) and [hi, n] */
        if (t == lo)
            t = hi;
        if (t > n)
            break;
        int64_t x = x0 + 4 * t;
        p0[t] = pad_pixel(row, x, j->w, j->circular);
        p1[t] = pad_pixel(row, x + 1, j->w, j->circular);
        p2[t] = pad_pixel(row, x + 2, j->w, j->circular);
        p3[t] = pad_pixel(row, x + 3, j->w, j->circular);
    }
}

/* Along one patch row k: h[k][j][t] = (d B)[j] with d_l = p_{l mod 4}[t + l/4]
 * (h: [6][6][hs]). */
HOT_KERNEL static void input_rows(const float *restrict p0, const float *restrict p1,
                                  const float *restrict p2, const float *restrict p3, int64_t n,
                                  float *restrict h0, float *restrict h1, float *restrict h2,
                                  float *restrict h3, float *restrict h4, float *restrict h5)
{
    for (int64_t t = 0; t < n; t++)
        INPUT_1D(p0[t], p1[t], p2[t], p3[t], p0[t + 1], p1[t + 1], h0[t], h1[t], h2[t], h3[t],
                 h4[t], h5[t]);
}

/* Down patch column jj: v_i[t] = Σ_k Bᵀ[i][k] h[k][jj][t] for the 6 rows i. */
HOT_KERNEL static void input_column(const float *restrict h0, const float *restrict h1,
                                    const float *restrict h2, const float *restrict h3,
                                    const float *restrict h4, const float *restrict h5, int64_t n,
                                    float *restrict v0, float *restrict v1, float *restrict v2,
                                    float *restrict v3, float *restrict v4, float *restrict v5)
{
    for (int64_t t = 0; t < n; t++)
        INPUT_1D(h0[t], h1[t], h2[t], h3[t], h4[t], h5[t], v0[t], v1[t], v2[t], v3[t], v4[t],
                 v5[t]);
}

/* Where V and M keep point ξ, channel c (M: output channel) of block-local
 * tile l: panels of TB tiles, each [channels][TB] (what the kernels read and
 * write contiguously), planes of ξ padded by a few cache lines so that they
 * do not all map to the same cache sets. */
typedef struct {
    float *base;
    int64_t channels, plane;
} panels;

static panels panels_of(float *base, int64_t channels, int64_t block)
{
    return (panels){base, channels, block / TB * channels * TB + 32};
}

static inline float *panel_at(const panels *p, int xi, int64_t c, int64_t l)
{
    return p->base + xi * p->plane + (l / TB * p->channels + c) * TB + l % TB;
}

/* V for the tiles [t0, t0 + nt), every input channel. Work: 24·(tiles_x + 1)
 * + 36·tiles_x floats. */
static void input_transform(const wino_job *j, int64_t t0, int64_t nt, const panels *v,
                            float *work)
{
    int64_t tw = j->tiles_x, ps = tw + 1;
    float *ph = work, *h = work + 24 * ps; /* ph: [6 rows][4 phases][ps], h: [6][6][tw] */
    for (int64_t t = t0; t < t0 + nt;) {
        int64_t ty = t / tw, tx0 = t % tw, n = tw - tx0;
        n = n > t0 + nt - t ? t0 + nt - t : n;
        for (int64_t c = 0; c < j->ci; c++) {
            const float *plane = j->x + c * j->h * j->w;
            for (int k = 0; k < 6; k++) {
                float *p = ph + k * 4 * ps, *hk = h + k * 6 * tw;
                row_phases(j, source_row(j, plane, 4 * ty - j->pt + k), tx0, n, p, p + ps,
                           p + 2 * ps, p + 3 * ps);
                input_rows(p, p + ps, p + 2 * ps, p + 3 * ps, n, hk, hk + tw, hk + 2 * tw,
                           hk + 3 * tw, hk + 4 * tw, hk + 5 * tw);
            }
            for (int64_t a = 0, len; a < n; a += len) { /* pieces within one panel */
                int64_t l = t - t0 + a;
                len = TB - l % TB < n - a ? TB - l % TB : n - a;
                for (int jj = 0; jj < 6; jj++) {
                    const float *hj = h + jj * tw + a;
                    float *vj = panel_at(v, jj, c, l);
                    int64_t xs = 6 * v->plane;
                    input_column(hj, hj + 6 * tw, hj + 12 * tw, hj + 18 * tw, hj + 24 * tw,
                                 hj + 30 * tw, len, vj, vj + xs, vj + 2 * xs, vj + 3 * xs,
                                 vj + 4 * xs, vj + 5 * xs);
                }
            }
        }
        t += n;
    }
}

/* ---- output transform ----------------------------------------------------------------- */

/* Along row i of M: g_b[t] = Σ_j m_j[t] A[j][b]. */
HOT_KERNEL static void output_row(const float *restrict m0, const float *restrict m1,
                                  const float *restrict m2, const float *restrict m3,
                                  const float *restrict m4, const float *restrict m5, int64_t n,
                                  float *restrict g0, float *restrict g1, float *restrict g2,
                                  float *restrict g3)
{
    for (int64_t t = 0; t < n; t++)
        OUTPUT_1D(m0[t], m1[t], m2[t], m3[t], m4[t], m5[t], g0[t], g1[t], g2[t], g3[t]);
}

/* Down column b: o_a[t] = Σ_i Aᵀ[a][i] g[i][b][t] + bias. */
HOT_KERNEL static void output_column(const float *restrict g0, const float *restrict g1,
                                     const float *restrict g2, const float *restrict g3,
                                     const float *restrict g4, const float *restrict g5, int64_t n,
                                     float bias, float *restrict o0, float *restrict o1,
                                     float *restrict o2, float *restrict o3)
{
    for (int64_t t = 0; t < n; t++) {
        float y0, y1, y2, y3;
        OUTPUT_1D(g0[t], g1[t], g2[t], g3[t], g4[t], g5[t], y0, y1, y2, y3);
        o0[t] = y0 + bias;
        o1[t] = y1 + bias;
        o2[t] = y2 + bias;
        o3[t] = y3 + bias;
    }
}

/* Writes (or adds) one output row of n tiles: y[4t + b] = o_b[t], for the
 * columns inside the output (`cols` of them from the first tile). */
HOT_KERNEL static void store_row(const float *restrict o0, const float *restrict o1,
                                 const float *restrict o2, const float *restrict o3, int64_t n,
                                 float *restrict y, int64_t cols, bool accumulate)
{
    int64_t full = cols / 4 < n ? cols / 4 : n;
    if (accumulate)
        for (int64_t t = 0; t < full; t++) {
            y[4 * t] += o0[t];
            y[4 * t + 1] += o1[t];
            y[4 * t + 2] += o2[t];
            y[4 * t + 3] += o3[t];
        }
    else
        for (int64_t t = 0; t < full; t++) {
            y[4 * t] = o0[t];
            y[4 * t + 1] = o1[t];
            y[4 * t + 2] = o2[t];
            y[4 * t + 3] = o3[t];
        }
    const float *o[4] = {o0, o1, o2, o3};
    for (int64_t x = 4 * full; x < cols && x < 4 * n; x++)
        y[x] = accumulate ? y[x] + o[x % 4][x / 4] : o[x % 4][x / 4];
}

/* Y for the tiles [t0, t0 + nt) and the chunk's output channels, from M.
 * Work: 40·tiles_x floats. */
static void output_transform(const wino_job *j, int64_t t0, int64_t nt, const panels *m,
                             float *work)
{
    int64_t tw = j->tiles_x;
    float *g = work, *o = work + 24 * tw; /* g: [6][4][tw], o: [4][4][tw] */
    for (int64_t t = t0; t < t0 + nt;) {
        int64_t ty = t / tw, tx0 = t % tw, n = tw - tx0;
        n = n > t0 + nt - t ? t0 + nt - t : n;
        for (int64_t c = 0; c < j->nco; c++) {
            for (int64_t a = 0, len; a < n; a += len) { /* pieces within one panel */
                int64_t l = t - t0 + a;
                len = TB - l % TB < n - a ? TB - l % TB : n - a;
                for (int i = 0; i < 6; i++) {
                    const float *mi = panel_at(m, 6 * i, c, l);
                    float *gi = g + 4 * i * tw + a;
                    int64_t xs = m->plane;
                    output_row(mi, mi + xs, mi + 2 * xs, mi + 3 * xs, mi + 4 * xs, mi + 5 * xs,
                               len, gi, gi + tw, gi + 2 * tw, gi + 3 * tw);
                }
            }
            float bias = j->bias ? j->bias[j->co0 + c] : 0.0f;
            for (int b = 0; b < 4; b++) {
                const float *gb = g + b * tw;
                float *ob = o + b * tw;
                output_column(gb, gb + 4 * tw, gb + 8 * tw, gb + 12 * tw, gb + 16 * tw,
                              gb + 20 * tw, n, bias, ob, ob + 4 * tw, ob + 8 * tw, ob + 12 * tw);
            }
            float *plane = j->y + (j->co0 + c) * j->oh * j->ow;
            for (int a = 0; a < 4 && 4 * ty + a < j->oh; a++) {
                const float *oa = o + 4 * a * tw;
                store_row(oa, oa + tw, oa + 2 * tw, oa + 3 * tw, n,
                          plane + (4 * ty + a) * j->ow + 4 * tx0, j->ow - 4 * tx0, j->accumulate);
            }
        }
        t += n;
    }
}

/* ---- the products: M[r][l] = Σ_k U[k][r] V[k][l], r < 12, l < 32 ----------------- */

typedef void (*product_fn)(const float *u, const float *v, int64_t ldv, int64_t k, float *m,
                           int64_t ldm);

static void product_c(const float *u, const float *v, int64_t ldv, int64_t k, float *m,
                      int64_t ldm)
{
    float acc[RB][TB];
    memset(acc, 0, sizeof acc);
    for (int64_t kk = 0; kk < k; kk++)
        for (int r = 0; r < RB; r++)
            for (int l = 0; l < TB; l++)
                acc[r][l] = __builtin_fmaf(u[kk * RB + r], v[kk * ldv + l], acc[r][l]);
    for (int r = 0; r < RB; r++)
        memcpy(m + r * ldm, acc[r], sizeof acc[r]);
}

#if NET_X86
#define AVX512_ROW(r)                                                                              \
    do {                                                                                       \
        __m512 a_ = _mm512_set1_ps(uk[r]);                                                     \
        c##r##a = _mm512_fmadd_ps(a_, b0, c##r##a);                                            \
        c##r##b = _mm512_fmadd_ps(a_, b1, c##r##b);                                            \
    } while (0)
#define AVX512_STORE(r)                                                                            \
    do {                                                                                       \
        _mm512_storeu_ps(m + (r)*ldm, c##r##a);                                                \
        _mm512_storeu_ps(m + (r)*ldm + 16, c##r##b);                                           \
    } while (0)

__attribute__((target("avx512f"))) static void product_avx512(const float *u, const float *v,
                                                              int64_t ldv, int64_t k, float *m,
                                                              int64_t ldm)
{
    __m512 c0a = _mm512_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a,
           c3a = c0a, c3b = c0a, c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a, c6a = c0a, c6b = c0a,
           c7a = c0a, c7b = c0a, c8a = c0a, c8b = c0a, c9a = c0a, c9b = c0a, c10a = c0a,
           c10b = c0a, c11a = c0a, c11b = c0a;
    for (int64_t kk = 0; kk < k; kk++) {
        const float *uk = u + kk * RB;
        __m512 b0 = _mm512_loadu_ps(v + kk * ldv), b1 = _mm512_loadu_ps(v + kk * ldv + 16);
        AVX512_ROW(0);
        AVX512_ROW(1);
        AVX512_ROW(2);
        AVX512_ROW(3);
        AVX512_ROW(4);
        AVX512_ROW(5);
        AVX512_ROW(6);
        AVX512_ROW(7);
        AVX512_ROW(8);
        AVX512_ROW(9);
        AVX512_ROW(10);
        AVX512_ROW(11);
    }
    AVX512_STORE(0);
    AVX512_STORE(1);
    AVX512_STORE(2);
    AVX512_STORE(3);
    AVX512_STORE(4);
    AVX512_STORE(5);
    AVX512_STORE(6);
    AVX512_STORE(7);
    AVX512_STORE(8);
    AVX512_STORE(9);
    AVX512_STORE(10);
    AVX512_STORE(11);
}

#define AVX2_ROW(r)                                                                                \
    do {                                                                                       \
        __m256 a_ = _mm256_set1_ps(uk[r]);                                                     \
        c##r##a = _mm256_fmadd_ps(a_, b0, c##r##a);                                            \
        c##r##b = _mm256_fmadd_ps(a_, b1, c##r##b);                                            \
    } while (0)
#define AVX2_STORE(r)                                                                              \
    do {                                                                                       \
        _mm256_storeu_ps(m + (r)*ldm, c##r##a);                                                \
        _mm256_storeu_ps(m + (r)*ldm + 8, c##r##b);                                            \
    } while (0)

/* 6 rows × 16 tiles of the 12 × 32 block (u and m offset by the caller). */
__attribute__((target("avx2,fma"))) static void product_avx2_6x16(const float *u, const float *v,
                                                                 int64_t ldv, int64_t k, float *m,
                                                                 int64_t ldm)
{
    __m256 c0a = _mm256_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a,
           c3a = c0a, c3b = c0a, c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a;
    for (int64_t kk = 0; kk < k; kk++) {
        const float *uk = u + kk * RB;
        __m256 b0 = _mm256_loadu_ps(v + kk * ldv), b1 = _mm256_loadu_ps(v + kk * ldv + 8);
        AVX2_ROW(0);
        AVX2_ROW(1);
        AVX2_ROW(2);
        AVX2_ROW(3);
        AVX2_ROW(4);
        AVX2_ROW(5);
    }
    AVX2_STORE(0);
    AVX2_STORE(1);
    AVX2_STORE(2);
    AVX2_STORE(3);
    AVX2_STORE(4);
    AVX2_STORE(5);
}

static void product_avx2(const float *u, const float *v, int64_t ldv, int64_t k, float *m,
                         int64_t ldm)
{
    for (int half = 0; half < 2; half++)
        for (int l = 0; l < TB; l += 16)
            product_avx2_6x16(u + 6 * half, v + l, ldv, k, m + 6 * half * ldm + l, ldm);
}
#endif

static product_fn product_kernel(void)
{
#if NET_X86
    if (cpu_has_avx512())
        return product_avx512;
    if (cpu_has_avx2())
        return product_avx2;
#endif
    return product_c;
}

/* ---- blocks ------------------------------------------------------------------------ */

static void wino_blocks(void *ctx, int64_t b0, int64_t b1, int thread)
{
    const wino_job *j = ctx;
    product_fn product = product_kernel();
    int64_t rows = round_up(j->nco, RB), groups = rows / RB;
    float *base = j->scratch + (size_t)thread * j->thread_floats;
    panels v = panels_of(base, j->ci, j->block);
    panels m = panels_of(base + WINO_XI * v.plane, rows, j->block);
    float *work = m.base + WINO_XI * m.plane;
    for (int64_t b = b0; b < b1; b++) {
        int64_t t0 = b * j->block, nt = j->tiles - t0 < j->block ? j->tiles - t0 : j->block;
        int64_t runs = round_up(nt, TB);
        input_transform(j, t0, nt, &v, work);
        if (runs > nt) /* the last panel's lanes past the tiles: zeros, not stale data */
            for (int xi = 0; xi < WINO_XI; xi++)
                for (int64_t c = 0; c < j->ci; c++)
                    memset(panel_at(&v, xi, c, nt), 0, (size_t)(runs - nt) * sizeof(float));
        for (int xi = 0; xi < WINO_XI; xi++) {
            const float *uxi = j->u + (size_t)xi * rows * j->ci;
            for (int64_t gi = 0; gi < groups; gi++) /* 12 rows of U stay in L1 */
                for (int64_t l = 0; l < runs; l += TB)
                    product(uxi + gi * RB * j->ci, panel_at(&v, xi, 0, l), TB, j->ci,
                            panel_at(&m, xi, gi * RB, l), TB);
        }
        output_transform(j, t0, nt, &m, work);
    }
}

/* ---- weights ------------------------------------------------------------------------ */

typedef struct {
    const float *w; /* [co][ci][3][3] of the forward conv */
    float *u; /* [36][groups][ci][RB] */
    int64_t fco, fci; /* the forward conv's channels */
    bool flip; /* backward: U of W' (rows: forward inputs, columns: forward outputs) */
    int64_t row0, nrows, cols;
} weight_job;

enum { WC = 8 }; /* kernels' columns transformed before U is written */

/* U[ξ][g][c][r] = (G k Gᵀ)[ξ] for packed groups [g0, g1) of RB rows, zero
 * past the last row: RB kernels at a time, one per lane, and WC columns
 * before the results go out as runs of WC·RB floats per ξ. */
HOT_KERNEL static void weight_groups(void *ctx, int64_t g0, int64_t g1, int thread)
{
    (void)thread;
    const weight_job *j = ctx;
    size_t plane = (size_t)round_up(j->nrows, RB) * (size_t)j->cols;
    float out[WINO_XI][WC][RB];
    for (int64_t gi = g0; gi < g1; gi++)
        for (int64_t c0 = 0; c0 < j->cols; c0 += WC) {
            int64_t nc = j->cols - c0 < WC ? j->cols - c0 : WC;
            for (int64_t cc = 0; cc < nc; cc++) {
                int64_t c = c0 + cc;
                float k[9][RB], t[18][RB];
                for (int r = 0; r < RB; r++) {
                    int64_t row = j->row0 + gi * RB + r;
                    const float *src = gi * RB + r >= j->nrows ? NULL
                                       : j->flip ? j->w + (c * j->fci + row) * 9
                                                 : j->w + (row * j->fci + c) * 9;
                    for (int e = 0; e < 9; e++)
                        k[e][r] = !src ? 0.0f : src[j->flip ? 8 - e : e];
                }
                for (int x = 0; x < 3; x++) /* t = G k: 6 × 3 */
                    for (int r = 0; r < RB; r++)
                        WEIGHT_1D(k[x][r], k[3 + x][r], k[6 + x][r], t[x][r], t[3 + x][r],
                                  t[6 + x][r], t[9 + x][r], t[12 + x][r], t[15 + x][r]);
                for (int y = 0; y < 6; y++) /* u = t Gᵀ: 6 × 6 */
                    for (int r = 0; r < RB; r++)
                        WEIGHT_1D(t[3 * y][r], t[3 * y + 1][r], t[3 * y + 2][r],
                                  out[6 * y][cc][r], out[6 * y + 1][cc][r], out[6 * y + 2][cc][r],
                                  out[6 * y + 3][cc][r], out[6 * y + 4][cc][r],
                                  out[6 * y + 5][cc][r]);
            }
            for (int xi = 0; xi < WINO_XI; xi++)
                memcpy(j->u + xi * plane + ((size_t)gi * (size_t)j->cols + (size_t)c0) * RB,
                       out[xi], (size_t)nc * sizeof out[xi][0]);
        }
}

/* ---- entry points -------------------------------------------------------------------- */

static void run(const op_call *c, bool backward, const float *src, float *dst)
{
    const window_geom *g = c->geo;
    wino_job j;
    problem(g, backward, net_threads(), &j);
    int64_t G = g->group, cg = g->c / G, mg = g->m / G;
    float *u = c->scratch;
    j.scratch = u + j.u_floats;
    j.circular = c->circular;
    j.accumulate = backward && !(c->overwrite & 1); /* the tiles cover all of dX */
    const float *w = c->in[1]->data, *bias = NULL;
    if (!backward && c->node->ninputs > 2 && c->in[2])
        bias = c->in[2]->data;
    int64_t in_plane = j.h * j.w, out_plane = j.oh * j.ow;
    for (int64_t gi = 0; gi < G; gi++)
        for (int64_t co0 = 0; co0 < j.co; co0 += j.chunk) {
            j.co0 = co0;
            j.nco = j.co - co0 < j.chunk ? j.co - co0 : j.chunk;
            weight_job wj = {w + gi * mg * cg * 9, u, mg, cg, backward, co0, j.nco, j.ci};
            parallel_for(round_up(j.nco, RB) / RB, weight_groups, &wj);
            j.u = u;
            j.bias = bias ? bias + gi * mg : NULL;
            for (int64_t n = 0; n < g->n; n++) {
                j.x = src + (n * G + gi) * j.ci * in_plane;
                j.y = dst + (n * G + gi) * j.co * out_plane;
                parallel_for(j.nblocks, wino_blocks, &j);
            }
        }
}

void winograd_forward(const op_call *c) { run(c, false, c->in[0]->data, c->out->data); }

void winograd_backward(const op_call *c, const tensor *gout, tensor *gin)
{
    run(c, true, gout->data, gin->data);
}
