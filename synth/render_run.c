/* What the commands' render loops share around the engine: the shared
 * options, octave sizes, the octave runner (progress, snapshots,
 * interruption, a non-finite objective), resizing and colour transfer. */
#include "synth/render_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

status render_options_check(const render_options *o)
{
    if (o->size < 0 || o->size > 65536)
        return error_set("--size", "must be in [1, 65536], got %d", o->size);
    if (o->iters < 0)
        return error_set("--iters", "must be ≥ 0, got %d", o->iters);
    if (o->octaves < 1 || o->octaves > 32)
        return error_set("--octaves", "must be in [1, 32], got %d", o->octaves);
    if (!(o->octave_scale >= 1.01 && o->octave_scale <= 10))
        return error_set("--octave-scale", "must be in [1.01, 10], got %g", o->octave_scale);
    if (o->tile < 0 || (o->tile > 0 && o->tile < 16))
        return error_set("--tile", "must be 0 (off) or at least 16, got %d", o->tile);
    if ((unsigned)o->optimizer > OPTIM_LBFGS)
        return error_set("--optimizer", "unknown optimizer %d", o->optimizer);
    if (!(o->lr > 0) || !isfinite(o->lr))
        return error_set("--lr", "must be a finite number > 0, got %g", o->lr);
    if (o->save_every < 0)
        return error_set("--save-every", "must be ≥ 0, got %d", o->save_every);
    return ST_OK;
}

status render_config(const render_options *run, const reg_options *reg, net_model *m, objective *obj,
                     render_engine_config *c)
{
    if (render_options_check(run) != ST_OK || reg_options_check(reg) != ST_OK)
        return ST_ERROR;
    *c = (render_engine_config){.model = m, .obj = obj, .reg = reg, .tile = run->tile, .seed = run->seed};
    c->optim = optim_defaults((optim_kind)run->optimizer);
    c->optim.lr = run->lr;
    return ST_OK;
}

static int scaled(int v, double f)
{
    double r = floor(v * f + 0.5);
    return r < 1 ? 1 : r > 1 << 30 ? 1 << 30 : (int)r;
}

void render_octave_size(int W, int H, int k, int n, double scale, int *w, int *h)
{
    double f = pow(scale, -(double)(n - 1 - k));
    *w = scaled(W, f);
    *h = scaled(H, f);
}

void render_fit_long_side(int W, int H, int long_side, int *w, int *h)
{
    double f = (double)long_side / (W > H ? W : H);
    *w = W >= H ? long_side : scaled(W, f);
    *h = H > W ? long_side : scaled(H, f);
}

status render_resize(const image *src, int w, int h, image *dst)
{
    image_free(dst);
    if (src->width == w && src->height == h)
        return image_copy(src, dst);
    bool down = (double)w * h < (double)src->width * src->height;
    return image_resize(src, w, h, down ? IMAGE_RESAMPLE_AREA : IMAGE_RESAMPLE_BICUBIC, dst);
}

status render_resize_wrapped(const image *src, int w, int h, image *dst)
{
    image_free(dst);
    bool down = (double)w * h < (double)src->width * src->height;
    return image_resize_periodic(src, w, h, down ? IMAGE_RESAMPLE_AREA : IMAGE_RESAMPLE_BICUBIC, dst);
}

/* NTSC YIQ: rows Y, I, Q of the RGB → YIQ matrix. */
static const double yiq[3][3] = {
    {0.299, 0.587, 0.114},
    {0.595716, -0.274453, -0.321263},
    {0.211456, -0.522591, 0.311135},
};

/* The inverse of a 3×3 matrix by cofactors. */
static void invert3(const double a[3][3], double inv[3][3])
{
    double det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) -
                 a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
                 a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
            inv[i][j] = (a[r0][c0] * a[r1][c1] - a[r0][c1] * a[r1][c0]) / det;
        }
}

status render_transfer_luminance(const image *luminance, const image *chroma, image *out)
{
    int w = chroma->width, h = chroma->height;
    if (luminance->width != w || luminance->height != h)
        return error_set("--original-colors", "images of different sizes");
    if (!out->data && image_alloc(out, w, h, "--original-colors") != ST_OK)
        return ST_ERROR;
    double rgb[3][3];
    invert3(yiq, rgb);
    size_t plane = (size_t)w * h;
    for (size_t i = 0; i < plane; i++) {
        double p[3] = {0, 0, 0}, c[3], l[3];
        for (int k = 0; k < 3; k++) {
            c[k] = chroma->data[k * plane + i];
            l[k] = luminance->data[k * plane + i];
        }
        for (int k = 0; k < 3; k++)
            p[k] = yiq[k][0] * (k == 0 ? l[0] : c[0]) + yiq[k][1] * (k == 0 ? l[1] : c[1]) +
                   yiq[k][2] * (k == 0 ? l[2] : c[2]);
        for (int k = 0; k < 3; k++)
            out->data[k * plane + i] = (float)(rgb[k][0] * p[0] + rgb[k][1] * p[1] + rgb[k][2] * p[2]);
    }
    return ST_OK;
}

/* *out ← the command's output made from the engine's current image. */
static status present_current(render_runner *r, image *out)
{
    if (render_engine_image(r->e, &r->current) != ST_OK)
        return ST_ERROR;
    return r->present(r->present_ctx, &r->current, out);
}

static void report(render_runner *r, int iter, int iters, double f)
{
    if (!r->cb || !r->cb->progress)
        return;
    const char *const *labels;
    const double *values;
    int n = render_engine_values(r->e, &labels, &values);
    render_progress p = {
        .octave = r->octave + 1, .octaves = r->octaves, .iter = iter, .iters = iters,
        .width = r->current.width, .height = r->current.height, .loss = f, .value_count = n,
        .labels = labels, .values = values, .evaluations = render_engine_evaluations(r->e),
    };
    r->cb->progress(r->cb->ctx, &p);
}

status render_run_octave(render_runner *r, int iters, image *out)
{
    image_free(&r->current);
    if (render_engine_image(r->e, &r->current) != ST_OK)
        return ST_ERROR;
    status st = ST_OK;
    image snap = {0};
    for (int it = 1; it <= iters && st == ST_OK; it++) {
        if (interrupt_signal) {
            st = ST_INTERRUPTED;
            break;
        }
        double f = 0;
        st = render_engine_step(r->e, it - 1, &f);
        if (st == ST_INTERRUPTED)
            break;
        if (st != ST_OK) {
            if (!render_engine_nonfinite(r->e))
                return ST_ERROR;
            if (present_current(r, out) != ST_OK)
                return ST_ERROR;
            return error_set(NULL, "octave %d/%d, iteration %d: the objective or its gradient is "
                             "not finite (try a smaller --lr or --step)", r->octave + 1, r->octaves, it);
        }
        report(r, it, iters, f);
        if (r->cb && r->cb->snapshot && r->run->save_every > 0 && it % r->run->save_every == 0) {
            st = present_current(r, &snap);
            if (st == ST_OK)
                st = r->cb->snapshot(r->cb->ctx, &snap, r->octave + 1, it);
            if (st == ST_INTERRUPTED)
                st = ST_ERROR;
        }
    }
    image_free(&snap);
    if (st == ST_INTERRUPTED) {
        if (present_current(r, out) != ST_OK)
            return ST_ERROR;
        error_set(NULL, "interrupted at octave %d/%d", r->octave + 1, r->octaves);
        return ST_INTERRUPTED;
    }
    return st;
}

void render_runner_free(render_runner *r) { image_free(&r->current); }
