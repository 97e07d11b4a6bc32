/* Ops that move data without arithmetic: Concat, Pad, and the views Flatten,
 * Reshape and Identity (shape inference only: the executor shares storage),
 * forward and backward side by side.
 *
 * Concat along axis a: Y = [X1 | X2 | ...]; backward hands each input its
 * slice of dY. Pad (constant, reflect, edge; negative pads crop): each output
 * element reads at most one input element (or the constant), and backward
 * adds dY back to that element — reflect and edge read some elements several
 * times, so their gradients accumulate.
 */
#include "net/ops.h"

#include <string.h>

/* ---- Concat ------------------------------------------------------------------------ */

status concat_infer(const graph_node *node, const nd_shape *in, nd_shape *out)
{
    int rank = in[0].ndim, axis;
    if (!axis_normalize(node->attrs.concat.axis, rank, false, &axis))
        return error_set(NULL, "axis %lld out of range for rank %d",
                         (long long)node->attrs.concat.axis, rank);
    *out = in[0];
    for (int i = 1; i < node->ninputs; i++) {
        bool same = in[i].ndim == rank;
        for (int d = 0; d < rank && same; d++)
            same = d == axis || in[i].d[d] == in[0].d[d];
        if (!same) {
            char a[96], b[96];
            return error_set(NULL, "input shapes %s and %s differ off the axis",
                             nd_shape_format(&in[0], a, sizeof a),
                             nd_shape_format(&in[i], b, sizeof b));
        }
        out->d[axis] += in[i].d[axis];
    }
    return ST_OK;
}

/* Rows before the axis, and elements per row for a tensor (dims from axis on). */
static void concat_split(const tensor *t, int axis, int64_t *outer, int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < t->ndim; d++)
        *(d < axis ? outer : inner) *= t->shape[d];
}

void concat_forward(const op_call *c)
{
    int axis;
    axis_normalize(c->node->attrs.concat.axis, c->out->ndim, false, &axis);
    int64_t outer, out_inner;
    concat_split(c->out, axis, &outer, &out_inner);
    int64_t at = 0;
    for (int i = 0; i < c->node->ninputs; i++) {
        int64_t o, inner;
        concat_split(c->in[i], axis, &o, &inner);
        for (int64_t r = 0; r < outer; r++)
            memcpy(c->out->data + r * out_inner + at, c->in[i]->data + r * inner,
                   (size_t)inner * sizeof(float));
        at += inner;
    }
}

void concat_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    int axis;
    axis_normalize(c->node->attrs.concat.axis, gout->ndim, false, &axis);
    int64_t outer, out_inner;
    concat_split(gout, axis, &outer, &out_inner);
    int64_t at = 0;
    for (int i = 0; i < c->node->ninputs; i++) {
        int64_t o, inner;
        concat_split(c->in[i], axis, &o, &inner);
        if (gin[i])
            for (int64_t r = 0; r < outer; r++) {
                const float *src = gout->data + r * out_inner + at;
                float *dst = gin[i]->data + r * inner;
                for (int64_t k = 0; k < inner; k++)
                    dst[k] += src[k];
            }
        at += inner;
    }
}

/* ---- Flatten, Reshape (views) ------------------------------------------------------- */

status flatten_infer(const graph_node *node, const nd_shape *in, nd_shape *out)
{
    int axis;
    if (!axis_normalize(node->attrs.flatten.axis, in[0].ndim, true, &axis))
        return error_set(NULL, "axis %lld out of range for rank %d",
                         (long long)node->attrs.flatten.axis, in[0].ndim);
    out->ndim = 2;
    out->d[0] = out->d[1] = 1;
    for (int d = 0; d < in[0].ndim; d++)
        out->d[d < axis ? 0 : 1] *= in[0].d[d];
    return ST_OK;
}

status reshape_infer(const graph_node *node, const nd_shape *in, nd_shape *out)
{
    int ndim = node->attrs.reshape.ndim;
    const int64_t *target = node->attrs.reshape.shape;
    if (ndim < 0 || ndim > TENSOR_MAX_DIMS)
        return error_set(NULL, "target shape has %d dimensions", ndim);
    out->ndim = ndim;
    int infer = -1;
    int64_t known = 1;
    for (int d = 0; d < ndim; d++) {
        int64_t v = target[d];
        if (v == 0 && !node->attrs.reshape.allowzero) {
            if (d >= in[0].ndim)
                return error_set(NULL, "target dim %d is 0 but the input has rank %d", d,
                                 in[0].ndim);
            v = in[0].d[d];
        }
        if (v == -1) {
            if (infer >= 0)
                return error_set(NULL, "more than one -1 in the target shape");
            infer = d;
            v = 1;
        } else if (v < 0) {
            return error_set(NULL, "bad target dim %lld", (long long)v);
        }
        out->d[d] = v;
        if (v > 0 && known > ((int64_t)1 << 40) / v)
            return error_set(NULL, "target shape too large");
        known *= v;
    }
    int64_t total = (int64_t)shape_count(&in[0]);
    if (infer >= 0) {
        if (known == 0 || total % known != 0)
            return error_set(NULL, "cannot reshape %lld elements with a -1", (long long)total);
        out->d[infer] = total / known;
        known *= out->d[infer];
    }
    if (known != total) {
        char a[96], b[96];
        return error_set(NULL, "cannot reshape %s into %s", nd_shape_format(&in[0], a, sizeof a),
                         nd_shape_format(out, b, sizeof b));
    }
    return ST_OK;
}

