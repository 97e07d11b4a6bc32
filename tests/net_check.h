/* net_check.h — helpers for the net engine's tests: small graphs built
 * through net/graph.h, random inputs, and the finite-difference gradient
 * check. */
#ifndef SYNTH_TESTS_NET_CHECK_H
#define SYNTH_TESTS_NET_CHECK_H

#include "check.h"
#include "net/graph.h"

/* Fills t with uniform values in [lo, hi). */
static inline void fill_uniform(tensor *t, rng *r, double lo, double hi)
{
    for (size_t i = 0; i < tensor_numel(t); i++)
        t->data[i] = (float)(lo + (hi - lo) * rng_uniform(r));
}

/* Fills t with distinct values spaced `gap` apart around 0 (a random
 * permutation, none closer than gap / 2 to 0), so that finite differences
 * smaller than gap / 2 never cross a ReLU kink or reorder a max. */
static inline void fill_spaced(tensor *t, rng *r, double gap)
{
    size_t n = tensor_numel(t);
    for (size_t i = 0; i < n; i++)
        t->data[i] = (float)(((double)i - (double)(n / 2) + 0.5) * gap);
    for (size_t i = n; i > 1; i--) {
        size_t k = (size_t)rng_range(r, 0, (int64_t)i - 1);
        float tmp = t->data[i - 1];
        t->data[i - 1] = t->data[k];
        t->data[k] = tmp;
    }
}

static inline status make_tensor(tensor *t, int ndim, const int64_t *shape, rng *r, double lo,
                                 double hi)
{
    if (tensor_alloc(t, ndim, shape) != ST_OK)
        return ST_ERROR;
    fill_uniform(t, r, lo, hi);
    return ST_OK;
}

/* A constant with uniform values in [lo, hi) added to g; returns its id. */
static inline int add_random_constant(graph *g, const char *name, int ndim, const int64_t *shape,
                                      rng *r, double lo, double hi)
{
    tensor t;
    int id = -1;
    if (make_tensor(&t, ndim, shape, r, lo, hi) != ST_OK ||
        graph_add_constant(g, name, &t, &id) != ST_OK) {
        fprintf(stderr, "add_random_constant: %s\n", error_message());
        exit(1);
    }
    return id;
}

/* Σ r·y in double over the layer's output after a plain forward of x. */
static inline double objective(net_session *s, const tensor *x, int layer, const tensor *r,
                               const net_forward_opts *opts)
{
    net_forward_opts fo = opts ? *opts : (net_forward_opts){0};
    fo.for_backward = false;
    if (net_forward(s, x, 1, &layer, 1, &fo) != ST_OK) {
        fprintf(stderr, "forward failed: %s\n", error_message());
        exit(1);
    }
    const tensor *y = net_activation(s, layer);
    double j = 0;
    for (size_t i = 0; i < tensor_numel(y); i++)
        j += (double)r->data[i] * y->data[i];
    return j;
}

/* Checks d(Σ r·y)/dx from net_backward against central differences with
 * step eps, on up to `samples` elements of x (all when fewer). The error
 * allowed is tol · max(1, max |analytic|). Returns the worst error ratio
 * (error / allowed); <= 1 passes. `what` names the case in messages. */
