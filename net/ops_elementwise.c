/* Element-wise arithmetic with numpy broadcasting: Add, Sub, Mul, Div
 * (two inputs) and Sum (any number), forward and backward side by side.
 *
 * Shapes: inputs of rank <= 8 aligned at the right; each dim equals the
 * output's or is 1 (missing leading dims count as 1). The output is walked
 * in rows of its last dim; an input's offset for a row comes from its
 * broadcast strides (0 along broadcast dims).
 * Backward: dA = reduce_to_shape(A, g · ∂y/∂A) with
 *   Add, Sum: 1    Sub: 1, −1    Mul: B, A    Div: 1/B, −A/B²
 * An input with the output's full shape is updated in parallel by rows; a
 * broadcast input (a reduction) is summed by one thread.
 */
#include "net/ops.h"

#include <string.h>

enum { ELEMENTWISE_MAX_INPUTS = 64 };

status broadcast_infer(const nd_shape *in, int ninputs, nd_shape *out)
{
    if (ninputs > ELEMENTWISE_MAX_INPUTS)
        return error_set(NULL, "%d inputs (at most %d)", ninputs, ELEMENTWISE_MAX_INPUTS);
    int rank = 0;
    for (int i = 0; i < ninputs; i++)
        if (in[i].ndim > rank)
            rank = in[i].ndim;
    out->ndim = rank;
    for (int d = 0; d < rank; d++) {
        int64_t dim = 1;
        for (int i = 0; i < ninputs; i++) {
            int k = d - (rank - in[i].ndim);
            if (k < 0 || in[i].d[k] == 1)
                continue;
            if (dim != 1 && in[i].d[k] != dim) {
                char a[96], b[96];
                return error_set(NULL, "shapes %s and %s do not broadcast",
                                 nd_shape_format(&in[0], a, sizeof a),
                                 nd_shape_format(&in[i], b, sizeof b));
            }
            dim = in[i].d[k];
        }
        out->d[d] = dim;
    }
    return ST_OK;
}

/* Strides of `t` as seen from an output of shape `out` (0 where broadcast). */
static void broadcast_strides(const tensor *t, const tensor *out, int64_t *strides)
{
    int64_t s = 1;
    for (int d = out->ndim - 1; d >= 0; d--) {
        int k = d - (out->ndim - t->ndim);
        int64_t dim = k >= 0 ? t->shape[k] : 1;
        strides[d] = dim == 1 ? 0 : s;
        s *= dim;
    }
}

typedef struct {
    const op_call *c;
    const tensor *gout;
    tensor *const *gin;
    int target; /* backward: the input whose gradient this pass computes */
    int64_t rows, cols;
    int64_t strides[ELEMENTWISE_MAX_INPUTS][TENSOR_MAX_DIMS]; /* per input */
    int nin;
} elt_job;

/* Offset of input i at the start of output row `row`. */
static int64_t row_offset(const elt_job *j, int i, int64_t row)
{
    const tensor *out = j->c->out ? j->c->out : j->gout;
    int64_t off = 0;
    for (int d = out->ndim - 2; d >= 0; d--) {
        off += (row % out->shape[d]) * j->strides[i][d];
        row /= out->shape[d];
    }
    return off;
}

static int64_t last_stride(const elt_job *j, int i)
{
    const tensor *out = j->c->out;
    return out->ndim ? j->strides[i][out->ndim - 1] : 0;
}

