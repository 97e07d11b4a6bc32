/* graph.h — private to net/: the network graph, its builder, and the model
 * struct behind net_model.
 *
 * A graph is a DAG of nodes over *values*. A value is a graph input (named,
 * with a declared shape), a constant (an initializer: weights, biases), or the
 * single output of a node. Values are referred to by int ids; nodes by their
 * index. Builders (the built-in network, the ONNX importer, tests) add inputs,
 * constants and nodes in any order that respects use-after-definition, mark
 * the outputs, then call graph_finalize, which
 *   - sorts the nodes topologically (node index = layer index afterwards),
 *   - validates every node (arity, attributes, shapes at the declared input
 *     shapes) with an error naming the node and its op,
 *   - folds nodes whose inputs are all constants into constants (a node
 *     whose output is a graph output stays a layer: an Identity reading its
 *     folded value, or the view of constants it is),
 *   - folds a BatchNormalization that follows a Conv (with constant weights,
 *     the Conv output read by nothing else) into that Conv,
 *   - assigns the VGG aliases (conv{b}_{i}, relu{b}_{i}, pool{b}) along a plain
 *     conv/relu/pool chain starting at input 0.
 *
 * Ops follow the ONNX operator spec (opsets 7..17) exactly. Shape-computation
 * ops (Shape, Gather, Unsqueeze, Constant, Cast, ...) are not ops here: the
 * importer constant-folds them, using graph_value_shape for the shape of a
 * value at the declared input shapes. Ops with several ONNX outputs (Dropout's
 * mask, BatchNormalization's training outputs) have only their first here.
 *
 * Attribute conventions: op_attrs_default(op) gives the ONNX defaults for op;
 * set what the node specifies on top. Optional inputs that are absent are
 * passed as -1 in the inputs array (e.g. Conv without bias: {x, w, -1} or just
 * {x, w}).
 */
#ifndef SYNTH_NET_GRAPH_H
#define SYNTH_NET_GRAPH_H

#include <pthread.h>

#include "net/net.h"

/* ---- ops ------------------------------------------------------------------ */

/* Inputs per op (ONNX order), `?` = optional:
 *   CONV                X, W [M, C/group, kH, kW], B? [M]        (1-D or 2-D spatial)
 *   RELU, SIGMOID, TANH, IDENTITY   X      (IDENTITY also stands for Dropout)
 *   LEAKY_RELU          X
 *   CLIP                X, min?, max?    (scalar tensors; else attrs.clip)
 *   MAX_POOL, AVERAGE_POOL           X   (1-D, 2-D or 3-D spatial)
 *   GLOBAL_AVERAGE_POOL, GLOBAL_MAX_POOL  X
 *   LRN                 X
 *   CONCAT, SUM         X1, X2, ... (one or more)
 *   ADD, SUB, MUL, DIV  A, B              (numpy broadcasting)
 *   GEMM                A, B, C?          (C broadcast to [M, N])
 *   MATMUL              A, B              (numpy matmul)
 *   FLATTEN, SOFTMAX    X
 *   RESHAPE             X                 (target in attrs.reshape)
 *   BATCH_NORM          X, scale, B, mean, var   (inference form)
 *   PAD                 X                 (pads, mode, value in attrs.pad)
 */
typedef enum {
    OP_CONV,
    OP_RELU,
    OP_LEAKY_RELU,
    OP_CLIP,
    OP_SIGMOID,
    OP_TANH,
    OP_MAX_POOL,
    OP_AVERAGE_POOL,
    OP_GLOBAL_AVERAGE_POOL,
    OP_GLOBAL_MAX_POOL,
    OP_LRN,
    OP_CONCAT,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_SUM,
    OP_GEMM,
    OP_MATMUL,
    OP_FLATTEN,
    OP_RESHAPE,
    OP_SOFTMAX,
    OP_BATCH_NORM,
    OP_IDENTITY,
    OP_PAD,
    OP_COUNT
} op_kind;

/* The ONNX op_type ("Conv", "MaxPool", ...). */
const char *op_name(op_kind op);
/* The op for an ONNX op_type, or -1 ("Dropout" is not mapped: the importer
 * decides, usually OP_IDENTITY). */
int op_from_name(const char *onnx_op_type);

enum { GRAPH_MAX_SPATIAL = 3 };

