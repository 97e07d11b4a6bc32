/* Losses and the objective: every gradient against central finite
 * differences of a double-precision reference written here from the
 * definition (independent of synth/'s float and BLAS code), values against
 * that reference and against hand-computed closed forms, the tiled Gram
 * against the untiled one, errors, determinism. */
#include "check.h"
#include "synth/synth.h"

#include <float.h>

/* ---- helpers --------------------------------------------------------------- */

static rng gen;

/* n values uniform in [-2, 2]. */
static float *random_floats(size_t n)
{
    float *a = alloc_array(n, sizeof *a, "test");
    REQUIRE(a);
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(4 * rng_uniform(&gen) - 2);
    return a;
}

static float *zeros(size_t n)
{
    float *a = alloc_array(n, sizeof *a, "test");
    REQUIRE(a);
    return a;
}

static double *to_double(const float *a, size_t n)
{
    double *d = alloc_array(n, sizeof *d, "test");
    REQUIRE(d);
    for (size_t i = 0; i < n; i++)
        d[i] = a[i];
    return d;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* A reference loss: S(a) in double, a of n values, with its parameters. */
typedef double (*ref_fn)(const double *a, const void *params);

/* Compares grad (our analytic scale·∂S/∂a, float) with scale times central
 * differences of the double reference at a, everywhere; the tolerance is
 * relative to the largest gradient entry. Returns the largest error seen
 * relative to that. */
static double fd_error(ref_fn ref, const void *params, const float *a, size_t n, double scale,
                       const float *grad)
{
    double *ad = to_double(a, n), worst = 0, gmax = 0;
    double *fd = alloc_array(n, sizeof *fd, "test");
    REQUIRE(fd);
    for (size_t i = 0; i < n; i++) {
        double h = 1e-5 * fmax(1.0, fabs(ad[i])), keep = ad[i];
        ad[i] = keep + h;
        double fp = ref(ad, params);
        ad[i] = keep - h;
        double fm = ref(ad, params);
        ad[i] = keep;
        fd[i] = scale * (fp - fm) / (2 * h);
        gmax = fmax(gmax, fabs(fd[i]));
    }
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs(grad[i] - fd[i]) / fmax(gmax, 1e-30));
    free(ad);
    free(fd);
    return worst;
}

/* ---- references, from the definitions ----------------------------------- */

typedef struct {
    act_shape s;
    int c, k, x, y;
    const double *target; /* content, inversion: n; gram: C×C; guide: C×Q */
    size_t q;             /* guide positions */
} ref_params;

static double ref_channel_mean_of(const double *a, act_shape s, int c)
{
    double sum = 0;
    for (int y = 0; y < s.h; y++)
        for (int x = 0; x < s.w; x++)
            sum += a[((size_t)c * s.h + y) * s.w + x];
    return sum / (s.h * s.w);
}

static double ref_channel_mean(const double *a, const void *pv)
{
    const ref_params *p = pv;
    return ref_channel_mean_of(a, p->s, p->c);
}

static double ref_log_softmax(const double *a, const void *pv)
{
    const ref_params *p = pv;
    double sum = 0;
    for (int c = 0; c < p->s.c; c++)
        sum += exp(ref_channel_mean_of(a, p->s, c));
    return log(exp(ref_channel_mean_of(a, p->s, p->k)) / sum);
}

static double ref_neuron(const double *a, const void *pv)
{
    const ref_params *p = pv;
    return a[((size_t)p->c * p->s.h + p->y) * p->s.w + p->x];
}

static double ref_inversion(const double *a, const void *pv)
{
    const ref_params *p = pv;
    double num = 0, den = 0;
    for (size_t i = 0; i < act_size(p->s); i++) {
        num += (a[i] - p->target[i]) * (a[i] - p->target[i]);
        den += p->target[i] * p->target[i];
    }
    return num / den;
}

static double ref_content(const double *a, const void *pv)
{
    const ref_params *p = pv;
    double sum = 0;
    for (size_t i = 0; i < act_size(p->s); i++)
        sum += (a[i] - p->target[i]) * (a[i] - p->target[i]);
    return 0.5 * sum;
}

static double ref_dream(const double *a, const void *pv)
{
    const ref_params *p = pv;
    double sum = 0;
    for (size_t i = 0; i < act_size(p->s); i++)
        sum += a[i] * a[i];
    return 0.5 * sum;
}

/* Σ_p max_q Σ_c a[c,p]·g[c,q]; *margin: the smallest gap between the best
 * and second-best match over p (how far from an argmax tie). */
