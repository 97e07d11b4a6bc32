/* Saliency maps: gradient (Simonyan et al. 2014), guided backprop
 * (Springenberg et al. 2015), deconvnet (Zeiler & Fergus 2014), Grad-CAM and
 * guided Grad-CAM (Selvaraju et al. 2017), occlusion (Zeiler & Fergus 2014).
 *
 * Shapes: x [1, C, H, W]; the map [H, W]; Grad-CAM's layer A [1, K, h, w]. */
#include "synth/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Ops that keep a feature map's shape and meaning: Grad-CAM's default layer
 * follows the last conv through them (a ReLU, a residual Add, ...). */
static bool keeps_maps(const char *op)
{
    static const char *const ops[] = {"Relu", "LeakyRelu", "Clip", "Add", "Sum", "BatchNormalization", "Identity"};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (strcmp(op, ops[i]) == 0)
            return true;
    return false;
}

static bool reads(const net_model *m, int layer, int from)
{
    for (int k = 0; k < net_layer_input_count(m, layer); k++)
        if (net_layer_input(m, layer, k) == from)
            return true;
    return false;
}

int explain_gradcam_layer(const net_model *m)
{
    int l = net_model_last_conv(m);
    for (int j = l + 1; l >= 0 && j < net_layer_count(m); j++)
        if (keeps_maps(net_layer_op(m, j)) && reads(m, j, l))
            l = j; /* and on from there */
    return l;
}

static status map_alloc(tensor *map, int64_t h, int64_t w)
{
    int64_t shape[2] = {h, w};
    return tensor_alloc(map, 2, shape);
}

/* map[p] = max_c |g[c, p]|. */
static void max_abs_over_channels(const tensor *g, tensor *map)
{
    size_t plane = (size_t)(g->shape[2] * g->shape[3]);
    for (size_t i = 0; i < plane; i++) {
        float m = 0;
        for (int64_t c = 0; c < g->shape[1]; c++)
            m = fmaxf(m, fabsf(g->data[(size_t)c * plane + i]));
        map->data[i] = m;
    }
}

static status gradient_map(explainer *e, const tensor *x, int target, net_relu_backward relu,
                           tensor *map)
{
    tensor g = {0};
    status st = explainer_gradient(e, x, target, CLASS_SCORE, relu, -1, &g, NULL);
    if (st == ST_OK && (st = map_alloc(map, x->shape[2], x->shape[3])) == ST_OK)
        max_abs_over_channels(&g, map);
    tensor_free(&g);
    return st;
}

/* Where unit i of an axis of n units sits in input pixels: offset + i·stride,
 * from the layer's receptive field; without one, n units spread evenly over
 * the `extent` pixels. */
typedef struct {
    double offset[2], stride[2];
} unit_grid;

static void grid_of(const net_model *m, int layer, const int64_t units[2], const int64_t extent[2],
                    unit_grid *u)
{
    net_receptive_field rf;
    bool known = net_layer_receptive_field(m, layer, &rf) == ST_OK;
    for (int a = 0; a < 2; a++) {
        if (known && rf.stride[a] > 0 && rf.stride[a] < extent[a]) {
            u->stride[a] = (double)rf.stride[a];
            u->offset[a] = rf.offset[a];
        } else {
            u->stride[a] = (double)extent[a] / (double)units[a];
            u->offset[a] = (u->stride[a] - 1) / 2;
        }
    }
    error_clear();
}

/* Bilinear position of input pixel p between units: i0, i1 and weight t of i1. */
static void unit_at(double offset, double stride, int64_t n, int64_t p, int64_t *i0, int64_t *i1, double *t)
{
    double u = ((double)p - offset) / stride;
    u = u < 0 ? 0 : u > (double)(n - 1) ? (double)(n - 1) : u;
    *i0 = (int64_t)floor(u);
    *i1 = *i0 + 1 < n ? *i0 + 1 : *i0;
    *t = u - (double)*i0;
}

/* cam [h, w] (from A and dA, both [1, K, h, w]) into map [H, W] by bilinear
 * interpolation between unit centres. */
