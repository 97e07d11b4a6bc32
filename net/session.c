/* Sessions: run plans. A session caches a few plans (one per input size and
 * set of layers) and owns one arena sized for the largest; forward and
 * backward walk the plan's steps, pointing each op at its place in the
 * arena. Nothing is allocated while a cached plan runs. */
#include "net/plan.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- byte accounting --------------------------------------------------------- */

static _Atomic size_t bytes_now, bytes_peak;

static void bytes_add(size_t n)
{
    size_t now = atomic_fetch_add(&bytes_now, n) + n;
    size_t peak = atomic_load(&bytes_peak);
    while (now > peak && !atomic_compare_exchange_weak(&bytes_peak, &peak, now))
        ;
}

static void bytes_sub(size_t n) { atomic_fetch_sub(&bytes_now, n); }

size_t net_peak_bytes(void) { return atomic_load(&bytes_peak); }
size_t net_current_bytes(void) { return atomic_load(&bytes_now); }
void net_reset_peak_bytes(void) { atomic_store(&bytes_peak, atomic_load(&bytes_now)); }

/* ---- sessions ------------------------------------------------------------------- */

enum { PLAN_CACHE = 8 };

struct net_session {
    net_model *model;
    graph *g;
    plan *plans[PLAN_CACHE];
    int nplans;
    uint64_t clock;
    plan *current; /* the last forward's plan */
    bool backward_pending; /* a for_backward forward ran and no backward yet */
    char *arena;
    size_t arena_bytes;
    tensor *data; /* per value: the current plan's view of its data */
    tensor *grad; /* per value: its gradient's view */
    bool *grad_touched; /* per storage: written since zeroed */
    bool *seed_given; /* per storage: handed out by net_seed since the forward */
    size_t touched_cap;
    tensor *kept; /* per layer: a kept gradient (owned), or unallocated */
    bool *is_kept;
};

status net_session_create(net_model *m, net_session **out)
{
    *out = NULL;
    net_session *s = alloc_array(1, sizeof *s, "session");
    if (!s)
        return ST_ERROR;
    s->model = m;
    s->g = m->g;
    int nv = s->g->nvalues, nn = s->g->nnodes ? s->g->nnodes : 1;
    s->data = alloc_array((size_t)nv, sizeof *s->data, "session");
    s->grad = alloc_array((size_t)nv, sizeof *s->grad, "session");
    s->kept = alloc_array((size_t)nn, sizeof *s->kept, "session");
    s->is_kept = alloc_array((size_t)nn, sizeof *s->is_kept, "session");
    if (!s->data || !s->grad || !s->kept || !s->is_kept) {
        net_session_free(s);
        return ST_ERROR;
    }
    *out = s;
    return ST_OK;
}

static void free_kept(net_session *s)
{
    for (int l = 0; l < s->g->nnodes; l++)
        if (s->kept[l].data) {
            bytes_sub(tensor_numel(&s->kept[l]) * sizeof(float));
            tensor_free(&s->kept[l]);
        }
}

void net_session_free(net_session *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nplans; i++)
        plan_free(s->plans[i]);
    if (s->arena)
        bytes_sub(s->arena_bytes);
    free(s->arena);
    if (s->kept)
        free_kept(s);
    free(s->kept);
    free(s->is_kept);
    free(s->data);
    free(s->grad);
    free(s->grad_touched);
    free(s->seed_given);
    free(s);
}

/* The cached plan for this request, or a new one (evicting the least recently
 * used when the cache is full). */
