/* The five render loops end to end: each objective falls by a stated
 * factor over a short run, and the same seed gives the same image.
 *
 *   style (built-in network, the example images at 96 px, default layers,
 *     weights and L-BFGS): ≥ 5× in 150 iterations. The issue asks it at
 *     256 px, where it is ~65× (README); 96 px keeps the test near a
 *     minute and still proves the factor.
 *   invert (smooth test model, act3, from noise): ≥ 5× in 60 iterations.
 *   dream (built-in, relu3_1, 2 octaves): ½Σa² grows ≥ 1.5× in an octave.
 *   classvis, neuron (smooth test model, whose tanh units bound its logits
 *     near ±0.5): the logit doubles in 60 iterations, the unit grows 1.4×
 *     in 40.
 *   style's options (built-in, 48 px): --init FILE starts from that image,
 *     --original-colors keeps the result's luminance with the content's
 *     chroma (YIQ, checked against its own matrix), --style-blend 1,0 is the
 *     first style alone, --style-scale changes the result.
 *   style's weights and layers (built-in, 48 px, from noise), each measured
 *     by one fixed yardstick (the default objective's terms) or by the
 *     pixels: --content-weight lowers the content term, --style-weight the
 *     style terms, --tv-weight the result's total variation; a zero
 *     --style-layer-weights weight is the run without that layer;
 *     --content-layers and --style-layers are the terms the report names.
 *   dream's detail: octave 2 starts from its base plus the bicubic upscale
 *     of what octave 1 added (checked to float rounding against octave 1
 *     rebuilt as a run of its own).
 *   a late non-finite objective: the run stops at that iteration and keeps
 *     the image of the iteration before. */
#include "render_check.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>


/* First and last loss of each octave, as progress reports them. */
typedef struct {
    double first[8], last[8];
    int iters_seen;
} trace;

static void record(void *ctx, const render_progress *p)
{
    trace *t = ctx;
    if (p->octave > 8)
        return;
    if (p->iter == 1)
        t->first[p->octave - 1] = p->loss;
    t->last[p->octave - 1] = p->loss;
    t->iters_seen++;
}

static net_model *open_model(const char *spec)
{
    net_model *m = NULL;
    REQUIRE(net_model_open(spec, &m) == ST_OK);
    return m;
}

/* Style's defaults at one octave of `iters` iterations, `size` px. */
static void style_one_octave(style_options *o, int size, int iters)
{
    style_options_default(o);
    o->run.size = size;
    o->run.iters = iters;
    o->run.octaves = 1;
}

static void test_style(void)
{
    image content = {0}, style = {0}, out = {0};
    REQUIRE(image_read(EXAMPLES "content.jpg", &content) == ST_OK);
    REQUIRE(image_read(EXAMPLES "style.jpg", &style) == ST_OK);
    net_model *m = open_model("default");
    style_options o;
    style_one_octave(&o, 96, 150);
    trace t = {0};
    render_callbacks cb = {record, NULL, &t};
    style_inputs in = {&content, &style, 1, NULL};
    CHECK_OK(render_style(&o, m, &in, &cb, &out));
    CHECK(t.iters_seen == 150);
    CHECK(out.width == 96 && out.height == 72);
    fprintf(stderr, "style 96 px: %.4g -> %.4g (%.1fx) in 150 iterations\n", t.first[0], t.last[0],
            t.first[0] / t.last[0]);
    CHECK(t.first[0] / t.last[0] >= 5);
    image_free(&out);
    image_free(&content);
    image_free(&style);
    net_model_close(m);
}

static void test_invert(void)
{
    net_model *m = open_model(SMOOTH_MODEL);
    image input = {0}, out = {0};
    REQUIRE(image_read(EXAMPLES "content.jpg", &input) == ST_OK);
    invert_options o;
    invert_options_default(&o);
    o.run.size = 64;
    o.run.iters = 60;
    o.layer = "act3";
    trace t = {0};
    render_callbacks cb = {record, NULL, &t};
    CHECK_OK(render_invert(&o, m, &input, &cb, &out));
    fprintf(stderr, "invert: %.4g -> %.4g (%.1fx)\n", t.first[0], t.last[0], t.first[0] / t.last[0]);
    CHECK(t.first[0] / t.last[0] >= 5);
    CHECK(out.width == 64 && out.height == 48);
    image_free(&out);
    image_free(&input);
    net_model_close(m);
}

