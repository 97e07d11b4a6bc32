/* The built-in network: VGG-19's convolutional part (Simonyan & Zisserman
 * 2015) — conv1_1 … conv5_4, 3×3 convs with pad 1, a ReLU after each, 2×2
 * max pools pool1 … pool5, widths 64, 128, 256, 512, 512 — with seeded
 * random weights instead of trained ones, so every command works without a
 * download. It has no classifier.
 *
 * Weight recipe (every picture made with --model default depends on it, and
 * test_net_builtin pins it):
 *   conv layer l (conv1_1 = 0 … conv5_4 = 15), output filter o, fan_in =
 *   C_in·3·3:
 *     rng_seed(r, BUILTIN_SEED + (l << 32) + o)
 *     z_0, z_1, … standard normals by Box–Muller on pairs of draws
 *       (u1 = 1 − rng_uniform, u2 = rng_uniform; r = √(−2 ln u1);
 *        z_2k = r cos 2πu2, z_2k+1 = r sin 2πu2), in weight order [c][ky][kx]
 *     w = √(2 / fan_in) · z                       (He-normal)
 *     w −= mean(w)                                (zero-mean filter)
 *   biases are 0.
 * Zero-mean filters answer to structure, not to brightness; He scaling keeps
 * activations at a steady scale through the ReLUs. Each layer is generated
 * only when a run first needs it, its filters in parallel.
 */
#include "net/graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUILTIN_SEED 0x5EED0019C0FFEEull

typedef struct {
    int layer;
    int64_t fan_in;
    float *w;
} fill_job;

static void fill_filters(void *ctx, int64_t o0, int64_t o1, int thread)
{
    (void)thread;
    const fill_job *j = ctx;
    const double two_pi = 6.283185307179586476925;
    double scale = sqrt(2.0 / (double)j->fan_in);
    for (int64_t o = o0; o < o1; o++) {
        rng r;
        rng_seed(&r, BUILTIN_SEED + ((uint64_t)j->layer << 32) + (uint64_t)o);
        float *w = j->w + o * j->fan_in;
        double sum = 0;
        for (int64_t i = 0; i < j->fan_in; i += 2) {
            double u1 = 1.0 - rng_uniform(&r), u2 = rng_uniform(&r);
            double rad = sqrt(-2.0 * log(u1));
            w[i] = (float)(scale * rad * cos(two_pi * u2));
            sum += w[i];
            if (i + 1 < j->fan_in) {
                w[i + 1] = (float)(scale * rad * sin(two_pi * u2));
                sum += w[i + 1];
            }
        }
        float mean = (float)(sum / (double)j->fan_in);
        for (int64_t i = 0; i < j->fan_in; i++)
            w[i] -= mean;
    }
}

static status fill_weights(void *ctx, int value, tensor *t)
{
    (void)value;
    fill_job j = {(int)(intptr_t)ctx - 1, t->shape[1] * t->shape[2] * t->shape[3], t->data};
    parallel_for(t->shape[0], fill_filters, &j);
    return ST_OK;
}

status builtin_vgg_graph(graph **out)
{
    static const int widths[5] = {64, 128, 256, 512, 512};
    static const int convs[5] = {2, 2, 4, 4, 4};
    graph *g;
    if (graph_create(&g) != ST_OK)
        return ST_ERROR;
    int64_t in_shape[4] = {1, 3, 224, 224};
    int x;
    if (graph_add_input(g, "input", 4, in_shape, &x) != ST_OK)
        goto fail;
    int64_t channels = 3;
    int layer = 0;
    for (int b = 0; b < 5; b++) {
        for (int i = 1; i <= convs[b]; i++, layer++) {
            char name[32], wname[48], bname[48];
            snprintf(name, sizeof name, "conv%d_%d", b + 1, i);
            snprintf(wname, sizeof wname, "%s.weight", name);
            snprintf(bname, sizeof bname, "%s.bias", name);
            int64_t wshape[4] = {widths[b], channels, 3, 3}, bshape[1] = {widths[b]};
            int inputs[3];
            inputs[0] = x;
            if (graph_add_lazy_constant(g, wname, 4, wshape, fill_weights,
                                        (void *)(intptr_t)(layer + 1), &inputs[1]) != ST_OK ||
                graph_add_lazy_constant(g, bname, 1, bshape, NULL, NULL, &inputs[2]) != ST_OK)
                goto fail;
            op_attrs conv = op_attrs_default(OP_CONV);
            conv.window.nspatial = 2;
            for (int k = 0; k < 4; k++)
                conv.window.pads[k] = 1;
            if (graph_add_node(g, OP_CONV, name, inputs, 3, &conv, name, &x) != ST_OK)
                goto fail;
            snprintf(name, sizeof name, "relu%d_%d", b + 1, i);
            if (graph_add_node(g, OP_RELU, name, &x, 1, NULL, name, &x) != ST_OK)
                goto fail;
            channels = widths[b];
        }
        char name[16];
        snprintf(name, sizeof name, "pool%d", b + 1);
        op_attrs pool = op_attrs_default(OP_MAX_POOL);
        pool.window.nspatial = 2;
        pool.window.kernel[0] = pool.window.kernel[1] = 2;
        pool.window.strides[0] = pool.window.strides[1] = 2;
        if (graph_add_node(g, OP_MAX_POOL, name, &x, 1, &pool, name, &x) != ST_OK)
            goto fail;
    }
    if (graph_mark_output(g, x) != ST_OK)
        goto fail;
    *out = g;
    return ST_OK;
fail:
    graph_free(g);
    return ST_ERROR;
}
