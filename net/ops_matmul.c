/* Gemm and MatMul through net_gemm (OpenBLAS SGEMM split over the pool),
 * forward and backward side by side.
 *
 * Gemm: A [M, K] (transA: [K, M]), B [K, N] (transB: [N, K]), C broadcast to
 * [M, N]:  Y = α · op(A) · op(B) + β · C.
 *   d op(A) = α · dY · op(B)ᵀ,  d op(B) = α · op(A)ᵀ · dY,  dC = β · Σ_broadcast dY.
 * MatMul: numpy matmul: A [..., M, K] · B [..., K, N] with broadcast batch
 * dims; a 1-D A is [1, K] and a 1-D B is [K, 1], their unit dim dropped from
 * the output.  dA = dY · Bᵀ,  dB = Aᵀ · dY, summed over broadcast batches.
 */
#include "net/ops.h"

#include <string.h>

/* ---- Gemm ------------------------------------------------------------------------ */

status gemm_infer(const graph_node *node, const nd_shape *in, nd_shape *out)
{
    const nd_shape *a = &in[0], *b = &in[1];
    if (a->ndim != 2 || b->ndim != 2)
        return error_set(NULL, "A and B must be 2-D");
    bool ta = node->attrs.gemm.trans_a, tb = node->attrs.gemm.trans_b;
    int64_t m = ta ? a->d[1] : a->d[0], k = ta ? a->d[0] : a->d[1];
    int64_t kb = tb ? b->d[1] : b->d[0], n = tb ? b->d[0] : b->d[1];
    if (k != kb)
        return error_set(NULL, "inner dimensions differ (%lld and %lld)", (long long)k,
                         (long long)kb);
    out->ndim = 2;
    out->d[0] = m;
    out->d[1] = n;
    if (node->ninputs > 2 && in[2].ndim >= 0) {
        /* C must broadcast to [M, N] (unidirectionally). */
        const nd_shape *c = &in[2];
        if (c->ndim > 2 || (c->ndim >= 1 && c->d[c->ndim - 1] != n && c->d[c->ndim - 1] != 1) ||
            (c->ndim == 2 && c->d[0] != m && c->d[0] != 1))
            return error_set(NULL, "C does not broadcast to %lldx%lld", (long long)m, (long long)n);
    }
    return ST_OK;
}

/* C's strides over [M, N] (0 along broadcast dims). */
static void gemm_c_strides(const tensor *c, int64_t *sm, int64_t *sn)
{
    int64_t cn = c->ndim >= 1 ? c->shape[c->ndim - 1] : 1;
    int64_t cm = c->ndim == 2 ? c->shape[0] : 1;
    *sn = cn == 1 ? 0 : 1;
    *sm = cm == 1 ? 0 : cn;
}

void gemm_forward(const op_call *c)
{
    const tensor *a = c->in[0], *b = c->in[1];
    const tensor *cc = c->node->ninputs > 2 ? c->in[2] : NULL;
    const op_attrs *at = &c->node->attrs;
    int64_t m = c->out->shape[0], n = c->out->shape[1];
    int64_t k = at->gemm.trans_a ? a->shape[0] : a->shape[1];
    float *y = c->out->data;
    float beta = 0.0f;
    if (cc && at->gemm.beta != 0.0f) {
        int64_t sm, sn;
        gemm_c_strides(cc, &sm, &sn);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                y[i * n + j] = at->gemm.beta * cc->data[i * sm + j * sn];
        beta = 1.0f;
    }
    if (k == 0) {
        if (beta == 0.0f)
            memset(y, 0, (size_t)(m * n) * sizeof *y);
        return;
    }
    net_gemm(at->gemm.trans_a, at->gemm.trans_b, m, n, k, at->gemm.alpha, a->data, a->shape[1],
             b->data, b->shape[1], beta, y, n);
}

void gemm_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    const tensor *a = c->in[0], *b = c->in[1];
    const op_attrs *at = &c->node->attrs;
    bool ta = at->gemm.trans_a, tb = at->gemm.trans_b;
    float alpha = at->gemm.alpha;
    int64_t m = gout->shape[0], n = gout->shape[1], k = ta ? a->shape[0] : a->shape[1];
    const float *dy = gout->data;
    if (gin[0] && k > 0) {
        if (!ta) /* dA [M, K] += α dY [M, N] · op(B)ᵀ */
            net_gemm(false, !tb, m, k, n, alpha, dy, n, b->data, b->shape[1], 1.0f, gin[0]->data,
                     k);
        else /* dA [K, M] += α op(B) [K, N] · dYᵀ */
            net_gemm(tb, true, k, m, n, alpha, b->data, b->shape[1], dy, n, 1.0f, gin[0]->data, m);
    }
    if (gin[1] && k > 0) {
        if (!tb) /* dB [K, N] += α op(A)ᵀ [K, M] · dY */
            net_gemm(!ta, false, k, n, m, alpha, a->data, a->shape[1], dy, n, 1.0f, gin[1]->data,
                     n);
        else /* dB [N, K] += α dYᵀ [N, M] · op(A) */
            net_gemm(true, ta, n, k, m, alpha, dy, n, a->data, a->shape[1], 1.0f, gin[1]->data, k);
    }
    if (c->node->ninputs > 2 && gin[2]) {
        int64_t sm, sn;
        gemm_c_strides(gin[2], &sm, &sn);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                gin[2]->data[i * sm + j * sn] += at->gemm.beta * dy[i * n + j];
    }
}

/* ---- MatMul ----------------------------------------------------------------------- */

