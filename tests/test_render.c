/* The render loops: every loss's gradient by finite differences through a
 * small smooth network, end to end from the params (pixels or Fourier
 * coefficients with decorrelation and a sigmoid) through the transform, the
 * windows and the preprocessing; the tiled gradient equals the untiled one
 * away from cell borders for each kind of term (also with circular pads, the
 * windows wrapping), and what windows cannot compute is refused tiled; a tiled dream shows no seam where stitching
 * separately dreamed tiles does; short runs whose objective falls by a
 * stated factor; the same seed gives the same image; errors.
 *
 * tests/data/render/smooth.onnx (scripts/make_render_test_model.py) is
 * conv–tanh–avgpool ×2, conv–tanh, global pool, a linear layer: smooth, so
 * central differences agree with the gradient to float rounding. */
#include "render_check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


static net_model *open_smooth(void)
{
    net_model *m = NULL;
    REQUIRE(net_model_open(SMOOTH_MODEL, &m) == ST_OK);
    /* A preprocessing that is not the identity (BGR, 0..255, mean and std),
     * so its adjoint is part of every gradient checked. */
    net_preprocess p = {255.0f, {100.0f, 120.0f, 110.0f}, {60.0f, 55.0f, 50.0f}, true};
    net_model_set_preprocess(m, &p);
    return m;
}

/* ---- finite differences --------------------------------------------------------- */

/* The largest relative error, over three directions v, between ⟨∇f, v⟩
 * (∇f as the engine computes it, times `fudge`) and the 5-point central
 * difference (8(f(h) − f(−h)) − (f(2h) − f(−2h))) / 12h at the engine's
 * current params. Directions: ∇f/‖∇f‖ (so ⟨∇f, v⟩ = ‖∇f‖ and any error of
 * scale shows), then two random unit vectors; the error is relative to
 * max(|⟨∇f, v⟩|, ‖∇f‖/√n), the typical size of a random projection. */
static double fd_error(render_engine *e, uint64_t seed, double fudge)
{
    size_t n = render_engine_param_count(e);
    float *x = render_engine_params(e);
    float *g = alloc_array(n, sizeof *g, "test"), *y = alloc_array(n, sizeof *y, "test");
    float *scratch = alloc_array(n, sizeof *scratch, "test"), *v = alloc_array(n, sizeof *v, "test");
    REQUIRE(g && y && scratch && v);
    double f0, worst = 0;
    REQUIRE(render_engine_evaluate(e, x, g, &f0) == ST_OK);
    double gnorm = 0;
    for (size_t i = 0; i < n; i++) {
        g[i] = (float)(g[i] * fudge);
        gnorm += (double)g[i] * g[i];
    }
    gnorm = sqrt(gnorm);
    REQUIRE(gnorm > 0);
    rng r;
    rng_seed(&r, seed);
    const double h = 0.02;
    for (int d = 0; d < 3; d++) {
        double vn = 0, gv = 0;
        for (size_t i = 0; i < n; i++) {
            v[i] = d == 0 ? g[i] : (float)rng_normal(&r);
            vn += (double)v[i] * v[i];
        }
        vn = sqrt(vn);
        for (size_t i = 0; i < n; i++) {
            v[i] = (float)(v[i] / vn);
            gv += (double)g[i] * v[i];
        }
        double fs[4];
        const double steps[4] = {h, -h, 2 * h, -2 * h};
        for (int k = 0; k < 4; k++) {
            for (size_t i = 0; i < n; i++)
                y[i] = (float)(x[i] + steps[k] * v[i]);
            REQUIRE(render_engine_evaluate(e, y, scratch, &fs[k]) == ST_OK);
        }
        double fd = (8 * (fs[0] - fs[1]) - (fs[2] - fs[3])) / (12 * h);
        worst = fmax(worst, fabs(fd - gv) / fmax(fabs(gv), gnorm / sqrt((double)n)));
    }
    free(g);
    free(y);
    free(scratch);
    free(v);
    return worst;
}

