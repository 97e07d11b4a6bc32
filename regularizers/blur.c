/* Gaussian blur (Yosinski et al. 2015), one linear map with two
 * implementations: a separable direct convolution, and an FFT convolution of
 * the mirror-padded image. Both use the same truncated, normalized kernel and
 * the same boundary — REFLECT (the half-sample mirror, period 2N), or WRAP for
 * a periodic image (period N) — so they agree to float rounding for every σ
 * and size, and both preserve the mean.
 *
 * The FFT path: pad each channel to Ly × Lx, Ly = the smallest even 5-smooth
 * (2^a 3^b 5^c) size ≥ H + 2R, with p[t] = x[mirror(t − R)] (x[(t − R) mod H]
 * when periodic); a circular
 * convolution of p with g (which fits: 2R + 1 ≤ L) equals the linear one at
 * the positions t = i + R, i < H, as their windows [i, i + 2R] never wrap.
 * g is symmetric, so its DFT is real and separable:
 *     ĝ_L(k) = Σ_{|m|≤R} g[m] cos(2πkm/L),
 * and blur = crop(c2r(ĝ_y ⊗ ĝ_x ⊙ r2c(p)) / (Ly·Lx)).
 * (FFTW's DCT-II/III would avoid the padding, but measured 2 to 3 times
 * slower than r2c/c2r of the padded size; bench/blur_crossover.c.)
 */
#include "regularizers/internal.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* FFTW_ESTIMATE: planning a 1024 x 1280 pair takes ~10 ms with it and 3 to 5
 * s with FFTW_MEASURE, for no measurable gain in execution on this machine
 * (bench/blur_crossover.c); images change size with every octave. */
static const unsigned blur_plan_flags = FFTW_ESTIMATE;

struct reg_blur {
    int H, W;
    reg_boundary boundary; /* REFLECT, or WRAP when periodic */
    float *plane; /* H·W floats: the vertical pass of the direct blur */
    /* The kernel g[0 .. 2R], centre g[R], for kernel_sigma. */
    double kernel_sigma;
    int radius;
    float *kernel;
    size_t kernel_capacity;
    float *row; /* W + 2R floats: one mirrored row for the horizontal pass */
    size_t row_capacity;
    /* FFT: the padded channel (Ly × Lx), its half spectrum (Ly × (Lx/2+1)),
     * plans for that size, and the kernel's responses ĝ along y (Ly, with
     * the 1/(Ly·Lx) normalization folded in) and x (Lx/2+1) for fft_sigma. */
    int Ly, Lx;
    float *padded;
    fftwf_complex *spectrum;
    fftwf_plan r2c, c2r;
    float *response_y, *response_x;
    double fft_sigma;
};

int reg_blur_radius(double sigma) { return sigma > 0 ? (int)ceil(4 * sigma) : 0; }

void reg_blur_set_periodic(reg_blur *b, bool periodic)
{
    b->boundary = periodic ? REG_BOUNDARY_WRAP : REG_BOUNDARY_REFLECT;
}

status reg_blur_create(int H, int W, reg_blur **out)
{
    *out = NULL;
    size_t plane;
    if (!reg_image_size(1, H, W, "blur", &plane))
        return ST_ERROR;
    if (H > 1 << 24 || W > 1 << 24)
        return error_set("blur", "image too large (%d x %d)", H, W);
    reg_blur *b = alloc_array(1, sizeof *b, "blur");
    if (!b)
        return ST_ERROR;
    b->H = H;
    b->W = W;
    b->boundary = REG_BOUNDARY_REFLECT;
    b->kernel_sigma = b->fft_sigma = -1;
    b->plane = alloc_array(plane, sizeof(float), "blur");
    if (!b->plane) {
        reg_blur_free(b);
        return ST_ERROR;
    }
    *out = b;
    return ST_OK;
}

