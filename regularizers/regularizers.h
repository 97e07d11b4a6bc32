/* regularizers — the image priors of feature visualization.
 *
 * Owns: L2, the α-norm and decay, Gaussian blur (direct and FFTW), clipping, total
 * variation, the transforms (pad, jitter, scale, rotate) with their exact
 * adjoints, and the image parameterizations (pixel, Fourier, decorrelated
 * colour, sigmoid squashing) with their exact backward maps.
 * Knows nothing about: the network, the image type of synth/, argv.
 *
 * This header is the whole contract of regularizers/.
 *
 * Images are planar float arrays: C channels × H rows × W columns,
 *     x[c*H*W + y*W + x],
 * in whatever space the caller works in (the model's normalized input space,
 * or [0,1]); the valid range and the neutral value of each channel are passed
 * explicitly (reg_range). Objectives are minimized: penalties add their value
 * to the objective and their gradient to the caller's gradient (ascent on a
 * score S is descent on −S, as in synth/).
 *
 * Typical use by a render loop (one reg_context per working image size; no
 * allocation inside the loop):
 *
 *     reg_context_create(&opts, C, H, W, &range, &ctx);
 *     reg_param_from_image(reg_context_param(ctx), init_image, params);
 *     for (iter = 0; iter < n; iter++) {
 *         reg_param_forward(P, params, image);          // params → image
 *         reg_transform_draw(T, &rng);                  // jitter/scale/rotate
 *         reg_transform_forward(T, image, seen);        // image → what the net sees
 *         ... net forward/backward on `seen` gives d_seen ...
 *         reg_transform_adjoint(T, d_seen, d_image);    // gradient back, exactly
 *         loss += reg_objective(ctx, image, d_image);   // + L2 + TV, their gradients
 *         reg_param_backward(P, d_image, d_params);     // d image → d params
 *         ... optimizer step on params with d_params ...
 *         reg_step(ctx, iter, params, d_image);         // decay, blur, clip, clamp
 *     }
 *
 * where P = reg_context_param(ctx), T = reg_context_transform(ctx).
 */
#ifndef SYNTH_REGULARIZERS_H
#define SYNTH_REGULARIZERS_H

#include <stdbool.h>
#include <stddef.h>

#include "net/net.h"

/* ===== Value ranges ========================================================
 * Per channel: the valid range [lo, hi] (clamping and sigmoid squashing map
 * into it) and the neutral value `center` (the "zero" of L2, decay and
 * clipping, the fill of constant padding); and whether 3 channels are in
 * B, G, R order (decorrelated colour then permutes its matrix). */
enum { REG_MAX_CHANNELS = 4 };
typedef struct {
    int channels;
    float lo[REG_MAX_CHANNELS], hi[REG_MAX_CHANNELS], center[REG_MAX_CHANNELS];
    bool bgr;
} reg_range;

/* Pixels in [0,1], RGB: lo 0, hi 1, center 0.5. */
reg_range reg_range_unit(int channels);
/* A network's input space x = (p · scale − mean[c]) / std[c] for pixels p in
 * [0,1] (scale 1 or 255; mean and std in the network's channel order, as in
 * net.h's net_preprocess): lo = −mean/std, hi = (scale − mean)/std, center
 * 0 (the mean colour). Set .bgr for networks fed B, G, R. */
reg_range reg_range_normalized(int channels, float scale, const float *mean, const float *std);

/* ===== Boundaries ==========================================================
 * How an image continues beyond its edges (padding, non-wrapped jitter, the
 * resampling of scale and rotation; the blur uses REFLECT, or WRAP when the
 * image is periodic).
 * For a row a b c d:
 *   REFLECT   … c d | d c b a | a b c d | d c b a | a b …  mirror with the
 *             edge pixel repeated (scipy.ndimage "reflect", numpy "symmetric")
 *   EDGE      … a a | a b c d | d d …
 *   CONSTANT  … f f | a b c d | f f …  f = the channel's fill value; the map
 *             is then affine, and its adjoint is that of the linear part
 *   WRAP      … c d | a b c d | a b …  circular (tiling, textures)
 * The enum's order is the order of REG_BOUNDARY_CHOICES. */
typedef enum { REG_BOUNDARY_REFLECT, REG_BOUNDARY_EDGE, REG_BOUNDARY_CONSTANT, REG_BOUNDARY_WRAP } reg_boundary;
#define REG_BOUNDARY_CHOICES "reflect|edge|constant|wrap"

/* ===== L2 and decay (Simonyan et al. 2014; Yosinski et al. 2015) ===========
 * x: (C, H, W); center: (C) or NULL for 0. */

