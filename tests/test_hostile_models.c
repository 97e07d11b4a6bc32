/* ONNX models a stranger could hand over, built in memory with the protobuf
 * writer of net/onnx_proto.h (white-box) and opened through the public API:
 * huge graphs (200k nodes, 200k initializers, long conv/BatchNorm chains,
 * shared names) open in time linear in their size; constant subgraphs that
 * would need gigabytes or hours (a deep folding chain, a giant kernel over a
 * constant, an outer product of two vectors) are refused naming the node;
 * files above protobuf's 2 GiB are refused before reading. Nothing here is
 * timed: a quadratic regression shows as the test running into its ctest
 * timeout (tests/CMakeLists.txt). */
#include "check.h"
#include "net/onnx_proto.h"

#include <fcntl.h>
#include <unistd.h>

/* ---- writing a model --------------------------------------------------------- */

/* A model whose graph is written by callbacks: n nodes, n_inits initializers,
 * one float input "x" of shape in_dims, and output `out`. */
typedef struct hostile hostile;
struct hostile {
    int nodes, inits;
    void (*node)(pb_writer *w, const hostile *h, int i);
    void (*init)(pb_writer *w, const hostile *h, int i);
    int64_t in_dims[4];
    const char *out;
    int64_t opset;
    int k; /* the element the callbacks write (they run twice: measure, emit) */
};

static void write_dim(pb_writer *w, const void *ctx) { pb_put_int64_field(w, 1, *(const int64_t *)ctx); }

static void write_shape(pb_writer *w, const void *ctx)
{
    const int64_t *dims = ctx;
    for (int d = 0; d < 4; d++)
        pb_put_message_field(w, 1, write_dim, &dims[d]);
}

static void write_tensor_type(pb_writer *w, const void *ctx)
{
    pb_put_varint_field(w, 1, ONNX_FLOAT);
    pb_put_message_field(w, 2, write_shape, ctx);
}

static void write_type(pb_writer *w, const void *ctx) { pb_put_message_field(w, 1, write_tensor_type, ctx); }

static void write_input(pb_writer *w, const void *ctx)
{
    const hostile *h = ctx;
    pb_put_string_field(w, 1, "x");
    pb_put_message_field(w, 2, write_type, h->in_dims);
}

static void write_output(pb_writer *w, const void *ctx) { pb_put_string_field(w, 1, ((const hostile *)ctx)->out); }

static void write_one_node(pb_writer *w, const void *ctx)
{
    const hostile *h = ctx;
    h->node(w, h, h->k);
}

static void write_one_init(pb_writer *w, const void *ctx)
{
    const hostile *h = ctx;
    h->init(w, h, h->k);
}

static void write_graph(pb_writer *w, const void *ctx)
{
    hostile *h = (hostile *)ctx;
    for (h->k = 0; h->k < h->nodes; h->k++)
        pb_put_message_field(w, 1, write_one_node, h);
    pb_put_string_field(w, 2, "hostile");
    for (h->k = 0; h->k < h->inits; h->k++)
        pb_put_message_field(w, 5, write_one_init, h);
    pb_put_message_field(w, 11, write_input, h);
    pb_put_message_field(w, 12, write_output, h);
}

static void write_opset(pb_writer *w, const void *ctx) { pb_put_int64_field(w, 2, *(const int64_t *)ctx); }

/* The model's bytes (free them). */
static char *model_bytes(hostile *h, size_t *len)
{
    char *data = NULL;
    FILE *f = open_memstream(&data, len);
    REQUIRE(f);
    pb_writer w = {f, 0, false};
    int64_t opset = h->opset ? h->opset : 13;
    pb_put_int64_field(&w, 1, 8);
    pb_put_message_field(&w, 8, write_opset, &opset);
    pb_put_message_field(&w, 7, write_graph, h);
    REQUIRE(fclose(f) == 0 && !w.failed);
    return data;
}

static status open_hostile(hostile *h, net_model **m)
{
    size_t len;
    char *bytes = model_bytes(h, &len);
    status s = net_model_open_buffer(bytes, len, "hostile.onnx", m);
    free(bytes);
    return s;
}

/* ---- node and initializer writers ---------------------------------------------- */

static void value_name(char *buf, size_t n, const char *stem, int i)
{
    if (i < 0)
        snprintf(buf, n, "x");
    else
        snprintf(buf, n, "%s%d", stem, i);
}

/* Node i: op(v{i-1}[, extra]) -> v{i}; node 0 reads x. */
static void chain_node(pb_writer *w, const char *op, int i, const char *extra, const char *name)
{
    char in[32], out[32];
    value_name(in, sizeof in, "v", i - 1);
    value_name(out, sizeof out, "v", i);
    pb_put_string_field(w, 1, in);
    if (extra)
        pb_put_string_field(w, 1, extra);
    pb_put_string_field(w, 2, out);
    if (name)
        pb_put_string_field(w, 3, name);
    pb_put_string_field(w, 4, op);
}

