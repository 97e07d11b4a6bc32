/* ops.h — private to net/: the op kernels behind graph.h's op kinds.
 *
 * Each op family lives in one file with, side by side: shape inference, the
 * forward kernel and the backward kernel (gradient to the inputs only; weight
 * gradients are never needed). ops.c dispatches on the op kind (one switch per
 * entry point) and holds the per-op metadata.
 *
 * Contract of a kernel:
 *   - shapes were inferred and checked at plan time (op_infer), so kernels do
 *     not fail;
 *   - forward writes the whole output; with `saved` non-NULL it also stores
 *     what backward needs (op_saved_bytes bytes: sign bits, argmax, ...);
 *   - backward ADDS the gradient into each gin[i] that is non-NULL (the
 *     executor zeroes gradient buffers before their first use), so branches
 *     and a tensor read twice accumulate for free; except that where
 *     op_backward_overwrites allows it, the executor may instead ask (bit i
 *     of op_call.overwrite) that gin[i] be written whole, not added to: the
 *     first writer of a gradient then spares the zeroing and its re-read. It may read the inputs and
 *     output only as op_backward_reads declares; the others may already be
 *     released (their data pointers are then NULL).
 */
#ifndef SYNTH_NET_OPS_H
#define SYNTH_NET_OPS_H

#include "net/graph.h"

typedef struct {
    int ndim;
    int64_t d[TENSOR_MAX_DIMS];
} nd_shape;

/* A window op's geometry resolved at one input size, over 3 spatial dims
 * (D, H, W): a 2-D op has in[0] = out[0] = kernel[0] = 1, a 1-D op also in[1]
 * = out[1] = 1, with unit stride and dilation and no pads on those dims. */
typedef struct {
    int nspatial; /* as in the graph: 1, 2 or 3 */
    int64_t n, c, m; /* batch, input channels, output channels (pools: m = c) */
    int64_t group; /* Conv */
    int64_t in[3], out[3], kernel[3], stride[3], dilation[3], pad_begin[3], pad_end[3];
} window_geom;

/* Infers node's output shape from its input shapes (absent inputs have ndim
 * -1) and, for window ops, the resolved geometry. Errors describe the problem
 * ("kernel 3x3 does not fit the 2x2 input"); the caller prefixes the node. */
status op_infer(const graph_node *node, const nd_shape *in, nd_shape *out, window_geom *geo);

typedef struct {
    const graph_node *node;
    const window_geom *geo; /* window ops */
    const tensor *const *in; /* node->ninputs entries; NULL for an absent input */
    tensor *out;
    void *saved; /* forward with backward to come: op_saved_bytes bytes */
    void *scratch; /* op_scratch_bytes bytes for this call */
    bool circular; /* conv and pool pads wrap around */
    net_relu_backward relu; /* backward of Relu */
    uint64_t overwrite; /* backward: bit i set, gin[i] is written, not added to */
} op_call;

void op_forward(const op_call *c);
/* gout: gradient of the output; gin[i]: gradient buffers of the inputs that
 * need one (else NULL), added into. */
void op_backward(const op_call *c, const tensor *gout, tensor *const *gin);

/* The output is the first input's data reinterpreted (Identity, Flatten,
 * Reshape): no kernel runs, the executor shares the storage. */
bool op_is_view(op_kind op);
/* Bytes forward stores in `saved` for backward. */
size_t op_saved_bytes(const graph_node *node, const nd_shape *in, const nd_shape *out);
/* Scratch bytes for one forward (backward = false) or backward call with
 * `threads` pool threads and circular pads or not. */
size_t op_scratch_bytes(const graph_node *node, const window_geom *geo, const nd_shape *in,
                        const nd_shape *out, bool backward, bool circular, int threads);
/* Whether input `input` may carry a gradient (Conv: X only; a plan that
 * would need the gradient of W fails). */
bool op_input_differentiable(const graph_node *node, int input);
/* Whether backward reads input `input`'s value, given which inputs need a
 * gradient (needs_grad[i]); and whether it reads the output. */
bool op_backward_reads_input(const graph_node *node, int input, const bool *needs_grad);
bool op_backward_reads_output(const graph_node *node);
/* Whether backward can write the whole gradient of input `input` instead of
 * adding to it (for inputs 0..63). */
bool op_backward_overwrites(const graph_node *node, int input);

/* Input coordinate read by output position o, kernel tap k along one axis:
 * the index, or -1 for a zero pad (with circular pads, the wrapped index). */
static inline int64_t window_source(int64_t o, int64_t k, int64_t stride, int64_t dilation,
                                    int64_t pad, int64_t size, bool circular)
{
    int64_t i = o * stride - pad + k * dilation;
    if (i >= 0 && i < size)
        return i;
    if (!circular)
        return -1;
    i %= size;
    return i < 0 ? i + size : i;
}

/* ---- per-family entry points (called by ops.c) ------------------------------ */

