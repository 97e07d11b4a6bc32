/* synth texture — Gatys texture synthesis: reads the style images and runs
 * render_texture (synth/render_texture.c). */
#include "cli/cli.h"

#include <stddef.h>
#include <stdlib.h>

static void defaults(void *o) { texture_options_default(o); }

static const char *missing(const void *opts)
{
    const texture_options *o = opts;
    return o->styles.count == 0 ? "missing --style FILE" : NULL;
}

static status render(void *opts, cli_render *r, const render_callbacks *cb, image *out)
{
    const texture_options *o = opts;
    image *styles = alloc_array((size_t)o->styles.count, sizeof *styles, "texture");
    status s = styles ? ST_OK : ST_ERROR;
    for (int i = 0; i < o->styles.count && s == ST_OK; i++)
        s = cli_read_image("--style", o->styles.items[i], &styles[i]);
    if (s == ST_OK)
        s = render_texture(o, r->model, styles, o->styles.count, cb, out);
    for (int i = 0; styles && i < o->styles.count; i++)
        image_free(&styles[i]);
    free(styles);
    return s;
}

int cmd_texture(int argc, char **argv)
{
    static const cli_synthesis c = {&texture_table, sizeof(texture_options), offsetof(texture_options, run),
                                    offsetof(texture_options, model), defaults, missing, render};
    return cli_synthesis_main(&c, argc, argv);
}
