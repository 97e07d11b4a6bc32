/* synth — the optimization core.
 *
 * Owns: the float image type and its I/O, pyramids and resampling, loss terms,
 * the objective, optimizers, image parameterizations, and the render loops
 * (style, dream, classvis, neuron, invert, animate, explain).
 * Knows nothing about: ONNX, argv.
 *
 * This header is the whole contract of synth/; everything else in synth/ is
 * private.
 */
#ifndef SYNTH_SYNTH_H
#define SYNTH_SYNTH_H

#include "net/net.h"
#include "regularizers/regularizers.h"

/* ===== Images: the float image type, reading, writing, resampling ========== */

/* A planar RGB image, float32 samples in [0, 1]:
 *   data[c*height*width + y*width + x],  c = 0 R, 1 G, 2 B.
 * Owned by whoever allocated it; image_free() releases it. A zeroed image
 * (data NULL) is empty and may be freed. */
typedef struct {
    int width, height;
    float *data;
} image;

/* Decoding and image_alloc() refuse images above a pixel limit (width * height),
 * checked from the file's header before any pixel memory is allocated.
 * Default 2^28 pixels; set once at startup (not per thread). 0 restores the
 * default. */
#define IMAGE_DEFAULT_PIXEL_LIMIT ((uint64_t)1 << 28)
void image_set_pixel_limit(uint64_t pixels);
uint64_t image_pixel_limit(void);

/* Allocates a zeroed width x height image (both >= 1, within the pixel limit,
 * sizes overflow-checked). Errors name `what` (a file, or "image"). */
status image_alloc(image *im, int width, int height, const char *what);
void image_free(image *im);                  /* frees data, zeroes *im */
status image_copy(const image *src, image *dst); /* dst: a fresh allocation */
static inline float *image_plane(const image *im, int c)
{
    return im->data + (size_t)c * (size_t)im->width * (size_t)im->height;
}

typedef enum { IMAGE_FORMAT_UNKNOWN = 0, IMAGE_FORMAT_PNG, IMAGE_FORMAT_JPEG } image_format;
const char *image_format_name(image_format f); /* "PNG", "JPEG", "unknown" */

/* Text metadata: PNG tEXt chunks (iTXt when the value is not ASCII; UTF-8),
 * JPEG COM markers holding "key: value". Keys are 1..79 printable ASCII
 * characters without ':' and without leading, trailing or doubled spaces.
 * A JPEG comment not of that form reads back with the key "comment". */
typedef struct {
    char *key;
    char *value;
} image_text;
/* ST_OK when `key` is a valid text key; else an error naming the key. */
status image_text_key_check(const char *key);

/* What a file holds, from image_probe() / image_verify(). */
typedef struct {
    image_format format;
    int width, height;
    int channels;       /* colour + alpha, after palette and tRNS expansion:
                           1 gray, 2 gray+alpha, 3 RGB, 4 RGBA or CMYK */
    int bit_depth;      /* bits per stored sample (palette: per index) */
    const char *color;  /* as stored: "gray", "gray+alpha", "palette", "rgb",
                           "rgba", "ycbcr", "cmyk", "ycck" (static string) */
    bool interlaced;    /* PNG Adam7, or progressive JPEG */
    int text_count;
    image_text *text;   /* owned; freed by image_info_free() */
} image_info;
void image_info_free(image_info *info);      /* frees text, zeroes *info */

/* Reading. The decoder is chosen by the first bytes (PNG signature or JPEG
 * SOI), never by the name. Decoded:
 *   JPEG: baseline, progressive, arithmetic; gray; YCbCr/RGB; CMYK and YCCK
 *         converted by R = (1-C)(1-K) etc. (Adobe files store inverted ink).
 *   PNG:  1..16-bit gray, gray+alpha, palette (tRNS), RGB, RGBA, interlaced;
 *         alpha composited over white; 16-bit samples keep full precision.
 * Any damage (truncation, bad data, corrupt pixel data warnings) fails with one
 * message "<name>: <reason>"; libpng/libjpeg never print or exit. On error
 * *out is left empty. */
status image_read(const char *path, image *out);
/* The same decoders on bytes in memory; `name` is used in error messages.
 * (Entry point for the fuzzers.) */
status image_decode(const void *bytes, size_t n, const char *name, image *out);
/* Headers and metadata only, no pixel decoding: format, size, channels, bit
 * depth, colour type, and the text before the pixel data (all of it for files
 * synth writes). Sizes above the pixel limit are an error. */
status image_probe(const char *path, image_info *info);
status image_probe_memory(const void *bytes, size_t n, const char *name, image_info *info);
/* image_probe plus a decode of every pixel (one row kept at a time): fails on
 * truncated or damaged files, and also reports PNG text after the pixel data. */
status image_verify(const char *path, image_info *info);

/* Writing. The format comes from the extension (.png, .jpg, .jpeg, any case).
 * Samples are clamped to [0, 1] and rounded (NaN writes as 0); the output is
 * RGB. Writes are atomic (atomic_open/atomic_commit): a failure leaves any
 * previous file untouched and no temporary behind. */
typedef struct {
    int png_bit_depth;       /* 8 or 16; 0 means 8 */
    int jpeg_quality;        /* 1..100; 0 means IMAGE_DEFAULT_JPEG_QUALITY */
    const image_text *text;  /* stored as PNG tEXt/iTXt or JPEG comments */
    int text_count;
} image_write_options;
#define IMAGE_DEFAULT_JPEG_QUALITY 92
/* opts may be NULL (defaults, no text). */
status image_write(const char *path, const image *im, const image_write_options *opts);
/* The output flags of the commands that write images (presets.h's
 * IMAGE_OUTPUT_OPTION_SPECS: --png-depth 8|16, --jpeg-quality Q); zeroed
 * means the defaults (8 bits, IMAGE_DEFAULT_JPEG_QUALITY). */
typedef struct {
    int png_depth;    /* the index in "8|16": 0 = 8 bits per sample, 1 = 16 */
    int jpeg_quality; /* 1..100; 0 = IMAGE_DEFAULT_JPEG_QUALITY */
} image_output_options;
/* The image_write_options the flags mean (no text). */
image_write_options image_output_write_options(const image_output_options *o);
/* image_check_output, then whether `o` suits the file's format (16 bits
 * per sample: PNG only): what image_write would refuse, before any work. */
status image_check_output_options(const char *path, const image_write_options *o);
/* The format for `path`'s extension, IMAGE_FORMAT_UNKNOWN when it has none we
 * write. */
image_format image_format_from_extension(const char *path);
/* Commands call this before any work: fails on an unknown extension, a missing
 * or unwritable folder, or a directory in the way. */
status image_check_output(const char *path);

/* Resampling, in float, separable, borders clamped (edge pixels repeat); pixel
 * centres are aligned ((x + 0.5) * src/dst - 0.5). Weights are normalized, so
 * a constant image stays constant.
 *   IMAGE_RESAMPLE_AREA     exact area average of the source under each output
 *                           pixel (the box filter; for pyramid downscales)
 *   IMAGE_RESAMPLE_LANCZOS  Lanczos a=3
 *   IMAGE_RESAMPLE_BICUBIC  Keys cubic, a=-0.5
 * When shrinking an axis by a factor s, Lanczos and bicubic kernels are
 * widened by s (antialiasing); when enlarging they interpolate. Typical use:
 * area or Lanczos to go down a pyramid, bicubic to come back up. */
