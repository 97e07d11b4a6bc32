/* synth classvis — class visualization (synth/render_vis.c). */
#include "cli/cli.h"

#include <stddef.h>

static void defaults(void *o) { classvis_options_default(o); }

static const char *missing(const void *opts)
{
    return ((const classvis_options *)opts)->class_index < 0 ? "missing --class K" : NULL;
}

static status render(void *opts, cli_render *r, const render_callbacks *cb, image *out)
{
    if (net_model_is_builtin(r->model))
        cli_note("the built-in network has random features and no classes: class K is channel K "
                 "of its last layer (use --model with a trained classifier for real classes)");
    return render_classvis(opts, r->model, cb, out);
}

int cmd_classvis(int argc, char **argv)
{
    static const cli_synthesis c = {&classvis_table, sizeof(classvis_options), offsetof(classvis_options, run),
                                    offsetof(classvis_options, model), defaults, missing, render};
    return cli_synthesis_main(&c, argc, argv);
}
