/* regularizers: the image parameterizations. The Fourier basis against a
 * double-precision inverse DFT written from the definition (the real part of
 * the inverse DFT of the Hermitian-completed spectrum), single coefficients
 * against closed-form cosines, adjoint identities of the linear part (with and
 * without decorrelation), finite differences of the whole
 * Fourier + decorrelate + sigmoid map against that reference, the inverse
 * map, the published colour matrix, and determinism of the init. */
#include "check.h"
#include "regularizers/regularizers.h"

#include <complex.h>
#include <stdlib.h>

/* The whole map in double, from the header's definitions. */
typedef struct {
    reg_param_kind kind;
    bool decorrelate, sigmoid;
    double decay;
    int C, H, W;
    const reg_range *range;
} reference_map;

static double spectrum_scale(const reference_map *m, int ky, int kx)
{
    double fy = (double)(ky <= m->H - ky ? ky : m->H - ky) / m->H, fx = (double)kx / m->W;
    double f = sqrt(fx * fx + fy * fy), f_min = 1.0 / (m->H > m->W ? m->H : m->W);
    return 1.0 / pow(f > f_min ? f : f_min, m->decay) / (4.0 * sqrt((double)m->H * m->W));
}

static void reference_forward(const reference_map *m, const double *params, double *image)
{
    const int C = m->C, H = m->H, W = m->W, Wh = W / 2 + 1;
    size_t plane = (size_t)H * W;
    double *u = malloc((size_t)C * plane * sizeof *u);
    double complex *full = malloc(plane * sizeof *full);
    REQUIRE(u && full);
    for (int c = 0; c < C; c++) {
        if (m->kind == REG_PARAM_PIXEL) {
            memcpy(u + c * plane, params + c * plane, plane * sizeof *u);
            continue;
        }
        /* F[ky][kx] = S·params for kx < Wh, conj(F[−ky][W − kx]) beyond. */
        for (int ky = 0; ky < H; ky++)
            for (int kx = 0; kx < W; kx++) {
                int sy = kx < Wh ? ky : (H - ky) % H, sx = kx < Wh ? kx : W - kx;
                const double *z = params + 2 * (((size_t)c * H + sy) * Wh + sx);
                double complex v = spectrum_scale(m, sy, sx) * (z[0] + I * z[1]);
                full[(size_t)ky * W + kx] = kx < Wh ? v : conj(v);
            }
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double complex s = 0;
                for (int ky = 0; ky < H; ky++)
                    for (int kx = 0; kx < W; kx++)
                        s += full[(size_t)ky * W + kx] *
                             cexp(2 * M_PI * I * ((double)ky * y / H + (double)kx * x / W));
                u[c * plane + (size_t)y * W + x] = creal(s);
            }
    }
    for (size_t q = 0; q < plane; q++)
        for (int c = 0; c < C; c++) {
            double v = u[c * plane + q];
            if (m->decorrelate)
                v = reg_color_correlation[c][0] * u[q] + reg_color_correlation[c][1] * u[plane + q] +
                    reg_color_correlation[c][2] * u[2 * plane + q];
            if (m->sigmoid)
                v = m->range->lo[c] + (m->range->hi[c] - m->range->lo[c]) / (1 + exp(-v));
            image[c * plane + q] = v;
        }
    free(u);
    free(full);
}

static double weighted_sum(const double *w, const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += w[i] * x[i];
    return s;
}

/* Forward against the reference; backward against finite differences of the
 * reference in double (step 1e-6: error ~1e-10, so what remains is the float
 * rounding of the code under test). */
