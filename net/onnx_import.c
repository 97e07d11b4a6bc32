/* onnx_import.c — ONNX models into the net graph, and model_open_external:
 * the resolution of --model specs that are not "default" (a .onnx path, or a
 * name in the model cache) with the registry's preprocessing and labels.
 *
 * Every ONNX value name is a *symbol*: a graph value (input or node output),
 * an ONNX tensor not yet in the graph (an initializer, a Constant node's
 * tensor), or a small folded constant (onnx_import.h). Nodes are translated
 * in file order (ONNX requires topological order; a cycle or a forward
 * reference is an undefined input). Shape-computation ops on constants are
 * evaluated here; engine ops become graph nodes whose constant inputs become
 * lazy constants, read from the mapped file only when a run first needs them
 * (a style job never converts VGG-19's 400 MB of FC weights).
 *
 * Opset forms handled (7..17): Clip bounds as attributes (< 11) or inputs;
 * Pad as attributes (< 11) or inputs; Dropout's ratio as attribute (< 12) or
 * input; Unsqueeze/Squeeze axes as attributes (< 13) or inputs; Slice as
 * attributes (< 10) or inputs; Softmax's 2-D coercion before 13; Identity and
 * Cast-to-float on initializers (aliases, no node); Reshape targets from
 * initializers or folded chains. Free (symbolic) batch dimensions are 1.
 */
#include "net/onnx_import.h"
#include "net/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ===== the source of lazy constants ======================================== */

/* Kept alive by the graph (free_fill_ctx) while lazy constants may need it. */
typedef struct {
    onnx_file file;          /* the mapped model (or a copy of a buffer) */
    onnx_arena *arena;       /* the decoded model: tensors point into file */
    char *path;              /* the .onnx path, for external data; NULL for buffers */
    const onnx_tensor **by_value; /* graph value id → the tensor a lazy constant reads */
    int nby_value;
} import_source;

static void source_free(void *ctx)
{
    import_source *src = ctx;
    if (!src)
        return;
    onnx_arena_free(src->arena);
    onnx_file_unmap(&src->file);
    free(src->path);
    free(src->by_value);
    free(src);
}

static status fill_constant(void *ctx, int value, tensor *t)
{
    import_source *src = ctx;
    if (value < 0 || value >= src->nby_value || !src->by_value[value])
        return error_set("onnx", "no tensor behind constant %d", value);
    const onnx_tensor *ot = src->by_value[value];
    /* The converted copy is what runs use: the file's pages can go. */
    return onnx_tensor_read_float_releasing(ot, src->path, src->path ? src->path : "model", t->data, &src->file);
}

/* ===== symbols ============================================================== */

typedef enum { SYM_VALUE, SYM_TENSOR, SYM_SMALL, SYM_ALIAS } sym_kind;

typedef struct symbol {
    const char *name;
    sym_kind kind;
    int value;                 /* graph value id once in the graph, else -1 */
    const onnx_tensor *tensor; /* SYM_TENSOR */
    small_tensor *small;       /* SYM_SMALL, or a SYM_TENSOR read as small */
    struct symbol *target;     /* SYM_ALIAS: Identity / Cast on a constant */
} symbol;

/* How a name is read, from a pass over the graph before translation. */
typedef struct {
    const char *name;
    int uses;           /* readers: node inputs and graph outputs */
    bool need_constant; /* read where synth needs a constant (a shape, pads, axes) */
} usage;

/* A string-keyed open-addressing table of records whose first member is
 * their name (symbol, usage). */
typedef struct {
    void **slots;
    size_t cap; /* a power of two, at least twice the entries */
} name_map;

typedef struct {
    const char *subject;  /* the file (or name) errors start with */
    import_source *src;
    onnx_arena *scratch;  /* symbols and small constants; freed after import */
    const onnx_model *model;
    int64_t opset;
    graph *g;
    name_map symbols;
    name_map usages;
    const onnx_node *node; /* being translated, for errors */
} importer;

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static status map_init(onnx_arena *a, name_map *m, size_t entries)
{
    m->cap = 64;
    while (m->cap < 2 * entries)
        m->cap *= 2;
    m->slots = onnx_arena_alloc(a, m->cap, sizeof *m->slots);
    return m->slots ? ST_OK : ST_ERROR;
}

/* The slot holding `name`, or the empty slot where it would go. */
static void **map_slot(const name_map *m, const char *name)
{
    size_t i = (size_t)hash_name(name) & (m->cap - 1);
    while (m->slots[i] && strcmp(*(const char *const *)m->slots[i], name) != 0)
        i = (i + 1) & (m->cap - 1);
    return &m->slots[i];
}

static symbol *lookup(importer *im, const char *name)
{
    symbol *s = *map_slot(&im->symbols, name);
    while (s && s->kind == SYM_ALIAS)
        s = s->target;
    return s;
}

static const usage *usage_of(importer *im, const char *name)
{
    static const usage none = {"", 0, false};
    const usage *u = *map_slot(&im->usages, name);
    return u ? u : &none;
}

/* ===== errors ================================================================ */

