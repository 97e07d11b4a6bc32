/* onnx_export.c — any loaded network (the built-in one included) written as
 * an ONNX file (opset 13, IR version 7) that other tools load: nodes keep
 * their names and their outputs the layer names (conv1_1, relu1_1, ...);
 * constants become float initializers named as in the graph. What the graph
 * folded at load (BatchNorm into Conv, constant subgraphs) stays folded.
 *
 * Opset-13 forms: Clip bounds, Pad's pads and value, and Reshape's target are
 * initializer inputs named "<node output>:min", ":max", ":pads", ":value",
 * ":shape". A Softmax imported from opset < 13 (which coerced its input to
 * 2-D at `axis`) becomes Flatten(axis) → Softmax(axis = 1) → Reshape back to
 * Shape(input), the same function at any input size.
 */
#include "net/onnx_proto.h"
#include "net/graph.h"

#include <math.h>
#include <string.h>

enum { EXPORT_OPSET = 13, EXPORT_IR_VERSION = 7 };

/* ONNX field numbers used here (onnx.proto). */
enum {
    MODEL_IR_VERSION = 1, MODEL_PRODUCER_NAME = 2, MODEL_PRODUCER_VERSION = 3, MODEL_GRAPH = 7,
    MODEL_OPSET_IMPORT = 8,
    GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12,
    NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP_TYPE = 4, NODE_ATTRIBUTE = 5,
    ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_S = 4, ATTR_INTS = 8, ATTR_TYPE = 20,
    TENSOR_DIMS = 1, TENSOR_DATA_TYPE = 2, TENSOR_NAME = 8, TENSOR_RAW_DATA = 9,
};

typedef struct {
    const graph *g;
    const net_model *m;
} export_ctx;

/* ---- small writers --------------------------------------------------------- */

typedef struct {
    const char *name;
    int type; /* ONNX_ATTR_INT, _FLOAT, _STRING, _INTS */
    int64_t i;
    float f;
    const char *s;
    const int64_t *ints;
    int nints;
} attr;

static void write_attr(pb_writer *w, const void *ctx)
{
    const attr *a = ctx;
    pb_put_string_field(w, ATTR_NAME, a->name);
    if (a->type == ONNX_ATTR_FLOAT)
        pb_put_float_field(w, ATTR_F, a->f);
    else if (a->type == ONNX_ATTR_INT)
        pb_put_int64_field(w, ATTR_I, a->i);
    else if (a->type == ONNX_ATTR_STRING)
        pb_put_string_field(w, ATTR_S, a->s);
    else
        pb_put_packed_int64(w, ATTR_INTS, a->ints, (size_t)a->nints);
    pb_put_varint_field(w, ATTR_TYPE, (uint64_t)a->type);
}

/* An ONNX node as written: op, name, inputs and outputs by name, attributes. */
typedef struct {
    const char *op, *name;
    const char *inputs[64];
    int ninputs;
    const char *output;
    attr attrs[8];
    int nattrs;
    int64_t strides[GRAPH_MAX_SPATIAL], dilations[GRAPH_MAX_SPATIAL]; /* storage for attrs */
} onnx_out_node;

static void write_node(pb_writer *w, const void *ctx)
{
    const onnx_out_node *n = ctx;
    for (int k = 0; k < n->ninputs; k++)
        pb_put_string_field(w, NODE_INPUT, n->inputs[k]);
    pb_put_string_field(w, NODE_OUTPUT, n->output);
    if (n->name[0])
        pb_put_string_field(w, NODE_NAME, n->name);
    pb_put_string_field(w, NODE_OP_TYPE, n->op);
    for (int k = 0; k < n->nattrs; k++)
        pb_put_message_field(w, NODE_ATTRIBUTE, write_attr, &n->attrs[k]);
}

static void add_attr(onnx_out_node *n, attr a) { n->attrs[n->nattrs++] = a; }

static void add_ints(onnx_out_node *n, const char *name, const int64_t *v, int count)
{
    add_attr(n, (attr){name, ONNX_ATTR_INTS, 0, 0, NULL, v, count});
}