static void test_dream(void)
{
    net_model *m = open_model("default");
    image input = {0}, out = {0};
    REQUIRE(image_read(EXAMPLES "content.jpg", &input) == ST_OK);
    dream_options o;
    dream_options_default(&o);
    o.run.size = 120;
    o.run.octaves = 2;
    o.layer = "relu3_1";
    trace t = {0};
    render_callbacks cb = {record, NULL, &t};
    CHECK_OK(render_dream(&o, m, &input, NULL, &cb, &out));
    CHECK(t.iters_seen == 20);
    /* The objective is −½Σa²: it falls (grows in magnitude). */
    fprintf(stderr, "dream: %.4g -> %.4g, %.4g -> %.4g\n", t.first[0], t.last[0], t.first[1], t.last[1]);
    CHECK(t.last[0] < 1.5 * t.first[0] && t.first[0] < 0);
    CHECK(t.last[1] < 1.5 * t.first[1]);
    CHECK(out.width == 120 && out.height == 90);
    image_free(&out);

    /* Without --size the output keeps the input's size. */
    image small = {0};
    REQUIRE(image_resize(&input, 50, 37, IMAGE_RESAMPLE_AREA, &small) == ST_OK);
    o.run.size = 0;
    o.run.octaves = 1;
    o.run.iters = 2;
    CHECK_OK(render_dream(&o, m, &small, NULL, NULL, &out));
    CHECK(out.width == 50 && out.height == 37);
    image_free(&out);
    image_free(&small);
    image_free(&input);
    net_model_close(m);
}

static void test_classvis_neuron(void)
{
    net_model *m = open_model(SMOOTH_MODEL);
    classvis_options c;
    classvis_options_default(&c);
    c.class_index = 4;
    c.run.size = 48;
    c.run.iters = 60;
    trace t = {0};
    render_callbacks cb = {record, NULL, &t};
    image out = {0};
    CHECK_OK(render_classvis(&c, m, &cb, &out));
    /* The loss is −logit. */
    fprintf(stderr, "classvis: %.4g -> %.4g\n", t.first[0], t.last[0]);
    CHECK(t.first[0] < 0 && t.last[0] <= 2 * t.first[0]);
    CHECK(out.width == 48 && out.height == 48);
    image_free(&out);

    neuron_options n;
    neuron_options_default(&n);
    n.layer = "conv3";
    n.channel = 2;
    n.run.size = 48;
    n.run.iters = 40;
    memset(&t, 0, sizeof t);
    CHECK_OK(render_neuron(&n, m, &cb, &out));
    fprintf(stderr, "neuron: %.4g -> %.4g\n", t.first[0], t.last[0]);
    CHECK(t.first[0] < 0 && t.last[0] <= 1.4 * t.first[0]);
    image_free(&out);
    net_model_close(m);
}

/* The largest |a − b| over two images of one size; ∞ when the sizes differ. */
static double max_diff(const image *a, const image *b)
{
    if (!a->data || !b->data || a->width != b->width || a->height != b->height)
        return INFINITY;
    double m = 0;
    for (size_t i = 0; i < (size_t)3 * a->width * a->height; i++)
        m = fmax(m, fabs((double)a->data[i] - b->data[i]));
    return m;
}

/* Y, I, Q of pixel i (NTSC), written out here independently of synth's. */
static void yiq_at(const image *x, size_t i, double yiq[3])
{
    size_t plane = (size_t)x->width * x->height;
    double r = x->data[i], g = x->data[plane + i], b = x->data[2 * plane + i];
    yiq[0] = 0.299 * r + 0.587 * g + 0.114 * b;
    yiq[1] = 0.595716 * r - 0.274453 * g - 0.321263 * b;
    yiq[2] = 0.211456 * r - 0.522591 * g + 0.311135 * b;
}

/* Stops a run once octave 1 has taken its last step. */
static void stop_after_octave_1(void *ctx, const render_progress *p)
{
    (void)ctx;
    if (p->octave == 1 && p->iter == p->iters)
        interrupt_signal = SIGINT;
}