typedef enum { IMAGE_RESAMPLE_AREA, IMAGE_RESAMPLE_LANCZOS, IMAGE_RESAMPLE_BICUBIC } image_resample;
/* dst: a fresh width x height allocation (dst must not be src). */
status image_resize(const image *src, int width, int height, image_resample filter, image *dst);
/* The same for one period of a periodic image (a tileable texture): pixels
 * beyond an edge are those of the opposite edge, so the result is one period
 * of the resized periodic image and tiles as the source does. */
status image_resize_periodic(const image *src, int width, int height, image_resample filter,
                             image *dst);

/* Zoom, rotation and shift about the centre, keeping the size (animation
 * frames). Output pixel (i, j) (row, column) reads the source at
 *     (u, v) = (cy, cx) + R(−θ)·((i, j) − (cy, cx) − (dy, dx)) / zoom
 * with cy = (H − 1)/2, cx = (W − 1)/2, θ in radians counter-clockwise as
 * displayed (y down), R(−θ)(a, b) = (a cos θ + b sin θ, b cos θ − a sin θ):
 * the picture grows by `zoom`, turns by θ, then moves by (dx, dy) pixels.
 * filter: LANCZOS or BICUBIC, the kernel K(t) taken in the source's axes,
 * w = K(i − u)·K(j − v), widened by 1/zoom when zoom < 1 (antialiasing);
 * weights normalized, taps outside clamped to the edge. zoom 1, θ 0 and a
 * whole-pixel shift copy pixels exactly. dst: a fresh allocation. */
status image_warp(const image *src, double zoom, double radians, double dx, double dy,
                  image_resample filter, image *dst);

/* ===== Model input: the shared model flags, images in, gradients out ======
 * Every command that runs a network takes the same model flags (presets.h's
 * MODEL_OPTION_SPECS) into a model_options, opens the model with model_open,
 * and feeds images through image_to_input. The map from image values v in
 * [0, 1] to the network's input x is affine and per channel:
 *   x[k] = (v[c] * scale - mean[k]) / std[k],  c = k (RGB) or c = 2 - k (BGR)
 * so gradients come back through its exact adjoint (input_grad_to_image). */
typedef struct {
    char *model;      /* "default" (NULL too), a .onnx path, or a cached name */
    number_list mean; /* 0, 1 or 3 values in the network's channel order */
    number_list std;  /* likewise, > 0 */
    double scale;     /* > 0 replaces the model's input scale (1 or 255) */
    bool bgr, rgb;    /* force the network's channel order (at most one) */
    char *labels;     /* class names, one per line, replacing the model's */
} model_options;

/* Opens the model and applies the overrides and labels. Errors name the flag
 * or file ("--std: values must be positive"). */
status model_open(const model_options *o, net_model **out);

/* The 1x3xHxW network input for `im`. When x->data is NULL, x is allocated;
 * else it must already be 1x3xHxW with H, W the image's. */
status image_to_input(const image *im, const net_preprocess *p, tensor *x);
/* The inverse map: image values (not clamped) from a 1x3xHxW input. `im` is
 * allocated when im->data is NULL, else must have the tensor's size. */
status input_to_image(const tensor *x, const net_preprocess *p, image *im);
/* The adjoint of image_to_input's linear part: given d/dx (1x3xHxW), the
 * gradient with respect to the image values, g[c] = dx[k] * scale / std[k].
 * `g` is allocated when g->data is NULL, else must match; it is overwritten. */
status input_grad_to_image(const tensor *dx, const net_preprocess *p, image *g);

/* ===== Losses: (value, gradient) on activations ============================ */

/* An activation is one layer's output for one image: C×H×W floats, channel
 * major (a[(c·H + y)·W + x]). Every loss function returns its value S in
 * double and ADDS scale·∂S/∂a into `grad` (same shape as `a`), so several
 * terms on one layer accumulate into one seed gradient. S is always the
 * quantity named below, unweighted and unsigned; whether it is maximised or
 * minimised is decided in one place, the objective (see there).
 * Values are accumulated in double; gradients are float. Preconditions (an
 * index inside the shape, matching shapes) are the caller's: the objective
 * checks them and reports errors. */
typedef struct { int c, h, w; } act_shape;
size_t act_size(act_shape s);      /* C·H·W */
size_t act_positions(act_shape s); /* H·W */

/* Channel mean: S = (1/HW) Σ_{y,x} a[c,y,x]. With a 1×1 layer of logits this
 * is the class score (the pre-softmax logit of class c). */
double loss_channel_mean(const float *a, act_shape s, int c, double scale, float *grad);

/* Log-softmax probability of class k over the channel means z_c (the logits
 * when H = W = 1): S = z_k − log Σ_c exp z_c, computed as a stable
 * log-sum-exp. ∂S/∂a[c,y,x] = (δ_ck − softmax(z)_c) / HW. */
double loss_log_softmax(const float *a, act_shape s, int k, double scale, float *grad);

/* One unit: S = a[c, y, x]. */
double loss_neuron(const float *a, act_shape s, int c, int x, int y, double scale, float *grad);

/* Feature inversion (Mahendran & Vedaldi 2015), over n values:
 * S = ‖a − t‖² / target_norm2, where target_norm2 = ‖t‖² of the whole
 * target (a parameter, so a tiled caller can pass the global one).
 * ∂S/∂a = 2(a − t) / target_norm2. */
double loss_inversion(const float *a, const float *target, size_t n, double target_norm2,
                      double scale, float *grad);

/* Content (Gatys): S = ½ Σ (a − t)², ∂S/∂a = a − t. */
double loss_content(const float *a, const float *target, size_t n, double scale, float *grad);

/* DeepDream: S = ½ Σ a², ∂S/∂a = a. */
double loss_dream(const float *a, size_t n, double scale, float *grad);

/* Guided dream (as the deepdream notebook's guide): with a's feature vectors
 * a_p ∈ R^C (p over H·W) and the guide's g_q (guide: C × guide_positions,
 * channel major), S = Σ_p max_q a_p·g_q, and ∂S/∂a_p = g_{q*(p)}, the
 * best-matching guide vector (the first one on ties). The dot products go
 * through SGEMM in blocks of rows: `work` holds work_len ≥ guide_positions
 * floats (more rows per block when larger; loss_guided_work suggests a size). */
double loss_guided_dream(const float *a, act_shape s, const float *guide,
                         size_t guide_positions, double scale, float *grad, float *work,
                         size_t work_len);
size_t loss_guided_work(size_t guide_positions);

/* Gram style (Gatys et al. 2016), with the activation seen as F: C × N,
 * N = H·W positions:
 *   G = F Fᵀ / (C·N)                       (C × C, symmetric)
 *   S = Σ_ij (G_ij − A_ij)²                (A: the target Gram, symmetric)
 *   ∂S/∂F = 4/(C·N) · (G − A) F
 * (∂S/∂G = 2(G − A); G = F Fᵀ/K gives ∂S/∂F = (1/K)(∂S/∂G + ∂S/∂Gᵀ) F.)
 * The style term of layer l is w_l·S_l; several style images are blended
 * by setting A = Σ_s b_s G_s / Σ_s b_s (objective_set_style).
 * neural-style's per-layer loss is the mean, S / C², i.e. w_l there is
 * w_l·C_l² here.
 *
 * The Gram is accumulable over tiles of positions (memory then follows the
 * tile): zero G, gram_accumulate each tile (G += F_t F_tᵀ, as blocks of the
 * upper triangle split over net's thread pool, one SGEMM each, the blocks
 * fixed by C alone so any thread count gives the same bytes; only the upper
 * triangle is kept until gram_finish), then gram_finish with
 * the total position count. The gradient is two-pass: gram_loss with the
 * global G gives dG = scale·4/(C·N)·(G − A); then each tile's gradient is
 * gram_backward: grad_t += dG F_t (net_gemm). */
