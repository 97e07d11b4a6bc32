/* The objective: a weighted sum of loss terms on named layers,
 *
 *   value = Σ_t sign_t · weight_t · S_t      (always minimised)
 *
 * with sign −1 for the terms that maximise their S (class, neuron, channel,
 * dream, guide) and +1 for those that match a target (invert, content,
 * style). This file is the one place that sign is applied: it is folded into
 * the scale each loss multiplies its gradient by.
 *
 * Layers are names; the objective keeps the distinct ones in the order first
 * used, and all activations, shapes and seeds it exchanges are indexed by
 * that list. Targets are copied into buffers that only grow, so a render loop
 * that sets a new target each octave or tile allocates only when a larger one
 * comes. Style terms keep three C×C matrices: the target A, the Gram G of the
 * current step, and dG (see loss_gram.c). */
#include "synth/synth.h"
#include "synth/vec.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    loss_term spec;    /* spec.layer points to the objective's copy */
    char *label;       /* "kind:layer" */
    int layer;         /* index into objective.layers */
    double sign;       /* +1 minimise S, −1 maximise S */
    double value;      /* S summed over the evaluations since objective_begin */
    /* INVERT, CONTENT, GUIDE: the target features. */
    float *target;
    size_t target_capacity; /* floats */
    act_shape target_shape; /* c = 0: no target yet */
    double target_norm2;    /* INVERT: ‖target‖², or the whole target's (norm_fixed) */
    bool norm_fixed;        /* INVERT: target_norm2 set by objective_set_target_norm */
    /* STYLE: C×C each; style_c = 0: no target yet. */
    int style_c;
    float *style_target, *gram, *dgram;
    size_t gram_positions; /* positions accumulated into gram this step */
} term;

struct objective {
    term *terms;
    int term_count;
    char **layers;
    int layer_count;
    enum { GRAM_LOCAL, GRAM_ACCUMULATING, GRAM_GLOBAL } gram_mode;
    float *work; /* GUIDE: dot products, work_len floats */
    size_t work_len;
};

static const char *const kind_names[] = {
    [LOSS_CLASS] = "class",   [LOSS_LOGPROB] = "logprob", [LOSS_NEURON] = "neuron",
    [LOSS_CHANNEL] = "channel", [LOSS_INVERT] = "invert", [LOSS_CONTENT] = "content",
    [LOSS_STYLE] = "style",   [LOSS_DREAM] = "dream",     [LOSS_GUIDE] = "guide",
};
enum { KIND_COUNT = sizeof kind_names / sizeof kind_names[0] };

const char *loss_kind_name(loss_kind kind)
{
    return (unsigned)kind < KIND_COUNT ? kind_names[kind] : "unknown";
}

static bool kind_maximises(loss_kind kind)
{
    return kind == LOSS_CLASS || kind == LOSS_LOGPROB || kind == LOSS_NEURON ||
           kind == LOSS_CHANNEL || kind == LOSS_DREAM || kind == LOSS_GUIDE;
}

static bool kind_has_channel(loss_kind kind)
{
    return kind == LOSS_CLASS || kind == LOSS_LOGPROB || kind == LOSS_NEURON ||
           kind == LOSS_CHANNEL;
}

status objective_create(objective **out)
{
    *out = alloc_array(1, sizeof **out, "objective");
    return *out ? ST_OK : ST_ERROR;
}

void objective_free(objective *o)
{
    if (!o)
        return;
    for (int t = 0; t < o->term_count; t++) {
        term *tm = &o->terms[t];
        free(tm->label);
        free(tm->target);
        free(tm->style_target);
        free(tm->gram);
        free(tm->dgram);
    }
    for (int l = 0; l < o->layer_count; l++)
        free(o->layers[l]);
    free(o->terms);
    free(o->layers);
    free(o->work);
    free(o);
}

