/* onnx_fold.c — ONNX's shape-computation ops evaluated on small constants at
 * import (see onnx_import.h): broadcasting arithmetic, Concat, Gather, Slice,
 * Transpose, the shapes of Unsqueeze / Squeeze, and Cast.
 *
 * Tensors are row-major; for an index (i_0, ..., i_{r-1}) the flat offset is
 * Σ i_k · stride_k with stride_{r-1} = 1, stride_k = stride_{k+1} · dim_{k+1}.
 */
#include "net/onnx_import.h"

#include <math.h>
#include <string.h>

status small_new(onnx_arena *a, int ndim, const int64_t *shape, bool is_int, small_tensor *out)
{
    memset(out, 0, sizeof *out);
    if (ndim < 0 || ndim > TENSOR_MAX_DIMS)
        return error_set(NULL, "%d dimensions (at most %d)", ndim, TENSOR_MAX_DIMS);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return error_set(NULL, "negative dimension %lld", (long long)shape[i]);
        if (shape[i] > SMALL_MAX || (count = count * (size_t)shape[i]) > SMALL_MAX)
            return error_set(NULL, "a constant of more than %d elements is too large to fold", SMALL_MAX);
    }
    out->ndim = ndim;
    if (ndim)
        memcpy(out->shape, shape, (size_t)ndim * sizeof *shape);
    out->is_int = is_int;
    out->count = count;
    out->v = onnx_arena_alloc(a, count, sizeof *out->v);
    return out->v ? ST_OK : ST_ERROR;
}

int64_t small_int(const small_tensor *t, size_t k)
{
    double v = t->v[k];
    if (!(v < 9.2e18))
        return v != v ? 0 : INT64_MAX;
    if (!(v > -9.2e18))
        return INT64_MIN;
    return (int64_t)v;
}

static void strides_of(int ndim, const int64_t *shape, int64_t *strides)
{
    int64_t s = 1;
    for (int k = ndim - 1; k >= 0; k--) {
        strides[k] = s;
        s *= shape[k];
    }
}

/* out[i] = data[base + Σ_d idx_d(i) · step_d], idx(i) the index of flat
 * position i in out's shape: every Slice and Transpose is such a walk. */
static void gather_strided(const small_tensor *data, int64_t base, const int64_t *step, small_tensor *out)
{
    int64_t idx[TENSOR_MAX_DIMS] = {0};
    for (size_t i = 0; i < out->count; i++) {
        int64_t off = base;
        for (int d = 0; d < out->ndim; d++)
            off += idx[d] * step[d];
        out->v[i] = data->v[off];
        for (int d = out->ndim - 1; d >= 0 && ++idx[d] == out->shape[d]; d--)
            idx[d] = 0;
    }
}

/* An axis in [-ndim, ndim) made non-negative. */
static status normalize_axis(int64_t axis, int ndim, int64_t *out)
{
    if (axis < -ndim || axis >= ndim)
        return error_set(NULL, "axis %lld is out of range for %d dimensions", (long long)axis, ndim);
    *out = axis < 0 ? axis + ndim : axis;
    return ST_OK;
}

/* ---- numpy broadcasting: out[i] = x[i] op y[i] ------------------------------ */