typedef struct {
    loss_kind kind;
    const char *layer;
    int channel;
    bool spatial; /* has a receptive field: can be tiled */
} term_case;

static const term_case cases[] = {
    {LOSS_CLASS, "logits", 3, false},  {LOSS_LOGPROB, "logits", 7, false},
    {LOSS_NEURON, "act3", 5, true},    {LOSS_CHANNEL, "act2", 2, true},
    {LOSS_INVERT, "act3", 0, true},    {LOSS_CONTENT, "act2", 0, true},
    {LOSS_STYLE, "act2", 0, true},     {LOSS_DREAM, "act2", 0, true},
    {LOSS_GUIDE, "act3", 0, true},
};

/* Sets whatever target the objective's terms need from `target`. */
static void set_targets(render_engine *e, objective *o, const image *target)
{
    for (int t = 0; t < objective_term_count(o); t++) {
        loss_kind k = objective_term_kind(o, t);
        if (k == LOSS_CONTENT || k == LOSS_INVERT)
            REQUIRE(render_engine_set_target_image(e, target) == ST_OK);
        if (k == LOSS_GUIDE) {
            /* One guide position (4×4 pixels → act3 1×1): Σ_p max_q a_p·g_q
             * has no argmax to switch, so differences stay exact (the loss
             * itself is checked in test_loss). */
            image guide = {0};
            random_image(&guide, 4, 4, 13, 0, 1);
            REQUIRE(render_engine_set_guide(e, &guide) == ST_OK);
            image_free(&guide);
        }
        if (k == LOSS_STYLE) {
            int nt = objective_term_count(o);
            float **grams = alloc_array((size_t)nt, sizeof *grams, "test");
            int *channels = alloc_array((size_t)nt, sizeof *channels, "test");
            REQUIRE(grams && channels && render_engine_grams(e, target, grams, channels) == ST_OK);
            const float *g = grams[t];
            REQUIRE(objective_set_style(o, t, 1, &g, (double[]){1}, channels[t]) == ST_OK);
            for (int i = 0; i < nt; i++)
                free(grams[i]);
            free(grams);
            free(channels);
        }
    }
}

typedef enum { SETUP_PIXEL, SETUP_FOURIER_TRANSFORMS, SETUP_TILED } setup;

/* Builds an engine for `terms` (count of them) in one of three setups and
 * returns the worst finite-difference error. */
static double gradient_error(net_model *m, const term_case *terms, int count, setup s, double fudge)
{
    objective *o = NULL;
    REQUIRE(objective_create(&o) == ST_OK);
    for (int i = 0; i < count; i++) {
        loss_term t = {.kind = terms[i].kind, .layer = terms[i].layer, .weight = 1.0 + i,
                       .channel = terms[i].channel, .x = -1, .y = -1};
        REQUIRE(objective_add(o, &t) == ST_OK);
    }
    reg_options r;
    reg_options_default(&r);
    if (s == SETUP_FOURIER_TRANSFORMS) {
        r.param = REG_PARAM_FOURIER;
        r.decorrelate = true;
        r.pad = 3;
        r.jitter = 2;
        r.scale_jitter = 0.1;
        r.rotate_jitter = 10;
        r.tv_weight = 0.01;
        r.l2 = 0.05;
    }
    render_engine_config c = {.model = m, .obj = o, .reg = &r, .optim = optim_defaults(OPTIM_ADAM),
                              .tile = s == SETUP_TILED ? 16 : 0, .seed = 5};
    render_engine *e = NULL;
    REQUIRE(render_engine_create(&c, &e) == ST_OK);
    image start = {0}, target = {0};
    random_image(&start, 40, 28, 11, 0.2, 0.8);
    random_image(&target, 40, 28, 12, 0, 1);
    REQUIRE(render_engine_begin(e, 40, 28, s == SETUP_FOURIER_TRANSFORMS ? NULL : &start) == ST_OK);
    if (s == SETUP_FOURIER_TRANSFORMS) {
        /* Params of a visible image, not the near-constant initial ones. */
        REQUIRE(render_engine_begin(e, 40, 28, &start) == ST_OK);
        reg_transform_set(reg_context_transform(render_engine_reg(e)),
                          (reg_transform_draw_params){.dy = 2, .dx = -1, .scale = 1.07, .radians = 0.12});
    }
    if (s == SETUP_TILED) {
        int wh, ww, margin;
        render_engine_windows(e, &wh, &ww, &margin);
        REQUIRE(wh == 16 && ww == 16 && margin > 0); /* several cells each way */
        render_engine_set_grid(e, 4, 8);
    }
    set_targets(e, o, &target);
    double err = fd_error(e, 99, fudge);
    render_engine_free(e);
    objective_free(o);
    image_free(&start);
    image_free(&target);
    return err;
}

