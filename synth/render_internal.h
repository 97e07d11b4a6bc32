/* render_internal.h — private to synth/: what the render loops of the
 * commands (render_style.c, render_dream.c, render_vis.c) share with the
 * engine (render_engine.c) and the octave runner (render_run.c). */
#ifndef SYNTH_RENDER_INTERNAL_H
#define SYNTH_RENDER_INTERNAL_H

#include "synth/synth.h"
#include "synth/vec.h"

/* Whether the last evaluation's value or gradient was not finite. */
bool render_engine_nonfinite(const render_engine *e);

/* The size of octave k (0 = the coarsest) of n, for a final size W×H:
 * both sides divided by scale^(n−1−k), rounded, at least 1. */
void render_octave_size(int W, int H, int k, int n, double scale, int *w, int *h);
/* W×H scaled so its long side is `long_side` (aspect kept, at least 1). */
void render_fit_long_side(int W, int H, int long_side, int *w, int *h);

/* The command's view of its output: from the octave's current image,
 * the image the run would return now (at the output's size). */
typedef status (*render_present_fn)(void *ctx, const image *octave_image, image *out);

/* One octave of a command: `iters` engine steps, reporting progress,
 * writing snapshots through the callbacks, stopping on interruption. */
typedef struct {
    render_engine *e;
    const render_options *run;
    const render_callbacks *cb;
    int octave, octaves;      /* 0-based octave */
    render_present_fn present;
    void *present_ctx;
    image current;            /* scratch: the octave's image */
} render_runner;

/* ST_OK, or ST_INTERRUPTED / a non-finite objective (ST_ERROR, message
 * "octave k/n, iteration i: ...") with *out the presented current image,
 * or another error with *out untouched. */
status render_run_octave(render_runner *r, int iters, image *out);
void render_runner_free(render_runner *r);

/* Resizes src to w×h into *dst (allocated), or copies when the size is
 * the same. Bicubic up, area down. */
status render_resize(const image *src, int w, int h, image *dst);
/* The same for one period of a periodic image (tileable textures). */
status render_resize_wrapped(const image *src, int w, int h, image *dst);

/* What render_style and render_texture share: the output, and how. */
typedef struct {
    int width, height;    /* the result */
    bool texture;         /* no content: style images keep their own scale */
    bool tileable;        /* circular pads, wrapped windows and octave resizes */
    bool match_histogram; /* the styles' colour histogram (image_match_histogram) */
} style_canvas;
/* The style loop (render_style.c) for a canvas; in->content may be NULL
 * (then no content terms and a random start). */
status render_style_canvas(const style_options *o, net_model *m, const style_inputs *in,
                           const style_canvas *cv, const render_callbacks *cb, image *out);

/* out (allocated when empty, else the same size) ← the image with
 * `luminance`'s Y and `chroma`'s I and Q (YIQ, NTSC 1953 matrix). Both
 * inputs the output's size. */
status render_transfer_luminance(const image *luminance, const image *chroma, image *out);

/* Applies the commands' shared run options to an engine configuration. */
status render_config(const render_options *run, const reg_options *reg, net_model *m, objective *obj,
                     render_engine_config *c);

#endif