void gram_accumulate(float *gram, const float *f, int c, size_t positions);
void gram_finish(float *gram, int c, size_t positions);
void gram_compute(const float *f, act_shape s, float *gram); /* the three in one */
double gram_loss(const float *gram, const float *target, int c, size_t positions,
                 double scale, float *dgram);
void gram_backward(const float *dgram, const float *f, int c, size_t positions, float *grad);

/* ----- The objective: weighted terms on named layers -----------------------
 * value = Σ_t direction_t · weight_t · S_t, always MINIMISED: a term that
 * maximises S (class, neuron, channel, dream, guide) has direction −1, one
 * that matches a target (invert, content, style) +1. That sign is applied
 * in objective_evaluate and nowhere else; optimizers only descend.
 *
 * Layers are names only (the net's layer names); the objective lists the
 * distinct layers its terms need, in the order first used, and takes their
 * activations and returns their seed gradients by that index:
 *     for each layer l: names[l] = objective_layer_name(o, l)
 *     forward(input, names) → acts[l], shapes[l]
 *     objective_begin(o); objective_evaluate(o, acts, shapes, seeds)
 *     backward(seeds at names) → ∂value/∂input;  objective_value(o)
 * Tiled evaluation: objective_begin once per step, then
 * objective_evaluate_cell per tile, each activation a crop of its whole
 * layer (act_cell); values add up over tiles to the untiled ones: a channel
 * mean (CLASS, CHANNEL) is the crop's sum over the whole layer's H·W, a
 * NEURON unit is in whole-layer coordinates and counts in the one crop that
 * holds it, and INVERT divides by the whole target's ‖Φ‖²
 * (objective_set_target_norm). LOGPROB is not a sum over positions: only
 * whole layers. Style terms need the Gram of the whole
 * image, so with tiles they take two passes: per tile forward and
 * objective_gram_accumulate; once objective_gram_finish (the style values
 * and dG); then per tile forward, objective_evaluate (the style seeds use
 * the global Gram), backward. Without the first pass each evaluate uses the
 * Gram of the activation it is given. */
typedef enum {
    LOSS_CLASS,   /* maximise the logit of class `channel` (loss_channel_mean) */
    LOSS_LOGPROB, /* maximise log softmax of class `channel` */
    LOSS_NEURON,  /* maximise the unit (channel, x, y); x, y < 0: the centre (W/2, H/2) */
    LOSS_CHANNEL, /* maximise the mean of `channel` */
    LOSS_INVERT,  /* minimise ‖a − target‖² / ‖target‖² */
    LOSS_CONTENT, /* minimise ½ Σ (a − target)² */
    LOSS_STYLE,   /* minimise Σ (G − A)² */
    LOSS_DREAM,   /* maximise ½ Σ a² */
    LOSS_GUIDE,   /* maximise Σ_p max_q a_p·g_q against the guide's features */
} loss_kind;
const char *loss_kind_name(loss_kind kind); /* "class", "logprob", ... */

typedef enum { LOSS_NATURAL = 0, LOSS_MINIMIZE = 1, LOSS_MAXIMIZE = -1 } loss_direction;

typedef struct {
    loss_kind kind;
    const char *layer;        /* the net's layer name; copied */
    double weight;            /* ≥ 0, finite */
    loss_direction direction; /* LOSS_NATURAL: the kind's own, as listed above */
    int channel;              /* class k / channel c (CLASS, LOGPROB, NEURON, CHANNEL) */
    int x, y;                 /* NEURON */
} loss_term;

typedef struct objective objective;
status objective_create(objective **out);
void objective_free(objective *o);
/* Adds a term (index = objective_term_count before the call). Errors name
 * the term's label: "style:relu3_1: weight -1 must be a finite number ≥ 0". */
status objective_add(objective *o, const loss_term *term);
/* Changes term t's weight (same check as objective_add): render loops
 * normalize weights per octave (e.g. a style term by its target's ‖A‖²). */
status objective_set_weight(objective *o, int t, double weight);
double objective_term_weight(const objective *o, int t);

int objective_term_count(const objective *o);
const char *objective_term_label(const objective *o, int t); /* "kind:layer" */
int objective_term_layer(const objective *o, int t);         /* its layer index */
loss_kind objective_term_kind(const objective *o, int t);
int objective_layer_count(const objective *o);
const char *objective_layer_name(const objective *o, int layer);

/* Targets; each replaces the previous one (new octave, new tile), copying.
 * INVERT, CONTENT: the target features, the shape the activation will have;
 * GUIDE: the guide image's features at that layer, any H×W.
 * STYLE: the target A = Σ b_s grams[s] / Σ b_s of `count` finished C×C
 * Grams (gram_compute) with blend weights b_s ≥ 0, Σ b_s > 0. */
status objective_set_target(objective *o, int t, const float *features, act_shape s);
status objective_set_style(objective *o, int t, int count, const float *const *grams,
                           const double *blend, int c);
/* INVERT with its target given tile by tile: S = ‖a − t‖² / norm2 with
 * norm2 > 0 the whole target's ‖t‖², kept across objective_set_target
 * (whose tile may then be all zero); 0: back to each target's own ‖t‖². */
status objective_set_target_norm(objective *o, int t, double norm2);

/* One step: objective_begin, [tiled style: gram_accumulate × tiles,
 * gram_finish], evaluate × tiles. acts[l], shapes[l], seeds[l] for each of
 * the objective's layers; evaluate overwrites seeds[l] (zeroed, then every
 * term's gradient added) and adds each term's value to its running total.
 * objective_gram_accumulate reads only the style terms' layers (acts[l] of
 * other layers may be NULL). Errors, naming the term: a shape that does not
 * fit it (channel or unit out of range, target or Gram of another shape), a
 * missing target, calls out of this order. */
void objective_begin(objective *o);
status objective_gram_accumulate(objective *o, const float *const *acts, const act_shape *shapes);
status objective_gram_finish(objective *o);
status objective_evaluate(objective *o, const float *const *acts, const act_shape *shapes,
                          float *const *seeds);
/* Where a tile's activation (shape s) lies in its layer: positions
 * [y0, y0 + s.h) × [x0, x0 + s.w) of the layer's `whole` shape, taken
 * modulo whole.h, whole.w (windows that wrap around a periodic image). */
typedef struct {
    int y0, x0;
    act_shape whole;
} act_cell;
/* objective_evaluate on tiles: cells[l] places acts[l] in layer l (a NEURON
 * unit is checked against the whole layer); cells NULL: whole layers. */
status objective_evaluate_cell(objective *o, const float *const *acts, const act_shape *shapes,
                               const act_cell *cells, float *const *seeds);
double objective_value(const objective *o);                /* Σ direction·weight·S */
double objective_term_value(const objective *o, int t);    /* S_t since begin */
/* direction_t · weight_t · S_t: term t's share of objective_value. */
double objective_term_contribution(const objective *o, int t);

/* ===== Optimizers ========================================================== */

