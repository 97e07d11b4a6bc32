/* synth probe — the engine's exact contract, for checking it against any other
 * framework: feed .npy inputs as given (no preprocessing), write the
 * activation at one layer and the gradient of J with respect to the first
 * input, J = ½·Σ act² (or, with --channel C, J = Σ act[:, C, …]). */
#include "cli/cli.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *model;
    string_list inputs;
    char *layer;
    int channel;
    char *out_act;
    char *out_grad;
    int relu_backward;
    string_list positional;
} probe_options;

static const option_spec probe_specs[] = {
    {"model", 0, OPT_STRING, offsetof(probe_options, model), 0, 0, 0, 0, NULL, "M",
     "the model: 'default' (built-in), a .onnx path or a cached name (default: default)"},
    {"input", 0, OPT_STRINGS, offsetof(probe_options, inputs), 0, 0, 0, 64, NULL, "[NAME=]X.npy",
     "an input tensor (float32 .npy, fed as is); NAME= picks the model input, else in order"},
    {"layer", 0, OPT_STRING, offsetof(probe_options, layer), 0, 0, 0, 0, NULL, "L",
     "the layer to probe: a name or a VGG alias (see synth info --model M)"},
    {"channel", 0, OPT_INT, offsetof(probe_options, channel), 0, 1e9, 0, 0, NULL, "C",
     "J = sum of channel C of the activation (default: J = 1/2 sum of its squares)"},
    {"out-act", 0, OPT_STRING, offsetof(probe_options, out_act), 0, 0, 0, 0, NULL, "A.npy",
     "write the activation at the layer here"},
    {"out-grad", 0, OPT_STRING, offsetof(probe_options, out_grad), 0, 0, 0, 0, NULL, "G.npy",
     "write dJ/d(first input) here"},
    {"relu-backward", 0, OPT_CHOICE, offsetof(probe_options, relu_backward), 0, 0, 0, 0,
     "standard|deconvnet|guided", NULL,
     "how gradients pass ReLUs: standard, deconvnet (positive part), guided (both)"},
};

static const option_table probe_table = {
    "probe",
    "synth probe --model M --input [NAME=]X.npy ... --layer L [--channel C]\n"
    "                   [--out-act A.npy] [--out-grad G.npy] [--relu-backward MODE]",
    "Runs the model on the given inputs exactly as they are (no preprocessing),\n"
    "writes the activation at layer L, and the gradient with respect to the first\n"
    "input of J = 1/2 sum(act^2), or with --channel C of J = sum(act[:, C, ...]).\n"
    "Files are NumPy .npy, float32 ('<f4'), C order; outputs are .npy format 1.0.\n"
    "At least one of --out-act and --out-grad is required. Use it to compare the\n"
    "engine with another framework on the same network and input. NAME=X.npy names\n"
    "the model input it feeds (an existing file whose name has '=' is a file).\n"
    "On success one line on stderr gives the engine's peak bytes (activations,\n"
    "gradients and scratch; weights not counted): 'net_peak_bytes: N'.",
    probe_specs,
    (int)(sizeof probe_specs / sizeof probe_specs[0]),
    offsetof(probe_options, positional),
    0,
    0,
};

/* Reads the --input files into inputs[] in the model's input order. */
static status read_inputs(const net_model *m, const string_list *args, tensor *inputs)
{
    int n = net_model_input_count(m), next = 0;
    for (int i = 0; i < args->count; i++) {
        const char *arg = args->items[i], *eq = strchr(arg, '='), *path = arg;
        int slot = -1;
        for (int k = 0; eq && k < n; k++) {
            const char *name = net_model_input_name(m, k);
            if (strlen(name) == (size_t)(eq - arg) && strncmp(arg, name, (size_t)(eq - arg)) == 0) {
                slot = k;
                path = eq + 1;
            }
        }
        /* NAME=X.npy naming no input: a path with '=' in it when that file
         * exists, else a mistyped name. */
        if (slot < 0 && eq && access(arg, F_OK) != 0) {
            char names[512] = "";
            for (int k = 0; k < n; k++) {
                size_t used = strlen(names);
                snprintf(names + used, sizeof names - used, "%s%s", k ? ", " : "", net_model_input_name(m, k));
            }
            return error_set("--input", "model has no input '%.*s' (inputs: %s), and there is no file '%s'",
                             (int)(eq - arg), arg, names, arg);
        }
        if (slot < 0) { /* unnamed: the next input not given yet */
            while (next < n && inputs[next].data)
                next++;
            if (next >= n)
                return error_set("--input", "the model takes %d input%s; '%s' is one too many", n,
                                 n == 1 ? "" : "s", arg);
            slot = next;
        }
        if (inputs[slot].data)
            return error_set("--input", "input '%s' given twice", net_model_input_name(m, slot));
        if (tensor_read_npy(path, &inputs[slot]) != ST_OK)
            return error_prefix("--input");
    }
    for (int k = 0; k < n; k++)
        if (!inputs[k].data)
            return error_set("--input", "missing the model's input '%s'",
                             net_model_input_name(m, k));
    return ST_OK;
}