/* Dream carries its detail up an octave (Mordvintsev et al. 2015): octave 2
 * of 2 starts from base_2 + up(dreamed_1 − base_1), base_k the input at
 * octave k's size, up the bicubic resize to octave 2's. Interrupted before
 * octave 2's first step, the run hands back exactly that start (clamped to
 * [0, 1], the output's range). Octave 1 is rebuilt as a 1-octave run of
 * base_1 with the same seed, which draws the same jitter. */
static void test_dream_detail(void)
{
    net_model *m = open_model("default");
    image input = {0}, full = {0}, small = {0}, dreamed = {0}, up = {0}, out = {0};
    REQUIRE(image_read(EXAMPLES "content.jpg", &input) == ST_OK);
    /* 120×90, octave scale 1.4: octave 1 is round(120/1.4) × round(90/1.4). */
    int w1 = (int)floor(120 / 1.4 + 0.5), h1 = (int)floor(90 / 1.4 + 0.5);
    REQUIRE(image_resize(&input, 120, 90, IMAGE_RESAMPLE_AREA, &full) == ST_OK);
    REQUIRE(image_resize(&full, w1, h1, IMAGE_RESAMPLE_AREA, &small) == ST_OK);
    dream_options o;
    dream_options_default(&o);
    o.layer = "relu3_1";
    o.run.octaves = 1;
    CHECK_OK(render_dream(&o, m, &small, NULL, NULL, &dreamed));
    REQUIRE(dreamed.width == w1 && dreamed.height == h1);
    double detail = max_diff(&dreamed, &small);
    for (size_t i = 0; i < (size_t)3 * w1 * h1; i++)
        dreamed.data[i] -= small.data[i];
    REQUIRE(image_resize(&dreamed, 120, 90, IMAGE_RESAMPLE_BICUBIC, &up) == ST_OK);

    o.run.octaves = 2;
    render_callbacks cb = {stop_after_octave_1, NULL, NULL};
    CHECK(render_dream(&o, m, &full, NULL, &cb, &out) == ST_INTERRUPTED);
    interrupt_signal = 0;
    CHECK(strstr(error_message(), "octave 2/2") != NULL);
    double worst = INFINITY, carried = 0;
    if (out.data && out.width == 120 && out.height == 90) {
        worst = 0;
        for (size_t i = 0; i < (size_t)3 * 120 * 90; i++) {
            double want = fmin(1, fmax(0, (double)full.data[i] + up.data[i]));
            worst = fmax(worst, fabs(out.data[i] - want));
            carried = fmax(carried, fabs(out.data[i] - full.data[i]));
        }
    }
    fprintf(stderr, "dream detail: octave 1 changed pixels by up to %.3g; octave 2 starts "
            "%.3g from the input, %.3g from base + up(detail)\n", detail, carried, worst);
    CHECK(detail > 0.02 && carried > 0.02);
    CHECK(worst <= 1e-6);
    image_free(&input);
    image_free(&full);
    image_free(&small);
    image_free(&dreamed);
    image_free(&up);
    image_free(&out);
    net_model_close(m);
}

