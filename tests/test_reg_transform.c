/* regularizers: the transforms. Forward values against independent index
 * arithmetic (windows in every boundary mode, an exact 90° rotation, linear
 * ramps resampled by zoom/rotation/shift), adjoint identities
 * ⟨A x, y⟩ = ⟨x, Aᵀ y⟩ computed in double for each transform and for the
 * composite, and determinism of the random draws. */
#include "check.h"
#include "regularizers/regularizers.h"

#include <stdlib.h>

static float *random_floats(rng *r, size_t n)
{
    float *v = malloc(n * sizeof *v);
    REQUIRE(v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(2 * rng_uniform(r) - 1);
    return v;
}

/* ⟨a, b⟩ and Σ|a·b| in double. */
static double dot(const float *a, const float *b, size_t n, double *magnitude)
{
    double s = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        s += (double)a[i] * b[i];
        m += fabs((double)a[i] * b[i]);
    }
    *magnitude = m;
    return s;
}

/* One linear map from n_in to n_out floats, as forward and adjoint calls. */
typedef struct {
    int kind; /* 0 window, 1 similarity, 2 composite */
    int C, H, W, Ho, Wo, oy, ox;
    double dy, dx, scale, radians;
    reg_boundary b;
    reg_transform *t;
} linear_map;

static void map_forward(const linear_map *m, const float *x, float *y)
{
    if (m->kind == 0)
        reg_window(x, m->C, m->H, m->W, m->oy, m->ox, m->Ho, m->Wo, m->b, NULL, y);
    else if (m->kind == 1)
        reg_similarity(x, m->C, m->H, m->W, m->dy, m->dx, m->scale, m->radians, m->Ho, m->Wo, m->b, NULL, y);
    else
        reg_transform_forward(m->t, x, y);
}

static void map_adjoint(const linear_map *m, const float *gy, float *gx)
{
    if (m->kind == 0)
        reg_window_adjoint(gy, m->C, m->H, m->W, m->oy, m->ox, m->Ho, m->Wo, m->b, gx);
    else if (m->kind == 1)
        reg_similarity_adjoint(gy, m->C, m->H, m->W, m->dy, m->dx, m->scale, m->radians, m->Ho, m->Wo,
                               m->b, gx);
    else
        reg_transform_adjoint(m->t, gy, gx);
}

/* ⟨A x, y⟩ = ⟨x, Aᵀ y⟩ for random x, y; with CONSTANT boundaries A is
 * affine, and A x − A 0 is its linear part. */
static void check_adjoint(const char *what, const linear_map *m, rng *r)
{
    size_t n_in = (size_t)m->C * m->H * m->W, n_out = (size_t)m->C * m->Ho * m->Wo;
    float *x = random_floats(r, n_in), *y = random_floats(r, n_out);
    float *ax = malloc(n_out * sizeof *ax), *a0 = malloc(n_out * sizeof *a0), *aty = malloc(n_in * sizeof *aty);
    float *zero = calloc(n_in, sizeof *zero);
    REQUIRE(ax && a0 && aty && zero);
    map_forward(m, x, ax);
    map_forward(m, zero, a0);
    for (size_t i = 0; i < n_out; i++)
        ax[i] -= a0[i];
    for (size_t i = 0; i < n_in; i++) /* the adjoint must overwrite, not add */
        aty[i] = 1e3f;
    map_adjoint(m, y, aty);
    double m1, m2, lhs = dot(ax, y, n_out, &m1), rhs = dot(x, aty, n_in, &m2);
    double tol = 1e-6 * (m1 + m2) + 1e-12;
    if (!(fabs(lhs - rhs) <= tol))
        fprintf(stderr, "%s: <Ax,y> = %.10g, <x,A'y> = %.10g\n", what, lhs, rhs);
    CHECK(fabs(lhs - rhs) <= tol);
    CHECK(m1 > 0 || m->b == REG_BOUNDARY_CONSTANT); /* not zero (unless all outside) */
    free(x), free(y), free(ax), free(a0), free(aty), free(zero);
}