static status get_plan(net_session *s, const tensor *inputs, int ninputs, const int *layers,
                       int nlayers, bool for_backward, bool circular, plan **out)
{
    for (int i = 0; i < s->nplans; i++)
        if (plan_matches(s->plans[i], inputs, ninputs, layers, nlayers, for_backward, circular)) {
            *out = s->plans[i];
            (*out)->last_used = ++s->clock;
            return ST_OK;
        }
    plan *p;
    if (plan_create(s->g, inputs, ninputs, layers, nlayers, for_backward, circular, &p) != ST_OK)
        return ST_ERROR;
    if (s->nplans == PLAN_CACHE) {
        int oldest = 0;
        for (int i = 1; i < s->nplans; i++)
            if (s->plans[i]->last_used < s->plans[oldest]->last_used)
                oldest = i;
        plan_free(s->plans[oldest]);
        s->plans[oldest] = s->plans[--s->nplans];
    }
    p->last_used = ++s->clock;
    s->plans[s->nplans++] = p;
    *out = p;
    return ST_OK;
}

enum { ARENA_HUGE = 2 << 20 };

static status ensure_arena(net_session *s, size_t bytes)
{
    if (bytes <= s->arena_bytes && s->arena)
        return ST_OK;
    if (s->arena)
        bytes_sub(s->arena_bytes);
    free(s->arena);
    s->arena_bytes = 0;
    /* Large arenas (32 MB and up) on 2 MB boundaries and asking for huge
     * pages: the kernels stream through tens of megabytes at a time, with
     * 512 times fewer TLB entries then. (A hint: without transparent huge
     * pages nothing changes.) */
    size_t align = bytes >= 16 * (size_t)ARENA_HUGE ? ARENA_HUGE : 64; /* rounding: < 7% */
    size_t size = (bytes + 64 + align - 1) / align * align;
    s->arena = aligned_alloc(align, size);
    if (!s->arena)
        return error_set("session", "out of memory (%zu bytes for activations)", bytes);
#ifdef MADV_HUGEPAGE
    if (align == ARENA_HUGE)
        madvise(s->arena, size, MADV_HUGEPAGE);
#endif
    s->arena_bytes = size;
    bytes_add(s->arena_bytes);
    return ST_OK;
}

static void *buffer_at(net_session *s, const plan *p, int buffer)
{
    return buffer < 0 ? NULL : s->arena + p->buffers[buffer].offset;
}

/* Points every value's view at the plan's storage (or the constant's data). */
static void bind_views(net_session *s, const plan *p)
{
    graph *g = s->g;
    for (int v = 0; v < g->nvalues; v++) {
        tensor *d = &s->data[v], *gr = &s->grad[v];
        memset(d, 0, sizeof *d);
        memset(gr, 0, sizeof *gr);
        const plan_value *pv = &p->values[v];
        if (g->values[v].kind == VALUE_CONSTANT) {
            *d = g->values[v].data;
            continue;
        }
        const graph_value *gv = &g->values[v];
        if (pv->storage < 0 && gv->kind == VALUE_NODE && gv->node >= 0 && p->nodes[gv->node].forward) {
            /* a view of a constant: the constant's data in the view's shape */
            d->data = g->values[plan_view_root(g, v)].data.data;
            d->ndim = pv->shape.ndim;
            memcpy(d->shape, pv->shape.d, sizeof d->shape);
            continue;
        }
        if (pv->storage < 0)
            continue;
        d->ndim = gr->ndim = pv->shape.ndim;
        memcpy(d->shape, pv->shape.d, sizeof d->shape);
        memcpy(gr->shape, pv->shape.d, sizeof gr->shape);
        const plan_storage *st = &p->storages[pv->storage];
        d->data = buffer_at(s, p, st->data);
        gr->data = buffer_at(s, p, st->grad);
    }
}

static void node_inputs(net_session *s, const graph_node *n, const tensor **ins)
{
    for (int i = 0; i < n->ninputs; i++)
        ins[i] = n->inputs[i] >= 0 ? &s->data[n->inputs[i]] : NULL;
}

