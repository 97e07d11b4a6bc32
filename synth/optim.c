/* Optimizers on a flat float vector: creation and checks, the normalised
 * gradient step (DeepDream) and Adam. L-BFGS is in optim_lbfgs.c. All of
 * them minimise; maximising S is minimising −S (the objective's direction). */
#include "synth/optim_internal.h"
#include "synth/vec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
    [OPTIM_NORMALIZED] = "normalized", [OPTIM_ADAM] = "adam", [OPTIM_LBFGS] = "lbfgs"};

const char *optim_kind_name(optim_kind kind)
{
    return (unsigned)kind <= OPTIM_LBFGS ? kind_names[kind] : "unknown";
}

optim_params optim_defaults(optim_kind kind)
{
    optim_params p = {.kind = kind, .eps = 1e-8, .beta1 = 0.9, .beta2 = 0.999,
                      .history = 8, .max_evals = 20};
    p.lr = kind == OPTIM_NORMALIZED ? 1.5 : kind == OPTIM_ADAM ? 0.01 : 1.0;
    return p;
}

static status check_params(const optim_params *p)
{
    const char *name = optim_kind_name(p->kind);
    if ((unsigned)p->kind > OPTIM_LBFGS)
        return error_set("optimizer", "unknown kind %d", (int)p->kind);
    if (!isfinite(p->lr) || p->lr <= 0)
        return error_set(name, "learning rate %g must be a finite number > 0", p->lr);
    if (!isfinite(p->eps) || p->eps < 0)
        return error_set(name, "eps %g must be a finite number ≥ 0", p->eps);
    if (!(p->beta1 >= 0 && p->beta1 < 1) || !(p->beta2 >= 0 && p->beta2 < 1))
        return error_set(name, "beta1 %g and beta2 %g must lie in [0, 1)", p->beta1, p->beta2);
    if (p->history < 1 || p->history > 1000)
        return error_set(name, "history %d must be between 1 and 1000", p->history);
    if (p->max_evals < 2 || p->max_evals > 1000)
        return error_set(name, "max_evals %d must be between 2 and 1000", p->max_evals);
    return ST_OK;
}

status optim_create(const optim_params *p, size_t n, optimizer **out)
{
    *out = NULL;
    if (check_params(p) != ST_OK)
        return ST_ERROR;
    if (n == 0)
        return error_set(optim_kind_name(p->kind), "nothing to optimise (0 values)");
    optimizer *o = alloc_array(1, sizeof *o, "optimizer");
    if (!o)
        return ST_ERROR;
    o->p = *p;
    o->n = n;
    bool ok = (o->g = alloc_array(n, sizeof(float), "optimizer gradient")) != NULL;
    if (ok && p->kind == OPTIM_ADAM)
        ok = (o->m = alloc_array(n, sizeof(float), "adam moments")) &&
             (o->v = alloc_array(n, sizeof(float), "adam moments"));
    if (ok && p->kind == OPTIM_LBFGS) {
        size_t hn;
        ok = size_mul((size_t)p->history, n, &hn) &&
             (o->d = alloc_array(n, sizeof(float), "lbfgs direction")) &&
             (o->s = alloc_array(hn, sizeof(float), "lbfgs history")) &&
             (o->y = alloc_array(hn, sizeof(float), "lbfgs history")) &&
             (o->rho = alloc_array((size_t)p->history, sizeof(double), "lbfgs history")) &&
             (o->alpha = alloc_array((size_t)p->history, sizeof(double), "lbfgs history"));
    }
    if (!ok) {
        optim_free(o);
        return ST_ERROR;
    }
    *out = o;
    return ST_OK;
}

void optim_free(optimizer *o)
{
    if (!o)
        return;
    free(o->g);
    free(o->m);
    free(o->v);
    free(o->d);
    free(o->s);
    free(o->y);
    free(o->rho);
    free(o->alpha);
    free(o);
}

void optim_restart(optimizer *o)
{
    if (o->m) {
        memset(o->m, 0, o->n * sizeof *o->m);
        memset(o->v, 0, o->n * sizeof *o->v);
    }
    o->t = 0;
    o->pairs = 0;
    o->have_f = false;
    o->converged = false;
}

void optim_set_lr(optimizer *o, double lr) { o->p.lr = lr; }
size_t optim_evaluations(const optimizer *o) { return o->evaluations; }
bool optim_converged(const optimizer *o) { return o->converged; }

/* x, g: n. x ← x − lr · g / (mean|g| + eps). */
static void normalized_update(optimizer *o, float *x, double sum_abs)
{
    double mean_abs = sum_abs / (double)o->n;
    vec_axpy(x, (float)(-o->p.lr / (mean_abs + o->p.eps)), o->g, o->n);
}

/* x, g, m, v: n. PyTorch's Adam (no weight decay, no amsgrad):
 * m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
 * x ← x − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps). */
static void adam_update(optimizer *o, float *x)
{
    const optim_params *p = &o->p;
    o->t++;
    double bc1 = 1 - pow(p->beta1, (double)o->t), bc2 = 1 - pow(p->beta2, (double)o->t);
    float b1 = (float)p->beta1, b2 = (float)p->beta2;
    float step = (float)(p->lr / bc1), inv_sqrt_bc2 = (float)(1 / sqrt(bc2));
    float eps = (float)p->eps;
    const float *g = o->g;
    for (size_t i = 0; i < o->n; i++) {
        o->m[i] = b1 * o->m[i] + (1 - b1) * g[i];
        o->v[i] = b2 * o->v[i] + (1 - b2) * g[i] * g[i];
        x[i] -= step * o->m[i] / (sqrtf(o->v[i]) * inv_sqrt_bc2 + eps);
    }
}

status optim_step(optimizer *o, float *x, optim_fn fn, void *ctx, double *f)
{
    if (o->p.kind == OPTIM_LBFGS)
        return lbfgs_step(o, x, fn, ctx, f);
    double value = 0;
    o->evaluations++;
    status st = fn(ctx, x, o->g, &value);
    if (st != ST_OK)
        return st;
    double sum_abs = vec_sum_abs(o->g, o->n);
    if (!isfinite(value) || !isfinite(sum_abs))
        return error_set(optim_kind_name(o->p.kind),
                         "the objective or its gradient is not finite (value %g)", value);
    *f = value;
    if (o->p.kind == OPTIM_NORMALIZED)
        normalized_update(o, x, sum_abs);
    else
        adam_update(o, x);
    return ST_OK;
}
