/* regularizers: L2, the α-norm, decay, β-TV (values against the definitions, gradients by
 * finite differences in double precision), and clipping (percentiles and
 * zeroed pixels on constructed inputs with known answers). */
#include "check.h"
#include "regularizers/regularizers.h"

#include <stdlib.h>

typedef double (*penalty_fn)(const float *x, int C, int H, int W, const void *ctx, float *grad);

/* Checks every component of grad against central differences of the value.
 * The penalties evaluate in double, and x ± h is exact in float for |x| < 2
 * and h = 2^-20, so the difference quotient is accurate to ~1e-9; what is
 * left is the float rounding of the gradient. */
static void check_gradient(const char *what, penalty_fn f, const void *ctx, float *x, int C, int H, int W)
{
    size_t n = (size_t)C * H * W;
    float *grad = calloc(n, sizeof *grad);
    REQUIRE(grad);
    for (size_t i = 0; i < n; i++) /* an offset, to check that gradients are added, not stored */
        grad[i] = 0.25f;
    f(x, C, H, W, ctx, grad);
    const float h = 0x1p-20f;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double up = f(x, C, H, W, ctx, NULL);
        x[i] = keep - h;
        double down = f(x, C, H, W, ctx, NULL);
        x[i] = keep;
        double fd = (up - down) / (2.0 * h), g = grad[i] - 0.25;
        double err = fabs(fd - g) / (1.0 + fabs(fd));
        worst = err > worst ? err : worst;
    }
    if (worst > 2e-5)
        fprintf(stderr, "%s: worst relative gradient error %g\n", what, worst);
    CHECK(worst <= 2e-5);
    free(grad);
}

/* A test image in (−1.5, 1.5) with flat patches (zero differences). */
static float *test_image(rng *r, int C, int H, int W)
{
    float *x = malloc((size_t)C * H * W * sizeof *x);
    REQUIRE(x);
    for (size_t i = 0; i < (size_t)C * H * W; i++)
        x[i] = (float)(3.0 * rng_uniform(r) - 1.5);
    for (int c = 0; c < C; c++) /* a 3 × 4 flat patch, and a flat row end */
        for (int i = 2; i < 5; i++)
            for (int j = 3; j < 7; j++)
                x[((size_t)c * H + i) * W + j] = 0.5f;
    for (int j = W - 3; j < W; j++)
        x[(size_t)(H - 1) * W + j] = -0.25f;
    return x;
}

typedef struct { const float *center; double lambda; } l2_args;
static double l2_fn(const float *x, int C, int H, int W, const void *ctx, float *grad)
{
    const l2_args *a = ctx;
    return reg_l2(x, C, H, W, a->center, a->lambda, grad);
}

typedef struct { const float *center; double alpha, lambda; } alpha_args;
static double alpha_fn(const float *x, int C, int H, int W, const void *ctx, float *grad)
{
    const alpha_args *a = ctx;
    return reg_alpha_norm(x, C, H, W, a->center, a->alpha, a->lambda, grad);
}

typedef struct { double beta, weight; bool periodic; } tv_args;
static double tv_fn(const float *x, int C, int H, int W, const void *ctx, float *grad)
{
    const tv_args *a = ctx;
    return reg_tv(x, C, H, W, a->beta, a->weight, a->periodic, grad);
}

/* β-TV straight from the definition, for the value (periodic: indices mod H, W). */
static double tv_reference(const float *x, int C, int H, int W, double beta, bool periodic)
{
    double sum = 0;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                const float *p = x + (size_t)c * H * W;
                double v = p[i * W + j];
                double dx = j + 1 < W ? p[i * W + j + 1] - v : periodic ? p[i * W] - v : 0;
                double dy = i + 1 < H ? p[(i + 1) * W + j] - v : periodic ? p[j] - v : 0;
                sum += pow(dx * dx + dy * dy + REG_TV_EPSILON, beta / 2);
            }
    return sum;
}