typedef enum {
    AUTO_PAD_NOTSET,
    AUTO_PAD_SAME_UPPER,
    AUTO_PAD_SAME_LOWER,
    AUTO_PAD_VALID
} auto_pad_mode;

/* Conv and the pools: a window sliding over the spatial dims (every dim after
 * N and C). One entry per spatial dim; 0 means "the ONNX default" (kernel:
 * Conv takes it from W; strides, dilations: 1). pads is ONNX order: the
 * begins of each spatial dim, then the ends (2-D: top, left, bottom, right). */
typedef struct {
    int nspatial; /* how many entries are set; 0: all defaults */
    int64_t kernel[GRAPH_MAX_SPATIAL];
    int64_t strides[GRAPH_MAX_SPATIAL];
    int64_t dilations[GRAPH_MAX_SPATIAL];
    int64_t pads[2 * GRAPH_MAX_SPATIAL];
    auto_pad_mode auto_pad;
    int64_t group; /* Conv; 0 = 1 */
    bool ceil_mode; /* pools */
    bool count_include_pad; /* AveragePool */
} window_attrs;

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE } pad_mode;

typedef struct {
    window_attrs window; /* CONV, MAX_POOL, AVERAGE_POOL */
    struct {
        float alpha;
    } leaky_relu; /* 0.01 */
    struct {
        float min, max;
    } clip; /* -inf, +inf; inputs 1 and 2 override */
    struct {
        int64_t size;
        float alpha, beta, bias;
    } lrn; /* size required; 1e-4, 0.75, 1 */
    struct {
        float alpha, beta;
        bool trans_a, trans_b;
    } gemm; /* 1, 1, false, false */
    struct {
        int64_t axis;
    } concat; /* required */
    struct {
        int64_t axis;
    } flatten; /* 1 */
    /* Softmax: opset >= 13 normalizes along `axis` (default -1); before 13
     * (legacy) it coerces the input to 2-D at `axis` (default 1) and
     * normalizes each row. op_attrs_default gives the opset-13 form. */
    struct {
        int64_t axis;
        bool legacy;
    } softmax;
    /* Reshape target: 0 copies the input's dim (unless allowzero), -1 is
     * inferred from the element count. */
    struct {
        int ndim;
        int64_t shape[TENSOR_MAX_DIMS];
        bool allowzero;
    } reshape;
    struct {
        float epsilon;
    } batch_norm; /* 1e-5 */
    /* Pad: pads[2 * rank] in ONNX order (begins of every dim, then ends);
     * negative pads crop. */
    struct {
        pad_mode mode;
        int npads;
        int64_t pads[2 * TENSOR_MAX_DIMS];
        float value;
    } pad;
} op_attrs;

/* The ONNX defaults for op's attributes (zero for the ones ONNX requires). */
op_attrs op_attrs_default(op_kind op);

/* ---- the graph ------------------------------------------------------------ */

typedef enum { VALUE_INPUT, VALUE_CONSTANT, VALUE_NODE } value_kind;

/* Fills a lazy constant's tensor (already allocated with the value's shape);
 * called at most once, under the graph's lock, when a run first needs it. */
typedef status (*constant_fill_fn)(void *ctx, int value, tensor *t);

typedef struct {
    char *name; /* unique in the graph (the builder invents one when none is given) */
    value_kind kind;
    int node; /* VALUE_NODE: the producing node's index */
    /* Shape: inputs: as declared (-1 = free dim); constants: the data's;
     * node outputs: inferred at the declared input shapes (free dims count
     * as 1), or ndim -1 when that failed or is unknown. */
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    tensor data; /* VALUE_CONSTANT: the data (NULL until filled if lazy) */
    constant_fill_fn fill; /* lazy constants: the filler, and its context */
    void *fill_ctx;
    bool is_output; /* one of the graph's declared outputs */
} graph_value;

typedef struct {
    op_kind op;
    char *name; /* the node's name ("" when the model gave none) */
    int *inputs; /* value ids; -1 for an absent optional input */
    int ninputs;
    int output; /* value id */
    op_attrs attrs;
    char *alias; /* VGG alias after graph_finalize, or NULL */
} graph_node;

/* Names → ids, for lookups by name that must stay linear in a hostile
 * file's size: an open-addressing table, each name at most once. The names
 * are not copied: they must outlive the index. */
