/* onnx_write.c — the protobuf wire-format writer behind ONNX export.
 *
 * A pb_writer either measures (out == NULL: only `size` advances) or emits to
 * a FILE. A nested message is length-prefixed, so pb_put_message_field runs
 * the message's writer once measuring and once emitting: each level of nesting
 * costs one extra measuring walk, which only adds lengths (tensor payloads are
 * counted, never copied), and nothing is buffered in memory.
 */
#include "net/onnx_proto.h"

#include <string.h>

enum { WIRE_VARINT = 0, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

static void put_bytes(pb_writer *w, const void *data, size_t len)
{
    w->size += len;
    if (w->out && len && fwrite(data, 1, len, w->out) != len)
        w->failed = true;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(pb_writer *w, uint64_t v)
{
    uint8_t buf[10];
    size_t n = 0;
    while (v >= 0x80) {
        buf[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    buf[n++] = (uint8_t)v;
    put_bytes(w, buf, n);
}

static void put_key(pb_writer *w, uint32_t field, int wire) { put_varint(w, (uint64_t)field << 3 | (unsigned)wire); }

void pb_put_varint_field(pb_writer *w, uint32_t field, uint64_t v)
{
    put_key(w, field, WIRE_VARINT);
    put_varint(w, v);
}

void pb_put_int64_field(pb_writer *w, uint32_t field, int64_t v) { pb_put_varint_field(w, field, (uint64_t)v); }

static void put_le32(pb_writer *w, uint32_t bits)
{
    uint8_t b[4] = {(uint8_t)bits, (uint8_t)(bits >> 8), (uint8_t)(bits >> 16), (uint8_t)(bits >> 24)};
    put_bytes(w, b, 4);
}

static uint32_t float_bits(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

void pb_put_float_field(pb_writer *w, uint32_t field, float v)
{
    put_key(w, field, WIRE_FIXED32);
    put_le32(w, float_bits(v));
}

void pb_put_bytes_field(pb_writer *w, uint32_t field, const void *data, size_t len)
{
    put_key(w, field, WIRE_LEN);
    put_varint(w, len);
    put_bytes(w, data, len);
}

void pb_put_string_field(pb_writer *w, uint32_t field, const char *s) { pb_put_bytes_field(w, field, s, strlen(s)); }

void pb_put_packed_int64(pb_writer *w, uint32_t field, const int64_t *v, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += varint_size((uint64_t)v[i]);
    put_key(w, field, WIRE_LEN);
    put_varint(w, len);
    for (size_t i = 0; i < n; i++)
        put_varint(w, (uint64_t)v[i]);
}

void pb_put_packed_float(pb_writer *w, uint32_t field, const float *v, size_t n)
{
    put_key(w, field, WIRE_LEN);
    put_varint(w, (uint64_t)n * 4);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    put_bytes(w, v, n * sizeof *v);
#else
    for (size_t i = 0; i < n; i++)
        put_le32(w, float_bits(v[i]));
#endif
}

void pb_put_message_field(pb_writer *w, uint32_t field, void (*write)(pb_writer *, const void *),
                          const void *ctx)
{
    pb_writer measure = {NULL, 0, false};
    write(&measure, ctx);
    put_key(w, field, WIRE_LEN);
    put_varint(w, measure.size);
    if (!w->out) {
        w->size += measure.size;
        return;
    }
    uint64_t before = w->size;
    write(w, ctx);
    if (w->size - before != measure.size) /* a writer that is not deterministic */
        w->failed = true;
}