/* Minimise f over a flat float vector x (n values, up to ~50M: the pixels).
 * The state is created once for n: a step allocates nothing. Each step calls
 * `fn` to evaluate f and ∇f at a point (L-BFGS several times per step, for
 * its line search); fn writes ∇f into the g it is given (a buffer of the
 * optimizer: not the same one every call) and may return ST_INTERRUPTED or
 * ST_ERROR, which the step returns after leaving x at the last accepted
 * point. A non-finite value or gradient at x is an error ("<kind>: the
 * objective or its gradient is not finite"), x untouched; at an L-BFGS trial
 * point it only means the step was too long. Everything is serial and in a
 * fixed order: same inputs, same bytes.
 *
 *   OPTIM_NORMALIZED  x ← x − lr · g / (mean|g| + eps)       (DeepDream's
 *                     normalised step; ascent on S is descent on −S, which
 *                     the objective's direction provides.) 1 evaluation.
 *                     Memory: n floats.
 *   OPTIM_ADAM        Kingma & Ba, PyTorch's form: m ← β1 m + (1−β1) g,
 *                     v ← β2 v + (1−β2) g², x ← x − lr · m̂ / (√v̂ + eps) with
 *                     m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ). 1 evaluation.
 *                     Memory: 3n floats.
 *   OPTIM_LBFGS       L-BFGS (Nocedal & Wright, alg. 7.4) with the last
 *                     `history` = m pairs (s, y), H₀ = (sᵀy / yᵀy) I, and a
 *                     strong-Wolfe line search (c1 1e-4, c2 0.9, cubic
 *                     interpolation, at most `max_evals` evaluations). The
 *                     first step (and the first after a restart) moves no
 *                     coordinate by more than lr; later ones try step 1 first.
 *                     A non-descent direction or a failed line search drops
 *                     the history and retries along −g; when even that fails
 *                     x is at a (numerical) minimum and steps do nothing.
 *                     Pairs with sᵀy ≤ 0 are not stored. Memory:
 *                     (2m + 2)·n floats (history, g, direction; the line
 *                     search keeps its start point and trial gradient in the
 *                     slot of the pair it is about to replace).
 *                     ~1–2 evaluations per step once the history fills. */
typedef enum { OPTIM_NORMALIZED, OPTIM_ADAM, OPTIM_LBFGS } optim_kind;

typedef struct {
    optim_kind kind;
    double lr;           /* step size; see above. NORMALIZED 1.5, ADAM 0.01, LBFGS 1 */
    double eps;          /* NORMALIZED, ADAM: 1e-8 */
    double beta1, beta2; /* ADAM: 0.9, 0.999 */
    int history;         /* LBFGS: m = 8 */
    int max_evals;       /* LBFGS: evaluations per line search, 20 */
} optim_params;

optim_params optim_defaults(optim_kind kind);
const char *optim_kind_name(optim_kind kind); /* "normalized", "adam", "lbfgs" */

/* f(x) and ∇f(x) into *f and g[0..n). */
typedef status (*optim_fn)(void *ctx, const float *x, float *g, double *f);

typedef struct optimizer optimizer;
/* Checks the parameters (errors name the parameter) and allocates the state. */
status optim_create(const optim_params *p, size_t n, optimizer **out);
void optim_free(optimizer *o);
/* One iteration on x (n values). *f: NORMALIZED, ADAM the value at x before
 * the update (their one evaluation); LBFGS the value at the new x. */
status optim_step(optimizer *o, float *x, optim_fn fn, void *ctx, double *f);
/* Forget moments and history: after x was changed outside the optimizer
 * (clipping, a new octave of the same size) or to start again. */
void optim_restart(optimizer *o);
void optim_set_lr(optimizer *o, double lr); /* e.g. a schedule */
size_t optim_evaluations(const optimizer *o); /* calls of fn so far */
bool optim_converged(const optimizer *o); /* LBFGS found no descent: steps are no-ops */

/* ===== Rendering: options, progress, the render loops ====================== */
/* Every synthesis command is one loop (synth/render_engine.c):
 *
 *   params ─param→ image ─transform→ seen ─window, preprocess→ net forward
 *     (only the layers the objective needs) → objective (value, seeds) →
 *     net backward → adjoints back to the image → + regularizers (L2, TV) →
 *     optimizer step on params → projections (decay, blur, clip, clamp)
 *
 * run over a pyramid of octaves. Images are in [0, 1] (the regularizers'
 * range is reg_range_unit); the network sees them through the model's
 * preprocessing (image_to_input) and gradients come back through its exact
 * adjoint. The transform (jitter, scale, rotation, padding) is drawn anew
 * each iteration and undone by its adjoint; with --boundary wrap the jitter
 * is DeepDream's roll.
 *
 * Windows (tiled gradients): when the seen image is larger than `tile`, it
 * is cut into cells on a grid whose origin is drawn at random each
 * iteration; each cell is evaluated inside a tile×tile window that adds a
 * margin of context around it (tile/16, a multiple of the deepest layer's
 * stride), and a layer position belongs to the cell that holds its
 * receptive field's centre. The tiled objective is the sum over cells of
 * each cell's share of the whole-image terms (see the objective: means over
 * the whole layer's positions, a unit in whole-layer coordinates, INVERT
 * over the whole target's norm, computed once per octave); away from cell
 * borders (by more than the receptive field less the margin) its value and
 * gradient equal the untiled ones. What a window cannot see as the whole
 * image does is refused tiled ("--tile: ..."): a layer with no spatial
 * extent (1×1: logits after global pooling, Gemm) and LOGPROB terms. Memory follows the window, not the image.
 * Style terms take two passes (the Gram of the whole image first, see the
 * objective); CONTENT and INVERT targets are recomputed per window from the
 * target image seen through the same transform.
 *
 * A model whose layers do not work at the image's size (a classifier with a
 * fixed input, e.g. VGG's fully connected layers) gets the whole seen image
 * resized to its declared input size (bilinear, with its adjoint), untiled.
 *
 * Nothing is allocated inside the iteration loop: buffers, plans, the
 * regularizer context and the optimizer are made when an octave begins.
 * Determinism: one rng seeded with the run's seed draws every random
 * number, in a fixed order: same seed and thread count, same bytes. */

/* The options every synthesis command shares (flags of the same names; the
 * render loops read the first group, cli/ the second). */
typedef struct {
    int size;            /* --size PX: long side at the last octave; 0: the command's default */
    int iters;           /* --iters N: iterations per octave */
    int octaves;         /* --octaves N ≥ 1 */
    double octave_scale; /* --octave-scale S > 1: each octave S times the size of the one before */
    int seed;            /* --seed N */
    int tile;            /* --tile PX: windows of at most PX×PX; 0 = the whole image */
    int optimizer;       /* --optimizer: an optim_kind */
    double lr;           /* --lr X: the optimizer's step size */
    int save_every;      /* --save-every N: a snapshot every N iterations; 0 = none */
    /* for cli/: */
    int threads;         /* --threads N; 0 = one per CPU */
    char *output;        /* -o FILE */
    image_output_options image; /* --png-depth, --jpeg-quality (snapshots and -o) */
    char *log_json;      /* --log-json FILE */
    bool quiet;          /* --quiet */
} render_options;

/* Checks the shared options; errors name the flag. */
status render_options_check(const render_options *o);

/* What a render loop reports after each iteration. The values: each
 * objective term's signed, weighted contribution (labels "kind:layer", e.g.
 * "style:relu3_1"), then the regularizers' L2 + TV (label "reg"); they add
 * up to loss, the objective the optimizer minimises. */
