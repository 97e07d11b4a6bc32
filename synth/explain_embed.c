/* Embeddings: one feature row per input from a layer's activation, and the
 * nearest neighbours among the rows by L2 distance.
 * Shapes: act [1, C, positions...]; rows [n, d]. */
#include "synth/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t channels_of(const tensor *act)
{
    return act->ndim >= 2 ? (size_t)act->shape[1] : tensor_numel(act);
}

size_t embed_row_length(const tensor *act, embed_pool pool)
{
    return pool == EMBED_POOL_NONE ? tensor_numel(act) : channels_of(act);
}

void embed_row(const tensor *act, embed_pool pool, float *row)
{
    size_t n = tensor_numel(act), c = channels_of(act), positions = c ? n / c : 0;
    if (pool == EMBED_POOL_NONE) {
        memcpy(row, act->data, n * sizeof *row);
        return;
    }
    for (size_t k = 0; k < c; k++) {
        const float *a = act->data + k * positions;
        double acc = pool == EMBED_POOL_MAX ? -INFINITY : 0;
        for (size_t p = 0; p < positions; p++)
            acc = pool == EMBED_POOL_MAX ? fmax(acc, a[p]) : acc + a[p];
        row[k] = (float)(pool == EMBED_POOL_MAX ? acc : acc / (double)positions);
    }
}

typedef struct {
    double dist;
    int index;
} neighbour;

static int by_distance(const void *a, const void *b)
{
    const neighbour *x = a, *y = b;
    if (x->dist != y->dist)
        return x->dist < y->dist ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

status embed_neighbours(const float *rows, int n, size_t d, int k, int *idx, double *dist)
{
    if (k < 1 || k >= n)
        return error_set("--neighbours", "%d: needs 1 <= K < the number of inputs (%d)", k, n);
    neighbour *cand = alloc_array((size_t)n, sizeof *cand, "neighbours");
    if (!cand)
        return ST_ERROR;
    for (int i = 0; i < n; i++) {
        int m = 0;
        for (int j = 0; j < n; j++) {
            if (j == i)
                continue;
            double sum = 0;
            for (size_t t = 0; t < d; t++) {
                double diff = (double)rows[(size_t)i * d + t] - rows[(size_t)j * d + t];
                sum += diff * diff;
            }
            cand[m++] = (neighbour){sqrt(sum), j};
        }
        qsort(cand, (size_t)m, sizeof *cand, by_distance);
        for (int j = 0; j < k; j++) {
            idx[(size_t)i * (size_t)k + (size_t)j] = cand[j].index;
            dist[(size_t)i * (size_t)k + (size_t)j] = cand[j].dist;
        }
    }
    free(cand);
    return ST_OK;
}