static void test_gradients(void)
{
    net_model *m = open_smooth();
    int n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++)
        for (int s = SETUP_PIXEL; s <= SETUP_TILED; s++) {
            if (s == SETUP_TILED && !cases[i].spatial)
                continue;
            double err = gradient_error(m, &cases[i], 1, (setup)s, 1.0);
            if (!(err < 2e-3))
                fprintf(stderr, "%s:%s setup %d: finite-difference error %.3g\n",
                        loss_kind_name(cases[i].kind), cases[i].layer, s, err);
            CHECK(err < 2e-3);
        }
    /* Several terms on shared and distinct layers, with different weights. */
    const term_case mix[] = {{LOSS_CONTENT, "act3", 0, true}, {LOSS_STYLE, "act2", 0, true},
                             {LOSS_STYLE, "act3", 0, true}, {LOSS_DREAM, "act2", 0, true}};
    for (int s = SETUP_PIXEL; s <= SETUP_TILED; s++)
        CHECK(gradient_error(m, mix, 4, (setup)s, 1.0) < 2e-3);
    /* The check has teeth: a gradient 1% off fails it. */
    for (int s = SETUP_PIXEL; s <= SETUP_TILED; s++)
        CHECK(gradient_error(m, mix, 4, (setup)s, 1.01) > 2e-3);
    net_model_close(m);
}

/* ---- tiles ----------------------------------------------------------------------- */

/* A term checked tiled against untiled: the grid origin (oy, ox) keeps a
 * NEURON unit away from cell borders; `unit_far`: the untiled gradient's
 * largest value lies far from them, and the values must agree too (a unit
 * far from borders sees the same context in its window); `invert`: the
 * term gets a target image. */
typedef struct {
    loss_term term;
    int oy, ox;
    bool unit_far, invert;
} tiled_case;

/* The gradient of the term on act3 with 64-pixel windows equals the untiled
 * one at pixels farther than the receptive field from every interior cell
 * border; near borders it differs (the windows are really used) for terms
 * on every position. With circular pads (tileable textures) the windows
 * wrap around the image: the same holds with the wrap seam at 0 = W as one
 * more border and distances measured around the torus. */
