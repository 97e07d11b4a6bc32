/* registry.c — the pretrained models synth knows how to download: the ONNX
 * model zoo's ImageNet classifiers (facts from the zoo's Git LFS pointers:
 * repository path, a commit holding that version, SHA-256 and size), with the
 * preprocessing each expects, plus class-label files and the preprocessing
 * overrides (--mean, --std, --scale, --bgr).
 *
 * Preprocessing: torchvision-style exports take RGB in 0..1 normalized by
 * ImageNet's mean and std; Caffe conversions (BVLC GoogLeNet, AlexNet) take
 * BGR in 0..255 with the BGR channel means subtracted and no scaling.
 */
#include "net/graph.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ZOO_BASE_URL "https://media.githubusercontent.com/media/onnx/models/"

/* ImageNet's RGB statistics (0..1 scale), as torchvision normalizes. */
#define TORCHVISION_PRE {1.0f, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}, false}
/* Caffe's BVLC mean pixel in B, G, R order, on the 0..255 scale. */
#define CAFFE_PRE {255.0f, {104.0f, 117.0f, 123.0f}, {1.0f, 1.0f, 1.0f}, true}

typedef struct {
    model_entry entry;
    const char *commit; /* the zoo commit that holds `path` */
    const char *path;   /* repository path of the LFS object */
} registry_row;

static const registry_row rows[] = {
    {{"vgg19", "style transfer (Gatys layers)", NULL,
      "692f9f927f1df1b89033787a77a73eac59fd9b3344f9ecdf0b13221e41c2046f", 574677321, TORCHVISION_PRE,
      "RGB 0-1, ImageNet mean/std", true},
     "451adb6f0feedc8dcabb1ae68588d43790726214", "archive/vision/classification/vgg/model/vgg19-7.onnx"},
    {{"vgg16", "style transfer, class visualization", NULL,
      "722c42f53ca03a5480296bf8f9c85a151de3eed9ec982d7d2302ff6e2900c67b", 553437752, TORCHVISION_PRE,
      "RGB 0-1, ImageNet mean/std", true},
     "69d69010b7ed6ba9438c392943d2715026792d40", "archive/vision/classification/vgg/model/vgg16-12.onnx"},
    {{"googlenet", "DeepDream (BVLC GoogLeNet, Caffe-converted, has LRN)", NULL,
      "c99c507058eaf41de8723408fdda7db8325cb57f0a89f2ee07a716d6e963e14e", 28021836, CAFFE_PRE,
      "BGR 0-255, Caffe mean pixel", true},
     "69d69010b7ed6ba9438c392943d2715026792d40",
     "archive/vision/classification/inception_and_googlenet/googlenet/model/googlenet-12.onnx"},
    {{"googlenet-7", "DeepDream (same network, opset 7)", NULL,
      "5725ccfd90845735ce5897faf7843c3f9b13acda3c4f3bff82cb21c9337c9de8", 28020232, CAFFE_PRE,
      "BGR 0-255, Caffe mean pixel", true},
     "4c46cd00fbdb7cd30b6c1c17ab54f2e1f4f7b177",
     "validated/vision/classification/inception_and_googlenet/googlenet/model/googlenet-7.onnx"},
    {{"squeezenet", "small classifier for quick class visualization", NULL,
      "dec81a8684617770b3cf13fadc1d92565d1d453d23935fc6388b792d99c992bd", 4952956, TORCHVISION_PRE,
      "RGB 0-1, ImageNet mean/std (as the zoo documents it)", true},
     "451adb6f0feedc8dcabb1ae68588d43790726214",
     "archive/vision/classification/squeezenet/model/squeezenet1.0-12.onnx"},
    {{"alexnet", "filter visualization (BVLC AlexNet, has LRN)", NULL,
      "d9c9134b90c760d4231e89ad9758bcc8a9397c3ba1cd56fadbef888b534ac6b4", 243863542, CAFFE_PRE,
      "BGR 0-255, Caffe mean pixel", true},
     "b5807b4e8cef0211509aa0070953314c557cb8b8",
     "archive/vision/classification/alexnet/model/bvlcalexnet-7.onnx"},
    {{"resnet50", "modern classifier for class visualization and saliency", NULL,
      "79102261eb6e5fd7af5d27f41316293e388c5cb691e5d25bfb035c4f64fefe31", 102442452, TORCHVISION_PRE,
      "RGB 0-1, ImageNet mean/std", true},
     "451adb6f0feedc8dcabb1ae68588d43790726214",
     "archive/vision/classification/resnet/model/resnet50-v2-7.onnx"},
};
enum { ROW_COUNT = sizeof rows / sizeof *rows };

