/* All regularizers as options: defaults, checks, and the context that
 * applies them each step without allocating. */
#include "regularizers/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void reg_options_default(reg_options *o)
{
    *o = (reg_options){
        .blur_every = 1,
        .alpha = 6.0,
        .tv_beta = 2.0,
        .boundary = REG_BOUNDARY_REFLECT,
        .param = REG_PARAM_PIXEL,
        .fourier_decay = 1.0,
        .param_std = 0.01,
    };
}

/* value in [lo, hi] (and not NaN), else an error naming the flag. */
static bool in_range(double value, double lo, double hi, const char *flag, status *s)
{
    if (value >= lo && value <= hi)
        return true;
    *s = error_set(flag, "must be in [%g, %g], got %g", lo, hi, value);
    return false;
}

status reg_options_check(const reg_options *o)
{
    status s = ST_OK;
    (void)(in_range(o->l2, 0, 1e6, "--l2", &s) && in_range(o->decay, 0, 1, "--decay", &s) &&
           in_range(o->alpha_norm, 0, 1e6, "--alpha-norm", &s) &&
           in_range(o->alpha, 1, 20, "--alpha-norm-exp", &s) &&
           in_range(o->blur_sigma, 0, 1000, "--blur-sigma", &s) &&
           in_range(o->blur_every, 1, 1e9, "--blur-every", &s) &&
           in_range(o->clip_norm_pct, 0, 100, "--clip-norm-pct", &s) &&
           in_range(o->clip_contrib_pct, 0, 100, "--clip-contrib-pct", &s) &&
           in_range(o->tv_weight, 0, 1e9, "--tv-weight", &s) &&
           in_range(o->tv_beta, 0.1, 10, "--tv-beta", &s) &&
           in_range(o->jitter, 0, 100000, "--jitter", &s) &&
           in_range(o->scale_jitter, 0, 0.9, "--scale-jitter", &s) &&
           in_range(o->rotate_jitter, 0, 180, "--rotate-jitter", &s) &&
           in_range(o->pad, 0, 100000, "--pad", &s) &&
           in_range(o->boundary, 0, REG_BOUNDARY_WRAP, "--boundary", &s) &&
           in_range(o->param, 0, REG_PARAM_FOURIER, "--param", &s) &&
           in_range(o->fourier_decay, 0, 4, "--fourier-decay", &s) &&
           in_range(o->param_std, 0, 10, "--param-std", &s));
    return s;
}

struct reg_context {
    reg_options o;
    int C, H, W;
    reg_range range;
    reg_blur *blur;     /* when blur_sigma > 0 */
    float *scratch;     /* H·W for clipping, when a clip percentile is on */
    float *image;       /* C·H·W for reg_step through a non-identity parameterization */
    reg_param *param;
    reg_transform *transform;
};