typedef struct {
    const char *name; /* NULL: empty (id -1) or removed (id -2) */
    int id;
} name_slot;
typedef struct {
    name_slot *slots;
    size_t cap, used; /* used: slots not empty, removed ones included */
} name_index;
/* Adds name → id unless the name is there already; *prior (may be NULL)
 * gets the id it had, or -1 when it was added. */
status name_index_add(name_index *x, const char *name, int id, int *prior);
int name_index_find(const name_index *x, const char *name); /* -1 when absent */
void name_index_set(name_index *x, const char *name, int id); /* name must be there */
void name_index_remove(name_index *x, const char *name);
void name_index_free(name_index *x);

/* The non-empty node names (each to its first node) and, per node, whether
 * another node has the same name (shared[nnodes], filled here). */
status graph_node_names(const graph_node *nodes, int nnodes, name_index *index, bool *shared);

/* Hostile-file bounds: a graph holds at most this many nodes and values
 * (real CNNs have thousands), so every walk over it stays quick. */
enum { GRAPH_MAX_NODES = 1 << 20, GRAPH_MAX_VALUES = 1 << 22 };

typedef struct graph {
    graph_value *values;
    int nvalues, values_cap;
    graph_node *nodes; /* in topological order after graph_finalize */
    int nnodes, nodes_cap;
    int *inputs; /* graph inputs' value ids, in declaration order */
    int ninputs;
    int *outputs; /* declared outputs' value ids */
    int noutputs;
    bool finalized;
    name_index value_names; /* values by name (graph_find_value) */
    void (*free_fill_ctx)(void *ctx); /* called once per distinct lazy fill_ctx at free */
    pthread_mutex_t lock; /* guards lazy constant fills */
} graph;

status graph_create(graph **out);
void graph_free(graph *g); /* NULL is fine */

/* Each adder returns the new value's id in *value. `name` may be NULL (a name
 * is invented); a duplicate name is an error. */
status graph_add_input(graph *g, const char *name, int ndim, const int64_t *shape, int *value);
/* Takes ownership of *data (and zeroes *data), also on failure. */
status graph_add_constant(graph *g, const char *name, tensor *data, int *value);
/* A constant filled on first use by fill(ctx, value, t): weights generated or
 * read only for the layers a run needs. */
status graph_add_lazy_constant(graph *g, const char *name, int ndim, const int64_t *shape,
                               constant_fill_fn fill, void *fill_ctx, int *value);
/* Adds a node; its output value is named output_name (NULL: the node name, or
 * an invented one). Checks arity and attributes, and infers the output shape
 * when the input shapes are known; errors name the node and op. */
status graph_add_node(graph *g, op_kind op, const char *name, const int *inputs, int ninputs,
                      const op_attrs *attrs, const char *output_name, int *output);
status graph_mark_output(graph *g, int value);

int graph_find_value(const graph *g, const char *name); /* -1 when none */
/* The value's shape at the declared input shapes (free dims as 1); fails when
 * unknown. Valid while building: for the importer's constant folding. */
status graph_value_shape(const graph *g, int value, int *ndim, int64_t shape[TENSOR_MAX_DIMS]);

status graph_finalize(graph *g);

/* A constant's data, filling a lazy constant first (thread-safe). */
status graph_constant(graph *g, int value, const tensor **data);

/* ---- the model behind net_model -------------------------------------------- */

struct net_model {
    char *name; /* "default", the file's or the registry's name */
    graph *g; /* finalized */
    net_preprocess pre;
    char **labels; /* class names, or NULL */
    int nlabels;
    bool builtin; /* the random-feature built-in network */
    char **layer_names; /* display name per node (see net_layer_name) */
    struct model_shapes *shapes; /* net_layer_shape's cache (model.c) */
    pthread_mutex_t lock; /* guards `shapes` */
};

/* Wraps a graph (finalized here when not yet) into a model named `name` with
 * identity preprocessing (scale 1, mean 0, std 1, RGB) and no labels. Takes
 * ownership of g, also on failure. */
status model_from_graph(graph *g, const char *name, net_model **out);

/* net_model_open's hook for everything but "default": resolves `spec` (a .onnx
 * path, a cached model name, ...) and opens it. Implemented by the ONNX code
 * (net/onnx_import.c). */
status model_open_external(const char *spec, net_model **out);

/* The built-in VGG-19-shaped network (net/builtin_vgg.c). */
status builtin_vgg_graph(graph **out);

#endif
