/* presets — every command's options described as data, and the presets.
 *
 * Owns: option tables (one per command: each option's long flag name, which is
 * also its preset key, its type, field, range and help), parsing a value into
 * an options struct with range checks, the .ini preset files (libinih) and
 * where they are found.
 * Knows nothing about: how the options are used.
 *
 * Precedence, one way: built-in defaults < preset < command-line flags. Both
 * the preset reader and cli/'s argv parser go through option_set(), so a key
 * means the same thing, with the same checks, in both places.
 */
#ifndef SYNTH_PRESETS_H
#define SYNTH_PRESETS_H

#include <stdbool.h>
#include <stddef.h>

#include "net/net.h"
#include "synth/synth.h"

typedef enum {
    OPT_FLAG,    /* bool; "--x" sets, "--no-x" clears; preset: true/false/yes/no/1/0 */
    OPT_INT,     /* int, range-checked */
    OPT_NUMBER,  /* double, range-checked, finite */
    OPT_STRING,  /* char *, heap-owned */
    OPT_CHOICE,  /* int: index into `choices` ("pixel|fourier") */
    OPT_STRINGS, /* string_list: repeatable, each occurrence adds one item */
    OPT_LIST,    /* string_list: one comma-separated value, replaces */
    OPT_NUMBERS, /* number_list: one comma-separated value, replaces; range per item */
} option_type;

typedef struct {
    const char *name;     /* long flag without "--"; also the preset key */
    char short_name;      /* one-letter flag ('o' for -o), or 0 */
    option_type type;
    size_t offset;        /* offsetof the field in the command's options struct */
    double min, max;      /* inclusive numeric range; unchecked when both are 0 */
    int min_count;        /* OPT_LIST / OPT_NUMBERS / OPT_STRINGS: item count */
    int max_count;        /*   limits; 0 = no limit */
    const char *choices;  /* OPT_CHOICE only */
    const char *metavar;  /* for help: "PX", "FILE", "L,..." */
    const char *help;     /* one line */
} option_spec;

typedef struct {
    const char *command;       /* "style", "dream", "info", ... */
    const char *usage;         /* "synth info FILE [options]" */
    const char *summary;       /* one line */
    const option_spec *specs;
    int count;
    /* Positional arguments go into a string_list field (positional_max 0 =
     * the command takes none; -1 = no upper limit). */
    size_t positional_offset;
    int positional_min, positional_max;
} option_table;

/* Where a value came from; a higher source replaces a lower one's lists. */
typedef enum { FROM_DEFAULT = 0, FROM_PRESET = 1, FROM_COMMAND_LINE = 2 } option_source;

/* Tracks, per option of one table, the source of its current value. */
typedef struct {
    const option_table *table;
    void *opts;
    unsigned char source[128];
    /* Set by preset_apply: the preset as given (name or path) and the
     * SHA-256 of its text; "" when no preset was applied. */
    char preset[256];
    char preset_sha256[65];
} option_state;

status option_state_init(option_state *st, const option_table *table, void *opts);
const option_spec *option_find(const option_table *t, const char *name);
/* Parses `text` into the option's field. `where` names the origin for errors:
 * "--lr" on the command line, "FILE:LINE" in a preset. A value out of range
 * fails with "<where>: '<text>' is not <allowed>". */
status option_set(option_state *st, const option_spec *spec, const char *text,
                  const char *where, option_source source);
/* Sets a flag (OPT_FLAG) to on or off. */
status option_set_flag(option_state *st, const option_spec *spec, bool on, option_source source);
/* The field's value as text, for `presets show` and reproducible metadata. */
status option_format(const option_spec *spec, const void *opts, char *buf, size_t size);
/* Frees every heap field of `opts` named by the table and zeroes it. */
void options_free(const option_table *t, void *opts);

/* ===== Shared option groups ==================================================
 * Entries for option tables, expanded inside a command's option_spec array:
 *     MODEL_OPTION_SPECS(style_options, model),
 * where `model` is the command's model_options member (synth/synth.h). */
