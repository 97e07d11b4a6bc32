/* synth dream: DeepDream (Mordvintsev et al. 2015), as the deepdream
 * notebook does it: octaves of the input, the detail the dream adds carried
 * up from each octave to the next, normalized gradient steps, a random roll
 * (jitter with wrap-around) each step, pixels clamped to the valid range. */
#include "synth/render_internal.h"

#include <stdlib.h>
#include <string.h>

/* The guide image is fed at most this large (long side): its features are
 * matched against every position of the image, each step. */
enum { GUIDE_MAX_SIDE = 512 };

void dream_options_default(dream_options *o)
{
    memset(o, 0, sizeof *o);
    reg_options_default(&o->reg);
    o->reg.jitter = 32;
    o->reg.boundary = REG_BOUNDARY_WRAP;
    o->reg.clamp = true;
    o->run = (render_options){.iters = 10, .octaves = 4, .octave_scale = 1.4, .tile = 1024,
                              .optimizer = OPTIM_NORMALIZED, .lr = 1.5 / 255};
    o->channel = -1;
    o->step = 1.5;
}

typedef struct {
    const image *base_full; /* the input at the output's size */
    const image *base;      /* the input at the octave's size */
} dream_run;

/* dst = a − b (same sizes). */
static void subtract(const image *a, const image *b, image *dst)
{
    size_t n = (size_t)3 * a->width * a->height;
    for (size_t i = 0; i < n; i++)
        dst->data[i] = a->data[i] - b->data[i];
}

/* The output now: the full-size input plus the detail so far, upsampled. */
static status present(void *ctx, const image *octave_image, image *out)
{
    dream_run *d = ctx;
    image diff = {0};
    if (image_copy(octave_image, &diff) != ST_OK)
        return ST_ERROR;
    subtract(octave_image, d->base, &diff);
    status st = render_resize(&diff, d->base_full->width, d->base_full->height, out);
    image_free(&diff);
    if (st != ST_OK)
        return ST_ERROR;
    size_t n = (size_t)3 * out->width * out->height;
    for (size_t i = 0; i < n; i++) {
        float v = out->data[i] + d->base_full->data[i];
        out->data[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    return ST_OK;
}

status render_dream(const dream_options *o, net_model *m, const image *input, const image *guide,
                    const render_callbacks *cb, image *out)
{
    dream_run d = {0};
    render_runner r = {.run = &o->run, .cb = cb, .octaves = o->run.octaves, .present = present,
                       .present_ctx = &d};
    render_options run = o->run;
    run.optimizer = OPTIM_NORMALIZED;
    run.lr = o->step / 255;
    objective *obj = NULL;
    render_engine *e = NULL;
    image base_full = {0}, base = {0}, start = {0}, detail = {0}, small_guide = {0};
    render_engine_config c;
    status st = ST_ERROR;
    *out = (image){0};
    if (!(o->step > 0)) {
        error_set("--step", "must be > 0");
        goto done;
    }
    const char *layer = o->layer && *o->layer ? o->layer : "relu4_2";
    loss_term term = {.kind = LOSS_DREAM, .layer = layer, .weight = 1};
    if (guide)
        term.kind = LOSS_GUIDE;
    else if (o->channel >= 0)
        term = (loss_term){.kind = LOSS_CHANNEL, .layer = layer, .weight = 1, .channel = o->channel};
    int W = input->width, H = input->height;
    if (o->run.size > 0)
        render_fit_long_side(W, H, o->run.size, &W, &H);
    if (objective_create(&obj) != ST_OK || objective_add(obj, &term) != ST_OK ||
        render_config(&run, &o->reg, m, obj, &c) != ST_OK || render_engine_create(&c, &e) != ST_OK ||
        render_resize(input, W, H, &base_full) != ST_OK)
        goto done;
    if (guide) {
        int gw = guide->width, gh = guide->height;
        if (gw > GUIDE_MAX_SIDE || gh > GUIDE_MAX_SIDE)
            render_fit_long_side(gw, gh, GUIDE_MAX_SIDE, &gw, &gh);
        if (render_resize(guide, gw, gh, &small_guide) != ST_OK ||
            render_engine_set_guide(e, &small_guide) != ST_OK)
            goto done;
    }
    r.e = e;
    d.base_full = &base_full;
    for (int k = 0; k < o->run.octaves; k++) {
        int w, h;
        render_octave_size(W, H, k, o->run.octaves, o->run.octave_scale, &w, &h);
        /* The octave's start: its base plus the detail so far, upsampled. */
        const image *b = &base_full;
        if (w != W || h != H) {
            if (render_resize(&base_full, w, h, &base) != ST_OK)
                goto done;
            b = &base;
        }
        if (image_copy(b, &start) != ST_OK)
            goto done;
        if (k > 0) {
            image up = {0};
            if (render_resize(&detail, w, h, &up) != ST_OK)
                goto done;
            for (size_t i = 0; i < (size_t)3 * w * h; i++)
                start.data[i] += up.data[i];
            image_free(&up);
            image_free(&detail);
        }
        d.base = b;
        if (render_engine_begin(e, w, h, &start) != ST_OK)
            goto done;
        image_free(&start);
        r.octave = k;
        if ((st = render_run_octave(&r, run.iters, out)) != ST_OK)
            goto done;
        st = ST_ERROR;
        if (render_engine_image(e, k + 1 < o->run.octaves ? &detail : out) != ST_OK)
            goto done;
        if (k + 1 < o->run.octaves)
            subtract(&detail, b, &detail);
    }
    /* The last octave has the output's size: its image is the result. */
    st = ST_OK;
done:
    image_free(&base_full);
    image_free(&base);
    image_free(&start);
    image_free(&detail);
    image_free(&small_guide);
    render_runner_free(&r);
    render_engine_free(e);
    objective_free(obj);
    return st;
}
