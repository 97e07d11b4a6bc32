/* synth style: Gatys et al. 2016 style transfer, with neural-style's
 * interface (several styles blended, style scale, init, original colours);
 * and synth texture (Gatys et al. 2015), the same loop without content.
 *
 * Each layer's term is normalized by its target's energy at every octave
 * (content ½‖F − P‖² / ‖P‖², style Σ(G − A)² / ‖A‖²), so that the weights
 * are relative errors and mean the same on any network: the built-in
 * random-feature network and an ONNX VGG-19 fed 0..1 or 0..255 alike. */
#include "synth/render_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_content_layers[] = {"relu4_2"};
static const char *const default_style_layers[] = {"relu1_1", "relu2_1", "relu3_1", "relu4_1",
                                                   "relu5_1"};

void style_options_default(style_options *o)
{
    memset(o, 0, sizeof *o);
    reg_options_default(&o->reg);
    o->reg.tv_weight = 1e-5;
    o->run = (render_options){.size = 512, .iters = 100, .octaves = 2, .octave_scale = 2,
                              .optimizer = OPTIM_LBFGS, .lr = 0.1};
    o->content_weight = 1;
    o->style_weight = 1000;
    o->style_scale = 1;
}

style_init style_init_kind(const char *init)
{
    if (!init || strcmp(init, "content") == 0)
        return STYLE_INIT_CONTENT;
    return strcmp(init, "random") == 0 ? STYLE_INIT_RANDOM : STYLE_INIT_IMAGE;
}

typedef struct {
    const style_options *o;
    const style_canvas *cv;
    const style_inputs *in;
    objective *obj;
    render_engine *e;
    int W, H;              /* the output */
    image content_out;     /* the content at the output's size (original colours) */
    int nstyle_layers;
    const char *const *style_layers;
    double *layer_weight;  /* per style layer, Σ = 1 */
    double *blend;         /* per style image */
    int *style_term;       /* objective term of each style layer */
    int ncontent;
    int *content_term;
} style_run;

/* The output from an octave's image: resized to the output's size, with
 * the content's colours when asked. */
static status present(void *ctx, const image *octave_image, image *out)
{
    style_run *s = ctx;
    if (render_resize(octave_image, s->W, s->H, out) != ST_OK)
        return ST_ERROR;
    if (s->o->original_colors && s->in->content)
        return render_transfer_luminance(out, &s->content_out, out);
    if (s->cv->match_histogram)
        return image_match_histogram(out, s->in->styles, s->blend, s->in->style_count);
    return ST_OK;
}

/* Checks the lists against each other and fills the run's weights. */
static status check_lists(const style_options *o, const style_inputs *in, style_run *s)
{
    if (in->style_count < 1)
        return error_set("--style", "missing");
    if (o->style_blend.count && o->style_blend.count != in->style_count)
        return error_set("--style-blend", "has %d weights for %d style images", o->style_blend.count,
                         in->style_count);
    s->style_layers = o->style_layers.count ? (const char *const *)o->style_layers.items : default_style_layers;
    s->nstyle_layers = o->style_layers.count ? o->style_layers.count : 5;
    if (o->style_layer_weights.count && o->style_layer_weights.count != s->nstyle_layers)
        return error_set("--style-layer-weights", "has %d weights for %d style layers",
                         o->style_layer_weights.count, s->nstyle_layers);
    s->layer_weight = alloc_array((size_t)s->nstyle_layers, sizeof(double), "style");
    s->blend = alloc_array((size_t)in->style_count, sizeof(double), "style");
    s->style_term = alloc_array((size_t)s->nstyle_layers, sizeof(int), "style");
    if (!s->layer_weight || !s->blend || !s->style_term)
        return ST_ERROR;
    double total = 0, blend_total = 0;
    for (int l = 0; l < s->nstyle_layers; l++)
        total += s->layer_weight[l] = o->style_layer_weights.count ? o->style_layer_weights.values[l] : 1;
    for (int i = 0; i < in->style_count; i++)
        blend_total += s->blend[i] = o->style_blend.count ? o->style_blend.values[i] : 1;
    if (!(total > 0))
        return error_set("--style-layer-weights", "the weights are all zero");
    if (!(blend_total > 0))
        return error_set("--style-blend", "the weights are all zero");
    for (int l = 0; l < s->nstyle_layers; l++)
        s->layer_weight[l] /= total;
    return ST_OK;
}

