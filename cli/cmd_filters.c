/* synth filters — a conv layer's filters as a grid of small images. */
#include "cli/explain.h"

#include <stddef.h>

typedef struct {
    model_options model;
    char *layer;
    int max_filters, max_slices, zoom;
    char *output;
    image_output_options image;
    char *raw;
    string_list positional;
} filters_cmd_options;

static const option_spec filters_specs[] = {
    MODEL_OPTION_SPECS(filters_cmd_options, model),
    {"layer", 0, OPT_STRING, offsetof(filters_cmd_options, layer), 0, 0, 0, 0, NULL, "L",
     "the conv layer (a name or VGG alias; see synth info --model M)"},
    {"max-filters", 0, OPT_INT, offsetof(filters_cmd_options, max_filters), 1, 1e6, 0, 0, NULL, "N",
     "show the first N filters (default 64)"},
    {"max-slices", 0, OPT_INT, offsetof(filters_cmd_options, max_slices), 1, 1e6, 0, 0, NULL, "N",
     "deeper layers: the first N input channels of each filter (default 16)"},
    {"zoom", 0, OPT_INT, offsetof(filters_cmd_options, zoom), 1, 256, 0, 0, NULL, "Z",
     "pixels per weight (default: tiles of about 32 pixels)"},
    {"output", 'o', OPT_STRING, offsetof(filters_cmd_options, output), 0, 0, 0, 0, NULL, "GRID.png",
     "the grid image to write"},
    IMAGE_OUTPUT_OPTION_SPECS(filters_cmd_options, image),
    {"raw", 0, OPT_STRING, offsetof(filters_cmd_options, raw), 0, 0, 0, 0, NULL, "W.npy",
     "also write the layer's weights [out, in, kh, kw] here"},
};

static const option_table filters_table = {
    "filters",
    "synth filters --layer L -o GRID.png [--max-filters N] [--max-slices N] [--model M]",
    "Draws a conv layer's filters. A layer over 3 input channels (the first one)\n"
    "shows each filter as one colour tile (in RGB order, also for a BGR model);\n"
    "a deeper one shows each filter as a row of grayscale tiles, one per input\n"
    "channel. Each filter is scaled on its own, its smallest weight black (0) and\n"
    "its largest white (255). Weights are after any BatchNorm folded into the conv.",
    filters_specs,
    (int)(sizeof filters_specs / sizeof filters_specs[0]),
    offsetof(filters_cmd_options, positional),
    0,
    0,
};

static status filters(const void *opts)
{
    const filters_cmd_options *o = opts;
    if (explain_check_outputs(o->output, &o->image, o->raw) != ST_OK)
        return ST_ERROR;
    net_model *m = NULL;
    image grid = {0};
    const tensor *w;
    int layer;
    status st = ST_ERROR;
    if (explain_open_layer(&o->model, o->layer, &m, &layer) != ST_OK)
        return ST_ERROR;
    filters_options fo = {.max_filters = o->max_filters, .max_slices = o->max_slices, .zoom = o->zoom};
    if (explain_filters(m, layer, &fo, &grid) != ST_OK || explain_write_image(o->output, &grid, &o->image) != ST_OK ||
        (o->raw && (net_layer_weights(m, layer, &w) != ST_OK || tensor_write_npy(o->raw, w) != ST_OK)))
        goto done;
    st = ST_OK;
done:
    image_free(&grid);
    net_model_close(m);
    return st;
}

int cmd_filters(int argc, char **argv)
{
    filters_cmd_options o = {0};
    o.max_filters = 64;
    o.max_slices = 16;
    return explain_command(&filters_table, &o, argc, argv, "layer output", NULL, filters);
}