status net_forward(net_session *s, const tensor *inputs, int ninputs, const int *layers,
                   int nlayers, const net_forward_opts *opts)
{
    net_forward_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    s->current = NULL;
    s->backward_pending = false;
    if (ninputs != s->g->ninputs)
        return error_set("input", "the model takes %d input%s, %d given", s->g->ninputs,
                         s->g->ninputs == 1 ? "" : "s", ninputs);
    for (int i = 0; i < ninputs; i++)
        if (!inputs[i].data && tensor_numel(&inputs[i]) > 0)
            return error_set("input", "input %d has no data", i);
    plan *p;
    if (get_plan(s, inputs, ninputs, layers, nlayers, opts->for_backward, opts->circular_padding,
                 &p) != ST_OK ||
        ensure_arena(s, p->arena_bytes) != ST_OK)
        return ST_ERROR;
    if (p->nstorages > (int)s->touched_cap) {
        bool *t = realloc(s->grad_touched, (size_t)p->nstorages * sizeof *t);
        if (t)
            s->grad_touched = t;
        bool *g = realloc(s->seed_given, (size_t)p->nstorages * sizeof *g);
        if (g)
            s->seed_given = g;
        if (!t || !g)
            return error_set("session", "out of memory");
        s->touched_cap = (size_t)p->nstorages;
    }
    if (p->nstorages > 0) /* a model of constants only has no storages */
        memset(s->seed_given, 0, (size_t)p->nstorages * sizeof *s->seed_given);
    bind_views(s, p);
    graph *g = s->g;
    for (int i = 0; i < ninputs; i++) {
        tensor *d = &s->data[g->inputs[i]];
        if (d->data)
            memcpy(d->data, inputs[i].data, tensor_numel(d) * sizeof(float));
    }
    const tensor *ins_small[64], **ins = ins_small;
    for (int k = 0; k < p->nfwd; k++) {
        int ni = p->fwd[k];
        const graph_node *n = &g->nodes[ni];
        const plan_node *pn = &p->nodes[ni];
        if (op_is_view(n->op))
            continue;
        if (n->ninputs > 64) {
            ins = alloc_array((size_t)n->ninputs, sizeof *ins, "session");
            if (!ins)
                return ST_ERROR;
        }
        node_inputs(s, n, ins);
        op_call c = {n,
                     &pn->geo,
                     ins,
                     &s->data[n->output],
                     p->for_backward ? buffer_at(s, p, pn->saved) : NULL,
                     buffer_at(s, p, pn->scratch),
                     p->circular,
                     NET_RELU_STANDARD,
                     0};
        op_forward(&c);
        if (ins != ins_small) {
            free(ins);
            ins = ins_small;
        }
        if (interrupt_signal)
            return ST_INTERRUPTED;
    }
    s->current = p;
    s->backward_pending = p->for_backward;
    return ST_OK;
}

const tensor *net_activation(const net_session *s, int layer)
{
    const plan *p = s->current;
    if (!p || layer < 0 || layer >= s->g->nnodes)
        return NULL;
    for (int i = 0; i < p->nlayers; i++)
        if (p->layers[i] == layer)
            return &s->data[s->g->nodes[layer].output];
    return NULL;
}

/* memset(0) of large buffers split over the pool (zeroing gradients is a
 * few hundred megabytes per iteration of a big network). */
typedef struct {
    char *p;
} zero_job;

enum { ZERO_CHUNK = 1 << 20 };

static void zero_chunks(void *ctx, int64_t c0, int64_t c1, int thread)
{
    (void)thread;
    const zero_job *j = ctx;
    memset(j->p + c0 * ZERO_CHUNK, 0, (size_t)(c1 - c0) * ZERO_CHUNK);
}

static void zero_bytes(void *p, size_t bytes)
{
    zero_job j = {p};
    size_t chunks = bytes / ZERO_CHUNK;
    parallel_for((int64_t)chunks, zero_chunks, &j);
    memset((char *)p + chunks * ZERO_CHUNK, 0, bytes - chunks * ZERO_CHUNK);
}

/* Zeroes the gradient buffers whose lifetime starts at `step`, but not the
 * seeds net_seed handed out (zeroed then, and written since) nor those their
 * first writer writes whole. Steps come in increasing order; *next walks
 * p->grad_starts (so a backward costs no scan of every storage per step). */
