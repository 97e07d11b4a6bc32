/* Every op but Conv (test_net_conv.c): forward against a plain reference in
 * double, and the gradient to the input against central finite differences
 * (objective accumulated in double), over odd sizes, 1-D to 5-D shapes,
 * batches, strides, pads, dilations, ceil_mode and broadcasting. Inputs of
 * piecewise-linear ops are spaced so no finite difference crosses a kink. */
#include "net_check.h"

static rng gen;

#define SHAPE(...)                                                                                 \
    (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]) { __VA_ARGS__ }

/* Makes x with `ndim`/`shape`: spaced values (gap) or uniform in [lo, hi). */
static tensor input_spaced(int ndim, const int64_t *shape, double gap)
{
    tensor x;
    REQUIRE(tensor_alloc(&x, ndim, shape) == ST_OK);
    fill_spaced(&x, &gen, gap);
    return x;
}

static tensor input_uniform(int ndim, const int64_t *shape, double lo, double hi)
{
    tensor x;
    REQUIRE(make_tensor(&x, ndim, shape, &gen, lo, hi) == ST_OK);
    return x;
}

/* Forward matches ref (to tol) and the gradient check passes. */
static void check_op(net_model *m, int layer, const tensor *x, const double *ref, double tol,
                     double eps, const net_forward_opts *opts, const char *what)
{
    if (ref) {
        tensor y;
        forward_copy(m, x, layer, opts, &y);
        double d = max_diff(&y, ref);
        if (d > tol)
            fprintf(stderr, "%s: forward differs by %g\n", what, d);
        CHECK(d <= tol);
        tensor_free(&y);
    }
    CHECK(gradient_check(m, x, layer, eps, 2e-3, 400, opts, what) <= 1);
}

/* ---- activations ------------------------------------------------------------------ */

static double activation_ref(op_kind op, double x)
{
    switch (op) {
    case OP_RELU: return x > 0 ? x : 0;
    case OP_LEAKY_RELU: return x > 0 ? x : 0.1 * x;
    case OP_CLIP: return x < -0.3 ? -0.3 : x > 0.4 ? 0.4 : x;
    case OP_SIGMOID: return 1 / (1 + exp(-x));
    case OP_TANH: return tanh(x);
    default: return 0;
    }
}

static void test_activations(void)
{
    const op_kind ops[] = {OP_RELU, OP_LEAKY_RELU, OP_CLIP, OP_SIGMOID, OP_TANH};
    const int64_t shapes[4][5] = {{37}, {3, 5}, {2, 3, 5, 7}, {2, 1, 3, 2, 3}};
    const int ranks[4] = {1, 2, 4, 5};
    for (int o = 0; o < 5; o++)
        for (int s = 0; s < 4; s++)
            for (int bounds_as_inputs = 0; bounds_as_inputs < (ops[o] == OP_CLIP ? 2 : 1);
                 bounds_as_inputs++) {
                net_builder b;
                nb_begin(&b, ranks[s], shapes[s]);
                op_attrs a = op_attrs_default(ops[o]);
                a.leaky_relu.alpha = 0.1f;
                int in[3] = {b.x, -1, -1}, n = 1;
                if (ops[o] == OP_CLIP && bounds_as_inputs) {
                    tensor lo, hi;
                    REQUIRE(tensor_alloc(&lo, 0, NULL) == ST_OK &&
                            tensor_alloc(&hi, 0, NULL) == ST_OK);
                    lo.data[0] = -0.3f;
                    hi.data[0] = 0.4f;
                    REQUIRE(graph_add_constant(b.g, "min", &lo, &in[1]) == ST_OK);
                    REQUIRE(graph_add_constant(b.g, "max", &hi, &in[2]) == ST_OK);
                    n = 3;
                } else {
                    a.clip.min = -0.3f;
                    a.clip.max = 0.4f;
                }
                nb_node(&b, ops[o], &a, in, n);
                int layer;
                net_model *m = nb_model(&b, &layer);
                /* Spaced by 0.02 around 0, with none near the Clip bounds. */
                tensor x = input_spaced(ranks[s], shapes[s], 0.02);
                for (size_t i = 0; i < tensor_numel(&x); i++)
                    if (fabs(x.data[i] + 0.3) < 0.006 || fabs(x.data[i] - 0.4) < 0.006)
                        x.data[i] += 0.01f;
                double *ref = calloc(tensor_numel(&x), sizeof *ref);
                for (size_t i = 0; i < tensor_numel(&x); i++)
                    ref[i] = activation_ref(ops[o], x.data[i]);
                char what[64];
                snprintf(what, sizeof what, "%s rank %d%s", op_name(ops[o]), ranks[s],
                         bounds_as_inputs ? " (bounds as inputs)" : "");
                check_op(m, layer, &x, ref, 1e-6, 2e-3, NULL, what);
                free(ref);
                tensor_free(&x);
                net_model_close(m);
            }
}

/* ---- pools -------------------------------------------------------------------------- */