static const char *mode_name[] = {"reflect", "edge", "constant", "wrap"};

/* X[i] of a row of n continued by mode b, written from the definitions. */
static int continued(int i, int n, reg_boundary b)
{
    if (i >= 0 && i < n)
        return i;
    switch (b) {
    case REG_BOUNDARY_REFLECT:
        while (i < 0 || i >= n)
            i = i < 0 ? -1 - i : 2 * n - 1 - i;
        return i;
    case REG_BOUNDARY_EDGE:
        return i < 0 ? 0 : n - 1;
    case REG_BOUNDARY_WRAP:
        return ((i % n) + n) % n;
    default:
        return -1;
    }
}

static void test_windows(void)
{
    rng r;
    rng_seed(&r, 11);
    const int C = 2, H = 5, W = 7;
    /* pad 3, shift (2, −4), roll (−6, 9), crop, and shifts beyond the image. */
    const int cases[][4] = {{-3, -3, H + 6, W + 6}, {-2, 4, H, W}, {6, -9, H, W},
                            {1, 2, 3, 4},           {-20, 30, H, W}, {4, -12, 9, 8}};
    const float fill[2] = {0.25f, -2.0f};
    float *x = random_floats(&r, (size_t)C * H * W), y[2 * 16 * 16];
    for (int b = 0; b <= REG_BOUNDARY_WRAP; b++)
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
            linear_map m = {.kind = 0, .C = C, .H = H, .W = W, .oy = cases[k][0], .ox = cases[k][1],
                            .Ho = cases[k][2], .Wo = cases[k][3], .b = (reg_boundary)b};
            char what[64];
            snprintf(what, sizeof what, "window %s case %zu", mode_name[b], k);
            check_adjoint(what, &m, &r);
            reg_window(x, C, H, W, m.oy, m.ox, m.Ho, m.Wo, m.b, fill, y);
            int wrong = 0;
            for (int c = 0; c < C; c++)
                for (int i = 0; i < m.Ho; i++)
                    for (int j = 0; j < m.Wo; j++) {
                        int u = continued(i + m.oy, H, m.b), v = continued(j + m.ox, W, m.b);
                        float expect = u < 0 || v < 0 ? fill[c] : x[((size_t)c * H + u) * W + v];
                        wrong += y[((size_t)c * m.Ho + i) * m.Wo + j] != expect;
                    }
            if (wrong)
                fprintf(stderr, "%s: %d wrong values\n", what, wrong);
            CHECK(wrong == 0);
        }
    free(x);
}

