/* Resampling: image_resize() with area, Lanczos-3 and Keys bicubic filters.
 *
 * Separable: each axis gets a weight table (for every output index, a window
 * of `taps` consecutive source indices and their weights), then a horizontal
 * pass src [3, H, W] -> tmp [3, H, w] and a vertical pass tmp -> dst [3, h, w].
 *
 * Coordinates: source pixel i covers [i, i+1) with its centre at i + 0.5.
 * With scale s = dst_n / src_n, output j's centre maps to
 *   x = (j + 0.5) / s - 0.5                           (in source indices)
 *   kernel filters:  w_i = K((i - x) * min(s, 1))     for |i - x| < r / min(s, 1)
 *                    (r = 3 Lanczos, 2 bicubic: shrinking widens the kernel)
 *   area:            w_i = |[i, i+1) ∩ [j / s, (j+1) / s)|
 * Indices outside the source are clamped to the edge (its weight is added to
 * the edge pixel), or for a periodic source wrap around (read from a copy
 * padded periodically by `pad` on each side), and every output's weights are
 * normalized to sum to 1.
 */
#include "synth/image_codec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int taps;      /* window length, the same for every output index */
    int *first;    /* [dst_n] first source index of the window */
    float *weight; /* [dst_n, taps] */
} axis_weights;

static double lanczos3(double x)
{
    const double a = 3.0;
    x = fabs(x);
    if (x < 1e-12)
        return 1.0;
    if (x >= a)
        return 0.0;
    double px = M_PI * x;
    return a * sin(px) * sin(px / a) / (px * px);
}

static double keys_cubic(double x)
{
    const double a = -0.5;
    x = fabs(x);
    if (x <= 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0)
        return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
    return 0.0;
}

static void axis_free(axis_weights *a)
{
    free(a->first);
    free(a->weight);
    *a = (axis_weights){0};
}

/* Builds the weights taking src_n samples to dst_n. pad 0: indices clamp to
 * the edge; pad > 0: source index i is read at i + pad of the source padded
 * periodically by pad on each side (pad ≥ the window's reach). */
static status axis_build(int src_n, int dst_n, image_resample filter, int pad, axis_weights *a)
{
    *a = (axis_weights){0};
    double scale = (double)dst_n / src_n;
    double shrink = scale < 1.0 ? scale : 1.0; /* kernel argument scale */
    double radius = filter == IMAGE_RESAMPLE_LANCZOS ? 3.0 : 2.0;
    double support = filter == IMAGE_RESAMPLE_AREA ? 1.0 / scale : radius / shrink;
    /* raw window: every index a kernel or an interval of that width can touch */
    int raw_taps = (int)ceil(filter == IMAGE_RESAMPLE_AREA ? support : 2.0 * support) + 2;
    int n = src_n + 2 * pad; /* the (padded) source */
    int taps = raw_taps < n ? raw_taps : n;
    a->taps = taps;
    a->first = alloc_array((size_t)dst_n, sizeof *a->first, "resize");
    a->weight = alloc_array((size_t)dst_n, (size_t)taps * sizeof *a->weight, "resize");
    double *acc = alloc_array((size_t)n, sizeof *acc, "resize"); /* weight per (padded or clamped) index */
    if (!a->first || !a->weight || !acc) {
        free(acc);
        axis_free(a);
        return ST_ERROR;
    }
    for (int j = 0; j < dst_n; j++) {
        int lo, hi;
        double x0 = 0, x1 = 0, centre = 0;
        if (filter == IMAGE_RESAMPLE_AREA) {
            x0 = (double)j * src_n / dst_n;
            x1 = (double)(j + 1) * src_n / dst_n;
            lo = (int)floor(x0);
            hi = (int)ceil(x1) - 1;
        } else {
            centre = (j + 0.5) * src_n / dst_n - 0.5;
            lo = (int)ceil(centre - support);
            hi = (int)floor(centre + support);
        }
        /* the clamped (or shifted) support [smin, smax] is at most `taps` long */
        lo += pad, hi += pad;
        int smin = lo < 0 ? 0 : lo > n - 1 ? n - 1 : lo;
        int smax = hi > n - 1 ? n - 1 : hi < 0 ? 0 : hi;
        double sum = 0;
        for (int i = lo; i <= hi; i++) {
            double w;
            double u = i - pad; /* the source index */
            if (filter == IMAGE_RESAMPLE_AREA)
                w = fmin(x1, u + 1.0) - fmax(x0, u);
            else if (filter == IMAGE_RESAMPLE_LANCZOS)
                w = lanczos3((u - centre) * shrink);
            else
                w = keys_cubic((u - centre) * shrink);
            if (w == 0.0)
                continue;
            int k = i < 0 ? 0 : i >= n ? n - 1 : i;
            acc[k] += w;
            sum += w;
        }
        int start = smin < n - taps ? smin : n - taps;
        a->first[j] = start;
        float *wj = a->weight + (size_t)j * (size_t)taps;
        for (int k = 0; k < taps; k++)
            wj[k] = (float)(acc[start + k] / sum);
        for (int i = smin; i <= smax; i++)
            acc[i] = 0.0;
    }
    free(acc);
    return ST_OK;
}