typedef struct {
    int octave, octaves;   /* 1-based */
    int iter, iters;       /* 1-based, within the octave */
    int width, height;     /* the octave's working image */
    double loss;
    int value_count;
    const char *const *labels;
    const double *values;
    size_t evaluations;    /* objective evaluations in this octave so far */
} render_progress;

typedef struct {
    /* After each iteration (may be NULL). */
    void (*progress)(void *ctx, const render_progress *p);
    /* Every save_every iterations (may be NULL): the image the run would
     * return now, at the output's size. An error stops the run. */
    status (*snapshot)(void *ctx, const image *im, int octave, int iter);
    void *ctx;
} render_callbacks;

/* ----- The commands' options and loops -----------------------------------
 * Each command has an options struct (its flags: presets.h's tables), a
 * default, and a loop that takes the model (opened by the caller with
 * model_open) and the input images (read by the caller: the loops read no
 * files) and returns the result in *out (allocated).
 *
 * Interruption: when interrupt_signal is set, the loop stops within one
 * window's work and returns ST_INTERRUPTED with the current image in *out
 * (at the output's size). A non-finite objective or gradient returns
 * ST_ERROR ("octave 2/4, iteration 31: the objective or its gradient is not
 * finite ...") with the last good image in *out. On other errors *out is
 * empty. */


typedef struct {
    model_options model;
    reg_options reg;
    render_options run;
    char *content;                /* --content FILE (read by the caller) */
    string_list styles;           /* --style FILE, repeatable */
    number_list style_blend;      /* --style-blend w1,w2,...: one per style; empty = equal */
    string_list content_layers;   /* --content-layers */
    string_list style_layers;     /* --style-layers */
    number_list style_layer_weights; /* --style-layer-weights: one per style layer; empty = equal */
    double content_weight;        /* --content-weight */
    double style_weight;          /* --style-weight */
    char *init;                   /* --init content|random|FILE */
    bool original_colors;         /* --original-colors */
    double style_scale;           /* --style-scale: style images at this times the output's size */
} style_options;

/* Gatys et al. 2016 with neural-style's interface. The objective is
 *   content_weight · Σ_l ½‖F_l − P_l‖² / ‖P_l‖²
 *   + style_weight · Σ_l w_l Σ (G_l − A_l)² / ‖A_l‖²      (Σ w_l = 1)
 *   + tv_weight · TV(image) + the other regularizers,
 * each layer's term relative to its target's energy, so the weights mean
 * the same on any network and input scale; A_l blends the style images'
 * Grams. Octaves run coarse to fine, each starting from the previous
 * result; style images are resized to style_scale × the octave's long side.
 * original_colors keeps the content's chroma (YIQ): the result's
 * luminance, the content's I and Q. */
void style_options_default(style_options *o);
/* What --init asks for: NULL or "content", "random", else an image file
 * (the caller reads it and passes it as style_inputs.init). */
typedef enum { STYLE_INIT_CONTENT, STYLE_INIT_RANDOM, STYLE_INIT_IMAGE } style_init;
style_init style_init_kind(const char *init);
typedef struct {
    const image *content;     /* required */
    const image *styles;      /* style_count of them, ≥ 1 */
    int style_count;
    const image *init;        /* --init FILE: the start image (any size), else NULL */
} style_inputs;
status render_style(const style_options *o, net_model *m, const style_inputs *in,
                    const render_callbacks *cb, image *out);

typedef struct {
    model_options model;
    reg_options reg;
    render_options run;
    char *input;       /* --input FILE */
    char *layer;       /* --layer L */
    int channel;       /* --channel C: dream on one channel (maximise its mean); −1 = all */
    double step;       /* --step S: the normalized step, in 8-bit pixel levels */
    char *guide;       /* --guide FILE */
} dream_options;

/* DeepDream (Mordvintsev et al. 2015): maximise ½Σa² at a layer (or the
 * mean of one channel of it, or the match with a guide image's features), normalized gradient steps of
 * `step`/255, an octave pyramid whose detail (the change the dream made)
 * is carried up to each larger octave: octave k starts from
 * input_k + upsampled detail. Without --size the output has the input's
 * size. */
void dream_options_default(dream_options *o);
status render_dream(const dream_options *o, net_model *m, const image *input,
                    const image *guide /* NULL: none */, const render_callbacks *cb, image *out);

typedef struct {
    model_options model;
    reg_options reg;
    render_options run;
    int class_index;   /* --class K */
    char *layer;       /* --layer L: the class scores (default: classvis_layer) */
    bool logprob;      /* --logprob: maximise log softmax instead of the logit */
} classvis_options;

/* Class visualization (Simonyan et al. 2014; Olah et al. 2017): maximise the
 * score of class K from a random start. */
void classvis_options_default(classvis_options *o);
/* The layer whose channel K is class K's score: --layer, else as the
 * explain commands choose it (explainer_create: the model's output, or the
 * logits under it when it is a Softmax or Sigmoid). NULL on an error (an
 * unknown --layer, no output). */
const char *classvis_layer(const classvis_options *o, net_model *m);
status render_classvis(const classvis_options *o, net_model *m, const render_callbacks *cb,
                       image *out);

typedef struct {
    model_options model;
    reg_options reg;
    render_options run;
    char *layer;       /* --layer L */
    int channel;       /* --channel C */
    number_list unit;  /* --unit X,Y: the unit's position in the layer; empty = the centre */
    bool channel_mean; /* --channel-mean: maximise the mean of the whole channel */
} neuron_options;

void neuron_options_default(neuron_options *o);
status render_neuron(const neuron_options *o, net_model *m, const render_callbacks *cb,
                     image *out);

typedef struct {
    model_options model;
    reg_options reg;
    render_options run;
    char *input;       /* --input FILE */
    char *layer;       /* --layer L */
} invert_options;

/* Feature inversion (Mahendran & Vedaldi 2015): from a random start,
 * minimise ‖Φ(x) − Φ(x₀)‖² / ‖Φ(x₀)‖² at a layer, plus the regularizers. */
void invert_options_default(invert_options *o);
status render_invert(const invert_options *o, net_model *m, const image *input,
                     const render_callbacks *cb, image *out);

/* ----- Animation: DeepDream zoom frames ------------------------------------
 * frame 0 = dream(input); frame k+1 = dream(warp(frame k)), each dream with
 * the dream options and a seed of its own (animate_frame_seed), so any frame
 * is a function of the frame before it as written (8-bit PNG), the options
 * and k alone: cli/ reads frame k back from its file to make frame k + 1,
 * which is what makes a resumed run the same as one without a break. */
typedef struct {
    dream_options dream; /* each frame's dream; dream.run.output is unused */
    int frames;          /* --frames N */
    char *out_dir;       /* --out-dir DIR */
    double zoom;         /* --zoom Z > 0 (1.05) */
    double rotate;       /* --rotate DEG, counter-clockwise as displayed */
    number_list shift;   /* --shift DX,DY; empty = 0,0 */
    int resample;        /* --resample: 0 bicubic, 1 lanczos */
    char *encode;        /* --encode FILE.mp4|FILE.gif (cli/ runs ffmpeg) */
    int fps;             /* --fps N (24) */
} animate_options;
void animate_options_default(animate_options *o);
/* The seed of frame k's dream: splitmix64 of (seed, k), in [0, 2^31). */
int animate_frame_seed(int seed, int k);
/* Frame k from `prev`: k = 0, the dream of prev (the input, at --size when
 * given); k > 0, the dream of prev warped by the options' transform (prev's
 * size). Interruption and errors as render_dream's. */
