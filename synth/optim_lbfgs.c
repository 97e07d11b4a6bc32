/* L-BFGS with a strong-Wolfe line search (Nocedal & Wright, Numerical
 * Optimization, 2nd ed.: alg. 7.4 for the two-loop recursion, alg. 3.5 and
 * 3.6 for the line search, eq. 3.59 for the cubic interpolation).
 *
 * Memory, n = length of x, m = history: s and y (m·n floats each), g and the
 * direction d (n each): (2m + 2)·n floats in all, and no allocation per step.
 * The line search needs two more vectors, its start point x₀ and the trial
 * gradient; they live in the history slot the next pair will be written to,
 * which is either unused or holds the oldest pair, no longer needed once the
 * direction is computed. On success that slot becomes the new pair in place:
 * s = x − x₀ and y = g_trial − g.
 *
 * One step: direction d = −H g (H from the stored pairs; −g when there are
 * none or when H g does not point downhill), line search along d from the
 * current x; when the line search fails with history, drop the history and
 * search along −g; when that fails too, x is at a numerical minimum. */
#include "synth/optim_internal.h"
#include "synth/vec.h"

#include <float.h>
#include <math.h>
#include <string.h>

static const double c1 = 1e-4;     /* sufficient decrease */
static const double c2 = 0.9;      /* curvature (strong Wolfe) */
static const double expand = 4.0;  /* step growth while bracketing */

static float *slot_s(optimizer *o, int i) { return o->s + (size_t)i * o->n; }
static float *slot_y(optimizer *o, int i) { return o->y + (size_t)i * o->n; }

/* d = −H g by the two-loop recursion over the stored pairs, newest first:
 *   q = g;  for i newest→oldest: αᵢ = ρᵢ sᵢᵀq, q −= αᵢ yᵢ
 *   r = γ q; for i oldest→newest: β = ρᵢ yᵢᵀr, r += (αᵢ − β) sᵢ
 *   d = −r. */
static void two_loop(optimizer *o)
{
    int m = o->p.history;
    size_t n = o->n;
    memcpy(o->d, o->g, n * sizeof *o->d);
    for (int k = 0, i = o->newest; k < o->pairs; k++, i = (i + m - 1) % m) {
        o->alpha[i] = o->rho[i] * vec_dot(slot_s(o, i), o->d, n);
        vec_axpy(o->d, (float)-o->alpha[i], slot_y(o, i), n);
    }
    vec_scale(o->d, (float)o->gamma, n);
    int oldest = (o->newest - o->pairs + 1 + m) % m;
    for (int k = 0, i = oldest; k < o->pairs; k++, i = (i + 1) % m) {
        double beta = o->rho[i] * vec_dot(slot_y(o, i), o->d, n);
        vec_axpy(o->d, (float)(o->alpha[i] - beta), slot_s(o, i), n);
    }
    vec_scale(o->d, -1.0f, n);
}

/* A point of the line search φ(t) = f(x₀ + t d): its value and slope. */
typedef struct { double t, f, slope; } ls_point;

typedef struct {
    optimizer *o;
    float *x;       /* the caller's x: the trial point */
    const float *x0; /* start point (scratch slot s) */
    float *gt;      /* trial gradient (scratch slot y) */
    optim_fn fn;
    void *ctx;
    double f0, slope0; /* φ(0), φ'(0) < 0 */
    int evals_left;
    double last_t; /* the step of the last evaluation: where x and gt are */
} line_search;

/* Evaluates φ(t) at x = x₀ + t d; a non-finite value or slope reads as
 * f = +∞ (a step too far). */
