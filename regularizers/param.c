/* Image parameterizations (Mordvintsev et al., "Differentiable Image
 * Parameterizations", Distill 2018): the image is made from parameters by
 *     u = basis(params)      pixel (identity) or Fourier (scaled inverse real FFT)
 *     v = M · u              decorrelated colour, per pixel (optional)
 *     image = lo + (hi − lo) σ(v)   sigmoid squash (optional)
 * and gradients go back through the transposed Jacobian of each stage.
 *
 * The Fourier basis as a real-linear map. FFTW's c2r of a half spectrum Z
 * (H × Wh, Wh = W/2 + 1) that is Hermitian in its self-conjugate columns
 * (kx = 0 and, for even W, kx = W/2) is
 *     u[m,n] = Σ_{ky,kx} w_kx Re(Z[ky,kx] e^{2πi(ky m/H + kx n/W)}),
 * w_kx = 1 in those columns, 2 elsewhere (the column and its mirror). Hence
 *     ⟨u, g⟩ = Σ w_kx (Re Z · Re R + Im Z · Im R),  R = r2c(g),
 * so the adjoint of Z ↦ u is g ↦ w ⊙ r2c(g). We make Z Hermitian in those
 * columns with the projection P(z)[ky] = (z[ky] + conj z[H − ky]) / 2, which
 * is symmetric (P = Pᵀ), so with Z = P(S ⊙ params) the whole adjoint is
 *     d params = S ⊙ P(w ⊙ r2c(d u)).
 */
#include "regularizers/internal.h"

#include <fftw3.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Lucid's color_correlation_svd_sqrt (lucid/optvis/param/color.py), the
 * square root of ImageNet's RGB colour covariance, divided by its largest
 * column norm √(0.26² + 0.27² + 0.27²) as Lucid does. */
#define LUCID_MAX_COLUMN_NORM 0.46195237849804394
const float reg_color_correlation[3][3] = {
    {(float)(0.26 / LUCID_MAX_COLUMN_NORM), (float)(0.09 / LUCID_MAX_COLUMN_NORM), (float)(0.02 / LUCID_MAX_COLUMN_NORM)},
    {(float)(0.27 / LUCID_MAX_COLUMN_NORM), (float)(0.00 / LUCID_MAX_COLUMN_NORM), (float)(-0.05 / LUCID_MAX_COLUMN_NORM)},
    {(float)(0.27 / LUCID_MAX_COLUMN_NORM), (float)(-0.09 / LUCID_MAX_COLUMN_NORM), (float)(0.03 / LUCID_MAX_COLUMN_NORM)},
};

struct reg_param {
    reg_param_options o;
    int C, H, W, Wh;          /* Wh = W/2 + 1 */
    size_t count;             /* floats in params */
    bool identity;            /* pixel, no decorrelation, no squash */
    float lo[REG_MAX_CHANNELS], span[REG_MAX_CHANNELS]; /* squash: lo + span·σ */
    float mix[3][3];          /* reg_color_correlation, reversed for BGR */
    float unmix[3][3];        /* mix⁻¹ */
    float *v;                 /* (C, H, W): the squash's input from the last forward */
    float *work;              /* (C, H, W): scratch of backward and from_image (fftwf_malloc) */
    /* Fourier only */
    float *scale;             /* (H, Wh): S[ky,kx] = 1/max(f, 1/max(H,W))^d / (4√(HW)) */
    fftwf_complex *spectrum;  /* (C, H, Wh) */
    fftwf_plan c2r;           /* spectrum → v, C at once */
    fftwf_plan r2c;           /* work → spectrum, C at once */
};

static void invert3(const float m[3][3], float out[3][3])
{
    double det = (double)m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                 (double)m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                 (double)m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            /* out[i][j] = cofactor(j, i) / det */
            int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
            out[i][j] = (float)(((double)m[r0][c0] * m[r1][c1] - (double)m[r0][c1] * m[r1][c0]) / det);
        }
}