status render_animate_frame(const animate_options *o, net_model *m, const image *prev, int k,
                            const image *guide /* NULL: none */, const render_callbacks *cb,
                            image *out);

/* ----- Posters: class visualizations with captions ----------------------
 * A grid (explain's grid_layout) of cells, each a cell×cell tile above a
 * caption band, under an optional title band, on the grids' dark
 * background with light text (FreeType, anti-aliased, one line per caption,
 * cut with "…" when too long). Sizes, with g = poster_gap(cell) and C the
 * caption size in pixels:
 *   width  = cols·(cell + g) + g
 *   height = T + rows·(cell + 2C + g) + g,  T = 4C with a title, else 0
 * (the title drawn at 2C). */
typedef struct {
    int cols;           /* ≥ 1 */
    int cell;           /* tile side in pixels, ≥ 8 */
    int caption_px;     /* caption size in pixels, ≥ 4 */
    const char *title;  /* NULL or "": no title band */
    const char *font;   /* a TrueType/OpenType file; NULL: poster_default_font() */
} poster_style;
typedef struct {
    classvis_options vis; /* each cell's classvis (class_index set per cell) */
    string_list classes;  /* --classes K1,K2,... (A-B ranges) */
    int cols;             /* --cols N; 0: about square */
    int cell;             /* --cell PX (224) */
    int caption_size;     /* --caption-size PX; 0: poster_caption_px(cell) */
    char *title;          /* --title TEXT */
    char *font;           /* --font FILE */
} poster_options;
void poster_options_default(poster_options *o);
/* --classes as class indices: *out (allocated, *count of them); errors
 * name --classes and the item. */
status poster_classes(const string_list *classes, int **out, int *count);
int poster_gap(int cell);          /* max(1, cell / 32) */
int poster_caption_px(int cell);   /* the default caption size: max(10, cell / 14) */
/* The first of a fixed list of DejaVuSans.ttf paths (Debian's
 * fonts-dejavu-core first) that exists, or NULL. */
const char *poster_default_font(void);
/* Opens the style's font (errors name --font and the path, or say which
 * package to install), for a check before any rendering. */
status poster_check_font(const poster_style *s);
/* count tiles (any size: resized to the cell; an empty tile leaves its
 * cell blank) with their captions (NULL or "" for none) → *out (allocated). */
status poster_compose(const poster_style *s, const image *tiles, const char *const *captions, int count,
                      image *out);

typedef struct {
    model_options model;
    reg_options reg;
    render_options run;
    string_list styles;           /* --style FILE, repeatable */
    number_list style_blend;      /* --style-blend w1,w2,...: one per style; empty = equal */
    string_list style_layers;     /* --style-layers */
    number_list style_layer_weights; /* --style-layer-weights: one per style layer; empty = equal */
    double style_weight;          /* --style-weight */
    double style_scale;           /* --style-scale: style images at this times their own size */
    int width, height;            /* --width, --height: the result; 0 = from --size and the
                                     first style's aspect (one given: the other by that aspect) */
    bool tileable;                /* --tileable: the result wraps around seamlessly */
    bool match_histogram;         /* --match-histogram: the style's colour histogram */
} texture_options;

/* Texture synthesis (Gatys, Ecker & Bethge 2015): style transfer without
 * content (the style terms of render_style, content weight 0), from noise,
 * coarse to fine. The result is width×height, any size: larger than the
 * style (the style images keep their own scale: at the last octave they are
 * style_scale × their size, at octave k that times the octave's share of the
 * result) and larger than one network pass (--tile, default 1024 as
 * dream's: wider or taller results run in windows).
 *
 * tileable: the network's convolutions and pools pad circularly
 * (net_forward_opts.circular_padding), jitter rolls (--boundary wrap) and
 * the windows of --tile wrap around the image's edges, so the result is a
 * tile of a periodic texture: its 2×2 tiling shows no seam. --pad,
 * --scale-jitter and --rotate-jitter break the periodicity and are refused
 * with it; the TV penalty and the blur wrap around too.
 *
 * match_histogram: the result's colours are matched to the style images'
 * (image_match_histogram). */
void texture_options_default(texture_options *o);
/* The result's size (errors name the flag). */
status texture_size(const texture_options *o, const image *first_style, int *width, int *height);
status render_texture(const texture_options *o, net_model *m, const image *styles, int style_count,
                      const render_callbacks *cb, image *out);

/* Colour histogram matching, in the references' decorrelated colour space:
 * the principal axes of the references' pixel colours (the eigenvectors of
 * their 3×3 covariance, the pixels of reference i weighted by
 * weights[i] / its pixel count; weights NULL = equal). Along each axis the
 * image's values are mapped through their CDF to the references' quantiles
 * (exact 1-D histogram matching: the value of rank r of n, 0-based, goes to
 * the references' (r + ½)/n quantile, their sorted values placed at the
 * midpoints of their weights' CDF steps, linear in between); then back to
 * RGB, clamped to [0, 1]. An image matched to itself is unchanged. */
status image_match_histogram(image *im, const image *refs, const double *weights, int count);

/* ----- The engine: one objective on one model, an octave at a time ------
 * The loop the commands share, for commands built on it (texture,
 * animation) and for tests. */
typedef struct render_engine render_engine;

typedef struct {
    net_model *model;        /* borrowed */
    objective *obj;          /* borrowed; its terms are final (weights may change) */
    const reg_options *reg;  /* copied */
    optim_params optim;
    int tile;                /* 0: one window */
    bool circular_padding;   /* the net's pads wrap around, and so do the windows of a
                                tiled image (tileable output) */
    int seed;
} render_engine_config;

/* Looks up the objective's layers (errors name the layer) and makes a
 * session. */
status render_engine_create(const render_engine_config *c, render_engine **out);
void render_engine_free(render_engine *e);

/* Starts an octave with a width×height image: regularizer context,
 * optimizer, windows and buffers. start (width×height) gives the first
 * image; NULL draws random params (reg_param_init with the options'
 * param_std; with pixels, 0.5 + that noise). */
status render_engine_begin(render_engine *e, int width, int height, const image *start);
/* The image whose features are the CONTENT and INVERT terms' targets:
 * width×height, borrowed until the next begin. Its features are computed
 * through the same transform and windows as the image's. */
status render_engine_set_target_image(render_engine *e, const image *target);
/* Sets every GUIDE term's target to the features of `im` (any size, one
 * window, no transform). */
status render_engine_set_guide(render_engine *e, const image *im);
/* The finished Gram (gram_compute) of `im` (any size, windowed like the
 * image) at each STYLE term's layer: grams[t] gets C×C floats (allocated;
 * the caller frees them) for style terms, NULL for others; channels[t] C. */
status render_engine_grams(render_engine *e, const image *im, float **grams, int *channels);
/* ‖features of `im`‖² at each term's layer (windowed like the image). */
status render_engine_feature_energy(render_engine *e, const image *im, double *energy);

/* One iteration: draws the transform and the window grid, takes an
 * optimizer step, applies the projections. *f is the optimizer's value. */
status render_engine_step(render_engine *e, long iter, double *f);
/* The objective plus regularizers and its gradient with respect to the
 * params, with the current transform and grid (what the optimizer calls). */
