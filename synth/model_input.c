/* Model input: opening a model with the user's overrides, and the affine map
 * between images (planar RGB in [0, 1]) and a network's 1x3xHxW input, with
 * its inverse and the adjoint that carries gradients back to the image. */
#include "synth/synth.h"

#include <stdlib.h>

status model_open(const model_options *o, net_model **out)
{
    *out = NULL;
    if (o->bgr && o->rgb)
        return error_set("--bgr", "cannot be combined with --rgb");
    net_model *m;
    if (net_model_open(o->model && *o->model ? o->model : "default", &m) != ST_OK)
        return ST_ERROR;
    net_preprocess p = *net_model_preprocess(m);
    preprocess_override ov = {
        .mean = o->mean.values, .nmean = o->mean.count,
        .std = o->std.values, .nstd = o->std.count,
        .scale = o->scale,
        .bgr = o->bgr ? 1 : o->rgb ? 0 : -1,
    };
    if (net_preprocess_override(&p, &ov) != ST_OK ||
        (o->labels && net_model_load_labels(m, o->labels) != ST_OK)) {
        net_model_close(m);
        return ST_ERROR;
    }
    net_model_set_preprocess(m, &p);
    *out = m;
    return ST_OK;
}

/* Image channel read by network channel k. */
static int image_channel(const net_preprocess *p, int k) { return p->bgr ? 2 - k : k; }

/* Checks x is 1x3xHxW, or allocates it when x->data is NULL. */
static status input_tensor_for(tensor *x, int width, int height, const char *what)
{
    int64_t shape[4] = {1, 3, height, width};
    if (!x->data)
        return tensor_alloc(x, 4, shape);
    if (x->ndim != 4 || x->shape[0] != 1 || x->shape[1] != 3 || x->shape[2] != height ||
        x->shape[3] != width) {
        char have[64];
        return error_set(what, "expected a 1x3x%dx%d tensor, got %s", height, width,
                         shape_format(x->ndim, x->shape, have, sizeof have));
    }
    return ST_OK;
}

/* Checks x is 1x3xHxW and im is empty (then allocated) or H x W. */
static status image_for(const tensor *x, image *im, const char *what)
{
    if (x->ndim != 4 || x->shape[0] != 1 || x->shape[1] != 3 || x->shape[2] < 1 ||
        x->shape[3] < 1 || x->shape[2] > INT32_MAX || x->shape[3] > INT32_MAX) {
        char have[64];
        return error_set(what, "expected a 1x3xHxW tensor, got %s",
                         shape_format(x->ndim, x->shape, have, sizeof have));
    }
    int h = (int)x->shape[2], w = (int)x->shape[3];
    if (!im->data)
        return image_alloc(im, w, h, what);
    if (im->width != w || im->height != h)
        return error_set(what, "image is %dx%d, tensor is %dx%d", im->width, im->height, w, h);
    return ST_OK;
}

/* dst[k][i] = src[k][i] · a[k] + b[k] for the three channels of one plane. */
static void affine_channels(const float *const src[3], float *const dst[3], const float a[3],
                            const float b[3], size_t plane)
{
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < plane; i++)
            dst[k][i] = src[k][i] * a[k] + b[k];
}

/* x: 1x3xHxW.  x[k] = (v[c]·scale − mean[k]) / std[k]. */
status image_to_input(const image *im, const net_preprocess *p, tensor *x)
{
    if (input_tensor_for(x, im->width, im->height, "network input") != ST_OK)
        return ST_ERROR;
    size_t plane = (size_t)im->width * (size_t)im->height;
    const float *src[3];
    float *dst[3], a[3], b[3];
    for (int k = 0; k < 3; k++) {
        src[k] = image_plane(im, image_channel(p, k));
        dst[k] = x->data + (size_t)k * plane;
        a[k] = p->scale / p->std[k];
        b[k] = -p->mean[k] / p->std[k];
    }
    affine_channels(src, dst, a, b, plane);
    return ST_OK;
}

/* v[c] = (x[k]·std[k] + mean[k]) / scale. */
status input_to_image(const tensor *x, const net_preprocess *p, image *im)
{
    if (image_for(x, im, "network input") != ST_OK)
        return ST_ERROR;
    size_t plane = (size_t)im->width * (size_t)im->height;
    const float *src[3];
    float *dst[3], a[3], b[3];
    for (int k = 0; k < 3; k++) {
        src[k] = x->data + (size_t)k * plane;
        dst[k] = image_plane(im, image_channel(p, k));
        a[k] = p->std[k] / p->scale;
        b[k] = p->mean[k] / p->scale;
    }
    affine_channels(src, dst, a, b, plane);
    return ST_OK;
}

/* g[c] = dx[k] · scale / std[k]: the transpose of the diagonal linear part. */
status input_grad_to_image(const tensor *dx, const net_preprocess *p, image *g)
{
    if (image_for(dx, g, "input gradient") != ST_OK)
        return ST_ERROR;
    size_t plane = (size_t)g->width * (size_t)g->height;
    const float *src[3];
    float *dst[3], a[3], b[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        src[k] = dx->data + (size_t)k * plane;
        dst[k] = image_plane(g, image_channel(p, k));
        a[k] = p->scale / p->std[k];
    }
    affine_channels(src, dst, a, b, plane);
    return ST_OK;
}