status fold_binary(onnx_arena *a, char op, const small_tensor *x, const small_tensor *y, small_tensor *out)
{
    int nd = x->ndim > y->ndim ? x->ndim : y->ndim;
    int64_t shape[TENSOR_MAX_DIMS], xs[TENSOR_MAX_DIMS], ys[TENSOR_MAX_DIMS];
    /* Right-align both shapes; a dimension of 1 broadcasts (stride 0). */
    int64_t xstr[TENSOR_MAX_DIMS], ystr[TENSOR_MAX_DIMS];
    strides_of(x->ndim, x->shape, xstr);
    strides_of(y->ndim, y->shape, ystr);
    for (int k = 0; k < nd; k++) {
        int kx = k - (nd - x->ndim), ky = k - (nd - y->ndim);
        int64_t dx = kx >= 0 ? x->shape[kx] : 1, dy = ky >= 0 ? y->shape[ky] : 1;
        if (dx != dy && dx != 1 && dy != 1)
            return error_set(NULL, "shapes do not broadcast (%lld vs %lld)", (long long)dx, (long long)dy);
        shape[k] = dx == 1 ? dy : dx;
        xs[k] = kx >= 0 && dx != 1 ? xstr[kx] : 0;
        ys[k] = ky >= 0 && dy != 1 ? ystr[ky] : 0;
    }
    bool is_int = x->is_int && y->is_int;
    if (small_new(a, nd, shape, is_int, out) != ST_OK)
        return ST_ERROR;
    int64_t idx[TENSOR_MAX_DIMS] = {0};
    for (size_t i = 0; i < out->count; i++) {
        int64_t ox = 0, oy = 0;
        for (int k = 0; k < nd; k++) {
            ox += idx[k] * xs[k];
            oy += idx[k] * ys[k];
        }
        double p = x->v[ox], q = y->v[oy], r;
        switch (op) {
        case '+': r = p + q; break;
        case '-': r = p - q; break;
        case '*': r = p * q; break;
        default:
            if (is_int && q == 0)
                return error_set(NULL, "integer division by zero");
            r = is_int ? trunc(p / q) : p / q;
            break;
        }
        out->v[i] = r;
        for (int k = nd - 1; k >= 0 && ++idx[k] == shape[k]; k--)
            idx[k] = 0;
    }
    return ST_OK;
}

/* ---- Concat ------------------------------------------------------------------ */

status fold_concat(onnx_arena *a, const small_tensor *const *in, int n, int64_t axis, small_tensor *out)
{
    if (n < 1)
        return error_set(NULL, "nothing to concatenate");
    int nd = in[0]->ndim;
    if (nd == 0)
        return error_set(NULL, "cannot concatenate scalars");
    if (normalize_axis(axis, nd, &axis) != ST_OK)
        return ST_ERROR;
    int64_t shape[TENSOR_MAX_DIMS];
    memcpy(shape, in[0]->shape, sizeof shape);
    shape[axis] = 0;
    bool is_int = true;
    for (int i = 0; i < n; i++) {
        if (in[i]->ndim != nd)
            return error_set(NULL, "inputs of different ranks");
        for (int k = 0; k < nd; k++)
            if (k != axis && in[i]->shape[k] != in[0]->shape[k])
                return error_set(NULL, "input shapes differ outside the axis");
        shape[axis] += in[i]->shape[axis];
        is_int &= in[i]->is_int;
    }
    if (small_new(a, nd, shape, is_int, out) != ST_OK)
        return ST_ERROR;
    /* outer = Π dims before axis; each input contributes a block of
     * dim_axis × inner contiguous values per outer index. */
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < axis; k++)
        outer *= shape[k];
    for (int k = (int)axis + 1; k < nd; k++)
        inner *= shape[k];
    double *dst = out->v;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < n; i++) {
            int64_t block = in[i]->shape[axis] * inner;
            if (block)
                memcpy(dst, in[i]->v + o * block, (size_t)block * sizeof *dst);
            dst += block;
        }
    return ST_OK;
}

/* ---- Gather: out[o, j..., i] = data[o, indices[j...], i] --------------------- */

