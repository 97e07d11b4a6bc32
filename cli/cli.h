/* cli — the `synth` executable: subcommands, argument parsing, progress
 * display, exit codes. Nothing algorithmic lives here: every command parses its
 * options into a struct and hands it to the library.
 *
 * Exit codes: 0 success; 1 error (one line "synth: <what>: <why>" on stderr);
 * 2 usage error; 128 + signal when interrupted (130 for SIGINT, 143 SIGTERM).
 */
#ifndef SYNTH_CLI_H
#define SYNTH_CLI_H

#include <stdio.h>

#include "net/net.h"
#include "presets/presets.h"

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

typedef struct {
    const char *name;
    const char *summary;                  /* one line for `synth --help` */
    int (*run)(int argc, char **argv);    /* argv[0] is the command name */
} cli_command;

/* Parses argv[1..] for a command against its option table: "--name value",
 * "--name=value", "-o value", "--flag", "--no-flag", "--" ends options; other
 * words are positionals. "--help"/"-h" prints help to stdout.
 * Returns EXIT_OK to go on, or the exit code to return at once (EXIT_USAGE after
 * printing the usage error, or -1 when help was printed: exit 0). */
int cli_parse(option_state *st, int argc, char **argv);
enum { CLI_HELP_PRINTED = -1 };

void cli_print_help(const option_table *t, FILE *out);
/* The subcommand called `name` (cli/main.c's table), or NULL. */
const cli_command *cli_command_find(const char *name);

/* Prints "synth: <error_message()>" and returns the exit code for `s`
 * (1, or 128 + signal for ST_INTERRUPTED). */
int cli_fail(status s);
/* Prints "synth: <message>" and "Try 'synth <command> --help'." and returns 2. */
int cli_usage(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Installs SIGINT/SIGTERM handlers that set interrupt_signal; a second signal
 * exits at once. */
void cli_install_signal_handlers(void);

/* Says `message` on stderr once per process (used for one-time notes such as
 * "the built-in network is random-feature"). Not printed with --quiet. */
void cli_note(const char *message);
extern int cli_quiet;

/* ===== Synthesis commands: what they share (cli/render.c) =================
 * style, dream, classvis, neuron and invert are each a cli_synthesis run
 * by cli_synthesis_main: parse the table into the options (defaults first),
 * a usage error for a missing required flag, then before any work check -o
 * and --log-json, set threads and quiet, open the model; then `render` reads
 * the command's input images and runs its render loop; the result is
 * written (also when interrupted, exit 130/143, or stopped by a non-finite
 * objective, exit 1) with the metadata synth.version, synth.command (the
 * full command line, shell quoted), synth.model and synth.seed.
 * Progress goes to stderr: a live line on a terminal, a plain line every 10
 * seconds and at each octave's end otherwise, nothing with --quiet. */
enum { CLI_COMMAND_LINE_MAX = 8192 };
typedef struct {
    const char *command;
    const render_options *run;
    net_model *model;
    char *command_line;
    /* Metadata added for presets and rerun (issue 7). */
    char preset[256], preset_sha256[65]; /* "" when no --preset */
    char model_sha256[65];               /* of the .onnx file, or "builtin" */
    char class_text[320]; /* synth.class: "K" or "K name" (classvis); "" for none */
    atomic_file *log; /* --log-json's temporary, NULL without */
    int log_lines;
    bool terminal, live;
    double start, octave_start, last_line, last_report;
    int octave, octave_iters;
} cli_render;

typedef struct {
    const option_table *table;
    size_t options_size;
    size_t run_offset, model_offset; /* of the render_options and model_options */
    void (*defaults)(void *options);
    /* A usage error ("missing --content FILE") or NULL. */
    const char *(*missing)(const void *options);
    /* Reads the inputs (cli_read_image) and renders into *out. */
    status (*render)(void *options, cli_render *r, const render_callbacks *cb, image *out);
} cli_synthesis;

int cli_synthesis_main(const cli_synthesis *c, int argc, char **argv);
/* Set by `synth rerun` (cli/cmd_rerun.c) before it runs the stored command:
 * the model's SHA-256 the image was made with; a synthesis command whose
 * model differs refuses before any work. NULL: no check. */
extern const char *cli_expected_model_sha256;
/* The same for a command whose render writes its own files
 * (cli_render_write; animate's frames): no -o, and *out is not written,
 * not even when interrupted. */
int cli_synthesis_files_main(const cli_synthesis *c, int argc, char **argv);
/* Appends s to buf (size n, NUL-terminated) after a space, quoted for a
 * POSIX shell when it holds anything but safe characters. */
void cli_append_quoted(char *buf, size_t n, const char *s);
/* Writes an image atomically with the run's metadata (synth.version, ...). */
status cli_render_write(cli_render *r, const char *path, const image *im);
/* Also set by rerun: the synth.command to store in the new image (the stored
 * one, so a rerun's image carries the same metadata); NULL: argv's. */
extern const char *cli_rerun_command;
/* Reads an image given by a flag; the error says "--flag: file: reason". */
status cli_read_image(const char *flag, const char *path, image *im);

/* ===== Commands: one run function per cli/cmd_<name>.c ===================== */
int cmd_model(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_saliency(int argc, char **argv);
int cmd_adversarial(int argc, char **argv);
int cmd_filters(int argc, char **argv);
int cmd_activations(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_top_patches(int argc, char **argv);
int cmd_style(int argc, char **argv);
int cmd_dream(int argc, char **argv);
int cmd_classvis(int argc, char **argv);
int cmd_neuron(int argc, char **argv);
int cmd_invert(int argc, char **argv);
int cmd_presets(int argc, char **argv);
int cmd_animate(int argc, char **argv);
int cmd_poster(int argc, char **argv);
int cmd_texture(int argc, char **argv);
int cmd_rerun(int argc, char **argv);

#endif
