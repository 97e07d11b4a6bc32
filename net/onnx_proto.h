/* onnx_proto.h — private to net/: the ONNX protobuf messages synth reads and
 * writes, decoded without copying from a memory buffer (a file mapped with
 * onnx_file_map, or any bytes a fuzzer hands over), and the protobuf writer
 * export uses. Why our own decoder and not protobuf-c: see onnx_proto.c.
 *
 * Decoded structures point into two places: the input buffer (tensor payloads,
 * kept as slices and converted only when asked) and an arena that owns every
 * array and NUL-terminated name. Both must outlive the structures; freeing the
 * arena frees them all at once.
 */
#ifndef SYNTH_NET_ONNX_PROTO_H
#define SYNTH_NET_ONNX_PROTO_H

#include "net/net.h"

/* A run of bytes inside the input buffer. */
typedef struct {
    const uint8_t *data;
    size_t len;
} pb_slice;

/* ---- arena: one owner for everything a decode allocates -------------------- */
typedef struct onnx_arena onnx_arena;
onnx_arena *onnx_arena_new(void); /* NULL on exhaustion (error recorded) */
void onnx_arena_free(onnx_arena *a);
/* count × size zeroed bytes, 16-byte aligned; NULL with an error on overflow or
 * exhaustion. */
void *onnx_arena_alloc(onnx_arena *a, size_t count, size_t size);
char *onnx_arena_strdup(onnx_arena *a, const char *s, size_t len); /* adds the NUL */
/* From now on, the arena may grow by at most `more` bytes; beyond that an
 * allocation fails with "needs more than N MB of working memory to import".
 * Decoding and importing are bounded this way relative to the file's size,
 * so a small hostile file cannot ask for gigabytes. */
void onnx_arena_set_limit(onnx_arena *a, size_t more);
/* The arena budgets: decoding costs a few times the bytes a real model
 * holds (a field of 2 bytes can become a 100-byte struct, so a hostile file
 * would otherwise amplify 50x); importing (symbols, folded shape constants)
 * likewise. */
#define ONNX_DECODE_BUDGET(bytes) (((size_t)256 << 20) + 8 * (size_t)(bytes))
#define ONNX_IMPORT_BUDGET(bytes) (((size_t)256 << 20) + 16 * (size_t)(bytes))

/* ---- the messages ------------------------------------------------------------ */

/* TensorProto.DataType */
typedef enum {
    ONNX_UNDEFINED = 0,
    ONNX_FLOAT = 1,
    ONNX_UINT8 = 2,
    ONNX_INT8 = 3,
    ONNX_UINT16 = 4,
    ONNX_INT16 = 5,
    ONNX_INT32 = 6,
    ONNX_INT64 = 7,
    ONNX_STRING = 8,
    ONNX_BOOL = 9,
    ONNX_FLOAT16 = 10,
    ONNX_DOUBLE = 11,
    ONNX_UINT32 = 12,
    ONNX_UINT64 = 13,
    ONNX_COMPLEX64 = 14,
    ONNX_COMPLEX128 = 15,
    ONNX_BFLOAT16 = 16,
} onnx_dtype;
const char *onnx_dtype_name(int32_t dtype); /* "float", "int64", ...; "type 42" */
/* Bytes per element in raw_data; 0 for types without a fixed size (string) or
 * unknown ones. */
size_t onnx_dtype_size(int32_t dtype);

enum { ONNX_MAX_RANK = 8 }; /* tensors of higher rank are refused at decode */

typedef struct {
    const char *name;    /* "" when absent */
    int32_t data_type;   /* onnx_dtype */
    int rank;
    int64_t dims[ONNX_MAX_RANK];
    size_t count;        /* product of dims (1 for rank 0), overflow-checked */
    bool has_raw;        /* raw_data present: `raw` holds count × size bytes, LE */
    pb_slice raw;
    size_t typed_count;  /* values found in the typed field that data_type uses */
    pb_slice message;    /* the whole TensorProto: typed fields are re-read from it */
    bool external;       /* data_location == EXTERNAL: the bytes are in another file */
    const char *location;          /* external_data "location", relative */
    int64_t external_offset;       /* "offset", 0 when absent */
    int64_t external_length;       /* "length", -1 when absent */
} onnx_tensor;

/* ValueInfoProto: a graph input, output or intermediate value. */
typedef struct {
    const char *name;
    bool is_tensor;      /* TypeProto holds tensor_type (else a sequence, map, ...) */
    int32_t elem_type;
    bool has_shape;
    int rank;
    int64_t *dims;       /* rank entries; -1 for a symbolic or unknown dimension */
} onnx_value_info;

/* AttributeProto.AttributeType */
typedef enum {
    ONNX_ATTR_UNDEFINED = 0,
    ONNX_ATTR_FLOAT = 1,
    ONNX_ATTR_INT = 2,
    ONNX_ATTR_STRING = 3,
    ONNX_ATTR_TENSOR = 4,
    ONNX_ATTR_GRAPH = 5,
    ONNX_ATTR_FLOATS = 6,
    ONNX_ATTR_INTS = 7,
    ONNX_ATTR_STRINGS = 8,
    ONNX_ATTR_TENSORS = 9,
    ONNX_ATTR_GRAPHS = 10,
    ONNX_ATTR_SPARSE_TENSOR = 11,
    ONNX_ATTR_SPARSE_TENSORS = 12,
    ONNX_ATTR_TYPE_PROTO = 13,
    ONNX_ATTR_TYPE_PROTOS = 14,
} onnx_attr_type;

