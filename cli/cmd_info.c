/* synth info — describe a file or a model. For an image: format, size,
 * channels, bit depth, colour type, and the text metadata stored in it, one
 * "key: value" per line on stdout. For a model (--model): its input, its
 * parameter count, and one line per layer with index, name, VGG alias, op
 * and output shape at the given input size. */
#include "cli/cli.h"
#include "synth/synth.h"

#include <stddef.h>
#include <string.h>

typedef struct {
    bool headers_only;
    char *model;
    number_list size;
    string_list files; /* positional: FILE */
} info_options;

static const option_spec info_specs[] = {
    {"headers", 0, OPT_FLAG, offsetof(info_options, headers_only), 0, 0, 0, 0, NULL, NULL,
     "read only the headers and metadata (fast; damaged pixel data goes unnoticed)"},
    {"model", 0, OPT_STRING, offsetof(info_options, model), 0, 0, 0, 0, NULL, "M",
     "describe model M instead of a file: 'default' (built-in), a .onnx path or a cached name"},
    {"size", 0, OPT_NUMBERS, offsetof(info_options, size), 1, 65536, 1, 2, NULL, "H,W",
     "with --model: the input height and width for the shapes (one number: square; "
     "default: the model's declared size)"},
};

static const option_table info_table = {
    "info",
    "synth info FILE [options]\n       synth info --model M [--size H,W]",
    "Describes an image file (PNG or JPEG, recognized by its content, not its name):\n"
    "format, width, height, channels, bit depth, colour type, interlacing, then the\n"
    "text metadata stored in it (PNG tEXt/iTXt/zTXt chunks, JPEG comments), one\n"
    "'key: value' per line. The whole file is decoded to check it: a truncated or\n"
    "damaged image is an error (exit 1).\n"
    "\n"
    "Readable: PNG 1-16 bit gray, gray+alpha, palette (with transparency), RGB,\n"
    "RGBA, interlaced; JPEG baseline, progressive, gray, RGB/YCbCr, CMYK, YCCK.\n"
    "Images above 2^28 pixels are refused.\n"
    "\n"
    "synth info --model M [--size H,W] describes a network instead: its input\n"
    "name and shape, its parameter count, then one line per layer: index, name,\n"
    "VGG alias (conv{b}_{i}, relu{b}_{i}, pool{b}; '-' when none), op, and the\n"
    "output shape for an H x W input (a layer the input is too small for says so;\n"
    "one whose shape fails otherwise gives the reason in parentheses).\n"
    "Any of the layer's name or alias works wherever a command takes a layer, and\n"
    "on a PyTorch export so does a module's name (inception4c, features.22): the\n"
    "module's output, the last node of its scope.",
    info_specs,
    (int)(sizeof info_specs / sizeof info_specs[0]),
    offsetof(info_options, files),
    0, /* FILE is checked below, so other kinds of target can join later */
    1,
};

/* Prints s with control characters escaped, so a file's text cannot move the
 * cursor or span lines. */