static void forward_rows(void *ctx, int64_t r0, int64_t r1, int thread)
{
    (void)thread;
    const elt_job *j = ctx;
    op_kind op = j->c->node->op;
    for (int64_t r = r0; r < r1; r++) {
        float *y = j->c->out->data + r * j->cols;
        const float *a = j->c->in[0]->data + row_offset(j, 0, r);
        int64_t sa = last_stride(j, 0);
        if (op == OP_SUM) {
            for (int64_t k = 0; k < j->cols; k++)
                y[k] = a[k * sa];
            for (int i = 1; i < j->nin; i++) {
                const float *b = j->c->in[i]->data + row_offset(j, i, r);
                int64_t sb = last_stride(j, i);
                for (int64_t k = 0; k < j->cols; k++)
                    y[k] += b[k * sb];
            }
            continue;
        }
        const float *b = j->c->in[1]->data + row_offset(j, 1, r);
        int64_t sb = last_stride(j, 1);
        switch (op) {
        case OP_ADD:
            for (int64_t k = 0; k < j->cols; k++)
                y[k] = a[k * sa] + b[k * sb];
            break;
        case OP_SUB:
            for (int64_t k = 0; k < j->cols; k++)
                y[k] = a[k * sa] - b[k * sb];
            break;
        case OP_MUL:
            for (int64_t k = 0; k < j->cols; k++)
                y[k] = a[k * sa] * b[k * sb];
            break;
        case OP_DIV:
            for (int64_t k = 0; k < j->cols; k++)
                y[k] = a[k * sa] / b[k * sb];
            break;
        default: break;
        }
    }
}

static void prepare(elt_job *j, const op_call *c, const tensor *out)
{
    memset(j, 0, sizeof *j);
    j->c = c;
    j->nin = c->node->ninputs;
    j->cols = out->ndim ? out->shape[out->ndim - 1] : 1;
    j->rows = j->cols ? (int64_t)tensor_numel(out) / j->cols : 0;
    for (int i = 0; i < j->nin; i++)
        if (c->in[i])
            broadcast_strides(c->in[i], out, j->strides[i]);
}

void elementwise_forward(const op_call *c)
{
    elt_job j;
    prepare(&j, c, c->out);
    parallel_for(j.rows, forward_rows, &j);
}

/* g · ∂y/∂(input target) at one element; a and b are the two inputs' values. */
static inline float local_grad(op_kind op, int target, float g, float a, float b)
{
    switch (op) {
    case OP_SUB: return target == 0 ? g : -g;
    case OP_MUL: return target == 0 ? g * b : g * a;
    case OP_DIV: return target == 0 ? g / b : -g * a / (b * b);
    default: return g; /* Add, Sum */
    }
}

static void backward_rows(void *ctx, int64_t r0, int64_t r1, int thread)
{
    (void)thread;
    const elt_job *j = ctx;
    op_kind op = j->c->node->op;
    bool binary = op != OP_ADD && op != OP_SUM;
    int t = j->target;
    float *gx = j->gin[t]->data;
    int64_t st = last_stride(j, t);
    for (int64_t r = r0; r < r1; r++) {
        const float *g = j->gout->data + r * j->cols;
        float *dst = gx + row_offset(j, t, r);
        if (!binary) {
            for (int64_t k = 0; k < j->cols; k++)
                dst[k * st] += g[k];
            continue;
        }
        /* Mul and Div read the inputs the formula needs (see op_backward_reads_input). */
        const tensor *ta = j->c->in[0], *tb = j->c->in[1];
        const float *a = ta && ta->data ? ta->data + row_offset(j, 0, r) : NULL;
        const float *b = tb && tb->data ? tb->data + row_offset(j, 1, r) : NULL;
        int64_t sa = last_stride(j, 0), sb = last_stride(j, 1);
        for (int64_t k = 0; k < j->cols; k++)
            dst[k * st] += local_grad(op, t, g[k], a ? a[k * sa] : 0.0f, b ? b[k * sb] : 0.0f);
    }
}

void elementwise_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    elt_job j;
    /* Strides are relative to the output's shape, which gout has. */
    op_call shaped = *c;
    shaped.out = (tensor *)gout;
    prepare(&j, &shaped, gout);
    j.gout = gout;
    j.gin = gin;
    for (int i = 0; i < j.nin; i++) {
        if (!gin[i])
            continue;
        j.target = i;
        if (tensor_numel(gin[i]) == tensor_numel(gout))
            parallel_for(j.rows, backward_rows, &j);
        else
            backward_rows(&j, 0, j.rows, 0);
    }
}
