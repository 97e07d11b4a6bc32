/* synth adversarial — FGSM and iterated FGSM adversarial examples (Goodfellow
 * et al. 2015), with the prediction before and after. */
#include "cli/explain.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

typedef struct {
    model_options model;
    char *input;
    char *layer;
    int method;
    double eps, step;
    int steps, target;
    number_list size;
    char *output;
    image_output_options image; /* --png-depth only: the image is a PNG */
    char *raw;
    string_list positional;
} adversarial_cmd_options;

static const option_spec adversarial_specs[] = {
    MODEL_OPTION_SPECS(adversarial_cmd_options, model),
    {"input", 0, OPT_STRING, offsetof(adversarial_cmd_options, input), 0, 0, 0, 0, NULL, "IMAGE|X.npy",
     "the input: an image, or an .npy tensor fed to the network as it is"},
    {"layer", 0, OPT_STRING, offsetof(adversarial_cmd_options, layer), 0, 0, 0, 0, NULL, "L",
     "the layer holding the class scores (default: the model's output; as in classify)"},
    {"method", 0, OPT_CHOICE, offsetof(adversarial_cmd_options, method), 0, 0, 0, 0, "fgsm|ifgsm", NULL,
     "one signed-gradient step, or --steps smaller ones (default fgsm)"},
    {"eps", 0, OPT_NUMBER, offsetof(adversarial_cmd_options, eps), 1e-12, 1e12, 0, 0, NULL, "E",
     "the largest change of any value: image units 0..1 for an image, the tensor's own for .npy"},
    {"steps", 0, OPT_INT, offsetof(adversarial_cmd_options, steps), 1, 100000, 0, 0, NULL, "N",
     "ifgsm: the number of steps (default 10)"},
    {"step", 0, OPT_NUMBER, offsetof(adversarial_cmd_options, step), 1e-12, 1e12, 0, 0, NULL, "S",
     "ifgsm: the size of each step (default E / N)"},
    {"target-class", 0, OPT_INT, offsetof(adversarial_cmd_options, target), 0, 1e9, 0, 0, NULL, "K",
     "move towards class K (up its score); default: away from the predicted class"},
    EXPLAIN_SIZE_SPEC(adversarial_cmd_options),
    {"output", 'o', OPT_STRING, offsetof(adversarial_cmd_options, output), 0, 0, 0, 0, NULL, "OUT",
     "the adversarial input: a PNG for an image, .npy for a tensor (or to keep an image's floats)"},
    PNG_DEPTH_OPTION_SPEC(adversarial_cmd_options, image),
    {"raw", 0, OPT_STRING, offsetof(adversarial_cmd_options, raw), 0, 0, 0, 0, NULL, "X.npy",
     "also write the adversarial network input x' here"},
};

static const option_table adversarial_table = {
    "adversarial",
    "synth adversarial --input IMAGE|X.npy --eps E -o OUT [--method fgsm|ifgsm]\n"
    "                         [--steps N] [--target-class K] [--layer L] [--model M] [options]",
    "Makes an adversarial example by the fast gradient sign method (Goodfellow et\n"
    "al. 2015): x' = x + E * sign(gradient). Targeted (--target-class K): up class\n"
    "K's score S_K. Untargeted: up the loss -log p of the class predicted for x, so\n"
    "its probability falls. ifgsm takes N steps of E / N (or --step), each followed\n"
    "by a projection back into the E-ball around x and the valid range.\n"
    "\n"
    "Units: for an image, E is in image units (0..1: 8/255 = 0.0314 is a classic\n"
    "choice), the image stays within 0..1 and the result is rounded to 8 bits, as\n"
    "the PNG stores it. For an .npy input, E is in the tensor's own units and\n"
    "nothing is clipped; the output is .npy.\n"
    "\n"
    "Prints the prediction before and after (class, probability, name) and the\n"
    "probability of the target (or originally predicted) class before -> after.",
    adversarial_specs,
    (int)(sizeof adversarial_specs / sizeof adversarial_specs[0]),
    offsetof(adversarial_cmd_options, positional),
    0,
    0,
};

static bool ends_with_npy(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcasecmp(path + n - 4, ".npy") == 0;
}

static int adversarial_check(const void *opts)
{
    const adversarial_cmd_options *o = opts;
    return o->eps == 0 ? cli_usage("adversarial", "missing --eps E") : EXIT_OK;
}

static void print_class(const net_model *m, const char *when, const tensor *p, int c)
{
    char name[256];
    printf("%s: class %d%s p=%.6f\n", when, c, explain_class_name(m, c, name, sizeof name), p->data[c]);
}

static status adversarial(const void *opts)
{
    const adversarial_cmd_options *o = opts;
    int height, width;
    bool npy_out = ends_with_npy(o->output);
    if (explain_size(&o->size, &height, &width) != ST_OK ||
        explain_check_outputs(npy_out ? NULL : o->output, &o->image, npy_out ? o->output : o->raw) != ST_OK ||
        (npy_out && o->raw && output_check_writable(o->raw) != ST_OK))
        return ST_ERROR;
    if (!npy_out && image_format_from_extension(o->output) != IMAGE_FORMAT_PNG)
        return error_set(o->output, "write a .png: JPEG's compression would change the perturbation");
    net_model *m = NULL;
    explainer *e = NULL;
    explain_input in = {0};
    adversarial_result r = {0};
    image out = {0};
    status st = ST_ERROR;
    if (explain_open_model(&o->model, true, &m) != ST_OK || explainer_create(m, o->layer, &e) != ST_OK ||
        explain_input_load(o->input, m, height, width, &in) != ST_OK)
        goto done;
    if (in.raw && !npy_out) {
        error_set(o->output, "an .npy input makes an .npy output (name it X.npy)");
        goto done;
    }
    adversarial_options ao = {.method = (adversarial_method)o->method, .eps = o->eps, .steps = o->steps,
                              .step = o->step, .target = o->target,
                              .pre = in.raw ? NULL : net_model_preprocess(m)};
    if ((st = explain_adversarial(e, &in.x, &ao, &r)) != ST_OK)
        goto done;
    st = ST_ERROR;
    if (npy_out ? tensor_write_npy(o->output, &in.x) != ST_OK
                : input_to_image(&in.x, net_model_preprocess(m), &out) != ST_OK ||
                      explain_write_image(o->output, &out, &o->image) != ST_OK)
        goto done;
    if (o->raw && tensor_write_npy(o->raw, &in.x) != ST_OK)
        goto done;
    int after;
    if (explain_top_classes(r.after.data, (int)r.after.shape[1], 1, &after) != ST_OK)
        goto done;
    int watched = o->target >= 0 ? o->target : r.predicted;
    print_class(m, "before", &r.before, r.predicted);
    print_class(m, "after", &r.after, after);
    char name[256];
    printf("%s: class %d%s p=%.6f -> %.6f\n", o->target >= 0 ? "target" : "predicted", watched,
           explain_class_name(m, watched, name, sizeof name), r.before.data[watched], r.after.data[watched]);
    printf("max change: %g (%s units)\n", r.linf, in.raw ? "tensor" : "image");
    st = ST_OK;
done:
    explain_input_free(&in);
    adversarial_result_free(&r);
    image_free(&out);
    explainer_free(e);
    net_model_close(m);
    return st;
}

int cmd_adversarial(int argc, char **argv)
{
    adversarial_cmd_options o = {0};
    o.steps = 10;
    o.target = -1;
    return explain_command(&adversarial_table, &o, argc, argv, "input output", adversarial_check, adversarial);
}