static void print_escaped(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c == '\\')
            fputs("\\\\", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static void print_image_info(const image_info *info)
{
    printf("format: %s\n", image_format_name(info->format));
    printf("width: %d\n", info->width);
    printf("height: %d\n", info->height);
    printf("channels: %d\n", info->channels);
    printf("bit depth: %d\n", info->bit_depth);
    printf("color: %s\n", info->color);
    printf("%s: %s\n", info->format == IMAGE_FORMAT_JPEG ? "progressive" : "interlaced",
           info->interlaced ? "yes" : "no");
    for (int i = 0; i < info->text_count; i++) {
        print_escaped(info->text[i].key);
        fputs(": ", stdout);
        print_escaped(info->text[i].value);
        putchar('\n');
    }
}

static int info_image(const char *path, bool headers_only)
{
    image_info info;
    status s = headers_only ? image_probe(path, &info) : image_verify(path, &info);
    if (s != ST_OK)
        return cli_fail(s);
    print_image_info(&info);
    image_info_free(&info);
    if (fflush(stdout) != 0)
        return cli_fail(error_set("stdout", "write failed"));
    return EXIT_OK;
}

/* The --size value as height and width (one number: square; none: 0, 0). */
static status size_of(const number_list *l, int64_t *h, int64_t *w)
{
    *h = *w = 0;
    if (l->count == 0)
        return ST_OK;
    for (int i = 0; i < l->count; i++)
        if (l->values[i] != (double)(int64_t)l->values[i])
            return error_set("--size", "'%g' is not a whole number of pixels", l->values[i]);
    *h = (int64_t)l->values[0];
    *w = (int64_t)l->values[l->count - 1];
    return ST_OK;
}

static int info_model(const char *spec, const number_list *size)
{
    int64_t h, w;
    if (size_of(size, &h, &w) != ST_OK) {
        fprintf(stderr, "synth: %s\n", error_message());
        return EXIT_USAGE;
    }
    net_model *m;
    if (net_model_open(spec, &m) != ST_OK)
        return cli_fail(ST_ERROR);
    char buf[128];
    printf("model: %s%s\n", net_model_name(m),
           net_model_is_builtin(m) ? " (built-in VGG-19-shaped network, seeded random weights)"
                                   : "");
    for (int i = 0; i < net_model_input_count(m); i++) {
        int ndim;
        int64_t shape[TENSOR_MAX_DIMS];
        net_model_input_shape(m, i, &ndim, shape);
        if (i == 0 && ndim >= 3 && h > 0) {
            shape[0] = 1;
            shape[ndim - 2] = h;
            shape[ndim - 1] = w;
        }
        for (int d = 0; d < ndim; d++)
            if (shape[d] < 0)
                shape[d] = 0; /* printed as 0: a free dimension */
        printf("input: %s %s\n", net_model_input_name(m, i),
               shape_format(ndim, shape, buf, sizeof buf));
    }
    printf("parameters: %lld\n", (long long)net_model_param_count(m));
    printf("layers: %d\n", net_layer_count(m));
    int name_width = 4, alias_width = 5;
    for (int l = 0; l < net_layer_count(m); l++) {
        int n = (int)strlen(net_layer_name(m, l));
        name_width = n > name_width ? n : name_width;
        const char *a = net_layer_alias(m, l);
        alias_width = a && (int)strlen(a) > alias_width ? (int)strlen(a) : alias_width;
    }
    printf("%5s  %-*s  %-*s  %-18s  %s\n", "#", name_width, "name", alias_width, "alias", "op",
           "output");
    for (int l = 0; l < net_layer_count(m); l++) {
        int ndim;
        int64_t shape[TENSOR_MAX_DIMS];
        const char *alias = net_layer_alias(m, l);
        char why[512];
        const char *out = why;
        if (net_layer_shape(m, l, h, w, &ndim, shape) == ST_OK)
            out = shape_format(ndim, shape, buf, sizeof buf);
        else if (strstr(error_message(), " is too small for "))
            out = "(the input is too small)";
        else
            snprintf(why, sizeof why, "(%s)", error_message());
        printf("%5d  %-*s  %-*s  %-18s  %s\n", l, name_width, net_layer_name(m, l), alias_width,
               alias ? alias : "-", net_layer_op(m, l), out);
    }
    net_model_close(m);
    if (fflush(stdout) != 0)
        return cli_fail(error_set("stdout", "write failed"));
    return EXIT_OK;
}

int cmd_info(int argc, char **argv)
{
    info_options o = {0};
    option_state st;
    if (option_state_init(&st, &info_table, &o) != ST_OK)
        return cli_fail(ST_ERROR);
    int rc = cli_parse(&st, argc, argv);
    if (rc == EXIT_OK) {
        if (o.model && o.files.count > 0)
            rc = cli_usage("info", "give either FILE or --model, not both");
        else if (o.model)
            rc = info_model(o.model, &o.size);
        else if (o.size.count > 0)
            rc = cli_usage("info", "--size goes with --model");
        else if (o.files.count == 0)
            rc = cli_usage("info", "missing FILE (or --model M)");
        else
            rc = info_image(o.files.items[0], o.headers_only);
    } else if (rc == CLI_HELP_PRINTED) {
        rc = EXIT_OK;
    }
    options_free(&info_table, &o);
    return rc;
}
