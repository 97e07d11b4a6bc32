/* synth classify — the top classes of images or .npy inputs, with names and
 * probabilities. */
#include "cli/explain.h"

#include <stddef.h>
#include <stdlib.h>

typedef struct {
    model_options model;
    int top;
    char *layer;
    number_list size;
    char *raw;
    string_list inputs;
} classify_options;

static const option_spec classify_specs[] = {
    MODEL_OPTION_SPECS(classify_options, model),
    {"top", 0, OPT_INT, offsetof(classify_options, top), 1, 100000, 0, 0, NULL, "K",
     "how many classes to list (default 5)"},
    {"layer", 0, OPT_STRING, offsetof(classify_options, layer), 0, 0, 0, 0, NULL, "L",
     "the layer holding the class scores (default: the model's output; see below)"},
    EXPLAIN_SIZE_SPEC(classify_options),
    {"raw", 0, OPT_STRING, offsetof(classify_options, raw), 0, 0, 0, 0, NULL, "P.npy",
     "write every input's probabilities, [inputs, classes], here"},
};

static const option_table classify_table = {
    "classify",
    "synth classify IMAGE|X.npy ... [--top K] [--layer L] [--model M] [options]",
    "Prints the K most probable classes of each input: probability, class index\n"
    "and name. An image is resized to the model's input size (when it fixes one)\n"
    "and preprocessed as the model expects; an .npy tensor is fed as it is.\n"
    "\n"
    "Probabilities are the softmax of the class scores. When the model ends in a\n"
    "Softmax (or a Sigmoid), its input is read as the scores, so nothing is\n"
    "normalized twice; --layer picks another layer (a Softmax or Sigmoid layer is\n"
    "read as probabilities as they are). A single score is a logistic unit: two\n"
    "classes, 1 with p = sigmoid(score) and 0 with 1 - p. The built-in network has\n"
    "no classifier: its 'classes' are its last layer's channels.",
    classify_specs,
    (int)(sizeof classify_specs / sizeof classify_specs[0]),
    offsetof(classify_options, inputs),
    1,
    -1,
};

/* [n, classes]: row i of probs copied into all. */
static status append_row(tensor *all, int n, int i, const tensor *probs)
{
    if (!all->data) {
        int64_t shape[2] = {n, probs->shape[1]};
        if (tensor_alloc(all, 2, shape) != ST_OK)
            return ST_ERROR;
    }
    for (int64_t k = 0; k < probs->shape[1]; k++)
        all->data[(int64_t)i * all->shape[1] + k] = probs->data[k];
    return ST_OK;
}

static status classify(const void *opts)
{
    const classify_options *o = opts;
    int height, width;
    if (explain_size(&o->size, &height, &width) != ST_OK || explain_check_outputs(NULL, NULL, o->raw) != ST_OK)
        return ST_ERROR;
    net_model *m = NULL;
    explainer *e = NULL;
    tensor probs = {0}, all = {0};
    int *top = NULL;
    status st = ST_ERROR;
    if (explain_open_model(&o->model, true, &m) != ST_OK || explainer_create(m, o->layer, &e) != ST_OK)
        goto done;
    for (int i = 0; i < o->inputs.count; i++) {
        const char *path = o->inputs.items[i];
        explain_input in;
        if (explain_input_load(path, m, height, width, &in) != ST_OK)
            goto done;
        tensor_free(&probs);
        st = explainer_predict(e, &in.x, &probs);
        explain_input_free(&in);
        if (st != ST_OK) {
            if (st == ST_ERROR) /* which of the inputs */
                error_prefix(path);
            goto done;
        }
        st = ST_ERROR;
        int classes = (int)probs.shape[1], k = o->top < classes ? o->top : classes;
        if (all.data && all.shape[1] != classes) {
            error_set(path, "gives %d classes, the inputs before it %lld", classes, (long long)all.shape[1]);
            goto done;
        }
        free(top);
        if (!(top = alloc_array((size_t)k, sizeof *top, "classify")) ||
            explain_top_classes(probs.data, classes, k, top) != ST_OK ||
            (o->raw && append_row(&all, o->inputs.count, i, &probs) != ST_OK))
            goto done;
        if (o->inputs.count > 1)
            printf("%s\n", path);
        for (int j = 0; j < k; j++) {
            char name[256];
            printf("%.6f  %d%s\n", probs.data[top[j]], top[j], explain_class_name(m, top[j], name, sizeof name));
        }
    }
    st = o->raw ? tensor_write_npy(o->raw, &all) : ST_OK;
done:
    free(top);
    tensor_free(&probs);
    tensor_free(&all);
    explainer_free(e);
    net_model_close(m);
    return st;
}

int cmd_classify(int argc, char **argv)
{
    classify_options o = {0};
    o.top = 5;
    return explain_command(&classify_table, &o, argc, argv, NULL, NULL, classify);
}
