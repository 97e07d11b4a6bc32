/* Class scores: which layer holds them, probabilities from them, and the
 * input gradient of one class's score or log-probability.
 *
 * Shapes: the score layer's activation is [N, C, rest...]; z[n, c] is the
 * mean of act[n, c, ...] over the `rest` values. A single score (C = 1) is a
 * logistic unit with two classes (see synth.h). */
#include "synth/synth.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct explainer {
    net_model *m;
    net_session *s;
    int layer;
    scores_kind kind;
    tensor seed; /* d J / d act, shaped like the score layer's output */
};

const char *scores_kind_name(scores_kind k)
{
    return k == SCORES_SOFTMAX ? "softmax" : k == SCORES_SIGMOID ? "sigmoid" : "probability";
}

static bool op_is(const net_model *m, int layer, const char *op)
{
    return strcmp(net_layer_op(m, layer), op) == 0;
}

/* True when a Sigmoid node reads `layer`. */
static bool read_by_sigmoid(const net_model *m, int layer)
{
    for (int l = layer + 1; l < net_layer_count(m); l++)
        if (op_is(m, l, "Sigmoid") && net_layer_input(m, l, 0) == layer)
            return true;
    return false;
}

static void find_scores(const net_model *m, int named, int *layer, scores_kind *kind)
{
    if (named >= 0) {
        *layer = named;
        *kind = op_is(m, named, "Softmax") || op_is(m, named, "Sigmoid") ? SCORES_PROBABILITY
                : read_by_sigmoid(m, named)                            ? SCORES_SIGMOID
                                                                       : SCORES_SOFTMAX;
        return;
    }
    int out = net_model_output_layer(m, 0), l = out;
    while ((op_is(m, l, "Flatten") || op_is(m, l, "Reshape") || op_is(m, l, "Identity")) &&
           net_layer_input(m, l, 0) >= 0)
        l = net_layer_input(m, l, 0);
    bool softmax = op_is(m, l, "Softmax"), sigmoid = op_is(m, l, "Sigmoid");
    if ((softmax || sigmoid) && net_layer_input(m, l, 0) >= 0) {
        *layer = net_layer_input(m, l, 0);
        *kind = softmax ? SCORES_SOFTMAX : SCORES_SIGMOID;
    } else {
        *layer = out;
        *kind = softmax || sigmoid ? SCORES_PROBABILITY : SCORES_SOFTMAX;
    }
}

status explainer_create(net_model *m, const char *score_layer, explainer **out)
{
    *out = NULL;
    int named = -1;
    if (score_layer && net_layer_find(m, score_layer, &named) != ST_OK)
        return error_prefix("--layer");
    if (net_model_output_count(m) < 1)
        return error_set(net_model_name(m), "the model has no output");
    explainer *e = alloc_array(1, sizeof *e, "explainer");
    if (!e)
        return ST_ERROR;
    e->m = m;
    find_scores(m, named, &e->layer, &e->kind);
    if (net_session_create(m, &e->s) != ST_OK) {
        free(e);
        return ST_ERROR;
    }
    *out = e;
    return ST_OK;
}

void explainer_free(explainer *e)
{
    if (!e)
        return;
    net_session_free(e->s);
    tensor_free(&e->seed);
    free(e);
}

net_session *explainer_session(const explainer *e) { return e->s; }
net_model *explainer_model(const explainer *e) { return e->m; }
int explainer_score_layer(const explainer *e) { return e->layer; }
scores_kind explainer_scores_kind(const explainer *e) { return e->kind; }

/* ---- scores and probabilities -------------------------------------------------- */

typedef struct {
    int64_t n, c;  /* items, channels */
    size_t rest;   /* values averaged into one score */
} score_geometry;

static status geometry_of(const explainer *e, const tensor *act, int64_t batch, score_geometry *g)
{
    char buf[96];
    if (act->ndim < 1 || (act->ndim == 1 && batch != 1) || (act->ndim >= 2 && act->shape[0] != batch) ||
        tensor_numel(act) == 0)
        return error_set(net_layer_name(e->m, e->layer),
                         "its output %s does not hold one row of class scores per input item "
                         "(%lld); the model's graph may fix its batch size",
                         shape_format(act->ndim, act->shape, buf, sizeof buf), (long long)batch);
    g->n = batch;
    g->c = act->ndim == 1 ? act->shape[0] : act->shape[1];
    g->rest = tensor_numel(act) / (size_t)g->n / (size_t)g->c;
    return ST_OK;
}

