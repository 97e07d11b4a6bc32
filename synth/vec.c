/* Whole-array helpers for synth/ (see vec.h). The partial sums are fixed
 * lanes of a block, so the order of additions never depends on anything but
 * n: results are reproducible to the bit. */
#include "synth/vec.h"

#include <math.h>

enum { LANES = 8 };

double vec_dot(const float *a, const float *b, size_t n)
{
    double lane[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++)
            lane[k] += (double)a[i + k] * b[i + k];
    double s = 0;
    for (; i < n; i++)
        s += (double)a[i] * b[i];
    for (int k = 0; k < LANES; k++)
        s += lane[k];
    return s;
}

double vec_sum_abs(const float *a, size_t n)
{
    double lane[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++)
            lane[k] += fabsf(a[i + k]);
    double s = 0;
    for (; i < n; i++)
        s += fabsf(a[i]);
    for (int k = 0; k < LANES; k++)
        s += lane[k];
    return s;
}

double vec_max_abs(const float *a, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(a[i]));
    return m;
}

double vec_diff_sq(const float *a, const float *b, size_t n, float scale, float *d)
{
    double lane[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) {
            double diff = (double)a[i + k] - b[i + k];
            lane[k] += diff * diff;
        }
    double s = 0;
    for (; i < n; i++) {
        double diff = (double)a[i] - b[i];
        s += diff * diff;
    }
    for (int k = 0; k < LANES; k++)
        s += lane[k];
    if (d)
        for (i = 0; i < n; i++)
            d[i] += scale * (a[i] - b[i]);
    return s;
}

void vec_axpy(float *y, float alpha, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

void vec_scale(float *x, float alpha, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}