/* A tensor: float data (data NULL while measuring) or int64 values. */
typedef struct {
    const char *name;
    int ndim;
    const int64_t *shape;
    const float *data;
    const int64_t *ints;
} out_tensor;

static void write_tensor(pb_writer *w, const void *ctx)
{
    const out_tensor *t = ctx;
    pb_put_packed_int64(w, TENSOR_DIMS, t->shape, (size_t)t->ndim);
    pb_put_varint_field(w, TENSOR_DATA_TYPE, t->ints ? ONNX_INT64 : ONNX_FLOAT);
    pb_put_string_field(w, TENSOR_NAME, t->name);
    size_t n = shape_numel(t->ndim, t->shape);
    if (t->ints) {
        /* raw_data is little-endian int64 */
        uint8_t buf[8 * 2 * TENSOR_MAX_DIMS];
        for (size_t i = 0; i < n; i++)
            for (int b = 0; b < 8; b++)
                buf[8 * i + b] = (uint8_t)((uint64_t)t->ints[i] >> (8 * b));
        pb_put_bytes_field(w, TENSOR_RAW_DATA, buf, 8 * n);
        return;
    }
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "export writes float raw_data in host order; add a byte swap for big-endian hosts"
#endif
    pb_put_bytes_field(w, TENSOR_RAW_DATA, w->out ? (const void *)t->data : NULL, n * sizeof(float));
}

/* ValueInfoProto with a float tensor type and the shape (free dims named). */
typedef struct {
    const char *name;
    int ndim;
    const int64_t *shape;
} out_value;

static void write_dim(pb_writer *w, const void *ctx)
{
    int64_t d = *(const int64_t *)ctx;
    if (d >= 0)
        pb_put_int64_field(w, 1, d);
    else
        pb_put_string_field(w, 2, "N"); /* a free dimension */
}

static void write_shape(pb_writer *w, const void *ctx)
{
    const out_value *v = ctx;
    for (int d = 0; d < v->ndim; d++)
        pb_put_message_field(w, 1, write_dim, &v->shape[d]);
}

static void write_tensor_type(pb_writer *w, const void *ctx)
{
    const out_value *v = ctx;
    pb_put_varint_field(w, 1, ONNX_FLOAT);
    if (v->ndim >= 0)
        pb_put_message_field(w, 2, write_shape, v);
}

static void write_type(pb_writer *w, const void *ctx) { pb_put_message_field(w, 1, write_tensor_type, ctx); }

static void write_value_info(pb_writer *w, const void *ctx)
{
    const out_value *v = ctx;
    pb_put_string_field(w, 1, v->name);
    pb_put_message_field(w, 2, write_type, v);
}

/* ---- the graph ---------------------------------------------------------------- */

static const char *value_name(const graph *g, int v) { return v >= 0 ? g->values[v].name : ""; }

/* Extra initializers a node needs in opset 13 (pads, bounds, a target). */
typedef struct {
    char name[3][600];
    int ndim[3];
    int64_t shape[3][1];
    float f[3];
    int64_t ints[3][2 * TENSOR_MAX_DIMS];
    bool is_int[3];
    int count;
} node_constants;

static const char *add_constant(node_constants *c, const char *output, const char *suffix, bool is_int, int ndim,
                                int64_t len)
{
    int k = c->count++;
    snprintf(c->name[k], sizeof c->name[k], "%s:%s", output, suffix);
    c->is_int[k] = is_int;
    c->ndim[k] = ndim;
    c->shape[k][0] = len;
    return c->name[k];
}

/* The ONNX form of graph node i, and the constants it reads that are not
 * graph values (legacy Softmax is written by write_legacy_softmax). */