static void check_tiled_equals_untiled(const tiled_case *tc, bool circular)
{
    net_model *m = open_smooth();
    objective *o = NULL;
    REQUIRE(objective_create(&o) == ST_OK);
    REQUIRE(objective_add(o, &tc->term) == ST_OK);
    int layer;
    net_receptive_field rf;
    REQUIRE(net_layer_find(m, "act3", &layer) == ST_OK && net_layer_receptive_field(m, layer, &rf) == ST_OK);
    /* By hand: conv 3 → pool 4 (stride 2, centre 0.5) → conv 8 → pool 10
     * (stride 4, centre 1.5) → conv 18. Free input sizes must not hide it. */
    CHECK(rf.size[0] == 18 && rf.size[1] == 18 && rf.stride[0] == 4 && rf.offset[0] == 1.5);
    const int W = 160, H = 128, L[2] = {W, H}, origin[2] = {tc->ox, tc->oy};
    image start = {0}, target = {0};
    random_image(&start, W, H, 21, 0, 1);
    random_image(&target, W, H, 22, 0, 1);
    reg_options r;
    reg_options_default(&r);
    float *grads[2];
    double f[2] = {0, 0};
    int borders[2][16], nb[2] = {0, 0}, margin = 0;
    bool ok = true;
    for (int tiled = 0; tiled < 2; tiled++) {
        render_engine_config c = {.model = m, .obj = o, .reg = &r, .optim = optim_defaults(OPTIM_ADAM),
                                  .tile = tiled ? 64 : 0, .circular_padding = circular, .seed = 1};
        render_engine *e = NULL;
        REQUIRE(render_engine_create(&c, &e) == ST_OK && render_engine_begin(e, W, H, &start) == ST_OK);
        if (tc->invert)
            REQUIRE(render_engine_set_target_image(e, &target) == ST_OK);
        int wh, ww;
        render_engine_windows(e, &wh, &ww, &margin);
        render_engine_set_grid(e, tc->oy, tc->ox);
        size_t n = render_engine_param_count(e);
        REQUIRE((grads[tiled] = alloc_array(n, sizeof(float), "test")));
        status st = render_engine_evaluate(e, render_engine_params(e), grads[tiled], &f[tiled]);
        if (st != ST_OK)
            fprintf(stderr, "%s: %s\n", tiled ? "tiled" : "untiled", error_message());
        ok = ok && st == ST_OK;
        render_engine_free(e);
        if (tiled) {
            /* Interior cell borders of the grid at the origin with cores of
             * 64 − 2·margin: o, o + core, ... (and the wrap seam, 0). */
            int core = 64 - 2 * margin;
            for (int a = 0; a < 2; a++) {
                if (circular)
                    borders[a][nb[a]++] = 0;
                for (int b = origin[a]; b < L[a]; b += core)
                    borders[a][nb[a]++] = b;
            }
        }
    }
    double far = 0, near = 0, gmax = 0, far_gmax = 0;
    size_t far_count = 0;
    for (int c = 0; ok && c < 3; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                size_t i = ((size_t)c * H + y) * W + x;
                int dist = 1 << 30, pos[2] = {x, y};
                for (int a = 0; a < 2; a++)
                    for (int k = 0; k < nb[a]; k++) {
                        int d = abs(pos[a] - borders[a][k]);
                        if (circular && L[a] - d < d)
                            d = L[a] - d; /* around the torus */
                        dist = d < dist ? d : dist;
                    }
                double d = fabs((double)grads[0][i] - grads[1][i]);
                gmax = fmax(gmax, fabs(grads[0][i]));
                if (dist > rf.size[0] && dist > rf.size[1]) {
                    far = fmax(far, d);
                    far_gmax = fmax(far_gmax, fabs(grads[0][i]));
                    far_count++;
                } else {
                    near = fmax(near, d);
                }
            }
    fprintf(stderr, "%s%s: value %.6g untiled, %.6g tiled; gradient far %.3g, near %.3g (max |g| %.3g), "
            "%zu far values\n", loss_kind_name(tc->term.kind), circular ? " (wrapped)" : "", f[0], f[1],
            far, near, gmax, far_count);
    CHECK(ok && far_count > 1000);
    CHECK(gmax > 0 && far <= 1e-5 * gmax);
    if (tc->unit_far) {
        CHECK(far_gmax == gmax);
        CHECK_NEAR(f[1], f[0], 1e-4 * fabs(f[0]));
    } else {
        CHECK(near > 1e-3 * gmax);
    }
    free(grads[0]);
    free(grads[1]);
    image_free(&start);
    image_free(&target);
    objective_free(o);
    net_model_close(m);
}

/* Tiled, a term that a window cannot compute as the whole image would is
 * refused when the octave begins, naming it; untiled, and with windows as
 * large as the image, it runs. */
