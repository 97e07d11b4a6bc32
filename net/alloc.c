/* Checked size arithmetic and allocation: every product of sizes that could
 * come from a file or a flag goes through size_mul*, so overflow becomes an
 * error message instead of a short allocation. */
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

bool size_mul(size_t a, size_t b, size_t *out)
{
    size_t r;
    if (__builtin_mul_overflow(a, b, &r)) {
        error_set(NULL, "size overflow (%zu x %zu)", a, b);
        return false;
    }
    *out = r;
    return true;
}

bool size_mul3(size_t a, size_t b, size_t c, size_t *out)
{
    size_t ab;
    return size_mul(a, b, &ab) && size_mul(ab, c, out);
}

bool size_add(size_t a, size_t b, size_t *out)
{
    size_t r;
    if (__builtin_add_overflow(a, b, &r)) {
        error_set(NULL, "size overflow (%zu + %zu)", a, b);
        return false;
    }
    *out = r;
    return true;
}

void *alloc_array(size_t count, size_t size, const char *what)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        error_set(what, "size overflow (%zu x %zu bytes)", count, size);
        return NULL;
    }
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        error_set(what, "out of memory (%zu bytes)", bytes);
    return p;
}

char *string_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p) {
        error_set(NULL, "out of memory");
        return NULL;
    }
    memcpy(p, s, n);
    return p;
}