static void test_style_options(void)
{
    image content = {0}, style = {0}, shapes = {0};
    REQUIRE(image_read(EXAMPLES "content.jpg", &content) == ST_OK);
    REQUIRE(image_read(EXAMPLES "style.jpg", &style) == ST_OK);
    REQUIRE(image_read(EXAMPLES "shapes.png", &shapes) == ST_OK);
    net_model *m = open_model("default");
    style_options o;
    style_one_octave(&o, 48, 0);

    /* --init FILE with no iterations: the result is that image at 48×36. */
    o.init = EXAMPLES "shapes.png";
    style_inputs in = {&content, &style, 1, &shapes};
    image out = {0}, init48 = {0}, content48 = {0};
    REQUIRE(image_resize(&shapes, 48, 36, IMAGE_RESAMPLE_AREA, &init48) == ST_OK);
    REQUIRE(image_resize(&content, 48, 36, IMAGE_RESAMPLE_AREA, &content48) == ST_OK);
    CHECK_OK(render_style(&o, m, &in, NULL, &out));
    CHECK(max_diff(&out, &init48) < 1e-5);
    CHECK(max_diff(&out, &content48) > 0.1);
    image_free(&out);

    /* --original-colors: the result's (here the init's) Y, the content's I and Q. */
    o.original_colors = true;
    CHECK_OK(render_style(&o, m, &in, NULL, &out));
    double worst_y = INFINITY, worst_iq = INFINITY;
    if (out.data && out.width == 48 && out.height == 36) {
        worst_y = worst_iq = 0;
        for (size_t i = 0; i < (size_t)48 * 36; i++) {
            double a[3], b[3], c[3];
            yiq_at(&out, i, a);
            yiq_at(&init48, i, b);
            yiq_at(&content48, i, c);
            worst_y = fmax(worst_y, fabs(a[0] - b[0]));
            worst_iq = fmax(worst_iq, fmax(fabs(a[1] - c[1]), fabs(a[2] - c[2])));
        }
    }
    CHECK(worst_y < 1e-5 && worst_iq < 1e-5);
    image_free(&out);
    o.original_colors = false;
    o.init = NULL;

    /* Two styles blended 1 : 0 are the first alone; 1 : 1 is neither. */
    o.run.iters = 3;
    image alone = {0}, blended = {0}, even = {0}, scaled = {0};
    CHECK_OK(render_style(&o, m, &in, NULL, &alone));
    image two[2] = {style, shapes};
    style_inputs in2 = {&content, two, 2, NULL};
    double w10[2] = {1, 0}, w11[2] = {1, 1};
    o.style_blend = (number_list){2, w10};
    CHECK_OK(render_style(&o, m, &in2, NULL, &blended));
    CHECK(max_diff(&alone, &blended) == 0);
    o.style_blend = (number_list){2, w11};
    CHECK_OK(render_style(&o, m, &in2, NULL, &even));
    CHECK(max_diff(&alone, &even) > 1e-3 && max_diff(&alone, &even) < INFINITY);
    o.style_blend = (number_list){0, NULL};

    /* --style-scale: the style's Grams at another size, another result. */
    o.style_scale = 0.5;
    CHECK_OK(render_style(&o, m, &in, NULL, &scaled));
    CHECK(max_diff(&alone, &scaled) > 1e-3 && max_diff(&alone, &scaled) < INFINITY);

    image_free(&alone);
    image_free(&blended);
    image_free(&even);
    image_free(&scaled);
    image_free(&init48);
    image_free(&content48);
    image_free(&content);
    image_free(&style);
    image_free(&shapes);
    net_model_close(m);
}

/* Σ_c Σ_{y,x} (x[c,y,x+1] − x[c,y,x])² + (x[c,y+1,x] − x[c,y,x])²: β-TV with
 * β = 2, the default --tv-beta, written out here independently of synth's. */
static double total_variation(const image *x)
{
    if (!x->data)
        return INFINITY;
    double tv = 0;
    for (int c = 0; c < 3; c++) {
        const float *p = image_plane(x, c);
        for (int y = 0; y < x->height; y++)
            for (int i = 0; i < x->width; i++) {
                const float *q = p + (size_t)y * x->width + i;
                if (i + 1 < x->width)
                    tv += ((double)q[1] - q[0]) * ((double)q[1] - q[0]);
                if (y + 1 < x->height)
                    tv += ((double)q[x->width] - q[0]) * ((double)q[x->width] - q[0]);
            }
    }
    return tv;
}

/* The first progress report's values: the content terms' and the style
 * terms' sums, and the labels joined by spaces. */
typedef struct {
    bool seen;
    double content, style;
    char labels[256];
} terms;

static void record_terms(void *ctx, const render_progress *p)
{
    terms *t = ctx;
    if (t->seen)
        return;
    t->seen = true;
    for (int i = 0; i < p->value_count; i++) {
        if (strncmp(p->labels[i], "content:", 8) == 0)
            t->content += p->values[i];
        else if (strncmp(p->labels[i], "style:", 6) == 0)
            t->style += p->values[i];
        size_t n = strlen(t->labels);
        snprintf(t->labels + n, sizeof t->labels - n, "%s%s", n ? " " : "", p->labels[i]);
    }
}

