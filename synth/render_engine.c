/* The render engine: one objective on one model, evaluated through the
 * parameterization, the transform, windows over the image and the network,
 * and stepped by an optimizer; see "Rendering" in synth.h for the loop.
 *
 * Shapes: the image is 3×H×W in [0, 1]; the transform makes the seen image
 * 3×Hs×Ws (H + 2·pad); windows are wh×ww crops of the seen image (the
 * whole of it when it fits); in fit mode the single window is resized to
 * the model's declared input nh×nw. Layer l's activation on a window is
 * C_l×h_l×w_l; a cell's share of it is a crop of positions.
 *
 * Everything an iteration touches is allocated in render_engine_begin. */
#include "synth/render_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- windows ------------------------------------------------------------------ */

/* How an H×W image is cut into windows for the network. */
typedef struct {
    int H, W;         /* the image */
    int wh, ww;       /* window size (H, W when one window) */
    int margin;       /* context around a cell (0 when one window) */
    bool tiled;       /* more than one window possible */
    bool fit;         /* one window, resized to nh×nw */
    int nh, nw;       /* the network's input size */
    double fit_scale; /* nh / H in fit mode */
    bool circular;    /* the net pads circularly and tiled windows wrap around the
                         image's edges (a periodic image); else windows stay inside */
} window_plan;

/* Cells along one axis: [a[i], b[i]) evaluated in the window starting at
 * ws[i]. At most axis_cell_capacity() of them. */
typedef struct {
    int n;
    int *a, *b, *ws;
} axis_cells;

/* The buffers one window's forward and backward need. */
typedef struct {
    image win;    /* wh×ww crop of the seen image */
    image fitted; /* nh×nw, fit mode */
    tensor x;     /* 1×3×nh×nw network input */
} window_buf;

struct render_engine {
    render_engine_config c;
    reg_options reg;
    net_model *m;
    net_session *s;
    net_preprocess pre;
    objective *obj;
    rng r;

    int nl;                    /* the objective's layers */
    int *net_layer;            /* net layer index per objective layer */
    net_receptive_field *rf;   /* per objective layer */
    bool *rf_ok;
    int stride;                /* the largest stride of the layers (≥ 1) */
    int *style_net, nstyle;    /* net layers of STYLE terms */
    int *target_net, ntarget;  /* net layers of CONTENT and INVERT terms */
    bool *layer_style, *layer_target; /* per objective layer */
    bool has_style, has_target, has_invert;

    /* values reported per evaluation: terms, then "reg" */
    int nvalues;
    const char **labels;
    double *values;
    double *norm2;             /* per term: tiled INVERT's ‖Φ(target)‖² */

    /* ---- the octave ---- */
    bool begun;
    int H, W, Hs, Ws;
    reg_context *regc;
    optimizer *opt;
    bool identity, transform_random, projects;
    size_t nparams, nimage, nseen;
    float *params, *image, *d_image, *seen, *d_seen, *target_seen;
    const image *target;
    bool targets_ready;
    bool norms_ready;     /* tiled INVERT: the whole target's ‖Φ‖² set this octave */
    size_t evaluations;
    bool nonfinite;       /* the last evaluation's value or gradient */

    window_plan plan;
    int grid_oy, grid_ox; /* drawn each step when grid_random */
    bool grid_random;
    axis_cells cy, cx;
    window_plan nplan;    /* tiled INVERT's norm pass: margins as wide as the target */
    axis_cells ny, nx;    /* layers' receptive fields (when the windows allow it) */
    window_buf wb;
    image gnet;           /* nh×nw input gradient as an image */
    image gwin;           /* wh×ww, fit mode: the resize's adjoint */
    tensor dx;            /* 1×3×nh×nw */
    act_shape *wshape;    /* per layer: the window's activation shape */
    tensor *seeds;        /* per layer, wshape */
    float **crop_act, **crop_seed; /* per layer, wshape-sized */
    act_shape *cshape;    /* per layer: the current cell's crop */
    act_shape *whole;     /* per layer: the activation's shape on the whole seen image */
    act_cell *ccell;      /* per layer: where the current cell's crop lies in it */
    const float **acts;   /* per layer: what the objective reads */
    float **seedp;        /* per layer: where it writes */
};

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* The C×H×W shape of a layer's output tensor [1, C, H, W] or [1, C]. */
static status shape_of(const render_engine *e, int l, int ndim, const int64_t *shape, act_shape *s)
{
    if (ndim == 4 && shape[0] == 1)
        *s = (act_shape){(int)shape[1], (int)shape[2], (int)shape[3]};
    else if (ndim == 2 && shape[0] == 1)
        *s = (act_shape){(int)shape[1], 1, 1};
    else {
        char buf[96];
        return error_set(net_layer_name(e->m, e->net_layer[l]),
                         "output of shape %s is not a feature map (1xCxHxW or 1xC)",
                         shape_format(ndim, shape, buf, sizeof buf));
    }
    if (s->c < 1 || s->h < 1 || s->w < 1)
        return error_set(net_layer_name(e->m, e->net_layer[l]), "empty output");
    return ST_OK;
}

/* Whether every objective layer works on an h×w input; their shapes in
 * shapes[] (may be NULL). */
static status layers_fit(render_engine *e, int h, int w, act_shape *shapes)
{
    for (int l = 0; l < e->nl; l++) {
        int ndim;
        int64_t shape[TENSOR_MAX_DIMS];
        act_shape s;
        if (net_layer_shape(e->m, e->net_layer[l], h, w, &ndim, shape) != ST_OK ||
            shape_of(e, l, ndim, shape, &s) != ST_OK)
            return ST_ERROR;
        if (shapes)
            shapes[l] = s;
    }
    return ST_OK;
}

/* What a tiled run cannot split into windows (errors name --tile): a layer
 * with no spatial extent at H×W (1×1: global pooling, Gemm), whose values
 * each see the whole image; a LOGPROB term, whose log-softmax of whole-layer
 * channel means is not a sum over cells. logprob: only once the windows
 * are known to fit (a fixed-size classifier is resized, untiled). */