status fold_gather(onnx_arena *a, const small_tensor *data, const small_tensor *indices, int64_t axis,
                   small_tensor *out)
{
    int nd = data->ndim;
    if (nd == 0)
        return error_set(NULL, "cannot gather from a scalar");
    if (normalize_axis(axis, nd, &axis) != ST_OK)
        return ST_ERROR;
    int ond = nd - 1 + indices->ndim;
    if (ond > TENSOR_MAX_DIMS)
        return error_set(NULL, "the result has more than %d dimensions", TENSOR_MAX_DIMS);
    int64_t shape[TENSOR_MAX_DIMS], k = 0;
    for (int d = 0; d < axis; d++)
        shape[k++] = data->shape[d];
    for (int d = 0; d < indices->ndim; d++)
        shape[k++] = indices->shape[d];
    for (int d = (int)axis + 1; d < nd; d++)
        shape[k++] = data->shape[d];
    if (small_new(a, ond, shape, data->is_int, out) != ST_OK)
        return ST_ERROR;
    int64_t outer = 1, inner = 1, dim = data->shape[axis];
    for (int d = 0; d < axis; d++)
        outer *= data->shape[d];
    for (int d = (int)axis + 1; d < nd; d++)
        inner *= data->shape[d];
    double *dst = out->v;
    for (int64_t o = 0; o < outer; o++)
        for (size_t j = 0; j < indices->count; j++) {
            int64_t i = small_int(indices, j);
            if (i < -dim || i >= dim)
                return error_set(NULL, "index %lld is out of range [%lld, %lld)", (long long)i, (long long)-dim,
                                 (long long)dim);
            if (i < 0)
                i += dim;
            if (inner)
                memcpy(dst, data->v + (o * dim + i) * inner, (size_t)inner * sizeof *dst);
            dst += inner;
        }
    return ST_OK;
}

/* ---- Slice ------------------------------------------------------------------ */

status fold_slice(onnx_arena *a, const small_tensor *data, const int64_t *starts, const int64_t *ends,
                  const int64_t *axes, const int64_t *steps, int n, small_tensor *out)
{
    int nd = data->ndim;
    /* Per dimension: first index, step, count (ONNX Slice clamping rules). */
    int64_t first[TENSOR_MAX_DIMS], step[TENSOR_MAX_DIMS], shape[TENSOR_MAX_DIMS];
    bool seen[TENSOR_MAX_DIMS] = {false};
    for (int d = 0; d < nd; d++) {
        first[d] = 0;
        step[d] = 1;
        shape[d] = data->shape[d];
    }
    for (int i = 0; i < n; i++) {
        int64_t ax = axes ? axes[i] : i;
        if (normalize_axis(ax, nd, &ax) != ST_OK)
            return ST_ERROR;
        if (seen[ax])
            return error_set(NULL, "axis %lld is sliced twice", (long long)ax);
        seen[ax] = true;
        int64_t dim = data->shape[ax], st = steps ? steps[i] : 1, b = starts[i], e = ends[i];
        if (st == 0)
            return error_set(NULL, "a step of 0");
        /* Negative positions count from the end; then clamp: [0, dim] for
         * a positive step, starts to [0, dim-1] and ends to [-1, dim-1] for
         * a negative one. */
        if (b < 0)
            b += dim;
        if (e < 0)
            e += dim;
        int64_t lo = st > 0 ? 0 : -1, hi = st > 0 ? dim : dim - 1;
        b = b < 0 ? 0 : b > hi ? hi : b;
        e = e < lo ? lo : e > hi ? hi : e;
        if (st > 0)
            shape[ax] = e > b ? (e - b + st - 1) / st : 0;
        else
            shape[ax] = b > e ? (b - e - st - 1) / -st : 0;
        first[ax] = b;
        step[ax] = st;
    }
    if (small_new(a, nd, shape, data->is_int, out) != ST_OK)
        return ST_ERROR;
    int64_t strides[TENSOR_MAX_DIMS], walk[TENSOR_MAX_DIMS], base = 0;
    strides_of(nd, data->shape, strides);
    for (int d = 0; d < nd; d++) {
        base += first[d] * strides[d];
        walk[d] = step[d] * strides[d];
    }
    gather_strided(data, base, walk, out);
    return ST_OK;
}

/* ---- Transpose: out[i_perm[0], ...] = data[i_0, ...] ------------------------ */

