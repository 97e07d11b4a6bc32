/* synth rerun — renders an image again from its metadata: the command line
 * in synth.command (shell-quoted when written, split here), checked first
 * against the version, the model's SHA-256 and the preset's SHA-256 stored
 * beside it. */
#include "cli/cli.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *output;
    bool force;
    string_list words; /* IMAGE */
} rerun_options;

static const option_spec rerun_specs[] = {
    {"output", 'o', OPT_STRING, offsetof(rerun_options, output), 0, 0, 0, 0, NULL, "FILE",
     "write the image here instead of the stored command's -o"},
    {"force", 0, OPT_FLAG, offsetof(rerun_options, force), 0, 0, 0, 0, NULL, NULL,
     "render even when synth's version, the model or the preset differ (the image may differ)"},
};

static const option_table rerun_table = {
    "rerun",
    "synth rerun IMAGE [-o OUT] [--force]",
    "Renders IMAGE again from its metadata (synth.command, written by style, dream,\n"
    "classvis, neuron, invert): the same command, seed and thread count give the\n"
    "same bytes. Refuses when synth's version (synth.version), the model's SHA-256\n"
    "(synth.model_sha256) or the preset's text (synth.preset_sha256) differ from\n"
    "those stored, unless --force. Paths in the command are as they were typed:\n"
    "run it from the folder the image was made in.",
    rerun_specs,
    (int)(sizeof rerun_specs / sizeof rerun_specs[0]),
    offsetof(rerun_options, words),
    1,
    1,
};

static const char *find_text(const image_info *info, const char *key)
{
    for (int i = 0; i < info->text_count; i++)
        if (strcmp(info->text[i].key, key) == 0)
            return info->text[i].value;
    return NULL;
}

static void words_free(char **words, int n)
{
    for (int i = 0; i < n; i++)
        free(words[i]);
    free(words);
}

/* Splits a POSIX shell command line as cli/render.c quotes it ('...' with
 * '\'' for a quote; also "..." and \x): the words, NULL-terminated. */
static status split_command(const char *line, const char *subject, char ***out, int *count)
{
    size_t n = strlen(line);
    char **words = alloc_array(n / 2 + 2, sizeof *words, subject);
    char *word = alloc_array(n + 1, 1, subject);
    int nw = 0;
    if (!words || !word) {
        free(words);
        free(word);
        return ST_ERROR;
    }
    const char *p = line;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        size_t len = 0;
        char quote = 0;
        for (; *p && (quote || (*p != ' ' && *p != '\t')); p++) {
            if (quote == '\'') {
                if (*p == '\'')
                    quote = 0;
                else
                    word[len++] = *p;
            } else if (*p == quote) {
                quote = 0;
            } else if (*p == '\\' && p[1] && (!quote || strchr("\"\\$`", p[1]))) {
                word[len++] = *++p;
            } else if (!quote && (*p == '\'' || *p == '"')) {
                quote = *p;
            } else {
                word[len++] = *p;
            }
        }
        if (quote) {
            words_free(words, nw);
            free(word);
            return error_set(subject, "synth.command has an unterminated quote");
        }
        word[len] = '\0';
        if (!(words[nw] = string_dup(word))) {
            words_free(words, nw);
            free(word);
            return ST_ERROR;
        }
        nw++;
    }
    free(word);
    words[nw] = NULL;
    *out = words;
    *count = nw;
    return ST_OK;
}

/* The checks before any work; error messages name the image. */
static status check_stored(const image_info *info, const char *image, bool force, const char **command,
                           const char **model_sha256)
{
    *command = find_text(info, "synth.command");
    *model_sha256 = find_text(info, "synth.model_sha256");
    if (!*command)
        return error_set(image, "no synth.command in its metadata (not made by a synth render command)");
    const char *version = find_text(info, "synth.version");
    if (!force && (!version || strcmp(version, SYNTH_VERSION) != 0))
        return error_set(image, "made by synth %s, this is synth %s: it may render differently (--force renders anyway)",
                         version ? version : "(unknown)", SYNTH_VERSION);
    const char *preset_name = find_text(info, "synth.preset"), *preset_sha = find_text(info, "synth.preset_sha256");
    if (!force && preset_name && preset_sha) {
        preset p;
        if (preset_load(preset_name, NULL, &p) != ST_OK)
            return error_prefix(image);
        bool same = strcmp(p.sha256, preset_sha) == 0;
        preset_free(&p);
        if (!same)
            return error_set(image, "the preset '%s' has changed since the image was made (--force renders anyway)",
                             preset_name);
    }
    return ST_OK;
}

int cmd_rerun(int argc, char **argv)
{
    rerun_options o = {0};
    option_state st;
    if (option_state_init(&st, &rerun_table, &o) != ST_OK)
        return cli_fail(ST_ERROR);
    int rc = cli_parse(&st, argc, argv);
    image_info info = {0};
    char **words = NULL;
    int nw = 0;
    const char *command, *model_sha256;
    const char *image = rc == EXIT_OK ? o.words.items[0] : NULL;
    if (rc == CLI_HELP_PRINTED) {
        rc = EXIT_OK;
    } else if (rc != EXIT_OK) {
        /* usage printed */
    } else if (image_probe(image, &info) != ST_OK || check_stored(&info, image, o.force, &command, &model_sha256) != ST_OK ||
               split_command(command, image, &words, &nw) != ST_OK) {
        rc = cli_fail(ST_ERROR);
    } else {
        const cli_command *c = nw >= 2 && strcmp(words[0], "synth") == 0 ? cli_command_find(words[1]) : NULL;
        if (!c || c->run == cmd_rerun) {
            rc = cli_fail(error_set(image, "synth.command is not a synth command: '%.200s'", command));
        } else {
            /* argv for the command: its words, then the thread count it ran
             * with (the same seed and count give the same bytes) and -o OUT
             * (the last of a flag wins). */
            const char *threads = find_text(&info, "synth.threads");
            char **args = alloc_array((size_t)nw + 4, sizeof *args, "rerun");
            if (!args) {
                rc = cli_fail(ST_ERROR);
            } else {
                int n = 0;
                for (int i = 1; i < nw; i++)
                    args[n++] = words[i];
                if (threads) {
                    args[n++] = "--threads";
                    args[n++] = (char *)threads;
                }
                if (o.output) {
                    args[n++] = "-o";
                    args[n++] = o.output;
                }
                args[n] = NULL;
                cli_expected_model_sha256 = o.force ? NULL : model_sha256;
                cli_rerun_command = command;
                rc = c->run(n, args);
                cli_expected_model_sha256 = NULL;
                cli_rerun_command = NULL;
                free(args);
            }
        }
    }
    words_free(words, nw);
    image_info_free(&info);
    options_free(&rerun_table, &o);
    return rc;
}