typedef struct {
    const char *name;
    int type;             /* onnx_attr_type; inferred from the fields when absent */
    const char *ref_attr_name; /* non-NULL inside function bodies: not supported */
    float f;
    int64_t i;
    const char *s;        /* NUL-terminated copy of the bytes ("" when absent) */
    size_t s_len;
    onnx_tensor *t;
    int nfloats;
    float *floats;
    int nints;
    int64_t *ints;
    int nstrings;
    const char **strings;
    int ntensors;
    onnx_tensor *tensors;
    /* Graphs, sparse tensors and type protos are recognised (type) but not
     * decoded: no op synth supports takes one. */
} onnx_attribute;

typedef struct {
    const char *name;     /* "" when absent */
    const char *op_type;
    const char *domain;   /* "" is the default ONNX domain */
    int ninputs;
    const char **inputs;  /* "" for an omitted optional input */
    int noutputs;
    const char **outputs;
    int nattributes;
    onnx_attribute *attributes;
} onnx_node;

typedef struct {
    const char *name;
    int nnodes;
    onnx_node *nodes;
    int ninitializers;
    onnx_tensor *initializers;
    int nsparse_initializers; /* counted, not decoded */
    int ninputs;
    onnx_value_info *inputs;
    int noutputs;
    onnx_value_info *outputs;
    int nvalue_infos;
    onnx_value_info *value_infos;
} onnx_graph;

typedef struct {
    const char *domain; /* "" or "ai.onnx" for the default domain */
    int64_t version;
} onnx_opset;

typedef struct {
    int64_t ir_version;
    const char *producer_name;
    const char *producer_version;
    int nopsets;
    onnx_opset *opsets;
    bool has_graph;
    onnx_graph graph;
    int nfunctions; /* counted, not decoded */
} onnx_model;

/* Decodes a ModelProto / a TensorProto (the node tests' .pb files) from `buf`.
 * Every length, count and nesting is checked against the buffer; malformed
 * input fails with "<subject>: <what is wrong> (at byte N)". Nothing is
 * allocated in proportion to a claimed size, only to fields actually present. */
status onnx_decode_model(pb_slice buf, const char *subject, onnx_arena *a, onnx_model *out);
status onnx_decode_tensor(pb_slice buf, const char *subject, onnx_arena *a, onnx_tensor *out);

/* Attribute lookup on a node; NULL when absent. */
const onnx_attribute *onnx_node_attribute(const onnx_node *n, const char *name);
/* The opset version the model imports for the default domain (0 when none). */
int64_t onnx_model_opset(const onnx_model *m);

/* ---- files ---------------------------------------------------------------- */

/* Protobuf's own limit on a message: larger .onnx and .pb files are refused
 * by onnx_file_map before anything is read. */
#define ONNX_MAX_FILE_BYTES ((uint64_t)2 << 30)

/* A whole file, mapped read-only (or read, for what mmap refuses). */
typedef struct {
    uint8_t *data;
    size_t len;
    bool mapped;
} onnx_file;
status onnx_file_map(const char *path, onnx_file *f);
void onnx_file_unmap(onnx_file *f);
/* Tells the kernel the mapped pages of `s` (inside f) are not needed for now:
 * they leave the resident set and are read again from the file if touched. */
void onnx_file_release(const onnx_file *f, pb_slice s);

/* ---- tensor payloads ------------------------------------------------------ */

/* Checks, without converting, that the tensor's payload is all there: raw_data
 * of count × element size bytes, or count typed values, or an external file
 * inside the model's folder that holds offset + length bytes. `model_path` is
 * the .onnx file (its folder resolves external locations; NULL refuses
 * external data). Call this before allocating count elements. */
status onnx_tensor_check(const onnx_tensor *t, const char *model_path, const char *subject);
/* Converts the payload to float (from float, double, float16, bfloat16, any
 * integer or bool) or to int64 (from any integer or bool) into out[t->count]. */
status onnx_tensor_read_float(const onnx_tensor *t, const char *model_path, const char *subject,
                              float *out);
status onnx_tensor_read_int64(const onnx_tensor *t, const char *model_path, const char *subject,
                              int64_t *out);
/* As onnx_tensor_read_float, releasing (onnx_file_release) the pages of
 * `mapped` that hold raw_data as they are converted. */
status onnx_tensor_read_float_releasing(const onnx_tensor *t, const char *model_path, const char *subject,
                                        float *out, const onnx_file *mapped);

/* ---- writing (export) ------------------------------------------------------ */

/* A protobuf writer in two modes: measuring (out == NULL, only `size` grows)
 * and emitting into a FILE. A nested message is written by calling its writer
 * once to measure and once to emit, so nothing large is ever buffered. */
typedef struct {
    FILE *out;    /* NULL: measure only */
    uint64_t size;
    bool failed;  /* a write failed */
} pb_writer;
void pb_put_varint_field(pb_writer *w, uint32_t field, uint64_t v);
void pb_put_int64_field(pb_writer *w, uint32_t field, int64_t v);
void pb_put_float_field(pb_writer *w, uint32_t field, float v);
void pb_put_bytes_field(pb_writer *w, uint32_t field, const void *data, size_t len);
void pb_put_string_field(pb_writer *w, uint32_t field, const char *s);
/* A packed repeated int64 / float field. */
void pb_put_packed_int64(pb_writer *w, uint32_t field, const int64_t *v, size_t n);
void pb_put_packed_float(pb_writer *w, uint32_t field, const float *v, size_t n);
/* A nested message: `write(w, ctx)` is called once measuring, once emitting. */
void pb_put_message_field(pb_writer *w, uint32_t field, void (*write)(pb_writer *, const void *),
                          const void *ctx);

#endif
