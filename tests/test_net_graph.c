/* The net engine's graph: building, finalizing (BatchNorm folding, VGG
 * aliases), running forward and backward through branches, ReLU backward
 * modes, and memory release. */
#include "check.h"
#include "net/graph.h"

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

int main(void)
{
    test_relu_modes();
    return check_report("test_net_graph");
}
