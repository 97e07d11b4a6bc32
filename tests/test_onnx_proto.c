/* The ONNX protobuf decoder and writer (net/onnx_proto.h, white-box): known
 * facts of real files, every model and tensor of ONNX's node tests, hand-made
 * messages round-tripped through the writer, typed and raw payloads of every
 * element type, external data (and paths that try to leave the model's
 * folder), and damaged input: truncation at every byte, random corruption,
 * lying lengths and counts. Under ASan this is also a small fuzz run. */
#include "check.h"
#include "net/onnx_proto.h"

#include <dirent.h>
#include <unistd.h>

#define NODE_DIR "/usr/share/libonnx-testdata/data/node"

static bool have_node_tests(void) { return access(NODE_DIR, R_OK) == 0; }

/* ---- building messages with the writer ----------------------------------- */

/* A growable byte buffer behind a FILE (open_memstream). */
typedef struct {
    char *data;
    size_t len;
    FILE *f;
    pb_writer w;
} membuf;

static void mem_open(membuf *m)
{
    m->data = NULL;
    m->len = 0;
    m->f = open_memstream(&m->data, &m->len);
    REQUIRE(m->f);
    m->w = (pb_writer){m->f, 0, false};
}

static pb_slice mem_close(membuf *m)
{
    REQUIRE(fclose(m->f) == 0 && !m->w.failed);
    return (pb_slice){(const uint8_t *)m->data, m->len};
}

/* A float tensor "w" of shape 2×3 with values 0.5 * k. */
static const int64_t w_dims[] = {2, 3};
static const float w_values[] = {0, 0.5f, 1, 1.5f, 2, 2.5f};

static void write_tensor_raw(pb_writer *w, const void *ctx)
{
    (void)ctx;
    pb_put_packed_int64(w, 1, w_dims, 2);
    pb_put_varint_field(w, 2, ONNX_FLOAT);
    pb_put_string_field(w, 8, "w");
    pb_put_bytes_field(w, 9, w_values, sizeof w_values);
}

static void write_tensor_typed(pb_writer *w, const void *ctx)
{
    (void)ctx;
    pb_put_int64_field(w, 1, 2); /* dims unpacked, one field each */
    pb_put_int64_field(w, 1, 3);
    pb_put_varint_field(w, 2, ONNX_FLOAT);
    pb_put_string_field(w, 8, "w_typed");
    pb_put_packed_float(w, 4, w_values, 4); /* packed and unpacked mixed */
    pb_put_float_field(w, 4, w_values[4]);
    pb_put_float_field(w, 4, w_values[5]);
}

static void write_attr_ints(pb_writer *w, const void *ctx)
{
    (void)ctx;
    static const int64_t pads[] = {1, -2, 3, 4};
    pb_put_string_field(w, 1, "pads");
    pb_put_packed_int64(w, 8, pads, 4);
    pb_put_varint_field(w, 20, ONNX_ATTR_INTS);
}

static void write_attr_float_untyped(pb_writer *w, const void *ctx)
{
    (void)ctx; /* IR version 1: no type field */
    pb_put_string_field(w, 1, "alpha");
    pb_put_float_field(w, 2, 0.25f);
}

static void write_attr_tensor(pb_writer *w, const void *ctx)
{
    (void)ctx;
    pb_put_string_field(w, 1, "value");
    pb_put_message_field(w, 5, write_tensor_typed, NULL);
    pb_put_varint_field(w, 20, ONNX_ATTR_TENSOR);
}

static void write_node(pb_writer *w, const void *ctx)
{
    (void)ctx;
    pb_put_string_field(w, 1, "x");
    pb_put_string_field(w, 1, "");
    pb_put_string_field(w, 1, "w");
    pb_put_string_field(w, 2, "y");
    pb_put_string_field(w, 3, "conv7");
    pb_put_string_field(w, 4, "Conv");
    pb_put_message_field(w, 5, write_attr_ints, NULL);
    pb_put_message_field(w, 5, write_attr_float_untyped, NULL);
    pb_put_message_field(w, 5, write_attr_tensor, NULL);
    pb_put_varint_field(w, 99, 12345); /* an unknown field is skipped */
}

