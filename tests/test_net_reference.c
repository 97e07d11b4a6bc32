/* Agreement with PyTorch: the nets of scripts/make_net_reference.py built
 * again through net/graph.h from the same weights, run on the same inputs;
 * activations and input gradients of J = ½·Σ act² must match PyTorch's
 * (computed in float64) to 1e-4 relative to each tensor's largest value. */
#include "net_check.h"

static tensor load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/net/%s.npy", SYNTH_TEST_DATA, name);
    tensor t;
    if (tensor_read_npy(path, &t) != ST_OK) {
        fprintf(stderr, "%s\n", error_message());
        exit(1);
    }
    return t;
}

static int weight(graph *g, const char *prefix, const char *name)
{
    char full[128];
    snprintf(full, sizeof full, "%s_%s", prefix, name);
    tensor t = load(full);
    int id;
    REQUIRE(graph_add_constant(g, full, &t, &id) == ST_OK);
    return id;
}

static int node(graph *g, op_kind op, const char *name, const int *inputs, int n, const op_attrs *a)
{
    int y;
    if (graph_add_node(g, op, name, inputs, n, a, NULL, &y) != ST_OK) {
        fprintf(stderr, "%s\n", error_message());
        exit(1);
    }
    return y;
}

/* A conv layer named `name` with weights "<prefix>_<module>.weight/.bias" and
 * symmetric pads. */
static int conv(graph *g, const char *prefix, const char *module, const char *name, int x, int64_t pad,
                int64_t stride, int64_t dilation, int64_t group)
{
    char w[64], b[64];
    snprintf(w, sizeof w, "%s.weight", module);
    snprintf(b, sizeof b, "%s.bias", module);
    op_attrs a = window_2d(OP_CONV, 0, stride, pad);
    a.window.dilations[0] = a.window.dilations[1] = dilation;
    a.window.group = group;
    return node(g, OP_CONV, name, INPUTS(x, weight(g, prefix, w), weight(g, prefix, b)), &a);
}

static op_attrs pool(op_kind op, int64_t k, int64_t s, int64_t pad, bool ceil)
{
    op_attrs a = window_2d(op, k, s, pad);
    a.window.ceil_mode = ceil;
    return a;
}

/* |ours − ref| <= 1e-4 · max |ref| everywhere. */
static void compare(const tensor *ours, const tensor *ref, const char *what)
{
    CHECK(tensor_same_shape(ours, ref));
    if (!tensor_same_shape(ours, ref))
        return;
    double scale = 0, worst = 0;
    for (size_t i = 0; i < tensor_numel(ref); i++)
        scale = fmax(scale, fabs(ref->data[i]));
    for (size_t i = 0; i < tensor_numel(ref); i++)
        worst = fmax(worst, fabs(ours->data[i] - ref->data[i]));
    if (!(worst <= 1e-4 * scale))
        fprintf(stderr, "%s: differs from PyTorch by %g (scale %g)\n", what, worst, scale);
    CHECK(worst <= 1e-4 * scale);
    CHECK(scale > 0); /* a reference of zeros would prove nothing */
}

/* For each layer: the activation, and for each ReLU mode the gradient of
 * J = ½·Σ act² w.r.t. the input, against the files. */
static void check_layers(net_model *m, const char *prefix, const char *const *layers, int nlayers,
                         const char *const *modes, int nmodes)
{
    char name[128];
    snprintf(name, sizeof name, "%s_x", prefix);
    tensor x = load(name), grad;
    REQUIRE(tensor_alloc(&grad, x.ndim, x.shape) == ST_OK);
    net_session *s;
    REQUIRE(net_session_create(m, &s) == ST_OK);
    for (int l = 0; l < nlayers; l++) {
        int layer;
        CHECK_OK(net_layer_find(m, layers[l], &layer));
        for (int k = 0; k < nmodes; k++) {
            net_forward_opts fo = {.for_backward = true};
            CHECK_OK(net_forward(s, &x, 1, &layer, 1, &fo));
            const tensor *act = net_activation(s, layer);
            REQUIRE(act != NULL);
            snprintf(name, sizeof name, "%s_act_%s", prefix, layers[l]);
            tensor ref = load(name);
            if (k == 0)
                compare(act, &ref, name);
            tensor_free(&ref);
            net_relu_backward mode = strcmp(modes[k], "guided") == 0      ? NET_RELU_GUIDED
                                     : strcmp(modes[k], "deconvnet") == 0 ? NET_RELU_DECONVNET
                                                                          : NET_RELU_STANDARD;
            net_backward_opts bo = {.relu = mode};
            CHECK_OK(net_backward(s, &layer, act, 1, &bo, &grad));
            snprintf(name, sizeof name, "%s_grad_%s_%s", prefix, layers[l], modes[k]);
            ref = load(name);
            compare(&grad, &ref, name);
            tensor_free(&ref);
        }
    }
    tensor_free(&x);
    tensor_free(&grad);
    net_session_free(s);
}