static void check_map(const char *what, const reference_map *ref, rng *r, double std)
{
    reg_param_options o = {.kind = ref->kind, .decorrelate = ref->decorrelate, .sigmoid = ref->sigmoid,
                           .fourier_decay = ref->decay};
    reg_param *p;
    REQUIRE(reg_param_create(&o, ref->C, ref->H, ref->W, ref->range, &p) == ST_OK);
    size_t count = reg_param_count(p), n = (size_t)ref->C * ref->H * ref->W;
    CHECK(count == (ref->kind == REG_PARAM_PIXEL ? n : 2 * (size_t)ref->C * ref->H * (ref->W / 2 + 1)));
    float *params = malloc(count * sizeof *params), *image = malloc(n * sizeof *image);
    float *weights = malloc(n * sizeof *weights), *grad = malloc(count * sizeof *grad);
    double *dparams = malloc(count * sizeof *dparams), *dimage = malloc(n * sizeof *dimage);
    double *dweights = malloc(n * sizeof *dweights), *expect = malloc(n * sizeof *expect);
    REQUIRE(params && image && weights && grad && dparams && dimage && dweights && expect);
    reg_param_init(p, params, r, std);
    for (size_t i = 0; i < n; i++)
        dweights[i] = weights[i] = (float)(2 * rng_uniform(r) - 1);
    for (size_t i = 0; i < count; i++)
        dparams[i] = params[i];

    reg_param_forward(p, params, image);
    reference_forward(ref, dparams, expect);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs(image[i] - expect[i]));
        scale = fmax(scale, fabs(expect[i]));
    }
    if (worst > 1e-5 * (1 + scale))
        fprintf(stderr, "%s: forward differs from the reference by %g (scale %g)\n", what, worst, scale);
    CHECK(worst <= 1e-5 * (1 + scale));

    reg_param_backward(p, weights, grad);
    const double h = 1e-6;
    double worst_grad = 0, largest = 0;
    for (size_t i = 0; i < count; i++) {
        double keep = dparams[i];
        dparams[i] = keep + h;
        reference_forward(ref, dparams, dimage);
        double up = weighted_sum(dweights, dimage, n);
        dparams[i] = keep - h;
        reference_forward(ref, dparams, dimage);
        double down = weighted_sum(dweights, dimage, n);
        dparams[i] = keep;
        double fd = (up - down) / (2 * h);
        worst_grad = fmax(worst_grad, fabs(fd - grad[i]));
        largest = fmax(largest, fabs(fd));
    }
    if (worst_grad > 1e-4 * largest)
        fprintf(stderr, "%s: gradient error %g (largest component %g)\n", what, worst_grad, largest);
    CHECK(largest > 0 && worst_grad <= 1e-4 * largest);

    /* The inverse map gives back the image. */
    float *again = malloc(count * sizeof *again), *image2 = malloc(n * sizeof *image2);
    REQUIRE(again && image2);
    reg_param_from_image(p, image, again);
    reg_param_forward(p, again, image2);
    worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs(image2[i] - image[i]));
    if (worst > 1e-5 * (1 + scale))
        fprintf(stderr, "%s: from_image then forward is off by %g\n", what, worst);
    CHECK(worst <= 1e-5 * (1 + scale));

    free(params), free(image), free(weights), free(grad), free(dparams), free(dimage), free(dweights);
    free(expect), free(again), free(image2);
    reg_param_free(p);
}

/* ⟨A p, y⟩ = ⟨p, Aᵀ y⟩ for the linear maps (no sigmoid), in double. */
static void check_adjoint(const char *what, const reg_param_options *o, int C, int H, int W, rng *r)
{
    reg_param *p;
    REQUIRE(reg_param_create(o, C, H, W, NULL, &p) == ST_OK);
    size_t count = reg_param_count(p), n = (size_t)C * H * W;
    float *params = malloc(count * sizeof *params), *image = malloc(n * sizeof *image);
    float *y = malloc(n * sizeof *y), *aty = malloc(count * sizeof *aty);
    REQUIRE(params && image && y && aty);
    reg_param_init(p, params, r, 1.0);
    for (size_t i = 0; i < n; i++)
        y[i] = (float)rng_normal(r);
    reg_param_forward(p, params, image);
    reg_param_backward(p, y, aty);
    double lhs = 0, rhs = 0, magnitude = 0;
    for (size_t i = 0; i < n; i++)
        lhs += (double)image[i] * y[i], magnitude += fabs((double)image[i] * y[i]);
    for (size_t i = 0; i < count; i++)
        rhs += (double)params[i] * aty[i], magnitude += fabs((double)params[i] * aty[i]);
    if (!(fabs(lhs - rhs) <= 1e-5 * magnitude))
        fprintf(stderr, "%s %d x %d: <Ap,y> = %.9g, <p,A'y> = %.9g\n", what, H, W, lhs, rhs);
    CHECK(fabs(lhs - rhs) <= 1e-5 * magnitude);
    free(params), free(image), free(y), free(aty);
    reg_param_free(p);
}