static status ls_eval(line_search *ls, double t, ls_point *p)
{
    optimizer *o = ls->o;
    float tf = (float)t;
    for (size_t i = 0; i < o->n; i++)
        ls->x[i] = ls->x0[i] + tf * o->d[i];
    double f = 0;
    o->evaluations++;
    ls->evals_left--;
    ls->last_t = t;
    status st = ls->fn(ls->ctx, ls->x, ls->gt, &f);
    if (st != ST_OK)
        return st;
    *p = (ls_point){.t = t, .f = f, .slope = vec_dot(ls->gt, o->d, o->n)};
    if (!isfinite(p->f) || !isfinite(p->slope))
        *p = (ls_point){.t = t, .f = INFINITY, .slope = NAN};
    return ST_OK;
}

static bool armijo(const line_search *ls, ls_point p)
{
    return p.f <= ls->f0 + c1 * p.t * ls->slope0;
}

static bool curvature(const line_search *ls, ls_point p)
{
    return fabs(p.slope) <= -c2 * ls->slope0;
}

/* The minimiser of the cubic through (a.t, a.f, a.slope) and (b.t, b.f,
 * b.slope), kept at least 10% of the interval away from both ends; the
 * midpoint when the cubic has no minimiser, and a tenth of the way from a
 * when b is not finite. */
static double interpolate(ls_point a, ls_point b)
{
    double lo = fmin(a.t, b.t), hi = fmax(a.t, b.t), margin = 0.1 * (hi - lo);
    if (!isfinite(b.f))
        return a.t + 0.1 * (b.t - a.t);
    double d1 = a.slope + b.slope - 3 * (a.f - b.f) / (a.t - b.t);
    double disc = d1 * d1 - a.slope * b.slope;
    if (!(disc >= 0))
        return 0.5 * (a.t + b.t);
    double d2 = copysign(sqrt(disc), b.t - a.t);
    double t = b.t - (b.t - a.t) * (b.slope + d2 - d1) / (b.slope - a.slope + 2 * d2);
    if (!isfinite(t))
        return 0.5 * (a.t + b.t);
    return fmin(fmax(t, lo + margin), hi - margin);
}

/* Alg. 3.6: lo satisfies sufficient decrease and has the lowest value so
 * far; the interval between lo and hi contains a strong-Wolfe step. On
 * success *best is the accepted point, the last one evaluated; otherwise
 * *best is lo (which may be t = 0). `t_tiny`: intervals narrower than this
 * no longer change x in float. */
static status zoom(line_search *ls, ls_point lo, ls_point hi, double t_tiny, ls_point *best,
                   bool *found)
{
    *found = false;
    while (ls->evals_left > 0 && fabs(hi.t - lo.t) > t_tiny) {
        ls_point p;
        status st = ls_eval(ls, interpolate(lo, hi), &p);
        if (st != ST_OK)
            return st;
        if (!armijo(ls, p) || p.f >= lo.f) {
            hi = p;
            continue;
        }
        if (curvature(ls, p)) {
            *best = p;
            *found = true;
            return ST_OK;
        }
        if (p.slope * (hi.t - lo.t) >= 0)
            hi = lo;
        lo = p;
    }
    *best = lo;
    return ST_OK;
}

/* Alg. 3.5: from t_init, grow the step until it brackets a strong-Wolfe
 * point, then zoom. *best: the accepted point (the last evaluated when
 * *found), else the best point with sufficient decrease (t = 0 if none). */
static status search(line_search *ls, double t_init, double t_tiny, ls_point *best, bool *found)
{
    ls_point prev = {.t = 0, .f = ls->f0, .slope = ls->slope0};
    double t = t_init;
    *found = false;
    *best = prev;
    for (int i = 0; ls->evals_left > 0; i++, t *= expand) {
        ls_point p;
        status st = ls_eval(ls, t, &p);
        if (st != ST_OK)
            return st;
        if (!armijo(ls, p) || (i > 0 && p.f >= prev.f))
            return zoom(ls, prev, p, t_tiny, best, found);
        if (curvature(ls, p)) {
            *best = p;
            *found = true;
            return ST_OK;
        }
        if (p.slope >= 0)
            return zoom(ls, p, prev, t_tiny, best, found);
        prev = *best = p;
    }
    return ST_OK;
}

