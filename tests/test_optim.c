/* Optimizers: each minimises an ill-conditioned quadratic with a known
 * minimum and the 2-D and N-D Rosenbrock function to a stated tolerance in a
 * stated number of evaluations; the normalised step climbs a concave
 * objective; L-BFGS beats gradient descent; runs are bit-reproducible;
 * interruption, non-finite values and bad parameters are handled. */
#include "check.h"
#include "synth/synth.h"

/* ---- test functions ------------------------------------------------------------ */

/* f(x) = ½ (x − x*)ᵀ A (x − x*), A = Q Λ Qᵀ with eigenvalues log-spaced
 * from 1 to κ and Q a product of three Householder reflections of random
 * vectors (so A is dense, not axis-aligned). */
enum { QN = 30 };
typedef struct {
    double a[QN][QN], xstar[QN], kappa;
} quadratic;

static void quadratic_init(quadratic *q, double kappa, rng *r)
{
    double m[QN][QN] = {{0}};
    for (int i = 0; i < QN; i++)
        m[i][i] = pow(kappa, (double)i / (QN - 1));
    for (int k = 0; k < 3; k++) { /* m ← H m H, H = I − 2 v vᵀ / vᵀv */
        double v[QN], vv = 0;
        for (int i = 0; i < QN; i++) {
            v[i] = rng_normal(r);
            vv += v[i] * v[i];
        }
        double mv[QN] = {0}, vmv = 0;
        for (int i = 0; i < QN; i++)
            for (int j = 0; j < QN; j++)
                mv[i] += m[i][j] * v[j];
        for (int i = 0; i < QN; i++)
            vmv += v[i] * mv[i];
        /* H m H = m − 2(mv vᵀ + v mvᵀ)/vv + 4 vmv v vᵀ / vv² */
        for (int i = 0; i < QN; i++)
            for (int j = 0; j < QN; j++)
                m[i][j] += -2 * (mv[i] * v[j] + v[i] * mv[j]) / vv + 4 * vmv * v[i] * v[j] / (vv * vv);
    }
    memcpy(q->a, m, sizeof m);
    for (int i = 0; i < QN; i++)
        q->xstar[i] = rng_uniform(r) * 4 - 2;
    q->kappa = kappa;
}

static status quadratic_fn(void *ctx, const float *x, float *g, double *f)
{
    const quadratic *q = ctx;
    double sum = 0;
    for (int i = 0; i < QN; i++) {
        double gi = 0;
        for (int j = 0; j < QN; j++)
            gi += q->a[i][j] * (x[j] - q->xstar[j]);
        g[i] = (float)gi;
        sum += (x[i] - q->xstar[i]) * gi;
    }
    *f = 0.5 * sum;
    return ST_OK;
}

static double quadratic_error(const quadratic *q, const float *x)
{
    double e = 0;
    for (int i = 0; i < QN; i++)
        e = fmax(e, fabs(x[i] - q->xstar[i]));
    return e;
}

/* Rosenbrock in n dimensions: Σ_i 100 (x_{i+1} − x_i²)² + (1 − x_i)²,
 * minimum 0 at (1, …, 1). */
static status rosenbrock_fn(void *ctx, const float *x, float *g, double *f)
{
    int n = *(const int *)ctx;
    double sum = 0;
    for (int i = 0; i < n; i++)
        g[i] = 0;
    for (int i = 0; i + 1 < n; i++) {
        double a = x[i + 1] - (double)x[i] * x[i], b = 1 - (double)x[i];
        sum += 100 * a * a + b * b;
        g[i] += (float)(-400 * a * x[i] - 2 * b);
        g[i + 1] += (float)(200 * a);
    }
    *f = sum;
    return ST_OK;
}

static void rosenbrock_start(float *x, int n)
{
    for (int i = 0; i < n; i++)
        x[i] = i % 2 ? 1.0f : -1.2f;
}

static double distance_to_ones(const float *x, int n)
{
    double e = 0;
    for (int i = 0; i < n; i++)
        e = fmax(e, fabs(x[i] - 1.0));
    return e;
}