static void write_dim_value(pb_writer *w, const void *ctx) { pb_put_int64_field(w, 1, *(const int64_t *)ctx); }
static void write_dim_param(pb_writer *w, const void *ctx) { (void)ctx; pb_put_string_field(w, 2, "N"); }

static void write_shape(pb_writer *w, const void *ctx)
{
    (void)ctx;
    static const int64_t three = 3, sixty_four = 64;
    pb_put_message_field(w, 1, write_dim_param, NULL);
    pb_put_message_field(w, 1, write_dim_value, &three);
    pb_put_message_field(w, 1, write_dim_value, &sixty_four);
    pb_put_message_field(w, 1, write_dim_value, &sixty_four);
}

static void write_tensor_type(pb_writer *w, const void *ctx)
{
    (void)ctx;
    pb_put_varint_field(w, 1, ONNX_FLOAT);
    pb_put_message_field(w, 2, write_shape, NULL);
}

static void write_type(pb_writer *w, const void *ctx)
{
    (void)ctx;
    pb_put_message_field(w, 1, write_tensor_type, NULL);
}

static void write_value_x(pb_writer *w, const void *ctx)
{
    (void)ctx;
    pb_put_string_field(w, 1, "x");
    pb_put_message_field(w, 2, write_type, NULL);
}

static void write_value_y(pb_writer *w, const void *ctx)
{
    (void)ctx;
    pb_put_string_field(w, 1, "y");
}

static void write_graph(pb_writer *w, const void *ctx)
{
    (void)ctx;
    pb_put_message_field(w, 1, write_node, NULL);
    pb_put_string_field(w, 2, "g");
    pb_put_message_field(w, 5, write_tensor_raw, NULL);
    pb_put_message_field(w, 11, write_value_x, NULL);
    pb_put_message_field(w, 12, write_value_y, NULL);
}

static void write_opset(pb_writer *w, const void *ctx)
{
    (void)ctx;
    pb_put_string_field(w, 1, "");
    pb_put_int64_field(w, 2, 13);
}

static void write_model(pb_writer *w)
{
    pb_put_int64_field(w, 1, 8);
    pb_put_string_field(w, 2, "synth-test");
    pb_put_message_field(w, 8, write_opset, NULL);
    pb_put_message_field(w, 7, write_graph, NULL);
}

static void check_w_values(const onnx_tensor *t)
{
    float got[6] = {0};
    CHECK(t->count == 6 && t->rank == 2 && t->dims[0] == 2 && t->dims[1] == 3);
    CHECK_OK(onnx_tensor_read_float(t, NULL, "t", got));
    CHECK(memcmp(got, w_values, sizeof got) == 0);
}

