/* tool_mutate SEED IN OUT — writes IN damaged, deterministically from SEED:
 * bit flips, a truncation, inserted or deleted bytes, a repeated run, or an
 * edited length field (PNG chunk lengths, JPEG segment lengths, protobuf
 * length prefixes, the .npy header length and shape numbers; any 4 bytes for
 * other files). Prints what it did. For tests/cli_damaged.sh; not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

typedef struct {
    unsigned char *b;
    size_t n, cap;
} bytes;

static void reserve(bytes *x, size_t n)
{
    if (n <= x->cap)
        return;
    x->cap = n * 2 + 64;
    x->b = realloc(x->b, x->cap);
    if (!x->b) {
        fprintf(stderr, "tool_mutate: out of memory\n");
        exit(1);
    }
}

/* Replaces b[at, at + del) by ins[0, nins). */
static void splice(bytes *x, size_t at, size_t del, const unsigned char *ins, size_t nins)
{
    reserve(x, x->n - del + nins);
    memmove(x->b + at + nins, x->b + at + del, x->n - at - del);
    if (nins)
        memcpy(x->b + at, ins, nins);
    x->n = x->n - del + nins;
}

static size_t pick(rng *r, size_t n) { return n ? (size_t)rng_range(r, 0, (int64_t)n - 1) : 0; }

/* A length-like value: 0, off by one, a sign bit, all ones, or random. */
static uint32_t wild_length(rng *r, uint32_t was)
{
    switch (rng_range(r, 0, 6)) {
    case 0: return 0;
    case 1: return was + 1;
    case 2: return was - 1;
    case 3: return 0x7fffffffu;
    case 4: return 0xffffffffu;
    case 5: return was * 2 + 1;
    default: return (uint32_t)rng_u64(r);
    }
}

/* ---- format-aware length edits: each returns false when it found none ---- */

static bool edit_png(bytes *x, rng *r, char *what, size_t wn)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (x->n < 8 || memcmp(x->b, sig, 8) != 0)
        return false;
    size_t at[256], k = 0;
    for (size_t p = 8; p + 8 <= x->n && k < 256;) {
        at[k++] = p;
        uint32_t len = (uint32_t)x->b[p] << 24 | (uint32_t)x->b[p + 1] << 16 | (uint32_t)x->b[p + 2] << 8 | x->b[p + 3];
        if ((uint64_t)p + 12 + len > x->n)
            break;
        p += 12 + len;
    }
    if (!k)
        return false;
    size_t p = at[pick(r, k)];
    uint32_t was = (uint32_t)x->b[p] << 24 | (uint32_t)x->b[p + 1] << 16 | (uint32_t)x->b[p + 2] << 8 | x->b[p + 3];
    uint32_t v = wild_length(r, was);
    for (int i = 0; i < 4; i++)
        x->b[p + i] = (unsigned char)(v >> (24 - 8 * i));
    snprintf(what, wn, "PNG chunk '%.4s' at %zu: length %u -> %u", (const char *)x->b + p + 4, p, was, v);
    return true;
}

static bool edit_jpeg(bytes *x, rng *r, char *what, size_t wn)
{
    if (x->n < 4 || x->b[0] != 0xff || x->b[1] != 0xd8)
        return false;
    size_t at[256], k = 0;
    for (size_t p = 2; p + 4 <= x->n && k < 256; p++)
        if (x->b[p] == 0xff && x->b[p + 1] >= 0xc0 && x->b[p + 1] != 0xff && x->b[p + 1] != 0xd8 &&
            x->b[p + 1] != 0xd9 && !(x->b[p + 1] >= 0xd0 && x->b[p + 1] <= 0xd7))
            at[k++] = p + 2;
    if (!k)
        return false;
    size_t p = at[pick(r, k)];
    unsigned was = (unsigned)x->b[p] << 8 | x->b[p + 1], v = wild_length(r, was) & 0xffff;
    x->b[p] = (unsigned char)(v >> 8);
    x->b[p + 1] = (unsigned char)v;
    snprintf(what, wn, "JPEG marker %02x at %zu: length %u -> %u", x->b[p - 1], p - 2, was, v);
    return true;
}

/* Positions of the length varints of every length-delimited field of a
 * protobuf message that parses completely, descending into payloads that
 * parse as messages themselves. */
static bool parse_varint(const unsigned char *p, const unsigned char *end, uint64_t *v, size_t *used)
{
    *v = 0;
    for (size_t i = 0; i < 10 && p + i < end; i++) {
        *v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *used = i + 1;
            return true;
        }
    }
    return false;
}

static bool proto_lengths(const bytes *x, size_t begin, size_t end, size_t *at, size_t *k, size_t max, int depth)
{
    size_t found = *k;
    for (size_t p = begin; p < end;) {
        uint64_t key, v;
        size_t used;
        if (!parse_varint(x->b + p, x->b + end, &key, &used) || (key >> 3) == 0)
            goto fail;
        p += used;
        switch (key & 7) {
        case 0:
            if (!parse_varint(x->b + p, x->b + end, &v, &used))
                goto fail;
            p += used;
            break;
        case 1: p += 8; break;
        case 5: p += 4; break;
        case 2:
            if (!parse_varint(x->b + p, x->b + end, &v, &used) || v > end - p - used)
                goto fail;
            if (*k < max)
                at[(*k)++] = p;
            if (depth < 6)
                proto_lengths(x, p + used, p + used + v, at, k, max, depth + 1);
            p += used + v;
            break;
        default: goto fail;
        }
        if (p > end)
            goto fail;
    }
    return true;
fail:
    *k = found; /* not a message: forget what this level found */
    return false;
}