/* Line search along o->d from x (value o->f, gradient o->g), using the slot
 * after the newest pair as scratch. On success x, o->f and o->g are the new
 * point's and the slot holds its (s, y) pair; *moved tells whether x moved. */
static status line_search_along_d(optimizer *o, float *x, optim_fn fn, void *ctx, double t_init,
                                  bool *moved)
{
    int slot = (o->newest + 1) % o->p.history;
    size_t n = o->n;
    float *x0 = slot_s(o, slot), *gt = slot_y(o, slot);
    if (o->pairs == o->p.history)
        o->pairs--; /* the oldest pair's slot becomes scratch */
    memcpy(x0, x, n * sizeof *x0);
    line_search ls = {.o = o, .x = x, .x0 = x0, .gt = gt, .fn = fn, .ctx = ctx, .f0 = o->f,
                      .slope0 = vec_dot(o->g, o->d, n), .evals_left = o->p.max_evals};
    double t_tiny = FLT_EPSILON * (1 + vec_max_abs(x0, n)) / vec_max_abs(o->d, n);
    ls_point best;
    bool found;
    status st = search(&ls, t_init, t_tiny, &best, &found);
    *moved = false;
    if (st == ST_OK && !found && best.t > 0 && best.t != ls.last_t)
        st = ls_eval(&ls, best.t, &best); /* the best decrease: back there for its g */
    if (st != ST_OK || best.t == 0 || !(best.f < o->f)) {
        memcpy(x, x0, n * sizeof *x); /* back to the last accepted point */
        return st;
    }
    /* x = x₀ + t d and gt = ∇f(x): make the slot the pair (s, y), g ← gt. */
    for (size_t i = 0; i < n; i++) {
        x0[i] = x[i] - x0[i];
        float g_new = gt[i];
        gt[i] = g_new - o->g[i];
        o->g[i] = g_new;
    }
    o->f = best.f;
    *moved = true;
    const float *s = x0, *y = gt;
    double sy = vec_dot(s, y, n), yy = vec_dot(y, y, n);
    if (sy > 1e-10 * yy && yy > 0) { /* keep only pairs of positive curvature */
        o->newest = slot;
        o->pairs++;
        o->rho[slot] = 1 / sy;
        o->gamma = sy / yy;
    }
    return ST_OK;
}

status lbfgs_step(optimizer *o, float *x, optim_fn fn, void *ctx, double *f)
{
    if (!o->have_f) {
        o->evaluations++;
        status st = fn(ctx, x, o->g, &o->f);
        if (st != ST_OK)
            return st;
        if (!isfinite(o->f) || !isfinite(vec_sum_abs(o->g, o->n)))
            return error_set("lbfgs", "the objective or its gradient is not finite (value %g)",
                             o->f);
        o->have_f = true;
    }
    /* With history: the quasi-Newton direction, natural step 1; if it does
     * not point downhill or its search fails, steepest descent with a first
     * step that moves no coordinate by more than lr. */
    while (!o->converged) {
        bool steepest = o->pairs == 0;
        double t_init = 1;
        if (!steepest) {
            two_loop(o);
            double slope = vec_dot(o->g, o->d, o->n);
            if (!(slope < 0))
                steepest = true;
        }
        if (steepest) {
            o->pairs = 0;
            memcpy(o->d, o->g, o->n * sizeof *o->d);
            vec_scale(o->d, -1.0f, o->n);
            double gmax = vec_max_abs(o->g, o->n);
            if (gmax == 0) {
                o->converged = true;
                break;
            }
            t_init = o->p.lr / gmax;
        }
        bool moved;
        status st = line_search_along_d(o, x, fn, ctx, t_init, &moved);
        if (st != ST_OK)
            return st;
        if (moved)
            break;
        if (steepest)
            o->converged = true;
        o->pairs = 0;
    }
    *f = o->f;
    return ST_OK;
}