static void test_l2_and_decay(void)
{
    rng r;
    rng_seed(&r, 1);
    int C = 3, H = 7, W = 5;
    float *x = test_image(&r, C, H, W);
    const float center[3] = {0.25f, -0.5f, 0.0f};
    double expect = 0;
    for (int c = 0; c < C; c++)
        for (int p = 0; p < H * W; p++)
            expect += ((double)x[c * H * W + p] - center[c]) * ((double)x[c * H * W + p] - center[c]);
    CHECK_NEAR(reg_l2(x, C, H, W, center, 0.3, NULL), 0.3 * expect, 1e-12 * expect);
    l2_args a = {center, 0.3};
    check_gradient("l2", l2_fn, &a, x, C, H, W);
    l2_args b = {NULL, 2.0};
    check_gradient("l2 without center", l2_fn, &b, x, C, H, W);

    /* Decay shrinks the distance to the center by exactly (1 − d). */
    float before = x[H * W + 3];
    reg_decay(x, C, H, W, center, 0.1);
    CHECK_NEAR(x[H * W + 3] - center[1], 0.9 * (before - center[1]), 1e-6);
    free(x);
}

static void test_alpha_norm(void)
{
    rng r;
    rng_seed(&r, 4);
    int C = 3, H = 6, W = 5;
    float *x = test_image(&r, C, H, W);
    const float center[3] = {0.3f, -0.45f, 0.05f}; /* no pixel sits on its center */
    const double alphas[] = {1.0, 1.5, 2.0, 3.0, 6.0, 7.5};
    for (size_t k = 0; k < sizeof alphas / sizeof *alphas; k++) {
        double expect = 0;
        for (int c = 0; c < C; c++)
            for (int p = 0; p < H * W; p++)
                expect += pow(fabs((double)x[c * H * W + p] - center[c]), alphas[k]);
        CHECK_NEAR(reg_alpha_norm(x, C, H, W, center, alphas[k], 0.2, NULL), 0.2 * expect, 1e-12 * expect);
        alpha_args a = {center, alphas[k], 0.2};
        char what[32];
        snprintf(what, sizeof what, "alpha norm %g", alphas[k]);
        check_gradient(what, alpha_fn, &a, x, C, H, W);
    }
    /* α = 2 is the L2 penalty, value and gradient. */
    size_t n = (size_t)C * H * W;
    float *g_alpha = calloc(n, sizeof *g_alpha), *g_l2 = calloc(n, sizeof *g_l2);
    REQUIRE(g_alpha && g_l2);
    double v_alpha = reg_alpha_norm(x, C, H, W, NULL, 2.0, 0.7, g_alpha), v_l2 = reg_l2(x, C, H, W, NULL, 0.7, g_l2);
    CHECK_NEAR(v_alpha, v_l2, 1e-12 * v_l2);
    for (size_t i = 0; i < n; i++)
        CHECK_NEAR(g_alpha[i], g_l2[i], 1e-6);
    /* At the center the gradient is 0 (also for α = 1, where |d| has a kink). */
    float at_center[3] = {0.3f, -0.45f, 0.05f}, g[3] = {0};
    CHECK(reg_alpha_norm(at_center, 3, 1, 1, center, 1.0, 1.0, g) == 0 && g[0] == 0 && g[1] == 0 && g[2] == 0);
    free(g_alpha);
    free(g_l2);
    free(x);
}

