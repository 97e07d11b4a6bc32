/* NumPy .npy files of float32 tensors: what `synth probe` reads and writes,
 * and how reference data moves between PyTorch scripts and our tests.
 *
 * Format (numpy's NEP 1): "\x93NUMPY", major, minor, the header length
 * (uint16 little-endian for version 1.0, uint32 for 2.0 and 3.0), then an
 * ASCII Python dict literal {'descr': '<f4', 'fortran_order': False,
 * 'shape': (2, 3), } padded with spaces to a multiple of 64 bytes and ending
 * in '\n', then the raw data. The header is parsed strictly: anything we
 * cannot read exactly is an error, never a guess.
 */
#include "net/net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host"
#endif

enum { NPY_MAX_HEADER = 1 << 20 };

typedef struct {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool take(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A quoted Python string (no escapes needed for the keys and dtypes numpy
 * writes) into buf. */
static bool parse_string(cursor *c, char *buf, size_t size)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return false;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= size)
            return false;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return false;
    c->p++;
    buf[n] = '\0';
    return true;
}

static bool parse_word(cursor *c, const char *word)
{
    skip_space(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || strncmp(c->p, word, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool parse_dim(cursor *c, int64_t *out)
{
    skip_space(c);
    int64_t v = 0;
    const char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (*c->p++ - '0');
    }
    if (c->p < c->end && *c->p == 'L') /* Python 2 longs */
        c->p++;
    *out = v;
    return c->p > start;
}

/* "(2, 3)", "(5,)" or "()". */
static status parse_shape(cursor *c, const char *path, int *ndim, int64_t *shape)
{
    *ndim = 0;
    if (!take(c, '('))
        return error_set(path, "bad .npy header: shape is not a tuple");
    if (take(c, ')'))
        return ST_OK;
    for (;;) {
        if (*ndim == TENSOR_MAX_DIMS)
            return error_set(path, "more than %d dimensions", TENSOR_MAX_DIMS);
        if (!parse_dim(c, &shape[*ndim]))
            return error_set(path, "bad .npy header: bad dimension in shape");
        (*ndim)++;
        bool comma = take(c, ',');
        if (take(c, ')'))
            return ST_OK;
        if (!comma)
            return error_set(path, "bad .npy header: malformed shape");
    }
}

static status parse_header(const char *path, const char *text, size_t len, int *ndim,
                           int64_t *shape)
{
    cursor c = {text, text + len};
    bool have_descr = false, have_order = false, have_shape = false;
    if (!take(&c, '{'))
        return error_set(path, "bad .npy header: not a dictionary");
    while (!take(&c, '}')) {
        char key[32], value[32];
        if (!parse_string(&c, key, sizeof key) || !take(&c, ':'))
            return error_set(path, "bad .npy header: malformed dictionary");
        if (strcmp(key, "descr") == 0) {
            if (!parse_string(&c, value, sizeof value))
                return error_set(path, "bad .npy header: descr is not a string");
            if (strcmp(value, "<f4") != 0)
                return error_set(path, "data type '%s' is not supported (expects float32, '<f4')",
                                 value);
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (parse_word(&c, "True"))
                return error_set(path, "Fortran-order arrays are not supported (save in C order)");
            if (!parse_word(&c, "False"))
                return error_set(path, "bad .npy header: fortran_order is not True or False");
            have_order = true;
        } else if (strcmp(key, "shape") == 0) {
            if (parse_shape(&c, path, ndim, shape) != ST_OK)
                return ST_ERROR;
            have_shape = true;
        } else {
            return error_set(path, "bad .npy header: unexpected key '%s'", key);
        }
        if (!take(&c, ',')) {
            if (!take(&c, '}'))
                return error_set(path, "bad .npy header: malformed dictionary");
            break;
        }
    }
    skip_space(&c);
    if (c.p != c.end)
        return error_set(path, "bad .npy header: text after the dictionary");
    if (!have_descr || !have_order || !have_shape)
        return error_set(path, "bad .npy header: missing %s",
                         !have_descr   ? "descr"
                         : !have_order ? "fortran_order"
                                       : "shape");
    return ST_OK;
}

/* The fixed prefix and the header: what the data after it must be. `pre`
 * holds the first `avail` bytes of a file of `file_size` bytes. */
static status parse_prefix(const char *path, const unsigned char *pre, size_t avail, uint64_t file_size,
                           int *ndim, int64_t *shape, size_t *data_offset, size_t *data_bytes)
{
    if (avail < 10 || memcmp(pre, "\x93NUMPY", 6) != 0)
        return error_set(path, "not a .npy file");
    unsigned major = pre[6];
    size_t hlen, offset;
    if (major == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (avail < 12)
            return error_set(path, "truncated .npy header");
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
        offset = 12;
    } else {
        return error_set(path, ".npy format version %u.%u is not supported", major, pre[7]);
    }
    if (hlen > NPY_MAX_HEADER || offset + hlen > file_size || offset + hlen > avail)
        return error_set(path, "truncated or oversized .npy header");
    const char *header = (const char *)pre + offset;
    if (memchr(header, '\0', hlen))
        return error_set(path, "bad .npy header: NUL byte");
    if (parse_header(path, header, hlen, ndim, shape) != ST_OK)
        return ST_ERROR;
    size_t count = 1, bytes;
    for (int i = 0; i < *ndim; i++)
        if (!size_mul(count, (size_t)shape[i], &count))
            return error_prefix(path);
    if (!size_mul(count, sizeof(float), &bytes))
        return error_prefix(path);
    uint64_t have = file_size - offset - hlen;
    if (have != bytes) {
        char sh[128];
        return error_set(path, "holds %llu bytes of data, but shape %s needs %zu", (unsigned long long)have,
                         shape_format(*ndim, shape, sh, sizeof sh), bytes);
    }
    *data_offset = offset + hlen;
    *data_bytes = bytes;
    return ST_OK;
}

status tensor_read_npy(const char *path, tensor *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(path, "%s", strerror(errno));
    status s = ST_ERROR;
    unsigned char *pre = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        error_set(path, "not a regular file");
        goto done;
    }
    /* The prefix and header: at most 12 + NPY_MAX_HEADER bytes. */
    size_t want = (uint64_t)st.st_size < 12 + NPY_MAX_HEADER ? (size_t)st.st_size : 12 + NPY_MAX_HEADER;
    if (!(pre = malloc(want ? want : 1))) {
        error_set(path, "out of memory");
        goto done;
    }
    size_t avail = fread(pre, 1, want, f), offset, bytes;
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    if (parse_prefix(path, pre, avail, (uint64_t)st.st_size, &ndim, shape, &offset, &bytes) != ST_OK)
        goto done;
    if (tensor_alloc(out, ndim, shape) != ST_OK) {
        error_prefix(path);
        goto done;
    }
    if (fseek(f, (long)offset, SEEK_SET) != 0 || fread(out->data, 1, bytes, f) != bytes) {
        error_set(path, "read failed");
        tensor_free(out);
        goto done;
    }
    s = ST_OK;
done:
    free(pre);
    fclose(f);
    return s;
}

status tensor_decode_npy(const void *bytes, size_t n, const char *name, tensor *out)
{
    memset(out, 0, sizeof *out);
    size_t offset, size;
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    if (parse_prefix(name, bytes, n, n, &ndim, shape, &offset, &size) != ST_OK)
        return ST_ERROR;
    if (tensor_alloc(out, ndim, shape) != ST_OK)
        return error_prefix(name);
    if (size)
        memcpy(out->data, (const unsigned char *)bytes + offset, size);
    return ST_OK;
}

status tensor_write_npy(const char *path, const tensor *t)
{
    char dict[512];
    size_t n =
        (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < t->ndim; i++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%lld, ", (long long)t->shape[i]);
    if (t->ndim > 1)
        n -= 2; /* "(2, 3)": no trailing comma; "(5,)" keeps it */
    else if (t->ndim == 1)
        n -= 1;
    n += (size_t)snprintf(dict + n, sizeof dict - n, "), }");
    /* Pad with spaces so the data starts at a multiple of 64, then '\n'. */
    size_t hlen = (10 + n + 1 + 63) / 64 * 64 - 10;
    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)(hlen & 0xFF),
                             (unsigned char)(hlen >> 8)};
    atomic_file *f;
    if (atomic_open(path, &f) != ST_OK)
        return ST_ERROR;
    FILE *out = atomic_stream(f);
    fwrite(pre, 1, sizeof pre, out);
    fwrite(dict, 1, n, out);
    for (size_t i = n; i + 1 < hlen; i++)
        fputc(' ', out);
    fputc('\n', out);
    size_t count = tensor_numel(t);
    if (count && fwrite(t->data, sizeof(float), count, out) != count) {
        atomic_abort(f);
        return error_set(path, "write failed");
    }
    return atomic_commit(f);
}