static void fourier_scale(reg_param *p)
{
    const int H = p->H, W = p->W;
    double f_min = 1.0 / (H > W ? H : W), gain = 1.0 / (4.0 * sqrt((double)H * W));
    for (int ky = 0; ky < H; ky++) {
        double fy = (double)(ky <= H - ky ? ky : H - ky) / H;
        for (int kx = 0; kx < p->Wh; kx++) {
            double fx = (double)kx / W, f = sqrt(fx * fx + fy * fy);
            p->scale[(size_t)ky * p->Wh + kx] = (float)(gain / pow(f > f_min ? f : f_min, p->o.fourier_decay));
        }
    }
}

status reg_param_create(const reg_param_options *o, int C, int H, int W, const reg_range *range,
                        reg_param **out)
{
    *out = NULL;
    size_t n;
    if (!reg_image_size(C, H, W, "param", &n))
        return ST_ERROR;
    if (C > REG_MAX_CHANNELS)
        return error_set("param", "%d channels; at most %d", C, REG_MAX_CHANNELS);
    if (o->decorrelate && C != 3)
        return error_set("--decorrelate", "needs 3 colour channels, the image has %d", C);
    if (o->kind == REG_PARAM_FOURIER && !(o->fourier_decay >= 0 && o->fourier_decay <= 16))
        return error_set("--fourier-decay", "must be in [0, 16], got %g", o->fourier_decay);
    if (o->kind != REG_PARAM_PIXEL && o->kind != REG_PARAM_FOURIER)
        return error_set("--param", "unknown parameterization %d", (int)o->kind);
    reg_param *p = alloc_array(1, sizeof *p, "param");
    if (!p)
        return ST_ERROR;
    p->o = *o;
    p->C = C;
    p->H = H;
    p->W = W;
    p->Wh = W / 2 + 1;
    p->identity = o->kind == REG_PARAM_PIXEL && !o->decorrelate && !o->sigmoid;
    p->count = n;
    for (int c = 0; c < C; c++) {
        p->lo[c] = range ? range->lo[c] : 0.0f;
        p->span[c] = range ? range->hi[c] - range->lo[c] : 1.0f;
        if (o->sigmoid && !(p->span[c] > 0))
            goto bad_range;
    }
    bool bgr = range && range->bgr;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            p->mix[i][j] = bgr ? reg_color_correlation[2 - i][2 - j] : reg_color_correlation[i][j];
    invert3(p->mix, p->unmix);
    p->v = fftwf_malloc(n * sizeof(float));
    p->work = fftwf_malloc(n * sizeof(float));
    if (!p->v || !p->work)
        goto no_memory;
    if (o->kind == REG_PARAM_FOURIER) {
        size_t half; /* C·H·Wh complex values; FFTW's basic interface counts in int */
        if (!size_mul3((size_t)C, (size_t)H, (size_t)p->Wh, &half) || half > INT_MAX / 2 || n > INT_MAX) {
            reg_param_free(p);
            return error_set("param", "image too large for the Fourier parameterization");
        }
        p->count = 2 * half;
        p->scale = alloc_array((size_t)H * p->Wh, sizeof(float), "param");
        p->spectrum = fftwf_malloc(half * sizeof(fftwf_complex));
        if (!p->scale || !p->spectrum)
            goto no_memory;
        fourier_scale(p);
        int dims[2] = {H, W}, dist_real = H * W, dist_half = H * p->Wh;
        reg_fftw_lock();
        p->c2r = fftwf_plan_many_dft_c2r(2, dims, C, p->spectrum, NULL, 1, dist_half, p->v, NULL, 1,
                                         dist_real, FFTW_ESTIMATE);
        p->r2c = fftwf_plan_many_dft_r2c(2, dims, C, p->work, NULL, 1, dist_real, p->spectrum, NULL, 1,
                                         dist_half, FFTW_ESTIMATE);
        reg_fftw_unlock();
        if (!p->c2r || !p->r2c) {
            reg_param_free(p);
            return error_set("param", "FFTW could not plan a %d x %d transform", H, W);
        }
    }
    *out = p;
    return ST_OK;
no_memory:
    reg_param_free(p);
    return error_set("param", "out of memory for a %d x %d x %d image", C, H, W);
bad_range:
    reg_param_free(p);
    return error_set("param", "the sigmoid needs hi > lo in every channel");
}

void reg_param_free(reg_param *p)
{
    if (!p)
        return;
    reg_fftw_lock();
    if (p->c2r)
        fftwf_destroy_plan(p->c2r);
    if (p->r2c)
        fftwf_destroy_plan(p->r2c);
    reg_fftw_unlock();
    fftwf_free(p->v);
    fftwf_free(p->work);
    fftwf_free(p->spectrum);
    free(p->scale);
    free(p);
}