static int class_count(const score_geometry *g) { return g->c == 1 ? 2 : (int)g->c; }

static double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

/* z[c] = mean of item n's channel c. */
static void item_scores(const tensor *act, const score_geometry *g, int64_t n, double *z)
{
    const float *a = act->data + (size_t)n * (size_t)g->c * g->rest;
    for (int64_t c = 0; c < g->c; c++) {
        double sum = 0;
        for (size_t i = 0; i < g->rest; i++)
            sum += a[(size_t)c * g->rest + i];
        z[c] = sum / (double)g->rest;
    }
}

/* p[0..classes) from the C scores z. */
static void scores_to_probs(scores_kind kind, const double *z, int64_t c, double *p)
{
    if (c == 1) {
        p[1] = kind == SCORES_PROBABILITY ? z[0] : sigmoid(z[0]);
        p[0] = 1 - p[1];
    } else if (kind == SCORES_SOFTMAX) {
        double zmax = -INFINITY, sum = 0;
        for (int64_t k = 0; k < c; k++)
            zmax = fmax(zmax, z[k]);
        for (int64_t k = 0; k < c; k++)
            sum += (p[k] = exp(z[k] - zmax));
        for (int64_t k = 0; k < c; k++)
            p[k] /= sum;
    } else {
        for (int64_t k = 0; k < c; k++)
            p[k] = kind == SCORES_SIGMOID ? sigmoid(z[k]) : z[k];
    }
}

/* probs [N, classes] from the activation (allocated when probs->data is NULL).
 * z and p: scratch of C and classes doubles. */
static status fill_probs(const explainer *e, const tensor *act, const score_geometry *g, tensor *probs,
                         double *z, double *p)
{
    int64_t shape[2] = {g->n, class_count(g)};
    if (!probs->data && tensor_alloc(probs, 2, shape) != ST_OK)
        return ST_ERROR;
    if (probs->ndim != 2 || probs->shape[0] != shape[0] || probs->shape[1] != shape[1])
        return error_set("probabilities", "expected [%lld, %lld]", (long long)shape[0],
                         (long long)shape[1]);
    for (int64_t n = 0; n < g->n; n++) {
        item_scores(act, g, n, z);
        scores_to_probs(e->kind, z, g->c, p);
        for (int64_t k = 0; k < shape[1]; k++)
            probs->data[n * shape[1] + k] = (float)p[k];
    }
    return ST_OK;
}

/* Runs the forward and fills probs; scratch allocated here. */
static status forward_probs(explainer *e, const tensor *x, const int *layers, int nlayers,
                            bool for_backward, tensor *probs, score_geometry *g)
{
    if (x->ndim < 1 || x->shape[0] < 1)
        return error_set("input", "no items to run");
    net_forward_opts fo = {.for_backward = for_backward};
    status st = net_forward(e->s, x, 1, layers, nlayers, &fo);
    if (st != ST_OK)
        return st;
    const tensor *act = net_activation(e->s, e->layer);
    if (geometry_of(e, act, x->shape[0], g) != ST_OK)
        return ST_ERROR;
    double *z = alloc_array((size_t)g->c + 2, 2 * sizeof *z, "scores");
    if (!z)
        return ST_ERROR;
    st = probs ? fill_probs(e, act, g, probs, z, z + g->c + 2) : ST_OK;
    free(z);
    return st;
}

status explainer_predict(explainer *e, const tensor *x, tensor *probs)
{
    score_geometry g;
    return forward_probs(e, x, &e->layer, 1, false, probs, &g);
}

/* dJ/dz_c into dz[0..C) for J = S_k or log p_k of the single item, given its
 * probabilities p (classes). */
