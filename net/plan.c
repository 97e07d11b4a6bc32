/* Execution plans: which nodes run, every shape, and an arena layout where
 * buffers with disjoint lifetimes share memory (see plan.h). Planning is done
 * once per request and cached by the session, so running allocates nothing. */
#include "net/plan.h"

#include <stdlib.h>
#include <string.h>

void plan_free(plan *p)
{
    if (!p)
        return;
    free(p->input_shapes);
    free(p->layers);
    free(p->values);
    free(p->nodes);
    free(p->storages);
    free(p->buffers);
    free(p->fwd);
    free(p->bwd);
    free(p->grad_starts);
    free(p);
}

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Sorted unique copy of layers into *out (count in *n). */
static status sorted_layers(const int *layers, int nlayers, int **out, int *n)
{
    int *l = alloc_array((size_t)(nlayers ? nlayers : 1), sizeof *l, "plan");
    if (!l)
        return ST_ERROR;
    memcpy(l, layers, (size_t)nlayers * sizeof *l);
    qsort(l, (size_t)nlayers, sizeof *l, compare_int);
    int k = 0;
    for (int i = 0; i < nlayers; i++)
        if (k == 0 || l[k - 1] != l[i])
            l[k++] = l[i];
    *out = l;
    *n = k;
    return ST_OK;
}

bool plan_matches(const plan *p, const tensor *inputs, int ninputs, const int *layers, int nlayers,
                  bool for_backward, bool circular)
{
    if (p->ninputs != ninputs || p->for_backward != for_backward || p->circular != circular ||
        p->threads != net_threads())
        return false;
    for (int i = 0; i < ninputs; i++) {
        if (p->input_shapes[i].ndim != inputs[i].ndim)
            return false;
        for (int d = 0; d < inputs[i].ndim; d++)
            if (p->input_shapes[i].d[d] != inputs[i].shape[d])
                return false;
    }
    /* Same set of layers: every requested one is in p (sorted), and p has no
     * more distinct ones than requested. */
    int distinct = 0;
    for (int i = 0; i < nlayers; i++) {
        if (!bsearch(&layers[i], p->layers, (size_t)p->nlayers, sizeof *layers, compare_int))
            return false;
        bool seen = false;
        for (int k = 0; k < i && !seen; k++)
            seen = layers[k] == layers[i];
        distinct += !seen;
    }
    return distinct == p->nlayers;
}

static int add_buffer(plan *p, size_t bytes, int first, int last)
{
    plan_buffer *b = &p->buffers[p->nbuffers];
    b->bytes = bytes;
    b->offset = 0;
    b->first = first;
    b->last = last;
    return p->nbuffers++;
}

static void extend(plan_buffer *b, int step)
{
    if (step < b->first)
        b->first = step;
    if (step > b->last)
        b->last = step;
}

enum { ARENA_ALIGN = 64 };