/* Runs o (into *out; NULL: dropped) and measures its result by one fixed
 * yardstick for results of different weights: the default objective's
 * content and style terms there (48 px), from one Adam step from --init
 * the result, whose report is the objective before the step. */
static terms run_and_measure(const style_options *o, net_model *m, const style_inputs *in,
                             image *out)
{
    image result = {0}, ignored = {0};
    CHECK_OK(render_style(o, m, in, NULL, &result));
    style_options d;
    style_one_octave(&d, 48, 1);
    d.run.optimizer = OPTIM_ADAM;
    d.init = "result";
    style_inputs at = *in;
    at.init = &result;
    terms t = {0};
    render_callbacks cb = {record_terms, NULL, &t};
    CHECK_OK(render_style(&d, m, &at, &cb, &ignored));
    CHECK(t.seen);
    image_free(&ignored);
    if (out)
        *out = result;
    else
        image_free(&result);
    return t;
}

/* Style's weights and layer lists, each against one base run and each in
 * the direction it should move the result; an option the loop ignored
 * would give the base's image. The base: 48 px, 20 L-BFGS iterations from
 * noise (--init random: the content term pulls from the first step),
 * content and style weights 1 and 1, so that either can win. */
static void test_style_weights(void)
{
    image content = {0}, style = {0};
    REQUIRE(image_read(EXAMPLES "content.jpg", &content) == ST_OK);
    REQUIRE(image_read(EXAMPLES "style.jpg", &style) == ST_OK);
    net_model *m = open_model("default");
    style_inputs in = {&content, &style, 1, NULL};
    style_options o;
    style_one_octave(&o, 48, 20);
    o.init = "random";
    o.style_weight = 1;
    image base = {0}, smooth = {0};
    terms tb = run_and_measure(&o, m, &in, &base);

    /* --content-weight 100: nearer the content's features, farther from the
     * style's Grams. (Not nearer in pixels: relu4_2 of the built-in random
     * network leaves the colours free, and 20 steps from noise do not
     * find them.) --style-weight 100: the other way round. */
    style_options heavy = o;
    heavy.content_weight = 100;
    terms tc = run_and_measure(&heavy, m, &in, NULL);
    heavy = o;
    heavy.style_weight = 100;
    terms ts = run_and_measure(&heavy, m, &in, NULL);
    fprintf(stderr, "style: content term %.4g, style terms %.4g; with --content-weight 100 "
            "%.4g, %.4g; with --style-weight 100 %.4g, %.4g\n", tb.content, tb.style, tc.content,
            tc.style, ts.content, ts.style);
    CHECK(tc.content < 0.7 * tb.content && tc.style > tb.style);
    CHECK(ts.style < 0.85 * tb.style && ts.content > 2 * tb.content);

    /* --tv-weight 0.01 (1e-5): a smoother result. */
    o.reg.tv_weight = 0.01;
    CHECK_OK(render_style(&o, m, &in, NULL, &smooth));
    o.reg.tv_weight = 1e-5;
    fprintf(stderr, "style --tv-weight 0.01: TV %.4g -> %.4g\n", total_variation(&base),
            total_variation(&smooth));
    CHECK(total_variation(&smooth) < 0.5 * total_variation(&base));

    /* --style-layer-weights 1,1,1,1,0 is the run without relu5_1. */
    image no5 = {0}, zero5 = {0};
    char *four[] = {"relu1_1", "relu2_1", "relu3_1", "relu4_1"};
    o.style_layers = (string_list){4, four};
    CHECK_OK(render_style(&o, m, &in, NULL, &no5));
    o.style_layers = (string_list){0, NULL};
    double w11110[] = {1, 1, 1, 1, 0};
    o.style_layer_weights = (number_list){5, w11110};
    CHECK_OK(render_style(&o, m, &in, NULL, &zero5));
    o.style_layer_weights = (number_list){0, NULL};
    fprintf(stderr, "style --style-layer-weights 1,1,1,1,0: %.3g from the run without relu5_1, "
            "%.3g from the base's\n", max_diff(&zero5, &no5), max_diff(&zero5, &base));
    CHECK(max_diff(&zero5, &no5) < 1e-5);
    CHECK(max_diff(&zero5, &base) > 1e-3 && max_diff(&zero5, &base) < INFINITY);

    /* --content-layers relu3_1 --style-layers relu1_1,relu2_1: the terms
     * the report names, and another result. */
    image lists = {0};
    char *c3[] = {"relu3_1"}, *s12[] = {"relu1_1", "relu2_1"};
    o.content_layers = (string_list){1, c3};
    o.style_layers = (string_list){2, s12};
    terms tl = {0};
    render_callbacks cb = {record_terms, NULL, &tl};
    CHECK_OK(render_style(&o, m, &in, &cb, &lists));
    fprintf(stderr, "style --content-layers relu3_1 --style-layers relu1_1,relu2_1: %s\n", tl.labels);
    CHECK(strcmp(tl.labels, "content:relu3_1 style:relu1_1 style:relu2_1 reg") == 0);
    CHECK(max_diff(&lists, &base) > 1e-3 && max_diff(&lists, &base) < INFINITY);
    CHECK(strcmp(tb.labels, "content:relu4_2 style:relu1_1 style:relu2_1 style:relu3_1 "
                            "style:relu4_1 style:relu5_1 reg") == 0);

    image_free(&base);
    image_free(&smooth);
    image_free(&no5);
    image_free(&zero5);
    image_free(&lists);
    image_free(&content);
    image_free(&style);
    net_model_close(m);
}

