/* The option tables of the synthesis commands: style, dream, classvis,
 * neuron, invert. Each entry is a flag and a preset key; the defaults are
 * the *_options_default() of synth/synth.h, quoted in the help. */
#include "presets/presets.h"

#include <stddef.h>

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The style terms' options, shared by style and texture (TYPE has fields of
 * these names); SCALE_HELP says what the style scale is relative to. */
#define STYLE_TERM_SPECS(TYPE, SCALE_HELP)                                                             \
    {"style", 0, OPT_STRINGS, offsetof(TYPE, styles), 0, 0, 0, 64, NULL, "FILE",                      \
     "a style image; repeat for several; required"},                                                  \
    {"style-blend", 0, OPT_NUMBERS, offsetof(TYPE, style_blend), 0, 1e9, 1, 64, NULL, "W,...",        \
     "weights of the style images, one each (default: equal)"},                                      \
    {"style-layers", 0, OPT_LIST, offsetof(TYPE, style_layers), 0, 0, 1, 64, NULL, "L,...",           \
     "layers whose Gram matrices are matched to the style (default relu1_1,relu2_1,relu3_1,"        \
     "relu4_1,relu5_1)"},                                                                             \
    {"style-layer-weights", 0, OPT_NUMBERS, offsetof(TYPE, style_layer_weights), 0, 1e9, 1, 64, NULL, \
     "W,...", "weight of each style layer (default: equal)"},                                         \
    {"style-weight", 0, OPT_NUMBER, offsetof(TYPE, style_weight), 0, 1e12, 0, 0, NULL, "W",          \
     "weight of the style's relative Gram error (default 1000)"},                                    \
    {"style-scale", 0, OPT_NUMBER, offsetof(TYPE, style_scale), 0.01, 100, 0, 0, NULL, "X", SCALE_HELP}

static const option_spec style_specs[] = {
    {"content", 0, OPT_STRING, offsetof(style_options, content), 0, 0, 0, 0, NULL, "FILE",
     "the content image; required"},
    {"content-layers", 0, OPT_LIST, offsetof(style_options, content_layers), 0, 0, 1, 64, NULL, "L,...",
     "layers matched to the content (default relu4_2)"},
    {"content-weight", 0, OPT_NUMBER, offsetof(style_options, content_weight), 0, 1e12, 0, 0, NULL, "W",
     "weight of the content's relative feature error (default 1; 0 = texture)"},
    {"init", 0, OPT_STRING, offsetof(style_options, init), 0, 0, 0, 0, NULL, "content|random|FILE",
     "start from the content (default), from noise, or from an image"},
    {"original-colors", 0, OPT_FLAG, offsetof(style_options, original_colors), 0, 0, 0, 0, NULL, NULL,
     "keep the content's colours: transfer only the luminance (YIQ)"},
    STYLE_TERM_SPECS(style_options,
                     "style images at X times the result's size (default 1; smaller = larger brush strokes)"),
    OPTIMIZER_OPTION_SPECS(style_options, run),
    RENDER_OPTION_SPECS(style_options, run),
    REG_OPTION_SPECS(style_options, reg),
    MODEL_OPTION_SPECS(style_options, model),
};

const option_table style_table = {
    "style",
    "synth style --content C --style S [--style S2 ...] -o OUT [options]",
    "Style transfer (Gatys, Ecker & Bethge 2016): an image with the content of C\n"
    "(its features at --content-layers) and the style of S (the Gram matrices of\n"
    "its features at --style-layers). Each term is relative to its target's\n"
    "energy, so the weights work on any network. Defaults: --size 512, --octaves 2\n"
    "(--octave-scale 2, coarse to fine), --iters 100 per octave, L-BFGS (--lr 0.1),\n"
    "--init content, --tv-weight 1e-5, the built-in network.",
    style_specs,
    COUNT(style_specs),
    0, 0, 0,
};