size_t reg_param_count(const reg_param *p) { return p->count; }
bool reg_param_is_identity(const reg_param *p) { return p->identity; }

void reg_param_init(const reg_param *p, float *params, rng *r, double std)
{
    for (size_t i = 0; i < p->count; i++)
        params[i] = (float)(std * rng_normal(r));
}

/* ---- the stages, each forward next to its adjoint ------------------------- */

/* z ← P z on the self-conjugate columns: z[ky] and z[H − ky] become each
 * other's conjugates (their mean), z[ky] real where ky = H − ky (mod H).
 * spectrum: (C, H, Wh). */
static void make_hermitian(fftwf_complex *spectrum, int C, int H, int W, int Wh)
{
    int columns[2] = {0, W / 2}, n_columns = W % 2 == 0 && W > 1 ? 2 : 1;
    for (int c = 0; c < C; c++)
        for (int k = 0; k < n_columns; k++)
            for (int ky = 0; ky <= H / 2; ky++) {
                int mirror = (H - ky) % H;
                float *a = spectrum[((size_t)c * H + ky) * Wh + columns[k]];
                float *b = spectrum[((size_t)c * H + mirror) * Wh + columns[k]];
                if (mirror == ky) {
                    a[1] = 0.0f;
                    continue;
                }
                float re = 0.5f * (a[0] + b[0]), im = 0.5f * (a[1] - b[1]);
                a[0] = re, a[1] = im;
                b[0] = re, b[1] = -im;
            }
}

/* params (C, H, Wh complex) → v (C, H, W):  v = c2r(P(S ⊙ params)). */
static void fourier_forward(reg_param *p, const float *params)
{
    size_t cells = (size_t)p->H * p->Wh;
    for (int c = 0; c < p->C; c++) {
        const float *in = params + 2 * (size_t)c * cells;
        float *out = (float *)p->spectrum + 2 * (size_t)c * cells;
        for (size_t q = 0; q < cells; q++) {
            out[2 * q] = p->scale[q] * in[2 * q];
            out[2 * q + 1] = p->scale[q] * in[2 * q + 1];
        }
    }
    make_hermitian(p->spectrum, p->C, p->H, p->W, p->Wh);
    fftwf_execute(p->c2r);
}

/* work (C, H, W) → dparams:  S ⊙ P(w ⊙ r2c(work)) (the adjoint, see the top). */
static void fourier_adjoint(reg_param *p, float *dparams)
{
    fftwf_execute(p->r2c);
    make_hermitian(p->spectrum, p->C, p->H, p->W, p->Wh);
    size_t cells = (size_t)p->H * p->Wh;
    int nyquist = p->W % 2 == 0 ? p->W / 2 : -1;
    for (int c = 0; c < p->C; c++) {
        const float *in = (const float *)p->spectrum + 2 * (size_t)c * cells;
        float *out = dparams + 2 * (size_t)c * cells;
        for (size_t q = 0; q < cells; q++) {
            int kx = (int)(q % (size_t)p->Wh);
            float w = kx == 0 || kx == nyquist ? 1.0f : 2.0f, s = w * p->scale[q];
            out[2 * q] = s * in[2 * q];
            out[2 * q + 1] = s * in[2 * q + 1];
        }
    }
}

