/* Transformation robustness (Olah et al. 2017): pad, jitter (shift or roll),
 * zoom and rotation as linear maps on planar images, each written as a
 * gather whose adjoint is the scatter with the same indices and weights, so
 * gradients on the transformed image map back to the image exactly. */
#include "regularizers/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- windows: pad, shift, roll, crop ------------------------------------ */

/* The output columns [*j_lo, *j_hi) read inside the row (0 ≤ j + ox < W);
 * the others go through the boundary rule. */
static void window_columns(int W, int ox, int Wo, int *j_lo, int *j_hi)
{
    long lo = -(long)ox, hi = (long)W - ox;
    lo = lo < 0 ? 0 : lo > Wo ? Wo : lo;
    hi = hi < lo ? lo : hi > Wo ? Wo : hi;
    *j_lo = (int)lo;
    *j_hi = (int)hi;
}

void reg_window(const float *x, int C, int H, int W, int oy, int ox, int Ho, int Wo, reg_boundary b,
                const float *fill, float *y)
{
    /* x: (C, H, W) → y: (C, Ho, Wo),  y[c,i,j] = X[c, i + oy, j + ox]. */
    int j_lo, j_hi;
    window_columns(W, ox, Wo, &j_lo, &j_hi);
    for (int c = 0; c < C; c++) {
        float f = fill ? fill[c] : 0.0f;
        for (int i = 0; i < Ho; i++) {
            float *yrow = y + ((size_t)c * Ho + i) * Wo;
            long r = reg_boundary_index((long)i + oy, H, b);
            if (r < 0) {
                for (int j = 0; j < Wo; j++)
                    yrow[j] = f;
                continue;
            }
            const float *xrow = x + ((size_t)c * H + r) * W;
            for (int j = 0; j < Wo; j++) {
                if (j == j_lo) { /* the inside run */
                    if (j_hi > j_lo)
                        memcpy(yrow + j_lo, xrow + j_lo + ox, (size_t)(j_hi - j_lo) * sizeof(float));
                    j = j_hi;
                    if (j >= Wo)
                        break;
                }
                long s = reg_boundary_index((long)j + ox, W, b);
                yrow[j] = s < 0 ? f : xrow[s];
            }
        }
    }
}

void reg_window_adjoint(const float *gy, int C, int H, int W, int oy, int ox, int Ho, int Wo,
                        reg_boundary b, float *gx)
{
    /* gy: (C, Ho, Wo) → gx: (C, H, W),  gx[c, X-index of (i + oy, j + ox)] += gy[c,i,j]. */
    memset(gx, 0, (size_t)C * H * W * sizeof(float));
    int j_lo, j_hi;
    window_columns(W, ox, Wo, &j_lo, &j_hi);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < Ho; i++) {
            long r = reg_boundary_index((long)i + oy, H, b);
            if (r < 0)
                continue;
            const float *grow = gy + ((size_t)c * Ho + i) * Wo;
            float *xrow = gx + ((size_t)c * H + r) * W;
            for (int j = j_lo; j < j_hi; j++)
                xrow[j + ox] += grow[j];
            for (int j = 0; j < Wo; j++) {
                if (j == j_lo) {
                    j = j_hi;
                    if (j >= Wo)
                        break;
                }
                long s = reg_boundary_index((long)j + ox, W, b);
                if (s >= 0)
                    xrow[s] += grow[j];
            }
        }
}

/* ---- similarity: shift, zoom, rotate, bilinear ---------------------------- */

typedef struct {
    int H, W;
    reg_boundary b;
    double cy, cx, cyo, cxo; /* centres of input and output */
    double cos_s, sin_s;     /* cos θ / scale, sin θ / scale */
    double dy, dx;
} similarity_map;

static similarity_map similarity_make(int H, int W, double dy, double dx, double scale, double radians,
                                      int Ho, int Wo, reg_boundary b)
{
    return (similarity_map){.H = H, .W = W, .b = b,
                            .cy = (H - 1) / 2.0, .cx = (W - 1) / 2.0,
                            .cyo = (Ho - 1) / 2.0, .cxo = (Wo - 1) / 2.0,
                            .cos_s = cos(radians) / scale, .sin_s = sin(radians) / scale,
                            .dy = dy, .dx = dx};
}

/* The four taps of output pixel (i, j): plane offsets (−1: the fill) and
 * bilinear weights. Forward and adjoint both call this, so they use the
 * same numbers. */