static void cam_upsample(const double *cam, int64_t h, int64_t w, const unit_grid *u, tensor *map)
{
    int64_t H = map->shape[0], W = map->shape[1];
    for (int64_t y = 0; y < H; y++) {
        int64_t y0, y1, x0, x1;
        double ty, tx;
        unit_at(u->offset[0], u->stride[0], h, y, &y0, &y1, &ty);
        for (int64_t x = 0; x < W; x++) {
            unit_at(u->offset[1], u->stride[1], w, x, &x0, &x1, &tx);
            double top = cam[y0 * w + x0] * (1 - tx) + cam[y0 * w + x1] * tx;
            double bottom = cam[y1 * w + x0] * (1 - tx) + cam[y1 * w + x1] * tx;
            map->data[y * W + x] = (float)(top * (1 - ty) + bottom * ty);
        }
    }
}

/* Grad-CAM: alpha_k = mean_ij dS/dA[k, i, j]; cam = relu(sum_k alpha_k A[k]). */
static status gradcam_map(explainer *e, net_model *m, const tensor *x, int target, int layer,
                          tensor *map)
{
    tensor g = {0};
    status st = explainer_gradient(e, x, target, CLASS_SCORE, NET_RELU_STANDARD, layer, &g, NULL);
    tensor_free(&g);
    if (st != ST_OK)
        return st;
    const tensor *A = net_activation(explainer_session(e), layer);
    const tensor *dA = net_gradient(explainer_session(e), layer);
    if (A->ndim != 4 || A->shape[0] != 1) {
        char buf[96];
        return error_set(net_layer_name(m, layer),
                         "Grad-CAM needs a layer of feature maps [1, K, h, w], this one is %s",
                         shape_format(A->ndim, A->shape, buf, sizeof buf));
    }
    int64_t K = A->shape[1], h = A->shape[2], w = A->shape[3];
    size_t hw = (size_t)(h * w);
    double *cam = alloc_array(hw, sizeof *cam, "Grad-CAM");
    if (!cam || map_alloc(map, x->shape[2], x->shape[3]) != ST_OK) {
        free(cam);
        return ST_ERROR;
    }
    for (int64_t k = 0; k < K; k++) {
        const float *a = A->data + (size_t)k * hw, *da = dA->data + (size_t)k * hw;
        double alpha = 0;
        for (size_t i = 0; i < hw; i++)
            alpha += da[i];
        alpha /= (double)hw;
        for (size_t i = 0; i < hw; i++)
            cam[i] += alpha * a[i];
    }
    for (size_t i = 0; i < hw; i++)
        cam[i] = fmax(cam[i], 0);
    unit_grid u;
    grid_of(m, layer, (int64_t[2]){h, w}, (int64_t[2]){x->shape[2], x->shape[3]}, &u);
    cam_upsample(cam, h, w, &u, map);
    free(cam);
    return ST_OK;
}

/* ---- occlusion ------------------------------------------------------------------- */

/* Window starts along an axis of n pixels: 0, s, 2s, ... and n - p when the
 * steps miss the far edge (p clipped to n). Returns the count; starts may be
 * NULL to count only. */
static int64_t window_starts(int64_t n, int64_t p, int64_t s, int64_t *starts)
{
    p = p < n ? p : n;
    int64_t count = 0, last = -1;
    for (int64_t a = 0; a + p <= n; a += s) {
        if (starts)
            starts[count] = a;
        count++;
        last = a;
    }
    if (last + p < n) {
        if (starts)
            starts[count] = n - p;
        count++;
    }
    return count;
}

/* Copies per forward: at most 32, about 256 MiB of the engine's memory. (The
 * engine runs a batch's items one after another inside each op, so larger
 * batches save per-run overhead only: they pay off for small models.) */
static int auto_batch(size_t bytes_per_item)
{
    const size_t budget = (size_t)256 << 20;
    size_t b = budget / (bytes_per_item ? bytes_per_item : 1);
    return b < 1 ? 1 : b > 32 ? 32 : (int)b;
}

