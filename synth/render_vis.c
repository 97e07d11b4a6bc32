/* synth classvis, neuron and invert: feature visualization from a random
 * start, coarse to fine over the octaves (each octave starts from the
 * previous result, resized).
 *
 * classvis and neuron default to Lucid's recipe (Olah et al. 2017): Fourier
 * parameterization with decorrelated colour and a sigmoid, padding, jitter,
 * scale and rotation jitter, Adam at 0.05. invert follows Mahendran &
 * Vedaldi 2015: the normalized feature distance plus β-TV, from noise. */
#include "synth/render_internal.h"

#include <stdlib.h>
#include <string.h>

/* Lucid's transformation robustness, in pixels of a 224 image. */
static void lucid_regularizers(reg_options *r)
{
    r->param = REG_PARAM_FOURIER;
    r->decorrelate = true;
    r->pad = 16;
    r->jitter = 8;
    r->scale_jitter = 0.1;
    r->rotate_jitter = 10;
}

static render_options visualization_run(void)
{
    return (render_options){.iters = 256, .octaves = 1, .octave_scale = 1.4, .optimizer = OPTIM_ADAM,
                            .lr = 0.05};
}

void classvis_options_default(classvis_options *o)
{
    memset(o, 0, sizeof *o);
    reg_options_default(&o->reg);
    lucid_regularizers(&o->reg);
    o->run = visualization_run();
    o->class_index = -1;
}

void neuron_options_default(neuron_options *o)
{
    memset(o, 0, sizeof *o);
    reg_options_default(&o->reg);
    lucid_regularizers(&o->reg);
    o->run = visualization_run();
    o->channel = -1;
}

void invert_options_default(invert_options *o)
{
    memset(o, 0, sizeof *o);
    reg_options_default(&o->reg);
    o->reg.tv_weight = 1e-5;
    o->reg.tv_beta = 2;
    o->run = (render_options){.size = 256, .iters = 200, .octaves = 1, .octave_scale = 1.4,
                              .optimizer = OPTIM_LBFGS, .lr = 0.1};
}

/* ---- the shared loop ------------------------------------------------------------ */

typedef struct {
    int W, H; /* the output */
} vis_run;

static status present(void *ctx, const image *octave_image, image *out)
{
    const vis_run *v = ctx;
    return render_resize(octave_image, v->W, v->H, out);
}

/* Renders obj at W×H over the octaves from a random start; `target` (the
 * image the INVERT terms match, any size) is resized to each octave. */
static status render_visualization(const render_options *run, const reg_options *reg, net_model *m,
                                   objective *obj, int W, int H, const image *target,
                                   const render_callbacks *cb, image *out)
{
    vis_run v = {W, H};
    render_runner r = {.run = run, .cb = cb, .octaves = run->octaves, .present = present,
                       .present_ctx = &v};
    render_engine *e = NULL;
    render_engine_config c;
    image start = {0}, previous = {0}, octave_target = {0};
    status st = ST_ERROR;
    *out = (image){0};
    if (render_config(run, reg, m, obj, &c) != ST_OK || render_engine_create(&c, &e) != ST_OK)
        goto done;
    r.e = e;
    for (int k = 0; k < run->octaves; k++) {
        int w, h;
        render_octave_size(W, H, k, run->octaves, run->octave_scale, &w, &h);
        if (k > 0 && render_resize(&previous, w, h, &start) != ST_OK)
            goto done;
        if (render_engine_begin(e, w, h, k > 0 ? &start : NULL) != ST_OK ||
            (target && (render_resize(target, w, h, &octave_target) != ST_OK ||
                        render_engine_set_target_image(e, &octave_target) != ST_OK)))
            goto done;
        r.octave = k;
        if ((st = render_run_octave(&r, run->iters, out)) != ST_OK)
            goto done;
        st = ST_ERROR;
        image_free(&previous);
        if (render_engine_image(e, &previous) != ST_OK)
            goto done;
    }
    st = present(&v, &previous, out);
done:
    image_free(&start);
    image_free(&previous);
    image_free(&octave_target);
    render_runner_free(&r);
    render_engine_free(e);
    return st;
}

