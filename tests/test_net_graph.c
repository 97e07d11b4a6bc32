/* The net engine's graph: building, finalizing (BatchNorm folding, VGG
 * aliases), running forward and backward through branches, ReLU backward
 * modes, and memory release. */
#include "net_check.h"
#include "net/plan.h"

#include <stdint.h>

/* Wraps g into a model and runs forward to `layer`, then backward with seed. */
static status run(net_model *m, const tensor *x, int layer, const tensor *seed, net_relu_backward mode,
                  tensor *act_out, tensor *grad_out)
{
    net_session *s;
    if (net_session_create(m, &s) != ST_OK)
        return ST_ERROR;
    net_forward_opts fo = {.for_backward = seed != NULL};
    status st = net_forward(s, x, 1, &layer, 1, &fo);
    if (st == ST_OK && act_out) {
        const tensor *a = net_activation(s, layer);
        st = tensor_alloc(act_out, a->ndim, a->shape);
        if (st == ST_OK)
            memcpy(act_out->data, a->data, tensor_numel(a) * sizeof(float));
    }
    if (st == ST_OK && seed) {
        net_backward_opts bo = {.relu = mode};
        st = tensor_alloc(grad_out, x->ndim, x->shape);
        if (st == ST_OK)
            st = net_backward(s, &layer, seed, 1, &bo, grad_out);
    }
    net_session_free(s);
    return st;
}

/* The lectures' 3×3 example (Springenberg et al. 2015, fig. 1): one ReLU,
 * forward, then backward of an upstream gradient in the three modes. */
static void test_relu_modes(void)
{
    graph *g;
    REQUIRE(graph_create(&g) == ST_OK);
    int64_t shape[4] = {1, 1, 3, 3};
    int x, y;
    CHECK_OK(graph_add_input(g, "x", 4, shape, &x));
    CHECK_OK(graph_add_node(g, OP_RELU, "relu", &x, 1, NULL, NULL, &y));
    net_model *m;
    REQUIRE(model_from_graph(g, "relu", &m) == ST_OK);
    const float in[9] = {1, -1, 5, 2, -5, -7, -3, 2, 4};
    const float up[9] = {-2, 0, -1, 6, -3, 1, 2, -1, 3};
    const float fwd[9] = {1, 0, 5, 2, 0, 0, 0, 2, 4};
    const float expect[3][9] = {
        {-2, 0, -1, 6, 0, 0, 0, -1, 3}, /* backprop */
        {0, 0, 0, 6, 0, 1, 2, 0, 3},    /* "deconvnet" */
        {0, 0, 0, 6, 0, 0, 0, 0, 3},    /* guided backprop */
    };
    tensor tx, tup;
    REQUIRE(tensor_alloc(&tx, 4, shape) == ST_OK && tensor_alloc(&tup, 4, shape) == ST_OK);
    memcpy(tx.data, in, sizeof in);
    memcpy(tup.data, up, sizeof up);
    for (int mode = 0; mode < 3; mode++) {
        tensor act, grad;
        CHECK_OK(run(m, &tx, 0, &tup, (net_relu_backward)mode, &act, &grad));
        for (int i = 0; i < 9; i++) {
            CHECK(act.data[i] == fwd[i]);
            CHECK(grad.data[i] == expect[mode][i]);
        }
        tensor_free(&act);
        tensor_free(&grad);
    }
    tensor_free(&tx);
    tensor_free(&tup);
    net_model_close(m);
}

static rng gen;

/* x → conv a (3×3) → relu ─┬─ concat ── conv c (1×1) ── add ── y
 *   └→ conv b (1×1) ───────┘                        ↑
 *   relu(a) is read again by the add (a tensor read twice), and x by both
 *   convs: gradients must add up along every path. */
static net_model *branchy_model(int64_t channels, int *out_layer)
{
    int64_t xs[4] = {1, channels, 9, 7};
    net_builder b;
    nb_begin(&b, 4, xs);
    int64_t wa[4] = {4, channels, 3, 3}, wb[4] = {3, channels, 1, 1}, wc[4] = {4, 7, 1, 1}, bias4[1] = {4};
    op_attrs conv = window_2d(OP_CONV, 3, 1, 1);
    int a = nb_node(&b, OP_CONV, &conv,
                    INPUTS(b.x, nb_const(&b, &gen, -1, 1, 4, wa), nb_const(&b, &gen, -1, 1, 1, bias4)));
    int ra = nb_node(&b, OP_RELU, NULL, INPUTS(a));
    op_attrs plain = op_attrs_default(OP_CONV);
    int bb = nb_node(&b, OP_CONV, &plain, INPUTS(b.x, nb_const(&b, &gen, -1, 1, 4, wb)));
    op_attrs cat = op_attrs_default(OP_CONCAT);
    cat.concat.axis = 1;
    int cc = nb_node(&b, OP_CONCAT, &cat, INPUTS(ra, bb));
    int c = nb_node(&b, OP_CONV, &plain, INPUTS(cc, nb_const(&b, &gen, -1, 1, 4, wc)));
    nb_node(&b, OP_ADD, NULL, INPUTS(c, ra));
    return nb_model(&b, out_layer);
}

