/* Explain inputs: an image (resized, preprocessed) or an .npy tensor fed as
 * is, plus the picture of it that overlays and crops are drawn on. */
#include "synth/synth.h"

#include <errno.h>
#include <string.h>

/* True when the file starts with NumPy's magic "\x93NUMPY". */
static status is_npy(const char *path, bool *yes)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(path, "%s", strerror(errno));
    unsigned char magic[6] = {0};
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    *yes = n == sizeof magic && memcmp(magic, "\x93NUMPY", 6) == 0;
    return ST_OK;
}

/* The model's declared input height and width when both are fixed, else 0.
 * The built-in network is fully convolutional and takes any size. */
static void declared_size(const net_model *m, int *height, int *width)
{
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    net_model_input_shape(m, 0, &ndim, shape);
    *height = *width = 0;
    if (!net_model_is_builtin(m) && ndim == 4 && shape[2] > 0 && shape[3] > 0 && shape[2] <= INT32_MAX && shape[3] <= INT32_MAX) {
        *height = (int)shape[2];
        *width = (int)shape[3];
    }
}

static status load_image(const char *path, const net_model *m, int height, int width,
                         explain_input *in)
{
    if (image_read(path, &in->im) != ST_OK)
        return ST_ERROR;
    if (height <= 0 || width <= 0)
        declared_size(m, &height, &width);
    if (height > 0 && width > 0 && (height != in->im.height || width != in->im.width)) {
        image resized = {0};
        if (image_resize(&in->im, width, height, IMAGE_RESAMPLE_LANCZOS, &resized) != ST_OK)
            return error_prefix(path);
        image_free(&in->im);
        in->im = resized;
        /* Lanczos rings a little past [0, 1]; the picture stays a picture. */
        size_t n = (size_t)width * (size_t)height * 3;
        for (size_t i = 0; i < n; i++)
            in->im.data[i] = in->im.data[i] < 0 ? 0 : in->im.data[i] > 1 ? 1 : in->im.data[i];
    }
    return image_to_input(&in->im, net_model_preprocess(m), &in->x);
}

static status load_npy(const char *path, const net_model *m, explain_input *in)
{
    in->raw = true;
    if (tensor_read_npy(path, &in->x) != ST_OK)
        return ST_ERROR;
    const tensor *x = &in->x;
    if (x->ndim == 4 && x->shape[0] == 1 && x->shape[1] == 3 && x->shape[2] > 0 && x->shape[3] > 0) {
        if (input_to_image(x, net_model_preprocess(m), &in->im) != ST_OK)
            return error_prefix(path);
        size_t n = tensor_numel(x);
        for (size_t i = 0; i < n; i++)
            in->im.data[i] = in->im.data[i] < 0 ? 0 : in->im.data[i] > 1 ? 1 : in->im.data[i];
    }
    return ST_OK;
}

status explain_input_load(const char *path, const net_model *m, int height, int width,
                          explain_input *in)
{
    memset(in, 0, sizeof *in);
    bool npy = false;
    status st = is_npy(path, &npy);
    if (st == ST_OK)
        st = npy ? load_npy(path, m, in) : load_image(path, m, height, width, in);
    if (st != ST_OK)
        explain_input_free(in);
    return st;
}

void explain_input_free(explain_input *in)
{
    tensor_free(&in->x);
    image_free(&in->im);
    in->raw = false;
}