static inline void similarity_taps(const similarity_map *m, int i, int j, long at[4], float w[4])
{
    double a = i - m->cyo, bb = j - m->cxo;
    double u = m->cy + a * m->cos_s + bb * m->sin_s - m->dy;
    double v = m->cx + bb * m->cos_s - a * m->sin_s - m->dx;
    double u0 = floor(u), v0 = floor(v);
    float fu = (float)(u - u0), fv = (float)(v - v0);
    long r0 = reg_boundary_index((long)u0, m->H, m->b), r1 = reg_boundary_index((long)u0 + 1, m->H, m->b);
    long s0 = reg_boundary_index((long)v0, m->W, m->b), s1 = reg_boundary_index((long)v0 + 1, m->W, m->b);
    at[0] = r0 < 0 || s0 < 0 ? -1 : r0 * m->W + s0;
    at[1] = r0 < 0 || s1 < 0 ? -1 : r0 * m->W + s1;
    at[2] = r1 < 0 || s0 < 0 ? -1 : r1 * m->W + s0;
    at[3] = r1 < 0 || s1 < 0 ? -1 : r1 * m->W + s1;
    w[0] = (1 - fu) * (1 - fv);
    w[1] = (1 - fu) * fv;
    w[2] = fu * (1 - fv);
    w[3] = fu * fv;
}

/* Coordinates beyond this many image sizes are not sampled (bounded ints). */
static bool similarity_sane(double dy, double dx, double scale, double radians)
{
    return isfinite(dy) && isfinite(dx) && isfinite(radians) && scale >= 1e-3 && scale <= 1e3 &&
           fabs(dy) < 1e9 && fabs(dx) < 1e9;
}

/* Both directions of the similarity in one loop, so they cannot drift
 * apart: forward (gx == NULL) gathers y[c,p] = Σ_t w_t X[c, at_t]; adjoint
 * (y == NULL) scatters gx[c, at_t] += w_t gy[c,p] into a zeroed gx. */
static void similarity_run(const float *x, const float *fill, float *y, const float *gy, float *gx, int C,
                           int H, int W, double dy, double dx, double scale, double radians, int Ho,
                           int Wo, reg_boundary b)
{
    size_t plane = (size_t)H * W, plane_o = (size_t)Ho * Wo;
    if (gx)
        memset(gx, 0, (size_t)C * plane * sizeof(float));
    if (!similarity_sane(dy, dx, scale, radians)) {
        if (y)
            memset(y, 0, (size_t)C * plane_o * sizeof(float));
        return;
    }
    similarity_map m = similarity_make(H, W, dy, dx, scale, radians, Ho, Wo, b);
    for (int i = 0; i < Ho; i++)
        for (int j = 0; j < Wo; j++) {
            long at[4];
            float w[4];
            similarity_taps(&m, i, j, at, w);
            size_t p = (size_t)i * Wo + j;
            for (int c = 0; c < C; c++) {
                if (y) {
                    const float *xc = x + (size_t)c * plane;
                    float f = fill ? fill[c] : 0.0f, sum = 0.0f;
                    for (int t = 0; t < 4; t++)
                        sum += w[t] * (at[t] < 0 ? f : xc[at[t]]);
                    y[(size_t)c * plane_o + p] = sum;
                } else {
                    float *xc = gx + (size_t)c * plane, g = gy[(size_t)c * plane_o + p];
                    for (int t = 0; t < 4; t++)
                        if (at[t] >= 0)
                            xc[at[t]] += w[t] * g;
                }
            }
        }
}

void reg_similarity(const float *x, int C, int H, int W, double dy, double dx, double scale,
                    double radians, int Ho, int Wo, reg_boundary b, const float *fill, float *y)
{
    /* x: (C, H, W) → y: (C, Ho, Wo) */
    similarity_run(x, fill, y, NULL, NULL, C, H, W, dy, dx, scale, radians, Ho, Wo, b);
}

void reg_similarity_adjoint(const float *gy, int C, int H, int W, double dy, double dx, double scale,
                            double radians, int Ho, int Wo, reg_boundary b, float *gx)
{
    /* gy: (C, Ho, Wo) → gx: (C, H, W) */
    similarity_run(NULL, NULL, NULL, gy, gx, C, H, W, dy, dx, scale, radians, Ho, Wo, b);
}

/* ---- the composite transform ---------------------------------------------- */

struct reg_transform {
    reg_transform_options o;
    int C, H, W, Ho, Wo;
    reg_transform_draw_params p;
    float fill[]; /* C values */
};