/* dream's own options, of a dream_options at MEMBER (dream and animate). */
#define DREAM_OPTION_SPECS(TYPE, MEMBER)                                                            \
    {"input", 0, OPT_STRING, offsetof(TYPE, MEMBER.input), 0, 0, 0, 0, NULL, "FILE",                \
     "the image to dream on; required"},                                                           \
    {"layer", 0, OPT_STRING, offsetof(TYPE, MEMBER.layer), 0, 0, 0, 0, NULL, "L",                   \
     "the layer to amplify (default relu4_2; e.g. inception_4c on GoogLeNet)"},                   \
    {"channel", 0, OPT_INT, offsetof(TYPE, MEMBER.channel), 0, 1e6, 0, 0, NULL, "C",                \
     "amplify only channel C (its mean) instead of the whole layer"},                             \
    {"step", 0, OPT_NUMBER, offsetof(TYPE, MEMBER.step), 1e-6, 255, 0, 0, NULL, "S",                \
     "step size in 8-bit pixel levels, normalized by the mean gradient (default 1.5)"},           \
    {"guide", 0, OPT_STRING, offsetof(TYPE, MEMBER.guide), 0, 0, 0, 0, NULL, "FILE",                \
     "dream towards this image's features (each position matched to its best guide feature)"}

/* dream_options as a member (at offset 0), for the macros. */
typedef struct { dream_options d; } dream_holder;

static const option_spec dream_specs[] = {
    DREAM_OPTION_SPECS(dream_holder, d),
    RENDER_OPTION_SPECS(dream_holder, d.run),
    REG_OPTION_SPECS(dream_holder, d.reg),
    MODEL_OPTION_SPECS(dream_holder, d.model),
};

const option_table dream_table = {
    "dream",
    "synth dream --input IMG -o OUT [--layer L] [--channel C] [--step S] [--guide IMG] [options]",
    "DeepDream (Mordvintsev et al. 2015): amplify what a layer sees in the image,\n"
    "octave by octave, carrying the dream's detail up to each larger octave.\n"
    "Defaults as the deepdream notebook: --octaves 4, --octave-scale 1.4,\n"
    "--iters 10, --step 1.5, --jitter 32 with --boundary wrap (a random roll),\n"
    "--clamp; --tile 1024. Without --size the result has the input's size.",
    dream_specs,
    COUNT(dream_specs),
    0, 0, 0,
};

static const option_spec animate_specs[] = {
    {"frames", 0, OPT_INT, offsetof(animate_options, frames), 1, 99999, 0, 0, NULL, "N",
     "the number of frames in all (frame_00000.png to frame_<N-1>.png); required"},
    {"out-dir", 0, OPT_STRING, offsetof(animate_options, out_dir), 0, 0, 0, 0, NULL, "DIR",
     "the folder of the frames (made when missing); required"},
    {"zoom", 0, OPT_NUMBER, offsetof(animate_options, zoom), 0.25, 4, 0, 0, NULL, "Z",
     "zoom about the centre between frames (default 1.05; < 1 zooms out)"},
    {"rotate", 0, OPT_NUMBER, offsetof(animate_options, rotate), -180, 180, 0, 0, NULL, "DEG",
     "rotate between frames, counter-clockwise as displayed (default 0)"},
    {"shift", 0, OPT_NUMBERS, offsetof(animate_options, shift), -1e5, 1e5, 2, 2, NULL, "DX,DY",
     "move the picture between frames by DX right, DY down, in pixels (default 0,0)"},
    {"resample", 0, OPT_CHOICE, offsetof(animate_options, resample), 0, 0, 0, 0, "bicubic|lanczos",
     NULL, "the interpolation of the transform between frames"},
    {"encode", 0, OPT_STRING, offsetof(animate_options, encode), 0, 0, 0, 0, NULL, "FILE",
     "when the frames are done, encode them into FILE (.mp4 or .gif) with ffmpeg"},
    {"fps", 0, OPT_INT, offsetof(animate_options, fps), 1, 240, 0, 0, NULL, "N",
     "--encode: frames per second (default 24)"},
    DREAM_OPTION_SPECS(animate_options, dream),
    RENDER_RUN_OPTION_SPECS(animate_options, dream.run),
    PNG_DEPTH_OPTION_SPEC(animate_options, dream.run.image),
    REG_OPTION_SPECS(animate_options, dream.reg),
    MODEL_OPTION_SPECS(animate_options, dream.model),
};