/* The two passes: src [3, H, W] -> tmp [3, H, width] -> dst [3, height,
 * width] with the axes' weights (indices into src). */
static status resample_passes(const image *src, const axis_weights *ax, const axis_weights *ay,
                              int width, int height, image *dst)
{
    int W = src->width, H = src->height;
    image tmp = {0};
    if (image_alloc(&tmp, width, H, "resize") != ST_OK || image_alloc(dst, width, height, "resize") != ST_OK) {
        image_free(&tmp);
        return ST_ERROR;
    }
    /* horizontal: each output sample is a dot product with a contiguous window */
    for (int c = 0; c < 3; c++) {
        for (int y = 0; y < H; y++) {
            const float *in = image_plane(src, c) + (size_t)y * W;
            float *out = image_plane(&tmp, c) + (size_t)y * width;
            for (int x = 0; x < width; x++) {
                const float *w = ax->weight + (size_t)x * ax->taps, *p = in + ax->first[x];
                float s = 0.0f;
                for (int k = 0; k < ax->taps; k++)
                    s += w[k] * p[k];
                out[x] = s;
            }
        }
    }
    /* vertical: each output row is a weighted sum of whole tmp rows */
    for (int c = 0; c < 3; c++) {
        for (int y = 0; y < height; y++) {
            float *out = image_plane(dst, c) + (size_t)y * width;
            const float *w = ay->weight + (size_t)y * ay->taps;
            memset(out, 0, (size_t)width * sizeof *out);
            for (int k = 0; k < ay->taps; k++) {
                const float *in = image_plane(&tmp, c) + (size_t)(ay->first[y] + k) * width;
                float wk = w[k];
                for (int x = 0; x < width; x++)
                    out[x] += wk * in[x];
            }
        }
    }
    image_free(&tmp);
    return ST_OK;
}

/* ----- image_warp: zoom, rotation and shift about the centre ---------------- */

/* Most taps one axis of a warp takes: a kernel of radius 3 widened by
 * 1 / zoom for zoom ≥ 0.25. */
enum { WARP_MAX_TAPS = 2 * 3 * 4 + 2 };

/* One axis of one output pixel: the source indices (clamped to [0, n)) and
 * normalized weights of the kernel centred at coordinate u. Returns the
 * number of taps. A coordinate on a pixel centre (zoom ≥ 1) takes that pixel
 * alone, so whole-pixel moves copy exactly. */
static int warp_taps(double u, int n, image_resample filter, double shrink, int *idx, double *w)
{
    double nearest = floor(u + 0.5);
    if (shrink == 1.0 && fabs(u - nearest) < 1e-9) {
        idx[0] = nearest < 0 ? 0 : nearest > n - 1 ? n - 1 : (int)nearest;
        w[0] = 1.0;
        return 1;
    }
    double radius = (filter == IMAGE_RESAMPLE_LANCZOS ? 3.0 : 2.0) / shrink;
    int lo = (int)ceil(u - radius), hi = (int)floor(u + radius), taps = 0;
    double sum = 0;
    for (int i = lo; i <= hi && taps < WARP_MAX_TAPS; i++) {
        double t = (i - u) * shrink;
        double k = filter == IMAGE_RESAMPLE_LANCZOS ? lanczos3(t) : keys_cubic(t);
        if (k == 0.0)
            continue;
        idx[taps] = i < 0 ? 0 : i > n - 1 ? n - 1 : i;
        w[taps++] = k;
        sum += k;
    }
    for (int k = 0; k < taps; k++)
        w[k] /= sum;
    return taps;
}