size_t shape_count(const nd_shape *s);
/* Dims >= 0 and at most 2^MAX_ELEMENTS_LOG2 = 2^40 elements in all (checked
 * by op_infer for every output, and for graph inputs). */
enum { MAX_ELEMENTS_LOG2 = 40 };
bool shape_fits(const nd_shape *s);
bool shape_equal(const nd_shape *a, const nd_shape *b);
const char *nd_shape_format(const nd_shape *s, char *buf, size_t size);

/* ops_conv.c */
status window_infer(const graph_node *node, const nd_shape *x, const nd_shape *w, nd_shape *out,
                    window_geom *geo);
status conv_infer(const graph_node *node, const nd_shape *in, nd_shape *out, window_geom *geo);
void conv_forward(const op_call *c);
void conv_backward(const op_call *c, const tensor *gout, tensor *const *gin);
size_t conv_scratch_bytes(const window_geom *geo, bool backward, bool circular, int threads);

/* ops_winograd.c: F(4×4, 3×3) for 3×3 stride-1 undilated convs (pads up to
 * 2, enough channels and output), used by conv_forward / conv_backward when
 * winograd_applies (sizes alone decide). */
bool winograd_applies(const window_geom *geo, bool circular);
size_t winograd_scratch_bytes(const window_geom *geo, bool backward, int threads);
void winograd_forward(const op_call *c);
void winograd_backward(const op_call *c, const tensor *gout, tensor *gin);

/* ops_pool.c */
status pool_infer(const graph_node *node, const nd_shape *in, nd_shape *out, window_geom *geo);
status global_pool_infer(const nd_shape *in, nd_shape *out);
void max_pool_forward(const op_call *c);
void max_pool_backward(const op_call *c, const tensor *gout, tensor *const *gin);
size_t max_pool_saved_bytes(const graph_node *node, const nd_shape *out);
size_t pool_scratch_bytes(const window_geom *geo);
void average_pool_forward(const op_call *c);
void average_pool_backward(const op_call *c, const tensor *gout, tensor *const *gin);
void global_average_pool_forward(const op_call *c);
void global_average_pool_backward(const op_call *c, const tensor *gout, tensor *const *gin);
void global_max_pool_forward(const op_call *c);
void global_max_pool_backward(const op_call *c, const tensor *gout, tensor *const *gin);

/* ops_activation.c: Relu, LeakyRelu, Clip, Sigmoid, Tanh */
status clip_infer(const nd_shape *in, int ninputs, nd_shape *out);
void activation_forward(const op_call *c);
void activation_backward(const op_call *c, const tensor *gout, tensor *const *gin);

/* ops_elementwise.c: Add, Sub, Mul, Div, Sum with numpy broadcasting */
status broadcast_infer(const nd_shape *in, int ninputs, nd_shape *out);
void elementwise_forward(const op_call *c);
void elementwise_backward(const op_call *c, const tensor *gout, tensor *const *gin);

/* ops_matmul.c: Gemm, MatMul */
status gemm_infer(const graph_node *node, const nd_shape *in, nd_shape *out);
void gemm_forward(const op_call *c);
void gemm_backward(const op_call *c, const tensor *gout, tensor *const *gin);
status matmul_infer(const nd_shape *in, nd_shape *out);
void matmul_forward(const op_call *c);
void matmul_backward(const op_call *c, const tensor *gout, tensor *const *gin);

/* ops_shape.c: Concat, Flatten, Reshape, Identity, Pad */
status concat_infer(const graph_node *node, const nd_shape *in, nd_shape *out);
void concat_forward(const op_call *c);
void concat_backward(const op_call *c, const tensor *gout, tensor *const *gin);
status flatten_infer(const graph_node *node, const nd_shape *in, nd_shape *out);
status reshape_infer(const graph_node *node, const nd_shape *in, nd_shape *out);
status pad_infer(const graph_node *node, const nd_shape *in, nd_shape *out);
void pad_forward(const op_call *c);
void pad_backward(const op_call *c, const tensor *gout, tensor *const *gin);

/* ops_norm.c: LRN, BatchNormalization, Softmax */
status lrn_infer(const graph_node *node, const nd_shape *in, nd_shape *out);
void lrn_forward(const op_call *c);
void lrn_backward(const op_call *c, const tensor *gout, tensor *const *gin);
size_t lrn_scratch_bytes(const nd_shape *in, int threads);
status batch_norm_infer(const nd_shape *in, nd_shape *out);
void batch_norm_forward(const op_call *c);
void batch_norm_backward(const op_call *c, const tensor *gout, tensor *const *gin);
status softmax_infer(const graph_node *node, const nd_shape *in, nd_shape *out);
void softmax_forward(const op_call *c);
void softmax_backward(const op_call *c, const tensor *gout, tensor *const *gin);

/* Normalizes an ONNX axis in [-rank, rank) (or [-rank, rank] when
 * allow_end) to [0, rank]; false when out of range. */
bool axis_normalize(int64_t axis, int rank, bool allow_end, int *out);

#endif