static void test_branches(void)
{
    int layer;
    net_model *m = branchy_model(3, &layer);
    int64_t xs[4] = {1, 3, 9, 7};
    tensor x;
    REQUIRE(make_tensor(&x, 4, xs, &gen, -1, 1) == ST_OK);
    CHECK(gradient_check(m, &x, layer, 1e-3, 3e-3, 189, NULL, "branches") <= 1);
    tensor_free(&x);
    net_model_close(m);
}

/* Seeds at two layers: the gradient is the sum of both objectives'
 * gradients, checked by finite differences of Σ r1·y1 + Σ r2·y2. */
static void test_two_seeds(void)
{
    int layer;
    net_model *m = branchy_model(2, &layer);
    int mid = 1; /* the relu of conv a */
    REQUIRE(m->g->nodes[mid].op == OP_RELU);
    int64_t xs[4] = {1, 2, 9, 7};
    tensor x;
    REQUIRE(make_tensor(&x, 4, xs, &gen, -1, 1) == ST_OK);
    net_session *s;
    REQUIRE(net_session_create(m, &s) == ST_OK);
    int layers[2] = {layer, mid};
    net_forward_opts fo = {.for_backward = true};
    CHECK_OK(net_forward(s, &x, 1, layers, 2, &fo));
    tensor seeds[2], grad;
    for (int i = 0; i < 2; i++) {
        const tensor *y = net_activation(s, layers[i]);
        REQUIRE(y && make_tensor(&seeds[i], y->ndim, y->shape, &gen, -1, 1) == ST_OK);
    }
    REQUIRE(tensor_alloc(&grad, 4, xs) == ST_OK);
    CHECK_OK(net_backward(s, layers, seeds, 2, NULL, &grad));
    double worst = 0, eps = 1e-3;
    for (int i = 0; i < 126; i += 5) {
        double j[2];
        for (int side = 0; side < 2; side++) {
            float keep = x.data[i];
            x.data[i] = keep + (float)(side ? -eps : eps);
            CHECK_OK(net_forward(s, &x, 1, layers, 2, NULL));
            j[side] = 0;
            for (int l = 0; l < 2; l++) {
                const tensor *y = net_activation(s, layers[l]);
                for (size_t k = 0; k < tensor_numel(y); k++)
                    j[side] += (double)seeds[l].data[k] * y->data[k];
            }
            x.data[i] = keep;
        }
        worst = fmax(worst, fabs((j[0] - j[1]) / (2 * eps) - grad.data[i]));
    }
    CHECK(worst < 1e-2);
    for (int i = 0; i < 2; i++)
        tensor_free(&seeds[i]);
    tensor_free(&grad);
    tensor_free(&x);
    net_session_free(s);
    net_model_close(m);
}

/* A kept gradient at a middle layer equals the input gradient of the rest
 * of the network run on that layer's activation. */
static void test_keep_gradient(void)
{
    int64_t xs[4] = {2, 3, 8, 6}, w1s[4] = {5, 3, 3, 3}, w2s[4] = {4, 5, 3, 3};
    op_attrs conv = window_2d(OP_CONV, 3, 1, 1);
    net_builder b;
    nb_begin(&b, 4, xs);
    int w1 = nb_const(&b, &gen, -1, 1, 4, w1s), w2 = nb_const(&b, &gen, -1, 1, 4, w2s);
    int c1 = nb_node(&b, OP_CONV, &conv, INPUTS(b.x, w1));
    nb_node(&b, OP_RELU, NULL, INPUTS(c1));
    nb_node(&b, OP_CONV, &conv, INPUTS(b.last, w2));
    int top;
    net_model *m = nb_model(&b, &top);
    /* The tail alone: relu output → conv 2 with the same weights. */
    int64_t ms[4] = {2, 5, 8, 6};
    net_builder t;
    nb_begin(&t, 4, ms);
    tensor w2copy;
    REQUIRE(tensor_alloc(&w2copy, 4, w2s) == ST_OK);
    memcpy(w2copy.data, m->g->values[w2].data.data, tensor_numel(&w2copy) * sizeof(float));
    int w2t;
    REQUIRE(graph_add_constant(t.g, "w2", &w2copy, &w2t) == ST_OK);
    nb_node(&t, OP_CONV, &conv, INPUTS(t.x, w2t));
    int tail_top;
    net_model *tail = nb_model(&t, &tail_top);

    tensor x, seed, gx, gmid;
    REQUIRE(make_tensor(&x, 4, xs, &gen, -1, 1) == ST_OK);
    net_session *s, *ts;
    REQUIRE(net_session_create(m, &s) == ST_OK && net_session_create(tail, &ts) == ST_OK);
    net_forward_opts fo = {.for_backward = true};
    int layers[2] = {top, 1};
    CHECK_OK(net_forward(s, &x, 1, layers, 2, &fo));
    const tensor *y = net_activation(s, top), *mid = net_activation(s, 1);
    REQUIRE(y && mid && make_tensor(&seed, y->ndim, y->shape, &gen, -1, 1) == ST_OK);
    REQUIRE(tensor_alloc(&gx, 4, xs) == ST_OK && tensor_alloc(&gmid, 4, ms) == ST_OK);
    net_backward_opts bo = {.keep_grad = &layers[1], .nkeep_grad = 1};
    CHECK_OK(net_backward(s, &top, &seed, 1, &bo, &gx));
    const tensor *kept = net_gradient(s, 1);
    REQUIRE(kept != NULL);
    CHECK(net_gradient(s, 0) == NULL);
    CHECK_OK(net_forward(ts, mid, 1, &tail_top, 1, &fo));
    CHECK_OK(net_backward(ts, &tail_top, &seed, 1, NULL, &gmid));
    double worst = 0;
    for (size_t i = 0; i < tensor_numel(&gmid); i++)
        worst = fmax(worst, fabs(kept->data[i] - gmid.data[i]));
    CHECK(worst < 1e-5);
    /* A second backward for the same forward is refused. */
    CHECK_FAILS_WITH(net_backward(s, &top, &seed, 1, NULL, &gx), "already ran");
    tensor_free(&x);
    tensor_free(&seed);
    tensor_free(&gx);
    tensor_free(&gmid);
    net_session_free(s);
    net_session_free(ts);
    net_model_close(m);
    net_model_close(tail);
}

