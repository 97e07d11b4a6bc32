/* synth presets — the presets found by name (list) and one preset's text
 * (show). The format and the search folders: presets/presets.h. */
#include "cli/cli.h"

#include <stddef.h>
#include <string.h>

typedef struct {
    string_list words; /* SUBCOMMAND [NAME] */
} presets_cmd_options;

static const option_table presets_table = {
    "presets",
    "synth presets list\n"
    "       synth presets show NAME|FILE",
    "Presets are .ini files of option values, one [section] per command, used with\n"
    "--preset NAME|FILE by every command; flags on the command line override them.\n"
    "list: every preset found by name, with its one-line description.\n"
    "show: a preset's text, after the line '# FILE' saying where it was found.\n"
    "A name is looked up in $XDG_CONFIG_HOME/synth/presets (else\n"
    "~/.config/synth/presets), then the installed presets (<prefix>/share/synth/\n"
    "presets, next to the binary's folder), then the source tree's presets/.",
    NULL,
    0,
    offsetof(presets_cmd_options, words),
    1,
    2,
};

static int list_presets(void)
{
    preset_info *list;
    int n;
    if (preset_list(&list, &n) != ST_OK)
        return cli_fail(ST_ERROR);
    int width = 0;
    for (int i = 0; i < n; i++)
        if ((int)strlen(list[i].name) > width)
            width = (int)strlen(list[i].name);
    for (int i = 0; i < n; i++)
        printf("%-*s  %s\n", width, list[i].name, list[i].description);
    preset_list_free(list, n);
    return EXIT_OK;
}

static int show_preset(const char *spec)
{
    preset p;
    if (preset_load(spec, NULL, &p) != ST_OK)
        return cli_fail(ST_ERROR);
    size_t len = strlen(p.text);
    printf("# %s\n%s%s", p.path, p.text, len && p.text[len - 1] != '\n' ? "\n" : "");
    preset_free(&p);
    return EXIT_OK;
}

int cmd_presets(int argc, char **argv)
{
    presets_cmd_options o = {0};
    option_state st;
    if (option_state_init(&st, &presets_table, &o) != ST_OK)
        return cli_fail(ST_ERROR);
    int rc = cli_parse(&st, argc, argv);
    if (rc == CLI_HELP_PRINTED) {
        rc = EXIT_OK;
    } else if (rc == EXIT_OK) {
        const char *sub = o.words.items[0];
        if (strcmp(sub, "list") == 0 && o.words.count == 1)
            rc = list_presets();
        else if (strcmp(sub, "show") == 0 && o.words.count == 2)
            rc = show_preset(o.words.items[1]);
        else if (strcmp(sub, "show") == 0)
            rc = cli_usage("presets", "show needs one preset NAME or FILE");
        else
            rc = cli_usage("presets", "unknown subcommand '%s' (list, show)", sub);
    }
    options_free(&presets_table, &o);
    return rc;
}