static status check_tileable(render_engine *e, int H, int W, bool logprob)
{
    for (int l = 0; l < e->nl; l++) {
        int ndim;
        int64_t shape[TENSOR_MAX_DIMS];
        act_shape s;
        if (net_layer_shape(e->m, e->net_layer[l], H, W, &ndim, shape) == ST_OK &&
            shape_of(e, l, ndim, shape, &s) == ST_OK && s.h == 1 && s.w == 1)
            return error_set("--tile", "layer '%s' has no spatial extent (each of its %d values "
                             "sees the whole image, no window does); run it without --tile",
                             net_layer_name(e->m, e->net_layer[l]), s.c);
    }
    error_clear();
    for (int t = 0; logprob && t < objective_term_count(e->obj); t++)
        if (objective_term_kind(e->obj, t) == LOSS_LOGPROB)
            return error_set("--tile", "%s: the log-softmax of the whole image's scores is not a "
                             "sum over windows; run it without --tile",
                             objective_term_label(e->obj, t));
    return ST_OK;
}

/* Chooses the windows for an H×W image. */
static status plan_windows(render_engine *e, int H, int W, window_plan *p)
{
    *p = (window_plan){.H = H, .W = W, .wh = H, .ww = W, .nh = H, .nw = W};
    int tile = e->c.tile;
    if (tile > 0 && (H > tile || W > tile)) {
        int S = e->stride;
        for (int l = 0; l < e->nl; l++)
            if (!e->rf_ok[l])
                return error_set("--tile", "layer '%s' is not a feature map with a receptive "
                                 "field; run it without --tile",
                                 net_layer_name(e->m, e->net_layer[l]));
        if (check_tileable(e, H, W, false) != ST_OK)
            return ST_ERROR;
        int t = tile / S * S;
        int margin = imax(S, tile / 16 / S * S);
        if (t - 2 * margin < 2 * S)
            return error_set("--tile", "%d is too small for this model: at least %d (4 × the "
                             "stride %d of its deepest layer)", tile, 4 * S, S);
        p->tiled = true;
        p->margin = margin;
        p->wh = p->nh = imin(t, H);
        p->ww = p->nw = imin(t, W);
    }
    error_clear();
    if (layers_fit(e, p->nh, p->nw, NULL) == ST_OK)
        return p->tiled ? check_tileable(e, H, W, true) : ST_OK;
    /* A model of any size that fits a large image: this one is too small. */
    if (layers_fit(e, 1024, 1024, NULL) == ST_OK) {
        char why[256];
        (void)layers_fit(e, p->nh, p->nw, NULL);
        snprintf(why, sizeof why, "%s", error_message());
        return error_set("image size", "%dx%d is too small for this model (%s); use a larger "
                         "--size or fewer --octaves", p->nw, p->nh, why);
    }
    /* A fixed-size classifier: the whole image resized to its input size. */
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    net_model_input_shape(e->m, 0, &ndim, shape);
    if (ndim != 4 || shape[2] <= 0 || shape[3] <= 0 || layers_fit(e, (int)shape[2], (int)shape[3], NULL) != ST_OK)
        return error_prefix("image size");
    int nh = (int)shape[2], nw = (int)shape[3];
    if (fabs((double)H / W - (double)nh / nw) > 0.02 * (double)nh / nw)
        return error_set("image size", "the model takes %dx%d inputs only and the image is %dx%d; "
                         "give a size with that aspect ratio", nw, nh, W, H);
    *p = (window_plan){.H = H, .W = W, .wh = H, .ww = W, .fit = true, .nh = nh, .nw = nw,
                       .fit_scale = (double)nh / H};
    return ST_OK;
}

static int axis_cell_capacity(const window_plan *p, int L, int T)
{
    if (!p->tiled || T >= L)
        return 1;
    return L / (T - 2 * p->margin) + 3;
}

/* Cells of an axis of length L with windows of T and the plan's margin;
 * the grid's lines at o + k·(T − 2·margin). A last cell shorter than
 * min_cell joins the one before. Each window starts `margin` before its
 * cell, kept inside the image, or with circular plans wrapping around it
 * (a start < 0 reads the image's far end). */
static void axis_layout(const window_plan *p, int L, int T, int o, int min_cell, axis_cells *ax)
{
    if (!p->tiled || T >= L) {
        ax->n = 1;
        ax->a[0] = 0, ax->b[0] = L, ax->ws[0] = 0;
        return;
    }
    int core = T - 2 * p->margin, start = 0, next = o > 0 ? o : core;
    ax->n = 0;
    while (start < L) {
        int end = imin(next, L);
        if (L - end < min_cell)
            end = L;
        ax->a[ax->n] = start;
        ax->b[ax->n] = end;
        ax->ws[ax->n] = p->circular ? start - p->margin : imin(imax(start - p->margin, 0), L - T);
        ax->n++;
        start = end;
        next = end + core;
    }
}

static status axis_alloc(axis_cells *ax, int capacity)
{
    ax->a = alloc_array((size_t)capacity * 3, sizeof(int), "windows");
    if (!ax->a)
        return ST_ERROR;
    ax->b = ax->a + capacity;
    ax->ws = ax->b + capacity;
    return ST_OK;
}

static void axis_free(axis_cells *ax)
{
    free(ax->a);
    *ax = (axis_cells){0};
}

/* Positions [i0, i1) of a layer axis (length n, receptive-field centre of
 * unit i at off + i·stride in window coordinates) whose centres lie in the
 * cell [a, b) of an axis of length L, the window starting at ws. The first
 * and last cells take the positions beyond the image's edges (not when the
 * windows wrap: there is no edge); a cell gets at least one position. */
static void cell_positions(int a, int b, int ws, int L, bool wrap, double off, double stride, int n,
                           int *i0, int *i1)
{
    int lo = a == 0 && !wrap ? 0 : (int)ceil((a - ws - off) / stride);
    int hi = b == L && !wrap ? n : (int)ceil((b - ws - off) / stride);
    lo = imin(imax(lo, 0), n - 1);
    hi = imin(imax(hi, lo + 1), n);
    *i0 = lo, *i1 = hi;
}

static status window_buf_alloc(window_buf *w, const window_plan *p)
{
    if (image_alloc(&w->win, p->ww, p->wh, "window") != ST_OK ||
        (p->fit && image_alloc(&w->fitted, p->nw, p->nh, "window") != ST_OK))
        return ST_ERROR;
    int64_t shape[4] = {1, 3, p->nh, p->nw};
    return tensor_alloc(&w->x, 4, shape);
}

