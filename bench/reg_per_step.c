/* bench/reg_per_step.c — what each regularizer costs per call on one image,
 * to see which ones a render loop can afford every step at a size.
 *
 *   cc -O3 -march=native -I. bench/reg_per_step.c build/libsynth.a \
 *      $(pkg-config --libs fftw3f) -lm -lpthread -o build/reg_per_step
 *   build/reg_per_step [side]        (default 1024; a 3 × side × side image)
 *
 * Prints the CPU milliseconds of one call (best of 3) and ns per pixel. */
#include "regularizers/regularizers.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define TIME(label, call)                                                                   \
    do {                                                                                    \
        double best_ = 1e30;                                                                \
        for (int k_ = 0; k_ < 3; k_++) {                                                    \
            double t0_ = now();                                                             \
            call;                                                                           \
            double t_ = now() - t0_;                                                        \
            best_ = t_ < best_ ? t_ : best_;                                                \
        }                                                                                   \
        printf("  %-34s %9.2f ms  %6.2f ns/pixel\n", label, 1e3 * best_, 1e9 * best_ / pixels); \
    } while (0)

int main(int argc, char **argv)
{
    const int side = argc > 1 ? atoi(argv[1]) : 1024, C = 3, H = side, W = side;
    const double pixels = (double)H * W;
    size_t n = (size_t)C * H * W;
    float *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g), *y = malloc(n * sizeof *y);
    float *scratch = malloc((size_t)H * W * sizeof *scratch);
    if (!x || !g || !y || !scratch)
        return 1;
    rng r;
    rng_seed(&r, 1);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rng_uniform(&r), g[i] = (float)rng_normal(&r);
    reg_range range = reg_range_unit(C);
    printf("3 x %d x %d image\n", H, W);
    TIME("l2 (value + gradient)", reg_l2(x, C, H, W, range.center, 0.1, g));
    TIME("decay", reg_decay(x, C, H, W, range.center, 1e-6));
    TIME("tv beta 2", reg_tv(x, C, H, W, 2.0, 1.0, false, g));
    TIME("tv beta 1", reg_tv(x, C, H, W, 1.0, 1.0, false, g));
    TIME("tv beta 1.5", reg_tv(x, C, H, W, 1.5, 1.0, false, g));
    TIME("clamp", reg_clamp(x, C, H, W, range.lo, range.hi));
    TIME("clip norm 10%", reg_clip_norm(x, C, H, W, range.center, 10, scratch));
    TIME("clip contrib 10%", reg_clip_contrib(x, g, C, H, W, range.center, 10, scratch));
    reg_transform_options o = {.jitter = 8, .scale_jitter = 0.1, .rotate_jitter = 10};
    reg_transform *t;
    if (reg_transform_create(&o, C, H, W, range.center, &t) != ST_OK)
        return 1;
    reg_transform_set(t, (reg_transform_draw_params){.dy = 3, .dx = -5, .scale = 1.0});
    TIME("transform: shift (window)", reg_transform_forward(t, x, y));
    TIME("transform: shift adjoint", reg_transform_adjoint(t, y, g));
    reg_transform_set(t, (reg_transform_draw_params){.dy = 3, .dx = -5, .scale = 1.05, .radians = 0.1});
    TIME("transform: zoom+rotate", reg_transform_forward(t, x, y));
    TIME("transform: zoom+rotate adjoint", reg_transform_adjoint(t, y, g));
    reg_transform_free(t);
    reg_param_options po = {.kind = REG_PARAM_FOURIER, .decorrelate = true, .sigmoid = true, .fourier_decay = 1};
    reg_param *p;
    if (reg_param_create(&po, C, H, W, &range, &p) != ST_OK)
        return 1;
    float *params = malloc(reg_param_count(p) * sizeof *params), *dparams = malloc(reg_param_count(p) * sizeof *dparams);
    if (!params || !dparams)
        return 1;
    reg_param_init(p, params, &r, 0.01);
    TIME("fourier+decorrelate+sigmoid forward", reg_param_forward(p, params, y));
    TIME("fourier+decorrelate+sigmoid backward", reg_param_backward(p, g, dparams));
    reg_param_free(p);
    free(params), free(dparams), free(x), free(g), free(y), free(scratch);
    return 0;
}