/* Conv → BatchNormalization folds into one Conv with the same output; a Conv
 * whose output is also read elsewhere keeps its BatchNormalization. */
static void test_batch_norm_folding(void)
{
    int64_t xs[4] = {1, 3, 6, 5}, ws[4] = {4, 3, 3, 3}, cs[1] = {4};
    for (int shared = 0; shared < 2; shared++) {
        net_builder b;
        nb_begin(&b, 4, xs);
        op_attrs conv = op_attrs_default(OP_CONV);
        int c = nb_node(&b, OP_CONV, &conv,
                        INPUTS(b.x, nb_const(&b, &gen, -1, 1, 4, ws), nb_const(&b, &gen, -1, 1, 1, cs)));
        int scale = nb_const(&b, &gen, 0.5, 2, 1, cs), bias = nb_const(&b, &gen, -1, 1, 1, cs);
        int mean = nb_const(&b, &gen, -1, 1, 1, cs), var = nb_const(&b, &gen, 0.5, 2, 1, cs);
        op_attrs bn = op_attrs_default(OP_BATCH_NORM);
        int y = nb_node(&b, OP_BATCH_NORM, &bn, INPUTS(c, scale, bias, mean, var));
        if (shared)
            nb_node(&b, OP_ADD, NULL, INPUTS(y, c));
        /* Expected output from the unfolded parameters. */
        tensor x;
        REQUIRE(make_tensor(&x, 4, xs, &gen, -1, 1) == ST_OK);
        const float *W = b.g->values[b.g->nodes[0].inputs[1]].data.data,
                    *B = b.g->values[b.g->nodes[0].inputs[2]].data.data;
        const float *sc = b.g->values[scale].data.data, *bi = b.g->values[bias].data.data,
                    *mu = b.g->values[mean].data.data, *va = b.g->values[var].data.data;
        double ref[4 * 4 * 3];
        for (int o = 0; o < 4; o++)
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 3; j++) {
                    double sum = B[o];
                    for (int ci = 0; ci < 3; ci++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                                sum += (double)x.data[(ci * 6 + i + ky) * 5 + j + kx] * W[((o * 3 + ci) * 3 + ky) * 3 + kx];
                    double bnv = sc[o] * (sum - mu[o]) / sqrt(va[o] + 1e-5) + bi[o];
                    ref[(o * 4 + i) * 3 + j] = shared ? bnv + sum : bnv;
                }
        int layer;
        net_model *m = nb_model(&b, &layer);
        CHECK(net_layer_count(m) == (shared ? 3 : 1));
        CHECK(strcmp(net_layer_op(m, 0), "Conv") == 0);
        tensor out;
        forward_copy(m, &x, layer, NULL, &out);
        CHECK(max_diff(&out, ref) < 1e-4);
        tensor_free(&out);
        tensor_free(&x);
        net_model_close(m);
    }
}