const option_table animate_table = {
    "animate",
    "synth animate --input IMG --frames N --out-dir DIR [--zoom Z] [--rotate DEG] [--shift DX,DY]\n"
    "                     [--encode OUT.mp4|OUT.gif] [dream options]",
    "DeepDream animation (the deepdream notebook's zoom): frame 0 is the dreamed\n"
    "input; frame k+1 is the dream of frame k zoomed about the centre by Z, rotated\n"
    "by DEG and shifted by DX,DY (bicubic or Lanczos; the size stays). Frames are\n"
    "written to DIR/frame_00000.png, ... each whole or not at all. Run the same\n"
    "command again and it continues after the last complete frame (also after\n"
    "Ctrl-C or a crash; a larger --frames extends the animation); DIR/animate.state\n"
    "holds the options, and other options are refused rather than mixed. Frame k\n"
    "dreams with a seed made from --seed and k and starts from frame k-1 as written,\n"
    "so a resumed run gives the same bytes as one without a break. Each frame is a\n"
    "dream with synth dream's options and defaults.",
    animate_specs,
    COUNT(animate_specs),
    0, 0, 0,
};

/* classvis's own options but the class, of a classvis_options at MEMBER
 * (classvis and poster). */
#define CLASSVIS_OPTION_SPECS(TYPE, MEMBER)                                                           \
    {"layer", 0, OPT_STRING, offsetof(TYPE, MEMBER.layer), 0, 0, 0, 0, NULL, "L",                     \
     "the layer of class scores (default: the model's output, or its input when it is a Softmax)"}, \
    {"logprob", 0, OPT_FLAG, offsetof(TYPE, MEMBER.logprob), 0, 0, 0, 0, NULL, NULL,                  \
     "maximise the log-softmax probability instead of the logit (not with --tile)"}

typedef struct { classvis_options v; } classvis_holder;

static const option_spec classvis_specs[] = {
    {"class", 0, OPT_INT, offsetof(classvis_options, class_index), 0, 1e6, 0, 0, NULL, "K",
     "the class to visualize (its index in the model's output); required"},
    CLASSVIS_OPTION_SPECS(classvis_holder, v),
    OPTIMIZER_OPTION_SPECS(classvis_options, run),
    RENDER_OPTION_SPECS(classvis_options, run),
    REG_OPTION_SPECS(classvis_options, reg),
    MODEL_OPTION_SPECS(classvis_options, model),
};

#define VIS_DEFAULTS                                                                          \
    "Defaults follow Lucid: --param fourier --decorrelate (with a sigmoid), --pad 16,\n"     \
    "--jitter 8, --scale-jitter 0.1, --rotate-jitter 10, Adam --lr 0.05, --iters 256;\n"     \
    "--size: the model's input size less the padding (else 224). For plain pixel\n"          \
    "ascent: --param pixel --no-decorrelate --pad 0 --jitter 0 --scale-jitter 0\n"            \
    "--rotate-jitter 0 (add --l2, --blur-sigma, --clip-norm-pct for Simonyan/Yosinski)."

const option_table classvis_table = {
    "classvis",
    "synth classvis --class K -o OUT [options]",
    "Class visualization (Simonyan et al. 2014; Olah et al. 2017): an image that\n"
    "maximises the score of class K, from a random start. It says class K (name)\n"
    "on stderr and stores synth.class \"K name\" in the image; the name comes from\n"
    "the model's labels or --labels, whose lines must name every class.\n" VIS_DEFAULTS,
    classvis_specs,
    COUNT(classvis_specs),
    0, 0, 0,
};