#define MODEL_OPTION_SPECS(TYPE, MEMBER)                                                         \
    {"model", 0, OPT_STRING, offsetof(TYPE, MEMBER.model), 0, 0, 0, 0, NULL, "M",              \
     "the network: 'default' (built-in), a .onnx file or a cached model name"},              \
    {"mean", 0, OPT_NUMBERS, offsetof(TYPE, MEMBER.mean), -1e6, 1e6, 1, 3, NULL, "M[,M,M]",  \
     "input mean per channel, in the network's order (overrides the model's)"},              \
    {"std", 0, OPT_NUMBERS, offsetof(TYPE, MEMBER.std), 1e-9, 1e9, 1, 3, NULL, "S[,S,S]",    \
     "input standard deviation per channel (overrides the model's)"},                        \
    {"scale", 0, OPT_NUMBER, offsetof(TYPE, MEMBER.scale), 1e-9, 1e9, 0, 0, NULL, "X",       \
     "the network sees pixel values in 0..X (1 or 255; overrides the model's)"},             \
    {"bgr", 0, OPT_FLAG, offsetof(TYPE, MEMBER.bgr), 0, 0, 0, 0, NULL, NULL,                  \
     "the network takes channels in BGR order (Caffe models)"},                               \
    {"rgb", 0, OPT_FLAG, offsetof(TYPE, MEMBER.rgb), 0, 0, 0, 0, NULL, NULL,                  \
     "the network takes channels in RGB order"},                                              \
    {"labels", 0, OPT_STRING, offsetof(TYPE, MEMBER.labels), 0, 0, 0, 0, NULL, "FILE",       \
     "class names, one per line (replaces the model's)"}
#define MODEL_OPTION_SPEC_COUNT 7

/* The option_spec entries (presets/presets.h) of every field, for a command
 * whose options struct TYPE holds a reg_options at MEMBER: write
 *     REG_OPTION_SPECS(style_options, reg),
 * inside the command's option_spec array. The names are both the flags and
 * the preset keys. */
#define REG_OPTION_SPEC_(TYPE, MEMBER, NAME, KIND, FIELD, MIN, MAX, CHOICES, META, HELP) \
    {.name = NAME, .type = KIND, .offset = offsetof(TYPE, MEMBER.FIELD), .min = MIN, .max = MAX, \
     .choices = CHOICES, .metavar = META, .help = HELP}