static double ref_guided_margin(const double *a, const ref_params *p, double *margin)
{
    size_t n = act_positions(p->s);
    double sum = 0;
    *margin = INFINITY;
    for (size_t i = 0; i < n; i++) {
        double best = -INFINITY, second = -INFINITY;
        for (size_t q = 0; q < p->q; q++) {
            double dot = 0;
            for (int c = 0; c < p->s.c; c++)
                dot += a[c * n + i] * p->target[c * p->q + q];
            if (dot > best) {
                second = best;
                best = dot;
            } else if (dot > second) {
                second = dot;
            }
        }
        sum += best;
        *margin = fmin(*margin, best - second);
    }
    return sum;
}

static double ref_guided(const double *a, const void *pv)
{
    double margin;
    return ref_guided_margin(a, pv, &margin);
}

/* G[i][j] = Σ_p a[i,p] a[j,p] / (C·N) in double. */
static void ref_gram(const double *a, act_shape s, double *g)
{
    size_t n = act_positions(s);
    for (int i = 0; i < s.c; i++)
        for (int j = 0; j < s.c; j++) {
            double sum = 0;
            for (size_t p = 0; p < n; p++)
                sum += a[i * n + p] * a[j * n + p];
            g[i * s.c + j] = sum / ((double)s.c * n);
        }
}

/* Σ (G − A)² with A = p->target (C×C). */
static double ref_style(const double *a, const void *pv)
{
    const ref_params *p = pv;
    int c = p->s.c;
    double *g = alloc_array((size_t)c * c, sizeof *g, "test"), sum = 0;
    REQUIRE(g);
    ref_gram(a, p->s, g);
    for (int i = 0; i < c * c; i++)
        sum += (g[i] - p->target[i]) * (g[i] - p->target[i]);
    free(g);
    return sum;
}

/* ---- per-loss tests ---------------------------------------------------------- */

/* Runs one loss through the same protocol: our value against the reference,
 * our gradient (added to a grad prefilled with 0.5, with scale) against
 * finite differences. */
typedef double (*our_fn)(const float *a, const ref_params *p, double scale, float *grad);

static void check_loss(const char *name, our_fn ours, ref_fn ref, const ref_params *p,
                       const float *a, double value_tol, double grad_tol)
{
    size_t n = act_size(p->s);
    float *grad = zeros(n);
    for (size_t i = 0; i < n; i++)
        grad[i] = 0.5f;
    double scale = -1.75;
    double v = ours(a, p, scale, grad);
    for (size_t i = 0; i < n; i++)
        grad[i] -= 0.5f;
    double *ad = to_double(a, n);
    double want = ref(ad, p);
    free(ad);
    double err = fd_error(ref, p, a, n, scale, grad);
    if (fabs(v - want) > value_tol * fmax(1, fabs(want)) || err > grad_tol)
        fprintf(stderr, "%s: value %.12g (want %.12g), gradient error %.3g\n", name, v, want,
                err);
    CHECK_NEAR(v, want, value_tol * fmax(1, fabs(want)));
    CHECK(err <= grad_tol);
    free(grad);
}

static double our_channel_mean(const float *a, const ref_params *p, double scale, float *grad)
{
    return loss_channel_mean(a, p->s, p->c, scale, grad);
}
static double our_log_softmax(const float *a, const ref_params *p, double scale, float *grad)
{
    return loss_log_softmax(a, p->s, p->k, scale, grad);
}
static double our_neuron(const float *a, const ref_params *p, double scale, float *grad)
{
    return loss_neuron(a, p->s, p->c, p->x, p->y, scale, grad);
}
static double our_dream(const float *a, const ref_params *p, double scale, float *grad)
{
    return loss_dream(a, act_size(p->s), scale, grad);
}

/* The target as float, as synth/ gets it (exactly the reference's values). */
static float *target_floats(const ref_params *p, size_t n)
{
    float *t = zeros(n);
    for (size_t i = 0; i < n; i++)
        t[i] = (float)p->target[i];
    return t;
}

static double our_content(const float *a, const ref_params *p, double scale, float *grad)
{
    size_t n = act_size(p->s);
    float *t = target_floats(p, n);
    double v = loss_content(a, t, n, scale, grad);
    free(t);
    return v;
}

static double our_inversion(const float *a, const ref_params *p, double scale, float *grad)
{
    size_t n = act_size(p->s);
    float *t = target_floats(p, n);
    double norm2 = 0;
    for (size_t i = 0; i < n; i++)
        norm2 += p->target[i] * p->target[i];
    double v = loss_inversion(a, t, n, norm2, scale, grad);
    free(t);
    return v;
}

