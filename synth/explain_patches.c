/* Top patches: the crops of the input that most activate one channel of a
 * layer, over many images (Zeiler & Fergus 2014, fig. 2's patches).
 * Shapes: act [1, C, h, w]; a crop is the unit's receptive field. */
#include "synth/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

status receptive_crop(const image *im, const net_receptive_field *rf, int64_t y, int64_t x,
                      image *crop, int *top, int *left)
{
    if (rf->size[0] < 1 || rf->size[1] < 1 || rf->size[0] > INT32_MAX || rf->size[1] > INT32_MAX)
        return error_set("receptive field", "%lld x %lld pixels cannot be cropped",
                         (long long)rf->size[0], (long long)rf->size[1]);
    int h = (int)rf->size[0], w = (int)rf->size[1];
    /* The window of `size` pixels centred on offset + unit * stride. */
    double t = rf->offset[0] + (double)(y * rf->stride[0]) - (h - 1) / 2.0;
    double l = rf->offset[1] + (double)(x * rf->stride[1]) - (w - 1) / 2.0;
    if (fabs(t) > 1e9 || fabs(l) > 1e9)
        return error_set("receptive field", "unit (%lld, %lld) lies outside any image", (long long)y,
                         (long long)x);
    *top = (int)floor(t + 0.5);
    *left = (int)floor(l + 0.5);
    if (image_alloc(crop, w, h, "patch") != ST_OK)
        return ST_ERROR;
    for (int c = 0; c < 3; c++)
        for (int yy = 0; yy < h; yy++)
            for (int xx = 0; xx < w; xx++) {
                int64_t sy = (int64_t)*top + yy, sx = (int64_t)*left + xx;
                bool inside = sy >= 0 && sy < im->height && sx >= 0 && sx < im->width;
                image_plane(crop, c)[(size_t)yy * (size_t)w + (size_t)xx] =
                    inside ? image_plane(im, c)[(size_t)sy * (size_t)im->width + (size_t)sx] : 0.5f;
            }
    return ST_OK;
}

status top_patches_init(top_patches *t, int k)
{
    memset(t, 0, sizeof *t);
    if (k < 1)
        return error_set("--top", "must be at least 1");
    if (!(t->hits = alloc_array((size_t)k, sizeof *t->hits, "top patches")))
        return ST_ERROR;
    t->k = k;
    return ST_OK;
}

void top_patches_free(top_patches *t)
{
    for (int i = 0; i < t->count; i++)
        image_free(&t->hits[i].crop);
    free(t->hits);
    memset(t, 0, sizeof *t);
}

status top_patches_offer(top_patches *t, const tensor *act, int channel,
                         const net_receptive_field *rf, const image *im, int source)
{
    char buf[96];
    if (act->ndim != 4 || act->shape[0] != 1)
        return error_set("top patches", "the layer's output %s is not [1, C, h, w]",
                         shape_format(act->ndim, act->shape, buf, sizeof buf));
    if (channel < 0 || channel >= act->shape[1])
        return error_set("--channel", "%d is out of range: the layer has %lld channels", channel,
                         (long long)act->shape[1]);
    int64_t h = act->shape[2], w = act->shape[3];
    const float *a = act->data + (size_t)channel * (size_t)(h * w);
    int64_t best = 0;
    for (int64_t i = 1; i < h * w; i++)
        if (a[i] > a[best])
            best = i;
    patch_hit hit = {.value = a[best], .source = source, .y = (int)(best / w), .x = (int)(best % w)};
    if (isnan(hit.value) || (t->count == t->k && !(hit.value > t->hits[t->k - 1].value)))
        return ST_OK;
    if (receptive_crop(im, rf, hit.y, hit.x, &hit.crop, &hit.top, &hit.left) != ST_OK)
        return ST_ERROR;
    if (t->count == t->k)
        image_free(&t->hits[--t->count].crop);
    int at = t->count; /* after equal values: earlier images win ties */
    while (at > 0 && t->hits[at - 1].value < hit.value)
        at--;
    memmove(&t->hits[at + 1], &t->hits[at], (size_t)(t->count - at) * sizeof *t->hits);
    t->hits[at] = hit;
    t->count++;
    return ST_OK;
}
