/* The ONNX importer on hand-made and damaged models: errors name the file,
 * the node and the op; cycles, undefined and twice-defined names, huge claimed
 * dims, wrong attribute types, training-mode flags and unsupported ops are
 * refused; legacy (opset < 7) broadcasting, constant folding of shape chains,
 * external data and model resolution work; truncated and corrupted files fail
 * cleanly (ASan/UBSan watch). Models are written with the protobuf writer of
 * net/onnx_proto.h (white-box) and opened through the public API. */
#include "check.h"
#include "net/onnx_proto.h"

#include <unistd.h>

/* The model tables below leave trailing fields out on purpose (zero). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* ---- a tiny model description and its writer ------------------------------- */

typedef struct {
    const char *name;
    int type; /* ONNX_ATTR_INT, _FLOAT, _STRING, _INTS */
    int64_t i;
    float f;
    const char *s;
    int nints;
    int64_t ints[8];
} tattr;

typedef struct {
    const char *op, *name, *domain;
    const char *in[4];
    const char *out[2];
    tattr attrs[3];
} tnode;

typedef struct {
    const char *name;
    int dtype;
    int rank;
    int64_t dims[4];
    const float *f;      /* raw float data */
    const int64_t *i;    /* raw int64 data */
    const char *location; /* external data file instead */
} tinit;

typedef struct {
    int64_t opset;
    tnode nodes[8];
    tinit inits[4];
    const char *inputs[2];
    int in_rank;
    int64_t in_dims[4];
    const char *outputs[2];
} tmodel;

static size_t count_of(const tinit *t)
{
    size_t n = 1;
    for (int d = 0; d < t->rank; d++)
        n *= (size_t)t->dims[d];
    return n;
}

static void write_attr(pb_writer *w, const void *ctx)
{
    const tattr *a = ctx;
    pb_put_string_field(w, 1, a->name);
    if (a->type == ONNX_ATTR_INT)
        pb_put_int64_field(w, 3, a->i);
    else if (a->type == ONNX_ATTR_FLOAT)
        pb_put_float_field(w, 2, a->f);
    else if (a->type == ONNX_ATTR_STRING)
        pb_put_string_field(w, 4, a->s);
    else
        pb_put_packed_int64(w, 8, a->ints, (size_t)a->nints);
    pb_put_varint_field(w, 20, (uint64_t)a->type);
}

static void write_node(pb_writer *w, const void *ctx)
{
    const tnode *n = ctx;
    for (int k = 0; k < 4 && n->in[k]; k++)
        pb_put_string_field(w, 1, n->in[k]);
    for (int k = 0; k < 2 && n->out[k]; k++)
        pb_put_string_field(w, 2, n->out[k]);
    if (n->name)
        pb_put_string_field(w, 3, n->name);
    pb_put_string_field(w, 4, n->op);
    if (n->domain)
        pb_put_string_field(w, 7, n->domain);
    for (int k = 0; k < 3 && n->attrs[k].name; k++)
        pb_put_message_field(w, 5, write_attr, &n->attrs[k]);
}

static void write_entry(pb_writer *w, const void *ctx)
{
    const char *const *kv = ctx;
    pb_put_string_field(w, 1, kv[0]);
    pb_put_string_field(w, 2, kv[1]);
}

static void write_init(pb_writer *w, const void *ctx)
{
    const tinit *t = ctx;
    pb_put_packed_int64(w, 1, t->dims, (size_t)t->rank);
    pb_put_varint_field(w, 2, (uint64_t)t->dtype);
    pb_put_string_field(w, 8, t->name);
    size_t n = count_of(t);
    if (t->location) {
        const char *kv[2] = {"location", t->location};
        pb_put_message_field(w, 13, write_entry, kv);
        pb_put_varint_field(w, 14, 1);
    } else if (t->f) {
        pb_put_bytes_field(w, 9, t->f, n * sizeof(float));
    } else if (t->i) {
        pb_put_bytes_field(w, 9, t->i, n * sizeof(int64_t));
    } else {
        pb_put_bytes_field(w, 9, "abcd", 4); /* too short for any claimed shape above 1 float */
    }
}