static double our_guided(const float *a, const ref_params *p, double scale, float *grad)
{
    float *g = target_floats(p, (size_t)p->s.c * p->q);
    /* A work buffer of 2 rows: many SGEMM blocks, the last one partial. */
    float *work = zeros(2 * p->q);
    double v = loss_guided_dream(a, p->s, g, p->q, scale, grad, work, 2 * p->q);
    free(work);
    free(g);
    return v;
}

static double our_style(const float *a, const ref_params *p, double scale, float *grad)
{
    int c = p->s.c;
    float *target = target_floats(p, (size_t)c * c), *g = zeros((size_t)c * c),
          *dg = zeros((size_t)c * c);
    gram_compute(a, p->s, g);
    double v = gram_loss(g, target, c, act_positions(p->s), scale, dg);
    gram_backward(dg, a, c, act_positions(p->s), grad);
    free(target);
    free(g);
    free(dg);
    return v;
}

/* Random double targets, as floats would hold them. */
static double *random_target(size_t n)
{
    float *f = random_floats(n);
    double *d = to_double(f, n);
    free(f);
    return d;
}

static void test_scores(void)
{
    act_shape s = {5, 7, 3};
    float *a = random_floats(act_size(s));
    ref_params p = {.s = s, .c = 3, .k = 3, .x = 2, .y = 5};
    check_loss("channel", our_channel_mean, ref_channel_mean, &p, a, 1e-12, 1e-6);
    check_loss("neuron", our_neuron, ref_neuron, &p, a, 1e-12, 1e-6);
    check_loss("logprob spatial", our_log_softmax, ref_log_softmax, &p, a, 1e-12, 1e-5);
    free(a);

    act_shape logits = {11, 1, 1};
    a = random_floats(11);
    p = (ref_params){.s = logits, .c = 7, .k = 7};
    check_loss("class", our_channel_mean, ref_channel_mean, &p, a, 1e-12, 1e-6);
    check_loss("logprob", our_log_softmax, ref_log_softmax, &p, a, 1e-12, 1e-5);

    /* Probabilities sum to one; huge logits do not overflow: with logits
     * (1000, 1001, 1000) the log-probability of the middle one is
     * −log(1 + 2e⁻¹). */
    double total = 0;
    float *grad = zeros(11);
    for (int k = 0; k < 11; k++)
        total += exp(loss_log_softmax(a, logits, k, 0, grad));
    CHECK_NEAR(total, 1.0, 1e-12);
    float big[3] = {1000, 1001, 1000};
    double lp = loss_log_softmax(big, (act_shape){3, 1, 1}, 1, 1, grad);
    CHECK_NEAR(lp, -log(1 + 2 * exp(-1.0)), 1e-12);
    /* Its gradient: 1 − p₁ at the class, −p_c elsewhere. */
    double p1 = 1 / (1 + 2 * exp(-1.0));
    CHECK_NEAR(grad[1], 1 - p1, 1e-6);
    CHECK_NEAR(grad[0], -(1 - p1) / 2, 1e-6);
    free(grad);
    free(a);
}

static void test_feature_losses(void)
{
    act_shape s = {3, 5, 7};
    size_t n = act_size(s);
    float *a = random_floats(n);
    double *target = random_target(n);
    ref_params p = {.s = s, .target = target};
    check_loss("content", our_content, ref_content, &p, a, 1e-12, 1e-6);
    check_loss("inversion", our_inversion, ref_inversion, &p, a, 1e-12, 1e-6);
    check_loss("dream", our_dream, ref_dream, &p, a, 1e-12, 1e-6);
    free(target);
    free(a);

    /* Closed forms: a = (1, 2, 3), t = (0, 2, 5): content ½(1 + 0 + 4) = 2.5,
     * gradient a − t = (1, 0, −2); inversion (1 + 0 + 4)/(0 + 4 + 25) = 5/29;
     * dream ½(1 + 4 + 9) = 7. */
    float a3[3] = {1, 2, 3}, t3[3] = {0, 2, 5}, g3[3] = {0};
    CHECK_NEAR(loss_content(a3, t3, 3, 1, g3), 2.5, 1e-15);
    CHECK(g3[0] == 1 && g3[1] == 0 && g3[2] == -2);
    CHECK_NEAR(loss_inversion(a3, t3, 3, 29, 1, g3), 5.0 / 29, 1e-15);
    CHECK_NEAR(loss_dream(a3, 3, 1, g3), 7, 1e-15);
}