/* The objective: content terms, then style terms, weights set per octave. */
static status build_objective(const style_options *o, style_run *s)
{
    const char *const *content_layers =
        o->content_layers.count ? (const char *const *)o->content_layers.items : default_content_layers;
    s->ncontent = o->content_layers.count ? o->content_layers.count : 1;
    if (o->content_weight <= 0 || !s->in->content)
        s->ncontent = 0;
    s->content_term = alloc_array((size_t)(s->ncontent ? s->ncontent : 1), sizeof(int), "style");
    if (!s->content_term || objective_create(&s->obj) != ST_OK)
        return ST_ERROR;
    for (int i = 0; i < s->ncontent; i++) {
        s->content_term[i] = objective_term_count(s->obj);
        if (objective_add(s->obj, &(loss_term){.kind = LOSS_CONTENT, .layer = content_layers[i],
                                                .weight = o->content_weight}) != ST_OK)
            return ST_ERROR;
    }
    for (int l = 0; l < s->nstyle_layers; l++) {
        s->style_term[l] = objective_term_count(s->obj);
        if (objective_add(s->obj, &(loss_term){.kind = LOSS_STYLE, .layer = s->style_layers[l],
                                                .weight = o->style_weight}) != ST_OK)
            return ST_ERROR;
    }
    return ST_OK;
}

/* This octave's style targets: every style image resized to style_scale ×
 * the octave's long side (texture: style_scale × the style's own size ×
 * the octave's share of the result), its Grams blended, each term weighted
 * by style_weight · w_l / ‖A_l‖². */
static status set_style_targets(style_run *s, const style_inputs *in, int long_side)
{
    int nt = objective_term_count(s->obj), n = in->style_count;
    float **grams = alloc_array((size_t)n * nt, sizeof *grams, "style");
    int *channels = alloc_array((size_t)nt, sizeof *channels, "style");
    const float **per_term = alloc_array((size_t)n, sizeof *per_term, "style");
    image resized = {0};
    status st = ST_ERROR;
    if (!grams || !channels || !per_term)
        goto done;
    for (int i = 0; i < n; i++) {
        const image *si = &in->styles[i];
        int w, h, own = si->width > si->height ? si->width : si->height;
        double base = s->cv->texture ? own * (double)long_side / (s->W > s->H ? s->W : s->H) : long_side;
        render_fit_long_side(si->width, si->height, (int)fmax(16, floor(s->o->style_scale * base + 0.5)),
                             &w, &h);
        if (render_resize(&in->styles[i], w, h, &resized) != ST_OK ||
            (st = render_engine_grams(s->e, &resized, grams + (size_t)i * nt, channels)) != ST_OK) {
            if (st == ST_OK)
                st = ST_ERROR;
            goto done;
        }
        st = ST_ERROR;
    }
    for (int l = 0; l < s->nstyle_layers; l++) {
        int t = s->style_term[l], c = channels[t];
        for (int i = 0; i < n; i++)
            per_term[i] = grams[(size_t)i * nt + t];
        if (objective_set_style(s->obj, t, n, per_term, s->blend, c) != ST_OK)
            goto done;
        /* ‖A‖² of the blend, as objective_set_style forms it. */
        double total = 0, norm2 = 0;
        for (int i = 0; i < n; i++)
            total += s->blend[i];
        for (size_t k = 0; k < (size_t)c * c; k++) {
            double a = 0;
            for (int i = 0; i < n; i++)
                a += s->blend[i] * per_term[i][k];
            norm2 += (a / total) * (a / total);
        }
        if (!(norm2 > 0)) {
            error_set(objective_term_label(s->obj, t), "the style image's features are all zero");
            goto done;
        }
        if (objective_set_weight(s->obj, t, s->o->style_weight * s->layer_weight[l] / norm2) != ST_OK)
            goto done;
    }
    st = ST_OK;
done:
    for (size_t k = 0; grams && k < (size_t)n * nt; k++)
        free(grams[k]);
    free(grams);
    free(channels);
    free(per_term);
    image_free(&resized);
    return st;
}

/* This octave's content targets and weights content_weight / ‖P‖². */
static status set_content_targets(style_run *s, const image *content)
{
    if (s->ncontent == 0)
        return ST_OK;
    int nt = objective_term_count(s->obj);
    double *energy = alloc_array((size_t)nt, sizeof *energy, "style");
    status st = ST_ERROR;
    if (!energy || render_engine_set_target_image(s->e, content) != ST_OK ||
        (st = render_engine_feature_energy(s->e, content, energy)) != ST_OK) {
        free(energy);
        return st == ST_OK ? ST_ERROR : st;
    }
    st = ST_OK;
    for (int i = 0; i < s->ncontent && st == ST_OK; i++) {
        int t = s->content_term[i];
        if (!(energy[t] > 0))
            st = error_set(objective_term_label(s->obj, t), "the content image's features are all zero");
        else
            st = objective_set_weight(s->obj, t, s->o->content_weight / energy[t]);
    }
    free(energy);
    return st;
}

