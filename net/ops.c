/* The op table: names, ONNX attribute defaults, and the one switch per entry
 * point that sends each op kind to its family's kernels (ops_*.c). */
#include "net/ops.h"

#include <math.h>
#include <string.h>

static const char *const op_names[OP_COUNT] = {
    [OP_CONV] = "Conv",
    [OP_RELU] = "Relu",
    [OP_LEAKY_RELU] = "LeakyRelu",
    [OP_CLIP] = "Clip",
    [OP_SIGMOID] = "Sigmoid",
    [OP_TANH] = "Tanh",
    [OP_MAX_POOL] = "MaxPool",
    [OP_AVERAGE_POOL] = "AveragePool",
    [OP_GLOBAL_AVERAGE_POOL] = "GlobalAveragePool",
    [OP_GLOBAL_MAX_POOL] = "GlobalMaxPool",
    [OP_LRN] = "LRN",
    [OP_CONCAT] = "Concat",
    [OP_ADD] = "Add",
    [OP_SUB] = "Sub",
    [OP_MUL] = "Mul",
    [OP_DIV] = "Div",
    [OP_SUM] = "Sum",
    [OP_GEMM] = "Gemm",
    [OP_MATMUL] = "MatMul",
    [OP_FLATTEN] = "Flatten",
    [OP_RESHAPE] = "Reshape",
    [OP_SOFTMAX] = "Softmax",
    [OP_BATCH_NORM] = "BatchNormalization",
    [OP_IDENTITY] = "Identity",
    [OP_PAD] = "Pad",
};

const char *op_name(op_kind op) { return (unsigned)op < OP_COUNT ? op_names[op] : "?"; }

int op_from_name(const char *onnx_op_type)
{
    for (int i = 0; i < OP_COUNT; i++)
        if (strcmp(op_names[i], onnx_op_type) == 0)
            return i;
    return -1;
}

op_attrs op_attrs_default(op_kind op)
{
    op_attrs a;
    memset(&a, 0, sizeof a);
    a.leaky_relu.alpha = 0.01f;
    a.clip.min = -INFINITY;
    a.clip.max = INFINITY;
    a.lrn.alpha = 1e-4f;
    a.lrn.beta = 0.75f;
    a.lrn.bias = 1.0f;
    a.gemm.alpha = 1.0f;
    a.gemm.beta = 1.0f;
    a.flatten.axis = 1;
    a.softmax.axis = -1;
    a.batch_norm.epsilon = 1e-5f;
    a.pad.mode = PAD_CONSTANT;
    (void)op;
    return a;
}

bool axis_normalize(int64_t axis, int rank, bool allow_end, int *out)
{
    int64_t hi = allow_end ? rank : rank - 1;
    if (axis < 0)
        axis += rank;
    if (axis < 0 || axis > hi)
        return false;
    *out = (int)axis;
    return true;
}

size_t shape_count(const nd_shape *s) { return shape_numel(s->ndim, s->d); }

bool shape_equal(const nd_shape *a, const nd_shape *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i])
            return false;
    return true;
}

const char *nd_shape_format(const nd_shape *s, char *buf, size_t size)
{
    return shape_format(s->ndim, s->d, buf, size);
}

/* Unary ops: the output has the input's shape. */
static status same_shape(const nd_shape *in, nd_shape *out)
{
    *out = in[0];
    return ST_OK;
}

static status infer_op(const graph_node *node, const nd_shape *in, nd_shape *out, window_geom *geo)
{
    switch (node->op) {
    case OP_CONV: return conv_infer(node, in, out, geo);
    case OP_RELU:
    case OP_LEAKY_RELU:
    case OP_SIGMOID:
    case OP_TANH:
    case OP_IDENTITY: return same_shape(in, out);
    case OP_CLIP: return clip_infer(in, node->ninputs, out);
    case OP_MAX_POOL:
    case OP_AVERAGE_POOL: return pool_infer(node, in, out, geo);
    case OP_GLOBAL_AVERAGE_POOL:
    case OP_GLOBAL_MAX_POOL: return global_pool_infer(in, out);
    case OP_LRN: return lrn_infer(node, in, out);
    case OP_CONCAT: return concat_infer(node, in, out);
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_SUM: return broadcast_infer(in, node->ninputs, out);
    case OP_GEMM: return gemm_infer(node, in, out);
    case OP_MATMUL: return matmul_infer(in, out);
    case OP_FLATTEN: return flatten_infer(node, in, out);
    case OP_RESHAPE: return reshape_infer(node, in, out);
    case OP_SOFTMAX: return softmax_infer(node, in, out);
    case OP_BATCH_NORM: return batch_norm_infer(in, out);
    case OP_PAD: return pad_infer(node, in, out);
    case OP_COUNT: break;
    }
    return error_set(NULL, "unknown op %d", (int)node->op);
}

/* Every shape a plan allocates: at most 2^40 elements, so byte counts and
 * sums of them never overflow, whatever a model file says. */

bool shape_fits(const nd_shape *s)
{
    uint64_t n = 1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->d[i] < 0 ||
            (s->d[i] > 0 && n > ((uint64_t)1 << MAX_ELEMENTS_LOG2) / (uint64_t)s->d[i]))
            return false;
        n *= (uint64_t)s->d[i];
    }
    return true;
}

status op_infer(const graph_node *node, const nd_shape *in, nd_shape *out, window_geom *geo)
{
    if (infer_op(node, in, out, geo) != ST_OK)
        return ST_ERROR;
    if (out->ndim < 0 || out->ndim > TENSOR_MAX_DIMS || !shape_fits(out))
        return error_set(NULL, "the output would be too large");
    return ST_OK;
}