static void test_guided(void)
{
    act_shape s = {4, 3, 7};
    size_t q = 9;
    double margin = 0;
    float *a = NULL;
    double *guide = NULL;
    ref_params p = {.s = s, .q = q};
    /* Draw until every position's best match is clear of the second best by
     * far more than the finite-difference step can change a dot product. */
    for (int tries = 0; tries < 100; tries++) {
        free(a);
        free(guide);
        a = random_floats(act_size(s));
        guide = random_target((size_t)s.c * q);
        p.target = guide;
        double *ad = to_double(a, act_size(s));
        ref_guided_margin(ad, &p, &margin);
        free(ad);
        if (margin > 1e-2)
            break;
    }
    REQUIRE(margin > 1e-2);
    check_loss("guided", our_guided, ref_guided, &p, a, 1e-6, 1e-5);

    /* Block size does not change a bit of the result. */
    float *g1 = zeros(act_size(s)), *g2 = zeros(act_size(s)), *gf = zeros(s.c * q);
    for (size_t i = 0; i < s.c * q; i++)
        gf[i] = (float)guide[i];
    float *work = zeros(loss_guided_work(q));
    double v1 = loss_guided_dream(a, s, gf, q, 1, g1, work, loss_guided_work(q));
    double v2 = loss_guided_dream(a, s, gf, q, 1, g2, work, q);
    CHECK(v1 == v2 && memcmp(g1, g2, act_size(s) * sizeof *g1) == 0);
    free(work);
    free(gf);
    free(g1);
    free(g2);
    free(guide);
    free(a);
}

static void test_gram_closed_form(void)
{
    /* F = [[1, 2], [3, 4]] (C = 2 channels, N = 2 positions), K = C·N = 4:
     * F Fᵀ = [[5, 11], [11, 25]], G = [[1.25, 2.75], [2.75, 6.25]].
     * A = I: S = 0.25² + 2·2.75² + 5.25² = 42.75.
     * ∂S/∂F = (4/K)(G − A)F = [[0.25, 2.75], [2.75, 5.25]]·F
     *       = [[8.5, 11.5], [18.5, 26.5]]. */
    float f[4] = {1, 2, 3, 4}, g[4], a[4] = {1, 0, 0, 1}, dg[4], grad[4] = {0};
    act_shape s = {2, 1, 2};
    gram_compute(f, s, g);
    CHECK(g[0] == 1.25f && g[1] == 2.75f && g[2] == 2.75f && g[3] == 6.25f);
    CHECK_NEAR(gram_loss(g, a, 2, 2, 1, dg), 42.75, 1e-12);
    gram_backward(dg, f, 2, 2, grad);
    CHECK_NEAR(grad[0], 8.5, 1e-5);
    CHECK_NEAR(grad[1], 11.5, 1e-5);
    CHECK_NEAR(grad[2], 18.5, 1e-5);
    CHECK_NEAR(grad[3], 26.5, 1e-5);
}

static void test_gram_gradient(void)
{
    act_shape s = {6, 5, 7}, style_shape = {6, 3, 3};
    float *a = random_floats(act_size(s)), *style = random_floats(act_size(style_shape));
    double *sd = to_double(style, act_size(style_shape));
    double target[36];
    ref_gram(sd, style_shape, target);
    ref_params p = {.s = s, .target = target};
    check_loss("gram", our_style, ref_style, &p, a, 1e-5, 1e-5);
    free(sd);
    free(style);
    free(a);
}

/* A Gram large enough to be split into blocks (C = 100: 16-row blocks, the
 * last one partial): every entry against the double reference, and the same
 * bytes with 1 and 3 threads (the blocks depend on C alone). */
static void test_gram_blocks(void)
{
    act_shape s = {100, 9, 13};
    size_t cc = (size_t)s.c * s.c;
    float *a = random_floats(act_size(s)), *g1 = zeros(cc), *g3 = zeros(cc);
    double *ad = to_double(a, act_size(s)), *ref = alloc_array(cc, sizeof *ref, "test");
    REQUIRE(ref);
    ref_gram(ad, s, ref);
    int threads = net_threads();
    net_set_threads(1);
    gram_compute(a, s, g1);
    net_set_threads(3);
    gram_compute(a, s, g3);
    net_set_threads(threads);
    double worst = 0;
    for (size_t i = 0; i < cc; i++)
        worst = fmax(worst, fabs(g1[i] - ref[i]));
    CHECK(worst < 1e-5);
    CHECK(memcmp(g1, g3, cc * sizeof *g1) == 0);
    free(a);
    free(g1);
    free(g3);
    free(ad);
    free(ref);
}