status reg_transform_create(const reg_transform_options *o, int C, int H, int W, const float *fill,
                            reg_transform **out)
{
    *out = NULL;
    size_t n;
    if (!reg_image_size(C, H, W, "transform", &n))
        return ST_ERROR;
    if (o->pad < 0 || o->pad > 100000 || o->jitter < 0 || o->jitter > 100000)
        return error_set("transform", "pad %d or jitter %d out of range", o->pad, o->jitter);
    if (!(o->scale_jitter >= 0 && o->scale_jitter <= 0.9))
        return error_set("transform", "scale jitter %g is not in [0, 0.9]", o->scale_jitter);
    if (!(o->rotate_jitter >= 0 && o->rotate_jitter <= 180))
        return error_set("transform", "rotate jitter %g is not in [0, 180]", o->rotate_jitter);
    if ((unsigned)o->boundary > REG_BOUNDARY_WRAP)
        return error_set("transform", "unknown boundary %d", (int)o->boundary);
    size_t Ho, Wo;
    if (!size_add((size_t)H, 2 * (size_t)o->pad, &Ho) || !size_add((size_t)W, 2 * (size_t)o->pad, &Wo) ||
        Ho > 1u << 30 || Wo > 1u << 30 || !size_mul3((size_t)C, Ho, Wo, &n))
        return error_set("transform", "padded size too large");
    reg_transform *t = alloc_array(1, sizeof *t + (size_t)C * sizeof(float), "transform");
    if (!t)
        return ST_ERROR;
    t->o = *o;
    t->C = C;
    t->H = H;
    t->W = W;
    t->Ho = (int)Ho;
    t->Wo = (int)Wo;
    t->p = (reg_transform_draw_params){.scale = 1.0};
    for (int c = 0; c < C; c++)
        t->fill[c] = fill ? fill[c] : 0.0f;
    *out = t;
    return ST_OK;
}

void reg_transform_free(reg_transform *t) { free(t); }

void reg_transform_size(const reg_transform *t, int *Ho, int *Wo)
{
    *Ho = t->Ho;
    *Wo = t->Wo;
}

void reg_transform_draw(reg_transform *t, rng *r)
{
    const reg_transform_options *o = &t->o;
    reg_transform_draw_params p = {.scale = 1.0};
    if (o->jitter > 0) {
        p.dy = (int)rng_range(r, -o->jitter, o->jitter);
        p.dx = (int)rng_range(r, -o->jitter, o->jitter);
    }
    if (o->scale_jitter > 0)
        p.scale = 1.0 + o->scale_jitter * (2.0 * rng_uniform(r) - 1.0);
    if (o->rotate_jitter > 0)
        p.radians = o->rotate_jitter * (2.0 * rng_uniform(r) - 1.0) * (M_PI / 180.0);
    t->p = p;
}

void reg_transform_set(reg_transform *t, reg_transform_draw_params p) { t->p = p; }
reg_transform_draw_params reg_transform_params(const reg_transform *t) { return t->p; }

/* Scale 1 and no rotation: the transform is a window of whole pixels. */
static bool transform_is_window(const reg_transform *t) { return t->p.scale == 1.0 && t->p.radians == 0.0; }

void reg_transform_forward(reg_transform *t, const float *x, float *y)
{
    /* x: (C, H, W) → y: (C, Ho, Wo). */
    const reg_transform_draw_params *p = &t->p;
    if (transform_is_window(t))
        reg_window(x, t->C, t->H, t->W, -t->o.pad - p->dy, -t->o.pad - p->dx, t->Ho, t->Wo,
                   t->o.boundary, t->fill, y);
    else
        reg_similarity(x, t->C, t->H, t->W, p->dy, p->dx, p->scale, p->radians, t->Ho, t->Wo,
                       t->o.boundary, t->fill, y);
}

void reg_transform_adjoint(reg_transform *t, const float *gy, float *gx)
{
    /* gy: (C, Ho, Wo) → gx: (C, H, W). */
    const reg_transform_draw_params *p = &t->p;
    if (transform_is_window(t))
        reg_window_adjoint(gy, t->C, t->H, t->W, -t->o.pad - p->dy, -t->o.pad - p->dx, t->Ho, t->Wo,
                           t->o.boundary, gx);
    else
        reg_similarity_adjoint(gy, t->C, t->H, t->W, p->dy, p->dx, p->scale, p->radians, t->Ho,
                               t->Wo, t->o.boundary, gx);
}