static size_t aligned_bytes(const plan_buffer *b)
{
    return (b->bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
}

/* Buffers are sorted through (key, id) pairs: by key, then by id. */
typedef struct {
    int64_t key;
    int id;
} sort_item;

static int by_key(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* The buffer ids ordered by key(buffer), ties by id, into order[n]. */
static void sort_ids(const plan *p, int64_t (*key)(const plan_buffer *), sort_item *items, int *order)
{
    int n = p->nbuffers;
    for (int i = 0; i < n; i++)
        items[i] = (sort_item){key(&p->buffers[i]), i};
    qsort(items, (size_t)n, sizeof *items, by_key);
    for (int i = 0; i < n; i++)
        order[i] = items[i].id;
}

static int64_t larger_first(const plan_buffer *b) { return -(int64_t)b->bytes; }
static int64_t first_step(const plan_buffer *b) { return b->first; }
static int64_t last_step(const plan_buffer *b) { return b->last; }

/* Greedy by size: the largest buffers first, each at the lowest offset where
 * it overlaps no placed buffer alive at the same time. Quadratic in the
 * buffer count: for the few hundred of a real network. */
static void place_greedy(plan *p, sort_item *items, int *order, int *placed)
{
    int n = p->nbuffers;
    sort_ids(p, larger_first, items, order);
    int nplaced = 0;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        plan_buffer *b = &p->buffers[order[i]];
        size_t size = aligned_bytes(b);
        if (size == 0)
            continue;
        size_t offset = 0;
        for (bool moved = true; moved;) {
            moved = false;
            for (int k = 0; k < nplaced; k++) {
                const plan_buffer *o = &p->buffers[placed[k]];
                size_t osize = aligned_bytes(o);
                bool alive = o->first <= b->last && b->first <= o->last;
                if (alive && offset < o->offset + osize && o->offset < offset + size) {
                    offset = o->offset + osize;
                    moved = true;
                }
            }
        }
        b->offset = offset;
        placed[nplaced++] = order[i];
        if (offset + size > total)
            total = offset + size;
    }
    p->arena_bytes = total;
}

/* For graphs of thousands of nodes (a hostile file can have a million), in
 * time order: a buffer takes the first free hole that fits (holes kept by
 * offset, merged when freed), else the top of the arena; buffers whose last
 * step is before the current one are freed first. Near-linear when few
 * buffers are alive at once. holes: room for n + 1 entries. */
typedef struct {
    size_t offset, size;
} hole;

static status place_sweep(plan *p, sort_item *items, int *by_start, int *by_end)
{
    int n = p->nbuffers, nholes = 0;
    hole *holes = alloc_array((size_t)n + 1, sizeof *holes, "plan");
    if (!holes)
        return ST_ERROR;
    sort_ids(p, first_step, items, by_start);
    sort_ids(p, last_step, items, by_end);
    size_t top = 0;
    for (int i = 0, e = 0; i < n; i++) {
        plan_buffer *b = &p->buffers[by_start[i]];
        for (; e < n && p->buffers[by_end[e]].last < b->first; e++) { /* free what died */
            const plan_buffer *d = &p->buffers[by_end[e]];
            size_t size = aligned_bytes(d);
            if (size == 0 || d->first > d->last)
                continue;
            int k = 0; /* holes[k - 1] < d < holes[k] by offset */
            for (int lo = 0, hi = nholes; lo < hi;) {
                int mid = (lo + hi) / 2;
                if (holes[mid].offset < d->offset)
                    lo = k = mid + 1;
                else
                    hi = k = mid;
            }
            memmove(holes + k + 1, holes + k, (size_t)(nholes - k) * sizeof *holes);
            holes[k] = (hole){d->offset, size};
            nholes++;
            if (k + 1 < nholes && holes[k].offset + holes[k].size == holes[k + 1].offset) {
                holes[k].size += holes[k + 1].size;
                memmove(holes + k + 1, holes + k + 2, (size_t)(nholes - k - 2) * sizeof *holes);
                nholes--;
            }
            if (k > 0 && holes[k - 1].offset + holes[k - 1].size == holes[k].offset) {
                holes[k - 1].size += holes[k].size;
                memmove(holes + k, holes + k + 1, (size_t)(nholes - k - 1) * sizeof *holes);
                nholes--;
                k--;
            }
            if (holes[k].offset + holes[k].size == top) { /* the top hole goes back to the top */
                top = holes[k].offset;
                nholes--;
            }
        }
        size_t size = aligned_bytes(b);
        if (size == 0)
            continue;
        int k = 0;
        while (k < nholes && holes[k].size < size)
            k++;
        if (k < nholes) {
            b->offset = holes[k].offset;
            holes[k].offset += size;
            holes[k].size -= size;
            if (!holes[k].size) {
                memmove(holes + k, holes + k + 1, (size_t)(nholes - k - 1) * sizeof *holes);
                nholes--;
            }
        } else {
            b->offset = top;
            top += size;
        }
        if (top > p->arena_bytes)
            p->arena_bytes = top;
    }
    free(holes);
    return ST_OK;
}

/* Placement: the greedy best for real networks; the sweep beyond this many
 * buffers, where the greedy's quadratic cost would take minutes. */
enum { GREEDY_MAX_BUFFERS = 4096 };

static status assign_offsets(plan *p)
{
    size_t n = (size_t)(p->nbuffers ? p->nbuffers : 1);
    sort_item *items = alloc_array(n, sizeof *items, "plan");
    int *a = alloc_array(n, sizeof *a, "plan"), *b = alloc_array(n, sizeof *b, "plan");
    status s = items && a && b ? ST_OK : ST_ERROR;
    p->arena_bytes = 0;
    if (s == ST_OK && p->nbuffers <= GREEDY_MAX_BUFFERS)
        place_greedy(p, items, a, b);
    else if (s == ST_OK)
        s = place_sweep(p, items, a, b);
    free(items);
    free(a);
    free(b);
    return s;
}

static int64_t grad_first_step(const plan *p, int storage)
{
    return p->buffers[p->storages[storage].grad].first;
}

/* p->grad_starts: the storages with a gradient in the order their gradient
 * buffers start, so backward zeroes each at its step without a scan. */
static status list_grad_starts(plan *p)
{
    size_t n = (size_t)(p->nstorages ? p->nstorages : 1);
    sort_item *items = alloc_array(n, sizeof *items, "plan");
    p->grad_starts = alloc_array(n, sizeof *p->grad_starts, "plan");
    if (!items || !p->grad_starts) {
        free(items);
        return ST_ERROR;
    }
    int k = 0;
    for (int si = 0; si < p->nstorages; si++)
        if (p->storages[si].grad >= 0)
            items[k++] = (sort_item){grad_first_step(p, si), si};
    qsort(items, (size_t)k, sizeof *items, by_key);
    for (int i = 0; i < k; i++)
        p->grad_starts[i] = items[i].id;
    p->ngrad_starts = k;
    free(items);
    return ST_OK;
}

static status mark_overwrites(plan *p, const graph *g)
{
    bool *written = alloc_array((size_t)(p->nstorages ? p->nstorages : 1), sizeof *written, "plan");
    if (!written)
        return ST_ERROR;
    for (int k = 0; k < p->nbwd; k++) {
        int ni = p->bwd[k];
        const graph_node *n = &g->nodes[ni];
        for (int i = 0; i < n->ninputs; i++) {
            int v = n->inputs[i];
            if (v < 0 || !p->values[v].needs_grad || p->values[v].storage < 0)
                continue;
            int si = p->values[v].storage;
            if (written[si])
                continue;
            written[si] = true;
            bool twice = false;
            for (int k2 = 0; k2 < n->ninputs; k2++)
                twice |= k2 != i && n->inputs[k2] >= 0 && p->values[n->inputs[k2]].storage == si;
            if (i < 64 && !twice && !p->storages[si].requested && op_backward_overwrites(n, i)) {
                p->nodes[ni].overwrite |= (uint64_t)1 << i;
                p->storages[si].overwritten = true;
            }
        }
    }
    free(written);
    return ST_OK;
}

static status node_error(const graph *g, int node)
{
    char subject[300];
    const graph_node *n = &g->nodes[node];
    snprintf(subject, sizeof subject, "layer '%s' (%s)",
             *n->name ? n->name : g->values[n->output].name, op_name(n->op));
    return error_prefix(subject);
}

int plan_view_root(const graph *g, int v)
{
    while (g->values[v].kind == VALUE_NODE && op_is_view(g->nodes[g->values[v].node].op))
        v = g->nodes[g->values[v].node].inputs[0];
    return v;
}

/* Shapes of the needed nodes' outputs, and their geometry. */
static status infer_shapes(plan *p, graph *g)
{
    nd_shape *ins = NULL;
    int cap = 0;
    for (int k = 0; k < p->nfwd; k++) {
        int ni = p->fwd[k];
        const graph_node *n = &g->nodes[ni];
        if (n->ninputs > cap) {
            free(ins);
            cap = n->ninputs;
            if (!(ins = alloc_array((size_t)cap, sizeof *ins, "plan")))
                return ST_ERROR;
        }
        for (int i = 0; i < n->ninputs; i++) {
            ins[i].ndim = -1;
            if (n->inputs[i] >= 0)
                ins[i] = p->values[n->inputs[i]].shape;
        }
        if (op_infer(n, ins, &p->values[n->output].shape, &p->nodes[ni].geo) != ST_OK) {
            free(ins);
            return node_error(g, ni);
        }
    }
    free(ins);
    return ST_OK;
}

status plan_create(graph *g, const tensor *inputs, int ninputs, const int *layers, int nlayers,
                   bool for_backward, bool circular, plan **out)
{
    *out = NULL;
    if (ninputs != g->ninputs)
        return error_set("input", "the model takes %d input%s, %d given", g->ninputs,
                         g->ninputs == 1 ? "" : "s", ninputs);
    plan *p = alloc_array(1, sizeof *p, "plan");
    if (!p)
        return ST_ERROR;
    p->ninputs = ninputs;
    p->for_backward = for_backward;
    p->circular = circular;
    p->threads = net_threads();
    int nv = g->nvalues, nn = g->nnodes;
    p->input_shapes = alloc_array((size_t)(ninputs ? ninputs : 1), sizeof *p->input_shapes, "plan");
    p->values = alloc_array((size_t)nv, sizeof *p->values, "plan");
    p->nodes = alloc_array((size_t)(nn ? nn : 1), sizeof *p->nodes, "plan");
    p->storages = alloc_array((size_t)nv, sizeof *p->storages, "plan");
    p->fwd = alloc_array((size_t)(nn ? nn : 1), sizeof *p->fwd, "plan");
    p->bwd = alloc_array((size_t)(nn ? nn : 1), sizeof *p->bwd, "plan");
    /* Buffers: data and gradient per storage, saved + 2 scratch per node. */
    p->buffers = alloc_array((size_t)(2 * nv + 3 * nn + 1), sizeof *p->buffers, "plan");
    if (!p->input_shapes || !p->values || !p->nodes || !p->storages || !p->fwd || !p->bwd ||
        !p->buffers || sorted_layers(layers, nlayers, &p->layers, &p->nlayers) != ST_OK)
        goto fail;

    for (int i = 0; i < nlayers; i++)
        if (layers[i] < 0 || layers[i] >= nn) {
            error_set("layer", "no layer %d (the model has %d)", layers[i], nn);
            goto fail;
        }
    for (int v = 0; v < nv; v++) {
        p->values[v].storage = -1;
        p->values[v].shape.ndim = -1;
    }
    for (int i = 0; i < ninputs; i++) {
        const graph_value *gv = &g->values[g->inputs[i]];
        nd_shape *s = &p->input_shapes[i];
        s->ndim = inputs[i].ndim;
        memcpy(s->d, inputs[i].shape, sizeof s->d);
        char a[96], b[96];
        if (gv->ndim != s->ndim) {
            error_set("input", "'%s' is %s, the model expects %d dimensions (like %s)", gv->name,
                      shape_format(s->ndim, s->d, a, sizeof a), gv->ndim,
                      shape_format(gv->ndim, gv->shape, b, sizeof b));
            goto fail;
        }
        if (s->ndim >= 2 && gv->shape[1] > 0 && gv->shape[1] != s->d[1]) {
            error_set("input", "'%s' is %s: %lld channels, the model expects %lld", gv->name,
                      shape_format(s->ndim, s->d, a, sizeof a), (long long)s->d[1],
                      (long long)gv->shape[1]);
            goto fail;
        }
        p->values[g->inputs[i]].shape = *s;
    }

    /* Nodes the requested layers need, then shapes. */
    for (int i = 0; i < p->nlayers; i++)
        p->nodes[p->layers[i]].forward = true;
    for (int ni = nn - 1; ni >= 0; ni--) {
        if (!p->nodes[ni].forward)
            continue;
        for (int i = 0; i < g->nodes[ni].ninputs; i++) {
            int v = g->nodes[ni].inputs[i];
            if (v >= 0 && g->values[v].kind == VALUE_NODE)
                p->nodes[g->values[v].node].forward = true;
        }
    }
    for (int ni = 0; ni < nn; ni++)
        if (p->nodes[ni].forward) {
            p->nodes[ni].fwd_step = p->nfwd + 1;
            p->fwd[p->nfwd++] = ni;
        }
    for (int v = 0; v < nv; v++)
        if (g->values[v].kind == VALUE_CONSTANT) {
            p->values[v].shape.ndim = g->values[v].ndim;
            memcpy(p->values[v].shape.d, g->values[v].shape, sizeof p->values[v].shape.d);
        }
    if (infer_shapes(p, g) != ST_OK)
        goto fail;
    /* Constants the run reads, filled now rather than in the loop. */
    for (int k = 0; k < p->nfwd; k++) {
        const graph_node *n = &g->nodes[p->fwd[k]];
        for (int i = 0; i < n->ninputs; i++) {
            const tensor *t;
            if (n->inputs[i] >= 0 && g->values[n->inputs[i]].kind == VALUE_CONSTANT &&
                graph_constant(g, n->inputs[i], &t) != ST_OK)
                goto fail;
        }
    }

    /* Which values carry a gradient, and which nodes run backward. */
    if (for_backward && ninputs > 0) {
        p->values[g->inputs[0]].needs_grad = true;
        for (int k = 0; k < p->nfwd; k++) {
            int ni = p->fwd[k];
            const graph_node *n = &g->nodes[ni];
            for (int i = 0; i < n->ninputs; i++) {
                if (n->inputs[i] < 0 || !p->values[n->inputs[i]].needs_grad)
                    continue;
                if (!op_input_differentiable(n, i)) {
                    error_set(NULL,
                              "the gradient through input %d depends on the model input, "
                              "which is not supported",
                              i);
                    node_error(g, ni);
                    goto fail;
                }
                p->values[n->output].needs_grad = true;
            }
            if (p->values[n->output].needs_grad && !op_is_view(n->op))
                p->nodes[ni].backward = true;
        }
        for (int k = p->nfwd - 1; k >= 0; k--)
            if (p->nodes[p->fwd[k]].backward) {
                p->nodes[p->fwd[k]].bwd_step = p->nfwd + 2 + p->nbwd;
                p->bwd[p->nbwd++] = p->fwd[k];
            }
    }
    int seed_step = p->nfwd + 1, end = p->nfwd + 2 + p->nbwd;
    p->end_step = end;

    /* Storages: one per root value; views join their input's. */
    for (int v = 0; v < nv; v++) {
        bool computed = g->values[v].kind == VALUE_INPUT ||
                        (g->values[v].kind == VALUE_NODE && g->values[v].node >= 0 &&
                         p->nodes[g->values[v].node].forward);
        if (!computed)
            continue;
        int root = plan_view_root(g, v);
        if (g->values[root].kind == VALUE_CONSTANT)
            continue; /* a view of a constant (a declared output): reads the constant, no storage */
        if (p->values[root].storage < 0) {
            plan_storage *s = &p->storages[p->nstorages];
            s->root = root;
            int made =
                g->values[root].kind == VALUE_INPUT ? 0 : p->nodes[g->values[root].node].fwd_step;
            s->data =
                add_buffer(p, shape_count(&p->values[root].shape) * sizeof(float), made, made);
            s->grad = -1;
            p->values[root].storage = p->nstorages++;
        }
        p->values[v].storage = p->values[root].storage;
    }
    for (int i = 0; i < p->nlayers; i++) {
        int si = p->values[g->nodes[p->layers[i]].output].storage;
        if (si < 0)
            continue; /* a view of a constant */
        plan_storage *s = &p->storages[si];
        s->requested = true;
        extend(&p->buffers[s->data], end);
    }
    /* Gradients whose first writer in backward can write them whole (not
     * seeds, not a value the node reads twice): no zeroing before. */
    if (for_backward && mark_overwrites(p, g) != ST_OK)
        goto fail;
    /* Data lifetimes: every forward read, every backward read. */
    for (int k = 0; k < p->nfwd; k++) {
        int ni = p->fwd[k];
        const graph_node *n = &g->nodes[ni];
        const plan_node *pn = &p->nodes[ni];
        bool needs[64] = {0}, *need = needs;
        if (n->ninputs > 64 && !(need = alloc_array((size_t)n->ninputs, sizeof *need, "plan")))
            goto fail;
        for (int i = 0; i < n->ninputs; i++)
            need[i] = pn->backward && n->inputs[i] >= 0 && p->values[n->inputs[i]].needs_grad;
        for (int i = 0; i < n->ninputs; i++) {
            int v = n->inputs[i];
            if (v < 0 || p->values[v].storage < 0)
                continue;
            plan_buffer *b = &p->buffers[p->storages[p->values[v].storage].data];
            extend(b, pn->fwd_step);
            if (pn->backward && op_backward_reads_input(n, i, need))
                extend(b, pn->bwd_step);
        }
        if (need != needs)
            free(need);
        if (pn->backward && op_backward_reads_output(n))
            extend(&p->buffers[p->storages[p->values[n->output].storage].data], pn->bwd_step);
    }
    /* Gradient lifetimes: from the first write (the seed step for requested
     * layers, else the earliest backward step of a reader) to the read by the
     * root's producer (the end for input 0). */
    for (int si = 0; si < p->nstorages && for_backward; si++) {
        plan_storage *s = &p->storages[si];
        if (!p->values[s->root].needs_grad)
            continue;
        int root = s->root;
        int last =
            g->values[root].kind == VALUE_INPUT ? end : p->nodes[g->values[root].node].bwd_step;
        s->grad = add_buffer(p, shape_count(&p->values[root].shape) * sizeof(float), last, last);
        if (s->requested)
            extend(&p->buffers[s->grad], seed_step);
    }
    for (int k = 0; k < p->nbwd; k++) {
        const graph_node *n = &g->nodes[p->bwd[k]];
        for (int i = 0; i < n->ninputs; i++) {
            int v = n->inputs[i];
            if (v >= 0 && p->values[v].needs_grad && p->values[v].storage >= 0)
                extend(&p->buffers[p->storages[p->values[v].storage].grad],
                       p->nodes[p->bwd[k]].bwd_step);
        }
        /* The node reads its output's gradient. */
        extend(&p->buffers[p->storages[p->values[n->output].storage].grad],
               p->nodes[p->bwd[k]].bwd_step);
    }
    /* Saved state and scratch. */
    for (int k = 0; k < p->nfwd; k++) {
        int ni = p->fwd[k];
        const graph_node *n = &g->nodes[ni];
        plan_node *pn = &p->nodes[ni];
        nd_shape ins[64];
        int nin = n->ninputs < 64 ? n->ninputs : 64;
        for (int i = 0; i < nin; i++)
            ins[i] = n->inputs[i] >= 0 ? p->values[n->inputs[i]].shape : (nd_shape){-1, {0}};
        const nd_shape *os = &p->values[n->output].shape;
        pn->saved = pn->scratch = pn->bwd_scratch = -1;
        size_t bytes = pn->backward ? op_saved_bytes(n, ins, os) : 0;
        if (bytes)
            pn->saved = add_buffer(p, bytes, pn->fwd_step, pn->bwd_step);
        if ((bytes = op_scratch_bytes(n, &pn->geo, ins, os, false, p->circular, p->threads)))
            pn->scratch = add_buffer(p, bytes, pn->fwd_step, pn->fwd_step);
        if (pn->backward && (bytes = op_scratch_bytes(n, &pn->geo, ins, os, true, p->circular, p->threads)))
            pn->bwd_scratch = add_buffer(p, bytes, pn->bwd_step, pn->bwd_step);
    }
    if (assign_offsets(p) != ST_OK || list_grad_starts(p) != ST_OK)
        goto fail;
    *out = p;
    return ST_OK;
fail:
    plan_free(p);
    return ST_ERROR;
}