static void test_similarity(void)
{
    rng r;
    rng_seed(&r, 12);
    /* Adjoints: zoom in and out, rotations, shifts, other output sizes. */
    const double params[][4] = {{0, 0, 1.3, 0}, {0, 0, 0.8, 0}, {0, 0, 1, 0.4}, {1.5, -2.25, 1.1, -0.7},
                                {0, 0, 1, M_PI / 2}, {30, 0, 0.5, 3.0}};
    const int C = 3, H = 9, W = 12;
    for (int b = 0; b <= REG_BOUNDARY_WRAP; b++)
        for (size_t k = 0; k < sizeof params / sizeof *params; k++) {
            linear_map m = {.kind = 1, .C = C, .H = H, .W = W, .Ho = H + 2 * (int)(k % 3), .Wo = W + (int)k,
                            .dy = params[k][0], .dx = params[k][1], .scale = params[k][2],
                            .radians = params[k][3], .b = (reg_boundary)b};
            char what[64];
            snprintf(what, sizeof what, "similarity %s case %zu", mode_name[b], k);
            check_adjoint(what, &m, &r);
        }

    /* 90° counter-clockwise on an odd square is a permutation:
     * y[i][j] = x[j][N − 1 − i] (the top-right corner goes to the top left). */
    enum { N = 7 };
    float *x = random_floats(&r, N * N), y[N * N];
    reg_similarity(x, 1, N, N, 0, 0, 1.0, M_PI / 2, N, N, REG_BOUNDARY_CONSTANT, NULL, y);
    double worst = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            worst = fmax(worst, fabs(y[i * N + j] - x[j * N + (N - 1 - i)]));
    CHECK(worst < 1e-6);
    free(x);

    /* Bilinear sampling reproduces a linear ramp x[r][s] = 0.3 r − 0.7 s + 2
     * exactly where all taps are inside: the value at output (i, j) is the
     * ramp at the documented source point (u, v). */
    enum { RH = 40, RW = 50, OH = 36, OW = 44 };
    float *ramp = malloc(RH * RW * sizeof *ramp), *out = malloc(OH * OW * sizeof *out);
    REQUIRE(ramp && out);
    for (int i = 0; i < RH; i++)
        for (int j = 0; j < RW; j++)
            ramp[i * RW + j] = 0.3f * i - 0.7f * j + 2.0f;
    const double dy = -1.75, dx = 2.5, scale = 1.15, th = 0.3;
    reg_similarity(ramp, 1, RH, RW, dy, dx, scale, th, OH, OW, REG_BOUNDARY_CONSTANT, NULL, out);
    worst = 0;
    int checked = 0;
    for (int i = 0; i < OH; i++)
        for (int j = 0; j < OW; j++) {
            double a = i - (OH - 1) / 2.0, b = j - (OW - 1) / 2.0;
            double u = (RH - 1) / 2.0 + (a * cos(th) + b * sin(th)) / scale - dy;
            double v = (RW - 1) / 2.0 + (b * cos(th) - a * sin(th)) / scale - dx;
            if (u < 0 || v < 0 || u > RH - 1 || v > RW - 1)
                continue;
            checked++;
            worst = fmax(worst, fabs(out[i * OW + j] - (0.3 * u - 0.7 * v + 2.0)));
        }
    CHECK(checked > OH * OW / 2);
    CHECK(worst < 1e-4);
    free(ramp);
    free(out);
}

