/* synth invert — feature inversion: reads the input image and runs
 * render_invert (synth/render_vis.c). */
#include "cli/cli.h"

#include <stddef.h>

static void defaults(void *o) { invert_options_default(o); }

static const char *missing(const void *opts)
{
    return ((const invert_options *)opts)->input ? NULL : "missing --input FILE";
}

static status render(void *opts, cli_render *r, const render_callbacks *cb, image *out)
{
    const invert_options *o = opts;
    image input = {0};
    status s = cli_read_image("--input", o->input, &input);
    if (s == ST_OK)
        s = render_invert(o, r->model, &input, cb, out);
    image_free(&input);
    return s;
}

int cmd_invert(int argc, char **argv)
{
    static const cli_synthesis c = {&invert_table, sizeof(invert_options), offsetof(invert_options, run),
                                    offsetof(invert_options, model), defaults, missing, render};
    return cli_synthesis_main(&c, argc, argv);
}