static void window_buf_free(window_buf *w)
{
    image_free(&w->win);
    image_free(&w->fitted);
    tensor_free(&w->x);
}

/* i modulo n, in [0, n). */
static int wrap_index(int i, int n) { return (i % n + n) % n; }

/* The n values of an image row (W wide) from column x0 on, wrapping
 * around: copied into win, or win added into them. */
static void read_wrapped(const float *row, int W, int x0, float *win, int n)
{
    for (int done = 0, x = wrap_index(x0, W), len; done < n; done += len, x = 0) {
        len = imin(n - done, W - x);
        memcpy(win + done, row + x, (size_t)len * sizeof(float));
    }
}

static void add_wrapped(float *row, int W, int x0, const float *win, int n)
{
    for (int done = 0, x = wrap_index(x0, W), len; done < n; done += len, x = 0) {
        len = imin(n - done, W - x);
        for (int k = 0; k < len; k++)
            row[x + k] += win[done + k];
    }
}

/* Runs the network on the window at (wy, wx) of src (3×H×W, the plan's
 * image; with circular plans the window may wrap around its edges), up to
 * the given net layers. */
static status forward_window(render_engine *e, const window_plan *p, window_buf *w, const float *src,
                             int wy, int wx, const int *layers, int nlayers, bool for_backward)
{
    size_t plane = (size_t)p->H * p->W, wplane = (size_t)p->wh * p->ww;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < p->wh; y++)
            read_wrapped(src + c * plane + (size_t)wrap_index(wy + y, p->H) * p->W, p->W, wx,
                         w->win.data + c * wplane + (size_t)y * p->ww, p->ww);
    const image *feed = &w->win;
    if (p->fit) {
        reg_similarity(w->win.data, 3, p->wh, p->ww, 0, 0, p->fit_scale, 0, p->nh, p->nw,
                       REG_BOUNDARY_EDGE, NULL, w->fitted.data);
        feed = &w->fitted;
    }
    if (image_to_input(feed, &e->pre, &w->x) != ST_OK)
        return ST_ERROR;
    net_forward_opts fo = {.for_backward = for_backward, .circular_padding = p->circular};
    return net_forward(e->s, &w->x, 1, layers, nlayers, &fo);
}

/* The index in the whole layer (n positions, stride S) of position i of a
 * window starting at pixel ws: the centres off + k·S of both lattices meet
 * at k = i + ws/S; modulo n when the windows wrap. */
static int whole_index(int i, int ws, double S, int n, bool wrap)
{
    int k = i + (int)lround(ws / S);
    return wrap ? wrap_index(k, n) : k;
}

/* Points acts[l] at objective layer l's share of the last forward for the
 * cell (cy, cx) (a copy of the crop when the cell is not the whole window),
 * and sets cshape[l] and, when `cells` is not NULL, cells[l] (the crop's
 * place in e->whole[l]). Layers not in `want` (NULL: all) get NULL. */
static status crop_cell(render_engine *e, const window_plan *p, const axis_cells *ay, int iy,
                        const axis_cells *ax, int ix, const bool *want, const float **acts,
                        act_shape *cshape, act_cell *cells, float **crop_buf)
{
    for (int l = 0; l < e->nl; l++) {
        acts[l] = NULL;
        if (want && !want[l])
            continue;
        const tensor *t = net_activation(e->s, e->net_layer[l]);
        act_shape s;
        if (!t || shape_of(e, l, t->ndim, t->shape, &s) != ST_OK)
            return t ? ST_ERROR : error_set("render", "layer %d was not computed", l);
        int y0 = 0, y1 = s.h, x0 = 0, x1 = s.w;
        if (ay->n > 1)
            cell_positions(ay->a[iy], ay->b[iy], ay->ws[iy], p->H, p->circular, e->rf[l].offset[0],
                           (double)e->rf[l].stride[0], s.h, &y0, &y1);
        if (ax->n > 1)
            cell_positions(ax->a[ix], ax->b[ix], ax->ws[ix], p->W, p->circular, e->rf[l].offset[1],
                           (double)e->rf[l].stride[1], s.w, &x0, &x1);
        cshape[l] = (act_shape){s.c, y1 - y0, x1 - x0};
        if (cells) {
            act_shape w = e->whole[l];
            cells[l] = (act_cell){
                .y0 = whole_index(y0, ay->ws[iy], (double)e->rf[l].stride[0], w.h, p->circular),
                .x0 = whole_index(x0, ax->ws[ix], (double)e->rf[l].stride[1], w.w, p->circular),
                .whole = w};
        }
        if (y0 == 0 && y1 == s.h && x0 == 0 && x1 == s.w) {
            acts[l] = t->data;
            continue;
        }
        float *dst = crop_buf[l];
        for (int c = 0; c < s.c; c++)
            for (int y = y0; y < y1; y++)
                memcpy(dst + ((size_t)c * (y1 - y0) + (y - y0)) * (x1 - x0),
                       t->data + ((size_t)c * s.h + y) * s.w + x0, (size_t)(x1 - x0) * sizeof(float));
        acts[l] = dst;
    }
    return ST_OK;
}

/* ---- creating and freeing -------------------------------------------------- */