/* Frees the FFT path's plans and buffers (its size changes with R). */
static void blur_fft_release(reg_blur *b)
{
    reg_fftw_lock();
    if (b->r2c)
        fftwf_destroy_plan(b->r2c);
    if (b->c2r)
        fftwf_destroy_plan(b->c2r);
    reg_fftw_unlock();
    fftwf_free(b->padded);
    fftwf_free(b->spectrum);
    free(b->response_y);
    free(b->response_x);
    b->r2c = b->c2r = NULL;
    b->padded = NULL;
    b->spectrum = NULL;
    b->response_y = b->response_x = NULL;
    b->Ly = b->Lx = 0;
    b->fft_sigma = -1;
}

void reg_blur_free(reg_blur *b)
{
    if (!b)
        return;
    blur_fft_release(b);
    free(b->plane);
    free(b->kernel);
    free(b->row);
    free(b);
}

/* Grows *buf to hold n floats (contents not kept). */
static status grow(float **buf, size_t *capacity, size_t n)
{
    if (n <= *capacity)
        return ST_OK;
    float *fresh = alloc_array(n, sizeof(float), "blur");
    if (!fresh)
        return ST_ERROR;
    free(*buf);
    *buf = fresh;
    *capacity = n;
    return ST_OK;
}

/* The sampled, truncated, normalized Gaussian for σ, and room for a mirrored row. */
static status blur_kernel(reg_blur *b, double sigma)
{
    if (b->kernel_sigma == sigma)
        return ST_OK;
    int R = reg_blur_radius(sigma);
    if (grow(&b->kernel, &b->kernel_capacity, 2 * (size_t)R + 1) != ST_OK ||
        grow(&b->row, &b->row_capacity, (size_t)b->W + 2 * (size_t)R) != ST_OK)
        return ST_ERROR;
    double sum = 0;
    for (int k = -R; k <= R; k++)
        sum += exp(-(double)k * k / (2 * sigma * sigma));
    for (int k = -R; k <= R; k++)
        b->kernel[k + R] = (float)(exp(-(double)k * k / (2 * sigma * sigma)) / sum);
    b->radius = R;
    b->kernel_sigma = sigma;
    return ST_OK;
}

/* ĝ_k = scale · Σ_{|m|≤R} g[m] cos(2πkm/L) for k < n; g as stored (float). */
static void kernel_response(const float *g, int R, int L, int n, double scale, float *out)
{
    for (int k = 0; k < n; k++) {
        double r = g[R];
        for (int m = 1; m <= R; m++)
            r += 2.0 * g[R + m] * cos(2 * M_PI * (double)((long)k * m % L) / L);
        out[k] = (float)(r * scale);
    }
}

/* The smallest even n' ≥ n with no prime factor above 5: the sizes FFTW's
 * estimated plans are fastest at (7-smooth odd sizes such as 1323 measured
 * twice as slow as 1296 in bench/blur_crossover.c). */
static int smooth_size(int n)
{
    for (n += n % 2;; n += 2) {
        int m = n;
        for (int p = 2; p <= 5; p++)
            while (m % p == 0)
                m /= p;
        if (m == 1)
            return n;
    }
}