status image_warp(const image *src, double zoom, double radians, double dx, double dy,
                  image_resample filter, image *dst)
{
    /* src, dst: [3, H, W] */
    *dst = (image){0};
    if (!src || !src->data || src->width <= 0 || src->height <= 0)
        return error_set("warp", "no source image");
    if (filter != IMAGE_RESAMPLE_LANCZOS && filter != IMAGE_RESAMPLE_BICUBIC)
        return error_set("warp", "unknown filter %d", (int)filter);
    if (!(zoom >= 0.25 && zoom <= 4) || !isfinite(radians) || !isfinite(dx) || !isfinite(dy))
        return error_set("warp", "zoom %g must be in [0.25, 4], the angle and shift finite", zoom);
    int W = src->width, H = src->height;
    if (image_alloc(dst, W, H, "warp") != ST_OK)
        return ST_ERROR;
    double shrink = zoom < 1 ? zoom : 1, c = cos(radians), s = sin(radians);
    double cy = (H - 1) / 2.0, cx = (W - 1) / 2.0;
    size_t plane = (size_t)W * (size_t)H;
    int iy[WARP_MAX_TAPS], ix[WARP_MAX_TAPS];
    double wy[WARP_MAX_TAPS], wx[WARP_MAX_TAPS];
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            double a = i - cy - dy, b = j - cx - dx;
            double u = cy + (a * c + b * s) / zoom, v = cx + (b * c - a * s) / zoom;
            int ny = warp_taps(u, H, filter, shrink, iy, wy);
            int nx = warp_taps(v, W, filter, shrink, ix, wx);
            for (int ch = 0; ch < 3; ch++) {
                const float *p = image_plane(src, ch);
                double acc = 0;
                for (int ky = 0; ky < ny; ky++) {
                    const float *row = p + (size_t)iy[ky] * (size_t)W;
                    double r = 0;
                    for (int kx = 0; kx < nx; kx++)
                        r += wx[kx] * row[ix[kx]];
                    acc += wy[ky] * r;
                }
                dst->data[(size_t)ch * plane + (size_t)i * (size_t)W + (size_t)j] = (float)acc;
            }
        }
    return ST_OK;
}

/* Checks the arguments of a resize. */
static status resize_check(const image *src, int width, int height, image_resample filter)
{
    if (!src || !src->data || src->width <= 0 || src->height <= 0)
        return error_set("resize", "no source image");
    if (filter != IMAGE_RESAMPLE_AREA && filter != IMAGE_RESAMPLE_LANCZOS && filter != IMAGE_RESAMPLE_BICUBIC)
        return error_set("resize", "unknown filter %d", (int)filter);
    if (width <= 0 || height <= 0)
        return error_set("resize", "invalid image size %d x %d", width, height);
    if (check_pixel_limit("resize", (uint32_t)width, (uint32_t)height) != ST_OK ||
        check_pixel_limit("resize", (uint32_t)width, (uint32_t)src->height) != ST_OK)
        return ST_ERROR;
    return ST_OK;
}

status image_resize(const image *src, int width, int height, image_resample filter, image *dst)
{
    *dst = (image){0};
    if (resize_check(src, width, height, filter) != ST_OK)
        return ST_ERROR;
    if (width == src->width && height == src->height)
        return image_copy(src, dst);
    axis_weights ax, ay;
    if (axis_build(src->width, width, filter, 0, &ax) != ST_OK)
        return ST_ERROR;
    status st = axis_build(src->height, height, filter, 0, &ay);
    if (st == ST_OK)
        st = resample_passes(src, &ax, &ay, width, height, dst);
    axis_free(&ax);
    axis_free(&ay);
    return st;
}

/* How far a window reaches beyond its output's centre, in source pixels,
 * plus slack: the periodic padding a resize of src_n to dst_n needs. */
static int periodic_pad(int src_n, int dst_n, image_resample filter)
{
    double scale = (double)dst_n / src_n, shrink = scale < 1.0 ? scale : 1.0;
    double reach = filter == IMAGE_RESAMPLE_AREA ? 1.0 / scale : (filter == IMAGE_RESAMPLE_LANCZOS ? 3.0 : 2.0) / shrink;
    return (int)ceil(reach) + 2;
}

status image_resize_periodic(const image *src, int width, int height, image_resample filter, image *dst)
{
    /* src padded periodically by (py, px) -> the passes with shifted indices */
    *dst = (image){0};
    if (resize_check(src, width, height, filter) != ST_OK)
        return ST_ERROR;
    if (width == src->width && height == src->height)
        return image_copy(src, dst);
    int W = src->width, H = src->height;
    int px = periodic_pad(W, width, filter), py = periodic_pad(H, height, filter);
    axis_weights ax = {0}, ay = {0};
    image padded = {0};
    status st = ST_ERROR;
    if (image_alloc(&padded, W + 2 * px, H + 2 * py, "resize") != ST_OK ||
        axis_build(W, width, filter, px, &ax) != ST_OK || axis_build(H, height, filter, py, &ay) != ST_OK)
        goto done;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < padded.height; y++) {
            const float *in = image_plane(src, c) + (size_t)(((y - py) % H + H) % H) * W;
            float *out = image_plane(&padded, c) + (size_t)y * padded.width;
            for (int x = 0; x < padded.width; x++)
                out[x] = in[((x - px) % W + W) % W];
        }
    st = resample_passes(&padded, &ax, &ay, width, height, dst);
done:
    image_free(&padded);
    axis_free(&ax);
    axis_free(&ay);
    return st;
}
