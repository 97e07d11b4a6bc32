/* regularizers: the Gaussian blur. Direct and FFT paths against each other
 * and against a double-precision evaluation of the definition (the image
 * mirrored at its edges, or wrapped around when periodic, the sampled
 * Gaussian truncated at ⌈4σ⌉ and normalized), for several σ and odd sizes,
 * including kernels wider than the image; the mean is preserved; the impulse
 * response is the sampled Gaussian. */
#include "check.h"
#include "regularizers/regularizers.h"

#include <stdlib.h>

/* Mirror i into [0, n) with the edge pixel repeated, one reflection at a time. */
static int mirror(int i, int n)
{
    while (i < 0 || i >= n)
        i = i < 0 ? -1 - i : 2 * n - 1 - i;
    return i;
}

/* i mod n, into [0, n). */
static int wrap(int i, int n)
{
    int m = i % n;
    return m < 0 ? m + n : m;
}

static double *gaussian(double sigma, int *radius)
{
    int R = (int)ceil(4 * sigma);
    double *g = malloc((2 * (size_t)R + 1) * sizeof *g), sum = 0;
    REQUIRE(g);
    for (int k = -R; k <= R; k++)
        sum += g[k + R] = exp(-(double)k * k / (2 * sigma * sigma));
    for (int k = 0; k <= 2 * R; k++)
        g[k] /= sum;
    *radius = R;
    return g;
}

/* The definition, in double: y = Σ_a Σ_b g[a] g[b] x[mirror(i+a), mirror(j+b)]
 * (wrap instead of mirror when periodic). */
static void blur_reference(const float *x, int C, int H, int W, double sigma, bool periodic, double *y)
{
    int (*index)(int, int) = periodic ? wrap : mirror;
    int R;
    double *g = gaussian(sigma, &R), *tmp = malloc((size_t)H * W * sizeof *tmp);
    REQUIRE(tmp);
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * H * W;
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                double s = 0;
                for (int a = -R; a <= R; a++)
                    s += g[a + R] * xc[(size_t)index(i + a, H) * W + j];
                tmp[(size_t)i * W + j] = s;
            }
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                double s = 0;
                for (int b = -R; b <= R; b++)
                    s += g[b + R] * tmp[(size_t)i * W + index(j + b, W)];
                y[((size_t)c * H + i) * W + j] = s;
            }
    }
    free(g);
    free(tmp);
}

static double channel_mean(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s / (double)n;
}

static void test_paths_agree(void)
{
    const int sizes[][2] = {{17, 23}, {31, 9}, {1, 13}, {6, 5}, {64, 48}, {2, 2}, {257, 203}};
    const double sigmas[] = {0.4, 1.0, 2.5, 4.0, 7.0, 15.0};
    rng r;
    rng_seed(&r, 7);
    const int C = 2;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int H = sizes[s][0], W = sizes[s][1];
        size_t n = (size_t)C * H * W;
        float *x = malloc(n * sizeof *x), *direct = malloc(n * sizeof *x), *fft = malloc(n * sizeof *x);
        double *ref = malloc(n * sizeof *ref);
        REQUIRE(x && direct && fft && ref);
        reg_blur *b;
        REQUIRE(reg_blur_create(H, W, &b) == ST_OK);
        for (size_t t = 0; t < 2 * (sizeof sigmas / sizeof *sigmas); t++) {
            size_t k = t % (sizeof sigmas / sizeof *sigmas);
            bool periodic = t >= sizeof sigmas / sizeof *sigmas;
            reg_blur_set_periodic(b, periodic);
            for (size_t i = 0; i < n; i++)
                x[i] = (float)rng_uniform(&r);
            memcpy(direct, x, n * sizeof *x);
            memcpy(fft, x, n * sizeof *x);
            CHECK_OK(reg_blur_apply(b, direct, C, sigmas[k], REG_BLUR_DIRECT));
            CHECK_OK(reg_blur_apply(b, fft, C, sigmas[k], REG_BLUR_FFT));
            blur_reference(x, C, H, W, sigmas[k], periodic, ref);
            double worst_fft = 0, worst_ref = 0;
            for (size_t i = 0; i < n; i++) {
                worst_fft = fmax(worst_fft, fabs((double)direct[i] - fft[i]));
                worst_ref = fmax(worst_ref, fmax(fabs(direct[i] - ref[i]), fabs(fft[i] - ref[i])));
            }
            if (worst_fft > 1e-5 || worst_ref > 1e-5)
                fprintf(stderr, "%d x %d, sigma %g%s: |direct - fft| %g, |path - reference| %g\n", H, W,
                        sigmas[k], periodic ? " periodic" : "", worst_fft, worst_ref);
            CHECK(worst_fft <= 1e-5 && worst_ref <= 1e-5);
            for (int c = 0; c < C; c++) {
                double m = channel_mean(x + (size_t)c * H * W, (size_t)H * W);
                CHECK_NEAR(channel_mean(direct + (size_t)c * H * W, (size_t)H * W), m, 1e-6);
                CHECK_NEAR(channel_mean(fft + (size_t)c * H * W, (size_t)H * W), m, 1e-6);
            }
        }
        /* σ ≤ 0 leaves the image alone. */
        memcpy(direct, x, n * sizeof *x);
        CHECK_OK(reg_blur_apply(b, direct, C, 0.0, REG_BLUR_AUTO));
        CHECK(memcmp(direct, x, n * sizeof *x) == 0);
        reg_blur_free(b);
        free(x);
        free(direct);
        free(fft);
        free(ref);
    }
}

static void test_impulse_response(void)
{
    const int H = 41, W = 45, cy = 20, cx = 22;
    const double sigma = 3.0;
    int R;
    double *g = gaussian(sigma, &R);
    reg_blur *b;
    REQUIRE(reg_blur_create(H, W, &b) == ST_OK);
    const reg_blur_method methods[] = {REG_BLUR_DIRECT, REG_BLUR_FFT, REG_BLUR_AUTO};
    float *x = malloc((size_t)H * W * sizeof *x);
    REQUIRE(x);
    for (int m = 0; m < 3; m++) {
        memset(x, 0, (size_t)H * W * sizeof *x);
        x[cy * W + cx] = 1.0f;
        CHECK_OK(reg_blur_apply(b, x, 1, sigma, methods[m]));
        double worst = 0;
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                int a = i - cy, c = j - cx;
                double expect = abs(a) <= R && abs(c) <= R ? g[a + R] * g[c + R] : 0.0;
                worst = fmax(worst, fabs(x[i * W + j] - expect));
            }
        CHECK(worst < 1e-7);
    }
    CHECK(reg_blur_radius(3.0) == 12 && reg_blur_radius(0.26) == 2 && reg_blur_radius(0) == 0);
    free(x);
    free(g);
    reg_blur_free(b);
    CHECK_FAILS_WITH(reg_blur_create(0, 5, &b), "blur");
}

int main(void)
{
    test_paths_agree();
    test_impulse_response();
    return check_report("test_reg_blur");
}
