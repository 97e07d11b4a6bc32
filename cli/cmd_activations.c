/* synth activations — a layer's feature maps for one input, as a grid. */
#include "cli/explain.h"

#include <stddef.h>

typedef struct {
    model_options model;
    char *layer;
    int normalize, zoom;
    number_list size;
    char *output;
    image_output_options image;
    char *raw;
    string_list inputs;
} activations_cmd_options;

static const option_spec activations_specs[] = {
    MODEL_OPTION_SPECS(activations_cmd_options, model),
    {"layer", 0, OPT_STRING, offsetof(activations_cmd_options, layer), 0, 0, 0, 0, NULL, "L",
     "the layer (a name or VGG alias; see synth info --model M)"},
    {"normalize", 0, OPT_CHOICE, offsetof(activations_cmd_options, normalize), 0, 0, 0, 0, "layer|map",
     NULL, "one gray scale for the whole layer (maps compare), or each map its own"},
    {"zoom", 0, OPT_INT, offsetof(activations_cmd_options, zoom), 1, 256, 0, 0, NULL, "Z",
     "pixels per activation (default: tiles of about 64 pixels)"},
    EXPLAIN_SIZE_SPEC(activations_cmd_options),
    {"output", 'o', OPT_STRING, offsetof(activations_cmd_options, output), 0, 0, 0, 0, NULL, "GRID.png",
     "the grid image to write"},
    IMAGE_OUTPUT_OPTION_SPECS(activations_cmd_options, image),
    {"raw", 0, OPT_STRING, offsetof(activations_cmd_options, raw), 0, 0, 0, 0, NULL, "A.npy",
     "also write the activation [1, C, h, w] here"},
};

static const option_table activations_table = {
    "activations",
    "synth activations IMAGE|X.npy --layer L -o GRID.png [--normalize layer|map] [--model M]",
    "Draws the feature maps of layer L for one input: one grayscale tile per\n"
    "channel, in channel order, row by row. With --normalize layer (the default)\n"
    "black is the layer's smallest value and white its largest, so strong and\n"
    "silent channels tell apart; with map each tile is stretched on its own.",
    activations_specs,
    (int)(sizeof activations_specs / sizeof activations_specs[0]),
    offsetof(activations_cmd_options, inputs),
    1,
    1,
};

static status activations(const void *opts)
{
    const activations_cmd_options *o = opts;
    int height, width;
    if (explain_size(&o->size, &height, &width) != ST_OK || explain_check_outputs(o->output, &o->image, o->raw) != ST_OK)
        return ST_ERROR;
    net_model *m = NULL;
    net_session *s = NULL;
    explain_input in = {0};
    image grid = {0};
    int layer;
    status st = ST_ERROR;
    if (explain_open_layer(&o->model, o->layer, &m, &layer) != ST_OK)
        return ST_ERROR;
    if (explain_input_load(o->inputs.items[0], m, height, width, &in) != ST_OK ||
        net_session_create(m, &s) != ST_OK)
        goto done;
    if ((st = net_forward(s, &in.x, 1, &layer, 1, NULL)) != ST_OK)
        goto done;
    st = ST_ERROR;
    const tensor *act = net_activation(s, layer);
    if (explain_activation_grid(act, (normalize_mode)o->normalize, o->zoom, &grid) != ST_OK ||
        explain_write_image(o->output, &grid, &o->image) != ST_OK || (o->raw && tensor_write_npy(o->raw, act) != ST_OK))
        goto done;
    st = ST_OK;
done:
    explain_input_free(&in);
    image_free(&grid);
    net_session_free(s);
    net_model_close(m);
    return st;
}

int cmd_activations(int argc, char **argv)
{
    activations_cmd_options o = {0};
    return explain_command(&activations_table, &o, argc, argv, "layer output", NULL, activations);
}