#define REG_OPTION_SPECS(TYPE, MEMBER)                                                                   \
    REG_OPTION_SPEC_(TYPE, MEMBER, "l2", OPT_NUMBER, l2, 0, 1e6, NULL, "W",                              \
                     "weight of the L2 penalty on the image (Simonyan 2014); 0 = off"),                 \
    REG_OPTION_SPEC_(TYPE, MEMBER, "alpha-norm", OPT_NUMBER, alpha_norm, 0, 1e6, NULL, "W",              \
                     "weight of the alpha-norm penalty sum |x|^alpha (Mahendran 2015); 0 = off"),      \
    REG_OPTION_SPEC_(TYPE, MEMBER, "alpha-norm-exp", OPT_NUMBER, alpha, 1, 20, NULL, "A",                \
                     "exponent of the alpha-norm penalty (default 6)"),                                \
    REG_OPTION_SPEC_(TYPE, MEMBER, "decay", OPT_NUMBER, decay, 0, 1, NULL, "D",                          \
                     "shrink the image towards grey by this fraction each step (Yosinski 2015)"),       \
    REG_OPTION_SPEC_(TYPE, MEMBER, "blur-sigma", OPT_NUMBER, blur_sigma, 0, 1000, NULL, "PX",            \
                     "Gaussian blur of this sigma every --blur-every steps; 0 = off"),                   \
    REG_OPTION_SPEC_(TYPE, MEMBER, "blur-every", OPT_INT, blur_every, 1, 1e9, NULL, "N",                 \
                     "blur every N steps"),                                                             \
    REG_OPTION_SPEC_(TYPE, MEMBER, "clip-norm-pct", OPT_NUMBER, clip_norm_pct, 0, 100, NULL, "P",        \
                     "zero the pixels whose norm is below this percentile; 0 = off"),                   \
    REG_OPTION_SPEC_(TYPE, MEMBER, "clip-contrib-pct", OPT_NUMBER, clip_contrib_pct, 0, 100, NULL, "P",  \
                     "zero the pixels whose contribution |x.grad| is below this percentile; 0 = off"),  \
    REG_OPTION_SPEC_(TYPE, MEMBER, "clamp", OPT_FLAG, clamp, 0, 0, NULL, NULL,                           \
                     "clamp the image to the valid pixel range every step"),                           \
    REG_OPTION_SPEC_(TYPE, MEMBER, "tv-weight", OPT_NUMBER, tv_weight, 0, 1e9, NULL, "W",                \
                     "weight of the total-variation penalty; 0 = off"),                                 \
    REG_OPTION_SPEC_(TYPE, MEMBER, "tv-beta", OPT_NUMBER, tv_beta, 0.1, 10, NULL, "B",                   \
                     "exponent beta of the total variation (2: smooth, 1: edge-preserving)"),          \
    REG_OPTION_SPEC_(TYPE, MEMBER, "jitter", OPT_INT, jitter, 0, 100000, NULL, "PX",                     \
                     "shift the image by up to PX pixels each step, randomly"),                        \
    REG_OPTION_SPEC_(TYPE, MEMBER, "scale-jitter", OPT_NUMBER, scale_jitter, 0, 0.9, NULL, "F",          \
                     "zoom by a random factor in [1-F, 1+F] each step"),                               \
    REG_OPTION_SPEC_(TYPE, MEMBER, "rotate-jitter", OPT_NUMBER, rotate_jitter, 0, 180, NULL, "DEG",      \
                     "rotate by a random angle of up to DEG degrees each step"),                       \
    REG_OPTION_SPEC_(TYPE, MEMBER, "pad", OPT_INT, pad, 0, 100000, NULL, "PX",                           \
                     "pad the image by PX pixels on each side before the random transforms"),          \
    REG_OPTION_SPEC_(TYPE, MEMBER, "boundary", OPT_CHOICE, boundary, 0, 0, REG_BOUNDARY_CHOICES, NULL,  \
                     "how padding, jitter and rotation continue the image; wrap = circular"),          \
    REG_OPTION_SPEC_(TYPE, MEMBER, "param", OPT_CHOICE, param, 0, 0, REG_PARAM_CHOICES, NULL,           \
                     "optimize the pixels, or the image's Fourier coefficients (Mordvintsev 2018)"),   \
    REG_OPTION_SPEC_(TYPE, MEMBER, "decorrelate", OPT_FLAG, decorrelate, 0, 0, NULL, NULL,               \
                     "optimize in decorrelated colour space (ImageNet colour correlation)"),           \
    REG_OPTION_SPEC_(TYPE, MEMBER, "sigmoid", OPT_FLAG, sigmoid, 0, 0, NULL, NULL,                       \
                     "squash the image into the valid range with a sigmoid (on with --param fourier)"),\
    REG_OPTION_SPEC_(TYPE, MEMBER, "fourier-decay", OPT_NUMBER, fourier_decay, 0, 4, NULL, "D",          \
                     "--param fourier: spectrum falls off as 1/f^D"),                                  \
    REG_OPTION_SPEC_(TYPE, MEMBER, "param-std", OPT_NUMBER, param_std, 0, 10, NULL, "S",                 \
                     "std of the random initial parameters")
enum { REG_OPTION_SPEC_COUNT = 21 };

/* How a command writes its images (synth.h's image_output_options at
 * MEMBER): every command that writes a .png or .jpg takes --png-depth, and
 * --jpeg-quality where its output may be a JPEG. */
#define PNG_DEPTH_OPTION_SPEC(TYPE, MEMBER)                                                           \
    {"png-depth", 0, OPT_CHOICE, offsetof(TYPE, MEMBER.png_depth), 0, 0, 0, 0, "8|16", NULL,          \
     "bits per sample of a PNG written (default 8)"}
#define IMAGE_OUTPUT_OPTION_SPECS(TYPE, MEMBER)                                                       \
    PNG_DEPTH_OPTION_SPEC(TYPE, MEMBER),                                                              \
    {"jpeg-quality", 0, OPT_INT, offsetof(TYPE, MEMBER.jpeg_quality), 1, 100, 0, 0, NULL, "Q",         \
     "quality of a JPEG written, 1-100 (default 92)"}

/* The shared run options of the synthesis commands (synth.h's
 * render_options at MEMBER), in three groups: where the result goes (-o,
 * --png-depth, --jpeg-quality), snapshots (--save-every), and how the run goes (size, iterations,
 * octaves, seed, threads, tiles, log, quiet). Every synthesis command takes
 * the last; animate writes PNG frames into a folder instead of -o (it takes
 * PNG_DEPTH_OPTION_SPEC alone), and poster takes no snapshots. */