static status node_fail(importer *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static status node_fail(importer *im, const char *fmt, ...)
{
    char why[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const onnx_node *n = im->node;
    const char *name = n->name[0] ? n->name : n->noutputs ? n->outputs[0] : "?";
    return error_set(im->subject, "node '%s' (%s): %s", name, n->op_type, why);
}

/* Prefixes the node to an error recorded without subject (onnx_fold.c). */
static status node_fail_prefixed(importer *im)
{
    char why[600];
    snprintf(why, sizeof why, "%s", error_message());
    return node_fail(im, "%s", why);
}

/* Defines a new symbol; a name defined twice is an error. */
static status define(importer *im, const char *name, sym_kind kind, symbol **out)
{
    *out = NULL;
    if (!*name)
        return im->node ? node_fail(im, "an output has no name")
                        : error_set(im->subject, "a graph input has no name");
    void **slot = map_slot(&im->symbols, name);
    if (*slot)
        return im->node ? node_fail(im, "'%s' is defined twice", name)
                        : error_set(im->subject, "'%s' is defined twice", name);
    symbol *s = onnx_arena_alloc(im->scratch, 1, sizeof *s);
    if (!s)
        return error_prefix(im->subject);
    s->name = name;
    s->kind = kind;
    s->value = -1;
    *slot = s;
    *out = s;
    return ST_OK;
}

/* ===== attributes ============================================================ */

static const onnx_attribute *attr_of(importer *im, const char *name, int type, status *s)
{
    const onnx_attribute *a = onnx_node_attribute(im->node, name);
    *s = ST_OK;
    if (a && a->type != type) {
        static const char *const kinds[] = {"undefined", "a float", "an int", "a string", "a tensor",
                                            "a graph", "floats", "ints", "strings"};
        *s = node_fail(im, "attribute '%s' must be %s", name, type < 9 ? kinds[type] : "another type");
        return NULL;
    }
    return a;
}

static status attr_int(importer *im, const char *name, int64_t def, int64_t *out)
{
    status s;
    const onnx_attribute *a = attr_of(im, name, ONNX_ATTR_INT, &s);
    *out = a ? a->i : def;
    return s;
}

static status attr_float(importer *im, const char *name, float def, float *out)
{
    status s;
    const onnx_attribute *a = attr_of(im, name, ONNX_ATTR_FLOAT, &s);
    *out = a ? a->f : def;
    return s;
}

static status attr_string(importer *im, const char *name, const char *def, const char **out)
{
    status s;
    const onnx_attribute *a = attr_of(im, name, ONNX_ATTR_STRING, &s);
    *out = a ? a->s : def;
    return s;
}

/* Copies an ints attribute into out[max]; *n = -1 when absent. */
static status attr_ints(importer *im, const char *name, int max, int *n, int64_t *out)
{
    status s;
    const onnx_attribute *a = attr_of(im, name, ONNX_ATTR_INTS, &s);
    *n = -1;
    if (s != ST_OK || !a)
        return s;
    if (a->nints > max)
        return node_fail(im, "attribute '%s' has %d values (at most %d)", name, a->nints, max);
    memcpy(out, a->ints, (size_t)a->nints * sizeof *out);
    *n = a->nints;
    return ST_OK;
}

/* Refuses attributes the op does not have: an unknown one means a form synth
 * does not understand. `known` is a space-separated list. */
static status check_attributes(importer *im, const char *known)
{
    for (int i = 0; i < im->node->nattributes; i++) {
        const char *name = im->node->attributes[i].name;
        if (strcmp(name, "consumed_inputs") == 0 && im->opset < 7)
            continue; /* legacy (opset < 6) optimization hint, no meaning here */
        size_t len = strlen(name);
        bool found = false;
        for (const char *p = known; *p && !found;) {
            const char *end = strchr(p, ' ');
            size_t k = end ? (size_t)(end - p) : strlen(p);
            found = k == len && strncmp(p, name, len) == 0;
            p += k + (end ? 1 : 0);
        }
        if (!found)
            return node_fail(im, "attribute '%s' is not supported", name);
    }
    return ST_OK;
}

/* ===== inputs ================================================================ */

/* The symbol of input i, NULL when absent (i past the end or ""). */
static status input_symbol(importer *im, int i, symbol **out)
{
    *out = NULL;
    if (i >= im->node->ninputs || !im->node->inputs[i][0])
        return ST_OK;
    *out = lookup(im, im->node->inputs[i]);
    if (!*out)
        return node_fail(im, "input '%s' is not defined before this node (missing, or a cycle)",
                         im->node->inputs[i]);
    return ST_OK;
}

/* The symbol as a graph value, adding constants to the graph on first use. */
static status value_of(importer *im, symbol *s, int *value)
{
    if (s->value >= 0) {
        *value = s->value;
        return ST_OK;
    }
    if (s->kind == SYM_TENSOR) {
        const onnx_tensor *t = s->tensor;
        if (onnx_tensor_check(t, im->src->path, im->subject) != ST_OK)
            return ST_ERROR;
        if (t->data_type == ONNX_STRING || t->data_type == ONNX_UNDEFINED)
            return node_fail(im, "constant '%s' has type %s", s->name, onnx_dtype_name(t->data_type));
        int id;
        if (graph_add_lazy_constant(im->g, s->name, t->rank, t->dims, fill_constant, im->src, &id) != ST_OK)
            return node_fail_prefixed(im);
        if (id >= im->src->nby_value) {
            int n = 2 * id + 64;
            const onnx_tensor **grown = realloc(im->src->by_value, (size_t)n * sizeof *grown);
            if (!grown)
                return error_set(im->subject, "out of memory");
            memset(grown + im->src->nby_value, 0, (size_t)(n - im->src->nby_value) * sizeof *grown);
            im->src->by_value = grown;
            im->src->nby_value = n;
        }
        im->src->by_value[id] = t;
        s->value = id;
    } else if (s->kind == SYM_SMALL) {
        tensor t;
        if (tensor_alloc(&t, s->small->ndim, s->small->shape) != ST_OK)
            return error_prefix(im->subject);
        for (size_t k = 0; k < s->small->count; k++)
            t.data[k] = (float)s->small->v[k];
        if (graph_add_constant(im->g, s->name, &t, &s->value) != ST_OK)
            return node_fail_prefixed(im);
    }
    *value = s->value;
    return ST_OK;
}

/* The symbol as a small constant, or NULL (*out) when it is not one (a
 * runtime value, or a tensor too large to fold). */
static status small_of(importer *im, symbol *s, small_tensor **out)
{
    *out = NULL;
    if (s->small) {
        *out = s->small;
        return ST_OK;
    }
    if (s->kind != SYM_TENSOR || s->tensor->count > SMALL_MAX)
        return ST_OK;
    const onnx_tensor *t = s->tensor;
    bool is_int = t->data_type != ONNX_FLOAT && t->data_type != ONNX_DOUBLE && t->data_type != ONNX_FLOAT16 &&
                  t->data_type != ONNX_BFLOAT16;
    small_tensor *st = onnx_arena_alloc(im->scratch, 1, sizeof *st);
    if (!st || small_new(im->scratch, t->rank, t->dims, is_int, st) != ST_OK)
        return node_fail_prefixed(im);
    size_t n = t->count ? t->count : 1;
    status rs;
    if (is_int) {
        int64_t *v = malloc(n * sizeof *v);
        rs = v ? onnx_tensor_read_int64(t, im->src->path, im->subject, v) : error_set(im->subject, "out of memory");
        for (size_t k = 0; rs == ST_OK && k < t->count; k++)
            st->v[k] = (double)v[k];
        free(v);
    } else {
        float *v = malloc(n * sizeof *v);
        rs = v ? onnx_tensor_read_float(t, im->src->path, im->subject, v) : error_set(im->subject, "out of memory");
        for (size_t k = 0; rs == ST_OK && k < t->count; k++)
            st->v[k] = v[k];
        free(v);
    }
    if (rs != ST_OK)
        return ST_ERROR;
    s->small = st;
    *out = st;
    return ST_OK;
}

/* Input i as a small constant; fails naming `what` when it is not one. */
static status const_input(importer *im, int i, const char *what, small_tensor **out)
{
    symbol *s;
    if (input_symbol(im, i, &s) != ST_OK)
        return ST_ERROR;
    if (!s)
        return node_fail(im, "the %s input is missing", what);
    if (small_of(im, s, out) != ST_OK)
        return ST_ERROR;
    if (!*out)
        return node_fail(im, "the %s ('%s') must be a constant", what, s->name);
    return ST_OK;
}

/* Input i as a list of integers (axes, pads, shape); *n = -1 when absent. */
static status const_ints(importer *im, int i, const char *what, int max, int *n, int64_t *out)
{
    symbol *s;
    *n = -1;
    if (input_symbol(im, i, &s) != ST_OK)
        return ST_ERROR;
    if (!s)
        return ST_OK;
    small_tensor *t;
    if (const_input(im, i, what, &t) != ST_OK)
        return ST_ERROR;
    if (!t->is_int || t->ndim > 1)
        return node_fail(im, "the %s must be a 1-D integer tensor", what);
    if (t->count > (size_t)max)
        return node_fail(im, "the %s has %zu values (at most %d)", what, t->count, max);
    for (size_t k = 0; k < t->count; k++)
        out[k] = small_int(t, k);
    *n = (int)t->count;
    return ST_OK;
}

/* The shape of a symbol at the declared input shapes. */
static status shape_of(importer *im, symbol *s, int *ndim, int64_t *shape)
{
    if (s->small) {
        *ndim = s->small->ndim;
        memcpy(shape, s->small->shape, (size_t)s->small->ndim * sizeof *shape);
        return ST_OK;
    }
    if (s->kind == SYM_TENSOR) {
        *ndim = s->tensor->rank;
        memcpy(shape, s->tensor->dims, (size_t)s->tensor->rank * sizeof *shape);
        return ST_OK;
    }
    if (graph_value_shape(im->g, s->value, ndim, shape) != ST_OK)
        return node_fail(im, "the shape of '%s' is unknown at the model's declared input shape", s->name);
    return ST_OK;
}

/* ===== outputs ============================================================== */

/* Output 0 of the node is the graph value `value`. Other outputs must be
 * unused (Dropout's mask, MaxPool's indices, BatchNormalization's statistics). */
static status define_value_output(importer *im, int value)
{
    symbol *s;
    if (define(im, im->node->outputs[0], SYM_VALUE, &s) != ST_OK)
        return ST_ERROR;
    s->value = value;
    return ST_OK;
}

static status check_extra_outputs(importer *im)
{
    const onnx_node *n = im->node;
    if (n->noutputs < 1 || !n->outputs[0][0])
        return node_fail(im, "no output");
    for (int i = 1; i < n->noutputs; i++) {
        if (!n->outputs[i][0])
            continue;
        if (usage_of(im, n->outputs[i])->uses)
            return node_fail(im, "output %d ('%s') is not supported", i, n->outputs[i]);
    }
    return ST_OK;
}

/* Output 0 as a folded constant (SYM_SMALL) or an alias of a constant. */
static status define_output(importer *im, sym_kind kind, small_tensor *small, symbol *target)
{
    symbol *s;
    if (define(im, im->node->outputs[0], kind, &s) != ST_OK)
        return ST_ERROR;
    s->small = small;
    s->target = target;
    return ST_OK;
}

/* Adds an engine node whose inputs are the node's inputs `which` (indices,
 * -1 for absent); its output is the node's output 0. */
static status add_node(importer *im, op_kind op, const int *which, int nwhich, const op_attrs *attrs)
{
    int inputs[64];
    if (nwhich > 64)
        return node_fail(im, "too many inputs (%d)", nwhich);
    for (int k = 0; k < nwhich; k++) {
        symbol *s;
        inputs[k] = -1;
        if (which[k] < 0)
            continue;
        if (input_symbol(im, which[k], &s) != ST_OK)
            return ST_ERROR;
        if (s && value_of(im, s, &inputs[k]) != ST_OK)
            return ST_ERROR;
    }
    /* An unnamed node is known by its output, in errors and as a layer. */
    const char *name = im->node->name[0] ? im->node->name : im->node->outputs[0];
    int out;
    if (graph_add_node(im->g, op, name, inputs, nwhich, attrs, im->node->outputs[0], &out) != ST_OK)
        return error_prefix(im->subject);
    return define_value_output(im, out);
}

/* All of the node's inputs, in order. */
static status add_node_all_inputs(importer *im, op_kind op, const op_attrs *attrs)
{
    int which[64];
    int n = im->node->ninputs < 64 ? im->node->ninputs : 64;
    for (int k = 0; k < n; k++)
        which[k] = k;
    if (im->node->ninputs > 64)
        return node_fail(im, "too many inputs (%d)", im->node->ninputs);
    return add_node(im, op, which, n, attrs);
}

/* True when every present input is a small constant (loading them). */
static status all_small(importer *im, small_tensor **in, int max, bool *yes)
{
    *yes = true;
    if (im->node->ninputs > max) {
        *yes = false;
        return ST_OK;
    }
    for (int i = 0; i < im->node->ninputs; i++) {
        symbol *s;
        in[i] = NULL;
        if (input_symbol(im, i, &s) != ST_OK)
            return ST_ERROR;
        if (s && small_of(im, s, &in[i]) != ST_OK)
            return ST_ERROR;
        if (s && !in[i])
            *yes = false;
    }
    return ST_OK;
}

/* ===== op translation ======================================================= */

/* Conv and the pools: auto_pad, kernel_shape, strides, dilations, pads. */
static status window_attributes(importer *im, window_attrs *w, bool pool)
{
    int64_t kernel[GRAPH_MAX_SPATIAL], strides[GRAPH_MAX_SPATIAL], dil[GRAPH_MAX_SPATIAL];
    int64_t pads[2 * GRAPH_MAX_SPATIAL];
    int nk, ns, nd, np;
    if (attr_ints(im, "kernel_shape", GRAPH_MAX_SPATIAL, &nk, kernel) != ST_OK ||
        attr_ints(im, "strides", GRAPH_MAX_SPATIAL, &ns, strides) != ST_OK ||
        attr_ints(im, "dilations", GRAPH_MAX_SPATIAL, &nd, dil) != ST_OK ||
        attr_ints(im, "pads", 2 * GRAPH_MAX_SPATIAL, &np, pads) != ST_OK)
        return ST_ERROR;
    if (pool && nk < 0)
        return node_fail(im, "attribute 'kernel_shape' is required");
    int n = nk > ns ? nk : ns;
    n = nd > n ? nd : n;
    n = np / 2 > n ? np / 2 : n;
    if (n < 0)
        n = 0;
    if ((nk >= 0 && nk != n) || (ns >= 0 && ns != n) || (nd >= 0 && nd != n) || (np >= 0 && np != 2 * n))
        return node_fail(im, "kernel_shape, strides, dilations and pads disagree on the number of spatial dimensions");
    w->nspatial = n;
    for (int i = 0; i < n; i++) {
        w->kernel[i] = nk >= 0 ? kernel[i] : 0;
        w->strides[i] = ns >= 0 ? strides[i] : 0;
        w->dilations[i] = nd >= 0 ? dil[i] : 0;
        w->pads[i] = np >= 0 ? pads[i] : 0;
        w->pads[n + i] = np >= 0 ? pads[n + i] : 0;
        if ((nk >= 0 && kernel[i] < 1) || (ns >= 0 && strides[i] < 1) || (nd >= 0 && dil[i] < 1) ||
            w->pads[i] < 0 || w->pads[n + i] < 0)
            return node_fail(im, "kernel_shape, strides and dilations must be positive, pads not negative");
    }
    const char *auto_pad;
    if (attr_string(im, "auto_pad", "NOTSET", &auto_pad) != ST_OK)
        return ST_ERROR;
    if (strcmp(auto_pad, "NOTSET") == 0)
        w->auto_pad = AUTO_PAD_NOTSET;
    else if (strcmp(auto_pad, "SAME_UPPER") == 0)
        w->auto_pad = AUTO_PAD_SAME_UPPER;
    else if (strcmp(auto_pad, "SAME_LOWER") == 0)
        w->auto_pad = AUTO_PAD_SAME_LOWER;
    else if (strcmp(auto_pad, "VALID") == 0)
        w->auto_pad = AUTO_PAD_VALID;
    else
        return node_fail(im, "auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", auto_pad);
    if (w->auto_pad != AUTO_PAD_NOTSET && np >= 0) {
        for (int i = 0; i < 2 * n; i++)
            if (w->pads[i])
                return node_fail(im, "pads and auto_pad %s together", auto_pad);
    }
    return ST_OK;
}

static status import_conv(importer *im)
{
    op_attrs a = op_attrs_default(OP_CONV);
    if (check_attributes(im, "auto_pad dilations group kernel_shape pads strides") != ST_OK ||
        window_attributes(im, &a.window, false) != ST_OK || attr_int(im, "group", 1, &a.window.group) != ST_OK)
        return ST_ERROR;
    if (a.window.group < 1)
        return node_fail(im, "group must be positive");
    return add_node_all_inputs(im, OP_CONV, &a);
}

static status import_pool(importer *im, op_kind op)
{
    op_attrs a = op_attrs_default(op);
    const char *known = op == OP_MAX_POOL ? "auto_pad ceil_mode dilations kernel_shape pads storage_order strides"
                                          : "auto_pad ceil_mode count_include_pad kernel_shape pads strides";
    int64_t ceil_mode, count_include_pad, storage_order;
    if (check_attributes(im, known) != ST_OK || window_attributes(im, &a.window, true) != ST_OK ||
        attr_int(im, "ceil_mode", 0, &ceil_mode) != ST_OK ||
        attr_int(im, "count_include_pad", 0, &count_include_pad) != ST_OK ||
        attr_int(im, "storage_order", 0, &storage_order) != ST_OK || check_extra_outputs(im) != ST_OK)
        return ST_ERROR;
    a.window.ceil_mode = ceil_mode != 0;
    a.window.count_include_pad = count_include_pad != 0;
    return add_node(im, op, (int[]){0}, 1, &a);
}

static status import_clip(importer *im)
{
    op_attrs a = op_attrs_default(OP_CLIP);
    if (im->opset < 11) {
        if (check_attributes(im, "min max") != ST_OK || attr_float(im, "min", -INFINITY, &a.clip.min) != ST_OK ||
            attr_float(im, "max", INFINITY, &a.clip.max) != ST_OK)
            return ST_ERROR;
        return add_node(im, OP_CLIP, (int[]){0}, 1, &a);
    }
    if (check_attributes(im, "") != ST_OK)
        return ST_ERROR;
    /* Constant bounds become attributes; runtime ones stay inputs. */
    int which[3] = {0, -1, -1};
    float *bound[3] = {NULL, &a.clip.min, &a.clip.max};
    for (int i = 1; i < 3; i++) {
        symbol *s;
        small_tensor *t;
        if (input_symbol(im, i, &s) != ST_OK || (s && small_of(im, s, &t) != ST_OK))
            return ST_ERROR;
        if (!s)
            continue;
        if (t && t->count == 1)
            *bound[i] = (float)t->v[0];
        else
            which[i] = i;
    }
    return add_node(im, OP_CLIP, which, which[2] >= 0 ? 3 : which[1] >= 0 ? 2 : 1, &a);
}

static status import_pad(importer *im)
{
    op_attrs a = op_attrs_default(OP_PAD);
    const char *mode;
    int n;
    int64_t pads[2 * TENSOR_MAX_DIMS];
    if (im->opset < 11) {
        if (check_attributes(im, "mode pads value") != ST_OK || attr_float(im, "value", 0, &a.pad.value) != ST_OK ||
            attr_ints(im, "pads", 2 * TENSOR_MAX_DIMS, &n, pads) != ST_OK)
            return ST_ERROR;
        if (n < 0)
            return node_fail(im, "attribute 'pads' is required");
    } else {
        int naxes;
        int64_t axes[TENSOR_MAX_DIMS];
        if (check_attributes(im, "mode") != ST_OK ||
            const_ints(im, 1, "pads", 2 * TENSOR_MAX_DIMS, &n, pads) != ST_OK ||
            const_ints(im, 3, "axes", TENSOR_MAX_DIMS, &naxes, axes) != ST_OK)
            return ST_ERROR;
        if (n < 0)
            return node_fail(im, "the pads input is missing");
        if (naxes >= 0)
            return node_fail(im, "the axes input (opset 18) is not supported");
        symbol *s;
        if (input_symbol(im, 2, &s) != ST_OK)
            return ST_ERROR;
        if (s) {
            small_tensor *v;
            if (const_input(im, 2, "constant_value", &v) != ST_OK)
                return ST_ERROR;
            if (v->count != 1)
                return node_fail(im, "constant_value must hold one value");
            a.pad.value = (float)v->v[0];
        }
    }
    if (attr_string(im, "mode", "constant", &mode) != ST_OK)
        return ST_ERROR;
    if (strcmp(mode, "constant") == 0)
        a.pad.mode = PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        a.pad.mode = PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        a.pad.mode = PAD_EDGE;
    else
        return node_fail(im, "mode '%s' is not constant, reflect or edge", mode);
    a.pad.npads = n;
    memcpy(a.pad.pads, pads, (size_t)n * sizeof *pads);
    return add_node(im, OP_PAD, (int[]){0}, 1, &a);
}

/* Reshape / Unsqueeze / Squeeze / Flatten of a runtime value with a target
 * computed here: the engine's Reshape with that target (0 copies the input's
 * dimension, so leading dimensions follow the input size). */
static status add_reshape(importer *im, const int64_t *target, int ntarget, bool allowzero)
{
    op_attrs a = op_attrs_default(OP_RESHAPE);
    a.reshape.ndim = ntarget;
    a.reshape.allowzero = allowzero;
    memcpy(a.reshape.shape, target, (size_t)ntarget * sizeof *target);
    return add_node(im, OP_RESHAPE, (int[]){0}, 1, &a);
}

static status import_reshape(importer *im)
{
    int64_t target[TENSOR_MAX_DIMS], allowzero;
    int n;
    if (check_attributes(im, "allowzero") != ST_OK || attr_int(im, "allowzero", 0, &allowzero) != ST_OK ||
        const_ints(im, 1, "shape", TENSOR_MAX_DIMS, &n, target) != ST_OK)
        return ST_ERROR;
    if (n < 0)
        return node_fail(im, "the shape input is missing");
    symbol *x;
    small_tensor *c;
    if (input_symbol(im, 0, &x) != ST_OK || !x || small_of(im, x, &c) != ST_OK)
        return x ? ST_ERROR : node_fail(im, "the data input is missing");
    if (c) { /* a constant: reshape it here */
        small_tensor *out = onnx_arena_alloc(im->scratch, 1, sizeof *out);
        if (!out)
            return error_prefix(im->subject);
        *out = *c;
        /* the engine's own shape rule, on a node that is never added */
        graph_node fake = {.op = OP_RESHAPE, .attrs = op_attrs_default(OP_RESHAPE)};
        fake.attrs.reshape.ndim = n;
        fake.attrs.reshape.allowzero = allowzero != 0;
        memcpy(fake.attrs.reshape.shape, target, (size_t)n * sizeof *target);
        nd_shape in = {c->ndim, {0}}, res;
        memcpy(in.d, c->shape, sizeof in.d);
        if (reshape_infer(&fake, &in, &res) != ST_OK)
            return node_fail_prefixed(im);
        out->ndim = res.ndim;
        memcpy(out->shape, res.d, sizeof out->shape);
        return define_output(im, SYM_SMALL, out, NULL);
    }
    return add_reshape(im, target, n, allowzero != 0);
}

/* Unsqueeze / Squeeze: axes from the attribute (< 13) or the input. */
static status import_squeeze(importer *im, bool unsqueeze)
{
    int64_t axes[TENSOR_MAX_DIMS];
    int n;
    if (im->opset < 13) {
        if (check_attributes(im, "axes") != ST_OK || attr_ints(im, "axes", TENSOR_MAX_DIMS, &n, axes) != ST_OK)
            return ST_ERROR;
    } else if (check_attributes(im, "") != ST_OK || const_ints(im, 1, "axes", TENSOR_MAX_DIMS, &n, axes) != ST_OK) {
        return ST_ERROR;
    }
    if (unsqueeze && n < 0)
        return node_fail(im, "the axes are missing");
    if (n < 0)
        n = 0;
    symbol *x;
    if (input_symbol(im, 0, &x) != ST_OK)
        return ST_ERROR;
    if (!x)
        return node_fail(im, "the data input is missing");
    small_tensor *c;
    int nd, ond;
    int64_t shape[TENSOR_MAX_DIMS], out_shape[TENSOR_MAX_DIMS];
    if (small_of(im, x, &c) != ST_OK || shape_of(im, x, &nd, shape) != ST_OK)
        return ST_ERROR;
    status s = unsqueeze ? unsqueeze_shape(nd, shape, axes, n, &ond, out_shape)
                         : squeeze_shape(nd, shape, axes, n, &ond, out_shape);
    if (s != ST_OK)
        return node_fail_prefixed(im);
    if (c) {
        small_tensor *out = onnx_arena_alloc(im->scratch, 1, sizeof *out);
        if (!out)
            return error_prefix(im->subject);
        *out = *c;
        out->ndim = ond;
        memcpy(out->shape, out_shape, sizeof out->shape);
        return define_output(im, SYM_SMALL, out, NULL);
    }
    /* A runtime value: a Reshape to the shape at the declared input size,
     * copying (0) the dimensions before the first one that moves. */
    int64_t target[TENSOR_MAX_DIMS];
    bool prefix = true;
    for (int d = 0; d < ond; d++) {
        prefix = prefix && d < nd && out_shape[d] == shape[d];
        target[d] = prefix ? 0 : out_shape[d];
    }
    return add_reshape(im, target, ond, false);
}

static status import_softmax(importer *im)
{
    op_attrs a = op_attrs_default(OP_SOFTMAX);
    a.softmax.legacy = im->opset < 13;
    if (check_attributes(im, "axis") != ST_OK ||
        attr_int(im, "axis", a.softmax.legacy ? 1 : -1, &a.softmax.axis) != ST_OK)
        return ST_ERROR;
    return add_node(im, OP_SOFTMAX, (int[]){0}, 1, &a);
}

static status import_batch_norm(importer *im)
{
    op_attrs a = op_attrs_default(OP_BATCH_NORM);
    int64_t spatial, training, is_test;
    float momentum;
    if (check_attributes(im, "epsilon momentum spatial training_mode is_test consumed_inputs") != ST_OK ||
        attr_float(im, "epsilon", 1e-5f, &a.batch_norm.epsilon) != ST_OK ||
        attr_float(im, "momentum", 0.9f, &momentum) != ST_OK || attr_int(im, "spatial", 1, &spatial) != ST_OK ||
        attr_int(im, "training_mode", 0, &training) != ST_OK || attr_int(im, "is_test", 1, &is_test) != ST_OK ||
        check_extra_outputs(im) != ST_OK)
        return ST_ERROR;
    if (spatial != 1)
        return node_fail(im, "spatial=0 (per-element statistics) is not supported");
    if (training)
        return node_fail(im, "training mode is not supported");
    return add_node(im, OP_BATCH_NORM, (int[]){0, 1, 2, 3, 4}, 5, &a);
}

static status import_dropout(importer *im)
{
    if (check_attributes(im, "ratio seed is_test") != ST_OK || check_extra_outputs(im) != ST_OK)
        return ST_ERROR;
    symbol *training;
    if (input_symbol(im, 2, &training) != ST_OK)
        return ST_ERROR;
    if (training) {
        small_tensor *t;
        if (const_input(im, 2, "training_mode", &t) != ST_OK)
            return ST_ERROR;
        if (t->count != 1 || t->v[0] != 0)
            return node_fail(im, "training mode is not supported");
    }
    return add_node(im, OP_IDENTITY, (int[]){0}, 1, NULL);
}

/* Identity, Dropout's pass-through and Cast to float on a constant are
 * aliases; on runtime values they are Identity nodes. */
static status import_identity_like(importer *im)
{
    symbol *x;
    if (input_symbol(im, 0, &x) != ST_OK)
        return ST_ERROR;
    if (!x)
        return node_fail(im, "the input is missing");
    if (x->kind != SYM_VALUE && x->value < 0)
        return define_output(im, SYM_ALIAS, NULL, x);
    return add_node(im, OP_IDENTITY, (int[]){0}, 1, NULL);
}

static status import_cast(importer *im)
{
    int64_t to;
    if (check_attributes(im, "to saturate") != ST_OK || attr_int(im, "to", 0, &to) != ST_OK)
        return ST_ERROR;
    symbol *x;
    small_tensor *c;
    if (input_symbol(im, 0, &x) != ST_OK || !x || small_of(im, x, &c) != ST_OK)
        return x ? ST_ERROR : node_fail(im, "the input is missing");
    if (c) {
        small_tensor *out = onnx_arena_alloc(im->scratch, 1, sizeof *out);
        if (!out || fold_cast(im->scratch, c, (int32_t)to, out) != ST_OK)
            return out ? node_fail_prefixed(im) : error_prefix(im->subject);
        return define_output(im, SYM_SMALL, out, NULL);
    }
    bool to_float = to == ONNX_FLOAT || to == ONNX_DOUBLE || to == ONNX_FLOAT16;
    if (!to_float)
        return node_fail(im, "casting a tensor computed at run time to %s is not supported",
                         onnx_dtype_name((int32_t)to));
    /* float data stays float32 here (a large constant converts on load) */
    return import_identity_like(im);
}

/* Constant: a tensor (kept as is, converted on use) or a scalar / list. */
static status import_constant(importer *im)
{
    const onnx_node *n = im->node;
    if (n->nattributes != 1)
        return node_fail(im, "expects exactly one attribute");
    const onnx_attribute *a = &n->attributes[0];
    if (strcmp(a->name, "value") == 0 && a->type == ONNX_ATTR_TENSOR && a->t) {
        symbol *s;
        if (define(im, n->outputs[0], SYM_TENSOR, &s) != ST_OK)
            return ST_ERROR;
        s->tensor = a->t;
        return ST_OK;
    }
    small_tensor *t = onnx_arena_alloc(im->scratch, 1, sizeof *t);
    if (!t)
        return error_prefix(im->subject);
    bool list = a->type == ONNX_ATTR_FLOATS || a->type == ONNX_ATTR_INTS;
    int64_t count = a->type == ONNX_ATTR_FLOATS ? a->nfloats : a->type == ONNX_ATTR_INTS ? a->nints : 1;
    bool is_int = a->type == ONNX_ATTR_INT || a->type == ONNX_ATTR_INTS;
    if (!(strcmp(a->name, "value_float") == 0 && a->type == ONNX_ATTR_FLOAT) &&
        !(strcmp(a->name, "value_int") == 0 && a->type == ONNX_ATTR_INT) &&
        !(strcmp(a->name, "value_floats") == 0 && a->type == ONNX_ATTR_FLOATS) &&
        !(strcmp(a->name, "value_ints") == 0 && a->type == ONNX_ATTR_INTS))
        return node_fail(im, "attribute '%s' is not supported", a->name);
    if (small_new(im->scratch, list ? 1 : 0, &count, is_int, t) != ST_OK)
        return node_fail_prefixed(im);
    for (int64_t k = 0; k < count; k++)
        t->v[k] = a->type == ONNX_ATTR_FLOAT ? a->f : a->type == ONNX_ATTR_INT ? (double)a->i
                  : a->type == ONNX_ATTR_FLOATS ? a->floats[k] : (double)a->ints[k];
    return define_output(im, SYM_SMALL, t, NULL);
}

static status import_constant_of_shape(importer *im)
{
    small_tensor *shape, *out = onnx_arena_alloc(im->scratch, 1, sizeof *out);
    status s;
    const onnx_attribute *value = attr_of(im, "value", ONNX_ATTR_TENSOR, &s);
    if (!out || s != ST_OK || check_attributes(im, "value") != ST_OK || const_input(im, 0, "shape", &shape) != ST_OK)
        return out ? ST_ERROR : error_prefix(im->subject);
    if (shape->ndim != 1 || shape->count > TENSOR_MAX_DIMS)
        return node_fail(im, "the shape must be a 1-D tensor of at most %d values", TENSOR_MAX_DIMS);
    int64_t dims[TENSOR_MAX_DIMS];
    for (size_t k = 0; k < shape->count; k++)
        dims[k] = small_int(shape, k);
    double fill = 0;
    bool is_int = false;
    if (value && value->t) {
        symbol tmp = {.name = "value", .kind = SYM_TENSOR, .value = -1, .tensor = value->t};
        small_tensor *v;
        if (small_of(im, &tmp, &v) != ST_OK)
            return ST_ERROR;
        if (!v || v->count != 1)
            return node_fail(im, "attribute 'value' must hold one value");
        fill = v->v[0];
        is_int = v->is_int;
    }
    if (small_new(im->scratch, (int)shape->count, dims, is_int, out) != ST_OK)
        return node_fail_prefixed(im);
    for (size_t k = 0; k < out->count; k++)
        out->v[k] = fill;
    return define_output(im, SYM_SMALL, out, NULL);
}

static status import_shape(importer *im)
{
    int64_t start, end;
    symbol *x;
    if (check_attributes(im, "start end") != ST_OK || attr_int(im, "start", 0, &start) != ST_OK ||
        attr_int(im, "end", INT64_MAX, &end) != ST_OK || input_symbol(im, 0, &x) != ST_OK)
        return ST_ERROR;
    if (!x)
        return node_fail(im, "the input is missing");
    int nd;
    int64_t shape[TENSOR_MAX_DIMS];
    if (shape_of(im, x, &nd, shape) != ST_OK)
        return ST_ERROR;
    start = start < 0 ? start + nd : start;
    end = end < 0 ? end + nd : end;
    start = start < 0 ? 0 : start > nd ? nd : start;
    end = end < start ? start : end > nd ? nd : end;
    int64_t len = end - start;
    small_tensor *out = onnx_arena_alloc(im->scratch, 1, sizeof *out);
    if (!out || small_new(im->scratch, 1, &len, true, out) != ST_OK)
        return out ? node_fail_prefixed(im) : error_prefix(im->subject);
    for (int64_t k = 0; k < len; k++)
        out->v[k] = (double)shape[start + k];
    return define_output(im, SYM_SMALL, out, NULL);
}

/* Gather, Slice, Transpose and arithmetic on constants. */
static status import_fold_only(importer *im, const char *op)
{
    small_tensor *in[8], *out = onnx_arena_alloc(im->scratch, 1, sizeof *out);
    bool constant;
    if (!out)
        return error_prefix(im->subject);
    if (all_small(im, in, 8, &constant) != ST_OK)
        return ST_ERROR;
    if (!constant || im->node->ninputs < 1 || !in[0])
        return node_fail(im, "supported only on constants (shape computations), not on tensors computed at run time");
    status s;
    if (strcmp(op, "Gather") == 0) {
        int64_t axis;
        if (check_attributes(im, "axis") != ST_OK || attr_int(im, "axis", 0, &axis) != ST_OK)
            return ST_ERROR;
        if (im->node->ninputs < 2 || !in[1] || !in[1]->is_int)
            return node_fail(im, "the indices must be integers");
        s = fold_gather(im->scratch, in[0], in[1], axis, out);
    } else if (strcmp(op, "Transpose") == 0) {
        int64_t perm[TENSOR_MAX_DIMS];
        int n;
        if (check_attributes(im, "perm") != ST_OK || attr_ints(im, "perm", TENSOR_MAX_DIMS, &n, perm) != ST_OK)
            return ST_ERROR;
        s = fold_transpose(im->scratch, in[0], perm, n < 0 ? 0 : n, out);
    } else { /* Slice */
        int64_t starts[TENSOR_MAX_DIMS], ends[TENSOR_MAX_DIMS], axes[TENSOR_MAX_DIMS], steps[TENSOR_MAX_DIMS];
        int ns, ne, na = -1, nst = -1;
        if (im->opset < 10) {
            if (check_attributes(im, "starts ends axes") != ST_OK ||
                attr_ints(im, "starts", TENSOR_MAX_DIMS, &ns, starts) != ST_OK ||
                attr_ints(im, "ends", TENSOR_MAX_DIMS, &ne, ends) != ST_OK ||
                attr_ints(im, "axes", TENSOR_MAX_DIMS, &na, axes) != ST_OK)
                return ST_ERROR;
        } else if (check_attributes(im, "") != ST_OK ||
                   const_ints(im, 1, "starts", TENSOR_MAX_DIMS, &ns, starts) != ST_OK ||
                   const_ints(im, 2, "ends", TENSOR_MAX_DIMS, &ne, ends) != ST_OK ||
                   const_ints(im, 3, "axes", TENSOR_MAX_DIMS, &na, axes) != ST_OK ||
                   const_ints(im, 4, "steps", TENSOR_MAX_DIMS, &nst, steps) != ST_OK) {
            return ST_ERROR;
        }
        if (ns < 0 || ne != ns || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
            return node_fail(im, "starts, ends, axes and steps must have the same length");
        s = fold_slice(im->scratch, in[0], starts, ends, na >= 0 ? axes : NULL, nst >= 0 ? steps : NULL, ns, out);
    }
    if (s != ST_OK)
        return node_fail_prefixed(im);
    return define_output(im, SYM_SMALL, out, NULL);
}

/* Before opset 7, Add/Sub/Mul/Div broadcast only with broadcast=1, B's
 * dimensions lined up with A's starting at `axis` (default: the trailing
 * ones). B becomes numpy-broadcastable by a Reshape appending 1s:
 *   A [N, C, H, W], B [C], axis 1  →  B as [C, 1, 1]. */
static status import_legacy_broadcast(importer *im, op_kind op)
{
    int64_t broadcast, axis;
    if (attr_int(im, "broadcast", 0, &broadcast) != ST_OK || attr_int(im, "axis", INT64_MIN, &axis) != ST_OK)
        return ST_ERROR;
    if (im->node->ninputs != 2)
        return node_fail(im, "expects 2 inputs");
    symbol *a, *b;
    int na, nb;
    int64_t sa[TENSOR_MAX_DIMS], sb[TENSOR_MAX_DIMS];
    if (input_symbol(im, 0, &a) != ST_OK || input_symbol(im, 1, &b) != ST_OK)
        return ST_ERROR;
    if (!a || !b)
        return node_fail(im, "an input is missing");
    if (!broadcast || axis == INT64_MIN)
        return add_node_all_inputs(im, op, NULL); /* equal shapes, or a trailing alignment: numpy's */
    if (shape_of(im, a, &na, sa) != ST_OK || shape_of(im, b, &nb, sb) != ST_OK)
        return ST_ERROR;
    if (axis < 0)
        axis += na;
    if (axis < 0 || axis + nb > na)
        return node_fail(im, "broadcast axis %lld does not fit %d and %d dimensions", (long long)axis, na, nb);
    int64_t target[TENSOR_MAX_DIMS];
    int nt = (int)(na - axis);
    for (int d = 0; d < nt; d++)
        target[d] = d < nb ? sb[d] : 1;
    op_attrs r = op_attrs_default(OP_RESHAPE);
    r.reshape.ndim = nt;
    memcpy(r.reshape.shape, target, (size_t)nt * sizeof *target);
    char name[600];
    snprintf(name, sizeof name, "%s:broadcast", im->node->outputs[0]);
    int in[2], reshaped;
    if (value_of(im, a, &in[0]) != ST_OK || value_of(im, b, &in[1]) != ST_OK)
        return ST_ERROR;
    if (graph_add_node(im->g, OP_RESHAPE, name, &in[1], 1, &r, name, &reshaped) != ST_OK)
        return error_prefix(im->subject);
    in[1] = reshaped;
    int out;
    if (graph_add_node(im->g, op, im->node->name, in, 2, NULL, im->node->outputs[0], &out) != ST_OK)
        return error_prefix(im->subject);
    return define_value_output(im, out);
}

/* Ops the engine runs, folded here when all inputs are small constants. */
static status import_mixed(importer *im, op_kind op)
{
    small_tensor *in[64], *out = onnx_arena_alloc(im->scratch, 1, sizeof *out);
    bool constant;
    if (!out)
        return error_prefix(im->subject);
    if (all_small(im, in, 64, &constant) != ST_OK)
        return ST_ERROR;
    if (op == OP_CONCAT) {
        op_attrs a = op_attrs_default(OP_CONCAT);
        if (check_attributes(im, "axis") != ST_OK || attr_int(im, "axis", INT64_MIN, &a.concat.axis) != ST_OK)
            return ST_ERROR;
        if (a.concat.axis == INT64_MIN)
            return node_fail(im, "attribute 'axis' is required");
        if (!constant)
            return add_node_all_inputs(im, OP_CONCAT, &a);
        const small_tensor *list[64];
        for (int i = 0; i < im->node->ninputs; i++)
            if (!(list[i] = in[i]))
                return node_fail(im, "an input is missing");
        if (fold_concat(im->scratch, list, im->node->ninputs, a.concat.axis, out) != ST_OK)
            return node_fail_prefixed(im);
        return define_output(im, SYM_SMALL, out, NULL);
    }
    if (check_attributes(im, im->opset < 7 ? "broadcast axis" : "") != ST_OK)
        return ST_ERROR;
    if (im->opset < 7)
        return import_legacy_broadcast(im, op);
    if (!constant || im->node->ninputs != 2 || !in[0] || !in[1])
        return add_node_all_inputs(im, op, NULL);
    char sym = op == OP_ADD ? '+' : op == OP_SUB ? '-' : op == OP_MUL ? '*' : '/';
    if (fold_binary(im->scratch, sym, in[0], in[1], out) != ST_OK)
        return node_fail_prefixed(im);
    return define_output(im, SYM_SMALL, out, NULL);
}

static status import_node(importer *im)
{
    const onnx_node *n = im->node;
    const char *op = n->op_type;
    if (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
        return node_fail(im, "unsupported op (domain '%s')", n->domain);
    if (n->noutputs < 1 || !n->outputs[0][0])
        return node_fail(im, "no output");
    for (int i = 0; i < n->noutputs; i++)
        if (n->outputs[i][0] && *map_slot(&im->symbols, n->outputs[i]))
            return node_fail(im, "'%s' is defined twice", n->outputs[i]);
    for (int i = 0; i < n->nattributes; i++)
        if (n->attributes[i].ref_attr_name)
            return node_fail(im, "attribute references (functions) are not supported");
    op_attrs a;
    if (strcmp(op, "Conv") == 0)
        return import_conv(im);
    if (strcmp(op, "MaxPool") == 0)
        return import_pool(im, OP_MAX_POOL);
    if (strcmp(op, "AveragePool") == 0)
        return import_pool(im, OP_AVERAGE_POOL);
    if (strcmp(op, "Clip") == 0)
        return import_clip(im);
    if (strcmp(op, "Pad") == 0)
        return import_pad(im);
    if (strcmp(op, "Reshape") == 0)
        return import_reshape(im);
    if (strcmp(op, "Unsqueeze") == 0 || strcmp(op, "Squeeze") == 0)
        return import_squeeze(im, op[0] == 'U');
    if (strcmp(op, "Softmax") == 0)
        return import_softmax(im);
    if (strcmp(op, "BatchNormalization") == 0)
        return import_batch_norm(im);
    if (strcmp(op, "Dropout") == 0)
        return import_dropout(im);
    if (strcmp(op, "Identity") == 0)
        return check_attributes(im, "") != ST_OK ? ST_ERROR : import_identity_like(im);
    if (strcmp(op, "Cast") == 0)
        return import_cast(im);
    if (strcmp(op, "Constant") == 0)
        return import_constant(im);
    if (strcmp(op, "ConstantOfShape") == 0)
        return import_constant_of_shape(im);
    if (strcmp(op, "Shape") == 0)
        return import_shape(im);
    if (strcmp(op, "Gather") == 0 || strcmp(op, "Slice") == 0 || strcmp(op, "Transpose") == 0)
        return import_fold_only(im, op);
    if (strcmp(op, "Concat") == 0)
        return import_mixed(im, OP_CONCAT);
    if (strcmp(op, "Add") == 0 || strcmp(op, "Sub") == 0 || strcmp(op, "Mul") == 0 || strcmp(op, "Div") == 0)
        return import_mixed(im, (op_kind)op_from_name(op));
    if (strcmp(op, "LeakyRelu") == 0) {
        a = op_attrs_default(OP_LEAKY_RELU);
        if (check_attributes(im, "alpha") != ST_OK || attr_float(im, "alpha", 0.01f, &a.leaky_relu.alpha) != ST_OK)
            return ST_ERROR;
        return add_node(im, OP_LEAKY_RELU, (int[]){0}, 1, &a);
    }
    if (strcmp(op, "LRN") == 0) {
        a = op_attrs_default(OP_LRN);
        if (check_attributes(im, "size alpha beta bias") != ST_OK || attr_int(im, "size", 0, &a.lrn.size) != ST_OK ||
            attr_float(im, "alpha", 1e-4f, &a.lrn.alpha) != ST_OK || attr_float(im, "beta", 0.75f, &a.lrn.beta) != ST_OK ||
            attr_float(im, "bias", 1.0f, &a.lrn.bias) != ST_OK)
            return ST_ERROR;
        if (a.lrn.size < 1)
            return node_fail(im, "attribute 'size' must be positive");
        return add_node(im, OP_LRN, (int[]){0}, 1, &a);
    }
    if (strcmp(op, "Gemm") == 0) {
        a = op_attrs_default(OP_GEMM);
        int64_t ta, tb;
        if (check_attributes(im, "alpha beta transA transB broadcast") != ST_OK ||
            attr_float(im, "alpha", 1, &a.gemm.alpha) != ST_OK || attr_float(im, "beta", 1, &a.gemm.beta) != ST_OK ||
            attr_int(im, "transA", 0, &ta) != ST_OK || attr_int(im, "transB", 0, &tb) != ST_OK)
            return ST_ERROR;
        a.gemm.trans_a = ta != 0;
        a.gemm.trans_b = tb != 0;
        return add_node_all_inputs(im, OP_GEMM, &a);
    }
    if (strcmp(op, "Flatten") == 0) {
        a = op_attrs_default(OP_FLATTEN);
        if (check_attributes(im, "axis") != ST_OK || attr_int(im, "axis", 1, &a.flatten.axis) != ST_OK)
            return ST_ERROR;
        return add_node(im, OP_FLATTEN, (int[]){0}, 1, &a);
    }
    static const char *const simple[] = {"Relu", "Sigmoid", "Tanh", "GlobalAveragePool", "GlobalMaxPool",
                                         "MatMul", "Sum"};
    for (size_t i = 0; i < sizeof simple / sizeof *simple; i++)
        if (strcmp(op, simple[i]) == 0)
            return check_attributes(im, "") != ST_OK ? ST_ERROR : add_node_all_inputs(im, (op_kind)op_from_name(op), NULL);
    return node_fail(im, "unsupported op");
}

/* ===== the graph ============================================================ */

/* Inputs that must be constants, by op: bit i of `positions` is input i. */
static unsigned constant_positions(const char *op)
{
    static const struct {
        const char *op;
        unsigned positions;
    } table[] = {
        {"Reshape", 1u << 1},   {"Pad", 7u << 1},     {"Unsqueeze", 1u << 1}, {"Squeeze", 1u << 1},
        {"Slice", 15u << 1},    {"Dropout", 3u << 1}, {"ConstantOfShape", 1u}, {"Gather", 1u << 1},
    };
    for (size_t k = 0; k < sizeof table / sizeof *table; k++)
        if (strcmp(op, table[k].op) == 0)
            return table[k].positions;
    return 0;
}

static status note_use(importer *im, const char *name, bool need_constant)
{
    if (!name[0])
        return ST_OK;
    void **slot = map_slot(&im->usages, name);
    usage *u = *slot;
    if (!u) {
        if (!(u = onnx_arena_alloc(im->scratch, 1, sizeof *u)))
            return error_prefix(im->subject);
        u->name = name;
        *slot = u;
    }
    u->uses++;
    u->need_constant |= need_constant;
    return ST_OK;
}

/* Counts every name's readers and notes the ones read as constants. */
static status collect_usages(importer *im)
{
    const onnx_graph *g = &im->model->graph;
    for (int i = 0; i < g->nnodes; i++) {
        const onnx_node *n = &g->nodes[i];
        unsigned positions = constant_positions(n->op_type);
        for (int k = 0; k < n->ninputs; k++)
            if (note_use(im, n->inputs[k], k < 32 && ((positions >> k) & 1u)) != ST_OK)
                return ST_ERROR;
    }
    for (int i = 0; i < g->noutputs; i++)
        if (note_use(im, g->outputs[i].name, false) != ST_OK)
            return ST_ERROR;
    return ST_OK;
}

/* Graph inputs given values now (ONNX's node tests feed shapes and pads as
 * inputs): per non-initializer input, a tensor or NULL. */
typedef struct {
    const onnx_tensor *const *tensors;
    int count;
    int *model_inputs; /* out, per given input: the model input it became, or -1 */
    bool all_constant; /* every given input is a constant (the model may keep no input) */
} input_bindings;

static status add_inputs(importer *im, const input_bindings *b)
{
    const onnx_graph *g = &im->model->graph;
    for (int i = 0, k = 0; i < g->ninputs; i++) {
        const onnx_value_info *v = &g->inputs[i];
        symbol *s = *map_slot(&im->symbols, v->name);
        if (s && s->kind == SYM_TENSOR)
            continue; /* an initializer (IR < 4 lists them among the inputs too) */
        const onnx_tensor *given = b && k < b->count ? b->tensors[k] : NULL;
        int *became = b && b->model_inputs && k < b->count ? &b->model_inputs[k] : NULL;
        k++;
        if (became)
            *became = -1;
        bool is_float = v->elem_type == ONNX_FLOAT || v->elem_type == ONNX_UNDEFINED;
        if (given && (b->all_constant || !is_float || usage_of(im, v->name)->need_constant)) {
            if (define(im, v->name, SYM_TENSOR, &s) != ST_OK)
                return ST_ERROR;
            s->tensor = given;
            continue;
        }
        if (!v->is_tensor || !is_float)
            return error_set(im->subject, "input '%s' has type %s; synth feeds float tensors only", v->name,
                             v->is_tensor ? onnx_dtype_name(v->elem_type) : "non-tensor");
        if (!v->has_shape)
            return error_set(im->subject, "input '%s' declares no shape", v->name);
        if (v->rank > TENSOR_MAX_DIMS)
            return error_set(im->subject, "input '%s' has %d dimensions (at most %d)", v->name, v->rank,
                             TENSOR_MAX_DIMS);
        int64_t shape[TENSOR_MAX_DIMS];
        for (int d = 0; d < v->rank; d++)
            shape[d] = d == 0 && v->dims[d] < 0 ? 1 : v->dims[d]; /* a free batch is 1 */
        int id;
        if (graph_add_input(im->g, v->name, v->rank, shape, &id) != ST_OK)
            return error_prefix(im->subject);
        if (define(im, v->name, SYM_VALUE, &s) != ST_OK)
            return ST_ERROR;
        s->value = id;
        if (became)
            *became = im->g->ninputs - 1;
    }
    return ST_OK;
}

/* Declared outputs become graph outputs; one that is not a node's output (an
 * input or a constant passed through) gets an Identity node, so that every
 * output is a layer. */
static status mark_outputs(importer *im)
{
    const onnx_graph *og = &im->model->graph;
    for (int i = 0; i < og->noutputs; i++) {
        const char *name = og->outputs[i].name;
        symbol *s = lookup(im, name);
        if (!s)
            return error_set(im->subject, "output '%s' is not computed by any node", name);
        int value;
        onnx_node fake = {.name = "", .op_type = "output", .domain = "", .noutputs = 1, .outputs = &name};
        im->node = &fake;
        if (value_of(im, s, &value) != ST_OK)
            return ST_ERROR;
        if (im->g->values[value].kind != VALUE_NODE) {
            char out_name[600];
            snprintf(out_name, sizeof out_name, "%s (output)", name);
            if (graph_add_node(im->g, OP_IDENTITY, out_name, &value, 1, NULL, out_name, &value) != ST_OK)
                return error_prefix(im->subject);
        }
        if (graph_mark_output(im->g, value) != ST_OK)
            return error_prefix(im->subject);
    }
    im->node = NULL;
    return ST_OK;
}

static status import_graph(importer *im, const input_bindings *b)
{
    const onnx_graph *og = &im->model->graph;
    if (og->nsparse_initializers)
        return error_set(im->subject, "sparse initializers are not supported");
    if (og->nnodes == 0)
        return error_set(im->subject, "the graph has no nodes");
    size_t names = (size_t)og->ninitializers + (size_t)og->ninputs + (size_t)og->noutputs + 16;
    for (int i = 0; i < og->nnodes; i++)
        names += (size_t)og->nodes[i].noutputs + (size_t)og->nodes[i].ninputs;
    if (map_init(im->scratch, &im->symbols, names) != ST_OK || map_init(im->scratch, &im->usages, names) != ST_OK)
        return error_prefix(im->subject);
    if (collect_usages(im) != ST_OK)
        return ST_ERROR;
    for (int i = 0; i < og->ninitializers; i++) {
        const onnx_tensor *t = &og->initializers[i];
        symbol *s;
        if (!t->name[0])
            return error_set(im->subject, "an initializer has no name");
        if (define(im, t->name, SYM_TENSOR, &s) != ST_OK)
            return ST_ERROR;
        s->tensor = t;
    }
    if (add_inputs(im, b) != ST_OK)
        return ST_ERROR;
    if (im->g->ninputs == 0 && !(b && b->all_constant))
        return error_set(im->subject, "the model has no float input");
    for (int i = 0; i < og->nnodes; i++) {
        im->node = &og->nodes[i];
        if (import_node(im) != ST_OK)
            return ST_ERROR;
        if (interrupt_signal) {
            error_set(im->subject, "interrupted");
            return ST_INTERRUPTED;
        }
    }
    im->node = NULL;
    if (og->noutputs == 0)
        return error_set(im->subject, "the graph declares no outputs");
    return mark_outputs(im);
}

/* ===== opening ================================================================ */

/* The registry entry a cached file belongs to: NAME.onnx in the cache folder
 * with NAME in the registry. */
static const model_entry *registry_entry_of(const char *name) { return model_registry_find(name); }

/* Decodes src's bytes and builds the model; takes ownership of src. */
static status import_source_into_model(import_source *src, const char *subject, const char *model_name,
                                       const input_bindings *b, net_model **out)
{
    *out = NULL;
    onnx_model *model = onnx_arena_alloc(src->arena, 1, sizeof *model);
    importer im = {.subject = subject, .src = src, .model = model};
    status s = ST_OK;
    if (!model) {
        s = error_prefix(subject);
    } else {
        onnx_arena_set_limit(src->arena, ONNX_DECODE_BUDGET(src->file.len));
        s = onnx_decode_model((pb_slice){src->file.data, src->file.len}, subject, src->arena, model);
    }
    if (s == ST_OK) {
        im.opset = onnx_model_opset(model);
        if (im.opset == 0)
            s = error_set(subject, "the model imports no opset of the default ONNX domain");
    }
    if (s == ST_OK && !(im.scratch = onnx_arena_new()))
        s = error_prefix(subject);
    if (s == ST_OK)
        onnx_arena_set_limit(im.scratch, ONNX_IMPORT_BUDGET(src->file.len));
    if (s == ST_OK)
        s = graph_create(&im.g);
    if (s != ST_OK) {
        onnx_arena_free(im.scratch);
        source_free(src);
        return s;
    }
    im.g->free_fill_ctx = source_free;
    s = import_graph(&im, b);
    onnx_arena_free(im.scratch);
    /* The graph owns src from here when it holds a lazy constant of it. */
    bool owned = false;
    for (int v = 0; v < im.g->nvalues && !owned; v++)
        owned = im.g->values[v].fill_ctx == src;
    if (!owned)
        source_free(src);
    if (s != ST_OK) {
        graph_free(im.g);
        return s;
    }
    if (model_from_graph(im.g, model_name, out) != ST_OK)
        return error_prefix(subject);
    return ST_OK;
}

static status open_file_source(const char *path, import_source **out)
{
    *out = NULL;
    import_source *src = alloc_array(1, sizeof *src, path);
    if (!src)
        return ST_ERROR;
    if (!(src->path = string_dup(path)) || !(src->arena = onnx_arena_new())) {
        source_free(src);
        return error_prefix(path);
    }
    if (onnx_file_map(path, &src->file) != ST_OK) {
        source_free(src);
        return ST_ERROR;
    }
    *out = src;
    return ST_OK;
}

/* "models/vgg19.onnx" → "vgg19" */
static void stem_of(const char *path, char *buf, size_t size)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(buf, size, "%s", base);
    size_t n = strlen(buf);
    if (n > 5 && strcmp(buf + n - 5, ".onnx") == 0)
        buf[n - 5] = '\0';
}

/* Preprocessing and labels of a registry model. */
static status apply_registry(net_model *m, const model_entry *e)
{
    m->pre = e->pre;
    if (!e->imagenet)
        return ST_OK;
    m->labels = alloc_array(IMAGENET_CLASSES, sizeof *m->labels, "labels");
    if (!m->labels)
        return ST_ERROR;
    for (int i = 0; i < IMAGENET_CLASSES; i++) {
        if (!(m->labels[i] = string_dup(imagenet_class_name(i))))
            return ST_ERROR;
        m->nlabels = i + 1;
    }
    return ST_OK;
}

static status open_onnx_with(const char *path, const char *const *input_pb_paths, int ninputs, int *model_inputs,
                             bool all_constant, net_model **out)
{
    *out = NULL;
    import_source *src;
    if (open_file_source(path, &src) != ST_OK)
        return ST_ERROR;
    /* Decode the given tensors into src's arena: they live as long as src. */
    const onnx_tensor **given = NULL;
    onnx_file *files = NULL;
    status s = ST_OK;
    if (ninputs > 0) {
        given = alloc_array((size_t)ninputs, sizeof *given, path);
        files = alloc_array((size_t)ninputs, sizeof *files, path);
        if (!given || !files)
            s = ST_ERROR;
    }
    for (int k = 0; s == ST_OK && k < ninputs; k++) {
        if (!input_pb_paths[k])
            continue;
        onnx_tensor *t = onnx_arena_alloc(src->arena, 1, sizeof *t);
        if (!t || onnx_file_map(input_pb_paths[k], &files[k]) != ST_OK) {
            s = ST_ERROR;
            break;
        }
        /* the payload must outlive the mapping: copy it into the arena */
        uint8_t *copy = onnx_arena_alloc(src->arena, files[k].len, 1);
        if (!copy) {
            s = error_prefix(input_pb_paths[k]);
            break;
        }
        memcpy(copy, files[k].data, files[k].len);
        s = onnx_decode_tensor((pb_slice){copy, files[k].len}, input_pb_paths[k], src->arena, t);
        given[k] = t;
    }
    for (int k = 0; files && k < ninputs; k++)
        onnx_file_unmap(&files[k]);
    free(files);
    if (s != ST_OK) {
        free(given);
        source_free(src);
        return ST_ERROR;
    }
    char name[256];
    stem_of(path, name, sizeof name);
    input_bindings b = {given, ninputs, model_inputs, all_constant};
    s = import_source_into_model(src, path, name, &b, out);
    free(given);
    return s;
}

status net_model_open_onnx(const char *path, const char *const *input_pb_paths, int ninputs, int *model_inputs,
                           net_model **out)
{
    return open_onnx_with(path, input_pb_paths, ninputs, model_inputs, false, out);
}

status net_model_open_onnx_constants(const char *path, const char *const *input_pb_paths, int ninputs,
                                     net_model **out)
{
    return open_onnx_with(path, input_pb_paths, ninputs, NULL, true, out);
}

status net_model_open_buffer(const void *data, size_t len, const char *name, net_model **out)
{
    *out = NULL;
    import_source *src = alloc_array(1, sizeof *src, name);
    if (!src)
        return ST_ERROR;
    src->file.data = malloc(len ? len : 1);
    src->file.len = len;
    if (!src->file.data || !(src->arena = onnx_arena_new())) {
        source_free(src);
        return error_set(name, "out of memory");
    }
    if (len)
        memcpy(src->file.data, data, len);
    return import_source_into_model(src, name, name, NULL, out);
}

status model_open_external(const char *spec, net_model **out)
{
    *out = NULL;
    /* A path when it has a '/' or ends in .onnx; else a name in the cache,
     * else a file of that name in the current folder. */
    size_t n = strlen(spec);
    bool path_like = strchr(spec, '/') || (n > 5 && strcmp(spec + n - 5, ".onnx") == 0);
    char path[4096], name[256];
    const model_entry *entry = NULL;
    struct stat st;
    if (path_like) {
        snprintf(path, sizeof path, "%s", spec);
        stem_of(spec, name, sizeof name);
    } else {
        snprintf(name, sizeof name, "%s", spec);
        entry = registry_entry_of(spec);
        bool cached = model_name_valid(spec) && model_cache_path(spec, path, sizeof path) == ST_OK &&
                      stat(path, &st) == 0;
        if (!cached) {
            if (entry)
                return error_set(spec, "not downloaded yet: run 'synth model fetch %s' (%.0f MB)", spec,
                                 (double)entry->bytes / 1e6);
            if (stat(spec, &st) != 0)
                return error_set(spec, "no such model (not a file, not in the cache: see 'synth model list')");
            snprintf(path, sizeof path, "%s", spec);
        }
    }
    import_source *src;
    if (open_file_source(path, &src) != ST_OK)
        return ST_ERROR;
    if (import_source_into_model(src, path, name, NULL, out) != ST_OK)
        return ST_ERROR;
    if (entry && apply_registry(*out, entry) != ST_OK) {
        net_model_close(*out);
        *out = NULL;
        return error_prefix(spec);
    }
    return ST_OK;
}

/* A TensorProto in `buf` as a float tensor; external data is resolved next
 * to `path` (NULL: refused). */
static status pb_to_tensor(pb_slice buf, const char *path, const char *subject, tensor *out)
{
    memset(out, 0, sizeof *out);
    onnx_arena *a = onnx_arena_new();
    onnx_tensor t;
    status s = a ? onnx_decode_tensor(buf, subject, a, &t) : error_prefix(subject);
    if (s == ST_OK && (s = onnx_tensor_check(&t, path, subject)) == ST_OK) {
        if (t.rank > TENSOR_MAX_DIMS)
            s = error_set(subject, "%d dimensions (at most %d)", t.rank, TENSOR_MAX_DIMS);
        else if ((s = tensor_alloc(out, t.rank, t.dims)) != ST_OK)
            error_prefix(subject);
        else if ((s = onnx_tensor_read_float(&t, path, subject, out->data)) != ST_OK)
            tensor_free(out);
    }
    onnx_arena_free(a);
    return s;
}

status tensor_read_pb(const char *path, tensor *out)
{
    memset(out, 0, sizeof *out);
    onnx_file file;
    if (onnx_file_map(path, &file) != ST_OK)
        return ST_ERROR;
    status s = pb_to_tensor((pb_slice){file.data, file.len}, path, path, out);
    onnx_file_unmap(&file);
    return s;
}

status tensor_decode_pb(const void *bytes, size_t n, const char *name, tensor *out)
{
    return pb_to_tensor((pb_slice){bytes, n}, NULL, name, out);
}