static void test_tv(void)
{
    rng r;
    rng_seed(&r, 2);
    int C = 3, H = 9, W = 11;
    float *x = test_image(&r, C, H, W);
    const double betas[] = {0.5, 1.0, 1.5, 2.0, 3.0};
    for (int periodic = 0; periodic < 2; periodic++)
        for (size_t k = 0; k < sizeof betas / sizeof *betas; k++) {
            tv_args a = {betas[k], 0.7, periodic};
            double ref = 0.7 * tv_reference(x, C, H, W, betas[k], periodic);
            CHECK_NEAR(reg_tv(x, C, H, W, betas[k], 0.7, periodic, NULL), ref, 1e-12 * ref);
            char what[48];
            snprintf(what, sizeof what, "tv beta %g%s", betas[k], periodic ? " periodic" : "");
            check_gradient(what, tv_fn, &a, x, C, H, W);
        }
    /* On a torus TV does not change when the image is rolled; with edges it does. */
    float *rolled = malloc((size_t)C * H * W * sizeof *rolled);
    REQUIRE(rolled);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++)
                rolled[((size_t)c * H + (i + 4) % H) * W + (j + 7) % W] = x[((size_t)c * H + i) * W + j];
    double t0 = reg_tv(x, C, H, W, 1.0, 1.0, true, NULL), t1 = reg_tv(rolled, C, H, W, 1.0, 1.0, true, NULL);
    CHECK_NEAR(t1, t0, 1e-12 * t0);
    CHECK(fabs(reg_tv(rolled, C, H, W, 1.0, 1.0, false, NULL) - reg_tv(x, C, H, W, 1.0, 1.0, false, NULL)) > 1e-3);
    free(rolled);
    /* A constant image has TV = ε^(β/2) per pixel and zero gradient; rows
     * wider than the kernel's 256-pixel chunk are handled across chunks. */
    int wide = 600;
    float *flat = malloc(2 * (size_t)wide * sizeof *flat), *g = calloc(2 * (size_t)wide, sizeof *g);
    REQUIRE(flat && g);
    for (int i = 0; i < 2 * wide; i++)
        flat[i] = 0.3f;
    CHECK_NEAR(reg_tv(flat, 1, 2, wide, 1.0, 1.0, false, g), 2.0 * wide * sqrt(REG_TV_EPSILON), 1e-9);
    double gmax = 0;
    for (int i = 0; i < 2 * wide; i++)
        gmax = fabs(g[i]) > gmax ? fabs(g[i]) : gmax;
    CHECK(gmax == 0);
    tv_args a = {1.2, 1.0, false}, ap = {1.2, 1.0, true};
    for (int i = 0; i < 2 * wide; i++)
        flat[i] = (float)(rng_uniform(&r) - 0.5);
    check_gradient("tv across chunks", tv_fn, &a, flat, 1, 2, wide);
    check_gradient("periodic tv across chunks", tv_fn, &ap, flat, 1, 2, wide);
    free(flat);
    free(g);
    free(x);
}

static int compare_floats(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void test_percentile(void)
{
    /* 0 … n−1 shuffled: the pct-th percentile is ⌊pct·n/100⌋ (at most n−1). */
    rng r;
    rng_seed(&r, 3);
    size_t n = 1000;
    float *v = malloc(n * sizeof *v), *sorted = malloc(n * sizeof *sorted);
    REQUIRE(v && sorted);
    const double pcts[] = {0, 0.1, 10, 33.3, 50, 99.9, 100};
    const float expect[] = {0, 1, 100, 333, 500, 999, 999};
    for (size_t k = 0; k < sizeof pcts / sizeof *pcts; k++) {
        for (size_t i = 0; i < n; i++)
            v[i] = (float)i;
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)rng_range(&r, 0, (int64_t)i);
            float t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
        CHECK(reg_percentile(v, n, pcts[k]) == expect[k]);
    }
    /* Against sorting, on inputs that defeat naive pivots: sorted, reversed,
     * all equal, few distinct values, random. */
    for (int kind = 0; kind < 5; kind++)
        for (int rep = 0; rep < 20; rep++) {
            size_t m = 1 + (size_t)rng_range(&r, 0, 999);
            for (size_t i = 0; i < m; i++)
                v[i] = kind == 0 ? (float)i : kind == 1 ? (float)(m - i) : kind == 2 ? 1.0f
                     : kind == 3 ? (float)rng_range(&r, 0, 3) : (float)rng_normal(&r);
            memcpy(sorted, v, m * sizeof *v);
            qsort(sorted, m, sizeof *sorted, compare_floats);
            double pct = 100 * rng_uniform(&r);
            size_t at = (size_t)floor(pct / 100 * m);
            CHECK(reg_percentile(v, m, pct) == sorted[at < m ? at : m - 1]);
        }
    free(v);
    free(sorted);
}