static inline double gradient_check(net_model *m, const tensor *x0, int layer, double eps,
                                    double tol, int samples, const net_forward_opts *opts,
                                    const char *what)
{
    net_session *s;
    if (net_session_create(m, &s) != ST_OK)
        exit(1);
    tensor x, r, ga;
    if (tensor_alloc(&x, x0->ndim, x0->shape) != ST_OK ||
        tensor_alloc(&ga, x0->ndim, x0->shape) != ST_OK)
        exit(1);
    memcpy(x.data, x0->data, tensor_numel(&x) * sizeof(float));
    net_forward_opts fo = opts ? *opts : (net_forward_opts){0};
    fo.for_backward = true;
    if (net_forward(s, &x, 1, &layer, 1, &fo) != ST_OK) {
        fprintf(stderr, "%s: forward failed: %s\n", what, error_message());
        exit(1);
    }
    const tensor *y = net_activation(s, layer);
    rng gen;
    rng_seed(&gen, 1234);
    if (tensor_alloc(&r, y->ndim, y->shape) != ST_OK)
        exit(1);
    fill_uniform(&r, &gen, -1, 1);
    if (net_backward(s, &layer, &r, 1, NULL, &ga) != ST_OK) {
        fprintf(stderr, "%s: backward failed: %s\n", what, error_message());
        exit(1);
    }
    double scale = 1;
    for (size_t i = 0; i < tensor_numel(&ga); i++)
        scale = fabs(ga.data[i]) > scale ? fabs(ga.data[i]) : scale;
    size_t n = tensor_numel(&x);
    double worst = 0;
    for (int k = 0; k < (int)n && k < samples; k++) {
        size_t i = (int)n <= samples ? (size_t)k : (size_t)rng_range(&gen, 0, (int64_t)n - 1);
        float keep = x.data[i], xp = keep + (float)eps, xm = keep - (float)eps;
        x.data[i] = xp;
        double jp = objective(s, &x, layer, &r, opts);
        x.data[i] = xm;
        double jm = objective(s, &x, layer, &r, opts);
        x.data[i] = keep;
        double num = (jp - jm) / ((double)xp - (double)xm);
        double err = fabs(num - ga.data[i]) / (tol * scale);
        if (err > 1 && worst <= 1)
            fprintf(stderr, "%s: d/dx[%zu]: analytic %.7g, numeric %.7g\n", what, i, ga.data[i],
                    num);
        if (err > worst)
            worst = err;
    }
    tensor_free(&x);
    tensor_free(&r);
    tensor_free(&ga);
    net_session_free(s);
    return worst;
}

/* ---- a tiny graph builder for tests ------------------------------------------- */

typedef struct {
    graph *g;
    int x; /* the input */
    int last; /* the last value added */
} net_builder;

#define INPUTS(...) (const int[]){__VA_ARGS__}, (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int))

static inline void nb_begin(net_builder *b, int ndim, const int64_t *shape)
{
    if (graph_create(&b->g) != ST_OK || graph_add_input(b->g, "x", ndim, shape, &b->x) != ST_OK) {
        fprintf(stderr, "nb_begin: %s\n", error_message());
        exit(1);
    }
    b->last = b->x;
}

static inline int nb_const(net_builder *b, rng *r, double lo, double hi, int ndim,
                           const int64_t *shape)
{
    return add_random_constant(b->g, NULL, ndim, shape, r, lo, hi);
}

static inline int nb_node(net_builder *b, op_kind op, const op_attrs *a, const int *inputs, int n)
{
    int y;
    if (graph_add_node(b->g, op, NULL, inputs, n, a, NULL, &y) != ST_OK) {
        fprintf(stderr, "nb_node(%s): %s\n", op_name(op), error_message());
        exit(1);
    }
    return b->last = y;
}

/* Attributes of a 2-D Conv or pool: square kernel k (pools only; Conv takes
 * it from W), stride s, the same pad on every side. */
static inline op_attrs window_2d(op_kind op, int64_t k, int64_t s, int64_t pad)
{
    op_attrs a = op_attrs_default(op);
    a.window.nspatial = 2;
    for (int i = 0; i < 2; i++) {
        a.window.kernel[i] = op == OP_CONV ? 0 : k;
        a.window.strides[i] = s;
    }
    for (int i = 0; i < 4; i++)
        a.window.pads[i] = pad;
    return a;
}

/* Finalizes into a model; *layer is the node producing the last value. */
static inline net_model *nb_model(net_builder *b, int *layer)
{
    net_model *m;
    if (model_from_graph(b->g, "test", &m) != ST_OK) {
        fprintf(stderr, "nb_model: %s\n", error_message());
        exit(1);
    }
    *layer = m->g->values[b->last].node;
    return m;
}

/* A copy of the layer's output after a forward of x. */
static inline void forward_copy(net_model *m, const tensor *x, int layer,
                                const net_forward_opts *opts, tensor *out)
{
    net_session *s;
    if (net_session_create(m, &s) != ST_OK || net_forward(s, x, 1, &layer, 1, opts) != ST_OK ||
        tensor_alloc(out, net_activation(s, layer)->ndim, net_activation(s, layer)->shape) !=
            ST_OK) {
        fprintf(stderr, "forward_copy: %s\n", error_message());
        exit(1);
    }
    memcpy(out->data, net_activation(s, layer)->data, tensor_numel(out) * sizeof(float));
    net_session_free(s);
}

/* max |a - ref| over the tensor, ref in double. */
static inline double max_diff(const tensor *a, const double *ref)
{
    double worst = 0;
    for (size_t i = 0; i < tensor_numel(a); i++)
        worst = fmax(worst, fabs(a->data[i] - ref[i]));
    return worst;
}

#endif