static void test_handmade_model(void)
{
    membuf m;
    mem_open(&m);
    write_model(&m.w);
    pb_slice buf = mem_close(&m);

    /* The measuring writer agrees with what was emitted. */
    pb_writer measure = {NULL, 0, false};
    write_model(&measure);
    CHECK(measure.size == buf.len);

    onnx_arena *a = onnx_arena_new();
    onnx_model model;
    CHECK_OK(onnx_decode_model(buf, "hand.onnx", a, &model));
    CHECK(model.ir_version == 8 && strcmp(model.producer_name, "synth-test") == 0);
    CHECK(onnx_model_opset(&model) == 13);
    const onnx_graph *g = &model.graph;
    CHECK(strcmp(g->name, "g") == 0);
    REQUIRE(g->nnodes == 1 && g->ninitializers == 1 && g->ninputs == 1 && g->noutputs == 1);
    const onnx_node *n = &g->nodes[0];
    CHECK(strcmp(n->op_type, "Conv") == 0 && strcmp(n->name, "conv7") == 0 && n->domain[0] == '\0');
    REQUIRE(n->ninputs == 3 && n->noutputs == 1 && n->nattributes == 3);
    CHECK(strcmp(n->inputs[1], "") == 0 && strcmp(n->inputs[2], "w") == 0);
    const onnx_attribute *pads = onnx_node_attribute(n, "pads");
    REQUIRE(pads && pads->type == ONNX_ATTR_INTS && pads->nints == 4);
    CHECK(pads->ints[0] == 1 && pads->ints[1] == -2 && pads->ints[3] == 4);
    const onnx_attribute *alpha = onnx_node_attribute(n, "alpha");
    REQUIRE(alpha);
    CHECK(alpha->type == ONNX_ATTR_FLOAT && alpha->f == 0.25f);
    const onnx_attribute *value = onnx_node_attribute(n, "value");
    REQUIRE(value && value->type == ONNX_ATTR_TENSOR && value->t);
    CHECK(strcmp(value->t->name, "w_typed") == 0 && value->t->typed_count == 6);
    check_w_values(value->t);
    CHECK(onnx_node_attribute(n, "missing") == NULL);

    const onnx_tensor *init = &g->initializers[0];
    CHECK(strcmp(init->name, "w") == 0 && init->has_raw && init->data_type == ONNX_FLOAT);
    check_w_values(init);
    int64_t as_int[6];
    CHECK_FAILS_WITH(onnx_tensor_read_int64(init, NULL, "t", as_int), "expected an integer type");

    const onnx_value_info *x = &g->inputs[0];
    CHECK(strcmp(x->name, "x") == 0 && x->is_tensor && x->elem_type == ONNX_FLOAT && x->has_shape);
    REQUIRE(x->rank == 4);
    CHECK(x->dims[0] == -1 && x->dims[1] == 3 && x->dims[2] == 64 && x->dims[3] == 64);
    CHECK(strcmp(g->outputs[0].name, "y") == 0 && !g->outputs[0].is_tensor);
    onnx_arena_free(a);

    /* Every proper prefix is either refused cleanly or (cut at a field
     * boundary) decodes to something smaller; never a crash or a leak. */
    for (size_t cut = 0; cut < buf.len; cut++) {
        a = onnx_arena_new();
        pb_slice part = {buf.data, cut};
        error_clear();
        status s = onnx_decode_model(part, "cut.onnx", a, &model);
        CHECK(s == ST_OK || strncmp(error_message(), "cut.onnx: ", 10) == 0);
        onnx_arena_free(a);
    }
    free(m.data);
}

/* Decodes bytes given as a literal. */
static status decode_bytes(const void *bytes, size_t len)
{
    onnx_arena *a = onnx_arena_new();
    onnx_model model;
    status s = onnx_decode_model((pb_slice){bytes, len}, "bad.onnx", a, &model);
    onnx_arena_free(a);
    return s;
}