/* Runs opt (with an optional geometric lr schedule: lr·decayᵏ at step k)
 * until error(x) ≤ tol or `max_evals` evaluations. Returns the evaluations
 * used, or max_evals + 1 when the tolerance was not reached. */
typedef double (*error_fn)(const void *ctx, const float *x);

static size_t run(optim_params p, double decay, size_t n, float *x, optim_fn fn, void *ctx,
                  error_fn err, double tol, size_t max_evals, double *final_error)
{
    optimizer *o = NULL;
    REQUIRE(optim_create(&p, n, &o) == ST_OK);
    double f, lr = p.lr;
    size_t used = max_evals + 1;
    while (optim_evaluations(o) < max_evals && !optim_converged(o)) {
        if (optim_step(o, x, fn, ctx, &f) != ST_OK)
            break;
        if (err(ctx, x) <= tol) {
            used = optim_evaluations(o);
            break;
        }
        optim_set_lr(o, lr *= decay);
    }
    *final_error = err(ctx, x);
    optim_free(o);
    return used;
}

static double quadratic_err(const void *ctx, const float *x) { return quadratic_error(ctx, x); }
static double rosenbrock_err(const void *ctx, const float *x)
{
    return distance_to_ones(x, *(const int *)ctx);
}

/* One optimizer on the three problems, with the evaluation budgets stated. */
typedef struct {
    optim_params p;
    double decay;             /* lr schedule */
    size_t quad_evals;        /* budget to reach |x − x*|∞ ≤ 1e-3 on κ = 1e3 */
    size_t rosen2_evals;      /* budget to reach |x − 1|∞ ≤ 1e-3 in 2-D */
    size_t rosen10_evals;     /* and in 10-D */
} case_spec;

static void check_case(const case_spec *c, quadratic *q)
{
    const char *name = optim_kind_name(c->p.kind);
    float x[QN] = {0};
    double e;
    size_t used = run(c->p, c->decay, QN, x, quadratic_fn, q, quadratic_err, 1e-3,
                      c->quad_evals, &e);
    printf("%-10s quadratic κ=1e3: %zu evaluations, error %.2g\n", name, used, e);
    CHECK(used <= c->quad_evals);

    int n2 = 2, n10 = 10;
    float r[10];
    rosenbrock_start(r, 2);
    used = run(c->p, c->decay, 2, r, rosenbrock_fn, &n2, rosenbrock_err, 1e-3, c->rosen2_evals,
               &e);
    printf("%-10s Rosenbrock 2-D: %zu evaluations, error %.2g\n", name, used, e);
    CHECK(used <= c->rosen2_evals);
    rosenbrock_start(r, 10);
    used = run(c->p, c->decay, 10, r, rosenbrock_fn, &n10, rosenbrock_err, 1e-3,
               c->rosen10_evals, &e);
    printf("%-10s Rosenbrock 10-D: %zu evaluations, error %.2g\n", name, used, e);
    CHECK(used <= c->rosen10_evals);
}

/* Budgets: about 1.5× what each needs (L-BFGS 127, 43, 78 evaluations;
 * Adam with a constant lr 0.1: 1244, 1209, 1999; the normalised step with
 * lr 0.1·0.999ᵏ: 4074, 6330, 8513). L-BFGS needs about as many as PyTorch's
 * LBFGS (history 8, strong Wolfe) on this kind of quadratic: 122–135. */
static void test_minimise(quadratic *q)
{
    case_spec c_lbfgs = {optim_defaults(OPTIM_LBFGS), 1.0, 150, 70, 120};
    check_case(&c_lbfgs, q);

    optim_params adam = optim_defaults(OPTIM_ADAM);
    adam.lr = 0.1;
    case_spec c_adam = {adam, 1.0, 2000, 2000, 3000};
    check_case(&c_adam, q);

    optim_params norm = optim_defaults(OPTIM_NORMALIZED);
    norm.lr = 0.1;
    case_spec c_norm = {norm, 0.999, 6000, 9000, 12000};
    check_case(&c_norm, q);
}