static void relu_node(pb_writer *w, const hostile *h, int i)
{
    (void)h;
    chain_node(w, "Relu", i, NULL, NULL);
}

static void same_name_relu_node(pb_writer *w, const hostile *h, int i)
{
    (void)h;
    chain_node(w, "Relu", i, NULL, "n");
}

static void add_init_node(pb_writer *w, const hostile *h, int i)
{
    (void)h;
    char c[32];
    snprintf(c, sizeof c, "c%d", i);
    chain_node(w, "Add", i, c, NULL);
}

/* Conv (shared 1x1 weight "w") and Relu in turn. */
static void conv_relu_node(pb_writer *w, const hostile *h, int i)
{
    (void)h;
    chain_node(w, i % 2 ? "Relu" : "Conv", i, i % 2 ? NULL : "w", NULL);
}

/* Conv (shared weight "w") and BatchNormalization (shared parameters) in turn. */
static void conv_bn_node(pb_writer *w, const hostile *h, int i)
{
    (void)h;
    if (i % 2 == 0) {
        chain_node(w, "Conv", i, "w", NULL);
        return;
    }
    char in[32], out[32];
    value_name(in, sizeof in, "v", i - 1);
    value_name(out, sizeof out, "v", i);
    const char *ins[5] = {in, "s", "b", "m", "var"};
    for (int k = 0; k < 5; k++)
        pb_put_string_field(w, 1, ins[k]);
    pb_put_string_field(w, 2, out);
    pb_put_string_field(w, 4, "BatchNormalization");
}

static void float_init(pb_writer *w, const char *name, int rank, const int64_t *dims, float value)
{
    size_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= (size_t)dims[d];
    float *v = malloc(n * sizeof *v);
    REQUIRE(v);
    for (size_t k = 0; k < n; k++)
        v[k] = value;
    pb_put_packed_int64(w, 1, dims, (size_t)rank);
    pb_put_varint_field(w, 2, ONNX_FLOAT);
    pb_put_string_field(w, 8, name);
    pb_put_bytes_field(w, 9, v, n * sizeof *v);
    free(v);
}

static void scalar_init(pb_writer *w, const hostile *h, int i)
{
    (void)h;
    char c[32];
    snprintf(c, sizeof c, "c%d", i);
    float_init(w, c, 0, NULL, 0.5f);
}

static void conv_weight_init(pb_writer *w, const hostile *h, int i)
{
    (void)h;
    static const int64_t w1[4] = {1, 1, 1, 1}, c1[1] = {1};
    static const char *const names[5] = {"w", "s", "b", "m", "var"};
    if (i == 0)
        float_init(w, names[i], 4, w1, 0.9f);
    else
        float_init(w, names[i], 1, c1, 1.0f);
}

/* ---- the tests -------------------------------------------------------------------- */

/* Graphs of 10^5 nodes: the open must stay linear (it was quadratic in the
 * value-name lookup, node-name uniqueness, folding and alias passes). */
static void test_huge_graphs(void)
{
    enum { N = 200000 };
    net_model *m;
    hostile relu = {.nodes = N, .node = relu_node, .in_dims = {1, 1, 2, 2}, .out = "v199999"};
    CHECK_OK(open_hostile(&relu, &m));
    CHECK(m && net_layer_count(m) == N && strcmp(net_layer_name(m, N - 1), "v199999") == 0);
    net_model_close(m);

    hostile same = relu;
    same.node = same_name_relu_node; /* all named "n": layers go by their outputs */
    CHECK_OK(open_hostile(&same, &m));
    CHECK(m && net_layer_count(m) == N && strcmp(net_layer_name(m, 7), "v7") == 0);
    net_model_close(m);

    hostile adds = {.nodes = N, .inits = N, .node = add_init_node, .init = scalar_init,
                    .in_dims = {1, 1, 2, 2}, .out = "v199999"};
    CHECK_OK(open_hostile(&adds, &m)); /* 200k lazy constants */
    CHECK(m && net_layer_count(m) == N && net_model_param_count(m) == N);
    net_model_close(m);

    hostile convs = {.nodes = 100000, .inits = 1, .node = conv_relu_node, .init = conv_weight_init,
                     .in_dims = {1, 1, 4, 4}, .out = "v99999"};
    CHECK_OK(open_hostile(&convs, &m)); /* one VGG block of 50000 convs */
    const char *alias = m ? net_layer_alias(m, 99999) : NULL;
    CHECK(alias && strcmp(alias, "relu1_50000") == 0);
    net_model_close(m);

    /* 50000 BatchNorms folded into the convs before them, all sharing one
     * weight: each folded copy needs a name of its own. */
    hostile bns = {.nodes = 100000, .inits = 5, .node = conv_bn_node, .init = conv_weight_init,
                   .in_dims = {1, 1, 4, 4}, .out = "v99999"};
    CHECK_OK(open_hostile(&bns, &m));
    CHECK(m && net_layer_count(m) == 50000 && strcmp(net_layer_op(m, 49999), "Conv") == 0);
    net_model_close(m);
}

