/* The explain commands' shared plumbing (see explain.h). */
#include "cli/explain.h"

#include <string.h>

status explain_size(const number_list *size, int *height, int *width)
{
    *height = *width = 0;
    for (int i = 0; i < size->count; i++)
        if (size->values[i] != (double)(int)size->values[i])
            return error_set("--size", "'%g' is not a whole number of pixels", size->values[i]);
    if (size->count > 0) {
        *height = (int)size->values[0];
        *width = (int)size->values[size->count - 1];
    }
    return ST_OK;
}

/* Set when a class-based command opened the built-in network: the note is
 * printed once the command has succeeded, so an error stays one line. */
static bool builtin_classes;

status explain_open_model(const model_options *mo, bool class_based, net_model **m)
{
    if (model_open(mo, m) != ST_OK)
        return ST_ERROR;
    builtin_classes |= class_based && net_model_is_builtin(*m);
    return ST_OK;
}

status explain_open_layer(const model_options *mo, const char *layer_name, net_model **m, int *layer)
{
    if (explain_open_model(mo, false, m) != ST_OK)
        return ST_ERROR;
    if (net_layer_find(*m, layer_name, layer) != ST_OK) {
        net_model_close(*m);
        *m = NULL;
        return error_prefix("--layer");
    }
    return ST_OK;
}

const char *explain_class_name(const net_model *m, int c, char *buf, size_t size)
{
    const char *name = c < net_model_label_count(m) ? net_model_label(m, c) : NULL;
    snprintf(buf, size, "%s%s", name && *name ? " " : "", name ? name : "");
    return buf;
}

status explain_check_outputs(const char *png, const image_output_options *io, const char *npy)
{
    image_write_options wo = io ? image_output_write_options(io) : (image_write_options){0};
    if (png && image_check_output_options(png, &wo) != ST_OK)
        return ST_ERROR;
    if (npy && output_check_writable(npy) != ST_OK)
        return ST_ERROR;
    return ST_OK;
}

status explain_write_image(const char *path, const image *im, const image_output_options *io)
{
    image_write_options wo = image_output_write_options(io);
    return image_write(path, im, &wo);
}

/* EXIT_OK when every option named in `required` holds a string, else the
 * usage error for the first that does not: "missing -o GRID.png". */
static int require(const option_table *table, const void *opts, const char *required)
{
    for (const char *p = required; p && *p;) {
        size_t n = strcspn(p, " ");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        const option_spec *spec = option_find(table, name);
        if (spec && !*(char *const *)((const char *)opts + spec->offset)) {
            if (spec->short_name)
                return cli_usage(table->command, "missing -%c %s", spec->short_name, spec->metavar);
            return cli_usage(table->command, "missing --%s %s", spec->name, spec->metavar);
        }
        p += n + (p[n] == ' ');
    }
    return EXIT_OK;
}

int explain_command(const option_table *table, void *opts, int argc, char **argv, const char *required,
                    int (*check)(const void *opts), status (*run)(const void *opts))
{
    option_state st;
    if (option_state_init(&st, table, opts) != ST_OK)
        return cli_fail(ST_ERROR);
    int rc = cli_parse(&st, argc, argv);
    if (rc == CLI_HELP_PRINTED) {
        rc = EXIT_OK;
    } else if (rc == EXIT_OK && (rc = require(table, opts, required)) == EXIT_OK &&
               (!check || (rc = check(opts)) == EXIT_OK)) {
        status s = run(opts);
        if (s == ST_OK && fflush(stdout) != 0)
            s = error_set("stdout", "write failed");
        rc = s == ST_OK ? EXIT_OK : cli_fail(s);
        if (s == ST_OK && builtin_classes)
            cli_note("the built-in network has random features and no classifier: its 'classes' "
                     "are the channels of its last layer (use --model for a trained classifier)");
    }
    options_free(table, opts);
    return rc;
}