static void test_malformed(void)
{
    /* graph (field 7, length 200) with only 2 bytes behind it */
    static const uint8_t long_claim[] = {0x3a, 0xc8, 0x01, 0x0a, 0x00};
    CHECK_FAILS_WITH(decode_bytes(long_claim, sizeof long_claim), "claims 200 bytes but only 2 remain");
    /* a length varint of 11 bytes */
    static const uint8_t long_varint[] = {0x3a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_FAILS_WITH(decode_bytes(long_varint, sizeof long_varint), "truncated length");
    /* a length near 2^64 */
    static const uint8_t huge_len[] = {0x3a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_FAILS_WITH(decode_bytes(huge_len, sizeof huge_len), "claims");
    /* start-group wire type */
    static const uint8_t group[] = {0x0b, 0x0c};
    CHECK_FAILS_WITH(decode_bytes(group, sizeof group), "unsupported wire type 3");
    /* field number 0 */
    static const uint8_t zero_field[] = {0x00, 0x01};
    CHECK_FAILS_WITH(decode_bytes(zero_field, sizeof zero_field), "invalid field number 0");
    /* no graph at all */
    static const uint8_t no_graph[] = {0x08, 0x07};
    CHECK_FAILS_WITH(decode_bytes(no_graph, sizeof no_graph), "no graph");
    /* graph as a varint */
    static const uint8_t graph_varint[] = {0x38, 0x01};
    CHECK_FAILS_WITH(decode_bytes(graph_varint, sizeof graph_varint), "graph has wire type 0");
    /* two graphs */
    static const uint8_t two_graphs[] = {0x3a, 0x00, 0x3a, 0x00};
    CHECK_FAILS_WITH(decode_bytes(two_graphs, sizeof two_graphs), "two graphs");
    /* a node inside the graph whose op_type holds a NUL */
    static const uint8_t nul_name[] = {0x3a, 0x06, 0x0a, 0x04, 0x22, 0x02, 'A', 0x00};
    CHECK_FAILS_WITH(decode_bytes(nul_name, sizeof nul_name), "op_type contains a NUL byte");
    /* a node whose nested attribute claims more than the node holds */
    static const uint8_t attr_overrun[] = {0x3a, 0x05, 0x0a, 0x03, 0x2a, 0x05, 0x0a};
    CHECK_FAILS_WITH(decode_bytes(attr_overrun, sizeof attr_overrun), "claims 5 bytes but only 1 remain");
    /* a packed ints attribute whose last varint is cut */
    static const uint8_t bad_packed[] = {0x3a, 0x07, 0x0a, 0x05, 0x2a, 0x03, 0x42, 0x01, 0x80};
    CHECK_FAILS_WITH(decode_bytes(bad_packed, sizeof bad_packed), "bad varint in packed field 8");
    /* an initializer with nine dimensions */
    static const uint8_t rank9[] = {0x3a, 0x0f, 0x2a, 0x0d, 0x0a, 0x09, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0x10, 0x01};
    CHECK_FAILS_WITH(decode_bytes(rank9, sizeof rank9), "more than 8 dimensions");
    /* an initializer whose dims multiply past SIZE_MAX */
    static const uint8_t overflow[] = {0x3a, 0x18, 0x2a, 0x16, 0x0a, 0x14,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x02, 0x02};
    CHECK_FAILS_WITH(decode_bytes(overflow, sizeof overflow), "too large");
    /* a negative dimension */
    static const uint8_t negative[] = {0x3a, 0x0e, 0x2a, 0x0c, 0x0a, 0x0a,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_FAILS_WITH(decode_bytes(negative, sizeof negative), "negative");
    /* a segmented tensor */
    static const uint8_t segment[] = {0x3a, 0x04, 0x2a, 0x02, 0x1a, 0x00};
    CHECK_FAILS_WITH(decode_bytes(segment, sizeof segment), "segmented");
}

/* Decodes the TensorProto `write` writes; free *a and m->data after. */
static status decode_written(void (*write)(pb_writer *, const void *), const void *ctx, membuf *m,
                             onnx_arena **a, onnx_tensor *t)
{
    mem_open(m);
    write(&m->w, ctx);
    pb_slice buf = mem_close(m);
    *a = onnx_arena_new();
    return onnx_decode_tensor(buf, "t.pb", *a, t);
}

static void with_tensor(void (*write)(pb_writer *, const void *), const void *ctx,
                        void (*check)(const onnx_tensor *))
{
    membuf m;
    onnx_arena *a;
    onnx_tensor t;
    CHECK_OK(decode_written(write, ctx, &m, &a, &t));
    check(&t);
    onnx_arena_free(a);
    free(m.data);
}

/* A tensor of claimed dims 1000000 × 1000000 with only 4 bytes of data. */
static void write_huge_claim(pb_writer *w, const void *ctx)
{
    (void)ctx;
    static const int64_t dims[] = {1000000, 1000000};
    pb_put_packed_int64(w, 1, dims, 2);
    pb_put_varint_field(w, 2, ONNX_FLOAT);
    pb_put_bytes_field(w, 9, "abcd", 4);
}

static void check_huge_claim(const onnx_tensor *t)
{
    CHECK(t->count == 1000000000000u);
    CHECK_FAILS_WITH(onnx_tensor_check(t, NULL, "t.pb"), "raw_data is 4 bytes, expected 4000000000000");
}

/* int32 typed values, with negatives (sign-extended varints), and int64. */
static void write_ints(pb_writer *w, const void *ctx)
{
    int32_t dtype = *(const int32_t *)ctx;
    static const int64_t v[] = {-3, 0, 7, -1};
    pb_put_int64_field(w, 1, 4);
    pb_put_varint_field(w, 2, (uint64_t)dtype);
    pb_put_packed_int64(w, dtype == ONNX_INT64 ? 7 : 5, v, 4);
}

static void check_ints(const onnx_tensor *t)
{
    int64_t got[4];
    float gotf[4];
    CHECK_OK(onnx_tensor_read_int64(t, NULL, "t", got));
    CHECK(got[0] == -3 && got[1] == 0 && got[2] == 7 && got[3] == -1);
    CHECK_OK(onnx_tensor_read_float(t, NULL, "t", gotf));
    CHECK(gotf[0] == -3 && gotf[3] == -1);
}

/* float16 in int32_data: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff,
 * smallest subnormal 2^-24 = 0x0001. */
static void write_half(pb_writer *w, const void *ctx)
{
    (void)ctx;
    static const int64_t bits[] = {0x3c00, 0xc000, 0x7bff, 0x0001};
    pb_put_int64_field(w, 1, 4);
    pb_put_varint_field(w, 2, ONNX_FLOAT16);
    pb_put_packed_int64(w, 5, bits, 4);
}

static void check_half(const onnx_tensor *t)
{
    float got[4];
    CHECK_OK(onnx_tensor_read_float(t, NULL, "t", got));
    CHECK(got[0] == 1.0f && got[1] == -2.0f && got[2] == 65504.0f && got[3] == 0x1p-24f);
}

/* Raw little-endian of several types. */
static void write_raw_types(pb_writer *w, const void *ctx)
{
    int32_t dtype = *(const int32_t *)ctx;
    static const uint8_t int8[] = {0xfe, 0x05};                                     /* -2, 5 */
    static const uint8_t uint16[] = {0xfe, 0xff, 0x05, 0x00};                       /* 65534, 5 */
    static const uint8_t dbl[] = {0, 0, 0, 0, 0, 0, 0xf0, 0xbf, 0, 0, 0, 0, 0, 0, 0x14, 0x40}; /* -1, 5 */
    static const uint8_t bf16[] = {0x80, 0xbf, 0xa0, 0x40};                          /* -1, 5 */
    pb_put_int64_field(w, 1, 2);
    pb_put_varint_field(w, 2, (uint64_t)dtype);
    if (dtype == ONNX_INT8)
        pb_put_bytes_field(w, 9, int8, sizeof int8);
    else if (dtype == ONNX_UINT16)
        pb_put_bytes_field(w, 9, uint16, sizeof uint16);
    else if (dtype == ONNX_DOUBLE)
        pb_put_bytes_field(w, 9, dbl, sizeof dbl);
    else
        pb_put_bytes_field(w, 9, bf16, sizeof bf16);
}

static int32_t raw_type;
static void check_raw_types(const onnx_tensor *t)
{
    float got[2];
    CHECK_OK(onnx_tensor_read_float(t, NULL, "t", got));
    float first = raw_type == ONNX_INT8 ? -2.0f : raw_type == ONNX_UINT16 ? 65534.0f : -1.0f;
    CHECK(got[0] == first && got[1] == 5.0f);
}

static void write_string_tensor(pb_writer *w, const void *ctx)
{
    (void)ctx;
    pb_put_int64_field(w, 1, 1);
    pb_put_varint_field(w, 2, ONNX_STRING);
    pb_put_string_field(w, 6, "hello");
}

static void check_string_refused(const onnx_tensor *t)
{
    float f;
    CHECK_FAILS_WITH(onnx_tensor_read_float(t, NULL, "t", &f), "type string");
}

static void write_short_typed(pb_writer *w, const void *ctx)
{
    (void)ctx;
    pb_put_int64_field(w, 1, 3);
    pb_put_varint_field(w, 2, ONNX_FLOAT);
    pb_put_float_field(w, 4, 1.0f);
}

static void check_short_typed(const onnx_tensor *t)
{
    CHECK_FAILS_WITH(onnx_tensor_check(t, NULL, "t"), "holds 1 values, its shape needs 3");
}

static void test_payloads(void)
{
    with_tensor(write_huge_claim, NULL, check_huge_claim);
    static const int32_t int32 = ONNX_INT32, int64 = ONNX_INT64;
    with_tensor(write_ints, &int32, check_ints);
    with_tensor(write_ints, &int64, check_ints);
    with_tensor(write_half, NULL, check_half);
    static const int32_t raw_types[] = {ONNX_INT8, ONNX_UINT16, ONNX_DOUBLE, ONNX_BFLOAT16};
    for (int i = 0; i < 4; i++) {
        raw_type = raw_types[i];
        with_tensor(write_raw_types, &raw_types[i], check_raw_types);
    }
    with_tensor(write_string_tensor, NULL, check_string_refused);
    with_tensor(write_short_typed, NULL, check_short_typed);
}

/* ---- external data ------------------------------------------------------- */

typedef struct {
    const char *location;
    const char *offset; /* NULL: absent */
    const char *length;
} external_spec;

static void write_entry(pb_writer *w, const void *ctx)
{
    const char *const *kv = ctx;
    pb_put_string_field(w, 1, kv[0]);
    pb_put_string_field(w, 2, kv[1]);
}

static void write_external(pb_writer *w, const void *ctx)
{
    const external_spec *e = ctx;
    pb_put_packed_int64(w, 1, w_dims, 2);
    pb_put_varint_field(w, 2, ONNX_FLOAT);
    pb_put_string_field(w, 8, "ext");
    const char *loc[2] = {"location", e->location}, *off[2] = {"offset", e->offset},
               *len[2] = {"length", e->length};
    pb_put_message_field(w, 13, write_entry, loc);
    if (e->offset)
        pb_put_message_field(w, 13, write_entry, off);
    if (e->length)
        pb_put_message_field(w, 13, write_entry, len);
    pb_put_varint_field(w, 14, 1);
}

static status read_external(const char *model_path, const external_spec *e, float out[6])
{
    membuf m;
    onnx_arena *a;
    onnx_tensor t;
    status s = decode_written(write_external, e, &m, &a, &t);
    if (s == ST_OK)
        s = onnx_tensor_read_float(&t, model_path, "m.onnx", out);
    onnx_arena_free(a);
    free(m.data);
    return s;
}

static void test_external(void)
{
    const char *dir = check_tmpdir();
    char path[4200], model[4200], cmd[9000];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/model/sub' '%s/outside'", dir, dir);
    REQUIRE(system(cmd) == 0);
    /* weights.bin: 8 junk bytes, then the six floats */
    snprintf(path, sizeof path, "%s/model/sub/weights.bin", dir);
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fwrite("junkjunk", 1, 8, f);
    fwrite(w_values, sizeof(float), 6, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/outside/secret.bin", dir);
    f = fopen(path, "wb");
    REQUIRE(f);
    fwrite(w_values, sizeof(float), 6, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "ln -sf '%s/outside/secret.bin' '%s/model/link.bin'", dir, dir);
    REQUIRE(system(cmd) == 0);
    snprintf(model, sizeof model, "%s/model/m.onnx", dir);

    float got[6] = {0};
    CHECK_OK(read_external(model, &(external_spec){"sub/weights.bin", "8", "24"}, got));
    CHECK(memcmp(got, w_values, sizeof got) == 0);
    CHECK_FAILS_WITH(read_external(model, &(external_spec){"sub/weights.bin", "9", NULL}, got),
                     "too short");
    CHECK_FAILS_WITH(read_external(model, &(external_spec){"sub/weights.bin", "8", "20"}, got),
                     "external data length 20, expected 24");
    CHECK_FAILS_WITH(read_external(model, &(external_spec){"sub/weights.bin", "x8", NULL}, got),
                     "offset 'x8' is not a number");
    CHECK_FAILS_WITH(read_external(model, &(external_spec){"../outside/secret.bin", NULL, NULL}, got),
                     "leaves the model's folder");
    CHECK_FAILS_WITH(read_external(model, &(external_spec){"sub/../../outside/secret.bin", NULL, NULL}, got),
                     "leaves the model's folder");
    snprintf(path, sizeof path, "%s/outside/secret.bin", dir);
    CHECK_FAILS_WITH(read_external(model, &(external_spec){path, NULL, NULL}, got), "must be a relative path");
    CHECK_FAILS_WITH(read_external(model, &(external_spec){"link.bin", NULL, NULL}, got),
                     "leaves the model's folder");
    CHECK_FAILS_WITH(read_external(model, &(external_spec){"missing.bin", NULL, NULL}, got),
                     "No such file");
    CHECK_FAILS_WITH(read_external(NULL, &(external_spec){"sub/weights.bin", "8", NULL}, got),
                     "not allowed");
}

/* ---- ONNX's node tests: every model and tensor decodes ------------------- */

/* Decodes a node test's tensor file, converting the payload. */
static bool decode_tensor_file(const char *path)
{
    onnx_file file;
    if (onnx_file_map(path, &file) != ST_OK)
        return false;
    onnx_arena *a = onnx_arena_new();
    onnx_tensor t;
    bool ok = onnx_decode_tensor((pb_slice){file.data, file.len}, path, a, &t) == ST_OK;
    if (ok && t.data_type != ONNX_STRING) {
        float *v = malloc((t.count ? t.count : 1) * sizeof *v);
        ok = v && onnx_tensor_read_float(&t, path, path, v) == ST_OK;
        free(v);
    }
    onnx_arena_free(a);
    onnx_file_unmap(&file);
    return ok;
}

/* Decodes a node test: the model, its initializers' payloads, and the .pb
 * file of every input and output the model declares as a tensor (sequences
 * and optionals are other messages). Returns the number of failures. */
static int decode_node_test(const char *name, int *ntensors)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s/model.onnx", NODE_DIR, name);
    onnx_file file;
    if (onnx_file_map(path, &file) != ST_OK) {
        fprintf(stderr, "%s\n", error_message());
        return 1;
    }
    onnx_arena *a = onnx_arena_new();
    onnx_model m;
    int failed = 0;
    if (onnx_decode_model((pb_slice){file.data, file.len}, path, a, &m) != ST_OK) {
        fprintf(stderr, "%s\n", error_message());
        failed++;
        m.graph.ninputs = m.graph.noutputs = 0;
    }
    for (int i = 0; !failed && i < m.graph.ninitializers; i++)
        if (onnx_tensor_check(&m.graph.initializers[i], path, path) != ST_OK) {
            fprintf(stderr, "%s\n", error_message());
            failed++;
        }
    for (int set = 0; !failed; set++) {
        snprintf(path, sizeof path, "%s/%s/test_data_set_%d", NODE_DIR, name, set);
        if (access(path, R_OK) != 0)
            break;
        for (int io = 0; io < 2; io++) {
            int n = io ? m.graph.noutputs : m.graph.ninputs;
            const onnx_value_info *v = io ? m.graph.outputs : m.graph.inputs;
            for (int k = 0; k < n; k++) {
                snprintf(path, sizeof path, "%s/%s/test_data_set_%d/%s_%d.pb", NODE_DIR, name, set,
                         io ? "output" : "input", k);
                if (!v[k].is_tensor || access(path, R_OK) != 0)
                    continue; /* optional inputs may be left out */
                (*ntensors)++;
                if (!decode_tensor_file(path)) {
                    fprintf(stderr, "%s\n", error_message());
                    failed++;
                }
            }
        }
    }
    onnx_arena_free(a);
    onnx_file_unmap(&file);
    return failed;
}

static void test_node_test_files(void)
{
    if (!have_node_tests()) {
        printf("note: %s is missing (Debian package libonnx-testdata); node-test files not decoded\n",
               NODE_DIR);
        return;
    }
    DIR *dir = opendir(NODE_DIR);
    REQUIRE(dir);
    int models = 0, tensors = 0, failed = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        if (strncmp(e->d_name, "test_", 5) == 0) {
            models++;
            failed += decode_node_test(e->d_name, &tensors);
        }
    closedir(dir);
    printf("decoded %d node-test models and %d tensors\n", models, tensors);
    CHECK(models > 900 && tensors > 2000);
    CHECK(failed == 0);

    /* Facts of one file (as `python3 -c "import onnx; print(onnx.load(...))"` shows). */
    onnx_file file;
    CHECK_OK(onnx_file_map(NODE_DIR "/test_conv_with_strides_padding/model.onnx", &file));
    onnx_arena *a = onnx_arena_new();
    onnx_model m;
    CHECK_OK(onnx_decode_model((pb_slice){file.data, file.len}, "conv", a, &m));
    CHECK(m.ir_version == 6 && onnx_model_opset(&m) == 11);
    CHECK(strcmp(m.producer_name, "backend-test") == 0);
    REQUIRE(m.graph.nnodes == 1 && m.graph.ninputs == 2 && m.graph.noutputs == 1);
    const onnx_node *n = &m.graph.nodes[0];
    CHECK(strcmp(n->op_type, "Conv") == 0 && n->ninputs == 2 && strcmp(n->inputs[1], "W") == 0);
    const onnx_attribute *pads = onnx_node_attribute(n, "pads"), *st = onnx_node_attribute(n, "strides");
    REQUIRE(pads && st);
    CHECK(pads->nints == 4 && pads->ints[0] == 1 && st->nints == 2 && st->ints[1] == 2);
    CHECK(m.graph.outputs[0].rank == 4 && m.graph.outputs[0].dims[2] == 4 && m.graph.outputs[0].dims[3] == 3);
    onnx_arena_free(a);
    onnx_file_unmap(&file);

    CHECK_OK(onnx_file_map(NODE_DIR "/test_conv_with_strides_padding/test_data_set_0/input_0.pb", &file));
    a = onnx_arena_new();
    onnx_tensor t;
    CHECK_OK(onnx_decode_tensor((pb_slice){file.data, file.len}, "x", a, &t));
    CHECK(t.rank == 4 && t.dims[2] == 7 && t.dims[3] == 5 && t.count == 35 && t.has_raw);
    float x[35];
    CHECK_OK(onnx_tensor_read_float(&t, NULL, "x", x));
    CHECK(x[0] == 0 && x[34] == 34); /* the test's input is 0, 1, ..., 34 */
    onnx_arena_free(a);
    onnx_file_unmap(&file);
}

/* ---- random damage ------------------------------------------------------- */

/* Flips, deletes and duplicates random bytes of real models; every result
 * must decode or fail with a message, never crash (ASan/UBSan watch). */
static void test_random_damage(void)
{
    if (!have_node_tests())
        return;
    static const char *const files[] = {
        NODE_DIR "/test_conv_with_strides_padding/model.onnx",
        NODE_DIR "/test_gemm_all_attributes/model.onnx",
        NODE_DIR "/test_constant_pad/model.onnx",
        NODE_DIR "/test_lrn/test_data_set_0/input_0.pb",
    };
    rng r;
    rng_seed(&r, 4);
    int decoded = 0, refused = 0;
    for (size_t fi = 0; fi < sizeof files / sizeof *files; fi++) {
        onnx_file file;
        REQUIRE(onnx_file_map(files[fi], &file) == ST_OK);
        uint8_t *copy = malloc(file.len + 16);
        REQUIRE(copy);
        for (int trial = 0; trial < 2000; trial++) {
            size_t len = file.len;
            memcpy(copy, file.data, len);
            int edits = (int)rng_range(&r, 1, 4);
            for (int k = 0; k < edits; k++) {
                size_t at = (size_t)rng_range(&r, 0, (int64_t)len - 1);
                switch (rng_range(&r, 0, 2)) {
                case 0: copy[at] ^= (uint8_t)(1u << rng_range(&r, 0, 7)); break;
                case 1: copy[at] = (uint8_t)rng_u64(&r); break;
                default: len = at + 1; break; /* truncate */
                }
            }
            onnx_arena *a = onnx_arena_new();
            pb_slice buf = {copy, len};
            status s;
            if (strstr(files[fi], ".pb")) {
                onnx_tensor t;
                s = onnx_decode_tensor(buf, "fuzz", a, &t);
                if (s == ST_OK && onnx_tensor_check(&t, NULL, "fuzz") == ST_OK &&
                    t.data_type != ONNX_STRING) {
                    float *v = malloc((t.count ? t.count : 1) * sizeof *v);
                    if (v)
                        onnx_tensor_read_float(&t, NULL, "fuzz", v);
                    free(v);
                }
            } else {
                onnx_model m;
                s = onnx_decode_model(buf, "fuzz", a, &m);
            }
            if (s == ST_OK)
                decoded++;
            else {
                refused++;
                CHECK(strncmp(error_message(), "fuzz: ", 6) == 0);
            }
            onnx_arena_free(a);
        }
        free(copy);
        onnx_file_unmap(&file);
    }
    printf("random damage: %d decoded, %d refused\n", decoded, refused);
    CHECK(refused > 0);
}

int main(void)
{
    test_handmade_model();
    test_malformed();
    test_payloads();
    test_external();
    test_node_test_files();
    test_random_damage();
    return check_report("test_onnx_proto");
}