static void describe_node(const graph *g, const net_model *m, int i, onnx_out_node *n, node_constants *c)
{
    const graph_node *gn = &g->nodes[i];
    const op_attrs *a = &gn->attrs;
    memset(n, 0, sizeof *n);
    c->count = 0;
    n->op = op_name(gn->op);
    n->name = net_layer_name(m, i);
    n->output = value_name(g, gn->output);
    for (int k = 0; k < gn->ninputs && k < 64; k++)
        n->inputs[n->ninputs++] = value_name(g, gn->inputs[k]);
    const window_attrs *w = &a->window;
    static const char *const auto_pads[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    switch (gn->op) {
    case OP_CONV:
    case OP_MAX_POOL:
    case OP_AVERAGE_POOL: {
        int ns = w->nspatial;
        bool any_kernel = false, any_stride = false, any_dil = false;
        for (int d = 0; d < ns; d++) {
            any_kernel |= w->kernel[d] > 0;
            any_stride |= w->strides[d] > 0;
            any_dil |= w->dilations[d] > 0;
        }
        /* 0 means "the default" in the graph; ONNX wants the values. */
        if (any_kernel)
            add_ints(n, "kernel_shape", w->kernel, ns);
        for (int d = 0; d < ns; d++) {
            n->strides[d] = w->strides[d] > 0 ? w->strides[d] : 1;
            n->dilations[d] = w->dilations[d] > 0 ? w->dilations[d] : 1;
        }
        if (any_stride)
            add_ints(n, "strides", n->strides, ns);
        if (any_dil)
            add_ints(n, "dilations", n->dilations, ns);
        if (w->auto_pad != AUTO_PAD_NOTSET)
            add_attr(n, (attr){"auto_pad", ONNX_ATTR_STRING, 0, 0, auto_pads[w->auto_pad], NULL, 0});
        else if (ns)
            add_ints(n, "pads", w->pads, 2 * ns);
        if (gn->op == OP_CONV && w->group > 1)
            add_attr(n, (attr){"group", ONNX_ATTR_INT, w->group, 0, NULL, NULL, 0});
        if (gn->op != OP_CONV && w->ceil_mode)
            add_attr(n, (attr){"ceil_mode", ONNX_ATTR_INT, 1, 0, NULL, NULL, 0});
        if (gn->op == OP_AVERAGE_POOL && w->count_include_pad)
            add_attr(n, (attr){"count_include_pad", ONNX_ATTR_INT, 1, 0, NULL, NULL, 0});
        break;
    }
    case OP_LEAKY_RELU: add_attr(n, (attr){"alpha", ONNX_ATTR_FLOAT, 0, a->leaky_relu.alpha, NULL, NULL, 0}); break;
    case OP_CLIP:
        /* Bounds given as attributes become initializer inputs. */
        for (int k = 1; k < 3; k++) {
            float bound = k == 1 ? a->clip.min : a->clip.max;
            if (gn->ninputs > k && gn->inputs[k] >= 0)
                continue;
            if (isinf(bound) && (k == 1 ? bound < 0 : bound > 0)) {
                n->inputs[k] = "";
                n->ninputs = n->ninputs > k ? n->ninputs : k + 1;
                continue;
            }
            int j = c->count;
            n->inputs[k] = add_constant(c, n->output, k == 1 ? "min" : "max", false, 0, 1);
            c->f[j] = bound;
            n->ninputs = n->ninputs > k + 1 ? n->ninputs : k + 1;
        }
        while (n->ninputs > 1 && !n->inputs[n->ninputs - 1][0])
            n->ninputs--;
        break;
    case OP_LRN:
        add_attr(n, (attr){"size", ONNX_ATTR_INT, a->lrn.size, 0, NULL, NULL, 0});
        add_attr(n, (attr){"alpha", ONNX_ATTR_FLOAT, 0, a->lrn.alpha, NULL, NULL, 0});
        add_attr(n, (attr){"beta", ONNX_ATTR_FLOAT, 0, a->lrn.beta, NULL, NULL, 0});
        add_attr(n, (attr){"bias", ONNX_ATTR_FLOAT, 0, a->lrn.bias, NULL, NULL, 0});
        break;
    case OP_CONCAT: add_attr(n, (attr){"axis", ONNX_ATTR_INT, a->concat.axis, 0, NULL, NULL, 0}); break;
    case OP_GEMM:
        add_attr(n, (attr){"alpha", ONNX_ATTR_FLOAT, 0, a->gemm.alpha, NULL, NULL, 0});
        add_attr(n, (attr){"beta", ONNX_ATTR_FLOAT, 0, a->gemm.beta, NULL, NULL, 0});
        add_attr(n, (attr){"transA", ONNX_ATTR_INT, a->gemm.trans_a, 0, NULL, NULL, 0});
        add_attr(n, (attr){"transB", ONNX_ATTR_INT, a->gemm.trans_b, 0, NULL, NULL, 0});
        break;
    case OP_FLATTEN: add_attr(n, (attr){"axis", ONNX_ATTR_INT, a->flatten.axis, 0, NULL, NULL, 0}); break;
    case OP_SOFTMAX: add_attr(n, (attr){"axis", ONNX_ATTR_INT, a->softmax.axis, 0, NULL, NULL, 0}); break;
    case OP_BATCH_NORM:
        add_attr(n, (attr){"epsilon", ONNX_ATTR_FLOAT, 0, a->batch_norm.epsilon, NULL, NULL, 0});
        break;
    case OP_RESHAPE: {
        int j = c->count;
        n->inputs[n->ninputs++] = add_constant(c, n->output, "shape", true, 1, a->reshape.ndim);
        memcpy(c->ints[j], a->reshape.shape, (size_t)a->reshape.ndim * sizeof(int64_t));
        break;
    }
    case OP_PAD: {
        static const char *const modes[] = {"constant", "reflect", "edge"};
        int j = c->count;
        n->inputs[n->ninputs++] = add_constant(c, n->output, "pads", true, 1, a->pad.npads);
        memcpy(c->ints[j], a->pad.pads, (size_t)a->pad.npads * sizeof(int64_t));
        if (a->pad.mode == PAD_CONSTANT && a->pad.value != 0) {
            j = c->count;
            n->inputs[n->ninputs++] = add_constant(c, n->output, "value", false, 0, 1);
            c->f[j] = a->pad.value;
        }
        add_attr(n, (attr){"mode", ONNX_ATTR_STRING, 0, 0, modes[a->pad.mode], NULL, 0});
        break;
    }
    default: break;
    }
}

static void write_node_constants(pb_writer *w, const node_constants *c)
{
    for (int k = 0; k < c->count; k++) {
        out_tensor t = {c->name[k], c->ndim[k], c->shape[k], &c->f[k], c->is_int[k] ? c->ints[k] : NULL};
        pb_put_message_field(w, GRAPH_INITIALIZER, write_tensor, &t);
    }
}

/* Legacy Softmax (opset < 13): Flatten(axis) → Softmax(1) → Reshape(Shape(x)). */
static void write_legacy_softmax(pb_writer *w, const graph *g, const net_model *m, int i)
{
    const graph_node *gn = &g->nodes[i];
    const char *x = value_name(g, gn->inputs[0]), *y = value_name(g, gn->output), *name = net_layer_name(m, i);
    char flat[600], soft[600], shape[600], n1[620], n2[620], n3[620];
    snprintf(flat, sizeof flat, "%s:2d", y);
    snprintf(soft, sizeof soft, "%s:softmax", y);
    snprintf(shape, sizeof shape, "%s:shape", y);
    snprintf(n1, sizeof n1, "%s:flatten", name);
    snprintf(n2, sizeof n2, "%s:softmax", name);
    snprintf(n3, sizeof n3, "%s:shape", name);
    onnx_out_node f = {.op = "Flatten", .name = n1, .inputs = {x}, .ninputs = 1, .output = flat, .nattrs = 1};
    onnx_out_node s = {.op = "Softmax", .name = n2, .inputs = {flat}, .ninputs = 1, .output = soft, .nattrs = 1};
    onnx_out_node sh = {.op = "Shape", .name = n3, .inputs = {x}, .ninputs = 1, .output = shape};
    onnx_out_node r = {.op = "Reshape", .name = name, .inputs = {soft, shape}, .ninputs = 2, .output = y};
    f.attrs[0] = (attr){"axis", ONNX_ATTR_INT, gn->attrs.softmax.axis, 0, NULL, NULL, 0};
    s.attrs[0] = (attr){"axis", ONNX_ATTR_INT, 1, 0, NULL, NULL, 0};
    pb_put_message_field(w, GRAPH_NODE, write_node, &f);
    pb_put_message_field(w, GRAPH_NODE, write_node, &s);
    pb_put_message_field(w, GRAPH_NODE, write_node, &sh);
    pb_put_message_field(w, GRAPH_NODE, write_node, &r);
}

/* Whether a constant is read by any node (folded-away ones are not). */
static bool constant_used(const graph *g, int v)
{
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i].ninputs; k++)
            if (g->nodes[i].inputs[k] == v)
                return true;
    return false;
}

