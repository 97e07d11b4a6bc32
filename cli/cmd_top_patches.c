/* synth top-patches — the image patches that most activate one channel of a
 * layer, over folders of images, cropped to the unit's receptive field. */
#include "cli/explain.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct {
    model_options model;
    char *layer;
    int channel, top, cols;
    number_list size;
    char *output;
    image_output_options image;
    char *raw;
    string_list sources;
} patches_cmd_options;

static const option_spec patches_specs[] = {
    MODEL_OPTION_SPECS(patches_cmd_options, model),
    {"layer", 0, OPT_STRING, offsetof(patches_cmd_options, layer), 0, 0, 0, 0, NULL, "L",
     "the layer (a name or VGG alias; see synth info --model M)"},
    {"channel", 0, OPT_INT, offsetof(patches_cmd_options, channel), 0, 1e9, 0, 0, NULL, "C",
     "the channel (the unit) whose strongest activations are wanted"},
    {"top", 0, OPT_INT, offsetof(patches_cmd_options, top), 1, 10000, 0, 0, NULL, "K",
     "how many patches (default 9)"},
    {"cols", 0, OPT_INT, offsetof(patches_cmd_options, cols), 1, 10000, 0, 0, NULL, "N",
     "patches per row of the grid (default: about square)"},
    EXPLAIN_SIZE_SPEC(patches_cmd_options),
    {"output", 'o', OPT_STRING, offsetof(patches_cmd_options, output), 0, 0, 0, 0, NULL, "GRID.png",
     "the grid image to write"},
    IMAGE_OUTPUT_OPTION_SPECS(patches_cmd_options, image),
    {"raw", 0, OPT_STRING, offsetof(patches_cmd_options, raw), 0, 0, 0, 0, NULL, "V.npy",
     "also write the patches' activations, [K], strongest first"},
};

static const option_table patches_table = {
    "top-patches",
    "synth top-patches --layer L --channel C DIR|IMAGE ... -o GRID.png [--top K] [--model M]",
    "Runs every image (the .png, .jpg and .jpeg files of each DIR, by name, and\n"
    "the IMAGEs given) through the model, finds in each the position where channel\n"
    "C of layer L is strongest, and keeps the K strongest over all images. Each is\n"
    "shown as the crop of the image that unit sees: its receptive field, computed\n"
    "from the graph's conv and pool geometry (parts outside the image gray).\n"
    "Prints one line per patch: rank, activation, file, unit (y, x), crop corner.",
    patches_specs,
    (int)(sizeof patches_specs / sizeof patches_specs[0]),
    offsetof(patches_cmd_options, sources),
    1,
    -1,
};

static int patches_check(const void *opts)
{
    const patches_cmd_options *o = opts;
    return o->channel < 0 ? cli_usage("top-patches", "missing --channel C") : EXIT_OK;
}

static bool is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && name[0] != '.' &&
           (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static status add_file(string_list *files, const char *dir, const char *name)
{
    char **items = realloc(files->items, (size_t)(files->count + 1) * sizeof *items);
    if (!items)
        return error_set(NULL, "out of memory");
    files->items = items;
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (!path)
        return error_set(NULL, "out of memory");
    snprintf(path, n, "%s%s%s", dir, *dir ? "/" : "", name);
    files->items[files->count++] = path;
    return ST_OK;
}

/* The image files of every source, folders expanded (sorted by name). */
static status list_images(const string_list *sources, string_list *files)
{
    for (int i = 0; i < sources->count; i++) {
        const char *src = sources->items[i];
        struct stat sb;
        if (stat(src, &sb) != 0)
            return error_set(src, "%s", strerror(errno));
        if (!S_ISDIR(sb.st_mode)) {
            if (add_file(files, "", src) != ST_OK)
                return ST_ERROR;
            continue;
        }
        DIR *d = opendir(src);
        if (!d)
            return error_set(src, "%s", strerror(errno));
        int first = files->count;
        struct dirent *ent;
        status st = ST_OK;
        while (st == ST_OK && (ent = readdir(d)))
            if (is_image_name(ent->d_name))
                st = add_file(files, src, ent->d_name);
        closedir(d);
        if (st != ST_OK)
            return st;
        if (files->count == first)
            return error_set(src, "holds no .png, .jpg or .jpeg files");
        qsort(files->items + first, (size_t)(files->count - first), sizeof *files->items, by_name);
    }
    return ST_OK;
}

static status write_results(const patches_cmd_options *o, const top_patches *t, const string_list *files)
{
    grid_layout g;
    image grid = {0};
    tensor values = {0};
    int64_t n = t->count;
    status st = ST_ERROR;
    if (grid_layout_init(&g, t->count, t->hits[0].crop.width, t->hits[0].crop.height, o->cols) != ST_OK ||
        grid_image(&g, &grid) != ST_OK || tensor_alloc(&values, 1, &n) != ST_OK)
        goto done;
    for (int i = 0; i < t->count; i++) {
        const patch_hit *h = &t->hits[i];
        grid_put(&g, &grid, i, &h->crop);
        values.data[i] = h->value;
        printf("%d  %.6g  %s  unit %d,%d  crop %d,%d\n", i + 1, h->value, files->items[h->source], h->y, h->x,
               h->top, h->left);
    }
    if (explain_write_image(o->output, &grid, &o->image) != ST_OK || (o->raw && tensor_write_npy(o->raw, &values) != ST_OK))
        goto done;
    st = ST_OK;
done:
    image_free(&grid);
    tensor_free(&values);
    return st;
}

static status top_patches_run(const void *opts)
{
    const patches_cmd_options *o = opts;
    int height, width;
    if (explain_size(&o->size, &height, &width) != ST_OK || explain_check_outputs(o->output, &o->image, o->raw) != ST_OK)
        return ST_ERROR;
    net_model *m = NULL;
    net_session *s = NULL;
    string_list files = {0};
    top_patches t = {0};
    net_receptive_field rf;
    int layer;
    status st = ST_ERROR;
    if (list_images(&o->sources, &files) != ST_OK || explain_open_layer(&o->model, o->layer, &m, &layer) != ST_OK)
        goto done;
    if (net_layer_receptive_field(m, layer, &rf) != ST_OK || top_patches_init(&t, o->top) != ST_OK ||
        net_session_create(m, &s) != ST_OK)
        goto done;
    st = ST_OK;
    for (int i = 0; i < files.count && st == ST_OK; i++) {
        explain_input in;
        if (interrupt_signal) {
            error_set("top-patches", "interrupted");
            st = ST_INTERRUPTED;
            break;
        }
        if ((st = explain_input_load(files.items[i], m, height, width, &in)) != ST_OK)
            break;
        else if (!in.im.data)
            st = error_set(files.items[i], "is not an image (an .npy must be 1x3xHxW to crop patches from)");
        else if (((st = net_forward(s, &in.x, 1, &layer, 1, NULL)) != ST_OK ||
                  (st = top_patches_offer(&t, net_activation(s, layer), o->channel, &rf, &in.im, i)) != ST_OK) &&
                 st == ST_ERROR)
            error_prefix(files.items[i]);
        explain_input_free(&in);
    }
    if (st == ST_OK)
        st = write_results(o, &t, &files);
done:
    for (int i = 0; i < files.count; i++)
        free(files.items[i]);
    free(files.items);
    top_patches_free(&t);
    net_session_free(s);
    net_model_close(m);
    return st;
}

int cmd_top_patches(int argc, char **argv)
{
    patches_cmd_options o = {0};
    o.channel = -1;
    o.top = 9;
    return explain_command(&patches_table, &o, argc, argv, "layer output", patches_check, top_patches_run);
}