static void write_dim(pb_writer *w, const void *ctx) { pb_put_int64_field(w, 1, *(const int64_t *)ctx); }

static void write_shape(pb_writer *w, const void *ctx)
{
    const tmodel *m = ctx;
    for (int d = 0; d < m->in_rank; d++)
        pb_put_message_field(w, 1, write_dim, &m->in_dims[d]);
}

static void write_tensor_type(pb_writer *w, const void *ctx)
{
    pb_put_varint_field(w, 1, ONNX_FLOAT);
    pb_put_message_field(w, 2, write_shape, ctx);
}

static void write_type(pb_writer *w, const void *ctx) { pb_put_message_field(w, 1, write_tensor_type, ctx); }

typedef struct {
    const tmodel *m;
    const char *name;
} named_value;

static void write_input(pb_writer *w, const void *ctx)
{
    const named_value *v = ctx;
    pb_put_string_field(w, 1, v->name);
    pb_put_message_field(w, 2, write_type, v->m);
}

static void write_output(pb_writer *w, const void *ctx)
{
    const named_value *v = ctx;
    pb_put_string_field(w, 1, v->name);
}

static void write_graph(pb_writer *w, const void *ctx)
{
    const tmodel *m = ctx;
    for (int k = 0; k < 8 && m->nodes[k].op; k++)
        pb_put_message_field(w, 1, write_node, &m->nodes[k]);
    pb_put_string_field(w, 2, "test");
    for (int k = 0; k < 4 && m->inits[k].name; k++)
        pb_put_message_field(w, 5, write_init, &m->inits[k]);
    for (int k = 0; k < 2 && m->inputs[k]; k++)
        pb_put_message_field(w, 11, write_input, &(named_value){m, m->inputs[k]});
    for (int k = 0; k < 2 && m->outputs[k]; k++)
        pb_put_message_field(w, 12, write_output, &(named_value){m, m->outputs[k]});
}

static void write_opset(pb_writer *w, const void *ctx)
{
    pb_put_string_field(w, 1, "");
    pb_put_int64_field(w, 2, *(const int64_t *)ctx);
}

static void write_model(pb_writer *w, const tmodel *m)
{
    pb_put_int64_field(w, 1, 8);
    if (m->opset)
        pb_put_message_field(w, 8, write_opset, &m->opset);
    pb_put_message_field(w, 7, write_graph, m);
}

/* The model's bytes (free() them). */
static uint8_t *model_bytes(const tmodel *m, size_t *len)
{
    char *data = NULL;
    FILE *f = open_memstream(&data, len);
    REQUIRE(f);
    pb_writer w = {f, 0, false};
    write_model(&w, m);
    REQUIRE(fclose(f) == 0 && !w.failed);
    return (uint8_t *)data;
}

static status open_model(const tmodel *m, net_model **out)
{
    size_t len;
    uint8_t *data = model_bytes(m, &len);
    status s = net_model_open_buffer(data, len, "t.onnx", out);
    free(data);
    return s;
}

static status open_fails(const tmodel *m)
{
    net_model *model = NULL;
    status s = open_model(m, &model);
    net_model_close(model);
    return s;
}

/* Runs the model on x (the declared input shape) to its first output. */
static status run(net_model *m, const float *x, size_t n, tensor *y)
{
    tensor in;
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    net_model_input_shape(m, 0, &ndim, shape);
    REQUIRE(tensor_alloc(&in, ndim, shape) == ST_OK && tensor_numel(&in) == n);
    memcpy(in.data, x, n * sizeof *x);
    net_session *s;
    REQUIRE(net_session_create(m, &s) == ST_OK);
    int layer = net_model_output_layer(m, 0);
    status st = net_forward(s, &in, 1, &layer, 1, NULL);
    if (st == ST_OK) {
        const tensor *out = net_activation(s, layer);
        REQUIRE(tensor_alloc(y, out->ndim, out->shape) == ST_OK);
        memcpy(y->data, out->data, tensor_numel(out) * sizeof(float));
    }
    net_session_free(s);
    tensor_free(&in);
    return st;
}