static void write_graph(pb_writer *w, const void *ctx)
{
    const export_ctx *e = ctx;
    const graph *g = e->g;
    for (int i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].op == OP_SOFTMAX && g->nodes[i].attrs.softmax.legacy) {
            write_legacy_softmax(w, g, e->m, i);
            continue;
        }
        onnx_out_node n;
        node_constants c;
        describe_node(g, e->m, i, &n, &c);
        pb_put_message_field(w, GRAPH_NODE, write_node, &n);
    }
    pb_put_string_field(w, GRAPH_NAME, net_model_name(e->m));
    for (int v = 0; v < g->nvalues; v++) {
        const graph_value *gv = &g->values[v];
        if (gv->kind != VALUE_CONSTANT || !constant_used(g, v))
            continue;
        out_tensor t = {gv->name, gv->ndim, gv->shape, gv->data.data, NULL};
        pb_put_message_field(w, GRAPH_INITIALIZER, write_tensor, &t);
    }
    for (int i = 0; i < g->nnodes; i++) {
        onnx_out_node n;
        node_constants c;
        describe_node(g, e->m, i, &n, &c);
        write_node_constants(w, &c);
    }
    for (int k = 0; k < g->ninputs; k++) {
        const graph_value *gv = &g->values[g->inputs[k]];
        out_value v = {gv->name, gv->ndim, gv->shape};
        pb_put_message_field(w, GRAPH_INPUT, write_value_info, &v);
    }
    for (int k = 0; k < g->noutputs; k++) {
        const graph_value *gv = &g->values[g->outputs[k]];
        out_value v = {gv->name, gv->ndim, gv->shape}; /* at the declared input size */
        pb_put_message_field(w, GRAPH_OUTPUT, write_value_info, &v);
    }
}