static void put_varint(unsigned char *out, size_t *n, uint64_t v)
{
    *n = 0;
    do {
        out[(*n)++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
}

static bool edit_protobuf(bytes *x, rng *r, char *what, size_t wn)
{
    static size_t at[4096];
    size_t k = 0;
    if (x->n < 2 || !proto_lengths(x, 0, x->n, at, &k, 4096, 0) || !k)
        return false;
    size_t p = at[pick(r, k)], used = 1;
    uint64_t was = 0;
    parse_varint(x->b + p, x->b + x->n, &was, &used);
    uint64_t v = rng_range(r, 0, 3) == 0 ? rng_u64(r) >> rng_range(r, 0, 63) : wild_length(r, (uint32_t)was);
    unsigned char enc[10];
    size_t n;
    put_varint(enc, &n, v);
    splice(x, p, used, enc, n);
    snprintf(what, wn, "protobuf length at %zu: %llu -> %llu", p, (unsigned long long)was, (unsigned long long)v);
    return true;
}

static bool edit_npy(bytes *x, rng *r, char *what, size_t wn)
{
    if (x->n < 10 || memcmp(x->b, "\x93NUMPY", 6) != 0)
        return false;
    if (rng_range(r, 0, 1) == 0) { /* the header length (little-endian 16 bits in 1.0) */
        unsigned was = x->b[8] | (unsigned)x->b[9] << 8, v = wild_length(r, was) & 0xffff;
        x->b[8] = (unsigned char)v;
        x->b[9] = (unsigned char)(v >> 8);
        snprintf(what, wn, ".npy header length %u -> %u", was, v);
        return true;
    }
    /* a number in the header text */
    size_t digits[64], k = 0;
    for (size_t p = 10; p < x->n && p < 200 && k < 64; p++)
        if (x->b[p] >= '0' && x->b[p] <= '9' && !(x->b[p - 1] >= '0' && x->b[p - 1] <= '9'))
            digits[k++] = p;
    if (!k)
        return false;
    size_t p = digits[pick(r, k)], len = 0;
    while (p + len < x->n && x->b[p + len] >= '0' && x->b[p + len] <= '9')
        len++;
    static const char *const numbers[] = {"0", "99999999999999999999", "4294967296", "1", "65536", "3037000500"};
    const char *num = numbers[pick(r, sizeof numbers / sizeof *numbers)];
    splice(x, p, len, (const unsigned char *)num, strlen(num));
    snprintf(what, wn, ".npy header number at %zu -> %s", p, num);
    return true;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: tool_mutate SEED IN OUT\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        fprintf(stderr, "tool_mutate: cannot open %s\n", argv[2]);
        return 1;
    }
    bytes x = {0};
    for (size_t got;;) {
        reserve(&x, x.n + 65536);
        got = fread(x.b + x.n, 1, x.cap - x.n, f);
        if (!got)
            break;
        x.n += got;
    }
    fclose(f);
    rng r;
    rng_seed(&r, strtoull(argv[1], NULL, 10));
    char what[256] = "";
    int kind = (int)rng_range(&r, 0, 6);
    if (x.n == 0)
        kind = 2;
    switch (kind) {
    case 0: { /* bit flips */
        int flips = (int)rng_range(&r, 1, 8);
        for (int i = 0; i < flips; i++) {
            size_t p = pick(&r, x.n);
            x.b[p] ^= (unsigned char)(1u << rng_range(&r, 0, 7));
        }
        snprintf(what, sizeof what, "%d bit flips", flips);
        break;
    }
    case 1: { /* truncation */
        size_t at = pick(&r, x.n);
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes", at, x.n);
        x.n = at;
        break;
    }
    case 2: { /* inserted bytes */
        unsigned char ins[16];
        size_t n = (size_t)rng_range(&r, 1, 16), at = pick(&r, x.n + 1);
        for (size_t i = 0; i < n; i++)
            ins[i] = (unsigned char)rng_u64(&r);
        splice(&x, at, 0, ins, n);
        snprintf(what, sizeof what, "%zu bytes inserted at %zu", n, at);
        break;
    }
    case 3: { /* deleted bytes */
        size_t at = pick(&r, x.n), n = (size_t)rng_range(&r, 1, 64);
        if (n > x.n - at)
            n = x.n - at;
        splice(&x, at, n, NULL, 0);
        snprintf(what, sizeof what, "%zu bytes deleted at %zu", n, at);
        break;
    }
    case 4: { /* a run repeated */
        size_t at = pick(&r, x.n), n = (size_t)rng_range(&r, 1, 256);
        if (n > x.n - at)
            n = x.n - at;
        unsigned char *copy = malloc(n ? n : 1);
        if (!copy)
            return 1;
        memcpy(copy, x.b + at, n);
        splice(&x, at, 0, copy, n);
        free(copy);
        snprintf(what, sizeof what, "%zu bytes at %zu repeated", n, at);
        break;
    }
    default: { /* a length field */
        if (edit_png(&x, &r, what, sizeof what) || edit_jpeg(&x, &r, what, sizeof what) ||
            edit_npy(&x, &r, what, sizeof what) || edit_protobuf(&x, &r, what, sizeof what))
            break;
        size_t at = x.n >= 4 ? pick(&r, x.n - 3) : 0;
        uint32_t v = wild_length(&r, 0);
        for (size_t i = 0; i < 4 && at + i < x.n; i++)
            x.b[at + i] = (unsigned char)(v >> (8 * i));
        snprintf(what, sizeof what, "4 bytes at %zu set to %u", at, v);
    }
    }
    f = fopen(argv[3], "wb");
    if (!f || (x.n && fwrite(x.b, 1, x.n, f) != x.n) || fclose(f) != 0) {
        fprintf(stderr, "tool_mutate: cannot write %s\n", argv[3]);
        return 1;
    }
    printf("%s\n", what);
    free(x.b);
    return 0;
}