int model_registry_count(void) { return ROW_COUNT; }

const model_entry *model_registry_get(int index)
{
    return index >= 0 && index < ROW_COUNT ? &rows[index].entry : NULL;
}

const model_entry *model_registry_find(const char *name)
{
    for (int i = 0; i < ROW_COUNT; i++)
        if (strcmp(rows[i].entry.name, name) == 0)
            return &rows[i].entry;
    return NULL;
}

status model_registry_url(const model_entry *e, char *buf, size_t size)
{
    const registry_row *row = (const registry_row *)e; /* entry is the row's first member */
    if (row < rows || row >= rows + ROW_COUNT)
        return error_set(e->name, "not a registry entry");
    if (e->url)
        return snprintf(buf, size, "%s", e->url) < (int)size ? ST_OK : error_set(e->name, "URL too long");
    const char *base = getenv("SYNTH_MODEL_BASE_URL");
    if (!base || !*base)
        base = ZOO_BASE_URL;
    size_t n = strlen(base);
    const char *sep = n && base[n - 1] == '/' ? "" : "/";
    int w = snprintf(buf, size, "%s%s%s/%s", base, sep, row->commit, row->path);
    if (w < 0 || (size_t)w >= size)
        return error_set(e->name, "URL too long");
    return ST_OK;
}

/* ===== labels ============================================================== */

void labels_free(char **labels, int count)
{
    for (int i = 0; labels && i < count; i++)
        free(labels[i]);
    free(labels);
}

status labels_read(const char *path, char ***labels, int *count)
{
    *labels = NULL;
    *count = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return error_set(path, "cannot open: %s", strerror(errno));
    enum { MAX_LABELS = 1 << 20, MAX_LINE = 4096 };
    char line[MAX_LINE + 2];
    char **list = NULL;
    int n = 0, cap = 0, lineno = 0;
    status s = ST_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len && line[len - 1] != '\n' && !feof(f)) {
            s = error_set(path, "line %d is longer than %d characters", lineno, MAX_LINE);
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (n == MAX_LABELS) {
            s = error_set(path, "more than %d labels", MAX_LABELS);
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **grown = realloc(list, (size_t)cap * sizeof *grown);
            if (!grown) {
                s = error_set(path, "out of memory");
                break;
            }
            list = grown;
        }
        if (!(list[n] = string_dup(line))) {
            s = error_prefix(path);
            break;
        }
        n++;
    }
    if (s == ST_OK && ferror(f))
        s = error_set(path, "read error");
    fclose(f);
    if (s == ST_OK && n == 0)
        s = error_set(path, "no labels (expected one class name per line)");
    if (s != ST_OK) {
        labels_free(list, n);
        return s;
    }
    *labels = list;
    *count = n;
    return ST_OK;
}

status net_model_load_labels(net_model *m, const char *path)
{
    char **labels;
    int n;
    if (labels_read(path, &labels, &n) != ST_OK)
        return ST_ERROR;
    labels_free(m->labels, m->nlabels);
    m->labels = labels;
    m->nlabels = n;
    return ST_OK;
}

/* ===== preprocessing overrides ============================================= */

status net_preprocess_override(net_preprocess *p, const preprocess_override *o)
{
    net_preprocess q = *p;
    if (o->nmean != 0 && o->nmean != 1 && o->nmean != 3)
        return error_set("--mean", "give 1 or 3 values, not %d", o->nmean);
    if (o->nstd != 0 && o->nstd != 1 && o->nstd != 3)
        return error_set("--std", "give 1 or 3 values, not %d", o->nstd);
    for (int c = 0; c < 3; c++) {
        if (o->nmean) {
            double m = o->mean[o->nmean == 3 ? c : 0];
            if (!isfinite(m))
                return error_set("--mean", "values must be finite");
            q.mean[c] = (float)m;
        }
        if (o->nstd) {
            double sd = o->std[o->nstd == 3 ? c : 0];
            if (!isfinite(sd) || sd <= 0)
                return error_set("--std", "values must be positive");
            q.std[c] = (float)sd;
        }
    }
    if (o->scale != 0) {
        if (!isfinite(o->scale) || o->scale < 0)
            return error_set("--scale", "must be positive (1 for 0-1 input, 255 for 0-255)");
        q.scale = (float)o->scale;
    }
    if (o->bgr >= 0)
        q.bgr = o->bgr != 0;
    *p = q;
    return ST_OK;
}