static void start_gradients(net_session *s, const plan *p, int step, int *next)
{
    for (; *next < p->ngrad_starts; ++*next) {
        int si = p->grad_starts[*next], grad = p->storages[si].grad;
        if (p->buffers[grad].first > step)
            return;
        if (p->buffers[grad].first == step && !s->seed_given[si]) {
            if (!p->storages[si].overwritten)
                zero_bytes(buffer_at(s, p, grad), p->buffers[grad].bytes);
            s->grad_touched[si] = false;
        }
    }
}

/* Copies the kept gradients whose storage is complete at `step` (read last
 * then) into their session-owned tensors. */
static void keep_gradients(net_session *s, const plan *p, int step, const net_backward_opts *opts)
{
    graph *g = s->g;
    for (int i = 0; i < opts->nkeep_grad; i++) { /* the kept layers, not every layer */
        int l = opts->keep_grad[i];
        int v = g->nodes[l].output, si = p->values[v].storage;
        if (si < 0 || p->storages[si].grad < 0 || p->buffers[p->storages[si].grad].last != step)
            continue;
        memcpy(s->kept[l].data, s->grad[v].data, tensor_numel(&s->kept[l]) * sizeof(float));
    }
}

tensor *net_seed(net_session *s, int layer)
{
    const plan *p = s->current;
    if (!p || !s->backward_pending || !net_activation(s, layer))
        return NULL;
    int v = s->g->nodes[layer].output, si = p->values[v].storage;
    if (!p->values[v].needs_grad || p->storages[si].grad < 0)
        return NULL;
    if (!s->seed_given[si]) { /* the seed step's buffer: free since the forward ended */
        zero_bytes(s->grad[v].data, p->buffers[p->storages[si].grad].bytes);
        s->seed_given[si] = true;
        s->grad_touched[si] = true;
    }
    return &s->grad[v];
}

