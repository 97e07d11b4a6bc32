/* synth style — Gatys style transfer: reads the content, style and --init
 * images and runs render_style (synth/render_style.c). */
#include "cli/cli.h"

#include <stddef.h>
#include <stdlib.h>

static void defaults(void *o) { style_options_default(o); }

static const char *missing(const void *opts)
{
    const style_options *o = opts;
    return !o->content ? "missing --content FILE" : o->styles.count == 0 ? "missing --style FILE" : NULL;
}

static status render(void *opts, cli_render *r, const render_callbacks *cb, image *out)
{
    const style_options *o = opts;
    image content = {0}, init = {0}, *styles = alloc_array((size_t)o->styles.count, sizeof *styles, "style");
    status s = styles ? cli_read_image("--content", o->content, &content) : ST_ERROR;
    for (int i = 0; i < o->styles.count && s == ST_OK; i++)
        s = cli_read_image("--style", o->styles.items[i], &styles[i]);
    if (s == ST_OK && style_init_kind(o->init) == STYLE_INIT_IMAGE)
        s = cli_read_image("--init", o->init, &init);
    if (s == ST_OK) {
        style_inputs in = {&content, styles, o->styles.count, init.data ? &init : NULL};
        s = render_style(o, r->model, &in, cb, out);
    }
    for (int i = 0; styles && i < o->styles.count; i++)
        image_free(&styles[i]);
    free(styles);
    image_free(&content);
    image_free(&init);
    return s;
}

int cmd_style(int argc, char **argv)
{
    static const cli_synthesis c = {&style_table, sizeof(style_options), offsetof(style_options, run),
                                    offsetof(style_options, model), defaults, missing, render};
    return cli_synthesis_main(&c, argc, argv);
}