/* Returns λ Σ (x − center)² and adds its gradient 2λ(x − center) to grad
 * (when grad is not NULL). The value is accumulated in double. */
double reg_l2(const float *x, int C, int H, int W, const float *center, double lambda, float *grad);
/* The α-norm (Mahendran & Vedaldi 2015): returns λ Σ |x − center|^α and adds
 * its gradient λ α |x − center|^(α−1) sign(x − center) to grad (when not
 * NULL). α ≥ 1; α = 2 is reg_l2. A large α (the paper's 6) leaves values
 * well inside the range almost free and pushes hard on those beyond it. */
double reg_alpha_norm(const float *x, int C, int H, int W, const float *center, double alpha,
                      double lambda, float *grad);
/* One step of multiplicative decay towards the center: x ← center + (1 − d)(x − center). */
void reg_decay(float *x, int C, int H, int W, const float *center, double d);

/* ===== Total variation, β-TV (Mahendran & Vedaldi 2015) ====================
 * For each channel c and pixel (i, j), with differences
 *     dx = x[c,i,j+1] − x[c,i,j]   (0 in the last column)
 *     dy = x[c,i+1,j] − x[c,i,j]   (0 in the last row),
 * or, with `periodic`, the last column's dx = x[c,i,0] − x[c,i,W−1] and the
 * last row's dy = x[c,0,j] − x[c,H−1,j] (the image as a torus),
 *     TV(x) = weight · Σ_c Σ_i,j (dx² + dy² + ε)^(β/2),    ε = REG_TV_EPSILON.
 * ε keeps the value and the gradient smooth where differences vanish (β < 2);
 * it is part of the function, so value and gradient agree exactly; its square
 * root (1e-3) is below one 8-bit grey level in [0,1] and in normalized space.
 * Returns TV(x) and adds ∂TV/∂x to grad (when not NULL). Computed in double
 * per pixel (the value is exact to double rounding for float inputs), no
 * allocation. β > 0. */
#define REG_TV_EPSILON 1e-6
double reg_tv(const float *x, int C, int H, int W, double beta, double weight, bool periodic, float *grad);

/* ===== Gaussian blur (Yosinski et al. 2015) ================================
 * In place, per channel: x ← G_σ * x with the sampled Gaussian
 *     g[k] = exp(−k²/(2σ²)) / Σ_{|m|≤R} exp(−m²/(2σ²)),   |k| ≤ R = ⌈4σ⌉,
 * applied along rows and columns, with REFLECT boundaries (any R, even R > H).
 * The blur preserves each channel's mean exactly (in exact arithmetic; the
 * half-sample mirror and a symmetric kernel make it so).
 * Two implementations of the same map (they agree within 1e-5 on values of
 * order 1):
 *   DIRECT  separable convolution, O(R) per pixel;
 *   FFT     FFTW r2c/c2r of the mirror-padded channel (padded by R on each
 *           side, rounded up to an even 5-smooth size), times the kernel's
 *           real, separable spectrum; O(log HW) per pixel, independent of σ.
 *   AUTO    DIRECT when σ < reg_blur_fft_sigma(H, W), else FFT: the
 *           crossover measured by bench/blur_crossover.c (numbers in blur.c). */
typedef enum { REG_BLUR_AUTO, REG_BLUR_DIRECT, REG_BLUR_FFT } reg_blur_method;
double reg_blur_fft_sigma(int H, int W); /* 12 up to 2 Mpx, 20 above */
int reg_blur_radius(double sigma); /* R = ⌈4σ⌉; 0 for σ ≤ 0 */

typedef struct reg_blur reg_blur; /* scratch and FFT plans for one H × W */
status reg_blur_create(int H, int W, reg_blur **out);
/* A periodic image (a tileable texture, a torus) is blurred circularly, with
 * WRAP instead of REFLECT boundaries; default off. */
void reg_blur_set_periodic(reg_blur *b, bool periodic);
void reg_blur_free(reg_blur *b);
/* Makes the kernel (and, for FFT, the plans, whose size depends on R) for σ
 * now, so that apply with this σ and method allocates nothing. Plans use
 * FFTW_ESTIMATE; their creation is serialized by a lock, as FFTW's planner
 * is not thread-safe; applying is thread-safe across distinct blur objects. */
status reg_blur_prepare(reg_blur *b, double sigma, reg_blur_method m);
/* Blurs x (C, H, W) in place; σ ≤ 0 does nothing. Fails only when it had to
 * allocate (σ grown or method changed since prepare) and could not. */