static void test_vgg(void)
{
    graph *g;
    REQUIRE(graph_create(&g) == ST_OK);
    tensor x0 = load("vgg_x");
    int x;
    REQUIRE(graph_add_input(g, "x", x0.ndim, x0.shape, &x) == ST_OK);
    tensor_free(&x0);
    x = conv(g, "vgg", "conv1_1", "conv1_1", x, 1, 1, 1, 1);
    x = node(g, OP_RELU, "relu1_1", INPUTS(x), NULL);
    x = conv(g, "vgg", "conv1_2", "conv1_2", x, 1, 1, 1, 1);
    x = node(g, OP_RELU, "relu1_2", INPUTS(x), NULL);
    op_attrs p = pool(OP_MAX_POOL, 2, 2, 0, false);
    x = node(g, OP_MAX_POOL, "pool1", INPUTS(x), &p);
    x = conv(g, "vgg", "conv2_1", "conv2_1", x, 1, 1, 1, 1);
    x = node(g, OP_RELU, "relu2_1", INPUTS(x), NULL);
    node(g, OP_MAX_POOL, "pool2", INPUTS(x), &p);
    net_model *m;
    REQUIRE(model_from_graph(g, "vgg", &m) == ST_OK);
    const char *layers[] = {"relu2_1", "pool2"}, *modes[] = {"standard", "deconvnet", "guided"};
    check_layers(m, "vgg", layers, 2, modes, 3);
    net_model_close(m);
}

static void test_branchy(void)
{
    const char *P = "branchy";
    graph *g;
    REQUIRE(graph_create(&g) == ST_OK);
    tensor x0 = load("branchy_x");
    int x;
    REQUIRE(graph_add_input(g, "x", x0.ndim, x0.shape, &x) == ST_OK);
    tensor_free(&x0);
    int y = conv(g, P, "conv0", "conv0", x, 1, 1, 1, 1);
    y = node(g, OP_BATCH_NORM, "bn0",
             INPUTS(y, weight(g, P, "bn0.weight"), weight(g, P, "bn0.bias"), weight(g, P, "bn0.running_mean"),
                    weight(g, P, "bn0.running_var")),
             NULL);
    int stem = node(g, OP_RELU, "stem", INPUTS(y), NULL);
    int a = conv(g, P, "a", "a", stem, 0, 1, 1, 1);
    int b = node(g, OP_RELU, "b_relu", INPUTS(conv(g, P, "b", "b", stem, 2, 1, 2, 1)), NULL);
    op_attrs p3 = pool(OP_MAX_POOL, 3, 1, 1, false);
    int c = conv(g, P, "c", "c", node(g, OP_MAX_POOL, "c_pool", INPUTS(stem), &p3), 0, 1, 1, 1);
    op_attrs cat = op_attrs_default(OP_CONCAT);
    cat.concat.axis = 1;
    int z = node(g, OP_CONCAT, "concat", INPUTS(a, b, c), &cat);
    int dw = conv(g, P, "dw", "dw", z, 1, 1, 1, 14);
    z = node(g, OP_RELU, "residual", INPUTS(node(g, OP_ADD, "add", INPUTS(dw, z), NULL)), NULL);
    op_attrs lrn = op_attrs_default(OP_LRN);
    lrn.lrn.size = 5;
    lrn.lrn.alpha = 0.05f;
    lrn.lrn.beta = 0.75f;
    lrn.lrn.bias = 1.5f;
    z = node(g, OP_LRN, "lrn", INPUTS(z), &lrn);
    op_attrs pc = pool(OP_MAX_POOL, 3, 2, 0, true);
    z = node(g, OP_MAX_POOL, "pool_ceil", INPUTS(z), &pc);
    op_attrs pad = op_attrs_default(OP_PAD);
    pad.pad.npads = 8;
    pad.pad.pads[2] = 1; /* top */
    pad.pad.pads[7] = 1; /* right */
    z = node(g, OP_PAD, "pad", INPUTS(z), &pad);
    z = node(g, OP_RELU, "down", INPUTS(conv(g, P, "down", "down_conv", z, 0, 2, 1, 1)), NULL);
    op_attrs avg = pool(OP_AVERAGE_POOL, 2, 1, 1, false);
    z = node(g, OP_AVERAGE_POOL, "avg", INPUTS(z), &avg);
    z = node(g, OP_GLOBAL_AVERAGE_POOL, "gap", INPUTS(z), NULL);
    op_attrs flat = op_attrs_default(OP_FLATTEN);
    z = node(g, OP_FLATTEN, "flatten", INPUTS(z), &flat);
    op_attrs gemm = op_attrs_default(OP_GEMM);
    gemm.gemm.trans_b = true;
    z = node(g, OP_GEMM, "logits", INPUTS(z, weight(g, P, "fc.weight"), weight(g, P, "fc.bias")), &gemm);
    op_attrs sm = op_attrs_default(OP_SOFTMAX);
    node(g, OP_SOFTMAX, "softmax", INPUTS(z), &sm);
    net_model *m;
    REQUIRE(model_from_graph(g, "branchy", &m) == ST_OK);
    /* bn0 was folded into conv0: both names find the one Conv layer. */
    int l0 = -1, l1 = -2;
    CHECK_OK(net_layer_find(m, "conv0", &l0));
    CHECK_OK(net_layer_find(m, "bn0", &l1));
    CHECK(l0 == l1 && strcmp(net_layer_op(m, l0), "Conv") == 0);
    const char *layers[] = {"residual", "lrn", "avg", "logits", "softmax"}, *modes[] = {"standard"};
    check_layers(m, P, layers, 5, modes, 1);
    net_model_close(m);
}

int main(void)
{
    test_vgg();
    test_branchy();
    return check_report("test_net_reference");
}