status render_engine_create(const render_engine_config *c, render_engine **out)
{
    *out = NULL;
    render_engine *e = alloc_array(1, sizeof *e, "render");
    if (!e)
        return ST_ERROR;
    e->c = *c;
    e->reg = *c->reg;
    e->c.reg = &e->reg;
    e->m = c->model;
    e->obj = c->obj;
    e->pre = *net_model_preprocess(c->model);
    rng_seed(&e->r, (uint64_t)(int64_t)c->seed);
    e->grid_random = true;
    e->nl = objective_layer_count(c->obj);
    int nt = objective_term_count(c->obj), nl = e->nl > 0 ? e->nl : 1;
    e->nvalues = nt + 1;
    if (reg_options_check(c->reg) != ST_OK)
        goto fail;
    if (e->nl == 0) {
        error_set("render", "the objective has no terms");
        goto fail;
    }
    e->net_layer = alloc_array((size_t)nl, sizeof *e->net_layer, "render");
    e->rf = alloc_array((size_t)nl, sizeof *e->rf, "render");
    e->rf_ok = alloc_array((size_t)nl, sizeof *e->rf_ok, "render");
    e->style_net = alloc_array((size_t)nl, sizeof *e->style_net, "render");
    e->target_net = alloc_array((size_t)nl, sizeof *e->target_net, "render");
    e->layer_style = alloc_array((size_t)nl, sizeof *e->layer_style, "render");
    e->layer_target = alloc_array((size_t)nl, sizeof *e->layer_target, "render");
    e->labels = alloc_array((size_t)e->nvalues, sizeof *e->labels, "render");
    e->values = alloc_array((size_t)e->nvalues, sizeof *e->values, "render");
    e->norm2 = alloc_array((size_t)e->nvalues, sizeof *e->norm2, "render");
    e->wshape = alloc_array((size_t)nl, sizeof *e->wshape, "render");
    e->cshape = alloc_array((size_t)nl, sizeof *e->cshape, "render");
    e->whole = alloc_array((size_t)nl, sizeof *e->whole, "render");
    e->ccell = alloc_array((size_t)nl, sizeof *e->ccell, "render");
    e->seeds = alloc_array((size_t)nl, sizeof *e->seeds, "render");
    e->crop_act = alloc_array((size_t)nl, sizeof *e->crop_act, "render");
    e->crop_seed = alloc_array((size_t)nl, sizeof *e->crop_seed, "render");
    e->acts = alloc_array((size_t)nl, sizeof *e->acts, "render");
    e->seedp = alloc_array((size_t)nl, sizeof *e->seedp, "render");
    if (!e->net_layer || !e->rf || !e->rf_ok || !e->style_net || !e->target_net || !e->layer_style ||
        !e->layer_target || !e->labels || !e->values || !e->norm2 || !e->wshape || !e->cshape || !e->whole || !e->ccell || !e->seeds ||
        !e->crop_act || !e->crop_seed || !e->acts || !e->seedp)
        goto fail;
    e->stride = 1;
    for (int l = 0; l < e->nl; l++) {
        if (net_layer_find(e->m, objective_layer_name(e->obj, l), &e->net_layer[l]) != ST_OK)
            goto fail;
        e->rf_ok[l] = net_layer_receptive_field(e->m, e->net_layer[l], &e->rf[l]) == ST_OK;
        if (e->rf_ok[l])
            e->stride = imax(e->stride, (int)imax((int)e->rf[l].stride[0], (int)e->rf[l].stride[1]));
    }
    error_clear();
    for (int t = 0; t < nt; t++) {
        e->labels[t] = objective_term_label(e->obj, t);
        loss_kind k = objective_term_kind(e->obj, t);
        int l = objective_term_layer(e->obj, t);
        if (k == LOSS_STYLE && !e->layer_style[l]) {
            e->layer_style[l] = e->has_style = true;
            e->style_net[e->nstyle++] = e->net_layer[l];
        }
        if ((k == LOSS_CONTENT || k == LOSS_INVERT) && !e->layer_target[l]) {
            e->layer_target[l] = e->has_target = true;
            e->target_net[e->ntarget++] = e->net_layer[l];
        }
        e->has_invert |= k == LOSS_INVERT;
    }
    e->labels[nt] = "reg";
    if (net_session_create(e->m, &e->s) != ST_OK)
        goto fail;
    *out = e;
    return ST_OK;
fail:
    render_engine_free(e);
    return ST_ERROR;
}

static void end_octave(render_engine *e)
{
    reg_context_free(e->regc);
    optim_free(e->opt);
    e->regc = NULL;
    e->opt = NULL;
    free(e->params);
    free(e->image);
    free(e->d_image);
    free(e->seen);
    free(e->d_seen);
    free(e->target_seen);
    e->params = e->image = e->d_image = e->seen = e->d_seen = e->target_seen = NULL;
    window_buf_free(&e->wb);
    image_free(&e->gnet);
    image_free(&e->gwin);
    tensor_free(&e->dx);
    for (int l = 0; l < e->nl; l++) {
        tensor_free(&e->seeds[l]);
        free(e->crop_act[l]);
        free(e->crop_seed[l]);
        e->crop_act[l] = e->crop_seed[l] = NULL;
    }
    axis_free(&e->cy);
    axis_free(&e->cx);
    axis_free(&e->ny);
    axis_free(&e->nx);
    e->target = NULL;
    e->begun = false;
}

void render_engine_free(render_engine *e)
{
    if (!e)
        return;
    if (e->seeds)
        end_octave(e);
    net_session_free(e->s);
    free(e->net_layer);
    free(e->rf);
    free(e->rf_ok);
    free(e->style_net);
    free(e->target_net);
    free(e->layer_style);
    free(e->layer_target);
    free(e->labels);
    free(e->values);
    free(e->norm2);
    free(e->wshape);
    free(e->cshape);
    free(e->whole);
    free(e->ccell);
    free(e->seeds);
    free(e->crop_act);
    free(e->crop_seed);
    free(e->acts);
    free(e->seedp);
    free(e);
}

/* ---- the octave -------------------------------------------------------------- */

static void layout_cells(render_engine *e);

static float *floats(size_t n, const char *what) { return alloc_array(n, sizeof(float), what); }

/* Window buffers, per-layer seeds and crops, and the cell lists for the
 * seen image. */