static const option_spec neuron_specs[] = {
    {"layer", 0, OPT_STRING, offsetof(neuron_options, layer), 0, 0, 0, 0, NULL, "L",
     "the layer; required"},
    {"channel", 0, OPT_INT, offsetof(neuron_options, channel), 0, 1e6, 0, 0, NULL, "C",
     "the channel; required"},
    {"unit", 0, OPT_NUMBERS, offsetof(neuron_options, unit), 0, 1e6, 2, 2, NULL, "X,Y",
     "the unit's position in the layer (default: the centre)"},
    {"channel-mean", 0, OPT_FLAG, offsetof(neuron_options, channel_mean), 0, 0, 0, 0, NULL, NULL,
     "maximise the mean of the whole channel instead of one unit"},
    OPTIMIZER_OPTION_SPECS(neuron_options, run),
    RENDER_OPTION_SPECS(neuron_options, run),
    REG_OPTION_SPECS(neuron_options, reg),
    MODEL_OPTION_SPECS(neuron_options, model),
};

const option_table neuron_table = {
    "neuron",
    "synth neuron --layer L --channel C [--unit X,Y] -o OUT [options]",
    "Neuron visualization: an image that maximises one unit of channel C at layer L\n"
    "(or the whole channel's mean), from a random start.\n" VIS_DEFAULTS,
    neuron_specs,
    COUNT(neuron_specs),
    0, 0, 0,
};

static const option_spec invert_specs[] = {
    {"input", 0, OPT_STRING, offsetof(invert_options, input), 0, 0, 0, 0, NULL, "FILE",
     "the image whose features are inverted; required"},
    {"layer", 0, OPT_STRING, offsetof(invert_options, layer), 0, 0, 0, 0, NULL, "L",
     "the layer to invert (default relu3_1)"},
    OPTIMIZER_OPTION_SPECS(invert_options, run),
    RENDER_OPTION_SPECS(invert_options, run),
    REG_OPTION_SPECS(invert_options, reg),
    MODEL_OPTION_SPECS(invert_options, model),
};

const option_table invert_table = {
    "invert",
    "synth invert --input IMG [--layer L] -o OUT [options]",
    "Feature inversion (Mahendran & Vedaldi 2015): from noise, an image whose\n"
    "features at layer L match those of IMG, minimising |F(x) - F(IMG)|^2 /\n"
    "|F(IMG)|^2 plus total variation. Defaults: --size 256, --iters 200, L-BFGS\n"
    "(--lr 0.1), --layer relu3_1, --tv-weight 1e-5 --tv-beta 2.",
    invert_specs,
    COUNT(invert_specs),
    0, 0, 0,
};

static const option_spec poster_specs[] = {
    {"classes", 0, OPT_LIST, offsetof(poster_options, classes), 0, 0, 1, 1024, NULL, "K1,K2,...",
     "the classes, one cell each, in order (A-B for a range); required"},
    {"cols", 0, OPT_INT, offsetof(poster_options, cols), 0, 1024, 0, 0, NULL, "N",
     "cells per row (default 0: about square)"},
    {"cell", 0, OPT_INT, offsetof(poster_options, cell), 8, 8192, 0, 0, NULL, "PX",
     "the side of each visualization on the poster (default 224)"},
    {"title", 0, OPT_STRING, offsetof(poster_options, title), 0, 0, 0, 0, NULL, "TEXT",
     "a title above the grid"},
    {"caption-size", 0, OPT_INT, offsetof(poster_options, caption_size), 0, 1024, 0, 0, NULL, "PX",
     "caption text size (default 0: max(10, cell/14)); the title is twice as large"},
    {"font", 0, OPT_STRING, offsetof(poster_options, font), 0, 0, 0, 0, NULL, "FILE",
     "a TrueType/OpenType font (default DejaVuSans.ttf of fonts-dejavu-core)"},
    CLASSVIS_OPTION_SPECS(poster_options, vis),
    OPTIMIZER_OPTION_SPECS(poster_options, vis.run),
    RENDER_OUTPUT_OPTION_SPECS(poster_options, vis.run),
    RENDER_RUN_OPTION_SPECS(poster_options, vis.run),
    REG_OPTION_SPECS(poster_options, vis.reg),
    MODEL_OPTION_SPECS(poster_options, vis.model),
};