status reg_context_create(const reg_options *o, int C, int H, int W, const reg_range *range,
                          reg_context **out)
{
    *out = NULL;
    size_t n;
    if (reg_options_check(o) != ST_OK || !reg_image_size(C, H, W, "regularizers", &n))
        return ST_ERROR;
    if (C > REG_MAX_CHANNELS || range->channels != C)
        return error_set("regularizers", "the image has %d channels, the range %d (at most %d)", C,
                         range->channels, REG_MAX_CHANNELS);
    reg_context *ctx = alloc_array(1, sizeof *ctx, "regularizers");
    if (!ctx)
        return ST_ERROR;
    ctx->o = *o;
    ctx->C = C;
    ctx->H = H;
    ctx->W = W;
    ctx->range = *range;
    reg_param_options po = {.kind = (reg_param_kind)o->param,
                            .decorrelate = o->decorrelate,
                            .sigmoid = o->sigmoid || o->param == REG_PARAM_FOURIER,
                            .fourier_decay = o->fourier_decay};
    reg_transform_options to = {.pad = o->pad, .jitter = o->jitter, .scale_jitter = o->scale_jitter,
                                .rotate_jitter = o->rotate_jitter, .boundary = (reg_boundary)o->boundary};
    bool projects = o->decay > 0 || o->blur_sigma > 0 || o->clip_norm_pct > 0 ||
                    o->clip_contrib_pct > 0 || o->clamp;
    if (reg_param_create(&po, C, H, W, range, &ctx->param) != ST_OK ||
        reg_transform_create(&to, C, H, W, range->center, &ctx->transform) != ST_OK)
        goto fail;
    if (o->blur_sigma > 0 && reg_blur_create(H, W, &ctx->blur) != ST_OK)
        goto fail;
    if (ctx->blur) {
        reg_blur_set_periodic(ctx->blur, o->periodic);
        if (reg_blur_prepare(ctx->blur, o->blur_sigma, REG_BLUR_AUTO) != ST_OK)
            goto fail;
    }
    if ((o->clip_norm_pct > 0 || o->clip_contrib_pct > 0) &&
        !(ctx->scratch = alloc_array((size_t)H * W, sizeof(float), "regularizers")))
        goto fail;
    if (projects && !reg_param_is_identity(ctx->param) && !(ctx->image = alloc_array(n, sizeof(float), "regularizers")))
        goto fail;
    *out = ctx;
    return ST_OK;
fail:
    reg_context_free(ctx);
    return ST_ERROR;
}

void reg_context_free(reg_context *ctx)
{
    if (!ctx)
        return;
    reg_blur_free(ctx->blur);
    reg_param_free(ctx->param);
    reg_transform_free(ctx->transform);
    free(ctx->scratch);
    free(ctx->image);
    free(ctx);
}

reg_param *reg_context_param(reg_context *ctx) { return ctx->param; }
reg_transform *reg_context_transform(reg_context *ctx) { return ctx->transform; }

double reg_objective(reg_context *ctx, const float *image, float *grad)
{
    double value = 0;
    if (ctx->o.l2 > 0)
        value += reg_l2(image, ctx->C, ctx->H, ctx->W, ctx->range.center, ctx->o.l2, grad);
    if (ctx->o.alpha_norm > 0)
        value += reg_alpha_norm(image, ctx->C, ctx->H, ctx->W, ctx->range.center, ctx->o.alpha,
                                ctx->o.alpha_norm, grad);
    if (ctx->o.tv_weight > 0)
        value += reg_tv(image, ctx->C, ctx->H, ctx->W, ctx->o.tv_beta, ctx->o.tv_weight, ctx->o.periodic,
                        grad);
    return value;
}

void reg_step(reg_context *ctx, long iter, float *params, const float *grad)
{
    const reg_options *o = &ctx->o;
    const int C = ctx->C, H = ctx->H, W = ctx->W;
    const float *center = ctx->range.center;
    bool blur_now = o->blur_sigma > 0 && iter % o->blur_every == 0;
    if (!(o->decay > 0 || blur_now || o->clip_norm_pct > 0 || (o->clip_contrib_pct > 0 && grad) ||
          o->clamp))
        return;
    float *x = params;
    if (!reg_param_is_identity(ctx->param)) {
        x = ctx->image;
        reg_param_forward(ctx->param, params, x);
    }
    if (o->decay > 0)
        reg_decay(x, C, H, W, center, o->decay);
    /* Prepared at create for this σ and method: cannot fail. */
    if (blur_now)
        (void)reg_blur_apply(ctx->blur, x, C, o->blur_sigma, REG_BLUR_AUTO);
    if (o->clip_norm_pct > 0)
        reg_clip_norm(x, C, H, W, center, o->clip_norm_pct, ctx->scratch);
    if (o->clip_contrib_pct > 0 && grad)
        reg_clip_contrib(x, grad, C, H, W, center, o->clip_contrib_pct, ctx->scratch);
    if (o->clamp)
        reg_clamp(x, C, H, W, ctx->range.lo, ctx->range.hi);
    if (!reg_param_is_identity(ctx->param))
        reg_param_from_image(ctx->param, x, params);
}
