/* synth dream — DeepDream: reads the input (and --guide) image and runs
 * render_dream (synth/render_dream.c). */
#include "cli/cli.h"

#include <stddef.h>

static void defaults(void *o) { dream_options_default(o); }

static const char *missing(const void *opts)
{
    return ((const dream_options *)opts)->input ? NULL : "missing --input FILE";
}

static status render(void *opts, cli_render *r, const render_callbacks *cb, image *out)
{
    const dream_options *o = opts;
    image input = {0}, guide = {0};
    status s = cli_read_image("--input", o->input, &input);
    if (s == ST_OK && o->guide)
        s = cli_read_image("--guide", o->guide, &guide);
    if (s == ST_OK)
        s = render_dream(o, r->model, &input, o->guide ? &guide : NULL, cb, out);
    image_free(&input);
    image_free(&guide);
    return s;
}

int cmd_dream(int argc, char **argv)
{
    static const cli_synthesis c = {&dream_table, sizeof(dream_options), offsetof(dream_options, run),
                                    offsetof(dream_options, model), defaults, missing, render};
    return cli_synthesis_main(&c, argc, argv);
}
