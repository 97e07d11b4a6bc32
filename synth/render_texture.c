/* synth texture: Gatys, Ecker & Bethge 2015 texture synthesis — the style
 * loop of render_style.c without content, on a canvas of any size, with
 * tileable (periodic) output and colour histogram matching. */
#include "synth/render_internal.h"

#include <math.h>
#include <string.h>

void texture_options_default(texture_options *o)
{
    memset(o, 0, sizeof *o);
    reg_options_default(&o->reg);
    /* Fourier parameterization with decorrelated colour: smooth, coloured
     * textures where pixel L-BFGS stays near noise on the built-in network. */
    o->reg.param = REG_PARAM_FOURIER;
    o->reg.decorrelate = true;
    /* --tile 1024 as dream's: a result wider or taller than 1024 px runs in
     * 1024×1024 windows (memory follows the window); smaller ones in one pass. */
    o->run = (render_options){.size = 256, .iters = 100, .octaves = 2, .octave_scale = 2,
                              .tile = 1024, .optimizer = OPTIM_ADAM, .lr = 0.05};
    o->style_weight = 1000;
    o->style_scale = 1;
}

status texture_size(const texture_options *o, const image *first_style, int *width, int *height)
{
    int sw = first_style->width, sh = first_style->height;
    if (o->width < 0 || o->height < 0 || o->width > 65536 || o->height > 65536)
        return error_set(o->width < 0 || o->width > 65536 ? "--width" : "--height", "must be in [1, 65536]");
    if (o->width > 0 && o->height > 0)
        *width = o->width, *height = o->height;
    else if (o->width > 0)
        *width = o->width, *height = (int)fmax(1, floor((double)o->width * sh / sw + 0.5));
    else if (o->height > 0)
        *height = o->height, *width = (int)fmax(1, floor((double)o->height * sw / sh + 0.5));
    else
        render_fit_long_side(sw, sh, o->run.size > 0 ? o->run.size : 256, width, height);
    if (*width > 65536 || *height > 65536)
        return error_set("--width", "the result would be %dx%d; at most 65536 on a side", *width, *height);
    return ST_OK;
}

status render_texture(const texture_options *o, net_model *m, const image *styles, int style_count,
                      const render_callbacks *cb, image *out)
{
    *out = (image){0};
    if (style_count < 1)
        return error_set("--style", "missing");
    if (o->tileable) {
        const char *why = "breaks the wrap-around of --tileable; leave it 0";
        if (o->reg.pad)
            return error_set("--pad", "%s", why);
        if (o->reg.scale_jitter > 0)
            return error_set("--scale-jitter", "%s", why);
        if (o->reg.rotate_jitter > 0)
            return error_set("--rotate-jitter", "%s", why);
    }
    style_canvas cv = {.texture = true, .tileable = o->tileable, .match_histogram = o->match_histogram};
    if (texture_size(o, &styles[0], &cv.width, &cv.height) != ST_OK)
        return ST_ERROR;
    /* The style command's options, with no content. */
    style_options so;
    style_options_default(&so);
    so.model = o->model;
    so.reg = o->reg;
    so.run = o->run;
    so.styles = o->styles;
    so.style_blend = o->style_blend;
    so.style_layers = o->style_layers;
    so.style_layer_weights = o->style_layer_weights;
    so.style_weight = o->style_weight;
    so.style_scale = o->style_scale;
    so.content_weight = 0;
    if (o->tileable) {
        so.reg.boundary = REG_BOUNDARY_WRAP; /* jitter rolls */
        so.reg.periodic = true;              /* TV and blur wrap around */
    }
    style_inputs in = {.styles = styles, .style_count = style_count};
    return render_style_canvas(&so, m, &in, &cv, cb, out);
}