/* Copies `rows` rows of every channel, from row src_y0 of src (C×src_h×W)
 * to row dst_y0 of dst (C×dst_h×W): a tile of an image is a contiguous
 * C×rows×W block of its own. */
static void copy_rows(float *dst, int dst_h, int dst_y0, const float *src, int src_h, int src_y0,
                      int c, int rows, int w)
{
    for (int ch = 0; ch < c; ch++)
        memcpy(dst + ((size_t)ch * dst_h + dst_y0) * w, src + ((size_t)ch * src_h + src_y0) * w,
               (size_t)rows * w * sizeof *dst);
}

/* Strip t (rows strips[t] … strips[t+1]−1) of whole (shape s) into tile, and back. */
static void strip_get(float *tile, const float *whole, act_shape s, const int *strips, int t)
{
    int rows = strips[t + 1] - strips[t];
    copy_rows(tile, rows, 0, whole, s.h, strips[t], s.c, rows, s.w);
}

static void strip_put(float *whole, const float *tile, act_shape s, const int *strips, int t)
{
    int rows = strips[t + 1] - strips[t];
    copy_rows(whole, s.h, strips[t], tile, rows, 0, s.c, rows, s.w);
}

static void test_gram_tiled(void)
{
    act_shape s = {7, 11, 5};
    int strips[] = {0, 4, 5, 11}; /* rows 0–3, 4, 5–10 */
    size_t cc = 49;
    float *f = random_floats(act_size(s)), *whole = zeros(cc), *tiled = zeros(cc);
    float *tile = zeros(act_size(s)), *a = random_floats(cc);
    for (size_t i = 0; i < 7; i++) /* a symmetric target */
        for (size_t j = 0; j < i; j++)
            a[i * 7 + j] = a[j * 7 + i];
    gram_compute(f, s, whole);
    for (int t = 0; t < 3; t++) {
        strip_get(tile, f, s, strips, t);
        gram_accumulate(tiled, tile, s.c, (size_t)(strips[t + 1] - strips[t]) * s.w);
    }
    gram_finish(tiled, s.c, act_positions(s));
    CHECK(max_abs_diff(whole, tiled, cc) <= 1e-6);

    /* Two-pass gradient: the global dG, then each strip's gradient. */
    float *dg = zeros(cc), *grad_whole = zeros(act_size(s)), *grad_tiled = zeros(act_size(s));
    float *grad_tile = zeros(act_size(s));
    double v_whole = gram_loss(whole, a, s.c, act_positions(s), 0.5, dg);
    gram_backward(dg, f, s.c, act_positions(s), grad_whole);
    double v_tiled = gram_loss(tiled, a, s.c, act_positions(s), 0.5, dg);
    for (int t = 0; t < 3; t++) {
        strip_get(tile, f, s, strips, t);
        memset(grad_tile, 0, act_size(s) * sizeof *grad_tile);
        gram_backward(dg, tile, s.c, (size_t)(strips[t + 1] - strips[t]) * s.w, grad_tile);
        strip_put(grad_tiled, grad_tile, s, strips, t);
    }
    CHECK_NEAR(v_whole, v_tiled, 1e-5 * v_whole);
    CHECK(max_abs_diff(grad_whole, grad_tiled, act_size(s)) <= 1e-5);
    free(f);
    free(whole);
    free(tiled);
    free(tile);
    free(a);
    free(dg);
    free(grad_whole);
    free(grad_tiled);
    free(grad_tile);
}

/* ---- the objective ------------------------------------------------------------ */

/* A two-layer objective and its reference: on layer "a" (5×3×7) dream
 * (w 0.5), content (w 2), style blended from two images (w 3); on layer "b"
 * (10×1×1) logprob of class 4 (w 1.5), a minimised neuron at the centre
 * (w 0.25), and channel 2 (w 1). */
typedef struct {
    act_shape sa, sb;
    double *content;        /* sa */
    double style_target[25]; /* blend of the two style Grams */
} objective_ref;

static double ref_objective(const double *ab, const void *pv)
{
    const objective_ref *r = pv;
    const double *a = ab, *b = ab + act_size(r->sa);
    ref_params pa = {.s = r->sa, .target = r->content};
    ref_params ps = {.s = r->sa, .target = r->style_target};
    ref_params pb = {.s = r->sb, .k = 4, .c = 2};
    ref_params pn = {.s = r->sb, .c = 6, .x = 0, .y = 0};
    return -0.5 * ref_dream(a, &pa) + 2 * ref_content(a, &pa) + 3 * ref_style(a, &ps) -
           1.5 * ref_log_softmax(b, &pb) + 0.25 * ref_neuron(b, &pn) -
           ref_channel_mean(b, &pb);
}

