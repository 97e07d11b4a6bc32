/* explain.h — private to cli/: what the explain commands (classify,
 * saliency, adversarial, filters, activations, embed, top-patches) share:
 * opening the model, reading inputs, naming classes, writing results. */
#ifndef SYNTH_CLI_EXPLAIN_H
#define SYNTH_CLI_EXPLAIN_H

#include "cli/cli.h"
#include "synth/synth.h"

/* The --size option (an explain command's `size` number_list field). */
#define EXPLAIN_SIZE_SPEC(TYPE)                                                                  \
    {"size", 0, OPT_NUMBERS, offsetof(TYPE, size), 1, 65536, 1, 2, NULL, "H,W",                \
     "resize images to H x W (one number: square; default: the model's input size when it "    \
     "fixes one, else as they are)"}

/* The --size value as height and width (none: 0, 0); errors name --size. */
status explain_size(const number_list *size, int *height, int *width);

/* model_open; for a class-based command on the built-in network,
 * explain_command then notes (after success) that its "classes" are random
 * features. */
status explain_open_model(const model_options *mo, bool class_based, net_model **m);

/* explain_open_model for a command that reads one layer, found by --layer:
 * on failure nothing stays open. */
status explain_open_layer(const model_options *mo, const char *layer_name, net_model **m, int *layer);

/* " NAME" for a class the model names, else "" (to follow the index). */
const char *explain_class_name(const net_model *m, int c, char *buf, size_t size);

/* Fails unless every path given (non-NULL) can be written: images by their
 * extension and `io` (--png-depth 16: PNG only), .npy files anywhere
 * writable. `io` may be NULL (defaults). */
status explain_check_outputs(const char *png, const image_output_options *io, const char *npy);
/* image_write with the --png-depth and --jpeg-quality of `io`. */
status explain_write_image(const char *path, const image *im, const image_output_options *io);

/* Runs a command: parses argv against `table` into `opts`; checks that the
 * string options named in `required` (space-separated, e.g. "layer output")
 * were given, and `check` (may be NULL; returns EXIT_OK or a usage error's
 * code); calls `run`; frees the options. */
int explain_command(const option_table *table, void *opts, int argc, char **argv, const char *required,
                    int (*check)(const void *opts), status (*run)(const void *opts));

#endif
