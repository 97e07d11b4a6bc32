/* synth neuron — neuron and channel visualization (synth/render_vis.c). */
#include "cli/cli.h"

#include <stddef.h>

static void defaults(void *o) { neuron_options_default(o); }

static const char *missing(const void *opts)
{
    const neuron_options *o = opts;
    return !o->layer ? "missing --layer L" : o->channel < 0 ? "missing --channel C" : NULL;
}

static status render(void *opts, cli_render *r, const render_callbacks *cb, image *out)
{
    if (net_model_is_builtin(r->model))
        cli_note("the built-in network has random features: its units respond to structure, not "
                 "to learned concepts (use --model with a trained network)");
    return render_neuron(opts, r->model, cb, out);
}

int cmd_neuron(int argc, char **argv)
{
    static const cli_synthesis c = {&neuron_table, sizeof(neuron_options), offsetof(neuron_options, run),
                                    offsetof(neuron_options, model), defaults, missing, render};
    return cli_synthesis_main(&c, argc, argv);
}
