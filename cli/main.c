/* synth — entry point: finds the subcommand and runs it. */
#include "cli/cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One entry per subcommand, in the order `synth --help` lists them. Each run
 * function lives in cli/cmd_<name>.c. */
static const cli_command commands[] = {
    {"model", "list, download and export models (ONNX; pretrained ImageNet classifiers)", cmd_model},
    {"info", "describe an image (format, size, metadata) or a model's layers", cmd_info},
    {"probe", "run a model on .npy inputs: a layer's activation and input gradient", cmd_probe},
    {"classify", "the top classes of images, with names and probabilities", cmd_classify},
    {"saliency", "where a class comes from: gradient, guided, Grad-CAM, occlusion heat maps", cmd_saliency},
    {"adversarial", "adversarial examples by FGSM and iterated FGSM", cmd_adversarial},
    {"filters", "a conv layer's filters as a grid", cmd_filters},
    {"activations", "a layer's feature maps for one input, as a grid", cmd_activations},
    {"embed", "feature rows of images at a layer, with nearest neighbours", cmd_embed},
    {"top-patches", "the image patches that most activate one channel", cmd_top_patches},
    {"style", "style transfer: the content of one image in the style of others (Gatys)", cmd_style},
    {"dream", "DeepDream: amplify what a layer sees in an image, over octaves", cmd_dream},
    {"classvis", "class visualization: an image that maximises a class score", cmd_classvis},
    {"neuron", "neuron visualization: an image that maximises one unit or channel", cmd_neuron},
    {"invert", "feature inversion: an image from a layer's features of another", cmd_invert},
    {"texture", "texture synthesis from style images, any size, optionally tileable", cmd_texture},
    {"presets", "list the presets (--preset NAME) and show one", cmd_presets},
    {"animate", "DeepDream zoom animation: numbered frames, resumable, optionally encoded", cmd_animate},
    {"poster", "a grid of class visualizations with captions", cmd_poster},
    {"rerun", "render an image again from the command stored in its metadata", cmd_rerun},
    {0},
};

const cli_command *cli_command_find(const char *name)
{
    for (const cli_command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void print_help(FILE *out)
{
    fprintf(out,
            "synth %s — image synthesis by optimizing the input pixels of a CNN\n\n"
            "Usage: synth COMMAND [options]\n"
            "       synth COMMAND --help\n"
            "       synth --version\n\nCommands:\n",
            SYNTH_VERSION);
    for (const cli_command *c = commands; c->name; c++)
        fprintf(out, "  %-14s %s\n", c->name, c->summary);
    fprintf(out, "\nWithout --model, commands use the built-in VGG-19-shaped network (random "
                 "features, no download needed).\n"
                 "\nEnvironment:\n"
                 "  SYNTH_MAX_PIXELS=N    refuse images of more than N pixels (width x height; "
                 "default 268435456 = 2^28)\n");
}

/* SYNTH_MAX_PIXELS, for every command: a whole number in [1, 2^64 - 1]
 * (digits only: no sign, no spaces). Unset or empty: the default limit.
 * On a bad value prints the one-line error and returns false. */
static bool apply_max_pixels(void)
{
    const char *v = getenv("SYNTH_MAX_PIXELS");
    if (!v || !*v)
        return true;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno == ERANGE || n == 0) {
        fprintf(stderr, "synth: SYNTH_MAX_PIXELS: '%s' is not an integer in [1, %llu]\n", v,
                (unsigned long long)UINT64_MAX);
        return false;
    }
    image_set_pixel_limit((uint64_t)n);
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_help(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("synth %s\n", SYNTH_VERSION);
        return EXIT_OK;
    }
    const cli_command *c = cli_command_find(name);
    if (c && !apply_max_pixels())
        return EXIT_USAGE;
    if (c) {
        cli_install_signal_handlers();
        return c->run(argc - 1, argv + 1);
    }
    return cli_usage(NULL, "unknown command '%s'", name);
}
