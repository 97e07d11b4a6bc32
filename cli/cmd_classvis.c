/* synth classvis — class visualization (synth/render_vis.c). */
#include "cli/cli.h"

#include <stddef.h>
#include <stdio.h>

static void defaults(void *o) { classvis_options_default(o); }

static const char *missing(const void *opts)
{
    return ((const classvis_options *)opts)->class_index < 0 ? "missing --class K" : NULL;
}

/* The class must index the score layer's dimension 1 (at the declared input
 * size, else at the run's; a size the layer cannot take is left to the
 * render), and a --labels file must name every class of it. */
static status check_class(const classvis_options *o, net_model *m)
{
    const char *name = classvis_layer(o, m);
    int layer, ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    int side = o->run.size > 0 ? o->run.size : 224; /* a size for a model with none declared */
    if (!name || net_layer_find(m, name, &layer) != ST_OK ||
        (net_layer_shape(m, layer, 0, 0, &ndim, shape) != ST_OK &&
         (error_clear(), net_layer_shape(m, layer, side, side, &ndim, shape) != ST_OK)) ||
        ndim < 2) {
        error_clear();
        return ST_OK;
    }
    if (o->class_index >= shape[1])
        return error_set("--class", "%d is out of range (layer '%s' has %lld classes)", o->class_index, name,
                         (long long)shape[1]);
    int n = net_model_label_count(m);
    if (o->model.labels && n != shape[1])
        return error_set("--labels", "%s has %d line%s, layer '%s' has %lld classes", o->model.labels, n,
                         n == 1 ? "" : "s", name, (long long)shape[1]);
    return ST_OK;
}

static status render(void *opts, cli_render *r, const render_callbacks *cb, image *out)
{
    if (check_class(opts, r->model) != ST_OK)
        return ST_ERROR;
    /* "class K (name)" on stderr, "K name" as synth.class, as poster names them */
    int k = ((const classvis_options *)opts)->class_index;
    const char *name = net_model_label(r->model, k);
    if (name && *name)
        snprintf(r->class_text, sizeof r->class_text, "%d %.300s", k, name);
    else
        snprintf(r->class_text, sizeof r->class_text, "%d", k);
    if (net_model_is_builtin(r->model))
        cli_note("the built-in network has random features and no classes: class K is channel K "
                 "of its last layer (use --model with a trained classifier for real classes)");
    status st = render_classvis(opts, r->model, cb, out);
    /* said once an image exists (not before a refusal: an error stays one line) */
    if (st != ST_ERROR && !cli_quiet && name && *name)
        fprintf(stderr, "synth: class %d (%s)\n", k, name);
    else if (st != ST_ERROR && !cli_quiet)
        fprintf(stderr, "synth: class %d\n", k);
    return st;
}

int cmd_classvis(int argc, char **argv)
{
    static const cli_synthesis c = {&classvis_table, sizeof(classvis_options), offsetof(classvis_options, run),
                                    offsetof(classvis_options, model), defaults, missing, render};
    return cli_synthesis_main(&c, argc, argv);
}