static void test_fourier_basis(void)
{
    /* One coefficient at (ky, kx) = (1, 2), interior column: u = 2 S cos(θ)
     * for a real 1, −2 S sin(θ) for an imaginary 1, θ = 2π(y/H + 2x/W); the
     * DC coefficient gives the constant S(0, 0) = max(H, W)^d / (4√(HW)). */
    const int H = 6, W = 8, Wh = W / 2 + 1;
    reg_param_options o = {.kind = REG_PARAM_FOURIER, .fourier_decay = 1.5};
    reg_param *p;
    REQUIRE(reg_param_create(&o, 1, H, W, NULL, &p) == ST_OK);
    reference_map ref = {.kind = REG_PARAM_FOURIER, .decay = 1.5, .C = 1, .H = H, .W = W};
    float params[2 * H * Wh], u[H * W];
    const int which[3][3] = {{1, 2, 0}, {1, 2, 1}, {0, 0, 0}}; /* ky, kx, imaginary */
    for (int k = 0; k < 3; k++) {
        memset(params, 0, sizeof params);
        params[2 * (which[k][0] * Wh + which[k][1]) + which[k][2]] = 1.0f;
        reg_param_forward(p, params, u);
        double s = spectrum_scale(&ref, which[k][0], which[k][1]), worst = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double th = 2 * M_PI * ((double)which[k][0] * y / H + (double)which[k][1] * x / W);
                double expect = k == 0 ? 2 * s * cos(th) : k == 1 ? -2 * s * sin(th) : s;
                worst = fmax(worst, fabs(u[y * W + x] - expect));
            }
        CHECK(worst < 1e-6);
    }
    CHECK_NEAR(spectrum_scale(&ref, 0, 0), pow(8, 1.5) / (4 * sqrt(48.0)), 1e-12);
    reg_param_free(p);
}

static void test_maps(void)
{
    rng r;
    rng_seed(&r, 21);
    reg_range unit = reg_range_unit(3);
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    reg_range imagenet = reg_range_normalized(3, 1.0f, mean, std);
    CHECK_NEAR(imagenet.lo[0], -0.485 / 0.229, 1e-6);
    CHECK_NEAR(imagenet.hi[2], (1 - 0.406) / 0.225, 1e-6);
    const float caffe_mean[3] = {104.0f, 117.0f, 123.0f}, ones[3] = {1, 1, 1};
    reg_range caffe = reg_range_normalized(3, 255.0f, caffe_mean, ones);
    CHECK(caffe.lo[0] == -104.0f && caffe.hi[2] == 132.0f && caffe.center[1] == 0.0f);
    const int sizes[][2] = {{6, 8}, {5, 7}, {4, 5}, {1, 6}, {3, 1}};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int H = sizes[s][0], W = sizes[s][1];
        char what[80];
        reference_map plain = {REG_PARAM_FOURIER, false, false, 1.0, 3, H, W, &unit};
        snprintf(what, sizeof what, "fourier %d x %d", H, W);
        check_map(what, &plain, &r, 1.0);
        reference_map full = {REG_PARAM_FOURIER, true, true, 1.0, 3, H, W, &imagenet};
        snprintf(what, sizeof what, "fourier+decorrelate+sigmoid %d x %d", H, W);
        check_map(what, &full, &r, 2.0);
        reg_param_options lin = {.kind = REG_PARAM_FOURIER, .fourier_decay = 1.0};
        check_adjoint("fourier adjoint", &lin, 3, H, W, &r);
        lin.decorrelate = true;
        check_adjoint("fourier+decorrelate adjoint", &lin, 3, H, W, &r);
        lin.kind = REG_PARAM_PIXEL;
        check_adjoint("pixel+decorrelate adjoint", &lin, 3, H, W, &r);
    }
    reference_map pixel = {REG_PARAM_PIXEL, true, true, 1.0, 3, 4, 5, &unit};
    check_map("pixel+decorrelate+sigmoid", &pixel, &r, 1.0);
    reference_map decay2 = {REG_PARAM_FOURIER, false, true, 2.0, 2, 5, 6, &unit};
    check_map("fourier decay 2, 2 channels", &decay2, &r, 0.3);

    /* Pixel, no decorrelation, no sigmoid: the identity. */
    reg_param_options id = {.kind = REG_PARAM_PIXEL};
    reg_param *p;
    REQUIRE(reg_param_create(&id, 3, 4, 4, NULL, &p) == ST_OK);
    CHECK(reg_param_is_identity(p) && reg_param_count(p) == 48);
    reg_param_free(p);
    reg_param_options bad = {.kind = REG_PARAM_PIXEL, .decorrelate = true};
    CHECK_FAILS_WITH(reg_param_create(&bad, 1, 4, 4, NULL, &p), "--decorrelate");
}