/* The index of `name` in o->layers, appending it when new; −1 on error. */
static int layer_index(objective *o, const char *name)
{
    for (int l = 0; l < o->layer_count; l++)
        if (strcmp(o->layers[l], name) == 0)
            return l;
    char **grown = realloc(o->layers, ((size_t)o->layer_count + 1) * sizeof *grown);
    if (!grown) {
        error_set("objective", "out of memory");
        return -1;
    }
    o->layers = grown;
    if (!(o->layers[o->layer_count] = string_dup(name)))
        return -1;
    return o->layer_count++;
}

status objective_add(objective *o, const loss_term *spec)
{
    if ((unsigned)spec->kind >= KIND_COUNT)
        return error_set("objective", "unknown loss kind %d", (int)spec->kind);
    if (!spec->layer || !spec->layer[0])
        return error_set(loss_kind_name(spec->kind), "no layer given");
    char label[256];
    snprintf(label, sizeof label, "%s:%s", loss_kind_name(spec->kind), spec->layer);
    if (!isfinite(spec->weight) || spec->weight < 0)
        return error_set(label, "weight %g must be a finite number ≥ 0", spec->weight);
    if (spec->direction != LOSS_NATURAL && spec->direction != LOSS_MINIMIZE &&
        spec->direction != LOSS_MAXIMIZE)
        return error_set(label, "unknown direction %d", (int)spec->direction);
    if (kind_has_channel(spec->kind) && spec->channel < 0)
        return error_set(label, "channel %d is negative", spec->channel);

    term *grown = realloc(o->terms, ((size_t)o->term_count + 1) * sizeof *grown);
    if (!grown)
        return error_set("objective", "out of memory");
    o->terms = grown;
    int layer = layer_index(o, spec->layer);
    if (layer < 0)
        return ST_ERROR;
    term *tm = &o->terms[o->term_count];
    *tm = (term){.spec = *spec, .layer = layer};
    tm->spec.layer = o->layers[layer];
    if (!(tm->label = string_dup(label)))
        return ST_ERROR;
    loss_direction dir = spec->direction != LOSS_NATURAL ? spec->direction
                         : kind_maximises(spec->kind)    ? LOSS_MAXIMIZE
                                                         : LOSS_MINIMIZE;
    tm->sign = dir == LOSS_MAXIMIZE ? -1.0 : 1.0;
    o->term_count++;
    return ST_OK;
}

status objective_set_weight(objective *o, int t, double weight)
{
    if (!isfinite(weight) || weight < 0)
        return error_set(o->terms[t].label, "weight %g must be a finite number ≥ 0", weight);
    o->terms[t].spec.weight = weight;
    return ST_OK;
}

double objective_term_weight(const objective *o, int t) { return o->terms[t].spec.weight; }

int objective_term_count(const objective *o) { return o->term_count; }
const char *objective_term_label(const objective *o, int t) { return o->terms[t].label; }
int objective_term_layer(const objective *o, int t) { return o->terms[t].layer; }
loss_kind objective_term_kind(const objective *o, int t) { return o->terms[t].spec.kind; }
int objective_layer_count(const objective *o) { return o->layer_count; }
const char *objective_layer_name(const objective *o, int layer) { return o->layers[layer]; }
double objective_term_value(const objective *o, int t) { return o->terms[t].value; }

double objective_term_contribution(const objective *o, int t)
{
    return o->terms[t].sign * o->terms[t].spec.weight * o->terms[t].value;
}

double objective_value(const objective *o)
{
    double v = 0;
    for (int t = 0; t < o->term_count; t++)
        v += objective_term_contribution(o, t);
    return v;
}

/* A shape every loss and BLAS call can take: positive sizes, positions and
 * channels within int. */
static status check_shape(const char *subject, act_shape s)
{
    if (s.c <= 0 || s.h <= 0 || s.w <= 0)
        return error_set(subject, "bad activation shape %d×%d×%d", s.c, s.h, s.w);
    if (act_positions(s) > INT_MAX)
        return error_set(subject, "activation of %d×%d positions is too large", s.h, s.w);
    return ST_OK;
}

/* Replaces *buf (capacity *cap floats) by one of at least n floats when it
 * is smaller; the contents are not kept. */
