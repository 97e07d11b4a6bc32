/* synth saliency — where in the input a class comes from: gradient, guided
 * backprop, deconvnet, Grad-CAM, guided Grad-CAM or occlusion, drawn as a
 * heat map over the image. */
#include "cli/explain.h"

#include <stddef.h>
#include <time.h>

typedef struct {
    model_options model;
    int method;
    int cls;
    char *layer;
    char *scores;
    int patch, stride, fill, batch;
    double alpha;
    number_list size;
    char *output;
    image_output_options image;
    char *raw;
    string_list inputs;
} saliency_cmd_options;

static const option_spec saliency_specs[] = {
    MODEL_OPTION_SPECS(saliency_cmd_options, model),
    {"method", 0, OPT_CHOICE, offsetof(saliency_cmd_options, method), 0, 0, 0, 0,
     "gradient|guided|deconvnet|gradcam|guided-gradcam|occlusion", NULL,
     "the saliency method (default gradient)"},
    {"class", 0, OPT_INT, offsetof(saliency_cmd_options, cls), 0, 1e9, 0, 0, NULL, "K",
     "the class to explain (default: the predicted one)"},
    {"layer", 0, OPT_STRING, offsetof(saliency_cmd_options, layer), 0, 0, 0, 0, NULL, "L",
     "Grad-CAM's layer (default: the last conv's maps, after its ReLU or residual Add)"},
    {"scores", 0, OPT_STRING, offsetof(saliency_cmd_options, scores), 0, 0, 0, 0, NULL, "L",
     "the layer holding the class scores (default: the model's output; as in classify)"},
    {"patch", 0, OPT_INT, offsetof(saliency_cmd_options, patch), 1, 65536, 0, 0, NULL, "P",
     "occlusion: the square's side in pixels (default: 1/8 of the shorter side)"},
    {"stride", 0, OPT_INT, offsetof(saliency_cmd_options, stride), 1, 65536, 0, 0, NULL, "S",
     "occlusion: its step in pixels (default: half the patch)"},
    {"fill", 0, OPT_CHOICE, offsetof(saliency_cmd_options, fill), 0, 0, 0, 0, "mean|zero", NULL,
     "occlusion: the square's value, the input's channel means or 0 (network units)"},
    {"batch", 0, OPT_INT, offsetof(saliency_cmd_options, batch), 1, 4096, 0, 0, NULL, "N",
     "occlusion: occluded copies per network run (default: up to 32, by memory)"},
    {"alpha", 0, OPT_NUMBER, offsetof(saliency_cmd_options, alpha), 0, 1, 0, 0, NULL, "A",
     "opacity of the heat map over the image (default 0.6; 1: the heat map alone)"},
    EXPLAIN_SIZE_SPEC(saliency_cmd_options),
    {"output", 'o', OPT_STRING, offsetof(saliency_cmd_options, output), 0, 0, 0, 0, NULL, "HEAT.png",
     "the heat map image to write"},
    IMAGE_OUTPUT_OPTION_SPECS(saliency_cmd_options, image),
    {"raw", 0, OPT_STRING, offsetof(saliency_cmd_options, raw), 0, 0, 0, 0, NULL, "MAP.npy",
     "also write the map's numbers, [H, W] (see above)"},
};

static const option_table saliency_table = {
    "saliency",
    "synth saliency IMAGE|X.npy -o HEAT.png [--method M] [--class K] [--model M] [options]",
    "Draws where the evidence for class K lies in the input, as a heat map over the\n"
    "image (synth's 'ember' colormap: dark violet = nothing, pale yellow = most).\n"
    "The class score S_K is the pre-softmax score (see synth classify --help).\n"
    "  gradient        max over channels of |dS_K/dx| (Simonyan et al. 2014)\n"
    "  guided          the same through guided backprop (Springenberg et al. 2015)\n"
    "  deconvnet       the same through the deconvnet rule (Zeiler & Fergus 2014)\n"
    "  gradcam         Grad-CAM (Selvaraju et al. 2017) at --layer: the layer's maps\n"
    "                  weighted by their mean gradient, rectified, and interpolated\n"
    "                  to the input between the units' receptive-field centres\n"
    "  guided-gradcam  guided x gradcam, pixel by pixel\n"
    "  occlusion       Zeiler & Fergus 2014: a --patch square of --fill slides by\n"
    "                  --stride; the map holds the probability of class K with the\n"
    "                  square over each pixel (the copies run --batch at a time);\n"
    "                  the heat map shows how far it drops\n"
    "Gradients are taken with respect to the network input. --raw writes the map\n"
    "itself: the gradient maxima, the Grad-CAM values, or the probabilities.",
    saliency_specs,
    (int)(sizeof saliency_specs / sizeof saliency_specs[0]),
    offsetof(saliency_cmd_options, inputs),
    1,
    1,
};

