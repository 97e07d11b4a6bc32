/* Clipping (Yosinski et al. 2015): clamping to the valid range, and zeroing
 * the pixels whose norm or whose contribution to the objective is below a
 * percentile, with percentiles found exactly by selection. */
#include "regularizers/internal.h"

#include <math.h>
#include <stdlib.h>

static inline void swap_floats(float *a, float *b)
{
    float t = *a;
    *a = *b;
    *b = t;
}

static int compare_floats(const void *pa, const void *pb)
{
    float a = *(const float *)pa, b = *(const float *)pb;
    return (a > b) - (a < b);
}

/* The k-th smallest of v[0 .. n) (0-based), reordering v. Quickselect with a
 * median-of-3 pivot and a 3-way partition (runs of equal values, common
 * after clipping, cost one pass); after 2·log2(n) + 4 rounds it sorts what is
 * left, so the worst case is O(n log n) and the usual case O(n). */
static float select_kth(float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* the answer's position lies in [lo, hi) */
    int rounds = 4;
    for (size_t m = n; m > 1; m >>= 1)
        rounds += 2;
    while (hi - lo > 1) {
        if (rounds-- == 0) {
            qsort(v + lo, hi - lo, sizeof *v, compare_floats);
            return v[k];
        }
        float a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
        float pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        /* [lo, lt) < pivot, [lt, i) == pivot, [gt, hi) > pivot. Values that
         * compare neither way (NaN) stay in the middle. */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (v[i] < pivot)
                swap_floats(&v[lt++], &v[i++]);
            else if (v[i] > pivot)
                swap_floats(&v[i], &v[--gt]);
            else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return pivot;
    }
    return v[k];
}

float reg_percentile(float *v, size_t n, double pct)
{
    /* ⌊pct/100 · n⌋, where a product within rounding of an integer is that
     * integer (33.3 % of 1000 is 333, though 0.333 · 1000 < 333 in double). */
    double position = pct / 100.0 * (double)n, nearest = round(position);
    if (fabs(position - nearest) <= 1e-9 * (1.0 + nearest))
        position = nearest;
    position = floor(position);
    size_t k = position > 0 ? (size_t)position : 0;
    if (k >= n)
        k = n - 1;
    return select_kth(v, n, k);
}

void reg_clamp(float *x, int C, int H, int W, const float *lo, const float *hi)
{
    /* x: (C, H, W). */
    size_t plane = (size_t)H * (size_t)W;
    for (int c = 0; c < C; c++) {
        float *xc = x + (size_t)c * plane, l = lo[c], h = hi[c];
        for (size_t p = 0; p < plane; p++)
            xc[p] = xc[p] < l ? l : xc[p] > h ? h : xc[p];
    }
}

typedef enum { SCORE_NORM, SCORE_CONTRIB } pixel_score;
enum { SCORE_CHUNK = 256 };

/* out[q] for pixels p = p0 + q, q < n: the squared norm Σ_c (x − m)² or the
 * contribution |Σ_c (x − m)·grad|. Both passes of clip_pixels compute their
 * scores through this function on the same chunks into the same stack
 * buffer, so a pixel's score is bit-identical in both. */
static void pixel_scores(pixel_score kind, const float *x, const float *grad, int C, size_t plane,
                         const float *center, size_t p0, int n, float *out)
{
    for (int q = 0; q < n; q++)
        out[q] = 0.0f;
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * plane + p0;
        float m = center ? center[c] : 0.0f;
        if (kind == SCORE_NORM)
            for (int q = 0; q < n; q++)
                out[q] += (xc[q] - m) * (xc[q] - m);
        else {
            const float *gc = grad + (size_t)c * plane + p0;
            for (int q = 0; q < n; q++)
                out[q] += (xc[q] - m) * gc[q];
        }
    }
    if (kind == SCORE_CONTRIB)
        for (int q = 0; q < n; q++)
            out[q] = fabsf(out[q]);
}

static size_t clip_pixels(pixel_score kind, float *x, const float *grad, int C, int H, int W,
                          const float *center, double pct, float *scratch)
{
    /* x, grad: (C, H, W); scratch: (H·W). */
    if (!(pct > 0))
        return 0;
    size_t plane = (size_t)H * (size_t)W;
    float chunk[SCORE_CHUNK];
    for (size_t p0 = 0; p0 < plane; p0 += SCORE_CHUNK) {
        int n = plane - p0 < SCORE_CHUNK ? (int)(plane - p0) : SCORE_CHUNK;
        pixel_scores(kind, x, grad, C, plane, center, p0, n, chunk);
        for (int q = 0; q < n; q++)
            scratch[p0 + q] = chunk[q];
    }
    float threshold = reg_percentile(scratch, plane, pct);
    size_t zeroed = 0;
    for (size_t p0 = 0; p0 < plane; p0 += SCORE_CHUNK) {
        int n = plane - p0 < SCORE_CHUNK ? (int)(plane - p0) : SCORE_CHUNK;
        pixel_scores(kind, x, grad, C, plane, center, p0, n, chunk);
        for (int q = 0; q < n; q++)
            if (chunk[q] < threshold) {
                zeroed++;
                for (int c = 0; c < C; c++)
                    x[(size_t)c * plane + p0 + q] = center ? center[c] : 0.0f;
            }
    }
    return zeroed;
}

size_t reg_clip_norm(float *x, int C, int H, int W, const float *center, double pct, float *scratch)
{
    return clip_pixels(SCORE_NORM, x, NULL, C, H, W, center, pct, scratch);
}

size_t reg_clip_contrib(float *x, const float *grad, int C, int H, int W, const float *center,
                        double pct, float *scratch)
{
    return clip_pixels(SCORE_CONTRIB, x, grad, C, H, W, center, pct, scratch);
}
