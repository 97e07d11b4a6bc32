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

#endif