static int saliency_check(const void *opts)
{
    const saliency_cmd_options *o = opts;
    if (o->layer && o->method != SALIENCY_GRADCAM && o->method != SALIENCY_GUIDED_GRADCAM)
        return cli_usage("saliency", "--layer is Grad-CAM's layer; give --method gradcam or guided-gradcam");
    return EXIT_OK;
}

static const char *method_name(int method)
{
    static const char *const names[] = {"gradient", "guided", "deconvnet", "gradcam", "guided-gradcam", "occlusion"};
    return names[method];
}

static status saliency(const void *opts)
{
    const saliency_cmd_options *o = opts;
    int height, width;
    if (explain_size(&o->size, &height, &width) != ST_OK || explain_check_outputs(o->output, &o->image, o->raw) != ST_OK)
        return ST_ERROR;
    net_model *m = NULL;
    explainer *e = NULL;
    explain_input in = {0};
    saliency_result r = {0};
    tensor heat = {0};
    image out = {0};
    status st = ST_ERROR;
    if (explain_open_model(&o->model, true, &m) != ST_OK || explainer_create(m, o->scores, &e) != ST_OK ||
        explain_input_load(o->inputs.items[0], m, height, width, &in) != ST_OK)
        goto done;
    saliency_options so = {.method = (saliency_method)o->method, .target = o->cls, .layer = -1,
                           .patch = o->patch, .stride = o->stride, .fill = (occlusion_fill)o->fill,
                           .batch = o->batch};
    if (o->layer && net_layer_find(m, o->layer, &so.layer) != ST_OK) {
        error_prefix("--layer");
        goto done;
    }
    if (in.x.ndim == 4 && so.patch == 0) {
        int64_t side = in.x.shape[2] < in.x.shape[3] ? in.x.shape[2] : in.x.shape[3];
        so.patch = side / 8 > 1 ? (int)(side / 8) : 1;
    }
    if (so.stride == 0)
        so.stride = so.patch / 2 > 1 ? so.patch / 2 : 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((st = explain_saliency(e, &in.x, &so, &r)) != ST_OK)
        goto done;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    st = ST_ERROR;
    if (saliency_importance(&r, so.method, &heat) != ST_OK || heat_overlay(&heat, &in.im, o->alpha, &out) != ST_OK ||
        explain_write_image(o->output, &out, &o->image) != ST_OK || (o->raw && tensor_write_npy(o->raw, &r.map) != ST_OK))
        goto done;
    char name[256];
    printf("%s: class %d%s p=%.6f\n", method_name(o->method), r.target,
           explain_class_name(m, r.target, name, sizeof name), r.prob);
    if (so.method == SALIENCY_OCCLUSION)
        printf("occlusion: patch %d, stride %d, %d network runs of up to %d copies, %.3f s\n", so.patch,
               so.stride, r.forwards - 1, r.batch,
               (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    st = ST_OK;
done:
    explain_input_free(&in);
    saliency_result_free(&r);
    tensor_free(&heat);
    image_free(&out);
    explainer_free(e);
    net_model_close(m);
    return st;
}

int cmd_saliency(int argc, char **argv)
{
    saliency_cmd_options o = {0};
    o.cls = -1;
    o.alpha = 0.6;
    return explain_command(&saliency_table, &o, argc, argv, "output", saliency_check, saliency);
}