status reg_blur_apply(reg_blur *b, float *x, int C, double sigma, reg_blur_method m);

/* ===== Clipping (Yosinski et al. 2015) =====================================
 * Percentiles: for n values and pct in [0, 100], the threshold is the k-th
 * smallest value (0-based), k = min(⌊pct/100 · n⌋, n − 1) (a product within
 * 1e-9 of an integer counts as that integer), found by selection
 * in O(n) (quickselect, median-of-3 pivot, 3-way partition; it sorts the
 * rest after 2·log2(n) + 4 rounds, so O(n log n) worst case). Clipping zeroes
 * the entries strictly below the threshold: ties at it are kept, so the
 * result does not depend on order.
 * "Zeroing" a pixel sets it to the channel's center (the neutral colour). */

/* The threshold above; reorders v. n ≥ 1. */
float reg_percentile(float *v, size_t n, double pct);
/* x[c] ← min(max(x[c], lo[c]), hi[c]) for each channel. */
void reg_clamp(float *x, int C, int H, int W, const float *lo, const float *hi);
/* Zeroes the pixels whose norm ‖x[:, i, j] − center‖₂ over channels is below
 * the pct-th percentile of all pixels' norms. scratch: H·W floats. Returns the
 * number of pixels zeroed. */
size_t reg_clip_norm(float *x, int C, int H, int W, const float *center, double pct, float *scratch);
/* Zeroes the pixels whose contribution |Σ_c (x[c,i,j] − center[c]) · grad[c,i,j]|
 * (the first-order change of the objective if the pixel were zeroed) is below
 * the pct-th percentile. scratch: H·W floats. Returns the count zeroed. */
size_t reg_clip_contrib(float *x, const float *grad, int C, int H, int W, const float *center,
                        double pct, float *scratch);

/* ===== Transforms with exact adjoints (Olah et al. 2017) ===================
 * Each is a linear map A from a (C, H, W) image to a (C, Ho, Wo) image (affine
 * with CONSTANT boundaries: the fill is A's constant term), written as a
 * gather; its adjoint Aᵀ scatters with the same indices and weights, so
 * ⟨A x, y⟩ = ⟨x, Aᵀ y⟩ up to float rounding and gradients map back exactly.
 * The adjoints overwrite their output. fill: (C) or NULL for 0. */

/* Window: y[c,i,j] = X[c, i + oy, j + ox], X = x continued by `b`.
 *   pad p:            oy = ox = −p, Ho = H + 2p, Wo = W + 2p
 *   shift (dy, dx):   oy = −dy, ox = −dx, Ho = H, Wo = W   (jitter)
 *   roll:             a shift with REG_BOUNDARY_WRAP      (circular jitter)
 *   crop:             oy, ox ≥ 0, Ho ≤ H − oy, Wo ≤ W − ox */
void reg_window(const float *x, int C, int H, int W, int oy, int ox, int Ho, int Wo, reg_boundary b,
                const float *fill, float *y);
void reg_window_adjoint(const float *gy, int C, int H, int W, int oy, int ox, int Ho, int Wo,
                        reg_boundary b, float *gx);

/* Similarity: move by (dy, dx), then zoom by `scale` and rotate by `radians`
 * (counter-clockwise as displayed, y down) about the centres, sampled
 * bilinearly. Output pixel (i, j) reads X at
 *     (u, v) = (cy, cx) + R(−θ)·((i, j) − (cyo, cxo)) / scale − (dy, dx),
 * R(−θ)(a, b) = (a cos θ + b sin θ, b cos θ − a sin θ) for (row, column),
 * centres cy = (H − 1)/2, cyo = (Ho − 1)/2 (and likewise for x); taps
 * outside the image follow `b`. */
void reg_similarity(const float *x, int C, int H, int W, double dy, double dx, double scale,
                    double radians, int Ho, int Wo, reg_boundary b, const float *fill, float *y);
void reg_similarity_adjoint(const float *gy, int C, int H, int W, double dy, double dx, double scale,
                            double radians, int Ho, int Wo, reg_boundary b, float *gx);

/* The composite transform of transformation robustness, drawn anew each
 * step: x (C, H, W), continued by `boundary`, padded by `pad` on each side,
 * shifted by (dy, dx), each uniform in [−jitter, jitter], zoomed by s uniform
 * in [1 − scale_jitter, 1 + scale_jitter] and rotated by θ uniform in
 * ±rotate_jitter degrees about the centre → y (C, H + 2·pad, W + 2·pad).
 * All stages read the one continuation of x, in one pass: a window (copies)
 * when s = 1 and θ = 0, else one bilinear resampling (reg_similarity), so
 * the stages blur the image once, not once each. WRAP makes the jitter
 * circular (a roll) and the whole transform seamless for tiling textures.
 * All off, forward and adjoint are copies. */