/* ---- the tests --------------------------------------------------------------- */

static const float w4[] = {1, 2, 3, 4};

/* y = Relu(x) on [1, 4] */
static tmodel relu_model(void)
{
    return (tmodel){13, {{"Relu", "relu1", NULL, {"x"}, {"y"}, {{0}}}}, {{0}}, {"x"}, 2, {1, 4}, {"y"}};
}

static void test_errors_name_node_and_op(void)
{
    tmodel m = relu_model();
    m.nodes[0].op = "Foo";
    m.nodes[0].name = "conv7";
    CHECK_FAILS_WITH(open_fails(&m), "t.onnx: node 'conv7' (Foo): unsupported op");
    m.nodes[0].domain = "com.microsoft";
    CHECK_FAILS_WITH(open_fails(&m), "node 'conv7' (Foo): unsupported op (domain 'com.microsoft')");

    /* An unnamed node is named by its output. */
    m = relu_model();
    m.nodes[0].name = NULL;
    m.nodes[0].op = "Bar";
    CHECK_FAILS_WITH(open_fails(&m), "node 'y' (Bar): unsupported op");

    /* Wrong attribute type, unknown attribute, bad value. */
    m = (tmodel){13, {{"LeakyRelu", "lr", NULL, {"x"}, {"y"}, {{"alpha", ONNX_ATTR_INT, 3}}}}, {{0}}, {"x"}, 2,
                 {1, 4}, {"y"}};
    CHECK_FAILS_WITH(open_fails(&m), "node 'lr' (LeakyRelu): attribute 'alpha' must be a float");
    m.nodes[0].attrs[0] = (tattr){"gamma", ONNX_ATTR_FLOAT, 0, 0.5f};
    CHECK_FAILS_WITH(open_fails(&m), "attribute 'gamma' is not supported");
    m = (tmodel){13, {{"MaxPool", "p", NULL, {"x"}, {"y"}, {{"kernel_shape", ONNX_ATTR_INTS, .nints = 1, .ints = {0}}}}},
                 {{0}}, {"x"}, 3, {1, 1, 4}, {"y"}};
    CHECK_FAILS_WITH(open_fails(&m), "node 'p' (MaxPool): kernel_shape, strides and dilations must be positive");
    m.nodes[0].attrs[0].name = "strides";
    CHECK_FAILS_WITH(open_fails(&m), "attribute 'kernel_shape' is required");
    m = (tmodel){13, {{"Conv", "c", NULL, {"x", "w"}, {"y"}, {{"auto_pad", ONNX_ATTR_STRING, .s = "SIDEWAYS"}}}},
                 {{"w", ONNX_FLOAT, 3, {1, 1, 4}, w4}}, {"x"}, 3, {1, 1, 4}, {"y"}};
    CHECK_FAILS_WITH(open_fails(&m), "auto_pad 'SIDEWAYS' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID");
}