static status alloc_windows(render_engine *e)
{
    window_plan *p = &e->plan;
    if (plan_windows(e, e->Hs, e->Ws, p) != ST_OK)
        return ST_ERROR;
    p->circular = e->c.circular_padding;
    if (window_buf_alloc(&e->wb, p) != ST_OK ||
        image_alloc(&e->gnet, p->nw, p->nh, "render") != ST_OK ||
        (p->fit && image_alloc(&e->gwin, p->ww, p->wh, "render") != ST_OK) ||
        layers_fit(e, p->nh, p->nw, e->wshape) != ST_OK ||
        (p->tiled && layers_fit(e, e->Hs, e->Ws, e->whole) != ST_OK) ||
        axis_alloc(&e->cy, axis_cell_capacity(p, e->Hs, p->wh)) != ST_OK ||
        axis_alloc(&e->cx, axis_cell_capacity(p, e->Ws, p->ww)) != ST_OK)
        return ST_ERROR;
    if (!p->tiled) /* one window: the whole seen image (or its fitted copy) */
        memcpy(e->whole, e->wshape, (size_t)e->nl * sizeof *e->whole);
    if (p->tiled && e->has_invert) {
        /* A position whose centre is in a cell sees only its window when the
         * margin covers half its receptive field, plus a stride (a last cell
         * longer than the core, its window kept inside the image). */
        int S = e->stride, field = 0;
        for (int l = 0; l < e->nl; l++)
            if (e->layer_target[l])
                field = imax(field, (int)imax((int)e->rf[l].size[0], (int)e->rf[l].size[1]));
        int m = ((field + 1) / 2 + S - 1) / S * S + S;
        e->nplan = *p;
        if ((p->wh >= e->Hs || p->wh - 2 * m >= 2 * S) && (p->ww >= e->Ws || p->ww - 2 * m >= 2 * S))
            e->nplan.margin = imax(p->margin, m);
        if (axis_alloc(&e->ny, axis_cell_capacity(&e->nplan, e->Hs, p->wh)) != ST_OK ||
            axis_alloc(&e->nx, axis_cell_capacity(&e->nplan, e->Ws, p->ww)) != ST_OK)
            return ST_ERROR;
    }
    int64_t xshape[4] = {1, 3, p->nh, p->nw};
    if (tensor_alloc(&e->dx, 4, xshape) != ST_OK)
        return ST_ERROR;
    for (int l = 0; l < e->nl; l++) {
        /* Seeds have the layer's own shape ([1, C, H, W] or [1, C]). */
        int ndim;
        int64_t shape[TENSOR_MAX_DIMS];
        size_t n = act_size(e->wshape[l]);
        if (net_layer_shape(e->m, e->net_layer[l], p->nh, p->nw, &ndim, shape) != ST_OK ||
            tensor_alloc(&e->seeds[l], ndim, shape) != ST_OK)
            return ST_ERROR;
        if (p->tiled && (!(e->crop_act[l] = floats(n, "render")) || !(e->crop_seed[l] = floats(n, "render"))))
            return ST_ERROR;
    }
    return ST_OK;
}

status render_engine_begin(render_engine *e, int width, int height, const image *start)
{
    end_octave(e);
    if (start && (start->width != width || start->height != height))
        return error_set("render", "start image is %dx%d, the octave %dx%d", start->width,
                         start->height, width, height);
    reg_range range = reg_range_unit(3);
    size_t n;
    if (!size_mul3(3, (size_t)width, (size_t)height, &n) || width < 1 || height < 1)
        return error_set("render", "bad image size %dx%d", width, height);
    e->W = width, e->H = height;
    if (reg_context_create(&e->reg, 3, height, width, &range, &e->regc) != ST_OK)
        goto fail;
    reg_param *P = reg_context_param(e->regc);
    reg_transform_size(reg_context_transform(e->regc), &e->Hs, &e->Ws);
    e->nimage = n;
    e->nseen = (size_t)3 * e->Hs * e->Ws;
    e->nparams = reg_param_count(P);
    e->identity = reg_param_is_identity(P);
    e->transform_random = e->reg.jitter > 0 || e->reg.scale_jitter > 0 || e->reg.rotate_jitter > 0;
    e->projects = e->reg.decay > 0 || e->reg.blur_sigma > 0 || e->reg.clip_norm_pct > 0 ||
                  e->reg.clip_contrib_pct > 0 || e->reg.clamp;
    if (!(e->params = floats(e->nparams, "render")) ||
        (!e->identity && !(e->image = floats(n, "render"))) || !(e->d_image = floats(n, "render")) ||
        !(e->seen = floats(e->nseen, "render")) || !(e->d_seen = floats(e->nseen, "render")) ||
        (e->has_target && !(e->target_seen = floats(e->nseen, "render"))))
        goto fail;
    if (optim_create(&e->c.optim, e->nparams, &e->opt) != ST_OK || alloc_windows(e) != ST_OK)
        goto fail;
    if (start) {
        if (e->identity)
            memcpy(e->params, start->data, n * sizeof(float));
        else
            reg_param_from_image(P, start->data, e->params);
    } else {
        reg_param_init(P, e->params, &e->r, e->reg.param_std);
        if (e->identity)
            for (size_t i = 0; i < n; i++)
                e->params[i] += range.center[0];
    }
    e->evaluations = 0;
    e->targets_ready = e->norms_ready = false;
    e->begun = true;
    layout_cells(e);
    return ST_OK;
fail:
    end_octave(e);
    return ST_ERROR;
}

status render_engine_set_target_image(render_engine *e, const image *target)
{
    if (!e->begun)
        return error_set("render", "set a target image after render_engine_begin");
    if (target->width != e->W || target->height != e->H)
        return error_set("render", "target image is %dx%d, the octave %dx%d", target->width,
                         target->height, e->W, e->H);
    e->target = target;
    e->targets_ready = e->norms_ready = false;
    return ST_OK;
}

/* ---- evaluation ---------------------------------------------------------------- */

/* Lays out the cells for the current grid origin. */
static void layout_cells(render_engine *e)
{
    axis_layout(&e->plan, e->Hs, e->plan.wh, e->grid_oy, e->stride, &e->cy);
    axis_layout(&e->plan, e->Ws, e->plan.ww, e->grid_ox, e->stride, &e->cx);
}

/* Runs the network on the window of cell (iy, ix) of the plan p (cells ay,
 * ax) over src (3×Hs×Ws: the seen image or target) up to the given net
 * layers, and crops the objective layers in `want` (NULL: all) into
 * e->acts, e->cshape, e->ccell. */
static status forward_cell(render_engine *e, const window_plan *p, const axis_cells *ay,
                           const axis_cells *ax, const float *src, int iy, int ix, const int *layers,
                           int nlayers, const bool *want, bool for_backward)
{
    status st = forward_window(e, p, &e->wb, src, ay->ws[iy], ax->ws[ix], layers, nlayers,
                               for_backward);
    if (st != ST_OK)
        return st;
    return crop_cell(e, p, ay, iy, ax, ix, want, e->acts, e->cshape, e->ccell, e->crop_act);
}