/* f = ½ Σ w_i x_i², ∇f = w ⊙ x. */
static status weighted_square_fn(void *ctx, const float *x, float *g, double *f)
{
    const double *w = ctx;
    *f = 0;
    for (int i = 0; i < 4; i++) {
        g[i] = (float)(w[i] * x[i]);
        *f += 0.5 * w[i] * x[i] * x[i];
    }
    return ST_OK;
}

/* The update rules themselves, against the formulas evaluated here in
 * double: the normalised step x − lr·g/(mean|g| + eps), and PyTorch's Adam
 * with bias correction over 6 steps (its first step moves every coordinate
 * by lr·g/(|g| + eps) ≈ lr). */
static void test_update_rules(void)
{
    double w[4] = {1, -2, 0.5, 3}, lr = 0.3, eps = 1e-3;
    float x[4] = {1, 0.5f, -2, 0.25f};
    double ref[4] = {1, 0.5, -2, 0.25}, f;

    optim_params p = optim_defaults(OPTIM_NORMALIZED);
    p.lr = lr;
    p.eps = eps;
    optimizer *o = NULL;
    REQUIRE(optim_create(&p, 4, &o) == ST_OK);
    CHECK_OK(optim_step(o, x, weighted_square_fn, w, &f));
    double mean = 0;
    for (int i = 0; i < 4; i++)
        mean += fabs((float)(w[i] * ref[i])) / 4;
    for (int i = 0; i < 4; i++) {
        ref[i] -= lr * (float)(w[i] * ref[i]) / (mean + eps);
        CHECK_NEAR(x[i], ref[i], 1e-6);
    }
    optim_free(o);

    p = optim_defaults(OPTIM_ADAM);
    p.lr = lr;
    p.eps = eps;
    p.beta1 = 0.8;
    p.beta2 = 0.9;
    REQUIRE(optim_create(&p, 4, &o) == ST_OK);
    double m[4] = {0}, v[4] = {0};
    for (int t = 1; t <= 6; t++) {
        float before[4];
        memcpy(before, x, sizeof x);
        CHECK_OK(optim_step(o, x, weighted_square_fn, w, &f));
        for (int i = 0; i < 4; i++) {
            double g = (float)(w[i] * before[i]);
            m[i] = 0.8 * m[i] + 0.2 * g;
            v[i] = 0.9 * v[i] + 0.1 * g * g;
            double mhat = m[i] / (1 - pow(0.8, t)), vhat = v[i] / (1 - pow(0.9, t));
            double want = before[i] - lr * mhat / (sqrt(vhat) + eps);
            CHECK_NEAR(x[i], want, 1e-5);
            if (t == 1)
                CHECK_NEAR(fabs(x[i] - before[i]), lr * fabs(g) / (fabs(g) + eps), 1e-6);
        }
    }
    optim_free(o);
}

/* Plain gradient descent with the best fixed step for the quadratic,
 * 2/(λmin + λmax): the evaluations it needs to reach |x − x*|∞ ≤ 1e-3. */
static size_t gradient_descent_evals(quadratic *q)
{
    float x[QN] = {0}, g[QN];
    double f, step = 2 / (1 + q->kappa);
    for (size_t k = 1; k <= 1000000; k++) {
        quadratic_fn(q, x, g, &f);
        for (int i = 0; i < QN; i++)
            x[i] -= (float)(step * g[i]);
        if (quadratic_error(q, x) <= 1e-3)
            return k;
    }
    return 1000001;
}

static void test_lbfgs_beats_gd(quadratic *q)
{
    float x[QN] = {0};
    double e;
    size_t lbfgs = run(optim_defaults(OPTIM_LBFGS), 1, QN, x, quadratic_fn, q, quadratic_err,
                       1e-3, 1000, &e);
    size_t gd = gradient_descent_evals(q);
    printf("quadratic κ=1e3 to 1e-3: L-BFGS %zu evaluations, gradient descent %zu\n", lbfgs, gd);
    CHECK(lbfgs * 10 <= gd);
}

/* Maximising a concave S(x) = −Σ_i w_i (x_i − c_i)² / 2 by minimising −S
 * with the normalised step (constant lr 0.02): S rises at every one of the
 * first 100 steps, and after 400 ends within 0.05 of the top. */
typedef struct { double w[8], c[8]; } concave;