static void test_graph_damage(void)
{
    /* A cycle: a reads b, b reads a. */
    tmodel m = {13,
                {{"Relu", "a", NULL, {"b"}, {"a_out"}, {{0}}}, {"Relu", "b", NULL, {"a_out"}, {"b"}, {{0}}}},
                {{0}},
                {"x"},
                2,
                {1, 4},
                {"b"}};
    CHECK_FAILS_WITH(open_fails(&m), "node 'a' (Relu): input 'b' is not defined before this node");
    /* A missing initializer. */
    m = (tmodel){13, {{"Add", "add", NULL, {"x", "bias"}, {"y"}, {{0}}}}, {{0}}, {"x"}, 2, {1, 4}, {"y"}};
    CHECK_FAILS_WITH(open_fails(&m), "node 'add' (Add): input 'bias' is not defined before this node");
    /* A name used twice: two nodes, an initializer and a node, two initializers. */
    m = (tmodel){13,
                 {{"Relu", "r1", NULL, {"x"}, {"y"}, {{0}}}, {"Sigmoid", "r2", NULL, {"x"}, {"y"}, {{0}}}},
                 {{0}},
                 {"x"},
                 2,
                 {1, 4},
                 {"y"}};
    CHECK_FAILS_WITH(open_fails(&m), "node 'r2' (Sigmoid): 'y' is defined twice");
    m = (tmodel){13, {{"Relu", "r1", NULL, {"x"}, {"w"}, {{0}}}}, {{"w", ONNX_FLOAT, 2, {1, 4}, w4}}, {"x"}, 2,
                 {1, 4}, {"w"}};
    CHECK_FAILS_WITH(open_fails(&m), "node 'r1' (Relu): 'w' is defined twice");
    m = (tmodel){13, {{"Add", "a", NULL, {"x", "w"}, {"y"}, {{0}}}},
                 {{"w", ONNX_FLOAT, 2, {1, 4}, w4}, {"w", ONNX_FLOAT, 2, {1, 4}, w4}}, {"x"}, 2, {1, 4}, {"y"}};
    CHECK_FAILS_WITH(open_fails(&m), "t.onnx: 'w' is defined twice");
    /* An output nothing computes; no outputs; no nodes; no opset. */
    m = relu_model();
    m.outputs[0] = "nothing";
    CHECK_FAILS_WITH(open_fails(&m), "output 'nothing' is not computed by any node");
    m = relu_model();
    m.outputs[0] = NULL;
    CHECK_FAILS_WITH(open_fails(&m), "declares no outputs");
    m = relu_model();
    m.nodes[0].op = NULL;
    CHECK_FAILS_WITH(open_fails(&m), "has no nodes");
    m = relu_model();
    m.opset = 0;
    CHECK_FAILS_WITH(open_fails(&m), "imports no opset");
    /* Huge claimed dims with 4 bytes of data. */
    m = (tmodel){13, {{"Add", "a", NULL, {"x", "w"}, {"y"}, {{0}}}}, {{"w", ONNX_FLOAT, 2, {1000000, 1000000}}},
                 {"x"}, 2, {1, 4}, {"y"}};
    CHECK_FAILS_WITH(open_fails(&m), "raw_data is 4 bytes, expected 4000000000000");
}