const option_table poster_table = {
    "poster",
    "synth poster --classes K1,K2,... -o POSTER.png [--cols N] [--cell PX] [--title TEXT] [classvis options]",
    "A class-visualization poster: one synth classvis per class (the same options\n"
    "and --seed for each, rendered at --size, default the cell), laid out in a grid\n"
    "of --cell px cells with captions: the class's name from the model's labels or\n"
    "--labels FILE, else \"class K\" (\"channel K\" on the built-in network). Text is\n"
    "drawn with FreeType; long names end in \"...\". Size: with g = max(1, cell/32)\n"
    "and C the caption size, width = cols*(cell+g)+g, height = T + rows*(cell+2C+g)+g,\n"
    "T = 4C with --title, else 0. Ctrl-C writes the poster so far (finished cells,\n"
    "the interrupted one as it was, the rest blank) and exits 130.\n" VIS_DEFAULTS,
    poster_specs,
    COUNT(poster_specs),
    0, 0, 0,
};

static const option_spec texture_specs[] = {
    STYLE_TERM_SPECS(texture_options,
                     "style images at X times their own size (default 1; larger = larger features)"),
    {"width", 0, OPT_INT, offsetof(texture_options, width), 1, 65536, 0, 0, NULL, "PX",
     "width of the result (alone: the height by the first style's aspect)"},
    {"height", 0, OPT_INT, offsetof(texture_options, height), 1, 65536, 0, 0, NULL, "PX",
     "height of the result (alone: the width by the first style's aspect)"},
    {"tileable", 0, OPT_FLAG, offsetof(texture_options, tileable), 0, 0, 0, 0, NULL, NULL,
     "wrap around seamlessly: circular pads in every conv and pool, rolled jitter, wrapped tiles"},
    {"match-histogram", 0, OPT_FLAG, offsetof(texture_options, match_histogram), 0, 0, 0, 0, NULL, NULL,
     "match the colour histogram to the style's (along the style's principal colour axes)"},
    OPTIMIZER_OPTION_SPECS(texture_options, run),
    RENDER_OPTION_SPECS(texture_options, run),
    REG_OPTION_SPECS(texture_options, reg),
    MODEL_OPTION_SPECS(texture_options, model),
};

const option_table texture_table = {
    "texture",
    "synth texture --style S [--style S2 ...] -o OUT [--width W --height H | --size PX] "
    "[--tileable] [--match-histogram] [options]",
    "Texture synthesis (Gatys, Ecker & Bethge 2015): from noise, an image whose\n"
    "feature Gram matrices at --style-layers match those of S (style transfer\n"
    "without content), of any size: the style keeps its own scale, and --tile\n"
    "bounds the memory. --tileable makes it wrap around (a 2x2 tiling shows no\n"
    "seam). Defaults: --size 256 (long side, the first style's aspect),\n"
    "--octaves 2 (--octave-scale 2), --iters 100 per octave, --param fourier\n"
    "--decorrelate (with a sigmoid), Adam (--lr 0.05), the built-in network;\n"
    "--tile 1024 (larger results run in 1024x1024 windows; --tile 0: one pass).",
    texture_specs,
    COUNT(texture_specs),
    0, 0, 0,
};