typedef struct {
    int64_t C, H, W, P;
    const int64_t *ys, *xs; /* window starts */
    int64_t nx;             /* windows per row */
} occluder;

/* Item b of the batch: x with window t covered by the fill. */
static void occlude(const occluder *oc, const tensor *x, float *dst, int64_t t, const float *fill)
{
    size_t plane = (size_t)(oc->H * oc->W);
    memcpy(dst, x->data, (size_t)oc->C * plane * sizeof *dst);
    int64_t y0 = oc->ys[t / oc->nx], x0 = oc->xs[t % oc->nx];
    int64_t ph = oc->P < oc->H ? oc->P : oc->H, pw = oc->P < oc->W ? oc->P : oc->W;
    for (int64_t c = 0; c < oc->C; c++)
        for (int64_t y = y0; y < y0 + ph; y++)
            for (int64_t xx = x0; xx < x0 + pw; xx++)
                dst[(size_t)c * plane + (size_t)(y * oc->W + xx)] = fill[c];
}

static status occlusion_map(explainer *e, const tensor *x, const saliency_options *o, int target,
                            double p0, size_t bytes_per_item, saliency_result *r)
{
    int64_t C = x->shape[1], H = x->shape[2], W = x->shape[3], P = o->patch, S = o->stride;
    if (P < 1 || S < 1)
        return error_set("--patch", "the patch and the stride must be at least 1 pixel");
    int64_t ny = window_starts(H, P, S, NULL), nx = window_starts(W, P, S, NULL), T = ny * nx;
    size_t plane = (size_t)(H * W), item = (size_t)C * plane;
    int B = o->batch > 0 ? o->batch : auto_batch(bytes_per_item);
    B = (int64_t)B > T ? (int)T : B;
    int64_t *ys = alloc_array((size_t)(ny + nx), sizeof *ys, "occlusion");
    float *fill = alloc_array((size_t)C, sizeof *fill, "occlusion");
    double *sum = alloc_array(plane, 2 * sizeof *sum, "occlusion");
    tensor batch = {0}, probs = {0};
    int64_t bshape[4] = {B, C, H, W};
    status st = ys && fill && sum ? tensor_alloc(&batch, 4, bshape) : ST_ERROR;
    if (st != ST_OK || map_alloc(&r->map, H, W) != ST_OK) {
        st = ST_ERROR;
        goto done;
    }
    window_starts(H, P, S, ys);
    window_starts(W, P, S, ys + ny);
    occluder oc = {.C = C, .H = H, .W = W, .P = P, .ys = ys, .xs = ys + ny, .nx = nx};
    for (int64_t c = 0; c < C; c++) {
        double m = 0;
        for (size_t i = 0; o->fill == OCCLUSION_FILL_MEAN && i < plane; i++)
            m += x->data[(size_t)c * plane + i];
        fill[c] = (float)(m / (double)plane);
    }
    double *count = sum + plane;
    for (int64_t t0 = 0; t0 < T;) {
        if (interrupt_signal) {
            error_set("occlusion", "interrupted");
            st = ST_INTERRUPTED;
            goto done;
        }
        int64_t b = T - t0 < B ? T - t0 : B;
        batch.shape[0] = b;
        for (int64_t i = 0; i < b; i++)
            occlude(&oc, x, batch.data + (size_t)i * item, t0 + i, fill);
        tensor_free(&probs);
        if ((st = explainer_predict(e, &batch, &probs)) != ST_OK) {
            if (B == 1 || st == ST_INTERRUPTED)
                goto done;
            B = 1; /* a graph that fixes its batch size: one copy at a time */
            error_clear();
            continue;
        }
        r->forwards++;
        for (int64_t i = 0; i < b; i++) {
            double p = probs.data[i * probs.shape[1] + target];
            int64_t t = t0 + i, y0 = ys[t / nx], x0 = ys[ny + t % nx];
            for (int64_t y = y0; y < y0 + P && y < H; y++)
                for (int64_t xx = x0; xx < x0 + P && xx < W; xx++) {
                    sum[y * W + xx] += p;
                    count[y * W + xx] += 1;
                }
        }
        t0 += b;
    }
    for (size_t i = 0; i < plane; i++)
        r->map.data[i] = (float)(count[i] > 0 ? sum[i] / count[i] : p0);
    r->batch = B;
    st = ST_OK;
done:
    free(ys);
    free(fill);
    free(sum);
    tensor_free(&batch);
    tensor_free(&probs);
    return st;
}