static objective *make_objective(void)
{
    objective *o = NULL;
    REQUIRE(objective_create(&o) == ST_OK);
    loss_term terms[] = {
        {.kind = LOSS_DREAM, .layer = "a", .weight = 0.5},
        {.kind = LOSS_LOGPROB, .layer = "b", .weight = 1.5, .channel = 4},
        {.kind = LOSS_CONTENT, .layer = "a", .weight = 2},
        {.kind = LOSS_NEURON, .layer = "b", .weight = 0.25, .channel = 6, .x = -1, .y = -1,
         .direction = LOSS_MINIMIZE},
        {.kind = LOSS_STYLE, .layer = "a", .weight = 3},
        {.kind = LOSS_CHANNEL, .layer = "b", .weight = 1, .channel = 2},
    };
    for (size_t t = 0; t < sizeof terms / sizeof terms[0]; t++)
        CHECK_OK(objective_add(o, &terms[t]));
    return o;
}

/* Sets the content target and the blended style (blend 1 : 3) of make_objective,
 * and the same in r. */
static void set_targets(objective *o, objective_ref *r)
{
    size_t na = act_size(r->sa);
    float *content = random_floats(na);
    r->content = to_double(content, na);
    CHECK_OK(objective_set_target(o, 2, content, r->sa));

    act_shape s1 = {5, 4, 4}, s2 = {5, 2, 9};
    float *f1 = random_floats(act_size(s1)), *f2 = random_floats(act_size(s2));
    float g1[25], g2[25];
    gram_compute(f1, s1, g1);
    gram_compute(f2, s2, g2);
    const float *grams[2] = {g1, g2};
    double blend[2] = {1, 3};
    CHECK_OK(objective_set_style(o, 4, 2, grams, blend, 5));
    double *d1 = to_double(f1, act_size(s1)), *d2 = to_double(f2, act_size(s2));
    double r1[25], r2[25];
    ref_gram(d1, s1, r1);
    ref_gram(d2, s2, r2);
    for (int i = 0; i < 25; i++)
        r->style_target[i] = (1 * r1[i] + 3 * r2[i]) / 4;
    free(d1);
    free(d2);
    free(f1);
    free(f2);
    free(content);
}

static void test_objective(void)
{
    objective *o = make_objective();
    CHECK(objective_term_count(o) == 6);
    CHECK(objective_layer_count(o) == 2);
    CHECK(strcmp(objective_layer_name(o, 0), "a") == 0);
    CHECK(strcmp(objective_layer_name(o, 1), "b") == 0);
    CHECK(objective_term_layer(o, 3) == 1);
    CHECK(strcmp(objective_term_label(o, 4), "style:a") == 0);
    CHECK(strcmp(objective_term_label(o, 3), "neuron:b") == 0);

    objective_ref r = {.sa = {5, 3, 7}, .sb = {10, 1, 1}};
    set_targets(o, &r);
    size_t na = act_size(r.sa), nb = act_size(r.sb);
    float *ab = random_floats(na + nb), *seeds = random_floats(na + nb); /* garbage in seeds */
    const float *acts[2] = {ab, ab + na};
    act_shape shapes[2] = {r.sa, r.sb};
    float *seed_ptrs[2] = {seeds, seeds + na};
    objective_begin(o);
    CHECK_OK(objective_evaluate(o, acts, shapes, seed_ptrs));
    double *abd = to_double(ab, na + nb);
    double want = ref_objective(abd, &r);
    CHECK_NEAR(objective_value(o), want, 1e-5 * fmax(1, fabs(want)));
    /* Each term's S, unsigned and unweighted. */
    ref_params pa = {.s = r.sa};
    CHECK_NEAR(objective_term_value(o, 0), ref_dream(abd, &pa), 1e-9);
    ref_params pn = {.s = r.sb, .c = 6};
    CHECK_NEAR(objective_term_value(o, 3), ref_neuron(abd + na, &pn), 0);
    double err = fd_error(ref_objective, &r, ab, na + nb, 1, seeds);
    CHECK(err <= 1e-5);

    /* Same inputs, same bytes; begin resets the values. */
    float *again = zeros(na + nb);
    float *again_ptrs[2] = {again, again + na};
    double v = objective_value(o);
    objective_begin(o);
    CHECK(objective_value(o) == 0);
    CHECK_OK(objective_evaluate(o, acts, shapes, again_ptrs));
    CHECK(objective_value(o) == v);
    CHECK(memcmp(seeds, again, (na + nb) * sizeof *seeds) == 0);

    free(abd);
    free(again);
    free(ab);
    free(seeds);
    free(r.content);
    objective_free(o);
}