/* Folding: ConstantOfShape(65536) then Add(c, c) 20000 times asks for 10 GB. */
static void fold_bomb_node(pb_writer *w, const hostile *h, int i)
{
    char in[32], out[32];
    if (i == h->nodes - 1) { /* something that depends on the input */
        pb_put_string_field(w, 1, "x");
        pb_put_string_field(w, 2, "y");
        pb_put_string_field(w, 4, "Relu");
        return;
    }
    value_name(out, sizeof out, "c", i);
    if (i == 0) {
        pb_put_string_field(w, 1, "shape");
        pb_put_string_field(w, 2, out);
        pb_put_string_field(w, 4, "ConstantOfShape");
        return;
    }
    value_name(in, sizeof in, "c", i - 1);
    pb_put_string_field(w, 1, in);
    pb_put_string_field(w, 1, in);
    pb_put_string_field(w, 2, out);
    pb_put_string_field(w, 4, "Add");
}

static void shape_init(pb_writer *w, const hostile *h, int i)
{
    (void)h, (void)i;
    static const int64_t one = 1, value = 65536;
    pb_put_packed_int64(w, 1, &one, 1);
    pb_put_varint_field(w, 2, ONNX_INT64);
    pb_put_string_field(w, 8, "shape");
    pb_put_bytes_field(w, 9, &value, sizeof value);
}

/* Conv over a constant input [1, 64, 96, 96] with a [64, 64, 17, 17] kernel:
 * 7.6e9 multiply-adds at load. */
static void giant_kernel_node(pb_writer *w, const hostile *h, int i)
{
    (void)h;
    if (i == 1) {
        pb_put_string_field(w, 1, "x");
        pb_put_string_field(w, 2, "y");
        pb_put_string_field(w, 4, "Relu");
        return;
    }
    pb_put_string_field(w, 1, "k_in");
    pb_put_string_field(w, 1, "k_w");
    pb_put_string_field(w, 2, "big");
    pb_put_string_field(w, 3, "giant_conv");
    pb_put_string_field(w, 4, "Conv");
}

static void giant_kernel_init(pb_writer *w, const hostile *h, int i)
{
    (void)h;
    static const int64_t in[4] = {1, 64, 96, 96}, k[4] = {64, 64, 17, 17};
    if (i == 0)
        float_init(w, "k_in", 4, in, 0.25f);
    else
        float_init(w, "k_w", 4, k, 0.25f);
}

static void test_constant_bombs(void)
{
    net_model *m = NULL;
    hostile bomb = {.nodes = 20002, .inits = 1, .node = fold_bomb_node, .init = shape_init,
                    .in_dims = {1, 1, 2, 2}, .out = "y"};
    CHECK_FAILS_WITH(open_hostile(&bomb, &m), "hostile.onnx: node 'c");
    CHECK_FAILS_WITH(open_hostile(&bomb, &m), "MB of working memory to import");
    CHECK(m == NULL);
    /* The giant conv is kept (its output unused, it folds nothing) unless the
     * graph needs it: make it an output. */
    hostile giant = {.nodes = 2, .inits = 2, .node = giant_kernel_node, .init = giant_kernel_init,
                     .in_dims = {1, 1, 2, 2}, .out = "big"};
    CHECK_FAILS_WITH(open_hostile(&giant, &m),
                     "hostile.onnx: node 'giant_conv' (Conv): folding its constant inputs would take");
}

/* Files above protobuf's 2 GiB limit: refused from their size, nothing read. */
static void test_file_size(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/huge.onnx", check_tmpdir());
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, ((off_t)3 << 30)) == 0); /* sparse: no disk used */
    close(fd);
    net_model *m;
    CHECK_FAILS_WITH(net_model_open(path, &m), "is 3.2 GB; protobuf files hold at most 2 GiB");
    tensor t;
    CHECK_FAILS_WITH(tensor_read_pb(path, &t), "protobuf files hold at most 2 GiB");
    unlink(path);
}

int main(void)
{
    test_huge_graphs();
    test_constant_bombs();
    test_file_size();
    return check_report("test_hostile_models");
}
