/* onnx_proto.c — a protobuf wire-format decoder for the ONNX messages synth
 * needs (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto), zero-copy over a memory buffer, plus the payload conversion
 * of tensors (raw_data, typed fields, external files) and the file mapping.
 *
 * Why our own decoder instead of protobuf-c generated from onnx.proto:
 * - Memory. protobuf-c unpacks a whole message tree, copying every byte
 *   string: VGG-19's 548 MB of weights would be copied into the heap before we
 *   could decide that a style job never touches the 400 MB of FC weights. Here
 *   a tensor is a slice of the mapped file, converted only when the importer
 *   asks, so unneeded initializers cost no resident memory.
 * - Hostile input. Every length, count and field is checked against the
 *   bytes that are actually there (a varint length may not run past its
 *   enclosing message), and arrays are sized by a first counting pass over
 *   fields really present, never by a claimed size. Nesting is fixed by the
 *   schema walk (model → graph → node → attribute → tensor); subgraphs, sparse
 *   tensors, type protos and functions are counted or skipped, never decoded,
 *   so there is no recursion an input can deepen. The decoder takes a buffer,
 *   so a fuzzer can call it directly.
 * - Writing. Export needs an encoder anyway; the wire format is small enough
 *   that both directions fit in this file and onnx_write.c with no generated
 *   code and no build-time dependency on protoc-c and libonnx-dev.
 *
 * Wire format (protobuf "proto2" encoding): a message is a sequence of fields,
 * each a varint key (field number << 3 | wire type) and a value: 0 varint,
 * 1 fixed 64-bit, 2 length-delimited (varint length + bytes: strings, bytes,
 * nested messages, packed repeated scalars), 5 fixed 32-bit. Groups (3, 4) are
 * obsolete and refused. Unknown fields are skipped.
 */
#include "net/onnx_proto.h"
#include "net/graph.h" /* GRAPH_MAX_NODES */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ===== arena =============================================================== */

typedef struct arena_block {
    struct arena_block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} arena_block;

struct onnx_arena {
    arena_block *head;
    size_t total; /* bytes of all blocks */
    size_t limit; /* 0: none */
};

void onnx_arena_set_limit(onnx_arena *a, size_t more)
{
    a->limit = a->total + more < a->total ? SIZE_MAX : a->total + more;
}

onnx_arena *onnx_arena_new(void) { return alloc_array(1, sizeof(onnx_arena), "onnx"); }