status fold_transpose(onnx_arena *a, const small_tensor *data, const int64_t *perm, int nperm, small_tensor *out)
{
    int nd = data->ndim;
    int64_t p[TENSOR_MAX_DIMS], shape[TENSOR_MAX_DIMS] = {0};
    bool used[TENSOR_MAX_DIMS] = {false};
    if (nperm && nperm != nd)
        return error_set(NULL, "perm has %d entries for %d dimensions", nperm, nd);
    for (int d = 0; d < nd; d++) {
        p[d] = nperm ? perm[d] : nd - 1 - d; /* default: reverse */
        if (p[d] < 0 || p[d] >= nd || used[p[d]])
            return error_set(NULL, "perm is not a permutation");
        used[p[d]] = true;
        shape[d] = data->shape[p[d]];
    }
    if (small_new(a, nd, shape, data->is_int, out) != ST_OK)
        return ST_ERROR;
    int64_t strides[TENSOR_MAX_DIMS], walk[TENSOR_MAX_DIMS];
    strides_of(nd, data->shape, strides);
    for (int d = 0; d < nd; d++)
        walk[d] = strides[p[d]];
    gather_strided(data, 0, walk, out);
    return ST_OK;
}

/* ---- shapes of Unsqueeze, Squeeze --------------------------------- */

status unsqueeze_shape(int ndim, const int64_t *shape, const int64_t *axes, int naxes, int *out_ndim,
                       int64_t *out_shape)
{
    int ond = ndim + naxes;
    if (ond > TENSOR_MAX_DIMS)
        return error_set(NULL, "the result has more than %d dimensions", TENSOR_MAX_DIMS);
    bool inserted[TENSOR_MAX_DIMS] = {false};
    for (int i = 0; i < naxes; i++) {
        int64_t ax = 0;
        if (normalize_axis(axes[i], ond, &ax) != ST_OK)
            return ST_ERROR;
        if (inserted[ax])
            return error_set(NULL, "axis %lld appears twice", (long long)axes[i]);
        inserted[ax] = true;
    }
    for (int d = 0, k = 0; d < ond; d++)
        out_shape[d] = inserted[d] ? 1 : shape[k++];
    *out_ndim = ond;
    return ST_OK;
}

status squeeze_shape(int ndim, const int64_t *shape, const int64_t *axes, int naxes, int *out_ndim,
                     int64_t *out_shape)
{
    bool removed[TENSOR_MAX_DIMS] = {false};
    for (int i = 0; i < naxes; i++) {
        int64_t ax = 0;
        if (normalize_axis(axes[i], ndim, &ax) != ST_OK)
            return ST_ERROR;
        if (shape[ax] != 1)
            return error_set(NULL, "cannot squeeze axis %lld of size %lld", (long long)axes[i],
                             (long long)shape[ax]);
        removed[ax] = true;
    }
    int k = 0;
    for (int d = 0; d < ndim; d++)
        if (!(naxes ? removed[d] : shape[d] == 1))
            out_shape[k++] = shape[d];
    *out_ndim = k;
    return ST_OK;
}

/* ---- Cast ------------------------------------------------------------------- */

status fold_cast(onnx_arena *a, const small_tensor *x, int32_t to, small_tensor *out)
{
    bool to_float = to == ONNX_FLOAT || to == ONNX_DOUBLE || to == ONNX_FLOAT16 || to == ONNX_BFLOAT16;
    bool to_int = to == ONNX_INT8 || to == ONNX_UINT8 || to == ONNX_INT16 || to == ONNX_UINT16 ||
                  to == ONNX_INT32 || to == ONNX_UINT32 || to == ONNX_INT64 || to == ONNX_UINT64 ||
                  to == ONNX_BOOL;
    if (!to_float && !to_int)
        return error_set(NULL, "cannot cast to %s", onnx_dtype_name(to));
    if (small_new(a, x->ndim, x->shape, to_int, out) != ST_OK)
        return ST_ERROR;
    for (size_t i = 0; i < x->count; i++) {
        double v = x->v[i];
        if (to == ONNX_BOOL)
            v = v != 0;
        else if (to_int)
            v = trunc(v);
        else if (to == ONNX_FLOAT)
            v = (float)v;
        out->v[i] = v;
    }
    return ST_OK;
}