/* With a BGR range, decorrelation acts on reversed channels: the BGR image
 * of reversed params is the reversed RGB image. */
static void test_bgr(void)
{
    enum { H = 3, W = 4, P = H * W };
    reg_range rgb = reg_range_unit(3), bgr = rgb;
    bgr.bgr = true;
    rgb.lo[0] = bgr.lo[2] = -1.0f; /* per-channel ranges follow the channels */
    reg_param_options o = {.kind = REG_PARAM_FOURIER, .decorrelate = true, .sigmoid = true, .fourier_decay = 1};
    reg_param *a, *b;
    REQUIRE(reg_param_create(&o, 3, H, W, &rgb, &a) == ST_OK);
    REQUIRE(reg_param_create(&o, 3, H, W, &bgr, &b) == ST_OK);
    size_t n = reg_param_count(a), per = n / 3;
    float pa[2 * 3 * H * (W / 2 + 1)], pb[sizeof pa / sizeof *pa], ia[3 * P], ib[3 * P];
    REQUIRE(n == sizeof pa / sizeof *pa);
    rng r;
    rng_seed(&r, 8);
    reg_param_init(a, pa, &r, 1.0);
    for (int c = 0; c < 3; c++)
        memcpy(pb + c * per, pa + (2 - c) * per, per * sizeof *pa);
    reg_param_forward(a, pa, ia);
    reg_param_forward(b, pb, ib);
    double worst = 0;
    for (int c = 0; c < 3; c++)
        for (int q = 0; q < P; q++)
            worst = fmax(worst, fabs(ib[c * P + q] - ia[(2 - c) * P + q]));
    CHECK(worst < 1e-6);
    reg_param_free(a);
    reg_param_free(b);
}

static void test_color_matrix(void)
{
    /* Lucid's published square root of the colour correlation, over its
     * largest column norm. */
    const double lucid[3][3] = {{0.26, 0.09, 0.02}, {0.27, 0.00, -0.05}, {0.27, -0.09, 0.03}};
    double largest = 0;
    for (int j = 0; j < 3; j++)
        largest = fmax(largest, sqrt(lucid[0][j] * lucid[0][j] + lucid[1][j] * lucid[1][j] +
                                     lucid[2][j] * lucid[2][j]));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            CHECK_NEAR(reg_color_correlation[i][j], lucid[i][j] / largest, 1e-7);
}

static void test_init_determinism(void)
{
    reg_param_options o = {.kind = REG_PARAM_FOURIER, .decorrelate = true, .sigmoid = true, .fourier_decay = 1};
    reg_param *p;
    REQUIRE(reg_param_create(&o, 3, 16, 12, NULL, &p) == ST_OK);
    size_t n = reg_param_count(p);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    REQUIRE(a && b);
    rng ra, rb;
    rng_seed(&ra, 5);
    rng_seed(&rb, 5);
    reg_param_init(p, a, &ra, 0.01);
    reg_param_init(p, b, &rb, 0.01);
    CHECK(memcmp(a, b, n * sizeof *a) == 0);
    double sum2 = 0;
    for (size_t i = 0; i < n; i++)
        sum2 += (double)a[i] * a[i];
    CHECK_NEAR(sqrt(sum2 / n), 0.01, 0.002);
    rng_seed(&rb, 6);
    reg_param_init(p, b, &rb, 0.01);
    CHECK(memcmp(a, b, n * sizeof *a) != 0);
    free(a), free(b);
    reg_param_free(p);
}

int main(void)
{
    test_fourier_basis();
    test_maps();
    test_color_matrix();
    test_bgr();
    test_init_determinism();
    return check_report("test_reg_param");
}