static status negative_concave_fn(void *ctx, const float *x, float *g, double *f)
{
    const concave *k = ctx;
    double s = 0;
    for (int i = 0; i < 8; i++) {
        double d = x[i] - k->c[i];
        s -= 0.5 * k->w[i] * d * d;
        g[i] = (float)(k->w[i] * d); /* ∂(−S)/∂x */
    }
    *f = -s;
    return ST_OK;
}

static void test_normalized_ascent(rng *r)
{
    concave k;
    for (int i = 0; i < 8; i++) {
        k.w[i] = 1 + 9 * rng_uniform(r);
        k.c[i] = 10 * rng_uniform(r) - 5;
    }
    optim_params p = optim_defaults(OPTIM_NORMALIZED);
    p.lr = 0.02;
    optimizer *o = NULL;
    REQUIRE(optim_create(&p, 8, &o) == ST_OK);
    float x[8] = {0}, g[8];
    double f, s_prev = -INFINITY, s0;
    negative_concave_fn(&k, x, g, &f);
    s0 = -f;
    int rises = 1;
    for (int step = 0; step < 400; step++) {
        CHECK_OK(optim_step(o, x, negative_concave_fn, &k, &f));
        if (step < 100)
            rises &= -f > s_prev;
        s_prev = -f;
    }
    negative_concave_fn(&k, x, g, &f);
    printf("normalized ascent: S from %.4g to %.4g (maximum 0)\n", s0, -f);
    CHECK(rises);
    CHECK(-f > -0.05);
    CHECK(optim_evaluations(o) == 400);
    optim_free(o);
}

/* Same inputs, same bytes, for each optimizer. */
static void test_determinism(void)
{
    optim_kind kinds[] = {OPTIM_NORMALIZED, OPTIM_ADAM, OPTIM_LBFGS};
    int n = 10;
    for (int k = 0; k < 3; k++) {
        float x[2][10];
        size_t evals[2];
        for (int run_i = 0; run_i < 2; run_i++) {
            optim_params p = optim_defaults(kinds[k]);
            p.lr = kinds[k] == OPTIM_LBFGS ? 1 : 0.01;
            optimizer *o = NULL;
            REQUIRE(optim_create(&p, 10, &o) == ST_OK);
            rosenbrock_start(x[run_i], n);
            double f;
            for (int s = 0; s < 40; s++)
                CHECK_OK(optim_step(o, x[run_i], rosenbrock_fn, &n, &f));
            evals[run_i] = optim_evaluations(o);
            optim_free(o);
        }
        CHECK(memcmp(x[0], x[1], sizeof x[0]) == 0);
        CHECK(evals[0] == evals[1]);
    }
}

/* A callback that gives up (ST_INTERRUPTED) at evaluation `stop_at`, and a
 * Rosenbrock that is +∞ beyond x₀ > 1.5 (L-BFGS must back off). */
typedef struct { int n, calls, stop_at; } counted;

static status interrupting_fn(void *ctx, const float *x, float *g, double *f)
{
    counted *c = ctx;
    if (++c->calls == c->stop_at)
        return ST_INTERRUPTED;
    return rosenbrock_fn(&c->n, x, g, f);
}

static int wall_hits;

static status walled_fn(void *ctx, const float *x, float *g, double *f)
{
    status st = rosenbrock_fn(ctx, x, g, f);
    if (x[0] > 1.5f) {
        *f = INFINITY;
        wall_hits++;
    }
    return st;
}