static status reserve(float **buf, size_t *cap, size_t n, const char *what)
{
    if (n <= *cap)
        return ST_OK;
    float *p = alloc_array(n, sizeof *p, what);
    if (!p)
        return ST_ERROR;
    free(*buf);
    *buf = p;
    *cap = n;
    return ST_OK;
}

status objective_set_target(objective *o, int t, const float *features, act_shape s)
{
    term *tm = &o->terms[t];
    loss_kind kind = tm->spec.kind;
    if (kind != LOSS_INVERT && kind != LOSS_CONTENT && kind != LOSS_GUIDE)
        return error_set(tm->label, "this loss takes no target features");
    if (check_shape(tm->label, s) != ST_OK)
        return ST_ERROR;
    size_t n = act_size(s);
    if (reserve(&tm->target, &tm->target_capacity, n, tm->label) != ST_OK)
        return ST_ERROR;
    memcpy(tm->target, features, n * sizeof *features);
    tm->target_shape = s;
    if (kind == LOSS_INVERT && !tm->norm_fixed) {
        tm->target_norm2 = vec_dot(features, features, n);
        if (!(tm->target_norm2 > 0) || !isfinite(tm->target_norm2)) {
            tm->target_shape.c = 0;
            return error_set(tm->label, "the target's features are all zero or not finite");
        }
    }
    if (kind == LOSS_GUIDE)
        return reserve(&o->work, &o->work_len, loss_guided_work(act_positions(s)), tm->label);
    return ST_OK;
}

status objective_set_target_norm(objective *o, int t, double norm2)
{
    term *tm = &o->terms[t];
    if (tm->spec.kind != LOSS_INVERT)
        return error_set(tm->label, "this loss takes no target norm");
    if (norm2 == 0) {
        tm->norm_fixed = false;
        if (tm->target_shape.c)
            tm->target_norm2 = vec_dot(tm->target, tm->target, act_size(tm->target_shape));
        return ST_OK;
    }
    if (!(norm2 > 0) || !isfinite(norm2))
        return error_set(tm->label, "the target's features are all zero or not finite");
    tm->norm_fixed = true;
    tm->target_norm2 = norm2;
    return ST_OK;
}

status objective_set_style(objective *o, int t, int count, const float *const *grams,
                           const double *blend, int c)
{
    term *tm = &o->terms[t];
    if (tm->spec.kind != LOSS_STYLE)
        return error_set(tm->label, "this loss takes no style Gram");
    if (count < 1 || c < 1)
        return error_set(tm->label, "no style Gram given");
    double total = 0;
    for (int s = 0; s < count; s++) {
        if (!isfinite(blend[s]) || blend[s] < 0)
            return error_set(tm->label, "style blend weight %g must be a finite number ≥ 0",
                             blend[s]);
        total += blend[s];
    }
    if (!(total > 0))
        return error_set(tm->label, "the style blend weights are all zero");
    size_t cc = (size_t)c * (size_t)c;
    if (tm->style_c != c) {
        free(tm->style_target);
        free(tm->gram);
        free(tm->dgram);
        tm->style_c = 0;
        tm->style_target = alloc_array(cc, sizeof(float), tm->label);
        tm->gram = alloc_array(cc, sizeof(float), tm->label);
        tm->dgram = alloc_array(cc, sizeof(float), tm->label);
        if (!tm->style_target || !tm->gram || !tm->dgram)
            return ST_ERROR;
        tm->style_c = c;
    }
    /* A = Σ_s b_s G_s / Σ_s b_s, summed in double. */
    for (size_t i = 0; i < cc; i++) {
        double a = 0;
        for (int s = 0; s < count; s++)
            a += blend[s] * grams[s][i];
        tm->style_target[i] = (float)(a / total);
    }
    return ST_OK;
}

void objective_begin(objective *o)
{
    for (int t = 0; t < o->term_count; t++)
        o->terms[t].value = 0;
    o->gram_mode = GRAM_LOCAL;
}