static void test_forms(void)
{
    net_model *model;
    tensor y;
    const float x[] = {-1, 2, -3, 4};

    /* Reshape from a constant chain: Shape → Gather → Unsqueeze → Concat. */
    static const int64_t zero = 0, minus_one[] = {-1}, axes0[] = {0};
    tmodel m = {13,
                {{"Shape", "shape", NULL, {"x"}, {"s"}, {{0}}},
                 {"Gather", "g", NULL, {"s", "idx"}, {"n"}, {{"axis", ONNX_ATTR_INT, 0}}},
                 {"Unsqueeze", "u", NULL, {"n", "axes"}, {"n1"}, {{0}}},
                 {"Concat", "cat", NULL, {"n1", "rest"}, {"target"}, {{"axis", ONNX_ATTR_INT, 0}}},
                 {"Reshape", "flat", NULL, {"x", "target"}, {"y"}, {{0}}}},
                {{"idx", ONNX_INT64, 0, {0}, .i = &zero},
                 {"rest", ONNX_INT64, 1, {1}, .i = minus_one},
                 {"axes", ONNX_INT64, 1, {1}, .i = axes0}},
                {"x"},
                4,
                {1, 1, 2, 2},
                {"y"}};
    CHECK_OK(open_model(&m, &model));
    if (model) {
        CHECK(net_layer_count(model) == 1); /* only the Reshape remains */
        CHECK_OK(run(model, x, 4, &y));
        CHECK(y.ndim == 2 && y.shape[0] == 1 && y.shape[1] == 4 && y.data[3] == 4);
        tensor_free(&y);
        net_model_close(model);
    }
    /* The same target fed at run time is refused. */
    m.nodes[0] = m.nodes[4];
    m.nodes[0].in[1] = "x";
    m.nodes[1].op = NULL;
    CHECK_FAILS_WITH(open_fails(&m), "node 'flat' (Reshape): the shape ('x') must be a constant");

    /* Opset 6: Add with broadcast=1, axis=1 lines B [2] up with A's dim 1. */
    static const float b2[] = {10, 20};
    m = (tmodel){6,
                 {{"Add", "add", NULL, {"x", "b"}, {"y"},
                   {{"broadcast", ONNX_ATTR_INT, 1}, {"axis", ONNX_ATTR_INT, 1}}}},
                 {{"b", ONNX_FLOAT, 1, {2}, b2}},
                 {"x"},
                 3,
                 {1, 2, 2},
                 {"y"}};
    CHECK_OK(open_model(&m, &model));
    if (model) {
        CHECK_OK(run(model, x, 4, &y));
        CHECK(y.data[0] == 9 && y.data[1] == 12 && y.data[2] == 17 && y.data[3] == 24);
        tensor_free(&y);
        net_model_close(model);
    }

    /* Clip with constant bounds as inputs (opset 11+) and Identity and Cast on
     * initializers; Dropout with a ratio input and a false training_mode. */
    static const float lo = -2, hi = 3, ratio = 0.5f;
    static const int64_t no = 0;
    m = (tmodel){13,
                 {{"Identity", "i", NULL, {"lo"}, {"lo2"}, {{0}}},
                  {"Cast", "c", NULL, {"hi"}, {"hi2"}, {{"to", ONNX_ATTR_INT, ONNX_FLOAT}}},
                  {"Clip", "clip", NULL, {"x", "lo2", "hi2"}, {"c1"}, {{0}}},
                  {"Dropout", "drop", NULL, {"c1", "ratio", "training"}, {"y"}, {{0}}}},
                 {{"lo", ONNX_FLOAT, 0, {0}, &lo},
                  {"hi", ONNX_FLOAT, 0, {0}, &hi},
                  {"ratio", ONNX_FLOAT, 0, {0}, &ratio},
                  {"training", ONNX_BOOL, 0, {0}}},
                 {"x"},
                 2,
                 {1, 4},
                 {"y"}};
    m.inits[3].i = NULL; /* bool: written below as one byte */
    static const uint8_t false_byte = 0;
    (void)false_byte;
    m.inits[3].dtype = ONNX_INT64;
    m.inits[3].i = &no;
    CHECK_OK(open_model(&m, &model));
    if (model) {
        CHECK_OK(run(model, x, 4, &y));
        CHECK(y.data[0] == -1 && y.data[1] == 2 && y.data[2] == -2 && y.data[3] == 3);
        tensor_free(&y);
        net_model_close(model);
    }
    static const int64_t yes = 1;
    m.inits[3].i = &yes;
    CHECK_FAILS_WITH(open_fails(&m), "node 'drop' (Dropout): training mode is not supported");

    /* Pad: attribute form (opset < 11) and input form. */
    static const int64_t pads[] = {0, 1, 0, 2};
    m = (tmodel){9,
                 {{"Pad", "pad", NULL, {"x"}, {"y"},
                   {{"pads", ONNX_ATTR_INTS, .nints = 4, .ints = {0, 1, 0, 2}}, {"mode", ONNX_ATTR_STRING, .s = "edge"}}}},
                 {{0}},
                 {"x"},
                 2,
                 {1, 4},
                 {"y"}};
    CHECK_OK(open_model(&m, &model));
    if (model) {
        CHECK_OK(run(model, x, 4, &y));
        CHECK(y.ndim == 2 && y.shape[1] == 7 && y.data[0] == -1 && y.data[5] == 4 && y.data[6] == 4);
        tensor_free(&y);
        net_model_close(model);
    }
    static const float value = 7;
    m = (tmodel){13, {{"Pad", "pad", NULL, {"x", "pads", "v"}, {"y"}, {{0}}}},
                 {{"pads", ONNX_INT64, 1, {4}, .i = pads}, {"v", ONNX_FLOAT, 0, {0}, &value}}, {"x"}, 2, {1, 4}, {"y"}};
    CHECK_OK(open_model(&m, &model));
    if (model) {
        CHECK_OK(run(model, x, 4, &y));
        CHECK(y.shape[1] == 7 && y.data[0] == 7 && y.data[1] == -1 && y.data[6] == 7);
        tensor_free(&y);
        net_model_close(model);
    }
}