typedef struct {
    op_kind op;
    int nsp;
    int64_t n, c, in[3], k[3], s[3], d[3], pads[6];
    bool ceil, include_pad, circular;
    auto_pad_mode auto_pad;
} pool_case;

/* Output size and leading pad along one axis, per the ONNX spec with
 * PyTorch's ceil_mode rule, written here independently of the engine. */
static void pool_axis(const pool_case *pc, int a, int64_t *out, int64_t *pb, int64_t *pe)
{
    int64_t ext = (pc->k[a] - 1) * pc->d[a] + 1, in = pc->in[a];
    *pb = pc->pads[a];
    *pe = pc->pads[pc->nsp + a];
    if (pc->auto_pad == AUTO_PAD_SAME_UPPER || pc->auto_pad == AUTO_PAD_SAME_LOWER) {
        *out = (in + pc->s[a] - 1) / pc->s[a];
        int64_t total = (*out - 1) * pc->s[a] + ext - in;
        total = total < 0 ? 0 : total;
        *pb = pc->auto_pad == AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        *pe = total - *pb;
        return;
    }
    int64_t span = in + *pb + *pe - ext;
    *out = (pc->ceil ? (span + pc->s[a] - 1) / pc->s[a] : span / pc->s[a]) + 1;
    if (pc->ceil && (*out - 1) * pc->s[a] >= in + *pb)
        (*out)--;
}

static void pool_reference(const pool_case *pc, const tensor *x, double *y)
{
    int64_t out[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0}, in[3] = {1, 1, 1},
            k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1};
    int off = 3 - pc->nsp;
    for (int a = 0; a < pc->nsp; a++) {
        pool_axis(pc, a, &out[off + a], &pb[off + a], &pe[off + a]);
        in[off + a] = pc->in[a];
        k[off + a] = pc->k[a];
        s[off + a] = pc->s[a];
        d[off + a] = pc->d[a];
    }
    int64_t plane = in[0] * in[1] * in[2], i = 0;
    for (int64_t p = 0; p < pc->n * pc->c; p++)
        for (int64_t o0 = 0; o0 < out[0]; o0++)
            for (int64_t o1 = 0; o1 < out[1]; o1++)
                for (int64_t o2 = 0; o2 < out[2]; o2++, i++) {
                    double best = -INFINITY, sum = 0;
                    int64_t count = 0, padded = 0;
                    for (int64_t k0 = 0; k0 < k[0]; k0++)
                        for (int64_t k1 = 0; k1 < k[1]; k1++)
                            for (int64_t k2 = 0; k2 < k[2]; k2++) {
                                int64_t pos[3] = {o0 * s[0] - pb[0] + k0 * d[0],
                                                  o1 * s[1] - pb[1] + k1 * d[1],
                                                  o2 * s[2] - pb[2] + k2 * d[2]};
                                bool inside = true, in_pads = true;
                                for (int a = 0; a < 3; a++) {
                                    in_pads &= pos[a] >= -pb[a] && pos[a] < in[a] + pe[a];
                                    if (pc->circular)
                                        pos[a] = ((pos[a] % in[a]) + in[a]) % in[a];
                                    inside &= pos[a] >= 0 && pos[a] < in[a];
                                }
                                padded += in_pads;
                                if (!inside || (pc->circular && !in_pads))
                                    continue;
                                double v =
                                    x->data[p * plane + (pos[0] * in[1] + pos[1]) * in[2] + pos[2]];
                                best = fmax(best, v);
                                sum += v;
                                count++;
                            }
                    y[i] = pc->op == OP_MAX_POOL ? best
                                                 : sum / (double)(pc->include_pad ? padded : count);
                }
}