/* ---- Pad ------------------------------------------------------------------------------ */

status pad_infer(const graph_node *node, const nd_shape *in, nd_shape *out)
{
    int rank = in[0].ndim;
    const int64_t *pads = node->attrs.pad.pads;
    if (node->attrs.pad.npads != 2 * rank)
        return error_set(NULL, "%d pads for rank %d (expects %d)", node->attrs.pad.npads, rank,
                         2 * rank);
    *out = in[0];
    for (int d = 0; d < rank; d++) {
        if (pads[d] > ((int64_t)1 << 40) || pads[d] < -((int64_t)1 << 40) ||
            pads[rank + d] > ((int64_t)1 << 40) || pads[rank + d] < -((int64_t)1 << 40))
            return error_set(NULL, "pads out of range");
        out->d[d] = in[0].d[d] + pads[d] + pads[rank + d];
        if (out->d[d] < 0)
            return error_set(NULL, "pads crop more than dimension %d holds", d);
        bool grows = pads[d] > 0 || pads[rank + d] > 0;
        if (grows && node->attrs.pad.mode == PAD_EDGE && in[0].d[d] == 0)
            return error_set(NULL, "edge padding of an empty dimension");
        if (grows && node->attrs.pad.mode == PAD_REFLECT && in[0].d[d] < 1)
            return error_set(NULL, "reflect padding of an empty dimension");
    }
    return ST_OK;
}

/* The input index read by output index o along a dim of size n, or -1 for
 * the constant. Reflect mirrors without repeating the edge (numpy 'reflect'). */
static int64_t pad_source(int64_t o, int64_t pad_begin, int64_t n, pad_mode mode)
{
    int64_t i = o - pad_begin;
    if (i >= 0 && i < n)
        return i;
    switch (mode) {
    case PAD_EDGE: return i < 0 ? 0 : n - 1;
    case PAD_REFLECT: {
        if (n == 1)
            return 0;
        int64_t period = 2 * (n - 1);
        i %= period;
        if (i < 0)
            i += period;
        return i < n ? i : period - i;
    }
    default: return -1;
    }
}

/* Input offset of the start of output row `row` (all dims but the last), or
 * -1 when the row lies in a constant pad. */
static int64_t pad_row_source(const op_call *c, const tensor *out, int64_t row)
{
    const tensor *x = c->in[0];
    int rank = x->ndim;
    const int64_t *pads = c->node->attrs.pad.pads;
    int64_t off = 0, stride = x->shape[rank - 1];
    for (int d = rank - 2; d >= 0; d--) {
        int64_t o = row % out->shape[d];
        row /= out->shape[d];
        int64_t i = pad_source(o, pads[d], x->shape[d], c->node->attrs.pad.mode);
        if (i < 0)
            return -1;
        off += i * stride;
        stride *= x->shape[d];
    }
    return off;
}

void pad_forward(const op_call *c)
{
    const tensor *x = c->in[0];
    tensor *y = c->out;
    int rank = x->ndim;
    float value = c->node->attrs.pad.value;
    if (rank == 0) {
        y->data[0] = x->data[0];
        return;
    }
    int64_t cols = y->shape[rank - 1], n = x->shape[rank - 1];
    int64_t pb = c->node->attrs.pad.pads[rank - 1];
    int64_t rows = cols ? (int64_t)tensor_numel(y) / cols : 0;
    for (int64_t r = 0; r < rows; r++) {
        float *dst = y->data + r * cols;
        int64_t src = pad_row_source(c, y, r);
        for (int64_t k = 0; k < cols; k++) {
            int64_t i = src < 0 ? -1 : pad_source(k, pb, n, c->node->attrs.pad.mode);
            dst[k] = i < 0 ? value : x->data[src + i];
        }
    }
}

void pad_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    if (!gin[0])
        return;
    const tensor *x = c->in[0];
    int rank = x->ndim;
    if (rank == 0) {
        gin[0]->data[0] += gout->data[0];
        return;
    }
    int64_t cols = gout->shape[rank - 1], n = x->shape[rank - 1];
    int64_t pb = c->node->attrs.pad.pads[rank - 1];
    int64_t rows = cols ? (int64_t)tensor_numel(gout) / cols : 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *g = gout->data + r * cols;
        int64_t src = pad_row_source(c, gout, r);
        if (src < 0)
            continue;
        for (int64_t k = 0; k < cols; k++) {
            int64_t i = pad_source(k, pb, n, c->node->attrs.pad.mode);
            if (i >= 0)
                gin[0]->data[src + i] += g[k];
        }
    }
}