static void test_external_and_resolution(void)
{
    const char *dir = check_tmpdir();
    char path[4200], cwd[4200];
    /* weights.bin beside the model */
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(w4, sizeof(float), 4, f) == 4 && fclose(f) == 0);
    tmodel m = {13, {{"Add", "add", NULL, {"x", "w"}, {"y"}, {{0}}}},
                {{"w", ONNX_FLOAT, 2, {1, 4}, .location = "weights.bin"}}, {"x"}, 2, {1, 4}, {"y"}};
    size_t len;
    uint8_t *bytes = model_bytes(&m, &len);
    snprintf(path, sizeof path, "%s/ext.onnx", dir);
    f = fopen(path, "wb");
    REQUIRE(f && fwrite(bytes, 1, len, f) == len && fclose(f) == 0);
    net_model *model;
    CHECK_OK(net_model_open(path, &model));
    if (model) {
        tensor y;
        const float x[] = {1, 1, 1, 1};
        CHECK_OK(run(model, x, 4, &y));
        CHECK(y.data[0] == 2 && y.data[3] == 5);
        CHECK(strcmp(net_model_name(model), "ext") == 0);
        CHECK(net_model_label_count(model) == 0);
        tensor_free(&y);
        net_model_close(model);
    }
    /* From memory, external data is refused. */
    CHECK_FAILS_WITH(net_model_open_buffer(bytes, len, "mem", &model), "external data is not allowed");
    free(bytes);
    /* Escaping the model's folder is refused at open. */
    m.inits[0].location = "../weights.bin";
    bytes = model_bytes(&m, &len);
    snprintf(path, sizeof path, "%s/escape.onnx", dir);
    f = fopen(path, "wb");
    REQUIRE(f && fwrite(bytes, 1, len, f) == len && fclose(f) == 0);
    free(bytes);
    CHECK_FAILS_WITH(net_model_open(path, &model), "leaves the model's folder");

    /* Resolution: a cached registry model brings its preprocessing and the
     * ImageNet labels; an uncached one says how to fetch it. */
    char cache[4300], cached[4400], cmd[9000];
    snprintf(cache, sizeof cache, "%s/xdg", dir);
    setenv("XDG_CACHE_HOME", cache, 1);
    CHECK_FAILS_WITH(net_model_open("googlenet", &model), "not downloaded yet: run 'synth model fetch googlenet'");
    CHECK_FAILS_WITH(net_model_open("no-such-model", &model), "no such model");
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/synth/models' && cp '%s/onnx/alexnet_lrn.onnx' '%s/synth/models/googlenet.onnx'",
             cache, SYNTH_TEST_DATA, cache);
    REQUIRE(system(cmd) == 0);
    CHECK_OK(net_model_open("googlenet", &model));
    if (model) {
        const net_preprocess *p = net_model_preprocess(model);
        CHECK(p->bgr && p->scale == 255 && p->mean[0] == 104);
        CHECK(net_model_label_count(model) == 1000 && strcmp(net_model_label(model, 0), "tench") == 0);
        CHECK(strcmp(net_model_name(model), "googlenet") == 0);
        net_model_close(model);
    }
    /* A plain word that is a file in the current folder. */
    REQUIRE(getcwd(cwd, sizeof cwd));
    REQUIRE(chdir(dir) == 0);
    snprintf(cached, sizeof cached, "cp '%s/onnx/alexnet_lrn.onnx' plainfile", SYNTH_TEST_DATA);
    REQUIRE(system(cached) == 0);
    CHECK_OK(net_model_open("plainfile", &model));
    net_model_close(model);
    REQUIRE(chdir(cwd) == 0);
    CHECK_FAILS_WITH(net_model_open("/nonexistent/x.onnx", &model), "cannot open");
}