static void objective_dz(scores_kind kind, int64_t c, int k, class_objective obj, const double *p,
                         double *dz)
{
    if (c == 1) { /* class 1: S = z; class 0: S = -z (1 - z for probabilities) */
        double sign = k == 1 ? 1 : -1;
        if (obj == CLASS_SCORE)
            dz[0] = sign;
        else if (kind == SCORES_PROBABILITY) /* d log(p_k) / dz = sign / p_k */
            dz[0] = sign / fmax(p[k], DBL_MIN);
        else /* d log sigmoid(sign z) / dz = sign (1 - p_k) */
            dz[0] = sign * (1 - p[k]);
        return;
    }
    for (int64_t j = 0; j < c; j++) {
        double delta = j == k;
        if (obj == CLASS_SCORE)
            dz[j] = delta;
        else if (kind == SCORES_SOFTMAX)
            dz[j] = delta - p[j];
        else if (kind == SCORES_SIGMOID)
            dz[j] = delta * (1 - p[k]);
        else
            dz[j] = delta / fmax(p[k], DBL_MIN);
    }
}

status explainer_gradient(explainer *e, const tensor *x, int k, class_objective obj,
                          net_relu_backward relu, int keep, tensor *grad, tensor *probs)
{
    if (x->ndim < 1 || x->shape[0] != 1)
        return error_set("input", "gradients are taken for one item at a time (N = 1)");
    int layers[2] = {e->layer, keep};
    int nlayers = keep >= 0 && keep != e->layer ? 2 : 1;
    tensor own_probs = {0};
    tensor *pr = probs ? probs : &own_probs;
    score_geometry g;
    status st = forward_probs(e, x, layers, nlayers, true, pr, &g);
    if (st != ST_OK) {
        tensor_free(&own_probs);
        return st;
    }
    int classes = class_count(&g);
    double *p = alloc_array((size_t)classes + (size_t)g.c, sizeof *p, "scores");
    if (!p || k < 0 || k >= classes) {
        free(p);
        tensor_free(&own_probs);
        return p ? error_set("class", "%d: the scores have %d classes (0..%d)", k, classes, classes - 1)
                 : ST_ERROR;
    }
    double *dz = p + classes;
    for (int j = 0; j < classes; j++)
        p[j] = pr->data[j];
    tensor_free(&own_probs);
    objective_dz(e->kind, g.c, k, obj, p, dz);

    const tensor *act = net_activation(e->s, e->layer);
    if (!tensor_same_shape(&e->seed, act)) {
        tensor_free(&e->seed);
        if (tensor_alloc(&e->seed, act->ndim, act->shape) != ST_OK) {
            free(p);
            return ST_ERROR;
        }
    }
    for (int64_t c = 0; c < g.c; c++)
        for (size_t i = 0; i < g.rest; i++)
            e->seed.data[(size_t)c * g.rest + i] = (float)(dz[c] / (double)g.rest);
    free(p);
    if (!grad->data && tensor_alloc(grad, x->ndim, x->shape) != ST_OK)
        return ST_ERROR;
    if (!tensor_same_shape(grad, x))
        return error_set("gradient", "its shape does not match the input's");
    net_backward_opts bo = {.relu = relu, .keep_grad = keep >= 0 ? &keep : NULL, .nkeep_grad = keep >= 0};
    return net_backward(e->s, &e->layer, &e->seed, 1, &bo, grad);
}

typedef struct {
    float p;
    int index;
} ranked;

/* Descending p, then ascending index (NaN last). */
static int by_probability(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->p != y->p) {
        if (isnan(x->p) || isnan(y->p))
            return isnan(x->p) - isnan(y->p);
        return x->p > y->p ? -1 : 1;
    }
    return (x->index > y->index) - (x->index < y->index);
}

status explain_top_classes(const float *p, int n, int k, int *top)
{
    ranked *r = alloc_array((size_t)(n > 0 ? n : 1), sizeof *r, "classes");
    if (!r)
        return ST_ERROR;
    for (int c = 0; c < n; c++)
        r[c] = (ranked){p[c], c};
    qsort(r, (size_t)n, sizeof *r, by_probability);
    for (int j = 0; j < k && j < n; j++)
        top[j] = r[j].index;
    free(r);
    return ST_OK;
}