/* Per pixel, x[:, p] ← m · x[:, p] (3 channels, in place); the adjoint is mᵀ. */
static void mix_colors(float *x, size_t plane, const float m[3][3], bool transpose)
{
    float *r = x, *g = x + plane, *b = x + 2 * plane;
    float a[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            a[i][j] = transpose ? m[j][i] : m[i][j];
    for (size_t q = 0; q < plane; q++) {
        float x0 = r[q], x1 = g[q], x2 = b[q];
        r[q] = a[0][0] * x0 + a[0][1] * x1 + a[0][2] * x2;
        g[q] = a[1][0] * x0 + a[1][1] * x1 + a[1][2] * x2;
        b[q] = a[2][0] * x0 + a[2][1] * x1 + a[2][2] * x2;
    }
}

/* σ(v) and σ'(v) = σ(1 − σ) without overflow: e = exp(−|v|). */
static inline float sigmoid(float v)
{
    float e = expf(-fabsf(v));
    return v >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
}
static inline float sigmoid_slope(float v)
{
    float e = expf(-fabsf(v));
    return e / ((1.0f + e) * (1.0f + e));
}

void reg_param_forward(reg_param *p, const float *params, float *image)
{
    /* params (count) → image (C, H, W); keeps v = the squash's input. */
    size_t plane = (size_t)p->H * p->W, n = (size_t)p->C * plane;
    if (p->identity) {
        memcpy(image, params, n * sizeof(float));
        return;
    }
    if (p->o.kind == REG_PARAM_FOURIER)
        fourier_forward(p, params);
    else
        memcpy(p->v, params, n * sizeof(float));
    if (p->o.decorrelate)
        mix_colors(p->v, plane, p->mix, false);
    if (!p->o.sigmoid) {
        memcpy(image, p->v, n * sizeof(float));
        return;
    }
    for (int c = 0; c < p->C; c++) {
        const float *vc = p->v + (size_t)c * plane;
        float *ic = image + (size_t)c * plane, lo = p->lo[c], span = p->span[c];
        for (size_t q = 0; q < plane; q++)
            ic[q] = lo + span * sigmoid(vc[q]);
    }
}

void reg_param_backward(reg_param *p, const float *dimage, float *dparams)
{
    /* dimage (C, H, W) → dparams (count), at the v of the last forward. */
    size_t plane = (size_t)p->H * p->W, n = (size_t)p->C * plane;
    if (p->identity) {
        memcpy(dparams, dimage, n * sizeof(float));
        return;
    }
    float *g = p->work;
    if (p->o.sigmoid)
        for (int c = 0; c < p->C; c++) {
            const float *vc = p->v + (size_t)c * plane, *dc = dimage + (size_t)c * plane;
            float *gc = g + (size_t)c * plane, span = p->span[c];
            for (size_t q = 0; q < plane; q++)
                gc[q] = dc[q] * span * sigmoid_slope(vc[q]);
        }
    else
        memcpy(g, dimage, n * sizeof(float));
    if (p->o.decorrelate)
        mix_colors(g, plane, p->mix, true);
    if (p->o.kind == REG_PARAM_FOURIER)
        fourier_adjoint(p, dparams);
    else
        memcpy(dparams, g, n * sizeof(float));
}

void reg_param_from_image(reg_param *p, const float *image, float *params)
{
    /* image (C, H, W) → params (count): each stage inverted, last first. */
    size_t plane = (size_t)p->H * p->W, n = (size_t)p->C * plane;
    if (p->identity) {
        memcpy(params, image, n * sizeof(float));
        return;
    }
    float *u = p->work;
    if (p->o.sigmoid)
        for (int c = 0; c < p->C; c++) {
            const float *ic = image + (size_t)c * plane;
            float *uc = u + (size_t)c * plane, lo = p->lo[c], span = p->span[c];
            for (size_t q = 0; q < plane; q++) {
                float s = (ic[q] - lo) / span;
                s = s > 1e-4f ? (s < 1 - 1e-4f ? s : 1 - 1e-4f) : 1e-4f;
                uc[q] = logf(s / (1 - s));
            }
        }
    else
        memcpy(u, image, n * sizeof(float));
    if (p->o.decorrelate)
        mix_colors(u, plane, p->unmix, false);
    if (p->o.kind != REG_PARAM_FOURIER) {
        memcpy(params, u, n * sizeof(float));
        return;
    }
    /* r2c(c2r(Z)) = HW·Z for Hermitian Z, so Z = r2c(u)/(HW) and params = Z/S. */
    fftwf_execute(p->r2c);
    size_t cells = (size_t)p->H * p->Wh;
    float hw = (float)plane;
    for (int c = 0; c < p->C; c++) {
        const float *in = (const float *)p->spectrum + 2 * (size_t)c * cells;
        float *out = params + 2 * (size_t)c * cells;
        for (size_t q = 0; q < cells; q++) {
            float s = 1.0f / (hw * p->scale[q]);
            out[2 * q] = s * in[2 * q];
            out[2 * q + 1] = s * in[2 * q + 1];
        }
    }
}
