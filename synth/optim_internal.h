/* optim_internal.h — private to synth/: the optimizer state shared by
 * optim.c (creation, normalized gradient, Adam) and optim_lbfgs.c. */
#ifndef SYNTH_OPTIM_INTERNAL_H
#define SYNTH_OPTIM_INTERNAL_H

#include "synth/synth.h"

struct optimizer {
    optim_params p;
    size_t n;           /* length of x */
    size_t evaluations; /* calls of fn */
    float *g;           /* n: the gradient at the current point */
    /* ADAM */
    float *m, *v; /* n each: first and second moments */
    long t;       /* steps taken */
    /* LBFGS: history slot i is (s + i·n, y + i·n), i in 0..history−1, a
     * ring: the newest pair is at `newest`, the older ones before it. */
    float *d;            /* n: the search direction */
    float *s, *y;        /* history·n each */
    double *rho, *alpha; /* history each: 1/sᵢᵀyᵢ, two-loop coefficients */
    double gamma;        /* H₀ = γI, γ = sᵀy / yᵀy of the newest pair */
    int pairs, newest;
    double f;     /* f at x, valid when have_f */
    bool have_f;  /* f and g are those of the current x */
    bool converged;
};

status lbfgs_step(optimizer *o, float *x, optim_fn fn, void *ctx, double *f);

#endif
