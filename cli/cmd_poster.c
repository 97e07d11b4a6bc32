/* synth poster — a class visualization per class (render_classvis) laid
 * out with captions (poster_compose, synth/poster.c). */
#include "cli/cli.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum { CAPTION_LEN = 256 };

static void defaults(void *o) { poster_options_default(o); }

static const char *missing(const void *opts)
{
    return ((const poster_options *)opts)->classes.count ? NULL : "missing --classes K1,K2,...";
}

/* The caption of class k: its label, else "class K" ("channel K" on the
 * built-in network, whose "classes" are its last layer's channels). */
static void caption_of(net_model *m, int k, char *buf)
{
    const char *label = k < net_model_label_count(m) ? net_model_label(m, k) : NULL;
    if (label && *label)
        snprintf(buf, CAPTION_LEN, "%s", label);
    else
        snprintf(buf, CAPTION_LEN, "%s %d", net_model_is_builtin(m) ? "channel" : "class", k);
}

/* Before any cell is drawn: the score layer exists and has every class
 * (its dimension 1 at the cells' size; a size it cannot take is left to the
 * render to report). */
static status check_classes(const poster_options *o, net_model *m, const int *classes, int n)
{
    const char *name = classvis_layer(&o->vis, m);
    int layer, ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    if (!name || net_layer_find(m, name, &layer) != ST_OK)
        return ST_ERROR;
    int size = o->vis.run.size > 0 ? o->vis.run.size : o->cell;
    if (net_layer_shape(m, layer, size, size, &ndim, shape) != ST_OK || ndim < 2) {
        error_clear();
        return ST_OK;
    }
    for (int i = 0; i < n; i++)
        if (classes[i] >= shape[1])
            return error_set("--classes", "%d is out of range: layer '%s' has %lld classes (0 to %lld)",
                             classes[i], name, (long long)shape[1], (long long)shape[1] - 1);
    return ST_OK;
}

static status render(void *opts, cli_render *r, const render_callbacks *cb, image *out)
{
    const poster_options *o = opts;
    int *classes = NULL, n = 0;
    if (poster_classes(&o->classes, &classes, &n) != ST_OK)
        return ST_ERROR;
    poster_style style = {
        .cols = o->cols > 0 ? o->cols : (int)ceil(sqrt((double)n)), .cell = o->cell,
        .caption_px = o->caption_size > 0 ? o->caption_size : poster_caption_px(o->cell),
        .title = o->title, .font = o->font,
    };
    image *tiles = alloc_array((size_t)n, sizeof *tiles, "poster");
    char *names = alloc_array((size_t)n, CAPTION_LEN, "poster");
    const char **captions = alloc_array((size_t)n, sizeof *captions, "poster");
    status s = tiles && names && captions ? poster_check_font(&style) : ST_ERROR;
    for (int i = 0; i < n && s == ST_OK; i++) {
        caption_of(r->model, classes[i], names + (size_t)i * CAPTION_LEN);
        captions[i] = names + (size_t)i * CAPTION_LEN;
    }
    if (s == ST_OK)
        s = check_classes(o, r->model, classes, n);
    if (s == ST_OK && net_model_is_builtin(r->model))
        cli_note("the built-in network has random features and no classes: class K is channel K "
                 "of its last layer (use --model with a trained classifier for real classes)");
    int done = 0;
    for (; done < n && s == ST_OK; done++) {
        classvis_options v = o->vis;
        v.class_index = classes[done];
        if (v.run.size == 0)
            v.run.size = o->cell;
        if (!cli_quiet)
            fprintf(stderr, "synth: class %d (%s), %d of %d\n", classes[done], captions[done], done + 1, n);
        s = render_classvis(&v, r->model, cb, &tiles[done]);
        if (s != ST_OK) {
            char *why = string_dup(error_message());
            error_set(NULL, "class %d (%d of %d): %s", classes[done], done + 1, n, why ? why : "failed");
            free(why);
        }
    }
    /* The poster of what exists, also when interrupted (the cell being
     * rendered as it was); on other errors the tile is empty and nothing is
     * written. */
    if (s == ST_OK || (done > 0 && tiles[done - 1].data)) {
        char *why = s == ST_OK ? NULL : string_dup(error_message());
        status c = poster_compose(&style, tiles, captions, n, out);
        if (c != ST_OK)
            s = c;
        else if (why)
            error_set(NULL, "%s", why);
        free(why);
    }
    for (int i = 0; tiles && i < n; i++)
        image_free(&tiles[i]);
    free(tiles);
    free(names);
    free(captions);
    free(classes);
    return s;
}

int cmd_poster(int argc, char **argv)
{
    static const cli_synthesis c = {&poster_table, sizeof(poster_options), offsetof(poster_options, vis.run),
                                    offsetof(poster_options, vis.model), defaults, missing, render};
    return cli_synthesis_main(&c, argc, argv);
}