/* INVERT terms, once per octave: tiled, S = ‖Φ(x) − Φ(x₀)‖² / ‖Φ(x₀)‖² of
 * the whole seen target, the norm Σ over cells of ‖crop‖² (the cells
 * partition each layer's positions) on the norm pass's grid at 0, whose
 * margins make each crop the whole image's features where the tile allows;
 * one window: each target's own norm. */
static status set_target_norms(render_engine *e, bool cells)
{
    int nt = objective_term_count(e->obj);
    for (int t = 0; t < nt; t++)
        e->norm2[t] = 0;
    if (cells) {
        axis_layout(&e->nplan, e->Hs, e->nplan.wh, 0, e->stride, &e->ny);
        axis_layout(&e->nplan, e->Ws, e->nplan.ww, 0, e->stride, &e->nx);
    }
    for (int iy = 0; cells && iy < e->ny.n; iy++)
        for (int ix = 0; ix < e->nx.n; ix++) {
            if (interrupt_signal)
                return ST_INTERRUPTED;
            status st = forward_cell(e, &e->nplan, &e->ny, &e->nx, e->target_seen, iy, ix,
                                     e->target_net, e->ntarget, e->layer_target, false);
            if (st != ST_OK)
                return st;
            for (int t = 0; t < nt; t++) {
                int l = objective_term_layer(e->obj, t);
                if (objective_term_kind(e->obj, t) == LOSS_INVERT)
                    e->norm2[t] += vec_dot(e->acts[l], e->acts[l], act_size(e->cshape[l]));
            }
        }
    for (int t = 0; t < nt; t++)
        if (objective_term_kind(e->obj, t) == LOSS_INVERT &&
            objective_set_target_norm(e->obj, t, e->norm2[t]) != ST_OK)
            return ST_ERROR;
    e->norms_ready = true;
    return ST_OK;
}

/* Sets the CONTENT and INVERT targets from the target image's window. */
static status set_targets(render_engine *e, int iy, int ix)
{
    status st = forward_cell(e, &e->plan, &e->cy, &e->cx, e->target_seen, iy, ix, e->target_net, e->ntarget, e->layer_target,
                             false);
    if (st != ST_OK)
        return st;
    for (int t = 0; t < objective_term_count(e->obj); t++) {
        loss_kind k = objective_term_kind(e->obj, t);
        int l = objective_term_layer(e->obj, t);
        if ((k == LOSS_CONTENT || k == LOSS_INVERT) &&
            objective_set_target(e->obj, t, e->acts[l], e->cshape[l]) != ST_OK)
            return ST_ERROR;
    }
    return ST_OK;
}

/* Pass 1 of a tiled style objective: the Gram of the whole seen image. */
static status accumulate_grams(render_engine *e)
{
    for (int iy = 0; iy < e->cy.n; iy++)
        for (int ix = 0; ix < e->cx.n; ix++) {
            if (interrupt_signal)
                return ST_INTERRUPTED;
            status st = forward_cell(e, &e->plan, &e->cy, &e->cx, e->seen, iy, ix, e->style_net, e->nstyle, e->layer_style,
                                     false);
            if (st != ST_OK)
                return st;
            if (objective_gram_accumulate(e->obj, e->acts, e->cshape) != ST_OK)
                return ST_ERROR;
        }
    return objective_gram_finish(e->obj);
}

/* Adds the cell's seeds into the window's seed tensors (zero elsewhere). */
static void scatter_seeds(render_engine *e, int iy, int ix)
{
    for (int l = 0; l < e->nl; l++) {
        if (e->seedp[l] == e->seeds[l].data)
            continue;
        act_shape s = e->wshape[l], cs = e->cshape[l];
        int y0 = 0, y1 = s.h, x0 = 0, x1 = s.w;
        if (e->cy.n > 1)
            cell_positions(e->cy.a[iy], e->cy.b[iy], e->cy.ws[iy], e->Hs, e->plan.circular, e->rf[l].offset[0],
                           (double)e->rf[l].stride[0], s.h, &y0, &y1);
        if (e->cx.n > 1)
            cell_positions(e->cx.a[ix], e->cx.b[ix], e->cx.ws[ix], e->Ws, e->plan.circular, e->rf[l].offset[1],
                           (double)e->rf[l].stride[1], s.w, &x0, &x1);
        float *dst = e->seeds[l].data;
        memset(dst, 0, act_size(s) * sizeof(float));
        for (int c = 0; c < s.c; c++)
            for (int y = y0; y < y1; y++)
                memcpy(dst + ((size_t)c * s.h + y) * s.w + x0,
                       e->seedp[l] + ((size_t)c * cs.h + (y - y0)) * cs.w, (size_t)cs.w * sizeof(float));
    }
}

/* Adds the window's input gradient into d_seen at (wy, wx) (wrapping
 * around the edges as the window did). */
static void add_window_gradient(render_engine *e, const image *g, int wy, int wx)
{
    size_t plane = (size_t)e->Hs * e->Ws, wplane = (size_t)g->height * g->width;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < g->height; y++)
            add_wrapped(e->d_seen + c * plane + (size_t)wrap_index(wy + y, e->Hs) * e->Ws, e->Ws, wx,
                        g->data + c * wplane + (size_t)y * g->width, g->width);
}

/* Forward, objective and backward of one cell; the gradient into d_seen. */
static status evaluate_cell(render_engine *e, int iy, int ix)
{
    const window_plan *p = &e->plan;
    int wy = e->cy.ws[iy], wx = e->cx.ws[ix];
    status st = forward_cell(e, p, &e->cy, &e->cx, e->seen, iy, ix, e->net_layer, e->nl, NULL, true);
    if (st != ST_OK)
        return st;
    for (int l = 0; l < e->nl; l++)
        e->seedp[l] = e->acts[l] == e->crop_act[l] ? e->crop_seed[l] : e->seeds[l].data;
    if (objective_evaluate_cell(e->obj, e->acts, e->cshape, e->ccell, e->seedp) != ST_OK)
        return ST_ERROR;
    scatter_seeds(e, iy, ix);
    if ((st = net_backward(e->s, e->net_layer, e->seeds, e->nl, NULL, &e->dx)) != ST_OK)
        return st;
    if (input_grad_to_image(&e->dx, &e->pre, &e->gnet) != ST_OK)
        return ST_ERROR;
    if (p->fit) {
        reg_similarity_adjoint(e->gnet.data, 3, p->wh, p->ww, 0, 0, p->fit_scale, 0, p->nh, p->nw,
                               REG_BOUNDARY_EDGE, e->gwin.data);
        add_window_gradient(e, &e->gwin, wy, wx);
    } else {
        add_window_gradient(e, &e->gnet, wy, wx);
    }
    return ST_OK;
}

