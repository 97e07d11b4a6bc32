/* regularizers: the options and the context. Defaults are all off (the
 * context then changes nothing); checks name the flag; the option specs parse
 * through presets/; reg_objective is L2 + TV; reg_step applies decay, blur,
 * clipping and clamping on pixels, also through a Fourier parameterization;
 * the same seed gives the same bytes. */
#include "check.h"
#include "presets/presets.h"
#include "regularizers/regularizers.h"

#include <stdlib.h>

typedef struct {
    int iters;
    reg_options reg;
} demo_options;

static const option_spec demo_specs[] = {
    {.name = "iters", .type = OPT_INT, .offset = offsetof(demo_options, iters), .min = 1, .max = 100, .help = "n"},
    REG_OPTION_SPECS(demo_options, reg),
};
static const option_table demo_table = {
    .command = "demo", .usage = "demo", .summary = "demo", .specs = demo_specs,
    .count = (int)(sizeof demo_specs / sizeof *demo_specs),
};

static void test_options(void)
{
    CHECK(demo_table.count == 1 + REG_OPTION_SPEC_COUNT);
    demo_options o = {.iters = 1};
    reg_options_default(&o.reg);
    CHECK_OK(reg_options_check(&o.reg));
    CHECK(o.reg.l2 == 0 && o.reg.decay == 0 && o.reg.blur_sigma == 0 && o.reg.tv_weight == 0 &&
          o.reg.jitter == 0 && o.reg.param == REG_PARAM_PIXEL && !o.reg.decorrelate && !o.reg.clamp);

    option_state st;
    REQUIRE(option_state_init(&st, &demo_table, &o) == ST_OK);
    const char *settings[][2] = {{"l2", "0.01"},        {"decay", "0.05"},        {"blur-sigma", "1.5"},
                                 {"blur-every", "4"},   {"clip-norm-pct", "10"},  {"clip-contrib-pct", "20"},
                                 {"tv-weight", "2"},    {"tv-beta", "1.5"},       {"jitter", "8"},
                                 {"scale-jitter", "0.1"}, {"rotate-jitter", "10"}, {"pad", "12"},
                                 {"boundary", "wrap"},  {"param", "fourier"},     {"decorrelate", "true"},
                                 {"clamp", "yes"},      {"fourier-decay", "1.2"}, {"param-std", "0.02"},
                                 {"sigmoid", "1"},      {"alpha-norm", "1e-8"},   {"alpha-norm-exp", "6"}};
    for (size_t k = 0; k < sizeof settings / sizeof *settings; k++) {
        const option_spec *spec = option_find(&demo_table, settings[k][0]);
        REQUIRE(spec);
        CHECK_OK(option_set(&st, spec, settings[k][1], settings[k][0], FROM_PRESET));
    }
    CHECK(o.reg.l2 == 0.01 && o.reg.decay == 0.05 && o.reg.blur_sigma == 1.5 && o.reg.blur_every == 4);
    CHECK(o.reg.clip_norm_pct == 10 && o.reg.clip_contrib_pct == 20 && o.reg.tv_weight == 2);
    CHECK(o.reg.tv_beta == 1.5 && o.reg.jitter == 8 && o.reg.scale_jitter == 0.1 && o.reg.rotate_jitter == 10);
    CHECK(o.reg.pad == 12 && o.reg.boundary == REG_BOUNDARY_WRAP && o.reg.param == REG_PARAM_FOURIER);
    CHECK(o.reg.decorrelate && o.reg.clamp && o.reg.sigmoid && o.reg.fourier_decay == 1.2 &&
          o.reg.param_std == 0.02 && o.reg.alpha_norm == 1e-8 && o.reg.alpha == 6);
    CHECK_OK(reg_options_check(&o.reg));
    CHECK_FAILS_WITH(option_set(&st, option_find(&demo_table, "tv-beta"), "0", "--tv-beta", FROM_COMMAND_LINE),
                     "--tv-beta");
    CHECK_FAILS_WITH(option_set(&st, option_find(&demo_table, "param"), "fft", "--param", FROM_COMMAND_LINE),
                     "--param");

    reg_options bad;
    reg_options_default(&bad);
    bad.tv_beta = 0;
    CHECK_FAILS_WITH(reg_options_check(&bad), "--tv-beta: must be in [0.1, 10], got 0");
    reg_options_default(&bad);
    bad.clip_norm_pct = NAN;
    CHECK_FAILS_WITH(reg_options_check(&bad), "--clip-norm-pct");
    reg_options_default(&bad);
    bad.blur_every = 0;
    CHECK_FAILS_WITH(reg_options_check(&bad), "--blur-every");
    reg_options_default(&bad);
    CHECK(bad.alpha == 6 && bad.alpha_norm == 0);
    bad.alpha = 0.5;
    CHECK_FAILS_WITH(reg_options_check(&bad), "--alpha-norm-exp: must be in [1, 20], got 0.5");
}

static float *random_image(rng *r, size_t n, float lo, float hi)
{
    float *x = malloc(n * sizeof *x);
    REQUIRE(x);
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)rng_uniform(r);
    return x;
}