typedef struct {
    int pad;              /* pixels added on each side */
    int jitter;           /* maximum shift in pixels */
    double scale_jitter;  /* maximum relative zoom, in [0, 0.9] */
    double rotate_jitter; /* maximum rotation in degrees, in [0, 180] */
    reg_boundary boundary;
} reg_transform_options;

typedef struct {
    int dy, dx;     /* the shift */
    double scale;   /* the zoom */
    double radians; /* the rotation */
} reg_transform_draw_params;

typedef struct reg_transform reg_transform;
/* fill: (C) values for CONSTANT boundaries, or NULL for 0. */
status reg_transform_create(const reg_transform_options *o, int C, int H, int W, const float *fill,
                            reg_transform **out);
void reg_transform_free(reg_transform *t);
void reg_transform_size(const reg_transform *t, int *Ho, int *Wo);
/* Draws dy, dx, scale, θ (in that order, each only when its stage is on). */
void reg_transform_draw(reg_transform *t, rng *r);
/* Sets the parameters explicitly (tests, animations). */
void reg_transform_set(reg_transform *t, reg_transform_draw_params p);
reg_transform_draw_params reg_transform_params(const reg_transform *t);
/* x (C, H, W) → y (C, Ho, Wo) with the current parameters. */
void reg_transform_forward(reg_transform *t, const float *x, float *y);
/* gy (C, Ho, Wo) → gx (C, H, W): the adjoint with the same parameters. */
void reg_transform_adjoint(reg_transform *t, const float *gy, float *gx);

/* ===== Image parameterizations (Mordvintsev et al. 2018) ===================
 * image = squash(decorrelate(basis(params))), each stage optional:
 *   basis        PIXEL: u = params (C, H, W).
 *                FOURIER: params are C × H × (W/2+1) complex coefficients
 *                (re, im interleaved, the layout of FFTW's r2c output), and
 *                    u[c] = irfft2(s ⊙ params[c]) / (4 √(HW)),
 *                    s[ky,kx] = 1 / max(f, 1/max(H, W))^d,
 *                    f = √((kx/W)² + (ky'/H)²),  ky' = min(ky, H − ky),
 *                irfft2 the unnormalized inverse real FFT (FFTW c2r; the
 *                coefficients of the self-conjugate columns kx = 0 and
 *                kx = W/2 are first made Hermitian), d = fourier_decay. The
 *                constants (1/4, √(HW), the f clamp) follow Lucid, so its
 *                init std (0.01) and step sizes carry over.
 *   decorrelate  (C = 3) v[:, i, j] = M · u[:, i, j], M = reg_color_correlation
 *                (rows and columns reversed when the range is BGR).
 *   squash       SIGMOID: image = lo + (hi − lo) · σ(v), into the range.
 * The map is exact in both directions: reg_param_backward is its transposed
 * Jacobian (the FFT's adjoint is a weighted r2c), checked by finite
 * differences and adjoint identities. With PIXEL, no decorrelation and no
 * squash it is the identity (params are the image). */
typedef enum { REG_PARAM_PIXEL, REG_PARAM_FOURIER } reg_param_kind;
#define REG_PARAM_CHOICES "pixel|fourier"

/* The square root of ImageNet's RGB colour correlation, normalized so its
 * largest column has unit norm: Lucid's color_correlation_svd_sqrt
 * ((0.26, 0.09, 0.02), (0.27, 0.00, −0.05), (0.27, −0.09, 0.03)), from
 * lucid/optvis/param/color.py, divided by its largest column norm. Row =
 * output channel (R, G, B). */
extern const float reg_color_correlation[3][3];

typedef struct {
    reg_param_kind kind;
    bool decorrelate;     /* needs C = 3 */
    bool sigmoid;         /* squash into the range */
    double fourier_decay; /* d, the spectrum's 1/f^d; Lucid uses 1 */
} reg_param_options;

typedef struct reg_param reg_param; /* FFT plans and scratch for one C, H, W */
status reg_param_create(const reg_param_options *o, int C, int H, int W, const reg_range *range,
                        reg_param **out);