/* Tiles: the activation of layer a split into H strips, evaluated per strip
 * with the content target's matching strip, the style Gram in two passes;
 * values add up and the strips' seeds are the untiled seed's rows. Only
 * layer-a terms (a logit layer is not tiled). */
static void test_objective_tiled(void)
{
    objective *o = NULL;
    REQUIRE(objective_create(&o) == ST_OK);
    loss_term terms[] = {
        {.kind = LOSS_DREAM, .layer = "a", .weight = 0.5},
        {.kind = LOSS_CONTENT, .layer = "a", .weight = 2},
        {.kind = LOSS_STYLE, .layer = "a", .weight = 3},
    };
    for (int t = 0; t < 3; t++)
        CHECK_OK(objective_add(o, &terms[t]));
    act_shape s = {4, 9, 6};
    size_t n = act_size(s);
    float *a = random_floats(n), *content = random_floats(n), *style = random_floats(n);
    float gram[16];
    gram_compute(style, s, gram);
    const float *grams[1] = {gram};
    double blend[1] = {1};
    CHECK_OK(objective_set_style(o, 2, 1, grams, blend, 4));

    float *seed = zeros(n);
    CHECK_OK(objective_set_target(o, 1, content, s));
    objective_begin(o);
    CHECK_OK(objective_evaluate(o, (const float *[]){a}, &s, &seed));
    double whole = objective_value(o), whole_style = objective_term_value(o, 2);

    int strips[] = {0, 2, 7, 9};
    float *tile = zeros(n), *tile_content = zeros(n), *tile_seed = zeros(n), *tiled = zeros(n);
    objective_begin(o);
    CHECK_FAILS_WITH(objective_gram_finish(o), "without");
    objective_begin(o);
    for (int t = 0; t < 3; t++) {
        act_shape ts = {s.c, strips[t + 1] - strips[t], s.w};
        strip_get(tile, a, s, strips, t);
        CHECK_OK(objective_gram_accumulate(o, (const float *[]){tile}, &ts));
    }
    float *dummy = zeros(n);
    CHECK_FAILS_WITH(objective_evaluate(o, (const float *[]){tile}, &s, &dummy), "before");
    CHECK_OK(objective_gram_finish(o));
    CHECK_NEAR(objective_term_value(o, 2), whole_style, 1e-5 * whole_style);
    for (int t = 0; t < 3; t++) {
        act_shape ts = {s.c, strips[t + 1] - strips[t], s.w};
        strip_get(tile, a, s, strips, t);
        strip_get(tile_content, content, s, strips, t);
        CHECK_OK(objective_set_target(o, 1, tile_content, ts));
        CHECK_OK(objective_evaluate(o, (const float *[]){tile}, &ts, &tile_seed));
        strip_put(tiled, tile_seed, s, strips, t);
    }
    CHECK_NEAR(objective_value(o), whole, 1e-5 * fabs(whole));
    CHECK(max_abs_diff(seed, tiled, n) <= 1e-5);
    CHECK_FAILS_WITH(objective_gram_accumulate(o, (const float *[]){tile}, &s), "after");

    free(a);
    free(content);
    free(style);
    free(seed);
    free(tile);
    free(tile_content);
    free(tile_seed);
    free(tiled);
    free(dummy);
    objective_free(o);
}

/* NEURON with x, y < 0 takes the centre (W/2, H/2): on 3×5×7, (3, 2). */
static void test_neuron_centre(void)
{
    objective *o = NULL;
    REQUIRE(objective_create(&o) == ST_OK);
    CHECK_OK(objective_add(o, &(loss_term){.kind = LOSS_NEURON, .layer = "l", .weight = 2,
                                           .channel = 1, .x = -1, .y = -1}));
    act_shape s = {3, 5, 7};
    float *a = random_floats(act_size(s)), *seed = zeros(act_size(s));
    objective_begin(o);
    CHECK_OK(objective_evaluate(o, (const float *[]){a}, &s, &seed));
    size_t centre = (1 * 5 + 2) * 7 + 3;
    CHECK(objective_term_value(o, 0) == a[centre]);
    CHECK(objective_value(o) == -2.0 * a[centre]); /* maximised: minus, weight 2 */
    CHECK(seed[centre] == -2.0f);
    double others = 0;
    for (size_t i = 0; i < act_size(s); i++)
        others += i == centre ? 0 : fabs(seed[i]);
    CHECK(others == 0);
    free(a);
    free(seed);
    objective_free(o);
}