status render_engine_evaluate(render_engine *e, const float *params, float *grad, double *f)
{
    if (!e->begun)
        return error_set("render", "evaluate before render_engine_begin");
    if (e->has_target && !e->target)
        return error_set("render", "no target image set for the content or invert terms");
    e->evaluations++;
    reg_param *P = reg_context_param(e->regc);
    reg_transform *T = reg_context_transform(e->regc);
    const float *img = params;
    if (!e->identity) {
        reg_param_forward(P, params, e->image);
        img = e->image;
    }
    reg_transform_forward(T, img, e->seen);
    bool cells = e->cy.n * e->cx.n > 1;
    bool static_targets = !e->transform_random && !cells;
    if (e->has_target && !(static_targets && e->targets_ready))
        reg_transform_forward(T, e->target->data, e->target_seen);
    status st;
    if (e->has_invert && !e->norms_ready && (st = set_target_norms(e, cells)) != ST_OK)
        return st;
    objective_begin(e->obj);
    memset(e->d_seen, 0, e->nseen * sizeof(float));
    if (e->has_style && cells && (st = accumulate_grams(e)) != ST_OK)
        return st;
    for (int iy = 0; iy < e->cy.n; iy++)
        for (int ix = 0; ix < e->cx.n; ix++) {
            if (interrupt_signal)
                return ST_INTERRUPTED;
            if (e->has_target && !(static_targets && e->targets_ready) &&
                (st = set_targets(e, iy, ix)) != ST_OK)
                return st;
            if ((st = evaluate_cell(e, iy, ix)) != ST_OK)
                return st;
        }
    e->targets_ready = true;
    reg_transform_adjoint(T, e->d_seen, e->d_image);
    double reg_value = reg_objective(e->regc, img, e->d_image);
    if (e->identity)
        memcpy(grad, e->d_image, e->nimage * sizeof(float));
    else
        reg_param_backward(P, e->d_image, grad);
    int nt = objective_term_count(e->obj);
    for (int t = 0; t < nt; t++)
        e->values[t] = objective_term_contribution(e->obj, t);
    e->values[nt] = reg_value;
    *f = objective_value(e->obj) + reg_value;
    e->nonfinite = !isfinite(*f) || !isfinite(vec_sum_abs(grad, e->nparams));
    return ST_OK;
}

static status evaluate_cb(void *ctx, const float *x, float *g, double *f)
{
    return render_engine_evaluate(ctx, x, g, f);
}

/* A grid origin in [0, core), a multiple of the stride. */
static int draw_origin(render_engine *e, int T, int L)
{
    if (!e->plan.tiled || T >= L)
        return 0;
    int core = T - 2 * e->plan.margin;
    return (int)rng_range(&e->r, 0, core / e->stride - 1) * e->stride;
}

status render_engine_step(render_engine *e, long iter, double *f)
{
    if (!e->begun)
        return error_set("render", "step before render_engine_begin");
    reg_transform_draw(reg_context_transform(e->regc), &e->r);
    if (e->grid_random) {
        e->grid_oy = draw_origin(e, e->plan.wh, e->Hs);
        e->grid_ox = draw_origin(e, e->plan.ww, e->Ws);
    }
    layout_cells(e);
    status st = optim_step(e->opt, e->params, evaluate_cb, e, f);
    if (st != ST_OK)
        return st;
    if (e->projects) {
        reg_step(e->regc, iter, e->params, e->d_image);
        if (e->c.optim.kind == OPTIM_LBFGS)
            optim_restart(e->opt);
    }
    return ST_OK;
}

/* ---- accessors --------------------------------------------------------------- */

size_t render_engine_param_count(const render_engine *e) { return e->nparams; }
float *render_engine_params(render_engine *e) { return e->params; }
size_t render_engine_evaluations(const render_engine *e) { return e->evaluations; }
bool render_engine_nonfinite(const render_engine *e) { return e->nonfinite; }
reg_context *render_engine_reg(render_engine *e) { return e->regc; }

int render_engine_values(const render_engine *e, const char *const **labels, const double **values)
{
    *labels = e->labels;
    *values = e->values;
    return e->nvalues;
}

void render_engine_set_grid(render_engine *e, int oy, int ox)
{
    e->grid_random = oy < 0 || ox < 0;
    e->grid_oy = oy < 0 ? 0 : oy;
    e->grid_ox = ox < 0 ? 0 : ox;
    if (e->begun)
        layout_cells(e);
}

void render_engine_windows(const render_engine *e, int *window_h, int *window_w, int *margin)
{
    *window_h = e->plan.wh;
    *window_w = e->plan.ww;
    *margin = e->plan.margin;
}

status render_engine_image(render_engine *e, image *out)
{
    if (!e->begun)
        return error_set("render", "no octave begun");
    if (!out->data && image_alloc(out, e->W, e->H, "render") != ST_OK)
        return ST_ERROR;
    if (out->width != e->W || out->height != e->H)
        return error_set("render", "image is %dx%d, the octave %dx%d", out->width, out->height, e->W, e->H);
    if (e->identity)
        memcpy(out->data, e->params, e->nimage * sizeof(float));
    else
        reg_param_forward(reg_context_param(e->regc), e->params, out->data);
    return ST_OK;
}

/* ---- features of other images ---------------------------------------------- */

/* Calls fn with each cell's crop of the given layers' activations for `im`
 * (windowed like the image, on a grid at the origin). */
typedef status (*cell_fn)(render_engine *e, void *ctx, const float *const *acts, const act_shape *shapes);