static void test_interruption_and_walls(void)
{
    /* Interrupt every L-BFGS evaluation in turn: x is always left at the
     * last accepted point, i.e. where it was before the step. */
    for (int stop = 2; stop < 40; stop++) {
        optim_params p = optim_defaults(OPTIM_LBFGS);
        optimizer *o = NULL;
        REQUIRE(optim_create(&p, 2, &o) == ST_OK);
        counted c = {.n = 2, .stop_at = stop};
        float x[2], before[2];
        rosenbrock_start(x, 2);
        double f;
        status st = ST_OK;
        while (st == ST_OK) {
            memcpy(before, x, sizeof x);
            st = optim_step(o, x, interrupting_fn, &c, &f);
        }
        CHECK(st == ST_INTERRUPTED);
        CHECK(memcmp(before, x, sizeof x) == 0);
        optim_free(o);
    }

    /* Steps that land on +∞ are shortened; L-BFGS still converges. The
     * first step from (1.2, 1.8) moves x₀ by lr = 1 to 2.2: into the wall. */
    int n = 2;
    float x[2] = {1.2f, 1.8f};
    optim_params p = optim_defaults(OPTIM_LBFGS);
    optimizer *o = NULL;
    REQUIRE(optim_create(&p, 2, &o) == ST_OK);
    double f;
    for (int s = 0; s < 100 && !optim_converged(o); s++)
        CHECK_OK(optim_step(o, x, walled_fn, &n, &f));
    printf("lbfgs with a wall: at (%.6f, %.6f) after %zu evaluations\n", x[0], x[1],
           optim_evaluations(o));
    CHECK(distance_to_ones(x, 2) <= 1e-3);
    CHECK(wall_hits > 0);
    optim_free(o);
}

static status nan_fn(void *ctx, const float *x, float *g, double *f)
{
    (void)ctx;
    g[0] = NAN;
    g[1] = x[1];
    *f = 1;
    return ST_OK;
}

static status flat_fn(void *ctx, const float *x, float *g, double *f)
{
    (void)ctx;
    (void)x;
    g[0] = g[1] = 0;
    *f = 3;
    return ST_OK;
}

static void test_errors(void)
{
    optimizer *o = NULL;
    optim_params p = optim_defaults(OPTIM_ADAM);
    p.lr = 0;
    CHECK_FAILS_WITH(optim_create(&p, 5, &o), "adam: learning rate 0");
    p = optim_defaults(OPTIM_ADAM);
    p.beta2 = 1;
    CHECK_FAILS_WITH(optim_create(&p, 5, &o), "beta2 1");
    p = optim_defaults(OPTIM_LBFGS);
    p.history = 0;
    CHECK_FAILS_WITH(optim_create(&p, 5, &o), "lbfgs: history 0");
    p = optim_defaults(OPTIM_LBFGS);
    CHECK_FAILS_WITH(optim_create(&p, 0, &o), "0 values");
    CHECK_FAILS_WITH(optim_create(&p, SIZE_MAX / 2, &o), "");
    CHECK(o == NULL);

    /* A non-finite gradient is an error, and x is not touched. */
    optim_kind kinds[] = {OPTIM_NORMALIZED, OPTIM_ADAM, OPTIM_LBFGS};
    for (int k = 0; k < 3; k++) {
        p = optim_defaults(kinds[k]);
        REQUIRE(optim_create(&p, 2, &o) == ST_OK);
        float x[2] = {1, 2};
        double f;
        CHECK_FAILS_WITH(optim_step(o, x, nan_fn, NULL, &f), "not finite");
        CHECK(x[0] == 1 && x[1] == 2);
        optim_free(o);
    }

    /* A zero gradient: L-BFGS is converged after one evaluation, and stays. */
    p = optim_defaults(OPTIM_LBFGS);
    REQUIRE(optim_create(&p, 2, &o) == ST_OK);
    float x[2] = {1, 2};
    double f = 0;
    CHECK_OK(optim_step(o, x, flat_fn, NULL, &f));
    CHECK_OK(optim_step(o, x, flat_fn, NULL, &f));
    CHECK(optim_converged(o) && optim_evaluations(o) == 1 && f == 3);
    optim_restart(o);
    CHECK(!optim_converged(o));
    CHECK_OK(optim_step(o, x, flat_fn, NULL, &f));
    CHECK(optim_evaluations(o) == 2);
    optim_free(o);
}

int main(void)
{
    rng r;
    rng_seed(&r, 7);
    static quadratic q;
    quadratic_init(&q, 1e3, &r);
    test_minimise(&q);
    test_lbfgs_beats_gd(&q);
    test_update_rules();
    test_normalized_ascent(&r);
    test_determinism();
    test_interruption_and_walls();
    test_errors();
    return check_report("test_optim");
}
