/* bench/blur_crossover.c — where the DCT blur overtakes the direct one.
 *
 * For each image size and σ it times (CPU time) reg_blur_apply with REG_BLUR_DIRECT and
 * REG_BLUR_FFT on a 3-channel image (best of several runs, plans and kernels
 * made beforehand, as in a render loop), and prints the σ from which FFT is
 * faster. Then, for the FFT path's design, on one 1024 × 1280 channel:
 * FFTW_ESTIMATE against FFTW_MEASURE (planning time, and one forward +
 * inverse pair), for r2c/c2r of the padded size the blur uses (σ = 10) and
 * for FFTW's DCT-II/DCT-III (REDFT10/01), which would need no padding.
 *
 * Build and run against a built library (not part of ctest: timings are not
 * tests):
 *   cc -O3 -march=native -I. bench/blur_crossover.c build/libsynth.a \
 *      $(pkg-config --libs fftw3f) -lm -lpthread -o build/blur_crossover
 *   build/blur_crossover [max_side [min_side]]    (default 2048, 256)
 */
#include "regularizers/regularizers.h"

#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of this (single-threaded) process: on a shared machine, time
 * spent descheduled does not count. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Best CPU time of `runs` blurs, in milliseconds. */
static double time_blur(reg_blur *b, float *x, int C, double sigma, reg_blur_method m, int runs)
{
    if (reg_blur_prepare(b, sigma, m) != ST_OK) {
        fprintf(stderr, "blur_crossover: %s\n", error_message());
        exit(1);
    }
    double best = 1e30;
    for (int k = 0; k < runs; k++) {
        double t0 = now();
        reg_blur_apply(b, x, C, sigma, m);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    return 1e3 * best;
}

/* Planning time and best time of one forward + inverse pair, ms. */
static void time_pair(const char *what, fftwf_plan (*plan)(int, int, float *, float *, unsigned, int),
                      int H, int W, float *a, float *c, unsigned flags)
{
    double t0 = now();
    fftwf_plan fwd = plan(H, W, a, c, flags, 0), inv = plan(H, W, a, c, flags, 1);
    double planning = now() - t0, best = 1e30;
    for (int k = 0; k < 5; k++) {
        t0 = now();
        fftwf_execute(fwd);
        fftwf_execute(inv);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    printf("  %-28s plan %8.1f ms   forward+inverse %7.2f ms\n", what, 1e3 * planning, 1e3 * best);
    fftwf_destroy_plan(fwd);
    fftwf_destroy_plan(inv);
}

static fftwf_plan plan_dct(int H, int W, float *a, float *c, unsigned flags, int inverse)
{
    (void)c;
    fftw_r2r_kind k = inverse ? FFTW_REDFT01 : FFTW_REDFT10;
    return fftwf_plan_r2r_2d(H, W, a, a, k, k, flags);
}

static fftwf_plan plan_padded_fft(int H, int W, float *a, float *c, unsigned flags, int inverse)
{
    /* H + 2R, W + 2R for σ = 10 (R = 40), rounded up as blur.c does */
    (void)H, (void)W;
    return inverse ? fftwf_plan_dft_c2r_2d(1120, 1380, (fftwf_complex *)c, a, flags)
                   : fftwf_plan_dft_r2c_2d(1120, 1380, a, (fftwf_complex *)c, flags);
}

int main(int argc, char **argv)
{
    int max_side = argc > 1 ? atoi(argv[1]) : 2048, min_side = argc > 2 ? atoi(argv[2]) : 256;
    const double sigmas[] = {0.5, 1, 2, 3, 4, 6, 8, 10, 12, 16, 24};
    const int n_sigmas = sizeof sigmas / sizeof *sigmas, C = 3;
    printf("CPU ms per blur of a %d-channel image (best of several runs)\n", C);
    for (int side = min_side; side <= max_side; side *= 2) {
        int H = side, W = side + side / 4; /* not square, like most photos */
        size_t n = (size_t)C * H * W;
        float *x = malloc(n * sizeof *x);
        reg_blur *b;
        if (!x || reg_blur_create(H, W, &b) != ST_OK)
            return 1;
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(i % 251) / 251.0f;
        int runs = side <= 512 ? 9 : side <= 1024 ? 5 : 3;
        printf("%d x %d:\n  sigma ", H, W);
        for (int k = 0; k < n_sigmas; k++)
            printf("%7.1f", sigmas[k]);
        double direct[16], fft[16];
        for (int k = 0; k < n_sigmas; k++) {
            direct[k] = time_blur(b, x, C, sigmas[k], REG_BLUR_DIRECT, runs);
            fft[k] = time_blur(b, x, C, sigmas[k], REG_BLUR_FFT, runs);
        }
        printf("\n  direct");
        for (int k = 0; k < n_sigmas; k++)
            printf("%7.1f", direct[k]);
        printf("\n  fft   ");
        for (int k = 0; k < n_sigmas; k++)
            printf("%7.1f", fft[k]);
        int cross = -1;
        for (int k = 0; k < n_sigmas && cross < 0; k++)
            if (fft[k] < direct[k])
                cross = k;
        if (cross >= 0)
            printf("\n  FFT faster from sigma %g\n", sigmas[cross]);
        else
            printf("\n  FFT never faster here\n");
        reg_blur_free(b);
        free(x);
    }

    int H = 1024, W = 1280;
    float *a = fftwf_malloc(2 * (size_t)H * W * sizeof(float));
    fftwf_complex *c = fftwf_malloc(2 * (size_t)H * W * sizeof(fftwf_complex));
    if (!a || !c)
        return 1;
    memset(a, 0, 2 * (size_t)H * W * sizeof(float));
    printf("one channel, %d x %d:\n", H, W);
    time_pair("padded r2c/c2r, ESTIMATE", plan_padded_fft, H, W, a, (float *)c, FFTW_ESTIMATE);
    time_pair("padded r2c/c2r, MEASURE", plan_padded_fft, H, W, a, (float *)c, FFTW_MEASURE);
    time_pair("DCT (no padding), ESTIMATE", plan_dct, H, W, a, (float *)c, FFTW_ESTIMATE);
    time_pair("DCT (no padding), MEASURE", plan_dct, H, W, a, (float *)c, FFTW_MEASURE);
    fftwf_free(a);
    fftwf_free(c);
    return 0;
}
