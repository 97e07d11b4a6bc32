/* onnx_import.h — private to net/: the importer's small constants and the
 * evaluation of ONNX's shape-computation ops on them (onnx_fold.c).
 *
 * Exporters compute reshape targets, pads and axes with little subgraphs
 * (Shape → Gather → Unsqueeze → Concat → Reshape for x.view(x.size(0), -1);
 * ConstantOfShape → Concat → Reshape → Slice → Transpose → Cast for PyTorch's
 * pads). The importer runs them once, at the model's declared input shape, on
 * small_tensor values, and hands the engine plain constants and attributes.
 */
#ifndef SYNTH_NET_ONNX_IMPORT_H
#define SYNTH_NET_ONNX_IMPORT_H

#include "net/onnx_proto.h"

/* Folded constants stay below this many elements; larger constant work is
 * left to the engine (graph_finalize folds constant nodes). */
enum { SMALL_MAX = 1 << 16 };

/* A small constant. Values are doubles whatever the ONNX type: exact for the
 * integers shape arithmetic uses (|v| < 2^53) and for float32. */
typedef struct {
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    bool is_int;  /* an integer (or bool) ONNX type: integer semantics */
    size_t count;
    double *v;
} small_tensor;

/* A fresh small tensor of that shape in the arena (values zero); error when
 * it has more than SMALL_MAX elements. */
status small_new(onnx_arena *a, int ndim, const int64_t *shape, bool is_int, small_tensor *out);
/* Element k as int64, saturating (INT64_MAX as ONNX's "to the end"). */
int64_t small_int(const small_tensor *t, size_t k);

/* Each sets an error without subject on failure (the caller names the node).
 * Axes may be negative (counted from the end) where ONNX allows it. */
status fold_binary(onnx_arena *a, char op, const small_tensor *x, const small_tensor *y, small_tensor *out);
status fold_concat(onnx_arena *a, const small_tensor *const *in, int n, int64_t axis, small_tensor *out);
status fold_gather(onnx_arena *a, const small_tensor *data, const small_tensor *indices, int64_t axis,
                   small_tensor *out);
/* starts/ends/axes/steps hold n entries (axes NULL: 0..n-1; steps NULL: 1). */
status fold_slice(onnx_arena *a, const small_tensor *data, const int64_t *starts, const int64_t *ends,
                  const int64_t *axes, const int64_t *steps, int n, small_tensor *out);
status fold_transpose(onnx_arena *a, const small_tensor *data, const int64_t *perm, int nperm, small_tensor *out);
/* The output shape of Unsqueeze (axes index the output) and Squeeze (axes
 * index the input; none: every dimension of size 1). */
status unsqueeze_shape(int ndim, const int64_t *shape, const int64_t *axes, int naxes, int *out_ndim,
                       int64_t *out_shape);
status squeeze_shape(int ndim, const int64_t *shape, const int64_t *axes, int naxes, int *out_ndim,
                     int64_t *out_shape);
/* Cast to an ONNX type: integers truncate toward zero, bool is v != 0. */
status fold_cast(onnx_arena *a, const small_tensor *x, int32_t to, small_tensor *out);

#endif