/* A plain conv/relu/pool chain gets VGG aliases; a branch ends them. */
static void test_vgg_aliases(void)
{
    int64_t xs[4] = {1, 3, 16, 16}, ws[4] = {4, 3, 3, 3}, ws2[4] = {4, 4, 3, 3};
    net_builder b;
    nb_begin(&b, 4, xs);
    op_attrs conv = window_2d(OP_CONV, 3, 1, 1), pool = window_2d(OP_MAX_POOL, 2, 2, 0);
    nb_node(&b, OP_CONV, &conv, INPUTS(b.x, nb_const(&b, &gen, -1, 1, 4, ws)));
    nb_node(&b, OP_RELU, NULL, INPUTS(b.last));
    nb_node(&b, OP_CONV, &conv, INPUTS(b.last, nb_const(&b, &gen, -1, 1, 4, ws2)));
    nb_node(&b, OP_RELU, NULL, INPUTS(b.last));
    nb_node(&b, OP_MAX_POOL, &pool, INPUTS(b.last));
    nb_node(&b, OP_CONV, &conv, INPUTS(b.last, nb_const(&b, &gen, -1, 1, 4, ws2)));
    int r = nb_node(&b, OP_RELU, NULL, INPUTS(b.last));
    nb_node(&b, OP_SIGMOID, NULL, INPUTS(r));
    nb_node(&b, OP_ADD, NULL, INPUTS(b.last, r));
    int layer;
    net_model *m = nb_model(&b, &layer);
    const char *expect[] = {"conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1", "conv2_1", "relu2_1", NULL, NULL};
    for (int i = 0; i < 9; i++) {
        const char *alias = net_layer_alias(m, i);
        CHECK(expect[i] ? alias && strcmp(alias, expect[i]) == 0 : alias == NULL);
    }
    int found;
    CHECK_OK(net_layer_find(m, "relu1_2", &found));
    CHECK(found == 3);
    CHECK_FAILS_WITH(net_layer_find(m, "relu9_9", &found), "no such layer");
    net_model_close(m);
}

/* PyTorch module names find the last node of the module's torch.onnx scope. */
static void test_module_names(void)
{
    int64_t xs[4] = {1, 3, 8, 8}, ws[4] = {4, 3, 3, 3}, ws2[4] = {4, 4, 3, 3};
    net_builder b;
    nb_begin(&b, 4, xs);
    op_attrs conv = window_2d(OP_CONV, 3, 1, 1);
    int y;
#define NAMED(op, attrs, name, ...) \
    REQUIRE(graph_add_node(b.g, op, name, (int[]){__VA_ARGS__}, (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), attrs, NULL, &y) == ST_OK)
    NAMED(OP_CONV, &conv, "/features/features.0/Conv", b.x, nb_const(&b, &gen, -1, 1, 4, ws));
    NAMED(OP_RELU, NULL, "/features/features.1/Relu", y);
    int relu = y;
    NAMED(OP_CONV, &conv, "/block/branch1/branch1.0/conv/Conv", relu, nb_const(&b, &gen, -1, 1, 4, ws2));
    NAMED(OP_RELU, NULL, "/block/branch1/branch1.0/Relu", y);
    int branch1 = y;
    NAMED(OP_SIGMOID, NULL, "/block/branch2/Sigmoid", relu);
    NAMED(OP_ADD, NULL, "/block/Add", branch1, y);
    NAMED(OP_RELU, NULL, "/head/Relu", y);
#undef NAMED
    b.last = y;
    int layer;
    net_model *m = nb_model(&b, &layer);
    const struct { const char *name, *node; } cases[] = {
        {"features", "/features/features.1/Relu"},  {"features.0", "/features/features.0/Conv"},
        {"features.1", "/features/features.1/Relu"}, {"block", "/block/Add"},
        {"block.branch1", "/block/branch1/branch1.0/Relu"}, {"block.branch1.0", "/block/branch1/branch1.0/Relu"},
        {"block.branch1.0.conv", "/block/branch1/branch1.0/conv/Conv"}, {"block.branch2", "/block/branch2/Sigmoid"},
        {"head", "/head/Relu"}, {"/block/Add", "/block/Add"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int found = -1;
        CHECK_OK(net_layer_find(m, cases[k].name, &found));
        if (found >= 0 && strcmp(net_layer_name(m, found), cases[k].node) != 0)
            fprintf(stderr, "module %s: found %s, expected %s\n", cases[k].name, net_layer_name(m, found), cases[k].node);
        CHECK(found >= 0 && strcmp(net_layer_name(m, found), cases[k].node) == 0);
    }
    const char *misses[] = {"bloc", "block.", ".block", "block..branch1", "features.2", "branch1", "block/Add", ""};
    for (size_t k = 0; k < sizeof misses / sizeof *misses; k++) {
        int found;
        CHECK_FAILS_WITH(net_layer_find(m, misses[k], &found), "no such layer");
    }
    net_model_close(m);
}

/* With circular pads, shifting the input around the torus shifts the output
 * by the same amount divided by the total stride: the tiles join seamlessly. */
static void test_circular_equivariance(void)
{
    int64_t xs[4] = {1, 2, 8, 12}, ws[4] = {3, 2, 3, 3}, ws2[4] = {2, 3, 3, 3};
    net_builder b;
    nb_begin(&b, 4, xs);
    op_attrs conv = window_2d(OP_CONV, 3, 1, 1), pool = window_2d(OP_MAX_POOL, 2, 2, 0);
    nb_node(&b, OP_CONV, &conv, INPUTS(b.x, nb_const(&b, &gen, -1, 1, 4, ws)));
    nb_node(&b, OP_RELU, NULL, INPUTS(b.last));
    nb_node(&b, OP_MAX_POOL, &pool, INPUTS(b.last));
    nb_node(&b, OP_CONV, &conv, INPUTS(b.last, nb_const(&b, &gen, -1, 1, 4, ws2)));
    int layer;
    net_model *m = nb_model(&b, &layer);
    tensor x, shifted, y, ys;
    REQUIRE(make_tensor(&x, 4, xs, &gen, -1, 1) == ST_OK && tensor_alloc(&shifted, 4, xs) == ST_OK);
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 12; j++)
                shifted.data[(c * 8 + (i + 2) % 8) * 12 + (j + 6) % 12] = x.data[(c * 8 + i) * 12 + j];
    net_forward_opts fo = {.circular_padding = true};
    forward_copy(m, &x, layer, &fo, &y);
    forward_copy(m, &shifted, layer, &fo, &ys);
    double worst = 0;
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 6; j++)
                worst = fmax(worst, fabs(ys.data[(c * 4 + (i + 1) % 4) * 6 + (j + 3) % 6] - y.data[(c * 4 + i) * 6 + j]));
    CHECK(worst < 1e-5);
    /* Without circular pads the borders differ. */
    tensor_free(&y);
    tensor_free(&ys);
    forward_copy(m, &x, layer, NULL, &y);
    forward_copy(m, &shifted, layer, NULL, &ys);
    worst = 0;
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 6; j++)
                worst = fmax(worst, fabs(ys.data[(c * 4 + (i + 1) % 4) * 6 + (j + 3) % 6] - y.data[(c * 4 + i) * 6 + j]));
    CHECK(worst > 1e-3);
    tensor_free(&x);
    tensor_free(&shifted);
    tensor_free(&y);
    tensor_free(&ys);
    net_model_close(m);
}