static status visit_cells(render_engine *e, const image *im, const bool *want, cell_fn fn, void *ctx)
{
    window_plan p;
    window_buf w = {0};
    axis_cells ay = {0}, ax = {0};
    int *layers = alloc_array((size_t)e->nl, sizeof *layers, "render"), n = 0;
    float **crops = alloc_array((size_t)e->nl, sizeof *crops, "render");
    const float **acts = alloc_array((size_t)e->nl, sizeof *acts, "render");
    act_shape *shapes = alloc_array((size_t)e->nl, sizeof *shapes, "render"), *full = NULL;
    status st = ST_ERROR;
    if (!layers || !crops || !acts || !shapes || plan_windows(e, im->height, im->width, &p) != ST_OK ||
        window_buf_alloc(&w, &p) != ST_OK || axis_alloc(&ay, axis_cell_capacity(&p, p.H, p.wh)) != ST_OK ||
        axis_alloc(&ax, axis_cell_capacity(&p, p.W, p.ww)) != ST_OK ||
        !(full = alloc_array((size_t)e->nl, sizeof *full, "render")) || layers_fit(e, p.nh, p.nw, full) != ST_OK)
        goto done;
    for (int l = 0; l < e->nl; l++) {
        if (!want[l])
            continue;
        layers[n++] = e->net_layer[l];
        if (p.tiled && !(crops[l] = floats(act_size(full[l]), "render")))
            goto done;
    }
    axis_layout(&p, p.H, p.wh, 0, e->stride, &ay);
    axis_layout(&p, p.W, p.ww, 0, e->stride, &ax);
    for (int iy = 0; iy < ay.n; iy++)
        for (int ix = 0; ix < ax.n; ix++) {
            if (interrupt_signal) {
                st = ST_INTERRUPTED;
                goto done;
            }
            if ((st = forward_window(e, &p, &w, im->data, ay.ws[iy], ax.ws[ix], layers, n, false)) != ST_OK)
                goto done;
            if (crop_cell(e, &p, &ay, iy, &ax, ix, want, acts, shapes, NULL, crops) != ST_OK) {
                st = ST_ERROR;
                goto done;
            }
            if ((st = fn(e, ctx, acts, shapes)) != ST_OK)
                goto done;
        }
    st = ST_OK;
done:
    for (int l = 0; crops && l < e->nl; l++)
        free(crops[l]);
    free(crops);
    free(acts);
    free(shapes);
    free(full);
    free(layers);
    window_buf_free(&w);
    axis_free(&ay);
    axis_free(&ax);
    return st;
}

typedef struct {
    float **grams;
    size_t *positions; /* per term */
} gram_ctx;

static status gram_cell(render_engine *e, void *ctx, const float *const *acts, const act_shape *shapes)
{
    gram_ctx *g = ctx;
    for (int t = 0; t < objective_term_count(e->obj); t++) {
        if (!g->grams[t])
            continue;
        int l = objective_term_layer(e->obj, t);
        gram_accumulate(g->grams[t], acts[l], shapes[l].c, act_positions(shapes[l]));
        g->positions[t] += act_positions(shapes[l]);
    }
    return ST_OK;
}

status render_engine_grams(render_engine *e, const image *im, float **grams, int *channels)
{
    int nt = objective_term_count(e->obj);
    act_shape *shapes = alloc_array((size_t)e->nl, sizeof *shapes, "render");
    size_t *positions = alloc_array((size_t)nt, sizeof *positions, "render");
    window_plan p;
    status st = ST_ERROR;
    for (int t = 0; t < nt; t++)
        grams[t] = NULL;
    if (!shapes || !positions || plan_windows(e, im->height, im->width, &p) != ST_OK ||
        layers_fit(e, p.nh, p.nw, shapes) != ST_OK)
        goto done;
    for (int t = 0; t < nt; t++) {
        channels[t] = 0;
        if (objective_term_kind(e->obj, t) != LOSS_STYLE)
            continue;
        int c = shapes[objective_term_layer(e->obj, t)].c;
        channels[t] = c;
        if (!(grams[t] = floats((size_t)c * c, "style Gram")))
            goto done;
    }
    gram_ctx g = {grams, positions};
    if ((st = visit_cells(e, im, e->layer_style, gram_cell, &g)) != ST_OK)
        goto done;
    for (int t = 0; t < nt; t++)
        if (grams[t])
            gram_finish(grams[t], channels[t], positions[t]);
    st = ST_OK;
done:
    if (st != ST_OK)
        for (int t = 0; t < nt; t++) {
            free(grams[t]);
            grams[t] = NULL;
        }
    free(shapes);
    free(positions);
    return st;
}

static status energy_cell(render_engine *e, void *ctx, const float *const *acts, const act_shape *shapes)
{
    double *energy = ctx;
    for (int t = 0; t < objective_term_count(e->obj); t++) {
        int l = objective_term_layer(e->obj, t);
        size_t n = act_size(shapes[l]);
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += (double)acts[l][i] * acts[l][i];
        energy[t] += sum;
    }
    return ST_OK;
}

status render_engine_feature_energy(render_engine *e, const image *im, double *energy)
{
    bool *all = alloc_array((size_t)e->nl, sizeof *all, "render");
    if (!all)
        return ST_ERROR;
    for (int l = 0; l < e->nl; l++)
        all[l] = true;
    for (int t = 0; t < objective_term_count(e->obj); t++)
        energy[t] = 0;
    status st = visit_cells(e, im, all, energy_cell, energy);
    free(all);
    return st;
}

status render_engine_set_guide(render_engine *e, const image *im)
{
    window_plan p = {.H = im->height, .W = im->width, .wh = im->height, .ww = im->width,
                     .nh = im->height, .nw = im->width};
    window_buf w = {0};
    status st = ST_ERROR;
    if (window_buf_alloc(&w, &p) != ST_OK ||
        (st = forward_window(e, &p, &w, im->data, 0, 0, e->net_layer, e->nl, false)) != ST_OK) {
        st = st == ST_INTERRUPTED ? st : ST_ERROR;
        goto done;
    }
    st = ST_ERROR;
    for (int t = 0; t < objective_term_count(e->obj); t++) {
        if (objective_term_kind(e->obj, t) != LOSS_GUIDE)
            continue;
        int l = objective_term_layer(e->obj, t);
        const tensor *a = net_activation(e->s, e->net_layer[l]);
        act_shape s;
        if (shape_of(e, l, a->ndim, a->shape, &s) != ST_OK ||
            objective_set_target(e->obj, t, a->data, s) != ST_OK)
            goto done;
    }
    st = ST_OK;
done:
    window_buf_free(&w);
    return st;
}
