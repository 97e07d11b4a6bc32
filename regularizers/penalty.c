/* The penalties of the objective and their exact gradients: L2 (Simonyan et
 * al. 2014) with its per-step form, the α-norm (Mahendran & Vedaldi 2015),
 * multiplicative decay (Yosinski et al.
 * 2015), and β total variation (Mahendran & Vedaldi 2015). Values are
 * accumulated in double; gradients are added to the caller's float arrays. */
#include "regularizers/internal.h"

#include <math.h>

double reg_l2(const float *x, int C, int H, int W, const float *center, double lambda, float *grad)
{
    /* x, grad: (C, H, W); center: (C) or NULL.
     * value = λ Σ (x − m_c)²,  ∂/∂x = 2λ (x − m_c). */
    size_t plane = (size_t)H * (size_t)W;
    double total = 0;
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * plane;
        double m = center ? center[c] : 0.0;
        double sum = 0;
        for (size_t p = 0; p < plane; p++) {
            double d = (double)xc[p] - m;
            sum += d * d;
        }
        total += sum;
        if (grad) {
            float *gc = grad + (size_t)c * plane;
            float two_lambda = (float)(2 * lambda), mf = (float)m;
            for (size_t p = 0; p < plane; p++)
                gc[p] += two_lambda * (xc[p] - mf);
        }
    }
    return lambda * total;
}

double reg_alpha_norm(const float *x, int C, int H, int W, const float *center, double alpha,
                      double lambda, float *grad)
{
    /* x, grad: (C, H, W); center: (C) or NULL.
     * value = λ Σ |d|^α with d = x − m_c,
     * ∂/∂x = λ α |d|^(α−1) sign(d) = λ α d |d|^(α−2)   (0 at d = 0 for α = 1). */
    size_t plane = (size_t)H * (size_t)W;
    double total = 0;
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * plane;
        float *gc = grad ? grad + (size_t)c * plane : NULL;
        double m = center ? center[c] : 0.0;
        for (size_t p = 0; p < plane; p++) {
            double d = (double)xc[p] - m, a = fabs(d);
            double power = alpha == 6 ? (a * a) * (a * a) * (a * a) : pow(a, alpha);
            total += power;
            if (gc && a > 0)
                gc[p] += (float)(lambda * alpha * power / d);
        }
    }
    return lambda * total;
}

void reg_decay(float *x, int C, int H, int W, const float *center, double d)
{
    /* x: (C, H, W).  x ← m + (1 − d)(x − m) = (1 − d)·x + d·m. */
    size_t plane = (size_t)H * (size_t)W;
    float keep = (float)(1 - d);
    for (int c = 0; c < C; c++) {
        float *xc = x + (size_t)c * plane;
        float shift = center ? (float)(d * center[c]) : 0.0f;
        for (size_t p = 0; p < plane; p++)
            xc[p] = keep * xc[p] + shift;
    }
}

/* s^(β/2), with the common exponents done without pow(). */
static inline double tv_power(double s, double beta)
{
    if (beta == 2)
        return s;
    if (beta == 1)
        return sqrt(s);
    return pow(s, beta / 2);
}

double reg_tv(const float *x, int C, int H, int W, double beta, double weight, bool periodic, float *grad)
{
    /* x, grad: (C, H, W). Per pixel (i, j) of each channel:
     *   dx = x[i,j+1] − x[i,j] (0 in the last column; x[i,0] − x[i,W−1] when periodic),
     *   dy = x[i+1,j] − x[i,j] (0 in the last row; x[0,j] − x[H−1,j] when periodic),
     *   s = dx² + dy² + ε,  term = s^(β/2),
     *   ∂term/∂dx = β s^(β/2−1) dx =: a,  ∂term/∂dy = β s^(β/2−1) dy =: b,
     * so the term adds a to ∂/∂x[i,j+1], b to ∂/∂x[i+1,j], −(a + b) to ∂/∂x[i,j]
     * (indices mod W and H when periodic).
     * Rows go in chunks: the coefficients into stack arrays first, then three
     * plain loops that scatter them (vectorizable, no allocation). */
    enum { CHUNK = 256 };
    double a[CHUNK], b[CHUNK];
    size_t plane = (size_t)H * (size_t)W;
    double total = 0;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < H; i++) {
            const float *first = x + (size_t)c * plane, *row = first + (size_t)i * W;
            const float *below = i + 1 < H ? row + W : periodic ? first : NULL;
            float *grow = grad ? grad + (size_t)c * plane + (size_t)i * W : NULL;
            float *gbelow = grow && below ? grad + (size_t)c * plane + (size_t)(below - first) : NULL;
            for (int j0 = 0; j0 < W; j0 += CHUNK) {
                int n = W - j0 < CHUNK ? W - j0 : CHUNK;
                for (int k = 0; k < n; k++) {
                    int j = j0 + k;
                    double dx = j + 1 < W ? (double)row[j + 1] - row[j] : periodic ? (double)row[0] - row[j] : 0.0;
                    double dy = below ? (double)below[j] - row[j] : 0.0;
                    double s = dx * dx + dy * dy + REG_TV_EPSILON;
                    double term = tv_power(s, beta);
                    total += term;
                    double w = weight * beta * term / s; /* weight · β s^(β/2−1) */
                    a[k] = w * dx;
                    b[k] = w * dy;
                }
                if (!grow)
                    continue;
                float *g = grow + j0;
                for (int k = 0; k < n; k++)
                    g[k] -= (float)(a[k] + b[k]);
                int n_right = j0 + n < W ? n : n - 1; /* the last column has no right neighbour */
                for (int k = 0; k < n_right; k++)
                    g[k + 1] += (float)a[k];
                if (periodic && j0 + n == W) /* ... but the first, around the torus */
                    grow[0] += (float)a[n - 1];
                if (gbelow)
                    for (int k = 0; k < n; k++)
                        gbelow[j0 + k] += (float)b[k];
            }
        }
    return weight * total;
}