static void test_clipping(void)
{
    /* A 3-channel 4 × 5 image around center m; pixel p has offset
     * (p, 0, 0) from m for p = 0 … 19 except a tie: pixels 6 and 7 both at 6. */
    enum { C = 3, H = 4, W = 5, P = H * W };
    const float center[C] = {0.5f, -1.0f, 2.0f};
    float x[C * P], scratch[P], grad[C * P];
    for (int p = 0; p < P; p++) {
        float offset = p == 7 ? 6.0f : (float)p;
        x[p] = center[0] + offset * 0.6f; /* norm = offset, split over two channels */
        x[P + p] = center[1] - offset * 0.8f;
        x[2 * P + p] = center[2];
    }
    float y[C * P];
    memcpy(y, x, sizeof x);
    /* 40th percentile of 20 norms: k = 8, the 9th smallest, which is norm 8
     * (sorted: 0 1 2 3 4 5 6 6 8 9 …): pixels 0 … 7 (norms < 8) are zeroed. */
    CHECK(reg_clip_norm(y, C, H, W, center, 40, scratch) == 8);
    for (int p = 0; p < P; p++)
        for (int c = 0; c < C; c++)
            CHECK(y[c * P + p] == (p < 8 ? center[c] : x[c * P + p]));
    /* 35th: k = 7, threshold 6: the tie at 6 survives, pixels 0 … 5 go. */
    memcpy(y, x, sizeof x);
    CHECK(reg_clip_norm(y, C, H, W, center, 35, scratch) == 6);
    CHECK(y[6] == x[6] && y[7] == x[7] && y[5] == center[0]);
    CHECK(reg_clip_norm(y, C, H, W, center, 0, scratch) == 0);

    /* Contribution |Σ_c (x − m)·g|: with g = (1, 0.5, 7) the contribution of
     * pixel p is |0.6 o − 0.4 o| = 0.2 o; the third channel adds nothing. */
    for (int p = 0; p < P; p++)
        grad[p] = 1.0f, grad[P + p] = 0.5f, grad[2 * P + p] = 7.0f;
    grad[3] = -1.0f; /* pixel 3: |−0.6·3 − 0.4·3| = 3, moves it up the ranking */
    memcpy(y, x, sizeof x);
    /* Contributions: 0, .2, .4, 3, .8, 1, 1.2, 1.2, 1.6, …; 25th percentile:
     * k = 5, sorted 0 .2 .4 .8 1 1.2 … → threshold 1.2 (pixel 6): zeroed are
     * pixels 0, 1, 2, 4, 5. */
    CHECK(reg_clip_contrib(y, grad, C, H, W, center, 25, scratch) == 5);
    for (int p = 0; p < P; p++) {
        bool zeroed = p == 0 || p == 1 || p == 2 || p == 4 || p == 5;
        CHECK(y[p] == (zeroed ? center[0] : x[p]));
    }

    const float lo[C] = {0.6f, -2.0f, 0.0f}, hi[C] = {1.0f, -1.5f, 1.0f};
    memcpy(y, x, sizeof x);
    reg_clamp(y, C, H, W, lo, hi);
    CHECK(y[0] == 0.6f && y[1] == 1.0f && y[P + 1] == -1.8f && y[P + 10] == -2.0f && y[P] == -1.5f);
    CHECK(y[2 * P + 4] == 1.0f);
}

int main(void)
{
    test_l2_and_decay();
    test_alpha_norm();
    test_tv();
    test_percentile();
    test_clipping();
    return check_report("test_reg_penalty");
}