/* Same seed, same bytes; another seed, another image (a random start). */
static void test_seed(void)
{
    net_model *m = open_model(SMOOTH_MODEL);
    classvis_options c;
    classvis_options_default(&c);
    c.class_index = 1;
    c.run.size = 40;
    c.run.iters = 10;
    image a = {0}, b = {0}, d = {0};
    CHECK_OK(render_classvis(&c, m, NULL, &a));
    CHECK_OK(render_classvis(&c, m, NULL, &b));
    c.run.seed = 7;
    CHECK_OK(render_classvis(&c, m, NULL, &d));
    size_t bytes = (size_t)3 * 40 * 40 * sizeof(float);
    CHECK(a.data && b.data && d.data && memcmp(a.data, b.data, bytes) == 0);
    CHECK(a.data && d.data && memcmp(a.data, d.data, bytes) != 0);
    image_free(&a);
    image_free(&b);
    image_free(&d);
    net_model_close(m);
}

/* An objective that turns non-finite after some good iterations (the
 * nonfinite_late model: the unit grows without bound as the pixels' channel
 * mean approaches 0.75, and is +inf from there): the run stops at iteration
 * k > 2 with a message naming it, and the image it hands back is the last
 * good one, the same as a run of k − 1 iterations. */
static void test_late_nonfinite(void)
{
    net_model *m = open_model(SYNTH_TEST_DATA "/render/nonfinite_late.onnx");
    neuron_options n;
    neuron_options_default(&n);
    n.layer = "late";
    n.channel = 0;
    n.run.size = 16;
    n.run.iters = 200;
    n.run.optimizer = OPTIM_ADAM;
    n.run.lr = 0.05;
    n.reg.param = REG_PARAM_PIXEL;
    n.reg.decorrelate = false;
    n.reg.pad = n.reg.jitter = 0;
    n.reg.scale_jitter = n.reg.rotate_jitter = 0;
    image kept = {0}, again = {0};
    CHECK(render_neuron(&n, m, NULL, &kept) != ST_OK);
    int k = 0;
    const char *why = strstr(error_message(), "iteration ");
    CHECK(why && sscanf(why, "iteration %d", &k) == 1);
    CHECK(strstr(error_message(), "not finite") != NULL);
    fprintf(stderr, "late non-finite: stopped at iteration %d: %s\n", k, error_message());
    CHECK(k > 2 && kept.data);
    n.run.iters = k - 1;
    CHECK_OK(render_neuron(&n, m, NULL, &again));
    CHECK(kept.data && again.data && max_diff(&kept, &again) == 0);
    image_free(&kept);
    image_free(&again);
    net_model_close(m);
}

int main(void)
{
    test_late_nonfinite();
    test_seed();
    test_style_options();
    test_style_weights();
    test_classvis_neuron();
    test_invert();
    test_dream();
    test_dream_detail();
    if (!getenv("SKIP_STYLE")) test_style();
    return check_report("test_render_runs");
}