static status blur_fft_prepare(reg_blur *b, double sigma)
{
    if (b->fft_sigma == sigma)
        return ST_OK;
    const int R = b->radius, Ly = smooth_size(b->H + 2 * R), Lx = smooth_size(b->W + 2 * R);
    if (Ly != b->Ly || Lx != b->Lx) {
        blur_fft_release(b);
        size_t n_real, n_half;
        if (!size_mul((size_t)Ly, (size_t)Lx, &n_real) || !size_mul((size_t)Ly, (size_t)(Lx / 2 + 1), &n_half))
            return error_prefix("blur");
        b->padded = fftwf_malloc(n_real * sizeof(float));
        b->spectrum = fftwf_malloc(n_half * sizeof(fftwf_complex));
        b->response_y = malloc((size_t)Ly * sizeof(float));
        b->response_x = malloc((size_t)(Lx / 2 + 1) * sizeof(float));
        if (!b->padded || !b->spectrum || !b->response_y || !b->response_x) {
            blur_fft_release(b);
            return error_set("blur", "out of memory for a %d x %d transform", Ly, Lx);
        }
        reg_fftw_lock();
        b->r2c = fftwf_plan_dft_r2c_2d(Ly, Lx, b->padded, b->spectrum, blur_plan_flags);
        b->c2r = fftwf_plan_dft_c2r_2d(Ly, Lx, b->spectrum, b->padded, blur_plan_flags);
        reg_fftw_unlock();
        if (!b->r2c || !b->c2r) {
            blur_fft_release(b);
            return error_set("blur", "FFTW could not plan a %d x %d transform", Ly, Lx);
        }
        b->Ly = Ly;
        b->Lx = Lx;
    }
    kernel_response(b->kernel, R, Ly, Ly, 1.0 / ((double)Ly * Lx), b->response_y);
    kernel_response(b->kernel, R, Lx, Lx / 2 + 1, 1.0, b->response_x);
    b->fft_sigma = sigma;
    return ST_OK;
}

/* The crossover. bench/blur_crossover.c on the development machine (2 vCPU
 * Xeon @ 2.5 GHz, shared and loaded, hence CPU time, each cell the minimum
 * over 4 bench runs of the best of 3 to 9 blurs; 2048 × 2560: one run;
 * Release, -march=native; FFTW 3.3.10, FFTW_ESTIMATE), ms per blur of a
 * 3-channel image:
 *
 *   σ                   1     2     4     8    10    12    16    24
 *   256 × 320  direct  0.5   1.0   2.1   4.5   5.2   6.4   8.6  13.3
 *              fft     7.4   5.9   5.6   4.3   7.3  11.4   9.1  15.6
 *   512 × 640  direct  2.3   4.5   8.5  16.8  20.8  25.0  33.2  48.1
 *              fft    22.1  27.3  24.7  25.1  28.0  22.1  18.8  49.1
 *   1024×1280  direct 18.2  27.5  47.1  65.9  84.0  93.8 129.2 186.7
 *              fft     108   107  85.9  91.8   111   108   112   140
 *   2048×2560  direct 57.5  86.6   200   278   384   396   757  1127
 *              fft     770   851   796  1006   896   976   954  1016
 *
 * The FFT's cost moves with the padded size (smooth_size) but not with σ; it
 * wins from σ ≈ 8–10 (256 × 320) and 12–16 (1 Mpx), and 16–24 at 5 Mpx,
 * where its transforms leave the cache. Near the crossover both cost about
 * the same, so the rule is coarse: FFT from σ = 12 up to 2 Mpx, from σ = 20
 * above. */
double reg_blur_fft_sigma(int H, int W) { return (double)H * W <= 2e6 ? 12.0 : 20.0; }

static reg_blur_method blur_method(const reg_blur *b, double sigma, reg_blur_method m)
{
    if (m != REG_BLUR_AUTO)
        return m;
    return sigma < reg_blur_fft_sigma(b->H, b->W) ? REG_BLUR_DIRECT : REG_BLUR_FFT;
}

status reg_blur_prepare(reg_blur *b, double sigma, reg_blur_method m)
{
    if (!(sigma <= 1e5))
        return error_set("blur", "sigma %g is out of range", sigma);
    if (sigma <= 0)
        return ST_OK;
    if (blur_kernel(b, sigma) != ST_OK)
        return ST_ERROR;
    return blur_method(b, sigma, m) == REG_BLUR_FFT ? blur_fft_prepare(b, sigma) : ST_OK;
}