static void test_composite(void)
{
    rng r;
    rng_seed(&r, 13);
    const int C = 3, H = 10, W = 13;
    const float fill[3] = {0.5f, 0.25f, -1.0f};
    for (int b = 0; b <= REG_BOUNDARY_WRAP; b++) {
        reg_transform_options o = {.pad = 3, .jitter = 4, .scale_jitter = 0.2, .rotate_jitter = 15,
                                   .boundary = (reg_boundary)b};
        reg_transform *t;
        REQUIRE(reg_transform_create(&o, C, H, W, fill, &t) == ST_OK);
        int Ho, Wo;
        reg_transform_size(t, &Ho, &Wo);
        CHECK(Ho == H + 6 && Wo == W + 6);
        linear_map m = {.kind = 2, .C = C, .H = H, .W = W, .Ho = Ho, .Wo = Wo, .t = t};
        for (int k = 0; k < 5; k++) {
            reg_transform_draw(t, &r);
            reg_transform_draw_params p = reg_transform_params(t);
            CHECK(abs(p.dy) <= 4 && abs(p.dx) <= 4 && fabs(p.scale - 1) <= 0.2 &&
                  fabs(p.radians) <= 15 * M_PI / 180);
            char what[64];
            snprintf(what, sizeof what, "composite %s draw %d", mode_name[b], k);
            check_adjoint(what, &m, &r);
            /* The composite is the one similarity of the padded frame. */
            size_t n_in = (size_t)C * H * W, n_out = (size_t)C * Ho * Wo;
            float *x = random_floats(&r, n_in), *y1 = malloc(n_out * sizeof *y1), *y2 = malloc(n_out * sizeof *y2);
            REQUIRE(y1 && y2);
            reg_transform_forward(t, x, y1);
            reg_similarity(x, C, H, W, p.dy, p.dx, p.scale, p.radians, Ho, Wo, o.boundary, fill, y2);
            CHECK(memcmp(y1, y2, n_out * sizeof *y1) == 0);
            free(x), free(y1), free(y2);
        }
        /* Integer shifts alone: a window (exact copies), circular under WRAP. */
        reg_transform_set(t, (reg_transform_draw_params){.dy = 2, .dx = -3, .scale = 1.0});
        check_adjoint("composite shift", &m, &r);
        float *x = random_floats(&r, (size_t)C * H * W), *y = malloc((size_t)C * Ho * Wo * sizeof *y);
        REQUIRE(y);
        reg_transform_forward(t, x, y);
        /* y[c, i, j] = X[c, i − 3 − 2, j − 3 + 3] */
        int wrong = 0;
        for (int c = 0; c < C; c++)
            for (int i = 0; i < Ho; i++)
                for (int j = 0; j < Wo; j++) {
                    int u = continued(i - 5, H, o.boundary), v = continued(j, W, o.boundary);
                    float expect = u < 0 || v < 0 ? fill[c] : x[((size_t)c * H + u) * W + v];
                    wrong += y[((size_t)c * Ho + i) * Wo + j] != expect;
                }
        CHECK(wrong == 0);
        free(x), free(y);
        reg_transform_free(t);
    }

    /* Everything off: forward and adjoint are copies. */
    reg_transform_options off = {0};
    reg_transform *t;
    REQUIRE(reg_transform_create(&off, C, H, W, NULL, &t) == ST_OK);
    reg_transform_draw(t, &r);
    float *x = random_floats(&r, (size_t)C * H * W), *y = malloc((size_t)C * H * W * sizeof *y);
    REQUIRE(y);
    reg_transform_forward(t, x, y);
    CHECK(memcmp(x, y, (size_t)C * H * W * sizeof *x) == 0);
    reg_transform_adjoint(t, x, y);
    CHECK(memcmp(x, y, (size_t)C * H * W * sizeof *x) == 0);
    free(x), free(y);
    reg_transform_free(t);

    reg_transform_options bad = {.scale_jitter = 2};
    CHECK_FAILS_WITH(reg_transform_create(&bad, C, H, W, NULL, &t), "scale jitter");
}

static void test_determinism(void)
{
    reg_transform_options o = {.pad = 2, .jitter = 8, .scale_jitter = 0.1, .rotate_jitter = 10,
                               .boundary = REG_BOUNDARY_WRAP};
    reg_transform *a, *b;
    REQUIRE(reg_transform_create(&o, 3, 20, 20, NULL, &a) == ST_OK);
    REQUIRE(reg_transform_create(&o, 3, 20, 20, NULL, &b) == ST_OK);
    rng ra, rb;
    rng_seed(&ra, 99);
    rng_seed(&rb, 99);
    int same = 1, varied = 0;
    reg_transform_draw_params first = {0};
    for (int k = 0; k < 50; k++) {
        reg_transform_draw(a, &ra);
        reg_transform_draw(b, &rb);
        reg_transform_draw_params pa = reg_transform_params(a), pb = reg_transform_params(b);
        same &= memcmp(&pa, &pb, sizeof pa) == 0;
        if (k == 0)
            first = pa;
        varied |= pa.dy != first.dy || pa.scale != first.scale;
    }
    CHECK(same && varied);
    rng_seed(&rb, 100);
    reg_transform_draw(b, &rb);
    rng_seed(&ra, 99);
    reg_transform_draw(a, &ra);
    reg_transform_draw_params pa = reg_transform_params(a), pb = reg_transform_params(b);
    CHECK(memcmp(&pa, &pb, sizeof pa) != 0);
    reg_transform_free(a);
    reg_transform_free(b);
}

int main(void)
{
    test_windows();
    test_similarity();
    test_composite();
    test_determinism();
    return check_report("test_reg_transform");
}