static void test_pools(void)
{
    const pool_case cases[] = {
        {OP_MAX_POOL, 2, 1, 2, {8, 8}, {2, 2}, {2, 2}, {1, 1}, {0}, false, false, false, AUTO_PAD_NOTSET},
        {OP_MAX_POOL, 2, 2, 3, {7, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, true, false, false, AUTO_PAD_NOTSET},
        {OP_MAX_POOL, 2, 1, 2, {9, 8}, {3, 2}, {2, 3}, {2, 1}, {0, 1, 2, 0}, false, false, false, AUTO_PAD_NOTSET},
        {OP_MAX_POOL, 2, 1, 1, {6, 7}, {3, 3}, {2, 2}, {1, 1}, {0}, false, false, false, AUTO_PAD_SAME_UPPER},
        {OP_MAX_POOL, 2, 1, 1, {6, 7}, {2, 2}, {2, 1}, {1, 1}, {0}, false, false, false, AUTO_PAD_SAME_LOWER},
        {OP_MAX_POOL, 1, 2, 3, {11}, {3}, {2}, {1}, {1, 0}, true, false, false, AUTO_PAD_NOTSET},
        {OP_MAX_POOL, 3, 1, 2, {4, 5, 5}, {2, 3, 2}, {2, 2, 1}, {1, 1, 1}, {0, 1, 0, 1, 0, 1}, false, false, false, AUTO_PAD_NOTSET},
        {OP_MAX_POOL, 2, 1, 2, {7, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, false, false, true, AUTO_PAD_NOTSET},
        {OP_AVERAGE_POOL, 2, 1, 2, {7, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, false, false, false, AUTO_PAD_NOTSET},
        {OP_AVERAGE_POOL, 2, 1, 2, {7, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 2, 0, 1}, true, true, false, AUTO_PAD_NOTSET},
        {OP_AVERAGE_POOL, 2, 2, 1, {8, 7}, {3, 2}, {2, 2}, {1, 1}, {0}, true, false, false, AUTO_PAD_NOTSET},
        {OP_AVERAGE_POOL, 1, 1, 3, {10}, {4}, {3}, {1}, {2, 1}, false, true, false, AUTO_PAD_NOTSET},
        {OP_AVERAGE_POOL, 3, 1, 2, {5, 4, 6}, {3, 2, 3}, {2, 1, 2}, {1, 1, 1}, {1, 0, 1, 1, 0, 1}, false, false, false, AUTO_PAD_NOTSET},
        {OP_AVERAGE_POOL, 2, 1, 2, {6, 7}, {3, 3}, {1, 2}, {1, 1}, {1, 1, 1, 1}, false, false, true, AUTO_PAD_NOTSET},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const pool_case *pc = &cases[ci];
        int64_t xs[5] = {pc->n, pc->c};
        for (int a = 0; a < pc->nsp; a++)
            xs[2 + a] = pc->in[a];
        net_builder b;
        nb_begin(&b, 2 + pc->nsp, xs);
        op_attrs at = op_attrs_default(pc->op);
        at.window.nspatial = pc->nsp;
        for (int a = 0; a < pc->nsp; a++) {
            at.window.kernel[a] = pc->k[a];
            at.window.strides[a] = pc->s[a];
            at.window.dilations[a] = pc->op == OP_MAX_POOL ? pc->d[a] : 0;
        }
        memcpy(at.window.pads, pc->pads, sizeof pc->pads);
        at.window.ceil_mode = pc->ceil;
        at.window.count_include_pad = pc->include_pad;
        at.window.auto_pad = pc->auto_pad;
        nb_node(&b, pc->op, &at, INPUTS(b.x));
        int layer;
        net_model *m = nb_model(&b, &layer);
        tensor x = input_spaced(2 + pc->nsp, xs, 0.01);
        net_forward_opts fo = {.circular_padding = pc->circular};
        tensor y;
        forward_copy(m, &x, layer, &fo, &y);
        double *ref = calloc(tensor_numel(&y), sizeof *ref);
        pool_reference(pc, &x, ref);
        char what[96];
        snprintf(what, sizeof what, "pool case %zu (%s, %d-D%s%s%s)", ci, op_name(pc->op), pc->nsp,
                 pc->ceil ? ", ceil" : "", pc->include_pad ? ", include pad" : "",
                 pc->circular ? ", circular" : "");
        check_op(m, layer, &x, ref, 1e-5, 2e-3, &fo, what);
        free(ref);
        tensor_free(&y);
        tensor_free(&x);
        net_model_close(m);
    }
}

static void test_global_pools(void)
{
    const op_kind ops[] = {OP_GLOBAL_AVERAGE_POOL, OP_GLOBAL_MAX_POOL};
    for (int o = 0; o < 2; o++)
        for (int rank = 3; rank <= 5; rank++) {
            int64_t xs[5] = {2, 3, 5, 4, 3};
            net_builder b;
            nb_begin(&b, rank, xs);
            nb_node(&b, ops[o], NULL, INPUTS(b.x));
            int layer;
            net_model *m = nb_model(&b, &layer);
            tensor x = input_spaced(rank, xs, 0.01);
            int64_t plane = (int64_t)tensor_numel(&x) / 6;
            double ref[6];
            for (int p = 0; p < 6; p++) {
                double sum = 0, best = -INFINITY;
                for (int64_t i = 0; i < plane; i++) {
                    sum += x.data[p * plane + i];
                    best = fmax(best, x.data[p * plane + i]);
                }
                ref[p] = o == 0 ? sum / (double)plane : best;
            }
            char what[64];
            snprintf(what, sizeof what, "%s rank %d", op_name(ops[o]), rank);
            check_op(m, layer, &x, ref, 1e-6, 2e-3, NULL, what);
            tensor_free(&x);
            net_model_close(m);
        }
}

/* ---- LRN, BatchNormalization, Softmax ----------------------------------------------------- */

static void test_lrn(void)
{
    const int64_t sizes[] = {1, 3, 4, 5};
    for (int si = 0; si < 4; si++) {
        int64_t xs[4] = {2, 7, 3, 4};
        net_builder b;
        nb_begin(&b, 4, xs);
        op_attrs a = op_attrs_default(OP_LRN);
        a.lrn.size = sizes[si];
        a.lrn.alpha = 0.5f; /* large enough that the normalization matters */
        a.lrn.beta = 0.75f;
        a.lrn.bias = 2.0f;
        nb_node(&b, OP_LRN, &a, INPUTS(b.x));
        int layer;
        net_model *m = nb_model(&b, &layer);
        tensor x = input_uniform(4, xs, -2, 2);
        double *ref = calloc(tensor_numel(&x), sizeof *ref);
        int64_t C = 7, P = 12;
        for (int64_t n = 0; n < 2; n++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t p = 0; p < P; p++) {
                    double sq = 0;
                    for (int64_t i = c - (sizes[si] - 1) / 2; i <= c + sizes[si] / 2; i++)
                        if (i >= 0 && i < C)
                            sq += pow(x.data[(n * C + i) * P + p], 2);
                    ref[(n * C + c) * P + p] = x.data[(n * C + c) * P + p] *
                                               pow(2.0 + 0.5 / (double)sizes[si] * sq, -0.75);
                }
        char what[32];
        snprintf(what, sizeof what, "LRN size %lld", (long long)sizes[si]);
        check_op(m, layer, &x, ref, 1e-5, 1e-3, NULL, what);
        free(ref);
        tensor_free(&x);
        net_model_close(m);
    }
}

static void test_batch_norm(void)
{
    int64_t xs[4] = {2, 3, 4, 5}, cs[1] = {3};
    net_builder b;
    nb_begin(&b, 4, xs);
    int scale = nb_const(&b, &gen, 0.5, 2, 1, cs), bias = nb_const(&b, &gen, -1, 1, 1, cs);
    int mean = nb_const(&b, &gen, -1, 1, 1, cs), var = nb_const(&b, &gen, 0.5, 2, 1, cs);
    op_attrs a = op_attrs_default(OP_BATCH_NORM);
    a.batch_norm.epsilon = 1e-3f;
    nb_node(&b, OP_BATCH_NORM, &a, INPUTS(b.x, scale, bias, mean, var));
    int layer;
    net_model *m = nb_model(&b, &layer);
    CHECK(m->g->nodes[layer].op == OP_BATCH_NORM); /* nothing to fold into */
    tensor x = input_uniform(4, xs, -2, 2);
    const float *sc = m->g->values[scale].data.data, *bi = m->g->values[bias].data.data,
                *mu = m->g->values[mean].data.data, *va = m->g->values[var].data.data;
    double ref[120];
    for (int i = 0; i < 120; i++) {
        int c = i / 20 % 3;
        ref[i] = sc[c] * (x.data[i] - mu[c]) / sqrt(va[c] + 1e-3) + bi[c];
    }
    check_op(m, layer, &x, ref, 1e-5, 1e-2, NULL, "BatchNormalization");
    tensor_free(&x);
    net_model_close(m);
}

static void test_softmax(void)
{
    const struct {
        int64_t axis;
        bool legacy;
    } cases[] = {{1, false}, {-1, false}, {0, false}, {1, true}, {2, true}};
    for (int ci = 0; ci < 5; ci++) {
        int64_t xs[3] = {2, 3, 4};
        net_builder b;
        nb_begin(&b, 3, xs);
        op_attrs a = op_attrs_default(OP_SOFTMAX);
        a.softmax.axis = cases[ci].axis;
        a.softmax.legacy = cases[ci].legacy;
        nb_node(&b, OP_SOFTMAX, &a, INPUTS(b.x));
        int layer;
        net_model *m = nb_model(&b, &layer);
        tensor x = input_uniform(3, xs, -3, 3);
        int axis = (int)(cases[ci].axis < 0 ? cases[ci].axis + 3 : cases[ci].axis);
        /* Each element's group: the indices sharing every coordinate off the
         * normalized axes. */
        double ref[24];
        for (int i = 0; i < 24; i++) {
            int co[3] = {i / 12, i / 4 % 3, i % 4};
            double den = 0;
            for (int k = 0; k < 24; k++) {
                int ck[3] = {k / 12, k / 4 % 3, k % 4};
                bool same = true;
                for (int d = 0; d < 3; d++)
                    if (cases[ci].legacy ? d < axis : d != axis)
                        same &= ck[d] == co[d];
                if (same)
                    den += exp(x.data[k]);
            }
            ref[i] = exp(x.data[i]) / den;
        }
        char what[48];
        snprintf(what, sizeof what, "Softmax axis %lld%s", (long long)cases[ci].axis,
                 cases[ci].legacy ? " (legacy)" : "");
        check_op(m, layer, &x, ref, 1e-6, 1e-3, NULL, what);
        tensor_free(&x);
        net_model_close(m);
    }
}

/* ---- element-wise arithmetic with broadcasting ---------------------------------------------- */

/* Index of output element i (of shape out) in a tensor of shape t,
 * broadcasting numpy-style. */
static int64_t broadcast_index(int64_t i, int orank, const int64_t *out, int trank,
                               const int64_t *t)
{
    int64_t idx = 0, stride = 1;
    for (int d = orank - 1; d >= 0; d--) {
        int64_t c = i % out[d];
        i /= out[d];
        int k = d - (orank - trank);
        if (k < 0)
            continue;
        if (t[k] != 1)
            idx += c * stride;
        stride *= t[k];
    }
    return idx;
}

static void test_elementwise(void)
{
    /* B is a constant of various broadcast shapes, on either side; or B is
     * computed from x (GlobalAveragePool: [2, 3, 1, 1]), so both sides carry
     * a gradient and one of them is a broadcast reduction. */
    const struct {
        int rank;
        int64_t shape[4];
    } bshapes[] = {{4, {2, 3, 4, 5}}, {1, {5}},    {3, {3, 1, 1}},
                   {0, {0}},          {2, {4, 1}}, {4, {1, 3, 1, 5}}};
    const op_kind ops[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV};
    int64_t xs[4] = {2, 3, 4, 5};
    for (int o = 0; o < 4; o++)
        for (int bi = 0; bi <= 6; bi++)
            for (int swap = 0; swap < 2; swap++) {
                net_builder b;
                nb_begin(&b, 4, xs);
                int other, orank;
                const int64_t *oshape;
                int64_t pooled[4] = {2, 3, 1, 1};
                if (bi < 6) {
                    other = nb_const(&b, &gen, 0.5, 2, bshapes[bi].rank, bshapes[bi].shape);
                    orank = bshapes[bi].rank;
                    oshape = bshapes[bi].shape;
                } else { /* 1 + sigmoid(mean of each plane): away from 0 for Div */
                    int gap = nb_node(&b, OP_GLOBAL_AVERAGE_POOL, NULL, INPUTS(b.x));
                    int sg = nb_node(&b, OP_SIGMOID, NULL, INPUTS(gap));
                    int64_t one_shape[1] = {1};
                    int one = nb_const(&b, &gen, 1, 1.0000001, 1, one_shape);
                    other = nb_node(&b, OP_ADD, NULL, INPUTS(sg, one));
                    orank = 4;
                    oshape = pooled;
                }
                int in[2] = {swap ? other : b.x, swap ? b.x : other};
                nb_node(&b, ops[o], NULL, in, 2);
                int layer;
                net_model *m = nb_model(&b, &layer);
                tensor x = input_uniform(4, xs, 0.5, 2);
                double ref[120];
                for (int i = 0; i < 120; i++) {
                    double bv;
                    if (bi < 6) {
                        bv =
                            m->g->values[other].data.data[broadcast_index(i, 4, xs, orank, oshape)];
                    } else {
                        int p = i / 20;
                        double mean = 0;
                        for (int k = 0; k < 20; k++)
                            mean += x.data[p * 20 + k] / 20;
                        bv = 1 + 1 / (1 + exp(-mean));
                    }
                    double a = x.data[i], l = swap ? bv : a, r = swap ? a : bv;
                    ref[i] = ops[o] == OP_ADD   ? l + r
                             : ops[o] == OP_SUB ? l - r
                             : ops[o] == OP_MUL ? l * r
                                                : l / r;
                }
                char what[64];
                snprintf(what, sizeof what, "%s with B case %d%s", op_name(ops[o]), bi,
                         swap ? " swapped" : "");
                check_op(m, layer, &x, ref, 1e-5, 1e-3, NULL, what);
                tensor_free(&x);
                net_model_close(m);
            }
    /* Sum of three: x, a broadcast constant, and x again through Tanh. */
    net_builder b;
    nb_begin(&b, 4, xs);
    int64_t cs[3] = {3, 1, 5};
    int c = nb_const(&b, &gen, -1, 1, 3, cs);
    int t = nb_node(&b, OP_TANH, NULL, INPUTS(b.x));
    nb_node(&b, OP_SUM, NULL, INPUTS(b.x, c, t));
    int layer;
    net_model *m = nb_model(&b, &layer);
    tensor x = input_uniform(4, xs, -1, 1);
    double ref[120];
    for (int i = 0; i < 120; i++)
        ref[i] = x.data[i] + m->g->values[c].data.data[broadcast_index(i, 4, xs, 3, cs)] +
                 tanh(x.data[i]);
    check_op(m, layer, &x, ref, 1e-5, 1e-3, NULL, "Sum");
    tensor_free(&x);
    net_model_close(m);
}

/* ---- Gemm, MatMul ------------------------------------------------------------------------------ */

static void test_gemm(void)
{
    const struct {
        bool ta, tb;
        float alpha, beta;
        int crank;
        int64_t cshape[2];
    } cases[] = {
        {false, false, 1, 1, 1, {5}},      {true, false, 0.5f, 2, 2, {3, 5}},
        {false, true, 2, 0.5f, 2, {3, 1}}, {true, true, 1, 1, 0, {0}},
        {false, false, 1, 0, -1, {0}},
    };
    for (int ci = 0; ci < 5; ci++) {
        int64_t as[2] = {cases[ci].ta ? 4 : 3, cases[ci].ta ? 3 : 4};
        int64_t bs[2] = {cases[ci].tb ? 5 : 4, cases[ci].tb ? 4 : 5};
        net_builder b;
        nb_begin(&b, 2, as);
        op_attrs a = op_attrs_default(OP_GEMM);
        a.gemm.trans_a = cases[ci].ta;
        a.gemm.trans_b = cases[ci].tb;
        a.gemm.alpha = cases[ci].alpha;
        a.gemm.beta = cases[ci].beta;
        int wb = nb_const(&b, &gen, -1, 1, 2, bs);
        int cc = cases[ci].crank >= 0 ? nb_const(&b, &gen, -1, 1, cases[ci].crank, cases[ci].cshape)
                                      : -1;
        nb_node(&b, OP_GEMM, &a, cc >= 0 ? (const int[]){b.x, wb, cc} : (const int[]){b.x, wb},
                cc >= 0 ? 3 : 2);
        int layer;
        net_model *m = nb_model(&b, &layer);
        tensor x = input_uniform(2, as, -1, 1);
        const float *B = m->g->values[wb].data.data,
                    *C = cc >= 0 ? m->g->values[cc].data.data : NULL;
        double ref[15];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 5; j++) {
                double s = 0;
                for (int k = 0; k < 4; k++)
                    s += (double)x.data[cases[ci].ta ? k * 3 + i : i * 4 + k] *
                         B[cases[ci].tb ? j * 4 + k : k * 5 + j];
                double c = 0;
                if (C) {
                    int64_t cs[2] = {3, 5};
                    c = C[broadcast_index(i * 5 + j, 2, cs, cases[ci].crank, cases[ci].cshape)];
                }
                ref[i * 5 + j] = cases[ci].alpha * s + cases[ci].beta * c;
            }
        char what[48];
        snprintf(what, sizeof what, "Gemm case %d", ci);
        check_op(m, layer, &x, ref, 1e-5, 1e-2, NULL, what);
        tensor_free(&x);
        net_model_close(m);
    }
    /* x · xᵀ: both operands are the input (a tensor read twice). */
    int64_t xs[2] = {3, 4};
    net_builder b;
    nb_begin(&b, 2, xs);
    op_attrs a = op_attrs_default(OP_GEMM);
    a.gemm.trans_b = true;
    nb_node(&b, OP_GEMM, &a, INPUTS(b.x, b.x));
    int layer;
    net_model *m = nb_model(&b, &layer);
    tensor x = input_uniform(2, xs, -1, 1);
    double ref[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            ref[i * 3 + j] = 0;
            for (int k = 0; k < 4; k++)
                ref[i * 3 + j] += (double)x.data[i * 4 + k] * x.data[j * 4 + k];
        }
    check_op(m, layer, &x, ref, 1e-5, 1e-2, NULL, "Gemm x·xT");
    tensor_free(&x);
    net_model_close(m);
}

static void test_matmul(void)
{
    const struct {
        int arank, brank;
        int64_t a[4], b[4];
    } cases[] = {
        {2, 2, {3, 4}, {4, 5}}, {3, 2, {2, 3, 4}, {4, 5}},       {1, 2, {4}, {4, 5}},
        {2, 1, {3, 4}, {4}},    {4, 3, {2, 1, 3, 4}, {3, 4, 2}}, {3, 3, {2, 3, 4}, {1, 4, 2}},
        {1, 3, {4}, {2, 4, 3}},
    };
    for (int ci = 0; ci < 7; ci++) {
        net_builder b;
        nb_begin(&b, cases[ci].arank, cases[ci].a);
        int wb = nb_const(&b, &gen, -1, 1, cases[ci].brank, cases[ci].b);
        nb_node(&b, OP_MATMUL, NULL, INPUTS(b.x, wb));
        int layer;
        net_model *m = nb_model(&b, &layer);
        tensor x = input_uniform(cases[ci].arank, cases[ci].a, -1, 1);
        /* Reference through numpy's rules: promote 1-D, broadcast batches. */
        int ar = cases[ci].arank, br = cases[ci].brank;
        int64_t M = ar == 1 ? 1 : cases[ci].a[ar - 2], K = cases[ci].a[ar - 1],
                N = br == 1 ? 1 : cases[ci].b[br - 1];
        int ra = ar > 2 ? ar - 2 : 0, rb = br > 2 ? br - 2 : 0, r = ra > rb ? ra : rb;
        int64_t batch[4], nb = 1, abatch[4], bbatch[4];
        for (int d = 0; d < r; d++) {
            abatch[d] = d - (r - ra) >= 0 ? cases[ci].a[d - (r - ra)] : 1;
            bbatch[d] = d - (r - rb) >= 0 ? cases[ci].b[d - (r - rb)] : 1;
            batch[d] = abatch[d] > bbatch[d] ? abatch[d] : bbatch[d];
            nb *= batch[d];
        }
        double *ref = calloc((size_t)(nb * M * N), sizeof *ref);
        const float *B = m->g->values[wb].data.data;
        for (int64_t t = 0; t < nb; t++) {
            int64_t ia = broadcast_index(t, r, batch, r, abatch),
                    ib = broadcast_index(t, r, batch, r, bbatch);
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++)
                    for (int64_t k = 0; k < K; k++)
                        ref[(t * M + i) * N + j] +=
                            (double)x.data[(ia * M + i) * K + k] * B[(ib * K + k) * N + j];
        }
        char what[32];
        snprintf(what, sizeof what, "MatMul case %d", ci);
        check_op(m, layer, &x, ref, 1e-5, 1e-2, NULL, what);
        free(ref);
        tensor_free(&x);
        net_model_close(m);
    }
}

/* x [3, 4] · reshape(x) [4, 3]: both operands carry a gradient. */
static void test_matmul_both(void)
{
    int64_t xs[2] = {3, 4};
    net_builder b;
    nb_begin(&b, 2, xs);
    op_attrs a = op_attrs_default(OP_RESHAPE);
    a.reshape.ndim = 2;
    a.reshape.shape[0] = 4;
    a.reshape.shape[1] = 3;
    int r = nb_node(&b, OP_RESHAPE, &a, INPUTS(b.x));
    nb_node(&b, OP_MATMUL, NULL, INPUTS(b.x, r));
    int layer;
    net_model *m = nb_model(&b, &layer);
    tensor x = input_uniform(2, xs, -1, 1);
    double ref[9] = {0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                ref[i * 3 + j] += (double)x.data[i * 4 + k] * x.data[k * 3 + j];
    check_op(m, layer, &x, ref, 1e-5, 1e-2, NULL, "MatMul x·reshape(x)");
    tensor_free(&x);
    net_model_close(m);
}

/* ---- data movement: Concat, Flatten, Reshape, Identity, Pad --------------------------------------- */

static void test_concat(void)
{
    for (int64_t axis = -3; axis < 3; axis++) {
        int64_t xs[3] = {2, 3, 4}, cs[3] = {2, 3, 4};
        int ax = (int)(axis < 0 ? axis + 3 : axis);
        cs[ax] = 2;
        net_builder b;
        nb_begin(&b, 3, xs);
        int c = nb_const(&b, &gen, -1, 1, 3, cs);
        int s = nb_node(&b, OP_SIGMOID, NULL, INPUTS(b.x));
        op_attrs a = op_attrs_default(OP_CONCAT);
        a.concat.axis = axis;
        nb_node(&b, OP_CONCAT, &a, INPUTS(b.x, c, s, b.x));
        int layer;
        net_model *m = nb_model(&b, &layer);
        tensor x = input_uniform(3, xs, -2, 2);
        /* Reference: walk the output; each position along the axis names its
         * part and the index inside it. */
        int64_t os[3] = {2, 3, 4};
        os[ax] = 3 * xs[ax] + 2;
        double ref[2 * 3 * 4 * 3 + 64];
        int64_t n = os[0] * os[1] * os[2];
        for (int64_t i = 0; i < n; i++) {
            int64_t co[3] = {i / (os[1] * os[2]), i / os[2] % os[1], i % os[2]};
            int64_t at = co[ax], part = 0;
            const int64_t widths[4] = {xs[ax], 2, xs[ax], xs[ax]};
            while (at >= widths[part])
                at -= widths[part++];
            co[ax] = at;
            const int64_t *ps = part == 1 ? cs : xs;
            int64_t idx = (co[0] * ps[1] + co[1]) * ps[2] + co[2];
            double v = part == 1 ? m->g->values[c].data.data[idx] : x.data[idx];
            ref[i] = part == 2 ? 1 / (1 + exp(-v)) : v;
        }
        char what[32];
        snprintf(what, sizeof what, "Concat axis %lld", (long long)axis);
        check_op(m, layer, &x, ref, 1e-6, 1e-3, NULL, what);
        tensor_free(&x);
        net_model_close(m);
    }
}

static void test_views(void)
{
    int64_t xs[4] = {2, 3, 4, 5};
    for (int v = 0; v < 6; v++) {
        net_builder b;
        nb_begin(&b, 4, xs);
        op_attrs a;
        op_kind op;
        int64_t expect[4];
        int erank;
        switch (v) {
        case 0:
            op = OP_FLATTEN, a = op_attrs_default(op), a.flatten.axis = 0, erank = 2, expect[0] = 1,
            expect[1] = 120;
            break;
        case 1:
            op = OP_FLATTEN, a = op_attrs_default(op), a.flatten.axis = 2, erank = 2, expect[0] = 6,
            expect[1] = 20;
            break;
        case 2:
            op = OP_FLATTEN, a = op_attrs_default(op), a.flatten.axis = -1, erank = 2,
            expect[0] = 24, expect[1] = 5;
            break;
        case 3:
            op = OP_RESHAPE, a = op_attrs_default(op), a.reshape.ndim = 3;
            a.reshape.shape[0] = 0, a.reshape.shape[1] = -1, a.reshape.shape[2] = 10;
            erank = 3, expect[0] = 2, expect[1] = 6, expect[2] = 10;
            break;
        case 4:
            op = OP_RESHAPE, a = op_attrs_default(op), a.reshape.ndim = 1, a.reshape.shape[0] = -1;
            erank = 1, expect[0] = 120;
            break;
        default:
            op = OP_IDENTITY, a = op_attrs_default(op), erank = 4, memcpy(expect, xs, sizeof xs);
            break;
        }
        nb_node(&b, op, &a, INPUTS(b.x));
        /* Read the view, and the input again, through a second op. */
        int t = nb_node(&b, OP_TANH, NULL, INPUTS(b.last));
        (void)t;
        int layer;
        net_model *m = nb_model(&b, &layer);
        tensor x = input_uniform(4, xs, -2, 2), y;
        forward_copy(m, &x, layer - 1, NULL, &y);
        CHECK(y.ndim == erank);
        for (int d = 0; d < erank && d < y.ndim; d++)
            CHECK(y.shape[d] == expect[d]);
        for (int i = 0; i < 120; i++)
            CHECK(y.data[i] == x.data[i]);
        char what[32];
        snprintf(what, sizeof what, "view case %d", v);
        CHECK(gradient_check(m, &x, layer - 1, 1e-2, 2e-3, 60, NULL, what) <= 1);
        double ref[120];
        for (int i = 0; i < 120; i++)
            ref[i] = tanh(x.data[i]);
        check_op(m, layer, &x, ref, 1e-6, 1e-3, NULL, what);
        tensor_free(&y);
        tensor_free(&x);
        net_model_close(m);
    }
    /* Shapes that do not fit are refused when the node is added. */
    net_builder b;
    nb_begin(&b, 4, xs);
    op_attrs a = op_attrs_default(OP_RESHAPE);
    a.reshape.ndim = 2;
    a.reshape.shape[0] = 7;
    a.reshape.shape[1] = -1;
    int y;
    CHECK_FAILS_WITH(graph_add_node(b.g, OP_RESHAPE, "r", INPUTS(b.x), &a, NULL, &y),
                     "cannot reshape");
    a.reshape.shape[0] = -1;
    CHECK_FAILS_WITH(graph_add_node(b.g, OP_RESHAPE, "r", INPUTS(b.x), &a, NULL, &y),
                     "more than one -1");
    graph_free(b.g);
}

static void test_pad(void)
{
    const pad_mode modes[] = {PAD_CONSTANT, PAD_REFLECT, PAD_EDGE};
    const int64_t pads[3][8] = {
        {0, 1, 2, 0, 0, 0, 1, 3},
        {0, 0, 1, 1, 0, 1, 0, 2},
        {0, 1, -1, 2, 0, 0, 1, -1}, /* negative pads crop */
    };
    int64_t xs[4] = {2, 3, 4, 5};
    for (int mi = 0; mi < 3; mi++)
        for (int pi = 0; pi < 3; pi++) {
            net_builder b;
            nb_begin(&b, 4, xs);
            op_attrs a = op_attrs_default(OP_PAD);
            a.pad.mode = modes[mi];
            a.pad.npads = 8;
            memcpy(a.pad.pads, pads[pi], sizeof pads[pi]);
            a.pad.value = 0.25f;
            nb_node(&b, OP_PAD, &a, INPUTS(b.x));
            int layer;
            net_model *m = nb_model(&b, &layer);
            tensor x = input_uniform(4, xs, -1, 1);
            int64_t os[4];
            size_t n = 1;
            for (int d = 0; d < 4; d++)
                n *= (size_t)(os[d] = xs[d] + pads[pi][d] + pads[pi][4 + d]);
            double *ref = calloc(n, sizeof *ref);
            for (size_t i = 0; i < n; i++) {
                int64_t rest = (int64_t)i, idx = 0, stride = 1;
                bool constant = false;
                for (int d = 3; d >= 0; d--) {
                    int64_t c = rest % os[d] - pads[pi][d], size = xs[d];
                    rest /= os[d];
                    if (c < 0 || c >= size) {
                        if (modes[mi] == PAD_CONSTANT)
                            constant = true;
                        else if (modes[mi] == PAD_EDGE)
                            c = c < 0 ? 0 : size - 1;
                        else /* reflect, no edge repeat; these pads stay within one bounce */
                            c = c < 0 ? -c : 2 * (size - 1) - c;
                    }
                    idx += c * stride;
                    stride *= size;
                }
                ref[i] = constant ? 0.25 : x.data[idx];
            }
            char what[32];
            snprintf(what, sizeof what, "Pad mode %d pads %d", mi, pi);
            check_op(m, layer, &x, ref, 0, 1e-2, NULL, what);
            free(ref);
            tensor_free(&x);
            net_model_close(m);
        }
}

int main(void)
{
    rng_seed(&gen, 7);
    test_activations();
    test_pools();
    test_global_pools();
    test_lrn();
    test_batch_norm();
    test_softmax();
    test_elementwise();
    test_gemm();
    test_matmul();
    test_matmul_both();
    test_concat();
    test_views();
    test_pad();
    return check_report("test_net_ops");
}