static void test_context(void)
{
    enum { C = 3, H = 24, W = 20, N = C * H * W };
    rng r;
    rng_seed(&r, 31);
    reg_range range = reg_range_unit(C);
    float *x = random_image(&r, N, -0.2f, 1.2f), *y = malloc(N * sizeof *y), *grad = malloc(N * sizeof *grad);
    float *g2 = malloc(N * sizeof *g2);
    REQUIRE(y && grad && g2);

    /* All off: nothing changes. */
    reg_options o;
    reg_options_default(&o);
    reg_context *ctx;
    REQUIRE(reg_context_create(&o, C, H, W, &range, &ctx) == ST_OK);
    memcpy(y, x, sizeof(float) * N);
    memset(grad, 0, sizeof(float) * N);
    CHECK(reg_objective(ctx, y, grad) == 0.0);
    reg_step(ctx, 0, y, grad);
    CHECK(memcmp(x, y, sizeof(float) * N) == 0);
    CHECK(reg_param_is_identity(reg_context_param(ctx)));
    reg_context_free(ctx);

    /* The objective is L2 and the α-norm about the center, plus TV. */
    o.l2 = 0.3;
    o.alpha_norm = 0.05;
    o.alpha = 3.0;
    o.tv_weight = 0.7;
    o.tv_beta = 1.0;
    REQUIRE(reg_context_create(&o, C, H, W, &range, &ctx) == ST_OK);
    memset(grad, 0, sizeof(float) * N);
    memset(g2, 0, sizeof(float) * N);
    double value = reg_objective(ctx, x, grad);
    double expect = reg_l2(x, C, H, W, range.center, 0.3, g2) +
                    reg_alpha_norm(x, C, H, W, range.center, 3.0, 0.05, g2) + reg_tv(x, C, H, W, 1.0, 0.7, false, g2);
    CHECK_NEAR(value, expect, 1e-9 * expect);
    CHECK(memcmp(grad, g2, sizeof(float) * N) == 0);
    reg_context_free(ctx);

    /* The projections, in order, equal the separate calls. */
    reg_options_default(&o);
    o.decay = 0.1;
    o.blur_sigma = 1.0;
    o.blur_every = 2;
    o.clip_norm_pct = 10;
    o.clip_contrib_pct = 20;
    o.clamp = true;
    REQUIRE(reg_context_create(&o, C, H, W, &range, &ctx) == ST_OK);
    for (int i = 0; i < N; i++)
        grad[i] = (float)rng_normal(&r);
    for (long iter = 0; iter < 2; iter++) {
        memcpy(y, x, sizeof(float) * N);
        reg_step(ctx, iter, y, grad);
        memcpy(g2, x, sizeof(float) * N); /* g2: the expected image */
        reg_decay(g2, C, H, W, range.center, 0.1);
        if (iter % 2 == 0) {
            reg_blur *b;
            REQUIRE(reg_blur_create(H, W, &b) == ST_OK);
            CHECK_OK(reg_blur_apply(b, g2, C, 1.0, REG_BLUR_DIRECT));
            reg_blur_free(b);
        }
        float scratch[H * W];
        size_t zeroed = reg_clip_norm(g2, C, H, W, range.center, 10, scratch);
        CHECK(zeroed == H * W / 10);
        reg_clip_contrib(g2, grad, C, H, W, range.center, 20, scratch);
        reg_clamp(g2, C, H, W, range.lo, range.hi);
        CHECK(memcmp(y, g2, sizeof(float) * N) == 0);
    }
    reg_context_free(ctx);

    /* Through a Fourier parameterization: reg_step projects the image and
     * maps it back, so the params' image is clamped and shrunk towards grey. */
    reg_options_default(&o);
    o.param = REG_PARAM_FOURIER;
    o.decorrelate = true;
    o.decay = 0.5;
    o.jitter = 3;
    REQUIRE(reg_context_create(&o, C, H, W, &range, &ctx) == ST_OK);
    reg_param *p = reg_context_param(ctx);
    size_t count = reg_param_count(p);
    float *params = malloc(count * sizeof *params), *before = malloc(N * sizeof *before);
    REQUIRE(params && before);
    reg_param_init(p, params, &r, 0.5);
    reg_param_forward(p, params, before);
    reg_step(ctx, 0, params, NULL);
    reg_param_forward(p, params, y);
    double worst = 0;
    for (int i = 0; i < N; i++)
        worst = fmax(worst, fabs(y[i] - (0.5f * before[i] + 0.25f)));
    CHECK(worst < 1e-4);
    int Ho, Wo;
    reg_transform_size(reg_context_transform(ctx), &Ho, &Wo);
    CHECK(Ho == H && Wo == W);
    free(params), free(before);
    reg_context_free(ctx);

    range.channels = 2;
    CHECK_FAILS_WITH(reg_context_create(&o, C, H, W, &range, &ctx), "channels");
    free(x), free(y), free(grad), free(g2);
}

int main(void)
{
    test_options();
    test_context();
    return check_report("test_reg_context");
}