/* Whether term tm can take an activation of shape s, a crop of a layer of
 * shape `whole`; errors name the term. */
static status check_term(const term *tm, act_shape s, act_shape whole)
{
    const loss_term *sp = &tm->spec;
    if (kind_has_channel(sp->kind) && sp->channel >= s.c)
        return error_set(tm->label, "channel %d is out of range (the layer has %d channels)",
                         sp->channel, s.c);
    switch (sp->kind) {
    case LOSS_NEURON:
        if (sp->x >= whole.w || sp->y >= whole.h)
            return error_set(tm->label, "unit (%d, %d) is outside the layer's %d×%d positions",
                             sp->x, sp->y, whole.w, whole.h);
        return ST_OK;
    case LOSS_INVERT:
    case LOSS_CONTENT:
        if (tm->target_shape.c == 0)
            return error_set(tm->label, "no target features set");
        if (tm->target_shape.c != s.c || tm->target_shape.h != s.h || tm->target_shape.w != s.w)
            return error_set(tm->label, "target features are %d×%d×%d, the activation %d×%d×%d",
                             tm->target_shape.c, tm->target_shape.h, tm->target_shape.w, s.c,
                             s.h, s.w);
        return ST_OK;
    case LOSS_GUIDE:
        if (tm->target_shape.c == 0)
            return error_set(tm->label, "no guide features set");
        if (tm->target_shape.c != s.c)
            return error_set(tm->label, "guide features have %d channels, the layer %d",
                             tm->target_shape.c, s.c);
        return ST_OK;
    case LOSS_STYLE:
        if (tm->style_c == 0)
            return error_set(tm->label, "no style Gram set");
        if (tm->style_c != s.c)
            return error_set(tm->label, "the style Gram is %d×%d, the layer has %d channels",
                             tm->style_c, tm->style_c, s.c);
        return ST_OK;
    default:
        return ST_OK;
    }
}

/* Checks each term (all, or only the style terms) and its layer's shape:
 * the Gram pass needs the style layers' activations only. */
static status check_inputs(const objective *o, const act_shape *shapes, const act_cell *cells,
                           bool style_only)
{
    for (int t = 0; t < o->term_count; t++) {
        const term *tm = &o->terms[t];
        if (style_only && tm->spec.kind != LOSS_STYLE)
            continue;
        act_shape s = shapes[tm->layer], whole = cells ? cells[tm->layer].whole : s;
        if (check_shape(o->layers[tm->layer], s) != ST_OK ||
            (cells && check_shape(o->layers[tm->layer], whole) != ST_OK) ||
            check_term(tm, s, whole) != ST_OK)
            return ST_ERROR;
    }
    return ST_OK;
}

status objective_gram_accumulate(objective *o, const float *const *acts, const act_shape *shapes)
{
    if (o->gram_mode == GRAM_GLOBAL)
        return error_set("objective", "Gram accumulated after objective_gram_finish");
    if (check_inputs(o, shapes, NULL, true) != ST_OK)
        return ST_ERROR;
    for (int t = 0; t < o->term_count; t++) {
        term *tm = &o->terms[t];
        if (tm->spec.kind != LOSS_STYLE)
            continue;
        if (o->gram_mode == GRAM_LOCAL) {
            memset(tm->gram, 0, (size_t)tm->style_c * (size_t)tm->style_c * sizeof *tm->gram);
            tm->gram_positions = 0;
        }
        size_t positions = act_positions(shapes[tm->layer]);
        gram_accumulate(tm->gram, acts[tm->layer], tm->style_c, positions);
        tm->gram_positions += positions;
    }
    o->gram_mode = GRAM_ACCUMULATING;
    return ST_OK;
}