static void test_objective_errors(void)
{
    objective *o = NULL;
    REQUIRE(objective_create(&o) == ST_OK);
    CHECK_FAILS_WITH(objective_add(o, &(loss_term){.kind = LOSS_DREAM, .layer = "x",
                                                   .weight = -1}),
                     "dream:x: weight -1");
    CHECK_FAILS_WITH(objective_add(o, &(loss_term){.kind = LOSS_DREAM, .weight = 1}),
                     "no layer");
    CHECK_FAILS_WITH(objective_add(o, &(loss_term){.kind = LOSS_CHANNEL, .layer = "x",
                                                   .weight = 1, .channel = -2}),
                     "channel -2");
    CHECK(objective_term_count(o) == 0);

    CHECK_OK(objective_add(o, &(loss_term){.kind = LOSS_CLASS, .layer = "fc", .weight = 1,
                                           .channel = 10}));
    CHECK_FAILS_WITH(objective_set_weight(o, 0, NAN), "class:fc: weight nan");
    CHECK_OK(objective_set_weight(o, 0, 2.5));
    CHECK(objective_term_weight(o, 0) == 2.5);
    CHECK_OK(objective_set_weight(o, 0, 1));
    CHECK_OK(objective_add(o, &(loss_term){.kind = LOSS_CONTENT, .layer = "c", .weight = 1}));
    CHECK_OK(objective_add(o, &(loss_term){.kind = LOSS_STYLE, .layer = "c", .weight = 1}));
    CHECK_OK(objective_add(o, &(loss_term){.kind = LOSS_NEURON, .layer = "c", .weight = 1,
                                           .channel = 1, .x = 9, .y = 0}));
    CHECK_OK(objective_add(o, &(loss_term){.kind = LOSS_INVERT, .layer = "c", .weight = 1}));
    float buf[64] = {0}, seed_fc[11], seed_c[64];
    act_shape fc = {10, 1, 1}, c = {4, 4, 4}, c3 = {3, 4, 4};
    const float *acts[2] = {buf, buf};
    float *seeds[2] = {seed_fc, seed_c};
    act_shape shapes[2] = {fc, c};
    CHECK_FAILS_WITH(objective_evaluate(o, acts, shapes, seeds),
                     "class:fc: channel 10 is out of range (the layer has 10 channels)");
    shapes[0] = (act_shape){11, 1, 1};
    CHECK_FAILS_WITH(objective_evaluate(o, acts, shapes, seeds), "content:c: no target");
    CHECK_FAILS_WITH(objective_set_target(o, 0, buf, c), "takes no target");
    CHECK_FAILS_WITH(objective_set_target(o, 4, buf, c), "all zero");
    CHECK_FAILS_WITH(objective_set_target(o, 1, buf, (act_shape){0, 4, 4}), "bad activation");
    CHECK_OK(objective_set_target(o, 1, buf, c3));
    CHECK_FAILS_WITH(objective_evaluate(o, acts, shapes, seeds),
                     "target features are 3×4×4, the activation 4×4×4");
    CHECK_OK(objective_set_target(o, 1, buf, c));
    CHECK_FAILS_WITH(objective_evaluate(o, acts, shapes, seeds), "style:c: no style Gram");
    const float *grams[1] = {buf};
    CHECK_FAILS_WITH(objective_set_style(o, 2, 1, grams, (double[]){0}, 3), "all zero");
    CHECK_FAILS_WITH(objective_set_style(o, 2, 1, grams, (double[]){-1}, 3), "blend weight -1");
    CHECK_FAILS_WITH(objective_set_style(o, 1, 1, grams, (double[]){1}, 3), "no style Gram");
    CHECK_OK(objective_set_style(o, 2, 1, grams, (double[]){1}, 3));
    CHECK_FAILS_WITH(objective_evaluate(o, acts, shapes, seeds), "the layer has 4 channels");
    CHECK_OK(objective_set_style(o, 2, 1, grams, (double[]){1}, 4));
    CHECK_FAILS_WITH(objective_evaluate(o, acts, shapes, seeds), "neuron:c: unit (9, 0)");
    objective_free(o);
}

int main(void)
{
    rng_seed(&gen, 20240601);
    test_scores();
    test_feature_losses();
    test_guided();
    test_gram_closed_form();
    test_gram_gradient();
    test_gram_tiled();
    test_gram_blocks();
    test_objective();
    test_objective_tiled();
    test_neuron_centre();
    test_objective_errors();
    return check_report("test_loss");
}