/* A visualization's size: --size, else the model's declared input less the
 * padding (so the network sees exactly its input size), else 224. */
static int visualization_size(const render_options *run, const reg_options *reg, net_model *m)
{
    if (run->size > 0)
        return run->size;
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    net_model_input_shape(m, 0, &ndim, shape);
    if (ndim == 4 && shape[2] > 2 * reg->pad && shape[2] == shape[3] && shape[2] <= 4096)
        return (int)shape[2] - 2 * reg->pad;
    return 224;
}

/* One-term objective; its errors name `flag`. */
static status single_term(const loss_term *term, const char *flag, objective **obj)
{
    if (objective_create(obj) != ST_OK)
        return ST_ERROR;
    if (objective_add(*obj, term) != ST_OK)
        return error_prefix(flag);
    return ST_OK;
}

/* ---- classvis ----------------------------------------------------------------- */

const char *classvis_layer(const classvis_options *o, net_model *m)
{
    /* The explain commands' choice of the score layer (explainer_create):
     * the logits under a final Softmax or Sigmoid. */
    explainer *ex = NULL;
    if (explainer_create(m, o->layer && *o->layer ? o->layer : NULL, &ex) != ST_OK)
        return NULL;
    const char *name = net_layer_name(m, explainer_score_layer(ex));
    explainer_free(ex);
    return name;
}

status render_classvis(const classvis_options *o, net_model *m, const render_callbacks *cb, image *out)
{
    *out = (image){0};
    const char *layer = classvis_layer(o, m);
    if (!layer)
        return ST_ERROR;
    if (o->class_index < 0)
        return error_set("--class", "missing");
    objective *obj = NULL;
    loss_term term = {.kind = o->logprob ? LOSS_LOGPROB : LOSS_CLASS, .layer = layer, .weight = 1,
                      .channel = o->class_index};
    int size = visualization_size(&o->run, &o->reg, m);
    status st = single_term(&term, "--class", &obj);
    if (st == ST_OK)
        st = render_visualization(&o->run, &o->reg, m, obj, size, size, NULL, cb, out);
    objective_free(obj);
    return st;
}

/* ---- neuron ------------------------------------------------------------------- */

status render_neuron(const neuron_options *o, net_model *m, const render_callbacks *cb, image *out)
{
    *out = (image){0};
    if (!o->layer || !*o->layer)
        return error_set("--layer", "missing");
    if (o->channel < 0)
        return error_set("--channel", "missing");
    if (o->unit.count != 0 && o->unit.count != 2)
        return error_set("--unit", "takes X,Y");
    loss_term term = {.kind = o->channel_mean ? LOSS_CHANNEL : LOSS_NEURON, .layer = o->layer,
                      .weight = 1, .channel = o->channel, .x = -1, .y = -1};
    if (o->unit.count == 2) {
        if (o->channel_mean)
            return error_set("--unit", "cannot be combined with --channel-mean");
        term.x = (int)o->unit.values[0];
        term.y = (int)o->unit.values[1];
    }
    objective *obj = NULL;
    int size = visualization_size(&o->run, &o->reg, m);
    status st = single_term(&term, "--channel", &obj);
    if (st == ST_OK)
        st = render_visualization(&o->run, &o->reg, m, obj, size, size, NULL, cb, out);
    objective_free(obj);
    return st;
}

/* ---- invert ------------------------------------------------------------------- */

status render_invert(const invert_options *o, net_model *m, const image *input, const render_callbacks *cb,
                     image *out)
{
    *out = (image){0};
    const char *layer = o->layer && *o->layer ? o->layer : "relu3_1";
    loss_term term = {.kind = LOSS_INVERT, .layer = layer, .weight = 1};
    int W = input->width, H = input->height;
    if (o->run.size > 0)
        render_fit_long_side(W, H, o->run.size, &W, &H);
    objective *obj = NULL;
    status st = single_term(&term, "--layer", &obj);
    if (st == ST_OK)
        st = render_visualization(&o->run, &o->reg, m, obj, W, H, input, cb, out);
    objective_free(obj);
    return st;
}
