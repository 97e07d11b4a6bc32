/* Adversarial examples: FGSM and its iterated form (Goodfellow et al. 2015;
 * Kurakin et al. 2017), targeted or not.
 *
 * The moves are made in "u" units, where eps is measured: u = x for a raw
 * tensor; for an image's network input x[k] = a_k · u + b_k per channel k
 * (a_k = scale / std_k, b_k = -mean_k / std_k), u being the image values in
 * the network's channel order. Since a_k > 0, sign(dJ/du) = sign(dJ/dx).
 * Shapes: x [1, C, ...]; with an image, [1, 3, H, W]. */
#include "synth/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const net_preprocess *pre;
    size_t plane; /* values per channel */
    int64_t channels;
} units;

static void channel_map(const units *u, int64_t k, double *a, double *b)
{
    *a = 1;
    *b = 0;
    if (u->pre) {
        *a = u->pre->scale / u->pre->std[k];
        *b = -u->pre->mean[k] / u->pre->std[k];
    }
}

/* u[i] of x into out[i] (doubles). */
static void to_units(const units *u, const float *x, double *out)
{
    for (int64_t k = 0; k < u->channels; k++) {
        double a, b;
        channel_map(u, k, &a, &b);
        for (size_t i = 0; i < u->plane; i++)
            out[(size_t)k * u->plane + i] = ((double)x[(size_t)k * u->plane + i] - b) / a;
    }
}

static void from_units(const units *u, const double *v, float *x)
{
    for (int64_t k = 0; k < u->channels; k++) {
        double a, b;
        channel_map(u, k, &a, &b);
        for (size_t i = 0; i < u->plane; i++)
            x[(size_t)k * u->plane + i] = (float)(a * v[(size_t)k * u->plane + i] + b);
    }
}

static status check_options(const tensor *x, const adversarial_options *o)
{
    char buf[96];
    if (x->ndim < 2 || x->shape[0] != 1)
        return error_set("input", "expected one item [1, C, ...], got %s",
                         shape_format(x->ndim, x->shape, buf, sizeof buf));
    if (o->pre && (x->ndim != 4 || x->shape[1] != 3))
        return error_set("input", "an image's network input is 1x3xHxW, not %s",
                         shape_format(x->ndim, x->shape, buf, sizeof buf));
    if (!(o->eps > 0) || !isfinite(o->eps))
        return error_set("--eps", "must be a finite number > 0");
    if (o->method == ADVERSARIAL_IFGSM && o->steps < 1)
        return error_set("--steps", "must be at least 1");
    if (!(o->step >= 0) || !isfinite(o->step))
        return error_set("--step", "must be a finite number > 0");
    return ST_OK;
}

status explain_adversarial(explainer *e, tensor *x, const adversarial_options *o,
                           adversarial_result *r)
{
    memset(r, 0, sizeof *r);
    if (check_options(x, o) != ST_OK)
        return ST_ERROR;
    status st = explainer_predict(e, x, &r->before);
    if (st != ST_OK)
        return st;
    int classes = (int)r->before.shape[1];
    if (explain_top_classes(r->before.data, classes, 1, &r->predicted) != ST_OK)
        goto fail;
    if (o->target >= classes) {
        error_set("--target-class", "%d: the scores have %d classes (0..%d)", o->target, classes,
                  classes - 1);
        goto fail;
    }
    /* Targeted: ascend S_target. Untargeted: ascend -log p_predicted. */
    bool targeted = o->target >= 0;
    int k = targeted ? o->target : r->predicted;
    class_objective obj = targeted ? CLASS_SCORE : CLASS_LOGPROB;
    double direction = targeted ? 1 : -1;
    int steps = o->method == ADVERSARIAL_FGSM ? 1 : o->steps;
    double step = o->method == ADVERSARIAL_FGSM ? o->eps : o->step > 0 ? o->step : o->eps / steps;

    size_t n = tensor_numel(x);
    units u = {o->pre, n / (size_t)x->shape[1], x->shape[1]};
    double *u0 = alloc_array(n, 2 * sizeof *u0, "adversarial");
    tensor g = {0};
    if (!u0)
        goto fail;
    double *v = u0 + n;
    to_units(&u, x->data, u0);
    memcpy(v, u0, n * sizeof *v);
    for (int s = 0; s < steps; s++) {
        if (interrupt_signal) {
            error_set("adversarial", "interrupted");
            st = ST_INTERRUPTED;
            goto done;
        }
        if ((st = explainer_gradient(e, x, k, obj, NET_RELU_STANDARD, -1, &g, NULL)) != ST_OK)
            goto done;
        for (size_t i = 0; i < n; i++) {
            double sign = (g.data[i] > 0) - (g.data[i] < 0);
            double w = v[i] + direction * step * sign;
            w = fmin(fmax(w, u0[i] - o->eps), u0[i] + o->eps); /* the eps-ball */
            v[i] = o->pre ? fmin(fmax(w, 0), 1) : w;           /* the valid range */
        }
        from_units(&u, v, x->data);
    }
    if (o->pre) { /* what an 8-bit file holds */
        for (size_t i = 0; i < n; i++)
            v[i] = round(v[i] * 255) / 255;
        from_units(&u, v, x->data);
    }
    for (size_t i = 0; i < n; i++)
        r->linf = fmax(r->linf, fabs(v[i] - u0[i]));
    st = explainer_predict(e, x, &r->after);
done:
    free(u0);
    tensor_free(&g);
    if (st != ST_OK)
        adversarial_result_free(r);
    return st;
fail:
    adversarial_result_free(r);
    return ST_ERROR;
}

void adversarial_result_free(adversarial_result *r)
{
    tensor_free(&r->before);
    tensor_free(&r->after);
}
