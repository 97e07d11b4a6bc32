/* Tensors: allocation and shapes. A tensor is a plain float array with a
 * shape; nothing here knows about ops or graphs. */
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

size_t shape_numel(int ndim, const int64_t *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    return n;
}

size_t tensor_numel(const tensor *t) { return shape_numel(t->ndim, t->shape); }

status tensor_alloc(tensor *t, int ndim, const int64_t *shape)
{
    memset(t, 0, sizeof *t);
    if (ndim < 0 || ndim > TENSOR_MAX_DIMS)
        return error_set("tensor", "%d dimensions (at most %d)", ndim, TENSOR_MAX_DIMS);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return error_set("tensor", "negative dimension %lld", (long long)shape[i]);
        if (!size_mul(n, (size_t)shape[i], &n))
            return error_prefix("tensor");
    }
    float *data = alloc_array(n, sizeof(float), "tensor");
    if (!data)
        return ST_ERROR;
    t->ndim = ndim;
    if (ndim > 0)
        memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->data = data;
    return ST_OK;
}

void tensor_free(tensor *t)
{
    if (!t)
        return;
    free(t->data);
    memset(t, 0, sizeof *t);
}

bool tensor_same_shape(const tensor *a, const tensor *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return false;
    return true;
}

const char *shape_format(int ndim, const int64_t *shape, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    buf[0] = '\0';
    if (ndim == 0) {
        snprintf(buf, size, "scalar");
        return buf;
    }
    size_t used = 0;
    for (int i = 0; i < ndim && used < size; i++) {
        int n = snprintf(buf + used, size - used, i ? "x%lld" : "%lld", (long long)shape[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}