/* A batch of two runs each sample as if alone. */
static void test_batch(void)
{
    int layer;
    net_model *m = branchy_model(3, &layer);
    int64_t one[4] = {1, 3, 9, 7}, two[4] = {2, 3, 9, 7};
    tensor a, b2, both;
    REQUIRE(make_tensor(&a, 4, one, &gen, -1, 1) == ST_OK && make_tensor(&b2, 4, one, &gen, -1, 1) == ST_OK);
    REQUIRE(tensor_alloc(&both, 4, two) == ST_OK);
    memcpy(both.data, a.data, 189 * sizeof(float));
    memcpy(both.data + 189, b2.data, 189 * sizeof(float));
    /* The model's input is declared with N = 1; a batch still runs. */
    tensor ya, yb, yboth;
    forward_copy(m, &a, layer, NULL, &ya);
    forward_copy(m, &b2, layer, NULL, &yb);
    forward_copy(m, &both, layer, NULL, &yboth);
    size_t n = tensor_numel(&ya);
    CHECK(tensor_numel(&yboth) == 2 * n && yboth.shape[0] == 2);
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fmax(fabs(yboth.data[i] - ya.data[i]), fabs(yboth.data[n + i] - yb.data[i])));
    CHECK(worst < 1e-6);
    CHECK(gradient_check(m, &both, layer, 1e-3, 3e-3, 60, NULL, "batch of 2") <= 1);
    tensor_free(&a);
    tensor_free(&b2);
    tensor_free(&both);
    tensor_free(&ya);
    tensor_free(&yb);
    tensor_free(&yboth);
    net_model_close(m);
}

/* Forward (for backward) of x at `layer` and backward of the seed r(y) =
 * sin(k) for element k of y: copies of y and d(Σ r·y)/dx. */
static void run_size(net_session *s, const tensor *x, int layer, tensor *act, tensor *grad)
{
    net_forward_opts fo = {.for_backward = true};
    CHECK_OK(net_forward(s, x, 1, &layer, 1, &fo));
    const tensor *y = net_activation(s, layer);
    tensor seed;
    REQUIRE(y && tensor_alloc(act, y->ndim, y->shape) == ST_OK && tensor_alloc(&seed, y->ndim, y->shape) == ST_OK);
    memcpy(act->data, y->data, tensor_numel(y) * sizeof(float));
    for (size_t k = 0; k < tensor_numel(&seed); k++)
        seed.data[k] = (float)sin((double)k);
    REQUIRE(tensor_alloc(grad, x->ndim, x->shape) == ST_OK);
    CHECK_OK(net_backward(s, &layer, &seed, 1, NULL, grad));
    tensor_free(&seed);
}