status render_engine_evaluate(render_engine *e, const float *params, float *grad, double *f);
size_t render_engine_param_count(const render_engine *e);
float *render_engine_params(render_engine *e);
/* The current image (width×height; *out allocated when empty). */
status render_engine_image(render_engine *e, image *out);
/* The last evaluation's values as in render_progress (labels and values
 * live until the engine is freed). */
int render_engine_values(const render_engine *e, const char *const **labels, const double **values);
size_t render_engine_evaluations(const render_engine *e);
/* Tests: the transform of the current octave, and the window grid's origin
 * (set explicitly; −1 draws it each step again). */
reg_context *render_engine_reg(render_engine *e);
void render_engine_set_grid(render_engine *e, int oy, int ox);
/* Window geometry of the current octave: window size and margin (0 when
 * the image fits in one window). */
void render_engine_windows(const render_engine *e, int *window_h, int *window_w, int *margin);


/* ===== Explain: classify, saliency, adversarial, filters, activations, ... == */
/* The lectures' tools for seeing what a network learned (classify, saliency,
 * adversarial, filters, activations, embed, top-patches). Each works on the
 * network input x, a tensor fed as is; gradients are taken with respect to
 * x. Images become x through the model's preprocessing (explain_input_load). */

/* ----- Inputs --------------------------------------------------------------- */
typedef struct {
    tensor x;  /* the network input, fed as is */
    image im;  /* what x shows, for overlays and crops: the (resized) image, or
                  a 1x3xHxW .npy mapped back through the preprocessing and
                  clamped to [0, 1]; empty for other .npy shapes */
    bool raw;  /* x was read from an .npy file */
} explain_input;

/* Reads `path`: a NumPy file (recognized by its magic bytes) is x as is; an
 * image is resized to height x width (Lanczos) when given, else to the
 * model's declared input size when the model fixes one (the built-in network
 * does not: it takes any size), else kept, and mapped through the model's
 * preprocessing. */
status explain_input_load(const char *path, const net_model *m, int height, int width,
                          explain_input *in);
void explain_input_free(explain_input *in);

/* ----- Class scores ------------------------------------------------------------
 * Class-based tools read one layer as the class scores S: S_c is the layer's
 * channel c (dim 1 of [N, C, ...]) averaged over any further dims, so [N, C]
 * logits are read as they are and the built-in network (no classifier) gives
 * its last layer's 512 channels as "classes". Probabilities follow by: */
typedef enum {
    SCORES_SOFTMAX,     /* S are logits: p = softmax(S) */
    SCORES_SIGMOID,     /* S are independent logits: p_c = sigmoid(S_c) */
    SCORES_PROBABILITY, /* the layer holds probabilities already: p = S */
} scores_kind;
/* A single score (C = 1) is one logistic unit, whatever the kind: two
 * classes, 1 with S_1 = S, p_1 = sigmoid(S) (PROBABILITY: p_1 = S), and 0
 * with S_0 = -S (PROBABILITY: 1 - S), p_0 = 1 - p_1.
 *
 * Which layer: with a name, that layer; it is PROBABILITY when it is a
 * Softmax or Sigmoid, SIGMOID when a Sigmoid reads it, else SOFTMAX. Without
 * one, the model's first output; when that is a Softmax or Sigmoid (possibly
 * under Flatten, Reshape or Identity), the layer it normalizes is read as
 * logits instead, so probabilities are never normalized twice. */
typedef struct explainer explainer;
status explainer_create(net_model *m, const char *score_layer, explainer **out);
void explainer_free(explainer *e); /* NULL is fine; does not close the model */
net_session *explainer_session(const explainer *e);
net_model *explainer_model(const explainer *e);
int explainer_score_layer(const explainer *e);
scores_kind explainer_scores_kind(const explainer *e);
const char *scores_kind_name(scores_kind k); /* "softmax", "sigmoid", "probability" */

/* Runs x (N items) and writes every item's class probabilities into probs,
 * [N, classes] (allocated when probs->data is NULL; else must match). */
status explainer_predict(explainer *e, const tensor *x, tensor *probs);

/* J for one class k of a single item: the score S_k, or log p_k. */
typedef enum { CLASS_SCORE, CLASS_LOGPROB } class_objective;
/* x has N = 1. Runs x, then writes dJ/dx into grad (allocated when
 * grad->data is NULL; else must match x), passing ReLUs in `relu` mode.
 * keep >= 0 also requests that layer: its activation and gradient stay
 * readable (net_activation, net_gradient on explainer_session). probs (may
 * be NULL) receives x's probabilities as in explainer_predict. Errors: k out
 * of range ("class 7: the scores have 3 classes"). */
status explainer_gradient(explainer *e, const tensor *x, int k, class_objective obj,
                          net_relu_backward relu, int keep, tensor *grad, tensor *probs);

/* The indices of the min(k, n) largest of p[0..n), best first (ties: lower
 * index). */
status explain_top_classes(const float *p, int n, int k, int *top);

/* ----- Saliency ----------------------------------------------------------------
 * A map over x's last two dims (x: 1xCxHxW) saying where the class comes from:
 *   GRADIENT  max_c |dS_k/dx[c]| (Simonyan et al. 2014)
 *   GUIDED    the same with guided backprop through the ReLUs (Springenberg
 *             et al. 2015); DECONVNET with the deconvnet rule (Zeiler & Fergus)
 *   GRADCAM   Selvaraju et al. 2017 at layer A [1, K, h, w]:
 *             alpha_k = mean_{ij} dS_k/dA_kij, cam = relu(sum_k alpha_k A_k),
 *             interpolated (bilinear) to the input: unit (i, j) sits at the
 *             centre of its receptive field (net_layer_receptive_field)
 *   GUIDED_GRADCAM  GUIDED x GRADCAM, pixel by pixel
 *   OCCLUSION Zeiler & Fergus 2014: a patch x patch square of `fill` slides
 *             over x by `stride` (the last position touches the far edge);
 *             the map holds, per pixel, p_k with the square over it (the mean
 *             over the positions that cover it; p_k of x where none does).
 *             The occluded copies go through the network `batch` at a time.
 * Fill values are in network-input units: MEAN is x's per-channel mean, ZERO
 * is 0 (for a mean-subtracted network, the training set's mean colour). */
typedef enum {
    SALIENCY_GRADIENT,
    SALIENCY_GUIDED,
    SALIENCY_DECONVNET,
    SALIENCY_GRADCAM,
    SALIENCY_GUIDED_GRADCAM,
    SALIENCY_OCCLUSION,
} saliency_method;
typedef enum { OCCLUSION_FILL_MEAN, OCCLUSION_FILL_ZERO } occlusion_fill;

typedef struct {
    saliency_method method;
    int target;          /* the class; -1: the predicted one */
    int layer;           /* GRADCAM, GUIDED_GRADCAM; -1: explain_gradcam_layer */
    int patch, stride;   /* OCCLUSION, pixels >= 1 */
    occlusion_fill fill;
    int batch;           /* OCCLUSION: copies per forward; 0: automatic (at
                            most 32, and about 256 MiB of activations) */
} saliency_options;

typedef struct {
    tensor map;     /* [H, W] */
    int target;     /* the class explained */
    double prob;    /* its probability on x */
    int batch;      /* OCCLUSION: copies per forward used */
    int forwards;   /* network runs made */
} saliency_result;
/* r->map is allocated; saliency_result_free frees it. A model whose batch
 * size is fixed by its graph makes OCCLUSION fall back to one copy at a time. */