/* ---- the entry point ----------------------------------------------------------- */

status explain_saliency(explainer *e, const tensor *x, const saliency_options *o,
                        saliency_result *r)
{
    memset(r, 0, sizeof *r);
    char buf[96];
    if (x->ndim != 4 || x->shape[0] != 1 || x->shape[2] < 1 || x->shape[3] < 1)
        return error_set("input", "a saliency map needs a 1xCxHxW input, not %s",
                         shape_format(x->ndim, x->shape, buf, sizeof buf));
    net_model *m = explainer_model(e);
    tensor probs = {0};
    size_t before = net_current_bytes();
    net_reset_peak_bytes();
    status st = explainer_predict(e, x, &probs);
    if (st != ST_OK)
        return st;
    size_t bytes_per_item = net_peak_bytes() - before;
    r->forwards = 1;
    int classes = (int)probs.shape[1];
    r->target = o->target;
    if (r->target < 0 && explain_top_classes(probs.data, classes, 1, &r->target) != ST_OK) {
        tensor_free(&probs);
        return ST_ERROR;
    }
    if (r->target >= classes) {
        tensor_free(&probs);
        return error_set("--class", "%d: the scores have %d classes (0..%d)", r->target, classes,
                         classes - 1);
    }
    r->prob = probs.data[r->target];
    tensor_free(&probs);

    int layer = o->layer >= 0 ? o->layer : explain_gradcam_layer(m);
    if ((o->method == SALIENCY_GRADCAM || o->method == SALIENCY_GUIDED_GRADCAM) && layer < 0)
        return error_set(net_model_name(m), "has no Conv layer for Grad-CAM: give --layer");
    tensor cam = {0};
    switch (o->method) {
    case SALIENCY_GRADIENT:
        st = gradient_map(e, x, r->target, NET_RELU_STANDARD, &r->map);
        break;
    case SALIENCY_GUIDED:
        st = gradient_map(e, x, r->target, NET_RELU_GUIDED, &r->map);
        break;
    case SALIENCY_DECONVNET:
        st = gradient_map(e, x, r->target, NET_RELU_DECONVNET, &r->map);
        break;
    case SALIENCY_GRADCAM:
        st = gradcam_map(e, m, x, r->target, layer, &r->map);
        break;
    case SALIENCY_GUIDED_GRADCAM:
        st = gradcam_map(e, m, x, r->target, layer, &cam);
        if (st == ST_OK)
            st = gradient_map(e, x, r->target, NET_RELU_GUIDED, &r->map);
        for (size_t i = 0; st == ST_OK && i < tensor_numel(&cam); i++)
            r->map.data[i] *= cam.data[i];
        tensor_free(&cam);
        r->forwards++;
        break;
    case SALIENCY_OCCLUSION:
        st = occlusion_map(e, x, o, r->target, r->prob, bytes_per_item, r);
        break;
    }
    if (o->method != SALIENCY_OCCLUSION)
        r->forwards++;
    if (st != ST_OK)
        saliency_result_free(r);
    return st;
}

void saliency_result_free(saliency_result *r) { tensor_free(&r->map); }

status saliency_importance(const saliency_result *r, saliency_method method, tensor *heat)
{
    if (!heat->data && tensor_alloc(heat, r->map.ndim, r->map.shape) != ST_OK)
        return ST_ERROR;
    if (!tensor_same_shape(heat, &r->map))
        return error_set("heat map", "its shape does not match the saliency map's");
    size_t n = tensor_numel(&r->map);
    for (size_t i = 0; i < n; i++) {
        float v = r->map.data[i];
        heat->data[i] = method == SALIENCY_OCCLUSION ? fmaxf((float)r->prob - v, 0) : fmaxf(v, 0);
    }
    return ST_OK;
}