static bool same_bytes(const tensor *a, const tensor *b)
{
    return tensor_same_shape(a, b) && memcmp(a->data, b->data, tensor_numel(a) * sizeof(float)) == 0;
}

/* One session over many input sizes gives what a fresh session gives, bit
 * for bit: sizes A -> B -> A (the arena grows for B, A's cached plan then
 * runs in it), then 11 sizes, more than the session's 8 cached plans
 * (PLAN_CACHE in net/session.c), so plans are evicted and made again. */
static void test_plan_cache(void)
{
    int layer;
    net_model *m = branchy_model(3, &layer);
    enum { NSIZES = 11 };
    const int64_t hw[NSIZES][2] = {{9, 7}, {23, 17}, {9, 7}, {5, 6}, {12, 12}, {7, 9}, {16, 5},
                                   {10, 11}, {6, 14}, {13, 8}, {8, 10}};
    tensor x[NSIZES], fresh_act[NSIZES], fresh_grad[NSIZES];
    for (int i = 0; i < NSIZES; i++) {
        int64_t xs[4] = {1, 3, hw[i][0], hw[i][1]};
        REQUIRE(make_tensor(&x[i], 4, xs, &gen, -1, 1) == ST_OK);
        if (i == 2) /* A again: the very same input */
            memcpy(x[i].data, x[0].data, tensor_numel(&x[0]) * sizeof(float));
        net_session *s;
        REQUIRE(net_session_create(m, &s) == ST_OK);
        run_size(s, &x[i], layer, &fresh_act[i], &fresh_grad[i]);
        net_session_free(s);
    }
    net_session *s;
    REQUIRE(net_session_create(m, &s) == ST_OK);
    /* Every size in turn, then all again (each was evicted by then), then
     * backwards (the most recent still cached). */
    int order[3 * NSIZES], n = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < NSIZES; i++)
            order[n++] = pass < 2 ? i : NSIZES - 1 - i;
    int mismatches = 0;
    for (int k = 0; k < n; k++) {
        int i = order[k];
        tensor act, grad;
        run_size(s, &x[i], layer, &act, &grad);
        if (!same_bytes(&act, &fresh_act[i]) || !same_bytes(&grad, &fresh_grad[i])) {
            fprintf(stderr, "plan cache: run %d (%lldx%lld) differs from a fresh session\n", k,
                    (long long)hw[i][0], (long long)hw[i][1]);
            mismatches++;
        }
        tensor_free(&act);
        tensor_free(&grad);
    }
    CHECK(mismatches == 0);
    CHECK(same_bytes(&fresh_act[0], &fresh_act[2])); /* A -> B -> A on the fresh side too */
    net_session_free(s);
    for (int i = 0; i < NSIZES; i++) {
        tensor_free(&x[i]);
        tensor_free(&fresh_act[i]);
        tensor_free(&fresh_grad[i]);
    }
    net_model_close(m);
}