status objective_gram_finish(objective *o)
{
    if (o->gram_mode != GRAM_ACCUMULATING)
        return error_set("objective", "objective_gram_finish without objective_gram_accumulate");
    for (int t = 0; t < o->term_count; t++) {
        term *tm = &o->terms[t];
        if (tm->spec.kind != LOSS_STYLE)
            continue;
        gram_finish(tm->gram, tm->style_c, tm->gram_positions);
        tm->value = gram_loss(tm->gram, tm->style_target, tm->style_c, tm->gram_positions,
                              tm->sign * tm->spec.weight, tm->dgram);
    }
    o->gram_mode = GRAM_GLOBAL;
    return ST_OK;
}

/* i − i0 modulo n, in [0, n). */
static int wrap_offset(int i, int i0, int n) { return ((i - i0) % n + n) % n; }

/* Adds term tm's value on activation a (shape s; the crop `cell` of its
 * layer) to tm->value and scale·∂S/∂a to seed. */
static void evaluate_term(objective *o, term *tm, const float *a, act_shape s, act_cell cell,
                          float *seed)
{
    const loss_term *sp = &tm->spec;
    double scale = tm->sign * sp->weight;
    size_t n = act_size(s), positions = act_positions(s);
    /* The crop's share of the layer's positions: a mean over the crop times
     * f = HW_crop / HW_whole is the crop's share of the whole layer's mean. */
    double f = (double)positions / (double)act_positions(cell.whole);
    double v = 0;
    switch (sp->kind) {
    case LOSS_CLASS:
    case LOSS_CHANNEL:
        v = f * loss_channel_mean(a, s, sp->channel, f * scale, seed);
        break;
    case LOSS_LOGPROB: /* only on a whole layer (the engine refuses it tiled) */
        v = loss_log_softmax(a, s, sp->channel, scale, seed);
        break;
    case LOSS_NEURON: {
        /* The unit in whole-layer coordinates; only the crop that holds it. */
        int x = wrap_offset(sp->x < 0 ? cell.whole.w / 2 : sp->x, cell.x0, cell.whole.w);
        int y = wrap_offset(sp->y < 0 ? cell.whole.h / 2 : sp->y, cell.y0, cell.whole.h);
        if (x < s.w && y < s.h)
            v = loss_neuron(a, s, sp->channel, x, y, scale, seed);
        break;
    }
    case LOSS_INVERT:
        v = loss_inversion(a, tm->target, n, tm->target_norm2, scale, seed);
        break;
    case LOSS_CONTENT:
        v = loss_content(a, tm->target, n, scale, seed);
        break;
    case LOSS_DREAM:
        v = loss_dream(a, n, scale, seed);
        break;
    case LOSS_GUIDE:
        v = loss_guided_dream(a, s, tm->target, act_positions(tm->target_shape), scale, seed,
                              o->work, o->work_len);
        break;
    case LOSS_STYLE:
        if (o->gram_mode != GRAM_GLOBAL) {
            gram_compute(a, s, tm->gram);
            v = gram_loss(tm->gram, tm->style_target, s.c, positions, scale, tm->dgram);
        }
        gram_backward(tm->dgram, a, s.c, positions, seed);
        break;
    }
    tm->value += v;
}

status objective_evaluate_cell(objective *o, const float *const *acts, const act_shape *shapes,
                               const act_cell *cells, float *const *seeds)
{
    if (o->gram_mode == GRAM_ACCUMULATING)
        return error_set("objective", "objective_evaluate before objective_gram_finish");
    if (check_inputs(o, shapes, cells, false) != ST_OK)
        return ST_ERROR;
    for (int l = 0; l < o->layer_count; l++)
        memset(seeds[l], 0, act_size(shapes[l]) * sizeof(float));
    for (int t = 0; t < o->term_count; t++) {
        term *tm = &o->terms[t];
        act_shape s = shapes[tm->layer];
        act_cell cell = cells ? cells[tm->layer] : (act_cell){0, 0, s};
        evaluate_term(o, tm, acts[tm->layer], s, cell, seeds[tm->layer]);
    }
    return ST_OK;
}

status objective_evaluate(objective *o, const float *const *acts, const act_shape *shapes,
                          float *const *seeds)
{
    return objective_evaluate_cell(o, acts, shapes, NULL, seeds);
}