#define RENDER_OUTPUT_OPTION_SPECS(TYPE, MEMBER)                                                      \
    {"output", 'o', OPT_STRING, offsetof(TYPE, MEMBER.output), 0, 0, 0, 0, NULL, "FILE",              \
     "write the result here (.png or .jpg); required"},                                              \
    IMAGE_OUTPUT_OPTION_SPECS(TYPE, MEMBER.image)
#define RENDER_SNAPSHOT_OPTION_SPECS(TYPE, MEMBER)                                                    \
    {"save-every", 0, OPT_INT, offsetof(TYPE, MEMBER.save_every), 0, 1e7, 0, 0, NULL, "N",           \
     "also write the image every N iterations (OUT_<octave>_<iter>.png); 0 = never"}
#define RENDER_RUN_OPTION_SPECS(TYPE, MEMBER)                                                         \
    {"size", 0, OPT_INT, offsetof(TYPE, MEMBER.size), 1, 65536, 0, 0, NULL, "PX",                     \
     "long side of the result in pixels"},                                                           \
    {"iters", 0, OPT_INT, offsetof(TYPE, MEMBER.iters), 0, 1e7, 0, 0, NULL, "N",                     \
     "iterations per octave"},                                                                       \
    {"octaves", 0, OPT_INT, offsetof(TYPE, MEMBER.octaves), 1, 32, 0, 0, NULL, "N",                  \
     "number of scales, coarse to fine"},                                                            \
    {"octave-scale", 0, OPT_NUMBER, offsetof(TYPE, MEMBER.octave_scale), 1.01, 10, 0, 0, NULL, "S",  \
     "size ratio between one octave and the next"},                                                  \
    {"seed", 0, OPT_INT, offsetof(TYPE, MEMBER.seed), 0, 2147483647, 0, 0, NULL, "N",                \
     "random seed: the same seed and --threads give the same image"},                               \
    {"threads", 0, OPT_INT, offsetof(TYPE, MEMBER.threads), 0, 1024, 0, 0, NULL, "N",                \
     "worker threads (default 0: one per CPU)"},                                                     \
    {"tile", 0, OPT_INT, offsetof(TYPE, MEMBER.tile), 0, 65536, 0, 0, NULL, "PX",                    \
     "run the network on windows of at most PX x PX (memory follows the tile); 0 = whole image; "  \
     "not for 1x1 layers (global pooling, Gemm) or --logprob"},                                     \
    {"log-json", 0, OPT_STRING, offsetof(TYPE, MEMBER.log_json), 0, 0, 0, 0, NULL, "FILE",           \
     "write one JSON object per iteration (octave, iter, loss, each term, net_peak_bytes) to FILE, " \
     "atomically when the run ends (also interrupted or stopped); a run that fails first leaves "  \
     "FILE as it was"},                                                                             \
    {"quiet", 'q', OPT_FLAG, offsetof(TYPE, MEMBER.quiet), 0, 0, 0, 0, NULL, NULL,                   \
     "no progress or notes on stderr"}
#define RENDER_OPTION_SPECS(TYPE, MEMBER)                                                  \
    RENDER_OUTPUT_OPTION_SPECS(TYPE, MEMBER), RENDER_SNAPSHOT_OPTION_SPECS(TYPE, MEMBER), \
        RENDER_RUN_OPTION_SPECS(TYPE, MEMBER)
#define RENDER_OPTION_SPEC_COUNT 13

/* The optimizer choice of render_options at MEMBER (not for dream, whose
 * normalized step is --step). */
#define OPTIMIZER_OPTION_SPECS(TYPE, MEMBER)                                                          \
    {"optimizer", 0, OPT_CHOICE, offsetof(TYPE, MEMBER.optimizer), 0, 0, 0, 0,                        \
     "normalized|adam|lbfgs", NULL, "gradient steps normalized by mean |g|, Adam, or L-BFGS"},        \
    {"lr", 0, OPT_NUMBER, offsetof(TYPE, MEMBER.lr), 1e-12, 1e6, 0, 0, NULL, "X",                     \
     "step size (L-BFGS: the largest change of a pixel in the first step)"}
#define OPTIMIZER_OPTION_SPEC_COUNT 2

/* ===== The synthesis commands' tables (presets/render_tables.c) ============
 * Each fills the command's options struct of synth/synth.h, whose
 * *_options_default() gives the starting values. */