/* Truncations and random corruption of a real model. */
static void test_damaged_files(void)
{
    onnx_file file;
    REQUIRE(onnx_file_map(SYNTH_TEST_DATA "/onnx/vgg_bn_opset13.onnx", &file) == ST_OK);
    uint8_t *copy = malloc(file.len);
    REQUIRE(copy);
    rng r;
    rng_seed(&r, 99);
    int opened = 0, refused = 0;
    for (int trial = 0; trial < 600; trial++) {
        size_t len = file.len;
        memcpy(copy, file.data, len);
        if (trial < 300) {
            len = (size_t)rng_range(&r, 0, (int64_t)file.len - 1); /* truncated */
        } else {
            int edits = (int)rng_range(&r, 1, 8);
            for (int k = 0; k < edits; k++) /* flips in the first 4 kB: the graph structure */
                copy[rng_range(&r, 0, 4095)] ^= (uint8_t)(1u << rng_range(&r, 0, 7));
        }
        net_model *m = NULL;
        error_clear();
        if (net_model_open_buffer(copy, len, "damaged", &m) == ST_OK) {
            opened++;
            net_model_close(m);
        } else {
            refused++;
            CHECK(strncmp(error_message(), "damaged", 7) == 0 || strstr(error_message(), "node '"));
        }
    }
    printf("damaged models: %d opened, %d refused\n", opened, refused);
    CHECK(refused >= 300);
    free(copy);
    onnx_file_unmap(&file);
}

/* Declared outputs that come out constant are still layers: Shape(x),
 * folded by the importer, and Relu(w) on a constant, folded by the graph. */
static void test_constant_outputs(void)
{
    static const float w[] = {-1, 2, -3, 4};
    tmodel m = {13,
                {{"Shape", "shape", NULL, {"x"}, {"s"}, {{0}}}, {"Relu", "relu", NULL, {"w"}, {"r"}, {{0}}}},
                {{"w", ONNX_FLOAT, 1, {4}, .f = w}},
                {"x"},
                2,
                {1, 3},
                {"s", "r"}};
    net_model *model;
    CHECK_OK(open_model(&m, &model));
    if (!model)
        return;
    REQUIRE(net_model_output_count(model) == 2);
    int layers[2] = {net_model_output_layer(model, 0), net_model_output_layer(model, 1)};
    CHECK(layers[0] >= 0 && layers[1] >= 0 && layers[0] != layers[1]);
    tensor x;
    REQUIRE(tensor_alloc(&x, 2, (int64_t[]){1, 3}) == ST_OK);
    net_session *sess;
    REQUIRE(net_session_create(model, &sess) == ST_OK);
    CHECK_OK(net_forward(sess, &x, 1, layers, 2, NULL));
    const tensor *shape = net_activation(sess, layers[0]), *relu = net_activation(sess, layers[1]);
    CHECK(shape && shape->ndim == 1 && shape->shape[0] == 2 && shape->data[0] == 1 && shape->data[1] == 3);
    CHECK(relu && relu->ndim == 1 && relu->shape[0] == 4 && relu->data[0] == 0 && relu->data[1] == 2 &&
          relu->data[2] == 0 && relu->data[3] == 4);
    net_session_free(sess);
    tensor_free(&x);
    net_model_close(model);
}

int main(void)
{
    test_errors_name_node_and_op();
    test_graph_damage();
    test_forms();
    test_constant_outputs();
    test_external_and_resolution();
    test_damaged_files();
    return check_report("test_onnx_import");
}