static void check_tiled_refused(const loss_term *term, const char *named)
{
    net_model *m = open_smooth();
    objective *o = NULL;
    REQUIRE(objective_create(&o) == ST_OK && objective_add(o, term) == ST_OK);
    reg_options r;
    reg_options_default(&r);
    image start = {0};
    random_image(&start, 160, 128, 21, 0, 1);
    const int tiles[3] = {64, 0, 160};
    for (int k = 0; k < 3; k++) {
        render_engine_config c = {.model = m, .obj = o, .reg = &r, .optim = optim_defaults(OPTIM_ADAM),
                                  .tile = tiles[k], .seed = 1};
        render_engine *e = NULL;
        REQUIRE(render_engine_create(&c, &e) == ST_OK);
        status st = render_engine_begin(e, 160, 128, &start);
        if (tiles[k] == 64) {
            CHECK(st == ST_ERROR);
            CHECK(strstr(error_message(), "--tile") && strstr(error_message(), named));
            fprintf(stderr, "refused: %s\n", error_message());
        } else {
            CHECK_OK(st);
            size_t n = render_engine_param_count(e);
            float *g = alloc_array(n, sizeof(float), "test");
            double f = 0;
            REQUIRE(g);
            CHECK_OK(render_engine_evaluate(e, render_engine_params(e), g, &f));
            CHECK(isfinite(f) && f != 0);
            free(g);
        }
        render_engine_free(e);
    }
    image_free(&start);
    objective_free(o);
    net_model_close(m);
}

static void test_tiled_equals_untiled(void)
{
    /* act3 of the 160×128 image is 16×40×32: its centre (20, 16) is the
     * pixel (81.5, 65.5), 26 or more pixels from the lines of a grid at
     * (36, 48) with 56-pixel cores; (8, 24) is (33.5, 97.5), as far from a
     * grid at (8, 8). */
    const tiled_case cases[] = {
        {{.kind = LOSS_DREAM, .layer = "act3", .weight = 1}, 8, 8, false, false},
        {{.kind = LOSS_CHANNEL, .layer = "act3", .weight = 1, .channel = 5}, 8, 8, false, false},
        {{.kind = LOSS_CLASS, .layer = "act3", .weight = 1, .channel = 2}, 8, 8, false, false},
        {{.kind = LOSS_INVERT, .layer = "act3", .weight = 1}, 8, 8, false, true},
        {{.kind = LOSS_NEURON, .layer = "act3", .weight = 1, .channel = 3, .x = -1, .y = -1}, 36, 48, true, false},
        {{.kind = LOSS_NEURON, .layer = "act3", .weight = 1, .channel = 3, .x = 8, .y = 24}, 8, 8, true, false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        check_tiled_equals_untiled(&cases[k], false);
        check_tiled_equals_untiled(&cases[k], true);
    }
    check_tiled_refused(&(loss_term){.kind = LOSS_CLASS, .layer = "logits", .weight = 1, .channel = 2},
                        "'logits'");
    check_tiled_refused(&(loss_term){.kind = LOSS_LOGPROB, .layer = "act3", .weight = 1, .channel = 2},
                        "logprob:act3");
}

/* Mean |Δ| across the given vertical and horizontal lines, divided by the
 * mean across all lines. */
static double seam_ratio(const image *im, const int *xs, int nx, const int *ys, int ny)
{
    int W = im->width, H = im->height;
    size_t plane = (size_t)W * H;
    double at = 0, all = 0;
    int nat = 0, nall = 0;
    for (int x = 1; x < W; x++) {
        double s = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < H; y++)
                s += fabs(im->data[c * plane + (size_t)y * W + x] - im->data[c * plane + (size_t)y * W + x - 1]);
        s /= 3.0 * H;
        all += s, nall++;
        for (int k = 0; k < nx; k++)
            if (xs[k] == x)
                at += s, nat++;
    }
    for (int y = 1; y < H; y++) {
        double s = 0;
        for (int c = 0; c < 3; c++)
            for (int x = 0; x < W; x++)
                s += fabs(im->data[c * plane + (size_t)y * W + x] - im->data[c * plane + (size_t)(y - 1) * W + x]);
        s /= 3.0 * W;
        all += s, nall++;
        for (int k = 0; k < ny; k++)
            if (ys[k] == y)
                at += s, nat++;
    }
    return (at / nat) / (all / nall);
}