status net_backward(net_session *s, const int *layers, const tensor *seeds, int nseeds,
                    const net_backward_opts *opts, tensor *grad_input)
{
    net_backward_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    plan *p = s->current;
    graph *g = s->g;
    if (!p || !p->for_backward)
        return error_set("backward", "needs a forward run with for_backward first");
    if (!s->backward_pending)
        return error_set("backward", "already ran for this forward (run forward again)");
    for (int i = 0; i < nseeds && seeds; i++) {
        const tensor *act = net_activation(s, layers[i]);
        if (!act)
            return error_set(layers[i] >= 0 && layers[i] < g->nnodes
                                 ? g->values[g->nodes[layers[i]].output].name
                                 : "backward",
                             "not computed by the last forward: request it there");
        if (!tensor_same_shape(act, &seeds[i])) {
            char a[96], b[96];
            return error_set(g->values[g->nodes[layers[i]].output].name,
                             "seed gradient is %s, the layer is %s",
                             shape_format(seeds[i].ndim, seeds[i].shape, a, sizeof a),
                             shape_format(act->ndim, act->shape, b, sizeof b));
        }
    }
    int input0 = g->inputs[0];
    if (grad_input && !tensor_same_shape(grad_input, &s->data[input0]))
        return error_set("backward", "grad_input must have the input's shape");
    /* Kept gradients: (re)allocated only when their shape changes. */
    memset(s->is_kept, 0, (size_t)g->nnodes * sizeof *s->is_kept);
    for (int i = 0; i < opts->nkeep_grad; i++) {
        int l = opts->keep_grad[i];
        if (l < 0 || l >= g->nnodes || !p->nodes[l].forward)
            return error_set("backward", "kept layer %d was not computed by the last forward", l);
        const tensor *shape = &s->data[g->nodes[l].output];
        if (!s->kept[l].data || !tensor_same_shape(&s->kept[l], shape)) {
            if (s->kept[l].data)
                bytes_sub(tensor_numel(&s->kept[l]) * sizeof(float));
            tensor_free(&s->kept[l]);
            if (tensor_alloc(&s->kept[l], shape->ndim, shape->shape) != ST_OK)
                return ST_ERROR;
            bytes_add(tensor_numel(&s->kept[l]) * sizeof(float));
        } else {
            memset(s->kept[l].data, 0, tensor_numel(&s->kept[l]) * sizeof(float));
        }
        s->is_kept[l] = true;
    }
    s->backward_pending = false;

    int seed_step = p->nfwd + 1, next_start = 0;
    start_gradients(s, p, seed_step, &next_start);
    for (int i = 0; i < nseeds && seeds; i++) {
        int v = g->nodes[layers[i]].output, si = p->values[v].storage;
        if (!p->values[v].needs_grad)
            continue; /* does not depend on the input */
        float *dst = s->grad[v].data;
        const float *src = seeds[i].data;
        for (size_t k = 0, n = tensor_numel(&seeds[i]); k < n; k++)
            dst[k] += src[k];
        s->grad_touched[si] = true;
    }
    keep_gradients(s, p, seed_step, opts);
    const tensor *ins_small[64], **ins = ins_small;
    tensor *gin_small[64], **gin = gin_small;
    for (int k = 0; k < p->nbwd; k++) {
        int ni = p->bwd[k];
        const graph_node *n = &g->nodes[ni];
        const plan_node *pn = &p->nodes[ni];
        start_gradients(s, p, pn->bwd_step, &next_start);
        keep_gradients(s, p, pn->bwd_step, opts);
        if (!s->grad_touched[p->values[n->output].storage]) {
            /* A zero gradient adds nothing upstream; but the gradients this
             * node was to write first are still to be zeroed. */
            for (int i = 0; i < n->ninputs && i < 64; i++)
                if (pn->overwrite >> i & 1) {
                    int si = p->values[n->inputs[i]].storage;
                    zero_bytes(buffer_at(s, p, p->storages[si].grad),
                               p->buffers[p->storages[si].grad].bytes);
                }
            continue;
        }
        if (n->ninputs > 64) {
            ins = alloc_array((size_t)n->ninputs, sizeof *ins, "session");
            gin = alloc_array((size_t)n->ninputs, sizeof *gin, "session");
            if (!ins || !gin) {
                free(ins == ins_small ? NULL : ins);
                free(gin == gin_small ? NULL : gin);
                return ST_ERROR;
            }
        }
        node_inputs(s, n, ins);
        for (int i = 0; i < n->ninputs; i++) {
            int v = n->inputs[i];
            gin[i] = v >= 0 && p->values[v].needs_grad ? &s->grad[v] : NULL;
            if (gin[i])
                s->grad_touched[p->values[v].storage] = true;
        }
        op_call c = {n,
                     &pn->geo,
                     ins,
                     &s->data[n->output],
                     buffer_at(s, p, pn->saved),
                     buffer_at(s, p, pn->bwd_scratch),
                     p->circular,
                     opts->relu,
                     pn->overwrite};
        op_backward(&c, &s->grad[n->output], gin);
        if (ins != ins_small) {
            free(ins);
            free(gin);
            ins = ins_small;
            gin = gin_small;
        }
        if (interrupt_signal)
            return ST_INTERRUPTED;
    }
    keep_gradients(s, p, p->end_step, opts);
    if (grad_input) {
        if (s->grad[input0].data)
            memcpy(grad_input->data, s->grad[input0].data,
                   tensor_numel(grad_input) * sizeof(float));
        else
            memset(grad_input->data, 0, tensor_numel(grad_input) * sizeof(float));
    }
    return ST_OK;
}

const tensor *net_gradient(const net_session *s, int layer)
{
    if (layer < 0 || layer >= s->g->nnodes || !s->is_kept[layer])
        return NULL;
    return &s->kept[layer];
}