status explain_saliency(explainer *e, const tensor *x, const saliency_options *o,
                        saliency_result *r);
void saliency_result_free(saliency_result *r);
/* Grad-CAM's default layer: the last Conv, followed on through the ops that
 * keep its maps (Relu, LeakyRelu, Clip, Add, Sum, BatchNormalization,
 * Identity): VGG's relu5_3, a ResNet block's output after the residual Add
 * and ReLU. -1 when the model has no Conv. */
int explain_gradcam_layer(const net_model *m);
/* What the heat map shows, >= 0, larger = more important: the map itself,
 * and for OCCLUSION the drop max(p_k(x) - map, 0). Overwrites heat
 * (allocated when heat->data is NULL). */
status saliency_importance(const saliency_result *r, saliency_method method, tensor *heat);

/* ----- Heat maps -----------------------------------------------------------------
 * The colormap: synth's own perceptual "ember" ramp, defined in Oklab
 * (Ottosson 2020): lightness rises linearly from 0.15 (near black) to 0.97
 * (pale yellow) while the hue turns from violet through red and orange to
 * yellow, chroma peaking mid-way (reduced where sRGB cannot show it, so
 * lightness stays exact). Monotonic lightness keeps the order of values
 * readable in gray and to colour-blind eyes, as with viridis or inferno. */
void colormap_ember(double t, float rgb[3]); /* t in [0, 1] (clamped) -> sRGB [0, 1] */
/* out = (1 - alpha) * base + alpha * ember(heat / max heat), with the heat
 * [H, W] stretched (bilinear) to the base's size; base empty: the colours
 * alone at the heat's size. out is allocated. */
status heat_overlay(const tensor *heat, const image *base, double alpha, image *out);

/* ----- Adversarial examples (Goodfellow et al. 2015) ------------------------------
 * FGSM: x' = x + eps * sign(grad J); I-FGSM: `steps` such moves of `step`
 * (default eps / steps), each followed by projection onto the eps-ball
 * around x and the valid range. Targeted (target >= 0): J = S_target,
 * ascended. Untargeted: J = -log p of the class predicted for x, ascended
 * (its probability goes down).
 * Units: with `pre` NULL, eps measures x itself and nothing is clipped (an
 * .npy input). With `pre` (x came from an image), eps is in image units
 * [0, 1]: the image values v = (x * std + mean) / scale move by at most eps,
 * stay within [0, 1], and end snapped to multiples of 1/255, what an 8-bit
 * PNG stores (so the "after" prediction is that of the written file). */
typedef enum { ADVERSARIAL_FGSM, ADVERSARIAL_IFGSM } adversarial_method;
typedef struct {
    adversarial_method method;
    double eps;                /* > 0 */
    int steps;                 /* IFGSM, >= 1 */
    double step;               /* IFGSM; 0: eps / steps */
    int target;                /* -1: untargeted */
    const net_preprocess *pre; /* see Units */
} adversarial_options;
typedef struct {
    int predicted;         /* argmax p(x) */
    tensor before, after;  /* probabilities [1, classes] of x and of x' */
    double linf;           /* max |x' - x| in eps's units */
} adversarial_result;
/* Overwrites x (N = 1) with x'. */
status explain_adversarial(explainer *e, tensor *x, const adversarial_options *o,
                           adversarial_result *r);
void adversarial_result_free(adversarial_result *r);

/* ----- Grids -------------------------------------------------------------------
 * One layout for filters, activations and top-patches: `count` tiles of
 * tile_width x tile_height in rows of `cols` (0: about square), a 1-pixel
 * dark gap between tiles and around them. */
typedef struct {
    int count, cols, rows, tile_width, tile_height, gap;
} grid_layout;
status grid_layout_init(grid_layout *g, int count, int tile_width, int tile_height, int cols);
/* The same with a gap of `gap` pixels (the poster's). */
status grid_layout_init_gap(grid_layout *g, int count, int tile_width, int tile_height, int cols, int gap);
status grid_image(const grid_layout *g, image *out); /* allocates the background */
/* Copies `tile` (any size: scaled by nearest neighbour) into slot `index`
 * (row-major). Top-left pixel of the slot: */
void grid_put(const grid_layout *g, image *out, int index, const image *tile);
void grid_slot_origin(const grid_layout *g, int index, int *x, int *y);

/* A Conv layer's filters [O, I, kh, kw] as a grid: with I = 3 (a first layer)
 * one colour tile per filter (channels shown in RGB order, swapped for a BGR
 * model); else one row per filter of grayscale tiles, one per input slice.
 * Each filter is scaled on its own from its min (0) to its max (255), and
 * each weight is a zoom x zoom block. */
typedef struct {
    int max_filters; /* the first ones; 0: all */
    int max_slices;  /* grayscale rows: the first input slices; 0: all */
    int zoom;        /* 0: ceil(32 / kernel size) */
} filters_options;
status explain_filters(net_model *m, int layer, const filters_options *o, image *grid);

/* A layer's feature maps (act [1, C, h, w], or [1, C] as 1x1 maps) as a grid
 * of grayscale tiles, zoom x zoom pixels per value (0: ceil(64 / max(h, w))).
 * LAYER scales every map by the layer's min and max (maps compare); MAP
 * scales each map by its own. */
typedef enum { NORMALIZE_LAYER, NORMALIZE_MAP } normalize_mode;
status explain_activation_grid(const tensor *act, normalize_mode mode, int zoom, image *grid);

/* ----- Embeddings ---------------------------------------------------------------
 * One feature row per input from a layer's activation [1, C, ...]: MEAN or
 * MAX over the positions (C values: the input's size does not matter), or
 * NONE, every value flattened (C * h * w: the inputs must share a size). */
typedef enum { EMBED_POOL_MEAN, EMBED_POOL_MAX, EMBED_POOL_NONE } embed_pool;
size_t embed_row_length(const tensor *act, embed_pool pool);
void embed_row(const tensor *act, embed_pool pool, float *row);
/* For each of the n rows (d values each), the k nearest other rows by L2
 * distance, nearest first (ties: lower index): idx[i*k + j], dist[i*k + j].
 * Needs 1 <= k < n. */
status embed_neighbours(const float *rows, int n, size_t d, int k, int *idx, double *dist);

/* ----- Top patches ----------------------------------------------------------------
 * The image patches that most activate one channel of a layer: each image
 * offers its strongest unit of the channel; the k strongest over all images
 * are kept, each with the crop of the input it sees (its receptive field). */
typedef struct {
    float value;  /* the activation */
    int source;   /* the caller's number for the image */
    int y, x;     /* the unit */
    int top, left; /* the crop's top-left corner in the image (may be < 0) */
    image crop;   /* receptive-field sized; parts outside the image mid-gray */
} patch_hit;
typedef struct {
    int k, count; /* hits[0..count), strongest first */
    patch_hit *hits;
} top_patches;
status top_patches_init(top_patches *t, int k);
void top_patches_free(top_patches *t);
/* act: the layer's activation [1, C, h, w] for image `im`; rf: the layer's
 * receptive field. */
status top_patches_offer(top_patches *t, const tensor *act, int channel,
                         const net_receptive_field *rf, const image *im, int source);
/* The window unit (y, x) of a layer with field rf sees, as a crop of im
 * (rf->size, parts outside the image mid-gray); top/left: its corner. */
status receptive_crop(const image *im, const net_receptive_field *rf, int64_t y, int64_t x,
                      image *crop, int *top, int *left);

#endif
