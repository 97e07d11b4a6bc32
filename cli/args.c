/* Command-line parsing against a command's option table, help text, and the
 * shared error, usage and signal plumbing of every subcommand. */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_quiet = 0;

int cli_fail(status s)
{
    const char *msg = error_message();
    fprintf(stderr, "synth: %s\n", *msg ? msg : "failed");
    if (s == ST_INTERRUPTED)
        return 128 + (interrupt_signal ? (int)interrupt_signal : SIGINT);
    return EXIT_ERROR;
}

int cli_usage(const char *command, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "synth: %s\n", msg);
    if (command)
        fprintf(stderr, "Try 'synth %s --help'.\n", command);
    else
        fprintf(stderr, "Try 'synth --help'.\n");
    return EXIT_USAGE;
}

void cli_note(const char *message)
{
    if (!cli_quiet)
        fprintf(stderr, "synth: note: %s\n", message);
}

static void on_signal(int sig)
{
    if (interrupt_signal) /* second Ctrl-C: the user means it */
        _exit(128 + sig);
    interrupt_signal = sig;
}

void cli_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static const char *type_metavar(const option_spec *s)
{
    if (s->metavar)
        return s->metavar;
    switch (s->type) {
    case OPT_INT: return "N";
    case OPT_NUMBER: return "X";
    case OPT_CHOICE: return s->choices;
    case OPT_LIST: return "A,B,...";
    case OPT_NUMBERS: return "X,Y,...";
    default: return "VALUE";
    }
}

void cli_print_help(const option_table *t, FILE *out)
{
    fprintf(out, "Usage: %s\n\n%s\n", t->usage, t->summary);
    if (t->count)
        fprintf(out, "\nOptions:\n");
    for (int i = 0; i < t->count; i++) {
        const option_spec *s = &t->specs[i];
        char left[96];
        if (s->type == OPT_FLAG)
            snprintf(left, sizeof left, "%s%c%s--%s", s->short_name ? "-" : "",
                     s->short_name ? s->short_name : ' ', s->short_name ? ", " : "  ", s->name);
        else
            snprintf(left, sizeof left, "%s%c%s--%s %s", s->short_name ? "-" : "",
                     s->short_name ? s->short_name : ' ', s->short_name ? ", " : "  ", s->name,
                     type_metavar(s));
        if (strlen(left) > 30)
            fprintf(out, "  %s\n  %-30s  %s\n", left, "", s->help);
        else
            fprintf(out, "  %-30s  %s\n", left, s->help);
    }
    fprintf(out, "  %-30s  %s\n", "   --preset NAME|FILE", "take option values from a preset (see 'synth presets list');");
    fprintf(out, "  %-30s  %s\n", "", "flags given here override them");
    fprintf(out, "  %-30s  %s\n", "-h, --help", "show this help");
}

static const option_spec *find_short(const option_table *t, char c)
{
    for (int i = 0; i < t->count; i++)
        if (t->specs[i].short_name == c)
            return &t->specs[i];
    return NULL;
}

static int add_positional(option_state *st, const char *word)
{
    const option_table *t = st->table;
    string_list *l = (string_list *)((char *)st->opts + t->positional_offset);
    if (t->positional_max == 0 || (t->positional_max > 0 && l->count >= t->positional_max))
        return cli_usage(t->command, "unexpected argument '%s'", word);
    char **items = realloc(l->items, (size_t)(l->count + 1) * sizeof *items);
    char *copy = items ? string_dup(word) : NULL;
    if (items)
        l->items = items;
    if (!copy)
        return cli_fail(error_set(NULL, "out of memory"));
    l->items[l->count++] = copy;
    return EXIT_OK;
}

/* --preset: the values of the preset's section for this command, under
 * those the command line set. Errors are in a file: exit 1. */
static int apply_preset(option_state *st, const char *spec)
{
    preset p;
    if (preset_load(spec, st->table, &p) != ST_OK)
        return cli_fail(ST_ERROR);
    status s = preset_apply(&p, st);
    preset_free(&p);
    return s == ST_OK ? EXIT_OK : cli_fail(ST_ERROR);
}

int cli_parse(option_state *st, int argc, char **argv)
{
    const option_table *t = st->table;
    bool options_done = false;
    const char *preset = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            int rc = add_positional(st, arg);
            if (rc != EXIT_OK)
                return rc;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli_print_help(t, stdout);
            return CLI_HELP_PRINTED;
        }
        const option_spec *spec = NULL;
        const char *value = NULL;
        char name[128];
        bool negated = false;
        if (arg[1] == '-') {
            const char *eq = strchr(arg + 2, '=');
            size_t len = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
            if (len >= sizeof name)
                return cli_usage(t->command, "unknown option '%s'", arg);
            memcpy(name, arg + 2, len);
            name[len] = '\0';
            value = eq ? eq + 1 : NULL;
            spec = option_find(t, name);
            if (!spec && strcmp(name, "preset") == 0) {
                if (!value && i + 1 >= argc)
                    return cli_usage(t->command, "option '--preset' needs a value");
                preset = value ? value : argv[++i];
                continue;
            }
            if (!spec && strncmp(name, "no-", 3) == 0) {
                spec = option_find(t, name + 3);
                if (spec && spec->type == OPT_FLAG && !value)
                    negated = true;
                else
                    spec = NULL;
            }
        } else if (arg[2] == '\0') {
            spec = find_short(t, arg[1]);
        }
        if (!spec)
            return cli_usage(t->command, "unknown option '%s'", arg);
        char where[160];
        snprintf(where, sizeof where, "--%s", spec->name);
        status s;
        if (spec->type == OPT_FLAG && !value) {
            s = option_set_flag(st, spec, !negated, FROM_COMMAND_LINE);
        } else {
            if (!value) {
                if (i + 1 >= argc)
                    return cli_usage(t->command, "option '%s' needs a value", where);
                value = argv[++i];
            }
            s = option_set(st, spec, value, where, FROM_COMMAND_LINE);
        }
        if (s != ST_OK) {
            fprintf(stderr, "synth: %s\n", error_message());
            return EXIT_USAGE;
        }
    }
    if (preset) {
        int rc = apply_preset(st, preset);
        if (rc != EXIT_OK)
            return rc;
    }
    const string_list *pos = (const string_list *)((char *)st->opts + t->positional_offset);
    int npos = t->positional_max == 0 ? 0 : pos->count;
    if (npos < t->positional_min)
        return cli_usage(t->command, "missing argument (see usage: %s)", t->usage);
    return EXIT_OK;
}
