/* Models: a finalized graph plus preprocessing and labels, opened by name;
 * and everything the public API says about layers (names, aliases, shapes
 * at a given input size, receptive fields, conv weights). */
#include "net/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Shapes of every value at one input size; nodes whose shape fails keep the
 * message (and pass it downstream). */
struct model_shapes {
    int64_t height, width;
    nd_shape *values;
    window_geom *geo; /* per node */
    char **errors; /* per node: NULL, or why its shape is unknown */
};

static void shapes_free(graph *g, struct model_shapes *s)
{
    if (!s)
        return;
    for (int i = 0; s->errors && i < g->nnodes; i++)
        free(s->errors[i]);
    free(s->errors);
    free(s->values);
    free(s->geo);
    free(s);
}

void net_model_close(net_model *m)
{
    if (!m)
        return;
    if (m->g) {
        shapes_free(m->g, m->shapes);
        for (int i = 0; m->layer_names && i < m->g->nnodes; i++)
            free(m->layer_names[i]);
    }
    free(m->layer_names);
    for (int i = 0; i < m->nlabels; i++)
        free(m->labels[i]);
    free(m->labels);
    free(m->name);
    graph_free(m->g);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

status model_from_graph(graph *g, const char *name, net_model **out)
{
    *out = NULL;
    if (graph_finalize(g) != ST_OK) {
        graph_free(g);
        return ST_ERROR;
    }
    net_model *m = alloc_array(1, sizeof *m, "model");
    if (!m) {
        graph_free(g);
        return ST_ERROR;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->g = g;
    m->name = string_dup(name);
    m->layer_names =
        alloc_array((size_t)(g->nnodes ? g->nnodes : 1), sizeof *m->layer_names, "model");
    if (!m->name || !m->layer_names) {
        net_model_close(m);
        return ST_ERROR;
    }
    m->pre.scale = 1.0f;
    for (int c = 0; c < 3; c++)
        m->pre.std[c] = 1.0f;
    /* A layer is shown by its node's name when that is given and unique, else
     * by its output's name (always unique). */
    name_index names = {0};
    bool *shared = alloc_array((size_t)(g->nnodes ? g->nnodes : 1), sizeof *shared, "model");
    status s = shared ? graph_node_names(g->nodes, g->nnodes, &names, shared) : ST_ERROR;
    for (int i = 0; s == ST_OK && i < g->nnodes; i++) {
        const char *nn = g->nodes[i].name;
        bool unique = *nn != '\0' && !shared[i];
        m->layer_names[i] = string_dup(unique ? nn : g->values[g->nodes[i].output].name);
        if (!m->layer_names[i])
            s = ST_ERROR;
    }
    name_index_free(&names);
    free(shared);
    if (s != ST_OK) {
        net_model_close(m);
        return ST_ERROR;
    }
    *out = m;
    return ST_OK;
}

status net_model_open(const char *spec, net_model **out)
{
    *out = NULL;
    if (!spec || !*spec)
        return error_set("--model", "empty model name");
    if (strcmp(spec, "default") != 0)
        return model_open_external(spec, out);
    graph *g;
    if (builtin_vgg_graph(&g) != ST_OK || model_from_graph(g, "default", out) != ST_OK)
        return error_prefix("default");
    /* torchvision's VGG preprocessing: RGB in 0..1, ImageNet mean and std. */
    net_preprocess pre = {1.0f, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}, false};
    (*out)->pre = pre;
    (*out)->builtin = true;
    return ST_OK;
}

const char *net_model_name(const net_model *m) { return m->name; }
bool net_model_is_builtin(const net_model *m) { return m->builtin; }
const net_preprocess *net_model_preprocess(const net_model *m) { return &m->pre; }
void net_model_set_preprocess(net_model *m, const net_preprocess *p) { m->pre = *p; }
int net_model_label_count(const net_model *m) { return m->nlabels; }

const char *net_model_label(const net_model *m, int index)
{
    return index >= 0 && index < m->nlabels ? m->labels[index] : NULL;
}

int64_t net_model_param_count(const net_model *m)
{
    const graph *g = m->g;
    bool *used = alloc_array((size_t)(g->nvalues ? g->nvalues : 1), sizeof *used, "model");
    if (!used)
        return -1;
    for (int i = 0; i < g->nnodes; i++) /* folded-away constants do not count */
        for (int k = 0; k < g->nodes[i].ninputs; k++)
            if (g->nodes[i].inputs[k] >= 0)
                used[g->nodes[i].inputs[k]] = true;
    int64_t total = 0;
    for (int v = 0; v < g->nvalues; v++)
        if (g->values[v].kind == VALUE_CONSTANT && used[v])
            total += (int64_t)shape_numel(g->values[v].ndim, g->values[v].shape);
    free(used);
    return total;
}

int net_model_input_count(const net_model *m) { return m->g->ninputs; }

const char *net_model_input_name(const net_model *m, int input)
{
    return input >= 0 && input < m->g->ninputs ? m->g->values[m->g->inputs[input]].name : NULL;
}

void net_model_input_shape(const net_model *m, int input, int *ndim, int64_t shape[TENSOR_MAX_DIMS])
{
    const graph_value *v = &m->g->values[m->g->inputs[input]];
    *ndim = v->ndim;
    memcpy(shape, v->shape, sizeof v->shape);
}

int net_model_output_count(const net_model *m)
{
    int n = 0;
    for (int i = 0; i < m->g->noutputs; i++)
        n += net_model_output_layer(m, i) >= 0;
    return n;
}

int net_model_output_layer(const net_model *m, int output)
{
    /* Outputs that are node outputs, in declaration order. */
    const graph *g = m->g;
    for (int i = 0, k = 0; i < g->noutputs; i++) {
        const graph_value *v = &g->values[g->outputs[i]];
        if (v->kind != VALUE_NODE || v->node < 0)
            continue;
        if (k++ == output)
            return v->node;
    }
    return -1;
}

int net_layer_count(const net_model *m) { return m->g->nnodes; }

/* The torch.onnx scope path of PyTorch module `name` ("features.22" →
 * "/features/features.22/", "inception4c.branch3.1" →
 * "/inception4c/branch3/branch3.1/"): each component a segment, a numeric
 * component joined to the one before it. False when `name` is not a module
 * name or the path does not fit. */
static bool module_scope(const char *name, char *path, size_t size)
{
    if (!*name || strchr(name, '/') || name[0] == '.')
        return false;
    size_t len = 0;
    const char *prev = NULL, *c = name;
    while (*c) {
        const char *end = strchr(c, '.');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (n == 0)
            return false;
        bool numeric = strspn(c, "0123456789") >= n;
        int w = numeric && prev ? snprintf(path + len, size - len, "/%.*s.%.*s", (int)(c - 1 - prev), prev, (int)n, c)
                                : snprintf(path + len, size - len, "/%.*s", (int)n, c);
        if (w < 0 || (size_t)w >= size - len)
            return false;
        len += (size_t)w;
        prev = c;
        c = end ? end + 1 : c + n;
        if (end && !*c)
            return false; /* a trailing '.' */
    }
    if (len + 2 > size)
        return false;
    path[len] = '/', path[len + 1] = '\0';
    return true;
}

status net_layer_find(const net_model *m, const char *name, int *layer)
{
    const graph *g = m->g;
    for (int pass = 0; pass < 2; pass++) /* names first, then aliases */
        for (int i = 0; i < g->nnodes; i++) {
            const graph_node *n = &g->nodes[i];
            bool hit = pass == 0
                           ? strcmp(m->layer_names[i], name) == 0 || strcmp(n->name, name) == 0 ||
                                 strcmp(g->values[n->output].name, name) == 0
                           : n->alias && strcmp(n->alias, name) == 0;
            if (hit) {
                *layer = i;
                return ST_OK;
            }
        }
    char scope[512];
    if (module_scope(name, scope, sizeof scope)) {
        /* Nodes are in topological order: the module's output comes after
         * every other node of its scope. */
        size_t n = strlen(scope);
        int last = -1;
        for (int i = 0; i < g->nnodes; i++)
            if (strncmp(g->nodes[i].name, scope, n) == 0)
                last = i;
        if (last >= 0) {
            *layer = last;
            return ST_OK;
        }
    }
    return error_set(name, "no such layer in model '%s' (see: synth info --model %s)", m->name,
                     m->name);
}

const char *net_layer_name(const net_model *m, int layer) { return m->layer_names[layer]; }
const char *net_layer_alias(const net_model *m, int layer) { return m->g->nodes[layer].alias; }
const char *net_layer_op(const net_model *m, int layer) { return op_name(m->g->nodes[layer].op); }

int net_layer_input_count(const net_model *m, int layer) { return m->g->nodes[layer].ninputs; }

int net_layer_input(const net_model *m, int layer, int k)
{
    const graph_node *n = &m->g->nodes[layer];
    if (k < 0 || k >= n->ninputs || n->inputs[k] < 0)
        return -1;
    const graph_value *v = &m->g->values[n->inputs[k]];
    return v->kind == VALUE_NODE ? v->node : -1;
}

int net_model_last_conv(const net_model *m)
{
    for (int i = m->g->nnodes - 1; i >= 0; i--)
        if (m->g->nodes[i].op == OP_CONV)
            return i;
    return -1;
}

/* ---- shapes at a given input size ------------------------------------------------ */

/* Computes (or reuses) every value's shape with input 0 at N = 1 and H × W
 * (<= 0: as declared). Called with m->lock held. */
static status compute_shapes(net_model *m, int64_t height, int64_t width, struct model_shapes **out)
{
    graph *g = m->g;
    if (m->shapes && m->shapes->height == height && m->shapes->width == width) {
        *out = m->shapes;
        return ST_OK;
    }
    struct model_shapes *s = alloc_array(1, sizeof *s, "model");
    if (!s)
        return ST_ERROR;
    s->height = height;
    s->width = width;
    s->values = alloc_array((size_t)g->nvalues, sizeof *s->values, "model");
    s->geo = alloc_array((size_t)(g->nnodes ? g->nnodes : 1), sizeof *s->geo, "model");
    s->errors = alloc_array((size_t)(g->nnodes ? g->nnodes : 1), sizeof *s->errors, "model");
    if (!s->values || !s->geo || !s->errors) {
        shapes_free(g, s);
        return ST_ERROR;
    }
    for (int v = 0; v < g->nvalues; v++) {
        const graph_value *gv = &g->values[v];
        s->values[v].ndim = gv->kind == VALUE_NODE ? -1 : gv->ndim;
        memcpy(s->values[v].d, gv->shape, sizeof s->values[v].d);
        if (gv->kind != VALUE_INPUT)
            continue;
        nd_shape *in = &s->values[v];
        if (in->ndim >= 1)
            in->d[0] = in->d[0] > 0 && v != g->inputs[0] ? in->d[0] : 1;
        if (v == g->inputs[0] && in->ndim >= 3 && height > 0 && width > 0) {
            in->d[in->ndim - 2] = height;
            in->d[in->ndim - 1] = width;
        }
        for (int d = 0; d < in->ndim; d++)
            if (in->d[d] < 0)
                in->ndim = -1; /* a free dim nobody fixed */
    }
    nd_shape ins[64];
    for (int i = 0; i < g->nnodes; i++) {
        const graph_node *n = &g->nodes[i];
        const char *upstream = NULL;
        int nin = n->ninputs < 64 ? n->ninputs : 64;
        for (int k = 0; k < nin; k++) {
            int v = n->inputs[k];
            ins[k].ndim = -1;
            if (v < 0)
                continue;
            ins[k] = s->values[v];
            if (s->values[v].ndim < 0)
                upstream = g->values[v].kind == VALUE_NODE
                               ? s->errors[g->values[v].node]
                               : "the input size is unknown (give a size)";
        }
        if (upstream) {
            s->errors[i] = string_dup(upstream);
        } else if (op_infer(n, ins, &s->values[n->output], &s->geo[i]) != ST_OK) {
            error_prefix(m->layer_names[i]);
            s->errors[i] = string_dup(error_message());
            s->values[n->output].ndim = -1;
        }
    }
    shapes_free(g, m->shapes);
    m->shapes = s;
    *out = s;
    return ST_OK;
}

status net_layer_shape(net_model *m, int layer, int64_t height, int64_t width, int *ndim,
                       int64_t shape[TENSOR_MAX_DIMS])
{
    if (layer < 0 || layer >= m->g->nnodes)
        return error_set("layer", "no layer %d", layer);
    pthread_mutex_lock(&m->lock);
    struct model_shapes *s;
    status st = compute_shapes(m, height, width, &s);
    if (st == ST_OK) {
        const nd_shape *v = &s->values[m->g->nodes[layer].output];
        if (v->ndim < 0) {
            st = error_set(NULL, "%s", s->errors[layer] ? s->errors[layer] : "shape unknown");
        } else {
            *ndim = v->ndim;
            memcpy(shape, v->d, sizeof v->d);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return st;
}

/* ---- receptive fields ------------------------------------------------------------- */

typedef struct {
    bool known;
    double size[2], stride[2], offset[2];
} field;

status net_layer_receptive_field(const net_model *m, int layer, net_receptive_field *rf)
{
    graph *g = m->g;
    if (layer < 0 || layer >= g->nnodes)
        return error_set("layer", "no layer %d", layer);
    if (g->ninputs == 0)
        return error_set("layer", "the model has no input");
    pthread_mutex_lock(&((net_model *)m)->lock);
    /* The geometry does not depend on the input size (only global layers'
     * extent does): a model whose size is free is measured at 1024 x 1024. */
    const graph_value *declared = &g->values[g->inputs[0]];
    int64_t size = declared->ndim >= 3 && (declared->shape[declared->ndim - 2] < 0 ||
                                           declared->shape[declared->ndim - 1] < 0) ? 1024 : 0;
    struct model_shapes *s;
    status st = compute_shapes((net_model *)m, size, size, &s);
    field *f = st == ST_OK ? alloc_array((size_t)g->nvalues, sizeof *f, "model") : NULL;
    if (!f) {
        pthread_mutex_unlock(&((net_model *)m)->lock);
        return ST_ERROR;
    }
    const nd_shape *in0 = &s->values[g->inputs[0]];
    /* The input's spatial extent, for layers that see all of it. */
    double extent[2] = {1, 1};
    if (in0->ndim == 4)
        extent[0] = (double)in0->d[2];
    if (in0->ndim == 3 || in0->ndim == 4)
        extent[1] = (double)in0->d[in0->ndim - 1];
    f[g->inputs[0]] = (field){true, {1, 1}, {1, 1}, {0, 0}};
    for (int i = 0; i <= layer; i++) {
        const graph_node *n = &g->nodes[i];
        field out = {false, {0, 0}, {1, 1}, {0, 0}};
        for (int k = 0; k < n->ninputs; k++) { /* the widest input field */
            int v = n->inputs[k];
            if (v >= 0 && f[v].known &&
                (!out.known || f[v].size[0] * f[v].size[1] > out.size[0] * out.size[1]))
                out = f[v];
        }
        if (out.known) {
            const window_geom *geo = &s->geo[i];
            bool window = (n->op == OP_CONV || n->op == OP_MAX_POOL || n->op == OP_AVERAGE_POOL) &&
                          !s->errors[i];
            bool global = n->op == OP_GLOBAL_AVERAGE_POOL || n->op == OP_GLOBAL_MAX_POOL ||
                          n->op == OP_FLATTEN || n->op == OP_RESHAPE || n->op == OP_GEMM ||
                          n->op == OP_MATMUL;
            for (int a = 0; a < 2 && window; a++) {
                int ax = a + 1; /* geometry index: H = 1, W = 2 */
                double e = (double)((geo->kernel[ax] - 1) * geo->dilation[ax] + 1);
                out.offset[a] += ((e - 1) / 2 - (double)geo->pad_begin[ax]) * out.stride[a];
                out.size[a] += (e - 1) * out.stride[a];
                out.stride[a] *= (double)geo->stride[ax];
            }
            if (n->op == OP_PAD) {
                int r = n->attrs.pad.npads / 2;
                for (int a = 0; a < 2 && r >= 2; a++)
                    out.offset[a] -= (double)n->attrs.pad.pads[r - 2 + a] * out.stride[a];
            }
            if (global)
                for (int a = 0; a < 2; a++) {
                    out.size[a] = extent[a];
                    out.stride[a] = extent[a];
                    out.offset[a] = (extent[a] - 1) / 2;
                }
        }
        f[n->output] = out;
    }
    const field *r = &f[g->nodes[layer].output];
    for (int a = 0; a < 2; a++) {
        rf->size[a] = (int64_t)r->size[a];
        rf->stride[a] = (int64_t)r->stride[a];
        rf->offset[a] = r->offset[a];
    }
    bool known = r->known;
    free(f);
    pthread_mutex_unlock(&((net_model *)m)->lock);
    if (!known)
        return error_set(m->layer_names[layer], "does not depend on the input image");
    return ST_OK;
}

status net_layer_weights(net_model *m, int layer, const tensor **weights)
{
    if (layer < 0 || layer >= m->g->nnodes)
        return error_set("layer", "no layer %d", layer);
    const graph_node *n = &m->g->nodes[layer];
    if (n->op != OP_CONV)
        return error_set(m->layer_names[layer], "is a %s layer, not a convolution", op_name(n->op));
    if (m->g->values[n->inputs[1]].kind != VALUE_CONSTANT)
        return error_set(m->layer_names[layer], "its weights are not constant");
    return graph_constant(m->g, n->inputs[1], weights);
}