static void style_run_free(style_run *s)
{
    render_engine_free(s->e);
    objective_free(s->obj);
    image_free(&s->content_out);
    free(s->layer_weight);
    free(s->blend);
    free(s->style_term);
    free(s->content_term);
}

status render_style_canvas(const style_options *o, net_model *m, const style_inputs *in,
                           const style_canvas *cv, const render_callbacks *cb, image *out)
{
    style_run s = {.o = o, .cv = cv, .in = in, .W = cv->width, .H = cv->height};
    render_runner r = {.run = &o->run, .cb = cb, .octaves = o->run.octaves, .present = present,
                       .present_ctx = &s};
    image content = {0}, start = {0}, result = {0};
    render_engine_config c;
    status st = ST_ERROR;
    *out = (image){0};
    if (check_lists(o, in, &s) != ST_OK || build_objective(o, &s) != ST_OK ||
        render_config(&o->run, &o->reg, m, s.obj, &c) != ST_OK)
        goto done;
    c.circular_padding = cv->tileable;
    if (!(o->style_scale > 0) || !isfinite(o->style_scale)) {
        error_set("--style-scale", "must be a finite number > 0");
        goto done;
    }
    style_init init = in->content ? style_init_kind(o->init) : STYLE_INIT_RANDOM;
    if (init == STYLE_INIT_IMAGE && !in->init) {
        error_set("--init", "the image '%s' was not given to the render loop", o->init);
        goto done;
    }
    if (render_engine_create(&c, &s.e) != ST_OK ||
        (o->original_colors && in->content &&
         render_resize(in->content, s.W, s.H, &s.content_out) != ST_OK))
        goto done;
    r.e = s.e;
    for (int k = 0; k < o->run.octaves; k++) {
        int w, h;
        render_octave_size(s.W, s.H, k, o->run.octaves, o->run.octave_scale, &w, &h);
        if (in->content && render_resize(in->content, w, h, &content) != ST_OK)
            goto done;
        const image *first = &content; /* --init content */
        if (k > 0)
            first = &start; /* the previous octave's result */
        else if (init == STYLE_INIT_RANDOM)
            first = NULL;
        else if (init == STYLE_INIT_IMAGE && render_resize(in->init, w, h, &start) == ST_OK)
            first = &start;
        else if (init == STYLE_INIT_IMAGE)
            goto done;
        if (render_engine_begin(s.e, w, h, first) != ST_OK)
            goto done;
        if ((st = set_content_targets(&s, &content)) != ST_OK ||
            (st = set_style_targets(&s, in, w > h ? w : h)) != ST_OK) {
            if (st == ST_INTERRUPTED && render_engine_image(s.e, &result) == ST_OK &&
                present(&s, &result, out) == ST_OK) {
                error_set(NULL, "interrupted");
                goto done;
            }
            st = ST_ERROR;
            goto done;
        }
        r.octave = k;
        if ((st = render_run_octave(&r, o->run.iters, out)) != ST_OK)
            goto done;
        if (render_engine_image(s.e, &result) != ST_OK)
            goto fail;
        if (k + 1 < o->run.octaves) {
            int nw, nh;
            render_octave_size(s.W, s.H, k + 1, o->run.octaves, o->run.octave_scale, &nw, &nh);
            if ((cv->tileable ? render_resize_wrapped(&result, nw, nh, &start)
                              : render_resize(&result, nw, nh, &start)) != ST_OK)
                goto fail;
            image_free(&result);
        }
    }
    st = present(&s, &result, out);
    goto done;
fail:
    st = ST_ERROR;
done:
    image_free(&content);
    image_free(&start);
    image_free(&result);
    render_runner_free(&r);
    style_run_free(&s);
    return st;
}

status render_style(const style_options *o, net_model *m, const style_inputs *in,
                    const render_callbacks *cb, image *out)
{
    *out = (image){0};
    if (!in->content)
        return error_set("--content", "missing");
    style_canvas cv = {.width = in->content->width, .height = in->content->height};
    if (o->run.size > 0)
        render_fit_long_side(cv.width, cv.height, o->run.size, &cv.width, &cv.height);
    return render_style_canvas(o, m, in, &cv, cb, out);
}