static void write_opset(pb_writer *w, const void *ctx)
{
    (void)ctx;
    pb_put_string_field(w, 1, "");
    pb_put_int64_field(w, 2, EXPORT_OPSET);
}

status net_model_export_onnx(net_model *m, const char *path)
{
    graph *g = m->g;
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i].op == OP_RESHAPE && g->nodes[i].attrs.reshape.allowzero)
            return error_set(path, "layer '%s': Reshape with allowzero needs opset 14; not exported",
                             net_layer_name(m, i));
    /* Every constant a node reads, filled now (lazy ones are read from their
     * files), so that writing cannot fail halfway for want of data. */
    for (int v = 0; v < g->nvalues; v++) {
        const tensor *t;
        if (g->values[v].kind == VALUE_CONSTANT && constant_used(g, v) && graph_constant(g, v, &t) != ST_OK)
            return error_prefix(path);
    }
    atomic_file *f;
    if (atomic_open(path, &f) != ST_OK)
        return ST_ERROR;
    pb_writer w = {atomic_stream(f), 0, false};
    export_ctx e = {g, m};
    pb_put_int64_field(&w, MODEL_IR_VERSION, EXPORT_IR_VERSION);
    pb_put_string_field(&w, MODEL_PRODUCER_NAME, "synth");
    pb_put_string_field(&w, MODEL_PRODUCER_VERSION, SYNTH_VERSION);
    pb_put_message_field(&w, MODEL_OPSET_IMPORT, write_opset, NULL);
    pb_put_message_field(&w, MODEL_GRAPH, write_graph, &e);
    if (w.failed) {
        atomic_abort(f);
        return error_set(path, "write failed (disk full?)");
    }
    return atomic_commit(f);
}