extern const option_table style_table;    /* style_options */
extern const option_table dream_table;    /* dream_options */
extern const option_table classvis_table; /* classvis_options */
extern const option_table neuron_table;   /* neuron_options */
extern const option_table invert_table;   /* invert_options */
extern const option_table animate_table;  /* animate_options */
extern const option_table poster_table;   /* poster_options */
extern const option_table texture_table;  /* texture_options */


/* ===== Presets (presets/preset.c) ===========================================
 * A preset is an .ini file (libinih): an optional [preset] section with
 * `description = one line`, then one section per command ([style], [dream],
 * ...) whose keys are the command's long flags without dashes, with values
 * as on the command line (flags: key = true|false). A repeatable flag
 * (--style) may be given several times; any other key once. Comments: lines
 * starting with ';' or '#', and " ; ..." after a value. A layer value may
 * list alternatives, "inception_4c|relu4_2": the first the model has is used
 * (options_resolve_layers).
 *
 * Everything is checked before any work: an unknown section or key, a value
 * out of range (in ANY section, not only the command's), a duplicate, a line
 * over PRESET_MAX_LINE characters, control bytes, a file over
 * PRESET_MAX_BYTES fail with "FILE:LINE: ...". Applied with precedence
 * built-in defaults < preset < command line.
 *
 * Found by preset_locate: a spec with a '/' or ending in .ini is a file;
 * a name is NAME.ini in $XDG_CONFIG_HOME/synth/presets (else
 * ~/.config/synth/presets), then <bin>/../share/synth/presets (installed),
 * then the source tree's presets/ (SYNTH_SOURCE_PRESETS_DIR). */
enum { PRESET_MAX_LINE = 196, PRESET_MAX_BYTES = 65536, PRESET_DIR_COUNT = 3 };

typedef struct {
    char *key, *value;
    int line;
} preset_entry;
typedef struct {
    char *name; /* "preset", "style", ... */
    int line;   /* of its [name] line */
    preset_entry *entries;
    int count;
} preset_section;
typedef struct {
    char *name;        /* as given: "dream-classic", "my/x.ini" */
    char *path;        /* the file read (errors name it) */
    char *description; /* NULL when none */
    char *text;        /* the whole file */
    char sha256[65];   /* of text */
    preset_section *sections;
    int count;
} preset;

/* The option table of a command that presets may configure, or NULL. A new
 * command with an option table adds itself to known_tables in preset.c. */
const option_table *option_table_find(const char *command);
/* Parses `len` bytes of text (syntax, known sections and keys, duplicates);
 * errors say "PATH:LINE: ...". `own` (may be NULL) is a table whose section
 * is known besides option_table_find's. Values are checked by preset_check. */
status preset_parse(const char *text, size_t len, const char *name, const char *path,
                    const option_table *own, preset *out);
/* Every value of every command section, through option_set into a scratch
 * struct: "PATH:LINE: KEY: 'v' is not an integer in [1, 32]". */
status preset_check(const preset *p, const option_table *own);
/* preset_locate + read + preset_parse + preset_check. */
status preset_load(const char *spec, const option_table *own, preset *out);
void preset_free(preset *p);
const preset_section *preset_section_find(const preset *p, const char *name);
/* Sets the values of st's command section (FROM_PRESET), leaving the options
 * the command line set (apply it after parsing argv); records st->preset.
 * A command built on another reads that one's section first, the keys it
 * shares (animate: [dream], poster: [classvis]; a key also in the command's
 * own section is left to it). A preset with neither section is an error
 * listing the sections it has. */
status preset_apply(const preset *p, option_state *st);
bool preset_is_path(const char *spec);
/* Layer alternatives: in the options named "layer", "*-layer" or
 * "*-layers", each value "a|b|c" becomes the first of a, b, c that is a layer
 * of m (preset files use it to name a layer of the model they were made for
 * and one of the built-in network); none is an error naming the option. */
status options_resolve_layers(const option_table *t, void *opts, const net_model *m);
status preset_locate(const char *spec, char *path, size_t size);

typedef struct {
    char *name, *path, *description;
} preset_info;
/* Every preset found by name, sorted; a name in an earlier folder hides
 * the same name in later ones. A broken file is listed, its description
 * saying why. */
status preset_list(preset_info **list, int *count);
void preset_list_free(preset_info *list, int count);

#endif