/* d J / d act: act itself for J = ½ Σ act², or ones on channel C. */
static status make_seed(const tensor *act, int channel, tensor *seed)
{
    if (tensor_alloc(seed, act->ndim, act->shape) != ST_OK)
        return ST_ERROR;
    if (channel < 0) {
        memcpy(seed->data, act->data, tensor_numel(act) * sizeof(float));
        return ST_OK;
    }
    if (act->ndim < 2 || channel >= act->shape[1]) {
        char buf[128];
        return error_set("--channel", "%d is out of range: the layer's output is %s", channel,
                         shape_format(act->ndim, act->shape, buf, sizeof buf));
    }
    size_t inner = 1;
    for (int d = 2; d < act->ndim; d++)
        inner *= (size_t)act->shape[d];
    for (int64_t n = 0; n < act->shape[0]; n++)
        for (size_t i = 0; i < inner; i++)
            seed->data[((size_t)n * (size_t)act->shape[1] + (size_t)channel) * inner + i] = 1.0f;
    return ST_OK;
}

static status probe(const probe_options *o)
{
    net_model *m = NULL;
    net_session *s = NULL;
    tensor *inputs = NULL, seed = {0}, grad = {0};
    status st = ST_ERROR;
    if ((o->out_act && output_check_writable(o->out_act) != ST_OK) ||
        (o->out_grad && output_check_writable(o->out_grad) != ST_OK))
        return ST_ERROR;
    if (net_model_open(o->model ? o->model : "default", &m) != ST_OK)
        return ST_ERROR;
    int layer, n = net_model_input_count(m);
    if (net_layer_find(m, o->layer, &layer) != ST_OK) {
        error_prefix("--layer");
        goto done;
    }
    inputs = alloc_array((size_t)n, sizeof *inputs, "probe");
    if (!inputs || read_inputs(m, &o->inputs, inputs) != ST_OK)
        goto done;
    if (net_session_create(m, &s) != ST_OK)
        goto done;
    net_forward_opts fo = {.for_backward = o->out_grad != NULL};
    if ((st = net_forward(s, inputs, n, &layer, 1, &fo)) != ST_OK)
        goto done;
    st = ST_ERROR;
    const tensor *act = net_activation(s, layer);
    if (o->out_grad) {
        net_backward_opts bo = {.relu = (net_relu_backward)o->relu_backward};
        if (make_seed(act, o->channel, &seed) != ST_OK ||
            tensor_alloc(&grad, inputs[0].ndim, inputs[0].shape) != ST_OK ||
            (st = net_backward(s, &layer, &seed, 1, &bo, &grad)) != ST_OK)
            goto done;
        st = ST_ERROR;
    } else if (o->channel >= 0) {
        error_set("--channel", "only shapes the gradient: give --out-grad too");
        goto done;
    }
    if ((o->out_act && tensor_write_npy(o->out_act, act) != ST_OK) ||
        (o->out_grad && tensor_write_npy(o->out_grad, &grad) != ST_OK))
        goto done;
    fprintf(stderr, "net_peak_bytes: %zu\n", net_peak_bytes());
    st = ST_OK;
done:
    for (int i = 0; inputs && i < n; i++)
        tensor_free(&inputs[i]);
    free(inputs);
    tensor_free(&seed);
    tensor_free(&grad);
    net_session_free(s);
    net_model_close(m);
    return st;
}

int cmd_probe(int argc, char **argv)
{
    probe_options o = {0};
    o.channel = -1;
    option_state st;
    if (option_state_init(&st, &probe_table, &o) != ST_OK)
        return cli_fail(ST_ERROR);
    int rc = cli_parse(&st, argc, argv);
    if (rc == CLI_HELP_PRINTED) {
        rc = EXIT_OK;
    } else if (rc == EXIT_OK) {
        if (o.inputs.count == 0)
            rc = cli_usage("probe", "missing --input");
        else if (!o.layer)
            rc = cli_usage("probe", "missing --layer");
        else if (!o.out_act && !o.out_grad)
            rc = cli_usage("probe", "nothing to write: give --out-act and/or --out-grad");
        else {
            status s = probe(&o);
            rc = s == ST_OK ? EXIT_OK : cli_fail(s);
        }
    }
    options_free(&probe_table, &o);
    return rc;
}