static void blur_direct(reg_blur *b, float *x, int C)
{
    /* x: (C, H, W) in place; plane: (H, W) scratch; row: W + 2R.
     * Vertical pass into plane, then horizontal pass back into x; the kernel
     * is symmetric, so taps k and 2R − k share a multiply. */
    const int H = b->H, W = b->W, R = b->radius;
    const float *g = b->kernel;
    for (int c = 0; c < C; c++) {
        float *xc = x + (size_t)c * H * W;
        for (int i = 0; i < H; i++) {
            float *out = b->plane + (size_t)i * W;
            const float *mid = xc + (size_t)i * W;
            for (int j = 0; j < W; j++)
                out[j] = g[R] * mid[j];
            for (int k = 0; k < R; k++) {
                const float *up = xc + reg_boundary_index(i + k - R, H, b->boundary) * W;
                const float *down = xc + reg_boundary_index(i + R - k, H, b->boundary) * W;
                float gk = g[k];
                for (int j = 0; j < W; j++)
                    out[j] += gk * (up[j] + down[j]);
            }
        }
        float *p = b->row; /* p[t] = source[t − R], mirrored or wrapped */
        for (int i = 0; i < H; i++) {
            const float *src = b->plane + (size_t)i * W;
            for (int t = 0; t < R; t++) {
                p[t] = src[reg_boundary_index(t - R, W, b->boundary)];
                p[W + R + t] = src[reg_boundary_index(W + t, W, b->boundary)];
            }
            memcpy(p + R, src, (size_t)W * sizeof(float));
            float *dst = xc + (size_t)i * W;
            for (int j = 0; j < W; j++)
                dst[j] = g[R] * p[j + R];
            for (int k = 0; k < R; k++) {
                float gk = g[k];
                const float *left = p + k, *right = p + 2 * R - k;
                for (int j = 0; j < W; j++)
                    dst[j] += gk * (left[j] + right[j]);
            }
        }
    }
}

static void blur_fft(reg_blur *b, float *x, int C)
{
    /* x: (C, H, W) in place; padded: (Ly, Lx); spectrum: (Ly, Lx/2+1).
     * Per channel: pad by mirroring (or wrapping), r2c, multiply by ĝ_y ⊗ ĝ_x, c2r, crop. */
    const int H = b->H, W = b->W, R = b->radius, Ly = b->Ly, Lx = b->Lx, Lh = Lx / 2 + 1;
    for (int c = 0; c < C; c++) {
        float *xc = x + (size_t)c * H * W;
        for (int t = 0; t < Ly; t++) {
            const float *src = xc + reg_boundary_index(t - R, H, b->boundary) * W;
            float *dst = b->padded + (size_t)t * Lx;
            for (int s = 0; s < R; s++)
                dst[s] = src[reg_boundary_index(s - R, W, b->boundary)];
            memcpy(dst + R, src, (size_t)W * sizeof(float));
            for (int s = R + W; s < Lx; s++)
                dst[s] = src[reg_boundary_index(s - R, W, b->boundary)];
        }
        fftwf_execute(b->r2c);
        for (int ky = 0; ky < Ly; ky++) {
            float *s = (float *)(b->spectrum + (size_t)ky * Lh), ry = b->response_y[ky];
            const float *rx = b->response_x;
            for (int kx = 0; kx < Lh; kx++) {
                float k = ry * rx[kx];
                s[2 * kx] *= k;
                s[2 * kx + 1] *= k;
            }
        }
        fftwf_execute(b->c2r);
        for (int i = 0; i < H; i++)
            memcpy(xc + (size_t)i * W, b->padded + (size_t)(i + R) * Lx + R, (size_t)W * sizeof(float));
    }
}

status reg_blur_apply(reg_blur *b, float *x, int C, double sigma, reg_blur_method m)
{
    if (sigma <= 0)
        return ST_OK;
    if (reg_blur_prepare(b, sigma, m) != ST_OK)
        return ST_ERROR;
    if (blur_method(b, sigma, m) == REG_BLUR_FFT)
        blur_fft(b, x, C);
    else
        blur_direct(b, x, C);
    return ST_OK;
}