/* DeepDream steps on the built-in network at relu3_1 over a 160×120 image in
 * 64-pixel windows: across the lines of a fixed 56-pixel grid the result
 * changes as much as anywhere (ratio within 25% of 1). The control, each
 * 56-pixel block dreamed on its own and stitched, shows seams by the same
 * measure. */
static void test_no_seams(void)
{
    net_model *m = NULL;
    REQUIRE(net_model_open("default", &m) == ST_OK);
    objective *o = NULL;
    REQUIRE(objective_create(&o) == ST_OK);
    REQUIRE(objective_add(o, &(loss_term){.kind = LOSS_DREAM, .layer = "relu3_1", .weight = 1}) == ST_OK);
    reg_options r;
    reg_options_default(&r);
    r.clamp = true;
    optim_params op = optim_defaults(OPTIM_NORMALIZED);
    op.lr = 3.0 / 255;
    const int W = 160, H = 120, iters = 10, B = 56;
    image start = {0};
    random_image(&start, W, H, 4, 0.3, 0.7);
    /* smooth it: a blurred start makes any seam stand out */
    image smooth = {0};
    REQUIRE(image_resize(&start, W / 8, H / 8, IMAGE_RESAMPLE_AREA, &smooth) == ST_OK);
    image_free(&start);
    REQUIRE(image_resize(&smooth, W, H, IMAGE_RESAMPLE_BICUBIC, &start) == ST_OK);
    int xs[] = {56, 112}, ys[] = {56, 112};

    render_engine_config c = {.model = m, .obj = o, .reg = &r, .optim = op, .tile = 64, .seed = 3};
    render_engine *e = NULL;
    REQUIRE(render_engine_create(&c, &e) == ST_OK && render_engine_begin(e, W, H, &start) == ST_OK);
    for (int i = 0; i < iters; i++) {
        double f;
        REQUIRE(render_engine_step(e, i, &f) == ST_OK);
    }
    image tiled = {0};
    REQUIRE(render_engine_image(e, &tiled) == ST_OK);
    render_engine_free(e);
    double ratio = seam_ratio(&tiled, xs, 2, ys, 1);
    CHECK(ratio > 0.8 && ratio < 1.25);

    /* The control: blocks dreamed separately. */
    c.tile = 0;
    REQUIRE(render_engine_create(&c, &e) == ST_OK);
    image stitched = {0};
    REQUIRE(image_copy(&start, &stitched) == ST_OK);
    for (int y0 = 0; y0 < H; y0 += B)
        for (int x0 = 0; x0 < W; x0 += B) {
            int bw = x0 + B > W ? W - x0 : B, bh = y0 + B > H ? H - y0 : B;
            image block = {0};
            REQUIRE(image_alloc(&block, bw, bh, "test") == ST_OK);
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < bh; y++)
                    memcpy(block.data + ((size_t)ch * bh + y) * bw,
                           start.data + ((size_t)ch * H + y0 + y) * W + x0, (size_t)bw * sizeof(float));
            REQUIRE(render_engine_begin(e, bw, bh, &block) == ST_OK);
            for (int i = 0; i < iters; i++) {
                double f;
                REQUIRE(render_engine_step(e, i, &f) == ST_OK);
            }
            REQUIRE(render_engine_image(e, &block) == ST_OK);
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < bh; y++)
                    memcpy(stitched.data + ((size_t)ch * H + y0 + y) * W + x0,
                           block.data + ((size_t)ch * bh + y) * bw, (size_t)bw * sizeof(float));
            image_free(&block);
        }
    render_engine_free(e);
    double control = seam_ratio(&stitched, xs, 2, ys, 1);
    CHECK(control < 0.8 || control > 1.25);
    fprintf(stderr, "seams: tiled %.3f, stitched control %.3f (1 = no seam)\n", ratio, control);
    image_free(&tiled);
    image_free(&stitched);
    image_free(&start);
    image_free(&smooth);
    objective_free(o);
    net_model_close(m);
}

int main(void)
{
    test_gradients();
    test_tiled_equals_untiled();
    test_no_seams();
    return check_report("test_render");
}