void op_forward(const op_call *c)
{
    switch (c->node->op) {
    case OP_CONV: conv_forward(c); return;
    case OP_RELU:
    case OP_LEAKY_RELU:
    case OP_CLIP:
    case OP_SIGMOID:
    case OP_TANH: activation_forward(c); return;
    case OP_MAX_POOL: max_pool_forward(c); return;
    case OP_AVERAGE_POOL: average_pool_forward(c); return;
    case OP_GLOBAL_AVERAGE_POOL: global_average_pool_forward(c); return;
    case OP_GLOBAL_MAX_POOL: global_max_pool_forward(c); return;
    case OP_LRN: lrn_forward(c); return;
    case OP_CONCAT: concat_forward(c); return;
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_SUM: elementwise_forward(c); return;
    case OP_GEMM: gemm_forward(c); return;
    case OP_MATMUL: matmul_forward(c); return;
    case OP_SOFTMAX: softmax_forward(c); return;
    case OP_BATCH_NORM: batch_norm_forward(c); return;
    case OP_PAD: pad_forward(c); return;
    case OP_IDENTITY:
    case OP_FLATTEN:
    case OP_RESHAPE: /* views: the executor shares the storage */
    case OP_COUNT: return;
    }
}

void op_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    switch (c->node->op) {
    case OP_CONV: conv_backward(c, gout, gin); return;
    case OP_RELU:
    case OP_LEAKY_RELU:
    case OP_CLIP:
    case OP_SIGMOID:
    case OP_TANH: activation_backward(c, gout, gin); return;
    case OP_MAX_POOL: max_pool_backward(c, gout, gin); return;
    case OP_AVERAGE_POOL: average_pool_backward(c, gout, gin); return;
    case OP_GLOBAL_AVERAGE_POOL: global_average_pool_backward(c, gout, gin); return;
    case OP_GLOBAL_MAX_POOL: global_max_pool_backward(c, gout, gin); return;
    case OP_LRN: lrn_backward(c, gout, gin); return;
    case OP_CONCAT: concat_backward(c, gout, gin); return;
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_SUM: elementwise_backward(c, gout, gin); return;
    case OP_GEMM: gemm_backward(c, gout, gin); return;
    case OP_MATMUL: matmul_backward(c, gout, gin); return;
    case OP_SOFTMAX: softmax_backward(c, gout, gin); return;
    case OP_BATCH_NORM: batch_norm_backward(c, gout, gin); return;
    case OP_PAD: pad_backward(c, gout, gin); return;
    case OP_IDENTITY:
    case OP_FLATTEN:
    case OP_RESHAPE: /* views share the gradient storage too */
    case OP_COUNT: return;
    }
}

bool op_is_view(op_kind op) { return op == OP_IDENTITY || op == OP_FLATTEN || op == OP_RESHAPE; }

static size_t bit_bytes(const nd_shape *s) { return (shape_count(s) + 7) / 8; }

size_t op_saved_bytes(const graph_node *node, const nd_shape *in, const nd_shape *out)
{
    switch (node->op) {
    case OP_RELU:
    case OP_LEAKY_RELU:
    case OP_CLIP: return bit_bytes(&in[0]); /* one sign / in-range bit per element */
    case OP_MAX_POOL: return max_pool_saved_bytes(node, out);
    case OP_GLOBAL_MAX_POOL: return shape_count(out) * sizeof(int32_t); /* argmax per plane */
    default: return 0;
    }
}

size_t op_scratch_bytes(const graph_node *node, const window_geom *geo, const nd_shape *in,
                        const nd_shape *out, bool backward, bool circular, int threads)
{
    (void)out;
    switch (node->op) {
    case OP_CONV: return conv_scratch_bytes(geo, backward, circular, threads);
    case OP_LRN: return lrn_scratch_bytes(&in[0], threads);
    case OP_MAX_POOL:
    case OP_AVERAGE_POOL: return pool_scratch_bytes(geo);
    default: return 0;
    }
}

bool op_input_differentiable(const graph_node *node, int input)
{
    switch (node->op) {
    case OP_CONV:
    case OP_LEAKY_RELU:
    case OP_CLIP:
    case OP_MAX_POOL:
    case OP_AVERAGE_POOL:
    case OP_LRN:
    case OP_SOFTMAX:
    case OP_BATCH_NORM:
    case OP_PAD: return input == 0; /* weights, bounds and statistics are constants */
    default: return true;
    }
}

bool op_backward_reads_input(const graph_node *node, int input, const bool *needs_grad)
{
    switch (node->op) {
    case OP_CONV: return input == 1; /* W: backward-data needs no activations */
    case OP_LRN: return input == 0; /* X; the scale is recomputed */
    case OP_BATCH_NORM: return input == 1 || input == 4; /* scale, var */
    case OP_CLIP: return false; /* the in-range bits are saved */
    case OP_MUL:
    case OP_GEMM:
    case OP_MATMUL: /* d(A·B)/dA reads B and d/dB reads A */
        return (input == 0 && needs_grad[1]) || (input == 1 && needs_grad[0]);
    case OP_DIV: /* dA = g / B; dB = -g·A / B² */
        return input == 1 || (input == 0 && needs_grad[1]);
    default: return false;
    }
}

bool op_backward_reads_output(const graph_node *node)
{
    return node->op == OP_SIGMOID || node->op == OP_TANH || node->op == OP_SOFTMAX;
}

bool op_backward_overwrites(const graph_node *node, int input)
{
    switch (node->op) {
    case OP_CONV:
    case OP_RELU:
    case OP_MAX_POOL: return input == 0;
    default: return false;
    }
}