void reg_param_free(reg_param *p);
size_t reg_param_count(const reg_param *p); /* floats in a params vector */
/* Pixel, no decorrelation, no sigmoid: params are the image. */
bool reg_param_is_identity(const reg_param *p);
/* params ← independent N(0, std²) draws, in order (Lucid uses std 0.01). */
void reg_param_init(const reg_param *p, float *params, rng *r, double std);
/* params → image (C, H, W). Keeps what backward needs. */
void reg_param_forward(reg_param *p, const float *params, float *image);
/* d image (C, H, W) → d params: the transposed Jacobian at the params of the
 * last reg_param_forward on p. May be called more than once. */
void reg_param_backward(reg_param *p, const float *dimage, float *dparams);
/* The params whose image is `image` (the inverse map; with a sigmoid, values
 * are first clamped 1e-4 of the range inside (lo, hi)). */
void reg_param_from_image(reg_param *p, const float *image, float *params);

/* ===== All regularizers, as options ========================================
 * Everything a synthesis command can switch on, one struct to embed in the
 * command's options (its fields have the types presets/ parses: double,
 * int, int for a choice, bool for a flag). Defaults: everything off. */
typedef struct {
    double l2;               /* λ of λ‖x − center‖² in the objective */
    double alpha_norm;       /* λ of λ‖x − center‖_α^α in the objective */
    double alpha;            /* α (--alpha-norm-exp); default 6 */
    double decay;            /* d of x ← center + (1 − d)(x − center) each step */
    double blur_sigma;       /* σ in pixels of the blur in reg_step; 0 = off */
    int blur_every;          /* blur when iter % blur_every == 0; default 1 */
    double clip_norm_pct;    /* zero pixels whose norm is below this percentile */
    double clip_contrib_pct; /* zero pixels whose |x·∇| is below this percentile */
    bool clamp;              /* clamp to [lo, hi] in reg_step */
    double tv_weight;        /* weight of β-TV in the objective */
    double tv_beta;          /* β; default 2 */
    int jitter;              /* transform: maximum shift, pixels */
    double scale_jitter;     /* transform: maximum relative zoom */
    double rotate_jitter;    /* transform: maximum rotation, degrees */
    int pad;                 /* transform: pixels of padding on each side */
    int boundary;            /* a reg_boundary; default reflect */
    int param;               /* a reg_param_kind; default pixel */
    bool decorrelate;        /* decorrelated colour (3 channels) */
    bool sigmoid;            /* squash into the range; default off for pixel */
    double fourier_decay;    /* d of 1/f^d; default 1 */
    double param_std;        /* std of random params (reg_param_init); 0.01 */
    bool periodic;           /* the image is a torus (texture --tileable): TV and
                              * blur wrap around; no flag of its own */
} reg_options;

void reg_options_default(reg_options *o);
/* Checks every field; errors name the flag ("--tv-beta: must be > 0, got 0"). */
status reg_options_check(const reg_options *o);

/* The flags and preset keys of these fields (--l2, --tv-weight, ...) are
 * presets/presets.h's REG_OPTION_SPECS; this folder knows no flag names
 * except in the errors of reg_options_check. */

/* ===== The context: all regularizers for one image size ====================
 * Owns the blur (plans made up front), the clipping scratch, the transform
 * and the parameterization for a (C, H, W) image and one reg_options; after
 * create, nothing below allocates. One context per thread. */
typedef struct reg_context reg_context;
/* The parameterization squashes with a sigmoid when o->sigmoid is set or
 * o->param is fourier (whose output is otherwise unbounded). Constant
 * boundaries fill with range->center. */
status reg_context_create(const reg_options *o, int C, int H, int W, const reg_range *range,
                          reg_context **out);
void reg_context_free(reg_context *ctx);
reg_param *reg_context_param(reg_context *ctx);
reg_transform *reg_context_transform(reg_context *ctx);

/* The penalties of the objective on the image (C, H, W):
 *     l2 · ‖x − center‖² + alpha_norm · ‖x − center‖_α^α + tv_weight · TV_β(x);
 * returns the value and adds the gradient to grad (not NULL). */
double reg_objective(reg_context *ctx, const float *image, float *grad);
/* The projections between steps, in Yosinski's order, on the image:
 * decay; blur when iter % blur_every == 0; norm clipping; contribution
 * clipping with grad, the objective's gradient with respect to the image
 * (skipped when grad is NULL); clamp. params: the context's parameterization's
 * params; when it is the identity (pixel, no decorrelation, no sigmoid) they
 * are the image and are changed in place; otherwise the image is made from
 * them, projected, and mapped back (reg_param_from_image), which costs one
 * forward and one inverse. Does nothing when no projection is on. */
void reg_step(reg_context *ctx, long iter, float *params, const float *grad);

#endif