/* Bad requests fail with a message and change nothing. */
static void test_errors(void)
{
    int layer;
    net_model *m = branchy_model(3, &layer);
    net_session *s;
    REQUIRE(net_session_create(m, &s) == ST_OK);
    int64_t wrong[4] = {1, 4, 9, 7}, ok[4] = {1, 3, 9, 7}, small[4] = {1, 3, 2, 2};
    tensor x, bad, tiny, grad, seed;
    REQUIRE(make_tensor(&x, 4, ok, &gen, -1, 1) == ST_OK && make_tensor(&bad, 4, wrong, &gen, -1, 1) == ST_OK);
    REQUIRE(make_tensor(&tiny, 3, small, &gen, -1, 1) == ST_OK && tensor_alloc(&grad, 4, ok) == ST_OK);
    CHECK_FAILS_WITH(net_forward(s, &bad, 1, &layer, 1, NULL), "4 channels, the model expects 3");
    CHECK_FAILS_WITH(net_forward(s, &tiny, 1, &layer, 1, NULL), "the model expects 4 dimensions");
    CHECK_FAILS_WITH(net_forward(s, &x, 2, &layer, 1, NULL), "takes 1 input");
    int nolayer = 99;
    CHECK_FAILS_WITH(net_forward(s, &x, 1, &nolayer, 1, NULL), "no layer 99");
    CHECK_OK(net_forward(s, &x, 1, &layer, 1, NULL));
    CHECK(net_activation(s, 0) == NULL); /* not requested */
    const tensor *y = net_activation(s, layer);
    REQUIRE(y && tensor_alloc(&seed, y->ndim, y->shape) == ST_OK);
    CHECK_FAILS_WITH(net_backward(s, &layer, &seed, 1, NULL, &grad), "for_backward");
    net_forward_opts fo = {.for_backward = true};
    CHECK_OK(net_forward(s, &x, 1, &layer, 1, &fo));
    int other = 0;
    CHECK_FAILS_WITH(net_backward(s, &other, &seed, 1, NULL, &grad), "not computed by the last forward");
    CHECK_FAILS_WITH(net_backward(s, &layer, &x, 1, NULL, &grad), "seed gradient is 1x3x9x7");
    CHECK_FAILS_WITH(net_backward(s, &layer, &seed, 1, NULL, &seed), "grad_input");
    CHECK_OK(net_backward(s, &layer, &seed, 1, NULL, &grad));
    /* A pool bigger than the input. */
    int64_t big[4] = {1, 1, 3, 3};
    net_builder b;
    nb_begin(&b, 4, big);
    op_attrs pool = op_attrs_default(OP_MAX_POOL);
    pool.window.nspatial = 2;
    pool.window.kernel[0] = pool.window.kernel[1] = 5;
    int yv;
    CHECK_FAILS_WITH(graph_add_node(b.g, OP_MAX_POOL, "p", INPUTS(b.x), &pool, NULL, &yv),
                     "node 'p' (MaxPool): the 3x3 input is too small for the 5x5 kernel");
    graph_free(b.g);
    /* Sizes a hostile model file could ask for are refused, not overflowed. */
    nb_begin(&b, 4, big);
    op_attrs r = op_attrs_default(OP_RESHAPE);
    r.reshape.ndim = 3;
    r.reshape.shape[0] = r.reshape.shape[1] = r.reshape.shape[2] = (int64_t)1 << 40;
    CHECK_FAILS_WITH(graph_add_node(b.g, OP_RESHAPE, "r", INPUTS(b.x), &r, NULL, &yv), "too large");
    op_attrs pd = op_attrs_default(OP_PAD);
    pd.pad.npads = 8;
    pd.pad.pads[3] = INT64_MAX;
    CHECK_FAILS_WITH(graph_add_node(b.g, OP_PAD, "p", INPUTS(b.x), &pd, NULL, &yv), "out of range");
    pd.pad.pads[3] = (int64_t)1 << 39;
    pd.pad.pads[2] = (int64_t)1 << 39;
    CHECK_FAILS_WITH(graph_add_node(b.g, OP_PAD, "p", INPUTS(b.x), &pd, NULL, &yv), "too large");
    pool.window.kernel[0] = pool.window.kernel[1] = INT64_MAX;
    CHECK_FAILS_WITH(graph_add_node(b.g, OP_MAX_POOL, "p", INPUTS(b.x), &pool, NULL, &yv), "out of range");
    int64_t huge[4] = {(int64_t)1 << 30, (int64_t)1 << 30, 4, 4};
    CHECK_FAILS_WITH(graph_add_input(b.g, "huge", 4, huge, &yv),
                     "huge: declared shape 1073741824x1073741824x4x4 has more than 2^40 elements");
    graph_free(b.g);
    net_model *none;
    CHECK_FAILS_WITH(net_model_open("no-such-model.onnx", &none), "no-such-model.onnx");
    tensor_free(&x);
    tensor_free(&bad);
    tensor_free(&tiny);
    tensor_free(&grad);
    tensor_free(&seed);
    net_session_free(s);
    net_model_close(m);
}

/* What a hostile model file could ask of graph building: huge constant
 * folds are refused with the node named, and a failed node frees its name. */
static void test_hostile_graphs(void)
{
    int64_t xs[4] = {1, 1, 2, 2};
    net_builder b;
    int layer, yv;
    /* A MatMul of two constant vectors: 2^26 values out of 2^14. */
    int64_t col[2] = {1 << 13, 1}, row[2] = {1, 1 << 13};
    nb_begin(&b, 4, xs);
    nb_node(&b, OP_MATMUL, NULL, INPUTS(nb_const(&b, &gen, -1, 1, 2, col), nb_const(&b, &gen, -1, 1, 2, row)));
    net_model *m;
    CHECK_FAILS_WITH(model_from_graph(b.g, "hostile", &m), "(MatMul): folding its constant inputs would make 67108864 values");
    /* A conv over a constant with 4.8e9 multiply-adds (a 1.2 M-value kernel). */
    int64_t cx[4] = {1, 64, 64, 64}, cw[4] = {64, 64, 17, 17};
    nb_begin(&b, 4, xs);
    op_attrs conv = window_2d(OP_CONV, 17, 1, 8);
    nb_node(&b, OP_CONV, &conv, INPUTS(nb_const(&b, &gen, -1, 1, 4, cx), nb_const(&b, &gen, -1, 1, 4, cw)));
    CHECK_FAILS_WITH(model_from_graph(b.g, "hostile", &m), "(Conv): folding its constant inputs would take 4.85e+09 operations");
    /* A node refused by shape inference leaves its name free for the next. */
    nb_begin(&b, 4, xs);
    op_attrs pool = window_2d(OP_MAX_POOL, 5, 1, 0);
    CHECK_FAILS_WITH(graph_add_node(b.g, OP_MAX_POOL, "p", INPUTS(b.x), &pool, NULL, &yv), "too small");
    CHECK(graph_find_value(b.g, "p") < 0);
    CHECK_OK(graph_add_node(b.g, OP_RELU, "p", INPUTS(b.x), NULL, NULL, &yv));
    CHECK(graph_find_value(b.g, "p") == yv);
    CHECK_FAILS_WITH(graph_add_node(b.g, OP_RELU, "p", INPUTS(b.x), NULL, NULL, &yv), "already exists");
    b.last = yv;
    m = nb_model(&b, &layer);
    CHECK(m && net_layer_count(m) == 1 && strcmp(net_layer_name(m, 0), "p") == 0);
    net_model_close(m);
}