typedef struct {
    int64_t m, k, n;
    int nbatch_dims; /* broadcast batch rank */
    int64_t batch[TENSOR_MAX_DIMS]; /* broadcast batch shape */
    int64_t a_stride[TENSOR_MAX_DIMS]; /* in matrices; 0 along broadcast dims */
    int64_t b_stride[TENSOR_MAX_DIMS];
    int64_t nbatch;
} matmul_dims;

static status matmul_shape(const nd_shape *a, const nd_shape *b, matmul_dims *md, nd_shape *out)
{
    if (a->ndim < 1 || b->ndim < 1)
        return error_set(NULL, "inputs must have at least one dimension");
    memset(md, 0, sizeof *md);
    md->m = a->ndim == 1 ? 1 : a->d[a->ndim - 2];
    md->k = a->d[a->ndim - 1];
    int64_t kb = b->ndim == 1 ? b->d[0] : b->d[b->ndim - 2];
    md->n = b->ndim == 1 ? 1 : b->d[b->ndim - 1];
    if (md->k != kb)
        return error_set(NULL, "inner dimensions differ (%lld and %lld)", (long long)md->k,
                         (long long)kb);
    int ra = a->ndim > 2 ? a->ndim - 2 : 0, rb = b->ndim > 2 ? b->ndim - 2 : 0;
    int r = ra > rb ? ra : rb;
    md->nbatch_dims = r;
    md->nbatch = 1;
    for (int d = 0; d < r; d++) {
        int ka = d - (r - ra), kbb = d - (r - rb);
        int64_t da = ka >= 0 ? a->d[ka] : 1, db = kbb >= 0 ? b->d[kbb] : 1;
        if (da != db && da != 1 && db != 1)
            return error_set(NULL, "batch dimensions %lld and %lld do not broadcast", (long long)da,
                             (long long)db);
        md->batch[d] = da == 1 ? db : da;
        md->nbatch *= md->batch[d];
    }
    int64_t sa = 1, sb = 1;
    for (int d = r - 1; d >= 0; d--) {
        int ka = d - (r - ra), kbb = d - (r - rb);
        int64_t da = ka >= 0 ? a->d[ka] : 1, db = kbb >= 0 ? b->d[kbb] : 1;
        md->a_stride[d] = da == 1 ? 0 : sa;
        md->b_stride[d] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
    }
    if (out) {
        out->ndim = 0;
        for (int d = 0; d < r; d++)
            out->d[out->ndim++] = md->batch[d];
        if (a->ndim > 1)
            out->d[out->ndim++] = md->m;
        if (b->ndim > 1)
            out->d[out->ndim++] = md->n;
    }
    return ST_OK;
}

status matmul_infer(const nd_shape *in, nd_shape *out)
{
    matmul_dims md;
    return matmul_shape(&in[0], &in[1], &md, out);
}

static void matmul_dims_of(const op_call *c, matmul_dims *md)
{
    nd_shape a = {c->in[0]->ndim, {0}}, b = {c->in[1]->ndim, {0}};
    memcpy(a.d, c->in[0]->shape, sizeof a.d);
    memcpy(b.d, c->in[1]->shape, sizeof b.d);
    matmul_shape(&a, &b, md, NULL);
}

/* Matrix offsets (in matrices) of batch index i in A and B. */
static void batch_offsets(const matmul_dims *md, int64_t i, int64_t *oa, int64_t *ob)
{
    *oa = *ob = 0;
    for (int d = md->nbatch_dims - 1; d >= 0; d--) {
        int64_t idx = i % md->batch[d];
        i /= md->batch[d];
        *oa += idx * md->a_stride[d];
        *ob += idx * md->b_stride[d];
    }
}

void matmul_forward(const op_call *c)
{
    matmul_dims md;
    matmul_dims_of(c, &md);
    int64_t mk = md.m * md.k, kn = md.k * md.n, mn = md.m * md.n;
    if (md.k == 0) {
        memset(c->out->data, 0, tensor_numel(c->out) * sizeof(float));
        return;
    }
    bool b_shared = c->in[1]->ndim <= 2; /* one B for every batch: one tall product */
    if (b_shared) {
        net_gemm(false, false, md.nbatch * md.m, md.n, md.k, 1.0f, c->in[0]->data, md.k,
                 c->in[1]->data, md.n, 0.0f, c->out->data, md.n);
        return;
    }
    for (int64_t i = 0; i < md.nbatch; i++) {
        int64_t oa, ob;
        batch_offsets(&md, i, &oa, &ob);
        net_gemm(false, false, md.m, md.n, md.k, 1.0f, c->in[0]->data + oa * mk, md.k,
                 c->in[1]->data + ob * kn, md.n, 0.0f, c->out->data + i * mn, md.n);
    }
}

void matmul_backward(const op_call *c, const tensor *gout, tensor *const *gin)
{
    matmul_dims md;
    matmul_dims_of(c, &md);
    int64_t mk = md.m * md.k, kn = md.k * md.n, mn = md.m * md.n;
    if (md.k == 0)
        return;
    for (int64_t i = 0; i < md.nbatch; i++) {
        int64_t oa, ob;
        batch_offsets(&md, i, &oa, &ob);
        const float *dy = gout->data + i * mn;
        if (gin[0]) /* dA [M, K] += dY [M, N] · Bᵀ */
            net_gemm(false, true, md.m, md.k, md.n, 1.0f, dy, md.n, c->in[1]->data + ob * kn, md.n,
                     1.0f, gin[0]->data + oa * mk, md.k);
        if (gin[1]) /* dB [K, N] += Aᵀ · dY */
            net_gemm(true, false, md.k, md.n, md.m, 1.0f, c->in[0]->data + oa * mk, md.k, dy, md.n,
                     1.0f, gin[1]->data + ob * kn, md.n);
    }
}