void onnx_arena_free(onnx_arena *a)
{
    if (!a)
        return;
    for (arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *onnx_arena_alloc(onnx_arena *a, size_t count, size_t size)
{
    size_t bytes;
    if (!size_mul(count, size, &bytes) || !size_add(bytes, 15, &bytes))
        return NULL;
    bytes &= ~(size_t)15;
    if (!bytes)
        bytes = 16;
    arena_block *b = a->head;
    if (!b || b->size - b->used < bytes) {
        size_t cap = bytes > (1u << 16) ? bytes : (1u << 16), total;
        if (!size_add(cap, sizeof(arena_block), &total))
            return NULL;
        if (a->limit && (a->total + total < a->total || a->total + total > a->limit)) {
            error_set(NULL, "needs more than %zu MB of working memory to import (the limit for a file of "
                            "this size)", a->limit >> 20);
            return NULL;
        }
        b = malloc(total);
        if (!b) {
            error_set(NULL, "out of memory (%zu bytes)", total);
            return NULL;
        }
        b->size = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
        a->total += total;
    }
    void *p = b->data + b->used;
    b->used += bytes;
    memset(p, 0, bytes);
    return p;
}

char *onnx_arena_strdup(onnx_arena *a, const char *s, size_t len)
{
    size_t n;
    if (!size_add(len, 1, &n))
        return NULL;
    char *p = onnx_arena_alloc(a, n, 1);
    if (p && len)
        memcpy(p, s, len);
    return p;
}

/* ===== wire-format reading ================================================= */

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

/* The decoding context: where errors are reported, and the arena. */
typedef struct {
    const char *subject;
    const uint8_t *base; /* start of the whole buffer, for byte offsets */
    onnx_arena *arena;
} decoder;

typedef struct {
    const uint8_t *p, *end;
} pb_reader;

typedef struct {
    uint32_t number;
    int wire;
    uint64_t varint;    /* WIRE_VARINT, and the bits of WIRE_FIXED32/64 */
    pb_slice bytes;     /* WIRE_LEN */
    const uint8_t *at;  /* where the key starts, for messages */
} pb_field;

static status malformed(const decoder *d, const uint8_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static status malformed(const decoder *d, const uint8_t *at, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return error_set(d->subject, "malformed ONNX file: %s (at byte %td)", what, at - d->base);
}

/* Reads a varint of at most 10 bytes; false when truncated or too long. */
static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t byte = *(*p)++;
        if (shift == 63 && byte > 1)
            return false; /* more than 64 bits */
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t load_le64(const uint8_t *p) { return load_le32(p) | (uint64_t)load_le32(p + 4) << 32; }

static float float_from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static double double_from_bits(uint64_t bits)
{
    double f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Next field of the message: 1 read, 0 at the end, -1 malformed (error set). */
static int next_field(const decoder *d, pb_reader *r, pb_field *f)
{
    if (r->p >= r->end)
        return 0;
    f->at = r->p;
    f->varint = 0;
    f->bytes = (pb_slice){NULL, 0};
    uint64_t key;
    if (!read_varint(&r->p, r->end, &key))
        return malformed(d, f->at, "truncated field key"), -1;
    f->wire = (int)(key & 7);
    uint64_t number = key >> 3;
    if (number == 0 || number > 536870911u)
        return malformed(d, f->at, "invalid field number %llu", (unsigned long long)number), -1;
    f->number = (uint32_t)number;
    switch (f->wire) {
    case WIRE_VARINT:
        if (!read_varint(&r->p, r->end, &f->varint))
            return malformed(d, f->at, "truncated varint in field %u", f->number), -1;
        return 1;
    case WIRE_FIXED64:
        if (r->end - r->p < 8)
            return malformed(d, f->at, "truncated 64-bit value in field %u", f->number), -1;
        f->varint = load_le64(r->p);
        r->p += 8;
        return 1;
    case WIRE_FIXED32:
        if (r->end - r->p < 4)
            return malformed(d, f->at, "truncated 32-bit value in field %u", f->number), -1;
        f->varint = load_le32(r->p);
        r->p += 4;
        return 1;
    case WIRE_LEN: {
        uint64_t len;
        if (!read_varint(&r->p, r->end, &len))
            return malformed(d, f->at, "truncated length in field %u", f->number), -1;
        if (len > (uint64_t)(r->end - r->p))
            return malformed(d, f->at, "field %u claims %llu bytes but only %td remain", f->number,
                             (unsigned long long)len, r->end - r->p),
                   -1;
        f->bytes.data = r->p;
        f->bytes.len = (size_t)len;
        r->p += len;
        return 1;
    }
    default:
        return malformed(d, f->at, "unsupported wire type %d in field %u", f->wire, f->number), -1;
    }
}

static pb_reader reader_of(pb_slice s) { return (pb_reader){s.data, s.data + s.len}; }

static status expect_wire(const decoder *d, const pb_field *f, int wire, const char *what)
{
    if (f->wire != wire)
        return malformed(d, f->at, "%s has wire type %d, expected %d", what, f->wire, wire);
    return ST_OK;
}

/* Element limit for any repeated field: far beyond any real model, and keeps
 * counts in an int. */
enum { MAX_REPEATED = 1 << 28 };

static status count_one(const decoder *d, const pb_field *f, int *count, const char *what)
{
    if (*count >= MAX_REPEATED)
        return malformed(d, f->at, "too many %s", what);
    (*count)++;
    return ST_OK;
}

/* A NUL-terminated arena copy of a string field; names may not hold NULs. */
static status take_string(const decoder *d, const pb_field *f, const char *what, const char **out)
{
    if (expect_wire(d, f, WIRE_LEN, what) != ST_OK)
        return ST_ERROR;
    if (memchr(f->bytes.data, 0, f->bytes.len))
        return malformed(d, f->at, "%s contains a NUL byte", what);
    const char *s = onnx_arena_strdup(d->arena, (const char *)f->bytes.data, f->bytes.len);
    if (!s)
        return error_prefix(d->subject);
    *out = s;
    return ST_OK;
}

/* ---- repeated scalars: packed (one WIRE_LEN field) or one field each ------ */

/* Number of values in a repeated int64 / float / double field occurrence,
 * validating a packed payload. */
static status count_scalars(const decoder *d, const pb_field *f, int scalar_wire, size_t *n)
{
    if (f->wire == scalar_wire) {
        *n = 1;
        return ST_OK;
    }
    if (f->wire != WIRE_LEN)
        return malformed(d, f->at, "field %u has wire type %d", f->number, f->wire);
    if (scalar_wire == WIRE_FIXED32 || scalar_wire == WIRE_FIXED64) {
        size_t width = scalar_wire == WIRE_FIXED32 ? 4 : 8;
        if (f->bytes.len % width)
            return malformed(d, f->at, "packed field %u is %zu bytes, not a multiple of %zu",
                             f->number, f->bytes.len, width);
        *n = f->bytes.len / width;
        return ST_OK;
    }
    size_t count = 0;
    const uint8_t *p = f->bytes.data, *end = p + f->bytes.len;
    uint64_t v;
    while (p < end) {
        if (!read_varint(&p, end, &v))
            return malformed(d, f->at, "bad varint in packed field %u", f->number);
        count++;
    }
    *n = count;
    return ST_OK;
}

static status add_count(const decoder *d, const pb_field *f, size_t *total, size_t n)
{
    if (n > MAX_REPEATED || *total > MAX_REPEATED - n)
        return malformed(d, f->at, "too many values in field %u", f->number);
    *total += n;
    return ST_OK;
}

/* Appends the values of a (validated) repeated varint occurrence to out[*k]. */
static void take_varints(const pb_field *f, uint64_t *out, size_t *k)
{
    if (f->wire == WIRE_VARINT) {
        out[(*k)++] = f->varint;
        return;
    }
    const uint8_t *p = f->bytes.data, *end = p + f->bytes.len;
    while (p < end && read_varint(&p, end, &out[*k]))
        (*k)++;
}

static void take_floats(const pb_field *f, float *out, size_t *k)
{
    if (f->wire == WIRE_FIXED32) {
        out[(*k)++] = float_from_bits((uint32_t)f->varint);
        return;
    }
    for (size_t i = 0; i + 4 <= f->bytes.len; i += 4)
        out[(*k)++] = float_from_bits(load_le32(f->bytes.data + i));
}

/* ===== TensorProto ========================================================= */

/* TensorProto field numbers */
enum {
    TENSOR_DIMS = 1, TENSOR_DATA_TYPE = 2, TENSOR_SEGMENT = 3, TENSOR_FLOAT_DATA = 4,
    TENSOR_INT32_DATA = 5, TENSOR_STRING_DATA = 6, TENSOR_INT64_DATA = 7, TENSOR_NAME = 8,
    TENSOR_RAW_DATA = 9, TENSOR_DOUBLE_DATA = 10, TENSOR_UINT64_DATA = 11,
    TENSOR_EXTERNAL_DATA = 13, TENSOR_DATA_LOCATION = 14,
};

const char *onnx_dtype_name(int32_t dtype)
{
    static const char *const names[] = {
        "undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64", "string",
        "bool", "float16", "double", "uint32", "uint64", "complex64", "complex128", "bfloat16"};
    if (dtype >= 0 && dtype < (int32_t)(sizeof names / sizeof *names))
        return names[dtype];
    return "unknown type";
}

size_t onnx_dtype_size(int32_t dtype)
{
    switch (dtype) {
    case ONNX_UINT8: case ONNX_INT8: case ONNX_BOOL: return 1;
    case ONNX_UINT16: case ONNX_INT16: case ONNX_FLOAT16: case ONNX_BFLOAT16: return 2;
    case ONNX_FLOAT: case ONNX_INT32: case ONNX_UINT32: return 4;
    case ONNX_INT64: case ONNX_UINT64: case ONNX_DOUBLE: case ONNX_COMPLEX64: return 8;
    case ONNX_COMPLEX128: return 16;
    default: return 0;
    }
}

/* The typed field that holds values of `dtype` (ONNX spec, TensorProto), and
 * its scalar wire type; 0 when the type has none synth reads. */
static uint32_t typed_field_of(int32_t dtype, int *wire)
{
    switch (dtype) {
    case ONNX_FLOAT: *wire = WIRE_FIXED32; return TENSOR_FLOAT_DATA;
    case ONNX_DOUBLE: *wire = WIRE_FIXED64; return TENSOR_DOUBLE_DATA;
    case ONNX_INT64: *wire = WIRE_VARINT; return TENSOR_INT64_DATA;
    case ONNX_UINT32: case ONNX_UINT64: *wire = WIRE_VARINT; return TENSOR_UINT64_DATA;
    case ONNX_INT32: case ONNX_INT16: case ONNX_INT8: case ONNX_UINT16: case ONNX_UINT8:
    case ONNX_BOOL: case ONNX_FLOAT16: case ONNX_BFLOAT16:
        *wire = WIRE_VARINT;
        return TENSOR_INT32_DATA;
    default: *wire = 0; return 0;
    }
}

/* A strict non-negative decimal (external_data offsets and lengths). */
static bool parse_decimal(const char *s, int64_t *out)
{
    if (!*s)
        return false;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - (*s - '0')) / 10)
            return false;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return true;
}

/* StringStringEntryProto {key = 1, value = 2} of external_data. */
static status decode_external_entry(const decoder *d, const pb_field *entry, onnx_tensor *t)
{
    const char *key = "", *value = "";
    pb_reader r = reader_of(entry->bytes);
    pb_field f;
    int got;
    while ((got = next_field(d, &r, &f)) > 0) {
        if (f.number == 1 && take_string(d, &f, "external_data key", &key) != ST_OK)
            return ST_ERROR;
        if (f.number == 2 && take_string(d, &f, "external_data value", &value) != ST_OK)
            return ST_ERROR;
    }
    if (got < 0)
        return ST_ERROR;
    if (strcmp(key, "location") == 0) {
        t->location = value;
    } else if (strcmp(key, "offset") == 0) {
        if (!parse_decimal(value, &t->external_offset))
            return malformed(d, entry->at, "external_data offset '%s' is not a number", value);
    } else if (strcmp(key, "length") == 0) {
        if (!parse_decimal(value, &t->external_length))
            return malformed(d, entry->at, "external_data length '%s' is not a number", value);
    } /* "checksum" and unknown keys are ignored */
    return ST_OK;
}

static status decode_tensor(const decoder *d, pb_slice msg, onnx_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->name = "";
    t->message = msg;
    t->external_length = -1;
    int64_t data_location = 0;

    /* Pass 1: scalars, dims, raw data, external entries. */
    pb_reader r = reader_of(msg);
    pb_field f;
    int got;
    while ((got = next_field(d, &r, &f)) > 0) {
        switch (f.number) {
        case TENSOR_DIMS: {
            size_t n;
            if (count_scalars(d, &f, WIRE_VARINT, &n) != ST_OK)
                return ST_ERROR;
            if (n > (size_t)(ONNX_MAX_RANK - t->rank))
                return malformed(d, f.at, "tensor has more than %d dimensions", ONNX_MAX_RANK);
            uint64_t v[ONNX_MAX_RANK];
            size_t k = 0;
            take_varints(&f, v, &k);
            for (size_t i = 0; i < k; i++) {
                if ((int64_t)v[i] < 0)
                    return malformed(d, f.at, "tensor dimension %lld is negative",
                                     (long long)(int64_t)v[i]);
                t->dims[t->rank++] = (int64_t)v[i];
            }
            break;
        }
        case TENSOR_DATA_TYPE:
            if (expect_wire(d, &f, WIRE_VARINT, "data_type") != ST_OK)
                return ST_ERROR;
            t->data_type = (int32_t)(uint32_t)f.varint;
            break;
        case TENSOR_SEGMENT:
            return malformed(d, f.at, "segmented tensors are not supported");
        case TENSOR_NAME:
            if (take_string(d, &f, "tensor name", &t->name) != ST_OK)
                return ST_ERROR;
            break;
        case TENSOR_RAW_DATA:
            if (expect_wire(d, &f, WIRE_LEN, "raw_data") != ST_OK)
                return ST_ERROR;
            t->has_raw = true;
            t->raw = f.bytes;
            break;
        case TENSOR_EXTERNAL_DATA:
            if (expect_wire(d, &f, WIRE_LEN, "external_data") != ST_OK ||
                decode_external_entry(d, &f, t) != ST_OK)
                return ST_ERROR;
            break;
        case TENSOR_DATA_LOCATION:
            if (expect_wire(d, &f, WIRE_VARINT, "data_location") != ST_OK)
                return ST_ERROR;
            data_location = (int64_t)f.varint;
            break;
        default:
            break;
        }
    }
    if (got < 0)
        return ST_ERROR;
    if (data_location != 0 && data_location != 1)
        return malformed(d, msg.data, "tensor '%s' has data_location %lld", t->name,
                         (long long)data_location);
    t->external = data_location == 1;
    if (t->external && !t->location)
        return malformed(d, msg.data, "tensor '%s' is external but names no location", t->name);

    size_t count = 1;
    for (int i = 0; i < t->rank; i++)
        if (!size_mul(count, (size_t)t->dims[i], &count))
            return error_set(d->subject, "tensor '%s' is too large (size overflow)", t->name);
    t->count = count;

    /* Pass 2: count the values of the typed field this data type uses (and
     * validate its packing). */
    int wire;
    uint32_t typed = typed_field_of(t->data_type, &wire);
    if (typed) {
        r = reader_of(msg);
        while ((got = next_field(d, &r, &f)) > 0) {
            if (f.number != typed)
                continue;
            size_t n;
            if (count_scalars(d, &f, wire, &n) != ST_OK || add_count(d, &f, &t->typed_count, n) != ST_OK)
                return ST_ERROR;
        }
        if (got < 0)
            return ST_ERROR;
    }
    return ST_OK;
}

status onnx_decode_tensor(pb_slice buf, const char *subject, onnx_arena *a, onnx_tensor *out)
{
    decoder d = {subject, buf.data, a};
    return decode_tensor(&d, buf, out);
}

/* ===== ValueInfoProto ====================================================== */

/* TensorShapeProto.Dimension {dim_value = 1, dim_param = 2}: the value, or -1. */
static status decode_dimension(const decoder *d, pb_slice msg, int64_t *dim)
{
    *dim = -1;
    pb_reader r = reader_of(msg);
    pb_field f;
    int got;
    while ((got = next_field(d, &r, &f)) > 0)
        if (f.number == 1) {
            if (expect_wire(d, &f, WIRE_VARINT, "dim_value") != ST_OK)
                return ST_ERROR;
            *dim = (int64_t)f.varint < 0 ? -1 : (int64_t)f.varint;
        }
    return got < 0 ? ST_ERROR : ST_OK;
}

/* TensorShapeProto {dim = 1}. */
static status decode_shape(const decoder *d, pb_slice msg, onnx_value_info *v)
{
    pb_reader r = reader_of(msg);
    pb_field f;
    int got, n = 0;
    while ((got = next_field(d, &r, &f)) > 0)
        if (f.number == 1 && (expect_wire(d, &f, WIRE_LEN, "dim") != ST_OK ||
                              count_one(d, &f, &n, "dimensions") != ST_OK))
            return ST_ERROR;
    if (got < 0)
        return ST_ERROR;
    v->has_shape = true;
    v->rank = n;
    v->dims = onnx_arena_alloc(d->arena, (size_t)n, sizeof *v->dims);
    if (!v->dims)
        return error_prefix(d->subject);
    r = reader_of(msg);
    for (int k = 0; next_field(d, &r, &f) > 0;)
        if (f.number == 1 && decode_dimension(d, f.bytes, &v->dims[k++]) != ST_OK)
            return ST_ERROR;
    return ST_OK;
}

/* TypeProto {tensor_type = 1: Tensor {elem_type = 1, shape = 2}}. Other kinds
 * (sequence, map, optional, sparse) leave is_tensor false, undecoded. */
static status decode_type(const decoder *d, pb_slice msg, onnx_value_info *v)
{
    pb_reader r = reader_of(msg);
    pb_field f;
    int got;
    while ((got = next_field(d, &r, &f)) > 0) {
        if (f.number != 1)
            continue;
        if (expect_wire(d, &f, WIRE_LEN, "tensor_type") != ST_OK)
            return ST_ERROR;
        v->is_tensor = true;
        pb_reader tr = reader_of(f.bytes);
        pb_field g;
        int got2;
        while ((got2 = next_field(d, &tr, &g)) > 0) {
            if (g.number == 1) {
                if (expect_wire(d, &g, WIRE_VARINT, "elem_type") != ST_OK)
                    return ST_ERROR;
                v->elem_type = (int32_t)(uint32_t)g.varint;
            } else if (g.number == 2) {
                if (expect_wire(d, &g, WIRE_LEN, "shape") != ST_OK || decode_shape(d, g.bytes, v) != ST_OK)
                    return ST_ERROR;
            }
        }
        if (got2 < 0)
            return ST_ERROR;
    }
    return got < 0 ? ST_ERROR : ST_OK;
}

/* ValueInfoProto {name = 1, type = 2}. */
static status decode_value_info(const decoder *d, pb_slice msg, onnx_value_info *v)
{
    memset(v, 0, sizeof *v);
    v->name = "";
    pb_reader r = reader_of(msg);
    pb_field f;
    int got;
    while ((got = next_field(d, &r, &f)) > 0) {
        if (f.number == 1 && take_string(d, &f, "value name", &v->name) != ST_OK)
            return ST_ERROR;
        if (f.number == 2 && (expect_wire(d, &f, WIRE_LEN, "type") != ST_OK ||
                              decode_type(d, f.bytes, v) != ST_OK))
            return ST_ERROR;
    }
    return got < 0 ? ST_ERROR : ST_OK;
}

/* ===== AttributeProto ====================================================== */

enum {
    ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_S = 4, ATTR_T = 5, ATTR_G = 6, ATTR_FLOATS = 7,
    ATTR_INTS = 8, ATTR_STRINGS = 9, ATTR_TENSORS = 10, ATTR_GRAPHS = 11, ATTR_TP = 14,
    ATTR_TYPE = 20, ATTR_REF_ATTR_NAME = 21, ATTR_SPARSE_TENSOR = 22, ATTR_SPARSE_TENSORS = 23,
    ATTR_TYPE_PROTOS = 15,
};

static status decode_attribute(const decoder *d, pb_slice msg, onnx_attribute *at)
{
    memset(at, 0, sizeof *at);
    at->name = "";
    int inferred = ONNX_ATTR_UNDEFINED;
    size_t nfloats = 0, nints = 0;

    /* Pass 1: scalars, and how many of each repeated kind. */
    pb_reader r = reader_of(msg);
    pb_field f;
    int got;
    while ((got = next_field(d, &r, &f)) > 0) {
        size_t n;
        switch (f.number) {
        case ATTR_NAME:
            if (take_string(d, &f, "attribute name", &at->name) != ST_OK)
                return ST_ERROR;
            break;
        case ATTR_REF_ATTR_NAME:
            if (take_string(d, &f, "ref_attr_name", &at->ref_attr_name) != ST_OK)
                return ST_ERROR;
            break;
        case ATTR_TYPE:
            if (expect_wire(d, &f, WIRE_VARINT, "attribute type") != ST_OK)
                return ST_ERROR;
            at->type = (int)(uint32_t)f.varint;
            break;
        case ATTR_F:
            if (expect_wire(d, &f, WIRE_FIXED32, "attribute f") != ST_OK)
                return ST_ERROR;
            at->f = float_from_bits((uint32_t)f.varint);
            inferred = ONNX_ATTR_FLOAT;
            break;
        case ATTR_I:
            if (expect_wire(d, &f, WIRE_VARINT, "attribute i") != ST_OK)
                return ST_ERROR;
            at->i = (int64_t)f.varint;
            inferred = ONNX_ATTR_INT;
            break;
        case ATTR_S:
            if (expect_wire(d, &f, WIRE_LEN, "attribute s") != ST_OK)
                return ST_ERROR;
            at->s = onnx_arena_strdup(d->arena, (const char *)f.bytes.data, f.bytes.len);
            if (!at->s)
                return error_prefix(d->subject);
            at->s_len = f.bytes.len;
            inferred = ONNX_ATTR_STRING;
            break;
        case ATTR_T:
            if (expect_wire(d, &f, WIRE_LEN, "attribute t") != ST_OK)
                return ST_ERROR;
            at->t = onnx_arena_alloc(d->arena, 1, sizeof *at->t);
            if (!at->t)
                return error_prefix(d->subject);
            if (decode_tensor(d, f.bytes, at->t) != ST_OK)
                return ST_ERROR;
            inferred = ONNX_ATTR_TENSOR;
            break;
        case ATTR_G:
            inferred = ONNX_ATTR_GRAPH;
            break;
        case ATTR_FLOATS:
            if (count_scalars(d, &f, WIRE_FIXED32, &n) != ST_OK || add_count(d, &f, &nfloats, n) != ST_OK)
                return ST_ERROR;
            inferred = ONNX_ATTR_FLOATS;
            break;
        case ATTR_INTS:
            if (count_scalars(d, &f, WIRE_VARINT, &n) != ST_OK || add_count(d, &f, &nints, n) != ST_OK)
                return ST_ERROR;
            inferred = ONNX_ATTR_INTS;
            break;
        case ATTR_STRINGS:
            if (expect_wire(d, &f, WIRE_LEN, "attribute strings") != ST_OK ||
                count_one(d, &f, &at->nstrings, "strings") != ST_OK)
                return ST_ERROR;
            inferred = ONNX_ATTR_STRINGS;
            break;
        case ATTR_TENSORS:
            if (expect_wire(d, &f, WIRE_LEN, "attribute tensors") != ST_OK ||
                count_one(d, &f, &at->ntensors, "tensors") != ST_OK)
                return ST_ERROR;
            inferred = ONNX_ATTR_TENSORS;
            break;
        case ATTR_GRAPHS: inferred = ONNX_ATTR_GRAPHS; break;
        case ATTR_SPARSE_TENSOR: inferred = ONNX_ATTR_SPARSE_TENSOR; break;
        case ATTR_SPARSE_TENSORS: inferred = ONNX_ATTR_SPARSE_TENSORS; break;
        case ATTR_TP: inferred = ONNX_ATTR_TYPE_PROTO; break;
        case ATTR_TYPE_PROTOS: inferred = ONNX_ATTR_TYPE_PROTOS; break;
        default: break;
        }
    }
    if (got < 0)
        return ST_ERROR;
    if (at->type == ONNX_ATTR_UNDEFINED) /* IR version 1 files have no type field */
        at->type = inferred;
    if (!at->s) /* protobuf's default for an absent string: a STRING attribute may omit s */
        at->s = "";

    /* Pass 2: the repeated values. */
    at->nfloats = (int)nfloats;
    at->nints = (int)nints;
    at->floats = onnx_arena_alloc(d->arena, nfloats, sizeof *at->floats);
    uint64_t *ints = onnx_arena_alloc(d->arena, nints, sizeof *ints);
    at->strings = onnx_arena_alloc(d->arena, (size_t)at->nstrings, sizeof *at->strings);
    at->tensors = onnx_arena_alloc(d->arena, (size_t)at->ntensors, sizeof *at->tensors);
    if (!at->floats || !ints || !at->strings || !at->tensors)
        return error_prefix(d->subject);
    at->ints = (int64_t *)ints; /* same size; converted in place below */
    size_t kf = 0, ki = 0;
    int ks = 0, kt = 0;
    r = reader_of(msg);
    while (next_field(d, &r, &f) > 0) {
        if (f.number == ATTR_FLOATS) {
            take_floats(&f, at->floats, &kf);
        } else if (f.number == ATTR_INTS) {
            take_varints(&f, ints, &ki);
        } else if (f.number == ATTR_STRINGS) {
            at->strings[ks] = onnx_arena_strdup(d->arena, (const char *)f.bytes.data, f.bytes.len);
            if (!at->strings[ks++])
                return error_prefix(d->subject);
        } else if (f.number == ATTR_TENSORS) {
            if (decode_tensor(d, f.bytes, &at->tensors[kt++]) != ST_OK)
                return ST_ERROR;
        }
    }
    for (size_t i = 0; i < nints; i++)
        at->ints[i] = (int64_t)ints[i];
    return ST_OK;
}

/* ===== repeated messages =================================================== */

/* A repeated length-delimited field of a message (nested messages or
 * strings) decoded into an arena array: a first pass counts the occurrences,
 * a second decodes each into its element. */
typedef struct {
    uint32_t field;
    const char *what;          /* "nodes", "inputs", ... */
    size_t elem_size;
    status (*decode)(const decoder *d, const pb_field *f, void *elem);
    int *count;                /* where the count goes */
    void *array_slot;          /* the address of the element-pointer field */
    int max;                   /* refused above this many before any is decoded (0: MAX_REPEATED) */
} repeated_field;

static status decode_repeated(const decoder *d, pb_slice msg, const repeated_field *rf, int n)
{
    for (int k = 0; k < n; k++)
        *rf[k].count = 0;
    pb_reader r = reader_of(msg);
    pb_field f;
    int got;
    while ((got = next_field(d, &r, &f)) > 0)
        for (int k = 0; k < n; k++)
            if (f.number == rf[k].field &&
                (expect_wire(d, &f, WIRE_LEN, rf[k].what) != ST_OK || count_one(d, &f, rf[k].count, rf[k].what) != ST_OK))
                return ST_ERROR;
    if (got < 0)
        return ST_ERROR;
    for (int k = 0; k < n; k++)
        if (rf[k].max && *rf[k].count > rf[k].max)
            return error_set(d->subject, "graph: more than %d %s", rf[k].max, rf[k].what);
    char *arrays[8];     /* n ≤ 8: the largest message here has 5 */
    int filled[8] = {0};
    for (int k = 0; k < n; k++) {
        if (!(arrays[k] = onnx_arena_alloc(d->arena, (size_t)*rf[k].count, rf[k].elem_size)))
            return error_prefix(d->subject);
        memcpy(rf[k].array_slot, &arrays[k], sizeof arrays[k]); /* any T *field = arrays[k] */
    }
    r = reader_of(msg);
    while (next_field(d, &r, &f) > 0)
        for (int k = 0; k < n; k++)
            if (f.number == rf[k].field &&
                rf[k].decode(d, &f, arrays[k] + (size_t)filled[k]++ * rf[k].elem_size) != ST_OK)
                return ST_ERROR;
    return ST_OK;
}

/* Element decoders for decode_repeated. */
static status decode_name_elem(const decoder *d, const pb_field *f, void *elem)
{
    return take_string(d, f, "name", elem);
}
static status decode_attribute_elem(const decoder *d, const pb_field *f, void *elem)
{
    return decode_attribute(d, f->bytes, elem);
}
static status decode_tensor_elem(const decoder *d, const pb_field *f, void *elem)
{
    return decode_tensor(d, f->bytes, elem);
}
static status decode_value_info_elem(const decoder *d, const pb_field *f, void *elem)
{
    return decode_value_info(d, f->bytes, elem);
}

/* Reads the string fields listed (field number → destination) of a message;
 * other fields are skipped. */
typedef struct {
    uint32_t field;
    const char *what;
    const char **dst;
} string_field;

static status decode_strings(const decoder *d, pb_slice msg, const string_field *sf, int n)
{
    for (int k = 0; k < n; k++)
        *sf[k].dst = "";
    pb_reader r = reader_of(msg);
    pb_field f;
    int got;
    while ((got = next_field(d, &r, &f)) > 0)
        for (int k = 0; k < n; k++)
            if (f.number == sf[k].field && take_string(d, &f, sf[k].what, sf[k].dst) != ST_OK)
                return ST_ERROR;
    return got < 0 ? ST_ERROR : ST_OK;
}

/* ===== NodeProto =========================================================== */

static status decode_node(const decoder *d, const pb_field *f, void *elem)
{
    onnx_node *n = elem;
    memset(n, 0, sizeof *n);
    const string_field strings[] = {
        {3, "node name", &n->name}, {4, "op_type", &n->op_type}, {7, "domain", &n->domain}};
    const repeated_field repeated[] = {
        {1, "node inputs", sizeof(char *), decode_name_elem, &n->ninputs, &n->inputs, 0},
        {2, "node outputs", sizeof(char *), decode_name_elem, &n->noutputs, &n->outputs, 0},
        {5, "node attributes", sizeof(onnx_attribute), decode_attribute_elem, &n->nattributes,
         &n->attributes, 0},
    };
    if (decode_strings(d, f->bytes, strings, 3) != ST_OK)
        return ST_ERROR;
    return decode_repeated(d, f->bytes, repeated, 3);
}

const onnx_attribute *onnx_node_attribute(const onnx_node *n, const char *name)
{
    for (int i = 0; i < n->nattributes; i++)
        if (strcmp(n->attributes[i].name, name) == 0)
            return &n->attributes[i];
    return NULL;
}

/* ===== GraphProto ========================================================== */

static status decode_graph(const decoder *d, pb_slice msg, onnx_graph *g)
{
    memset(g, 0, sizeof *g);
    const string_field strings[] = {{2, "graph name", &g->name}};
    const repeated_field repeated[] = {
        {1, "nodes", sizeof(onnx_node), decode_node, &g->nnodes, &g->nodes, GRAPH_MAX_NODES},
        {5, "initializers", sizeof(onnx_tensor), decode_tensor_elem, &g->ninitializers,
         &g->initializers, 0},
        {11, "graph inputs", sizeof(onnx_value_info), decode_value_info_elem, &g->ninputs,
         &g->inputs, 0},
        {12, "graph outputs", sizeof(onnx_value_info), decode_value_info_elem, &g->noutputs,
         &g->outputs, 0},
        {13, "value_info entries", sizeof(onnx_value_info), decode_value_info_elem, &g->nvalue_infos,
         &g->value_infos, 0},
    };
    if (decode_strings(d, msg, strings, 1) != ST_OK || decode_repeated(d, msg, repeated, 5) != ST_OK)
        return ST_ERROR;
    /* sparse_initializer (15): counted so the importer can refuse them */
    pb_reader r = reader_of(msg);
    pb_field f;
    while (next_field(d, &r, &f) > 0)
        if (f.number == 15 && count_one(d, &f, &g->nsparse_initializers, "sparse initializers") != ST_OK)
            return ST_ERROR;
    return ST_OK;
}

/* ===== ModelProto ========================================================== */

enum { MODEL_IR_VERSION = 1, MODEL_GRAPH = 7, MODEL_OPSET_IMPORT = 8, MODEL_FUNCTIONS = 25 };

/* OperatorSetIdProto {domain = 1, version = 2}. */
static status decode_opset(const decoder *d, const pb_field *field, void *elem)
{
    onnx_opset *o = elem;
    const string_field strings[] = {{1, "opset domain", &o->domain}};
    if (decode_strings(d, field->bytes, strings, 1) != ST_OK)
        return ST_ERROR;
    o->version = 0;
    pb_reader r = reader_of(field->bytes);
    pb_field f;
    int got;
    while ((got = next_field(d, &r, &f)) > 0)
        if (f.number == 2) {
            if (expect_wire(d, &f, WIRE_VARINT, "opset version") != ST_OK)
                return ST_ERROR;
            o->version = (int64_t)f.varint;
        }
    return got < 0 ? ST_ERROR : ST_OK;
}

status onnx_decode_model(pb_slice buf, const char *subject, onnx_arena *a, onnx_model *m)
{
    decoder dec = {subject, buf.data, a}, *d = &dec;
    memset(m, 0, sizeof *m);
    const string_field strings[] = {{2, "producer_name", &m->producer_name},
                                    {3, "producer_version", &m->producer_version}};
    const repeated_field repeated[] = {
        {MODEL_OPSET_IMPORT, "opset imports", sizeof(onnx_opset), decode_opset, &m->nopsets,
         &m->opsets, 0}};
    if (decode_strings(d, buf, strings, 2) != ST_OK || decode_repeated(d, buf, repeated, 1) != ST_OK)
        return ST_ERROR;
    pb_slice graph = {0};
    pb_reader r = reader_of(buf);
    pb_field f;
    while (next_field(d, &r, &f) > 0) {
        if (f.number == MODEL_IR_VERSION) {
            if (expect_wire(d, &f, WIRE_VARINT, "ir_version") != ST_OK)
                return ST_ERROR;
            m->ir_version = (int64_t)f.varint;
        } else if (f.number == MODEL_GRAPH) {
            /* protobuf would merge two occurrences of a message field; in a
             * model file that is damage, not intent. */
            if (m->has_graph)
                return malformed(d, f.at, "the model holds two graphs");
            if (expect_wire(d, &f, WIRE_LEN, "graph") != ST_OK)
                return ST_ERROR;
            m->has_graph = true;
            graph = f.bytes;
        } else if (f.number == MODEL_FUNCTIONS &&
                   count_one(d, &f, &m->nfunctions, "functions") != ST_OK) {
            return ST_ERROR;
        }
    }
    if (!m->has_graph)
        return error_set(subject, "not an ONNX model (no graph)");
    return decode_graph(d, graph, &m->graph);
}

int64_t onnx_model_opset(const onnx_model *m)
{
    for (int i = 0; i < m->nopsets; i++)
        if (!m->opsets[i].domain[0] || strcmp(m->opsets[i].domain, "ai.onnx") == 0)
            return m->opsets[i].version;
    return 0;
}

/* ===== tensor payloads ===================================================== */

/* Where a tensor's payload bytes come from once checked. */
typedef struct {
    enum { FROM_NONE, FROM_RAW, FROM_TYPED, FROM_EXTERNAL } kind;
    pb_slice raw;     /* FROM_RAW */
    int fd;           /* FROM_EXTERNAL: open file, offset */
    int64_t offset;
} payload;

/* Resolves an external location against the model's folder and refuses any
 * path that leaves it (absolute, "..", or a symlink pointing out). */
static status open_external(const onnx_tensor *t, const char *model_path, const char *subject, int *fd)
{
    const char *loc = t->location;
    if (!model_path)
        return error_set(subject, "tensor '%s': external data is not allowed here", t->name);
    if (!*loc || loc[0] == '/')
        return error_set(subject, "tensor '%s': external data location '%s' must be a relative path",
                         t->name, loc);
    for (const char *p = loc; *p;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return error_set(subject, "tensor '%s': external data location '%s' leaves the model's folder",
                             t->name, loc);
        p += len + (slash ? 1 : 0);
    }
    size_t dirlen = strlen(model_path);
    while (dirlen && model_path[dirlen - 1] != '/')
        dirlen--;
    char *joined = malloc(dirlen + strlen(loc) + 3);
    if (!joined)
        return error_set(subject, "out of memory");
    if (dirlen)
        sprintf(joined, "%.*s%s", (int)dirlen, model_path, loc);
    else
        sprintf(joined, "./%s", loc);
    char *dir = malloc(dirlen + 2);
    if (!dir) {
        free(joined);
        return error_set(subject, "out of memory");
    }
    if (dirlen)
        sprintf(dir, "%.*s", (int)dirlen, model_path);
    else
        strcpy(dir, ".");
    char *real_dir = realpath(dir, NULL), *real_file = realpath(joined, NULL);
    status s = ST_OK;
    if (!real_dir || !real_file) {
        s = error_set(subject, "tensor '%s': external data file '%s': %s", t->name, joined,
                      strerror(errno));
    } else {
        size_t n = strlen(real_dir);
        bool inside = strncmp(real_file, real_dir, n) == 0 &&
                      (real_file[n] == '/' || (n == 1 && real_dir[0] == '/'));
        if (!inside)
            s = error_set(subject, "tensor '%s': external data location '%s' leaves the model's folder",
                          t->name, loc);
        else if ((*fd = open(real_file, O_RDONLY | O_CLOEXEC)) < 0)
            s = error_set(subject, "tensor '%s': cannot open external data '%s': %s", t->name, joined,
                          strerror(errno));
    }
    free(real_dir);
    free(real_file);
    free(joined);
    free(dir);
    return s;
}

/* Validates the payload and says where it is; the caller closes p->fd. */
static status locate_payload(const onnx_tensor *t, const char *model_path, const char *subject, payload *p)
{
    memset(p, 0, sizeof *p);
    p->fd = -1;
    size_t width = onnx_dtype_size(t->data_type), bytes;
    if (t->data_type == ONNX_STRING || t->data_type == ONNX_COMPLEX64 ||
        t->data_type == ONNX_COMPLEX128 || width == 0)
        return error_set(subject, "tensor '%s' has type %s, which synth does not read", t->name,
                         onnx_dtype_name(t->data_type));
    if (!size_mul(t->count, width, &bytes))
        return error_prefix(subject);
    if (t->external) {
        if (t->external_length >= 0 && (uint64_t)t->external_length != bytes)
            return error_set(subject, "tensor '%s': external data length %lld, expected %zu bytes",
                             t->name, (long long)t->external_length, bytes);
        if (open_external(t, model_path, subject, &p->fd) != ST_OK)
            return ST_ERROR;
        struct stat st;
        if (fstat(p->fd, &st) != 0 || !S_ISREG(st.st_mode) || t->external_offset > st.st_size ||
            (uint64_t)(st.st_size - t->external_offset) < bytes) {
            close(p->fd);
            p->fd = -1;
            return error_set(subject, "tensor '%s': external file '%s' is too short for %zu bytes at offset %lld",
                             t->name, t->location, bytes, (long long)t->external_offset);
        }
        p->kind = FROM_EXTERNAL;
        p->offset = t->external_offset;
        return ST_OK;
    }
    if (t->has_raw) {
        if (t->raw.len != bytes)
            return error_set(subject, "tensor '%s': raw_data is %zu bytes, expected %zu (%zu × %s)",
                             t->name, t->raw.len, bytes, t->count, onnx_dtype_name(t->data_type));
        p->kind = FROM_RAW;
        p->raw = t->raw;
        return ST_OK;
    }
    if (t->typed_count != t->count)
        return error_set(subject, "tensor '%s' holds %zu values, its shape needs %zu", t->name,
                         t->typed_count, t->count);
    p->kind = t->count ? FROM_TYPED : FROM_NONE;
    return ST_OK;
}

status onnx_tensor_check(const onnx_tensor *t, const char *model_path, const char *subject)
{
    payload p;
    if (locate_payload(t, model_path, subject, &p) != ST_OK)
        return ST_ERROR;
    if (p.fd >= 0)
        close(p.fd);
    return ST_OK;
}

/* IEEE half → float, exact (every half is a float). */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, mant = h & 1023;
    if (exp == 31) /* inf / nan */
        return float_from_bits(sign | 0x7f800000u | mant << 13);
    if (exp == 0) { /* zero or subnormal: mant × 2^-24 */
        float v = (float)mant * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return float_from_bits(sign | (exp + 112) << 23 | mant << 13);
}

/* One element of a little-endian raw payload, as double / as int64. */
static double raw_element_double(int32_t dtype, const uint8_t *p)
{
    switch (dtype) {
    case ONNX_FLOAT: return float_from_bits(load_le32(p));
    case ONNX_DOUBLE: return double_from_bits(load_le64(p));
    case ONNX_FLOAT16: return half_to_float((uint16_t)(p[0] | p[1] << 8));
    case ONNX_BFLOAT16: return float_from_bits((uint32_t)(p[0] | p[1] << 8) << 16);
    case ONNX_UINT8: case ONNX_BOOL: return p[0];
    case ONNX_INT8: return (int8_t)p[0];
    case ONNX_UINT16: return (uint16_t)(p[0] | p[1] << 8);
    case ONNX_INT16: return (int16_t)(uint16_t)(p[0] | p[1] << 8);
    case ONNX_INT32: return (int32_t)load_le32(p);
    case ONNX_UINT32: return load_le32(p);
    case ONNX_INT64: return (double)(int64_t)load_le64(p);
    case ONNX_UINT64: return (double)load_le64(p);
    default: return 0;
    }
}

static bool dtype_is_integer(int32_t dtype)
{
    switch (dtype) {
    case ONNX_UINT8: case ONNX_INT8: case ONNX_UINT16: case ONNX_INT16: case ONNX_INT32:
    case ONNX_INT64: case ONNX_UINT32: case ONNX_UINT64: case ONNX_BOOL: return true;
    default: return false;
    }
}

static int64_t raw_element_int64(int32_t dtype, const uint8_t *p)
{
    switch (dtype) {
    case ONNX_INT64: case ONNX_UINT64: return (int64_t)load_le64(p);
    default: return (int64_t)raw_element_double(dtype, p); /* exact for ≤ 32-bit integers */
    }
}

/* A typed-field value (the varint or fixed bits) as double / int64. Types
 * stored in int32_data keep their bits in the low bits (float16, bfloat16);
 * signed ones are sign-extended varints. */
static double typed_element_double(int32_t dtype, uint64_t v)
{
    switch (dtype) {
    case ONNX_FLOAT: return float_from_bits((uint32_t)v);
    case ONNX_DOUBLE: return double_from_bits(v);
    case ONNX_FLOAT16: return half_to_float((uint16_t)v);
    case ONNX_BFLOAT16: return float_from_bits((uint32_t)(uint16_t)v << 16);
    case ONNX_UINT8: return (uint8_t)v;
    case ONNX_BOOL: return v != 0;
    case ONNX_INT8: return (int8_t)(uint8_t)v;
    case ONNX_UINT16: return (uint16_t)v;
    case ONNX_INT16: return (int16_t)(uint16_t)v;
    case ONNX_INT32: return (int32_t)(uint32_t)v;
    case ONNX_UINT32: return (uint32_t)v;
    case ONNX_INT64: return (double)(int64_t)v;
    case ONNX_UINT64: return (double)v;
    default: return 0;
    }
}

static int64_t typed_element_int64(int32_t dtype, uint64_t v)
{
    if (dtype == ONNX_INT64 || dtype == ONNX_UINT64)
        return (int64_t)v;
    return (int64_t)typed_element_double(dtype, v);
}

/* The destination of a conversion: floats, or int64s when want_int. */
typedef struct {
    bool want_int;
    float *f;
    int64_t *i;
} sink;

static void put_raw(const sink *s, size_t k, int32_t dtype, const uint8_t *p)
{
    if (s->want_int)
        s->i[k] = raw_element_int64(dtype, p);
    else
        s->f[k] = (float)raw_element_double(dtype, p);
}

static void put_typed(const sink *s, size_t k, int32_t dtype, uint64_t v)
{
    if (s->want_int)
        s->i[k] = typed_element_int64(dtype, v);
    else
        s->f[k] = (float)typed_element_double(dtype, v);
}

/* count little-endian elements starting at `bytes` into out[first...]. */
static void put_raw_run(const sink *s, size_t first, size_t count, int32_t dtype, const uint8_t *bytes)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (!s->want_int && dtype == ONNX_FLOAT) { /* the common case: weights */
        memcpy(s->f + first, bytes, count * sizeof(float));
        return;
    }
#endif
    size_t width = onnx_dtype_size(dtype);
    for (size_t k = 0; k < count; k++)
        put_raw(s, first + k, dtype, bytes + k * width);
}

/* Reads `want` bytes at `at` of an external file into buf. */
static status read_external(const onnx_tensor *t, const char *subject, int fd, off_t at, uint8_t *buf,
                            size_t want)
{
    for (size_t got = 0; got < want;) {
        ssize_t r = pread(fd, buf + got, want - got, at + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return error_set(subject, "tensor '%s': cannot read external data '%s': %s", t->name,
                             t->location, strerror(errno));
        if (r == 0)
            return error_set(subject, "tensor '%s': external data '%s' ends early", t->name, t->location);
        got += (size_t)r;
    }
    return ST_OK;
}

/* Walks the typed field of a (validated) TensorProto into out[0..count). */
static void read_typed(const onnx_tensor *t, const sink *out)
{
    int wire;
    uint32_t typed = typed_field_of(t->data_type, &wire);
    decoder d = {"", t->message.data, NULL};
    pb_reader r = reader_of(t->message);
    pb_field f;
    size_t k = 0;
    while (k < t->count && next_field(&d, &r, &f) > 0) {
        if (f.number != typed)
            continue;
        if (f.wire != WIRE_LEN) {
            put_typed(out, k++, t->data_type, f.varint);
            continue;
        }
        const uint8_t *q = f.bytes.data, *end = q + f.bytes.len;
        while (q < end && k < t->count) {
            uint64_t v;
            if (wire == WIRE_FIXED32) {
                v = load_le32(q);
                q += 4;
            } else if (wire == WIRE_FIXED64) {
                v = load_le64(q);
                q += 8;
            } else if (!read_varint(&q, end, &v)) {
                break;
            }
            put_typed(out, k++, t->data_type, v);
        }
    }
}

static status read_payload(const onnx_tensor *t, const char *model_path, const char *subject, const sink *out,
                           const onnx_file *mapped)
{
    if (out->want_int && !dtype_is_integer(t->data_type))
        return error_set(subject, "tensor '%s' has type %s, expected an integer type", t->name,
                         onnx_dtype_name(t->data_type));
    payload p;
    if (locate_payload(t, model_path, subject, &p) != ST_OK)
        return ST_ERROR;
    switch (p.kind) {
    case FROM_NONE: return ST_OK;
    case FROM_RAW: {
        /* In runs of 16 MB; with the mapping given, each run's pages are
         * released once converted, so a 400 MB tensor never holds both its
         * file pages and its copy. */
        size_t width = onnx_dtype_size(t->data_type), per = ((size_t)16 << 20) / width;
        for (size_t k = 0; k < t->count; k += per) {
            size_t n = t->count - k < per ? t->count - k : per;
            put_raw_run(out, k, n, t->data_type, p.raw.data + k * width);
            if (mapped)
                onnx_file_release(mapped, (pb_slice){p.raw.data + k * width, n * width});
        }
        return ST_OK;
    }
    case FROM_TYPED: read_typed(t, out); return ST_OK;
    case FROM_EXTERNAL: break;
    }
    /* External: read chunks of whole elements and convert each. */
    enum { CHUNK = 1 << 16 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) {
        close(p.fd);
        return error_set(subject, "out of memory");
    }
    size_t width = onnx_dtype_size(t->data_type), per = CHUNK / width;
    off_t at = (off_t)p.offset;
    status s = ST_OK;
    for (size_t k = 0; k < t->count && s == ST_OK; k += per) {
        size_t n = t->count - k < per ? t->count - k : per;
        s = read_external(t, subject, p.fd, at, buf, n * width);
        if (s == ST_OK)
            put_raw_run(out, k, n, t->data_type, buf);
        at += (off_t)(n * width);
        if (s == ST_OK && interrupt_signal) {
            error_set(subject, "interrupted");
            s = ST_INTERRUPTED;
        }
    }
    free(buf);
    close(p.fd);
    return s;
}

status onnx_tensor_read_float(const onnx_tensor *t, const char *model_path, const char *subject, float *out)
{
    const sink s = {false, out, NULL};
    return read_payload(t, model_path, subject, &s, NULL);
}

status onnx_tensor_read_float_releasing(const onnx_tensor *t, const char *model_path, const char *subject,
                                        float *out, const onnx_file *mapped)
{
    const sink s = {false, out, NULL};
    return read_payload(t, model_path, subject, &s, mapped);
}

status onnx_tensor_read_int64(const onnx_tensor *t, const char *model_path, const char *subject,
                              int64_t *out)
{
    const sink s = {true, NULL, out};
    return read_payload(t, model_path, subject, &s, NULL);
}

/* ===== files =============================================================== */

status onnx_file_map(const char *path, onnx_file *f)
{
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(path, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return error_set(path, "cannot stat: %s", strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return error_set(path, "is a directory");
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        close(fd);
        return error_set(path, st.st_size == 0 ? "empty file" : "not a regular file");
    }
    if ((uint64_t)st.st_size > ONNX_MAX_FILE_BYTES) {
        close(fd);
        return error_set(path, "is %.1f GB; protobuf files hold at most 2 GiB (larger models keep "
                               "their weights as external data)", (double)st.st_size / 1e9);
    }
    f->len = (size_t)st.st_size;
    void *p = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        f->len = 0;
        return error_set(path, "cannot map: %s", strerror(errno));
    }
    f->data = p;
    f->mapped = true;
    return ST_OK;
}

void onnx_file_unmap(onnx_file *f)
{
    if (f->data && f->mapped)
        munmap(f->data, f->len);
    else
        free(f->data);
    memset(f, 0, sizeof *f);
}

void onnx_file_release(const onnx_file *f, pb_slice s)
{
    if (!f->mapped || s.len == 0 || s.data < f->data || s.data + s.len > f->data + f->len)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t begin = ((uintptr_t)s.data + page - 1) / page * page; /* whole pages inside s */
    uintptr_t end = ((uintptr_t)s.data + s.len) / page * page;
    if (end > begin)
        madvise((void *)begin, end - begin, MADV_DONTNEED);
}