/* No two buffers alive at the same step share arena bytes. */
static bool plan_disjoint(const plan *p)
{
    for (int i = 0; i < p->nbuffers; i++)
        for (int j = i + 1; j < p->nbuffers; j++) {
            const plan_buffer *a = &p->buffers[i], *b = &p->buffers[j];
            bool alive = a->first <= b->last && b->first <= a->last;
            if (alive && a->bytes && b->bytes && a->offset < b->offset + b->bytes && b->offset < a->offset + a->bytes)
                return false;
            if (a->offset + a->bytes > p->arena_bytes || b->offset + b->bytes > p->arena_bytes)
                return false;
        }
    return true;
}

/* Memory placement, greedy for real networks and the sweep for thousands of
 * buffers (a 20000-node chain took minutes before): no overlaps, and a long
 * Relu chain with skips still computes and differentiates exactly. */
static void test_plan_placement(void)
{
    int64_t xs[4] = {1, 2, 3, 3};
    for (int n = 40; n <= 4000; n *= 100) {
        net_builder b;
        nb_begin(&b, 4, xs);
        int back[5] = {b.x, b.x, b.x, b.x, b.x};
        int64_t one = 1;
        int half = nb_const(&b, &gen, 0.5, 0.5, 1, &one), shrink = nb_const(&b, &gen, 0.99, 0.99, 1, &one);
        for (int i = 0; i < n; i++) { /* every value a different multiple of x */
            int v = i % 3 ? nb_node(&b, OP_RELU, NULL, INPUTS(b.last)) : nb_node(&b, OP_MUL, NULL, INPUTS(b.last, shrink));
            if (i % 7 == 6) /* (v + an earlier value) / 2 */
                v = nb_node(&b, OP_MUL, NULL, INPUTS(nb_node(&b, OP_ADD, NULL, INPUTS(v, back[i % 5])), half));
            back[i % 5] = v;
        }
        int layer;
        net_model *m = nb_model(&b, &layer);
        tensor x, seed, grad;
        REQUIRE(make_tensor(&x, 4, xs, &gen, 0.5, 1) == ST_OK && make_tensor(&seed, 4, xs, &gen, -1, 1) == ST_OK);
        plan *p;
        REQUIRE(plan_create(m->g, &x, 1, &layer, 1, true, false, &p) == ST_OK);
        CHECK(n < 1000 ? p->nbuffers < 4096 : p->nbuffers > 4096); /* greedy, then sweep */
        CHECK(plan_disjoint(p));
        plan_free(p);
        /* Against the same network evaluated in double: Relu is the identity
         * on positive values, each Add sums two earlier values. */
        net_session *s;
        REQUIRE(net_session_create(m, &s) == ST_OK && tensor_alloc(&grad, 4, xs) == ST_OK);
        net_forward_opts fo = {.for_backward = true};
        CHECK_OK(net_forward(s, &x, 1, &layer, 1, &fo));
        CHECK_OK(net_backward(s, &layer, &seed, 1, NULL, &grad));
        double scale_ref = 1, ring[5] = {1, 1, 1, 1, 1}, cur = 1; /* output = scale · x */
        for (int i = 0; i < n; i++) {
            cur *= i % 3 ? 1 : (double)0.99f;
            cur = i % 7 == 6 ? (cur + ring[i % 5]) / 2 : cur;
            ring[i % 5] = cur;
        }
        scale_ref = cur;
        const tensor *y = net_activation(s, layer);
        bool ok = y != NULL;
        for (size_t k = 0; ok && k < tensor_numel(&x); k++)
            ok = fabs(y->data[k] - scale_ref * x.data[k]) <= 1e-3 * scale_ref &&
                 fabs(grad.data[k] - scale_ref * seed.data[k]) <= 1e-3 * scale_ref;
        CHECK(ok);
        net_session_free(s);
        tensor_free(&x);
        tensor_free(&seed);
        tensor_free(&grad);
        net_model_close(m);
    }
}

int main(void)
{
    rng_seed(&gen, 11);
    test_relu_modes();
    test_branches();
    test_two_seeds();
    test_keep_gradient();
    test_batch_norm_folding();
    test_vgg_aliases();
    test_module_names();
    test_circular_equivariance();
    test_batch();
    test_plan_cache();
    test_errors();
    test_hostile_graphs();
    test_plan_placement();
    return check_report("test_net_graph");
}
