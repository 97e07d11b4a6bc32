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

#endif
