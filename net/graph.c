/* The graph builder and graph_finalize: values and nodes are appended in
 * definition order (so the node list is topological by construction), checked
 * as they come, then constant-folded, BatchNorm-folded and given VGG aliases. */
#include "net/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- names → ids ------------------------------------------------------------ */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* The slot holding `name`, or NULL. */
static name_slot *slot_of(const name_index *x, const char *name)
{
    if (!x->cap)
        return NULL;
    for (size_t i = (size_t)hash_name(name) & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
        name_slot *sl = &x->slots[i];
        if (!sl->name && sl->id == -1)
            return NULL;
        if (sl->name && strcmp(sl->name, name) == 0)
            return sl;
    }
}

/* The first free (empty or removed) slot of name's probe sequence. */
static name_slot *free_slot(name_slot *slots, size_t cap, const char *name)
{
    size_t i = (size_t)hash_name(name) & (cap - 1);
    while (slots[i].name)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

status name_index_add(name_index *x, const char *name, int id, int *prior)
{
    const name_slot *had = slot_of(x, name);
    if (prior)
        *prior = had ? had->id : -1;
    if (had)
        return ST_OK;
    if (2 * (x->used + 1) > x->cap) { /* rehash (dropping removed slots) at half full */
        size_t live = 0;
        for (size_t i = 0; i < x->cap; i++)
            live += x->slots[i].name != NULL;
        size_t cap = 64;
        while (cap < 4 * (live + 1))
            cap *= 2;
        name_slot *slots = alloc_array(cap, sizeof *slots, "graph");
        if (!slots)
            return ST_ERROR;
        for (size_t i = 0; i < cap; i++)
            slots[i].id = -1;
        for (size_t i = 0; i < x->cap; i++)
            if (x->slots[i].name)
                *free_slot(slots, cap, x->slots[i].name) = x->slots[i];
        free(x->slots);
        x->slots = slots;
        x->cap = cap;
        x->used = live;
    }
    name_slot *sl = free_slot(x->slots, x->cap, name);
    x->used += sl->id == -1; /* reusing a removed slot adds nothing */
    *sl = (name_slot){name, id};
    return ST_OK;
}

int name_index_find(const name_index *x, const char *name)
{
    const name_slot *sl = slot_of(x, name);
    return sl ? sl->id : -1;
}

void name_index_set(name_index *x, const char *name, int id)
{
    name_slot *sl = slot_of(x, name);
    if (sl)
        sl->id = id;
}

void name_index_remove(name_index *x, const char *name)
{
    name_slot *sl = slot_of(x, name);
    if (sl)
        *sl = (name_slot){NULL, -2};
}

void name_index_free(name_index *x)
{
    free(x->slots);
    *x = (name_index){0};
}

status graph_node_names(const graph_node *nodes, int nnodes, name_index *index, bool *shared)
{
    for (int i = 0; i < nnodes; i++) {
        int prior = -1;
        shared[i] = false;
        if (nodes[i].name[0] && name_index_add(index, nodes[i].name, i, &prior) != ST_OK)
            return ST_ERROR;
        if (prior >= 0)
            shared[prior] = shared[i] = true;
    }
    return ST_OK;
}

/* ---- the graph ------------------------------------------------------------------ */

status graph_create(graph **out)
{
    graph *g = alloc_array(1, sizeof *g, "graph");
    *out = g;
    if (!g)
        return ST_ERROR;
    pthread_mutex_init(&g->lock, NULL);
    return ST_OK;
}

static int compare_pointers(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return x < y ? -1 : x > y;
}

void graph_free(graph *g)
{
    if (!g)
        return;
    /* Each distinct lazy-fill context once: sorted, so duplicates are adjacent. */
    void **ctxs = g->free_fill_ctx ? malloc((size_t)(g->nvalues ? g->nvalues : 1) * sizeof *ctxs) : NULL;
    int nctx = 0;
    for (int i = 0; i < g->nvalues; i++) {
        graph_value *v = &g->values[i];
        free(v->name);
        tensor_free(&v->data);
        if (v->fill_ctx && ctxs)
            ctxs[nctx++] = v->fill_ctx;
    }
    if (ctxs) {
        qsort(ctxs, (size_t)nctx, sizeof *ctxs, compare_pointers);
        for (int i = 0; i < nctx; i++)
            if (i == 0 || ctxs[i] != ctxs[i - 1])
                g->free_fill_ctx(ctxs[i]);
        free(ctxs);
    }
    for (int i = 0; i < g->nnodes; i++) {
        free(g->nodes[i].name);
        free(g->nodes[i].inputs);
        free(g->nodes[i].alias);
    }
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    name_index_free(&g->value_names);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

int graph_find_value(const graph *g, const char *name)
{
    int id = name_index_find(&g->value_names, name);
    if (id < 0)
        return -1;
    const graph_value *v = &g->values[id]; /* the dead output of a node folded away is gone */
    return v->kind == VALUE_NODE && v->node < 0 ? -1 : id;
}

static status grow(void **items, int *cap, int count, size_t size)
{
    if (count < *cap)
        return ST_OK;
    int ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, (size_t)ncap * size);
    if (!p)
        return error_set("graph", "out of memory");
    memset((char *)p + (size_t)*cap * size, 0, (size_t)(ncap - *cap) * size);
    *items = p;
    *cap = ncap;
    return ST_OK;
}

/* Appends a value named `name` (invented from `stem` when NULL or empty). */
static status add_value(graph *g, const char *name, const char *stem, value_kind kind, int *id)
{
    char made[64];
    if (!name || !*name) {
        for (int k = g->nvalues;; k++) {
            snprintf(made, sizeof made, "%s_%d", stem, k);
            if (graph_find_value(g, made) < 0)
                break;
        }
        name = made;
    } else if (graph_find_value(g, name) >= 0) {
        return error_set(name, "a graph value of this name already exists");
    }
    if (g->nvalues >= GRAPH_MAX_VALUES)
        return error_set("graph", "more than %d values", GRAPH_MAX_VALUES);
    if (grow((void **)&g->values, &g->values_cap, g->nvalues, sizeof *g->values) != ST_OK)
        return ST_ERROR;
    graph_value *v = &g->values[g->nvalues];
    memset(v, 0, sizeof *v);
    v->name = string_dup(name);
    if (!v->name)
        return ST_ERROR;
    int dead; /* a dead value's name is free for a new one */
    if (name_index_add(&g->value_names, v->name, g->nvalues, &dead) != ST_OK) {
        free(v->name);
        return ST_ERROR;
    }
    if (dead >= 0)
        name_index_set(&g->value_names, v->name, g->nvalues);
    v->kind = kind;
    v->node = -1;
    v->ndim = -1;
    *id = g->nvalues++;
    return ST_OK;
}

static status check_dims(const char *name, int ndim, const int64_t *shape, bool allow_free)
{
    if (ndim < 0 || ndim > TENSOR_MAX_DIMS)
        return error_set(name, "%d dimensions (at most %d)", ndim, TENSOR_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < (allow_free ? -1 : 0))
            return error_set(name, "bad dimension %lld", (long long)shape[i]);
    return ST_OK;
}

status graph_add_input(graph *g, const char *name, int ndim, const int64_t *shape, int *value)
{
    if (check_dims(name ? name : "input", ndim, shape, true) != ST_OK)
        return ST_ERROR;
    nd_shape known = {ndim, {0}};
    for (int i = 0; i < ndim; i++)
        known.d[i] = shape[i] < 0 ? 1 : shape[i];
    char dims[160];
    if (!shape_fits(&known))
        return error_set(name ? name : "input", "declared shape %s has more than 2^%d elements",
                         shape_format(ndim, shape, dims, sizeof dims), MAX_ELEMENTS_LOG2);
    int *inputs = realloc(g->inputs, (size_t)(g->ninputs + 1) * sizeof *inputs);
    if (!inputs)
        return error_set("graph", "out of memory");
    g->inputs = inputs;
    int id;
    if (add_value(g, name, "input", VALUE_INPUT, &id) != ST_OK)
        return ST_ERROR;
    graph_value *v = &g->values[id];
    v->ndim = ndim;
    if (ndim > 0)
        memcpy(v->shape, shape, (size_t)ndim * sizeof *shape);
    g->inputs[g->ninputs++] = id;
    *value = id;
    return ST_OK;
}

status graph_add_constant(graph *g, const char *name, tensor *data, int *value)
{
    int id;
    if (check_dims(name ? name : "constant", data->ndim, data->shape, false) != ST_OK ||
        add_value(g, name, "constant", VALUE_CONSTANT, &id) != ST_OK) {
        tensor_free(data);
        return ST_ERROR;
    }
    graph_value *v = &g->values[id];
    v->data = *data;
    memset(data, 0, sizeof *data);
    v->ndim = v->data.ndim;
    memcpy(v->shape, v->data.shape, sizeof v->shape);
    *value = id;
    return ST_OK;
}

status graph_add_lazy_constant(graph *g, const char *name, int ndim, const int64_t *shape,
                               constant_fill_fn fill, void *fill_ctx, int *value)
{
    int id;
    if (check_dims(name ? name : "constant", ndim, shape, false) != ST_OK ||
        add_value(g, name, "constant", VALUE_CONSTANT, &id) != ST_OK)
        return ST_ERROR;
    graph_value *v = &g->values[id];
    v->ndim = ndim;
    if (ndim > 0)
        memcpy(v->shape, shape, (size_t)ndim * sizeof *shape);
    v->fill = fill;
    v->fill_ctx = fill_ctx;
    *value = id;
    return ST_OK;
}

status graph_constant(graph *g, int value, const tensor **data)
{
    graph_value *v = &g->values[value];
    if (v->kind != VALUE_CONSTANT)
        return error_set(v->name, "not a constant");
    status s = ST_OK;
    pthread_mutex_lock(&g->lock);
    if (!v->data.data) {
        s = tensor_alloc(&v->data, v->ndim, v->shape);
        if (s == ST_OK && v->fill)
            s = v->fill(v->fill_ctx, value, &v->data);
        if (s != ST_OK)
            tensor_free(&v->data);
    }
    pthread_mutex_unlock(&g->lock);
    *data = &v->data;
    return s;
}

/* Arity per op: [min, max] inputs (max -1: any number); `optional` lists the
 * positions that may be absent (-1). */
static void op_arity(op_kind op, int *min, int *max, unsigned *optional)
{
    *optional = 0;
    switch (op) {
    case OP_CONV: *min = 2, *max = 3, *optional = 4u; return;
    case OP_CLIP: *min = 1, *max = 3, *optional = 6u; return;
    case OP_CONCAT:
    case OP_SUM: *min = 1, *max = -1; return;
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_MATMUL: *min = 2, *max = 2; return;
    case OP_GEMM: *min = 2, *max = 3, *optional = 4u; return;
    case OP_BATCH_NORM: *min = 5, *max = 5; return;
    default: *min = 1, *max = 1; return;
    }
}

/* Infers node's output shape from its inputs' current shapes; the output's
 * ndim stays -1 when an input's shape is unknown. */
static status infer_node(graph *g, const graph_node *n)
{
    nd_shape in[64], *ins = in, out;
    if (n->ninputs > 64 && !(ins = alloc_array((size_t)n->ninputs, sizeof *ins, "graph")))
        return ST_ERROR;
    bool known = true;
    for (int i = 0; i < n->ninputs; i++) {
        ins[i].ndim = -1;
        if (n->inputs[i] < 0)
            continue;
        const graph_value *v = &g->values[n->inputs[i]];
        known &= v->ndim >= 0;
        for (int k = 0; k < v->ndim; k++)
            known &= v->shape[k] >= 0;
        ins[i].ndim = v->ndim;
        if (v->ndim > 0)
            memcpy(ins[i].d, v->shape, (size_t)v->ndim * sizeof *v->shape);
    }
    status s = ST_OK;
    graph_value *o = &g->values[n->output];
    o->ndim = -1;
    if (known) {
        window_geom geo;
        s = op_infer(n, ins, &out, &geo);
        if (s == ST_OK) {
            o->ndim = out.ndim;
            memcpy(o->shape, out.d, sizeof o->shape);
        }
    }
    if (ins != in)
        free(ins);
    return s;
}

/* Undoes the last add_value. */
static void drop_last_value(graph *g)
{
    graph_value *v = &g->values[--g->nvalues];
    name_index_remove(&g->value_names, v->name);
    free(v->name);
    v->name = NULL;
}

static status node_error(const char *name, op_kind op)
{
    char subject[300];
    snprintf(subject, sizeof subject, "node '%s' (%s)", name && *name ? name : "?", op_name(op));
    return error_prefix(subject);
}

status graph_add_node(graph *g, op_kind op, const char *name, const int *inputs, int ninputs,
                      const op_attrs *attrs, const char *output_name, int *output)
{
    if (!name)
        name = "";
    if ((unsigned)op >= OP_COUNT)
        return error_set(name, "unknown op kind %d", (int)op);
    if (g->finalized)
        return error_set(name, "graph already finalized");
    int min, max;
    unsigned optional;
    op_arity(op, &min, &max, &optional);
    /* Trailing absent optional inputs are dropped. */
    while (ninputs > min && inputs[ninputs - 1] < 0)
        ninputs--;
    if (ninputs < min || (max >= 0 && ninputs > max)) {
        if (max < 0)
            error_set(NULL, "%d inputs (expects at least %d)", ninputs, min);
        else if (min == max)
            error_set(NULL, "%d inputs (expects %d)", ninputs, min);
        else
            error_set(NULL, "%d inputs (expects %d to %d)", ninputs, min, max);
        return node_error(name, op);
    }
    for (int i = 0; i < ninputs; i++) {
        if (inputs[i] < 0 && i < 32 && (optional >> i) & 1u)
            continue;
        if (inputs[i] < 0 || inputs[i] >= g->nvalues ||
            (g->values[inputs[i]].kind == VALUE_NODE && g->values[inputs[i]].node < 0)) {
            error_set(NULL, "input %d is missing or undefined", i);
            return node_error(name, op);
        }
    }
    if (g->nnodes >= GRAPH_MAX_NODES)
        return error_set("graph", "more than %d nodes", GRAPH_MAX_NODES);
    if (grow((void **)&g->nodes, &g->nodes_cap, g->nnodes, sizeof *g->nodes) != ST_OK)
        return ST_ERROR;
    int id;
    const char *oname = output_name && *output_name ? output_name : *name ? name : NULL;
    if (add_value(g, oname, op_name(op), VALUE_NODE, &id) != ST_OK)
        return node_error(name, op);
    graph_node *n = &g->nodes[g->nnodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = string_dup(name);
    n->inputs = alloc_array((size_t)(ninputs ? ninputs : 1), sizeof *n->inputs, "graph");
    if (!n->name || !n->inputs) {
        free(n->name);
        free(n->inputs);
        drop_last_value(g);
        return ST_ERROR;
    }
    memcpy(n->inputs, inputs, (size_t)ninputs * sizeof *inputs);
    n->ninputs = ninputs;
    n->output = id;
    n->attrs = attrs ? *attrs : op_attrs_default(op);
    g->values[id].node = g->nnodes;
    g->nnodes++;
    if (infer_node(g, n) != ST_OK) {
        /* Undo: the node and its output value were the last ones added. */
        g->nnodes--;
        free(n->name);
        free(n->inputs);
        drop_last_value(g);
        return node_error(name, op);
    }
    *output = id;
    return ST_OK;
}

status graph_mark_output(graph *g, int value)
{
    if (value < 0 || value >= g->nvalues)
        return error_set("graph", "output %d is not a value", value);
    if (g->values[value].is_output)
        return ST_OK;
    int *outputs = realloc(g->outputs, (size_t)(g->noutputs + 1) * sizeof *outputs);
    if (!outputs)
        return error_set("graph", "out of memory");
    g->outputs = outputs;
    g->outputs[g->noutputs++] = value;
    g->values[value].is_output = true;
    return ST_OK;
}

status graph_value_shape(const graph *g, int value, int *ndim, int64_t shape[TENSOR_MAX_DIMS])
{
    if (value < 0 || value >= g->nvalues)
        return error_set("graph", "no value %d", value);
    const graph_value *v = &g->values[value];
    bool known = v->ndim >= 0;
    for (int i = 0; i < v->ndim; i++)
        known &= v->shape[i] >= 0;
    if (!known)
        return error_set(v->name, "shape unknown at the declared input shapes");
    *ndim = v->ndim;
    memcpy(shape, v->shape, sizeof v->shape);
    return ST_OK;
}

/* ---- finalize ---------------------------------------------------------------- */

/* Constant folding runs ops on data the file gives: a small file must not
 * ask for huge results or hours of work (a giant kernel over a constant, a
 * MatMul of two long vectors). A fold may grow the data by this many values
 * beyond twice its inputs, and take this many multiply-adds. */
enum { FOLD_MAX_GROWTH = 1 << 24 };
static const double FOLD_MAX_WORK = 4294967296.0; /* 2^32 */

/* Multiply-adds (or element operations) of one run of node n. */
static double fold_work(const graph_node *n, const window_geom *geo, const nd_shape *in, const nd_shape *out)
{
    double o = (double)shape_count(out), inputs = 0;
    for (int i = 0; i < n->ninputs && i < 64; i++)
        inputs += in[i].ndim >= 0 ? (double)shape_count(&in[i]) : 0;
    double taps = (double)geo->kernel[0] * (double)geo->kernel[1] * (double)geo->kernel[2];
    switch (n->op) {
    case OP_CONV: return o * (double)(geo->c / (geo->group ? geo->group : 1)) * taps;
    case OP_MAX_POOL:
    case OP_AVERAGE_POOL: return o * taps;
    case OP_GEMM: return o * (double)in[0].d[n->attrs.gemm.trans_a ? 0 : 1];
    case OP_MATMUL: return o * (in[0].ndim >= 1 ? (double)in[0].d[in[0].ndim - 1] : 1);
    case OP_LRN: return o * (double)n->attrs.lrn.size;
    default: return o + inputs;
    }
}

/* Runs node `index`, whose inputs are all constants, once and turns its output
 * into a constant. The node is left in place (the caller drops it). */
static status fold_constant_node(graph *g, int index)
{
    graph_node *n = &g->nodes[index];
    const tensor *ins[64];
    nd_shape shapes[64];
    if (n->ninputs > 64)
        return ST_OK; /* not worth it */
    size_t in_total = 0;
    for (int i = 0; i < n->ninputs; i++) {
        ins[i] = NULL;
        shapes[i].ndim = -1;
        if (n->inputs[i] < 0)
            continue;
        if (graph_constant(g, n->inputs[i], &ins[i]) != ST_OK)
            return ST_ERROR;
        shapes[i].ndim = ins[i]->ndim;
        memcpy(shapes[i].d, ins[i]->shape, sizeof shapes[i].d);
        in_total += tensor_numel(ins[i]);
    }
    nd_shape oshape;
    window_geom geo;
    if (op_infer(n, shapes, &oshape, &geo) != ST_OK)
        return ST_ERROR;
    size_t out_total = shape_count(&oshape);
    if (out_total > FOLD_MAX_GROWTH + 2 * in_total)
        return error_set(NULL, "folding its constant inputs would make %zu values out of %zu (too many)", out_total,
                         in_total);
    double work = fold_work(n, &geo, shapes, &oshape);
    if (work > FOLD_MAX_WORK)
        return error_set(NULL, "folding its constant inputs would take %.3g operations (too many)", work);
    tensor out;
    if (tensor_alloc(&out, oshape.ndim, oshape.d) != ST_OK)
        return ST_ERROR;
    void *scratch = NULL;
    size_t sb = op_scratch_bytes(n, &geo, shapes, &oshape, false, false, net_threads());
    if (sb && !(scratch = alloc_array(sb, 1, "graph"))) {
        tensor_free(&out);
        return ST_ERROR;
    }
    if (op_is_view(n->op)) {
        memcpy(out.data, ins[0]->data, tensor_numel(&out) * sizeof(float));
    } else {
        op_call c = {.node = n, .geo = &geo, .in = ins, .out = &out, .scratch = scratch};
        op_forward(&c);
    }
    free(scratch);
    graph_value *v = &g->values[n->output];
    v->kind = VALUE_CONSTANT;
    v->node = -1;
    v->data = out;
    v->ndim = out.ndim;
    memcpy(v->shape, out.shape, sizeof v->shape);
    return ST_OK;
}

/* Node `index`, folded, whose output is a declared output: the folded data
 * moves to a new constant and the node becomes an Identity reading it, so the
 * output is still a layer (a view of a constant: no copy at run time). */
static status keep_as_layer(graph *g, int index)
{
    graph_value *v = &g->values[g->nodes[index].output];
    tensor data = v->data;
    memset(&v->data, 0, sizeof v->data);
    v->kind = VALUE_NODE;
    v->node = index;
    int c;
    if (graph_add_constant(g, NULL, &data, &c) != ST_OK) /* may move g->values */
        return node_error(g->nodes[index].name, g->nodes[index].op);
    graph_node *n = &g->nodes[index];
    n->op = OP_IDENTITY;
    n->inputs[0] = c;
    n->ninputs = 1;
    n->attrs = op_attrs_default(OP_IDENTITY);
    return ST_OK;
}

/* Drops the nodes marked dead, keeping the order, in one pass. */
static status drop_nodes(graph *g, const bool *dead)
{
    int *index = alloc_array((size_t)(g->nnodes ? g->nnodes : 1), sizeof *index, "graph");
    if (!index)
        return ST_ERROR;
    int kept = 0;
    for (int i = 0; i < g->nnodes; i++) {
        graph_node *n = &g->nodes[i];
        index[i] = dead[i] ? -1 : kept;
        if (dead[i]) {
            free(n->name);
            free(n->inputs);
            free(n->alias);
        } else {
            g->nodes[kept++] = *n;
        }
    }
    for (int v = 0; v < g->nvalues; v++)
        if (g->values[v].kind == VALUE_NODE && g->values[v].node >= 0)
            g->values[v].node = index[g->values[v].node];
    g->nnodes = kept;
    free(index);
    return ST_OK;
}

static bool is_constant(const graph *g, int value)
{
    return value >= 0 && g->values[value].kind == VALUE_CONSTANT;
}

/* Conv → BatchNormalization with constant parameters becomes one Conv:
 * a = scale / sqrt(var + eps);  W'[m] = a[m] · W[m];  b'[m] = a[m] (b[m] − mean[m]) + B[m]. */
static status fold_batch_norm(graph *g, int bn_index, const int *uses, bool *dead)
{
    graph_node *bn = &g->nodes[bn_index];
    int x = bn->inputs[0];
    if (g->values[x].kind != VALUE_NODE || g->values[x].node < 0 || g->values[x].is_output || uses[x] != 1)
        return ST_OK;
    graph_node *conv = &g->nodes[g->values[x].node];
    if (conv->op != OP_CONV || !is_constant(g, conv->inputs[1]) ||
        (conv->ninputs > 2 && conv->inputs[2] >= 0 && !is_constant(g, conv->inputs[2])))
        return ST_OK;
    for (int i = 1; i < 5; i++)
        if (!is_constant(g, bn->inputs[i]))
            return ST_OK;
    const tensor *w, *cb = NULL, *p[5];
    if (graph_constant(g, conv->inputs[1], &w) != ST_OK)
        return ST_ERROR;
    if (conv->ninputs > 2 && conv->inputs[2] >= 0 &&
        graph_constant(g, conv->inputs[2], &cb) != ST_OK)
        return ST_ERROR;
    for (int i = 1; i < 5; i++)
        if (graph_constant(g, bn->inputs[i], &p[i]) != ST_OK)
            return ST_ERROR;
    int64_t m = w->shape[0];
    for (int i = 1; i < 5; i++)
        if ((int64_t)tensor_numel(p[i]) != m)
            return ST_OK; /* shapes the plan will reject anyway */
    size_t per = tensor_numel(w) / (size_t)(m ? m : 1);
    tensor nw, nb;
    if (tensor_alloc(&nw, w->ndim, w->shape) != ST_OK)
        return ST_ERROR;
    if (tensor_alloc(&nb, 1, &m) != ST_OK) {
        tensor_free(&nw);
        return ST_ERROR;
    }
    float eps = bn->attrs.batch_norm.epsilon;
    for (int64_t o = 0; o < m; o++) {
        double a = p[1]->data[o] / sqrt((double)p[4]->data[o] + eps);
        for (size_t k = 0; k < per; k++)
            nw.data[(size_t)o * per + k] = (float)(a * w->data[(size_t)o * per + k]);
        double b0 = cb ? cb->data[o] : 0.0;
        nb.data[o] = (float)(a * (b0 - p[3]->data[o]) + p[2]->data[o]);
    }
    /* Named after the weights; when those are shared by several convs, the
     * second folded copy gets an invented name. */
    char name[512];
    int wid, bid;
    snprintf(name, sizeof name, "%s+bn", g->values[conv->inputs[1]].name);
    if (graph_add_constant(g, graph_find_value(g, name) < 0 ? name : NULL, &nw, &wid) != ST_OK) {
        tensor_free(&nb);
        return ST_ERROR;
    }
    snprintf(name, sizeof name, "%s+bn.bias", g->values[conv->inputs[1]].name);
    if (graph_add_constant(g, graph_find_value(g, name) < 0 ? name : NULL, &nb, &bid) != ST_OK)
        return ST_ERROR;
    /* graph_add_constant may have moved g->values; nodes did not move. */
    conv = &g->nodes[g->values[x].node];
    bn = &g->nodes[bn_index];
    if (conv->ninputs < 3) {
        int *in = realloc(conv->inputs, 3 * sizeof *in);
        if (!in)
            return error_set("graph", "out of memory");
        conv->inputs = in;
        conv->ninputs = 3;
    }
    conv->inputs[1] = wid;
    conv->inputs[2] = bid;
    /* The conv now produces the BN's output; its old output value is dead. */
    int y = bn->output;
    g->values[y].node = g->values[x].node;
    conv->output = y;
    g->values[x].node = -1;
    dead[bn_index] = true;
    return ST_OK;
}

/* How many node inputs read each value (uses[v]) and, for a value read once,
 * by which node as which input (reader[v] = node * 64 + input, inputs past 63
 * saturate). Arrays of g->nvalues entries, zeroed by the caller. */
static void count_uses(const graph *g, const bool *dead, int *uses, int64_t *reader)
{
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; !(dead && dead[i]) && k < g->nodes[i].ninputs; k++) {
            int v = g->nodes[i].inputs[k];
            if (v < 0)
                continue;
            uses[v]++;
            if (reader)
                reader[v] = (int64_t)i * 64 + (k < 63 ? k : 63);
        }
}

/* conv{b}_{i}, relu{b}_{i}, pool{b} along the plain chain from input 0. An
 * alias another node or value already goes by is not given. */
static status assign_vgg_aliases(graph *g)
{
    if (g->ninputs == 0)
        return ST_OK;
    int *uses = alloc_array((size_t)g->nvalues, sizeof *uses, "graph");
    int64_t *reader = alloc_array((size_t)g->nvalues, sizeof *reader, "graph");
    bool *shared = alloc_array((size_t)(g->nnodes ? g->nnodes : 1), sizeof *shared, "graph");
    name_index node_names = {0};
    status s = uses && reader && shared ? ST_OK : ST_ERROR;
    if (s == ST_OK)
        s = graph_node_names(g->nodes, g->nnodes, &node_names, shared);
    if (s == ST_OK)
        count_uses(g, NULL, uses, reader);
    int cur = g->inputs[0], block = 1, conv = 0;
    op_kind last = OP_COUNT;
    while (s == ST_OK && uses[cur] == 1 && reader[cur] % 64 == 0) {
        int next = (int)(reader[cur] / 64);
        graph_node *n = &g->nodes[next];
        char alias[32] = "";
        if (n->op == OP_CONV) {
            snprintf(alias, sizeof alias, "conv%d_%d", block, ++conv);
        } else if (n->op == OP_RELU && last == OP_CONV) {
            snprintf(alias, sizeof alias, "relu%d_%d", block, conv);
        } else if ((n->op == OP_MAX_POOL || n->op == OP_AVERAGE_POOL) && conv > 0) {
            snprintf(alias, sizeof alias, "pool%d", block++);
            conv = 0;
        } else if (n->op != OP_IDENTITY) {
            break;
        }
        if (*alias) {
            int v = graph_find_value(g, alias), other = name_index_find(&node_names, alias);
            bool taken = (v >= 0 && v != n->output) || (other >= 0 && (other != next || shared[next]));
            if (!taken && !(n->alias = string_dup(alias)))
                s = ST_ERROR;
            last = n->op;
        }
        cur = n->output;
    }
    name_index_free(&node_names);
    free(uses);
    free(reader);
    free(shared);
    return s;
}

status graph_finalize(graph *g)
{
    if (g->finalized)
        return ST_OK;
    bool *dead = alloc_array((size_t)(g->nnodes ? g->nnodes : 1), sizeof *dead, "graph");
    if (!dead)
        return ST_ERROR;
    /* Nodes whose inputs are all constants become constants, in order, so a
     * chain of them folds in one pass. A declared output stays a layer: a
     * view of constants as it is, another node as an Identity of its folded
     * value. */
    status s = ST_OK;
    for (int i = 0; s == ST_OK && i < g->nnodes; i++) {
        bool all_constant = true, output = g->values[g->nodes[i].output].is_output;
        for (int k = 0; k < g->nodes[i].ninputs; k++)
            all_constant &= g->nodes[i].inputs[k] < 0 || is_constant(g, g->nodes[i].inputs[k]);
        if (!all_constant || (output && op_is_view(g->nodes[i].op)))
            continue;
        if (fold_constant_node(g, i) != ST_OK)
            s = node_error(g->nodes[i].name, g->nodes[i].op);
        else if (output)
            s = keep_as_layer(g, i);
        else
            dead[i] = true;
    }
    int *uses = s == ST_OK ? alloc_array((size_t)g->nvalues, sizeof *uses, "graph") : NULL;
    if (s == ST_OK && !uses)
        s = ST_ERROR;
    if (s == ST_OK)
        count_uses(g, dead, uses, NULL);
    int nvalues = g->nvalues; /* folding adds constants; uses covers the values before */
    for (int i = 0; s == ST_OK && i < g->nnodes; i++)
        if (!dead[i] && g->nodes[i].op == OP_BATCH_NORM && g->nodes[i].inputs[0] < nvalues &&
            fold_batch_norm(g, i, uses, dead) != ST_OK)
            s = node_error(g->nodes[i].name, OP_BATCH_NORM);
    free(uses);
    if (s == ST_OK)
        s = drop_nodes(g, dead);
    free(dead);
    if (s == ST_OK)
        s = assign_vgg_aliases(g);
    if (s != ST_OK)
        return ST_ERROR;
    g->finalized = true;
    return ST_OK;
}
