/* synth embed — one feature row per input from a layer, and optionally each
 * input's nearest neighbours among the others. */
#include "cli/explain.h"

#include <stddef.h>
#include <stdlib.h>

typedef struct {
    model_options model;
    char *layer;
    int pool, neighbours;
    number_list size;
    char *out;
    string_list inputs;
} embed_cmd_options;

static const option_spec embed_specs[] = {
    MODEL_OPTION_SPECS(embed_cmd_options, model),
    {"layer", 0, OPT_STRING, offsetof(embed_cmd_options, layer), 0, 0, 0, 0, NULL, "L",
     "the layer whose activations are the features (see synth info --model M)"},
    {"pool", 0, OPT_CHOICE, offsetof(embed_cmd_options, pool), 0, 0, 0, 0, "mean|max|none", NULL,
     "per channel over the positions (mean, max: C values), or none: every value (default mean)"},
    {"neighbours", 0, OPT_INT, offsetof(embed_cmd_options, neighbours), 1, 1e6, 0, 0, NULL, "K",
     "print each input's K nearest other inputs by L2 distance of the features"},
    EXPLAIN_SIZE_SPEC(embed_cmd_options),
    {"out", 'o', OPT_STRING, offsetof(embed_cmd_options, out), 0, 0, 0, 0, NULL, "FEATS.npy",
     "the features, [inputs, D] float32, one row per input in the order given"},
};

static const option_table embed_table = {
    "embed",
    "synth embed --layer L IMAGE|X.npy ... --out FEATS.npy [--pool mean|max|none]\n"
    "                   [--neighbours K] [--model M]",
    "Runs every input through the model and keeps layer L's activation as a\n"
    "feature row: with --pool mean (the default) or max, one value per channel\n"
    "(inputs of any size give rows of the same length); with none, the whole\n"
    "activation flattened (C*h*w values: the inputs must give the same shape,\n"
    "which --size ensures for images). The rows are where nearest-neighbour and\n"
    "t-SNE views start. --neighbours K prints, per input, its K nearest other\n"
    "inputs: 'INPUT: NEIGHBOUR (distance) ...', nearest first.",
    embed_specs,
    (int)(sizeof embed_specs / sizeof embed_specs[0]),
    offsetof(embed_cmd_options, inputs),
    1,
    -1,
};

/* Runs input i and writes its row into rows (allocated with the first). */
static status embed_one(const embed_cmd_options *o, net_model *m, net_session *s, int layer, int height,
                        int width, int i, tensor *rows)
{
    const char *path = o->inputs.items[i];
    explain_input in;
    if (explain_input_load(path, m, height, width, &in) != ST_OK)
        return ST_ERROR;
    status st = net_forward(s, &in.x, 1, &layer, 1, NULL);
    explain_input_free(&in);
    if (st != ST_OK) {
        if (st == ST_ERROR) /* which of the inputs */
            error_prefix(path);
        return st;
    }
    const tensor *act = net_activation(s, layer);
    char buf[96];
    if (act->ndim < 1 || (act->ndim >= 2 && act->shape[0] != 1))
        return error_set(path, "the layer's output %s is not one item", shape_format(act->ndim, act->shape, buf, sizeof buf));
    size_t d = embed_row_length(act, (embed_pool)o->pool);
    if (!rows->data) {
        int64_t shape[2] = {o->inputs.count, (int64_t)d};
        if (tensor_alloc(rows, 2, shape) != ST_OK)
            return ST_ERROR;
    } else if ((size_t)rows->shape[1] != d) {
        return error_set(path, "gives %zu features, the first input %lld (%s); give --size or --pool mean", d,
                         (long long)rows->shape[1], shape_format(act->ndim, act->shape, buf, sizeof buf));
    }
    embed_row(act, (embed_pool)o->pool, rows->data + (size_t)i * d);
    return ST_OK;
}

static status embed(const void *opts)
{
    const embed_cmd_options *o = opts;
    int height, width, n = o->inputs.count, k = o->neighbours;
    if (explain_size(&o->size, &height, &width) != ST_OK || explain_check_outputs(NULL, NULL, o->out) != ST_OK)
        return ST_ERROR;
    if (k >= n)
        return error_set("--neighbours", "%d: there are only %d other input%s", k, n - 1, n == 2 ? "" : "s");
    net_model *m = NULL;
    net_session *s = NULL;
    tensor rows = {0};
    int *idx = NULL;
    double *dist = NULL;
    int layer;
    status st = ST_ERROR;
    if (explain_open_layer(&o->model, o->layer, &m, &layer) != ST_OK)
        return ST_ERROR;
    if (net_session_create(m, &s) != ST_OK)
        goto done;
    for (int i = 0; i < n; i++)
        if ((st = interrupt_signal ? ST_INTERRUPTED : embed_one(o, m, s, layer, height, width, i, &rows)) != ST_OK) {
            if (interrupt_signal)
                error_set("embed", "interrupted");
            goto done;
        }
    st = ST_ERROR;
    if (tensor_write_npy(o->out, &rows) != ST_OK)
        goto done;
    if (k > 0) {
        idx = alloc_array((size_t)n * (size_t)k, sizeof *idx, "neighbours");
        dist = alloc_array((size_t)n * (size_t)k, sizeof *dist, "neighbours");
        if (!idx || !dist || embed_neighbours(rows.data, n, (size_t)rows.shape[1], k, idx, dist) != ST_OK)
            goto done;
        for (int i = 0; i < n; i++) {
            printf("%s:", o->inputs.items[i]);
            for (int j = 0; j < k; j++)
                printf(" %s (%.6g)", o->inputs.items[idx[i * k + j]], dist[i * k + j]);
            printf("\n");
        }
    }
    st = ST_OK;
done:
    free(idx);
    free(dist);
    tensor_free(&rows);
    net_session_free(s);
    net_model_close(m);
    return st;
}

int cmd_embed(int argc, char **argv)
{
    embed_cmd_options o = {0};
    return explain_command(&embed_table, &o, argc, argv, "layer out", NULL, embed);
}
