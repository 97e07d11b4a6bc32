/* synth model — the model registry and cache: list known and cached models,
 * download one (verified, resumable, with a progress bar on a terminal), and
 * export any model as an ONNX file. */
#include "cli/cli.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char *url;
    char *sha256;
    char *name;
    char *output;
    string_list words; /* SUBCOMMAND [ARG] */
} model_cmd_options;

static const option_spec model_specs[] = {
    {"url", 0, OPT_STRING, offsetof(model_cmd_options, url), 0, 0, 0, 0, NULL, "URL",
     "fetch from URL: a mirror of a known model, or a new file (with --sha256, --name)"},
    {"sha256", 0, OPT_STRING, offsetof(model_cmd_options, sha256), 0, 0, 0, 0, NULL, "HEX",
     "the file's SHA-256 (64 hex digits), checked before it is cached"},
    {"name", 0, OPT_STRING, offsetof(model_cmd_options, name), 0, 0, 0, 0, NULL, "NAME",
     "the name to cache a --url download under (--model NAME then uses it)"},
    {"output", 'o', OPT_STRING, offsetof(model_cmd_options, output), 0, 0, 0, 0, NULL, "FILE",
     "export: the .onnx file to write"},
};

static const option_table model_table = {
    "model",
    "synth model list\n"
    "       synth model fetch NAME [--url URL]\n"
    "       synth model fetch --url URL --sha256 HEX --name NAME\n"
    "       synth model export MODEL -o FILE.onnx",
    "Lists the pretrained models synth knows (ImageNet classifiers of the ONNX model\n"
    "zoo) and the ones in the cache, and downloads them. Downloads are checked\n"
    "against their SHA-256 before they appear in the cache; an interrupted download\n"
    "(Ctrl-C, a lost connection) resumes where it stopped when the same command is\n"
    "run again. A cached model is used with --model NAME in every command.\n"
    "\n"
    "export writes any model synth can open (default, a file, a cached name) as an\n"
    "ONNX file (opset 13) that other tools load, layer names kept.\n"
    "\n"
    "Cache: $XDG_CACHE_HOME/synth/models, else ~/.cache/synth/models.\n"
    "SYNTH_MODEL_BASE_URL replaces https://media.githubusercontent.com/media/onnx/models/\n"
    "in the known models' URLs (a mirror).",
    model_specs,
    (int)(sizeof model_specs / sizeof model_specs[0]),
    offsetof(model_cmd_options, words),
    1,
    2,
};

/* "548.1 MB" */
static const char *human_bytes(uint64_t bytes, char *buf, size_t size)
{
    if (bytes >= 1000000)
        snprintf(buf, size, "%.1f MB", (double)bytes / 1e6);
    else if (bytes >= 1000)
        snprintf(buf, size, "%.1f kB", (double)bytes / 1e3);
    else
        snprintf(buf, size, "%" PRIu64 " B", bytes);
    return buf;
}

static const cached_model *find_cached(const cached_model *list, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i].name, name) == 0)
            return &list[i];
    return NULL;
}

static void print_row(const char *name, uint64_t bytes, const cached_model *c, const char *use)
{
    char size[32], state[64], got[32];
    human_bytes(bytes, size, sizeof size);
    if (!c)
        snprintf(state, sizeof state, "-");
    else if (c->partial)
        snprintf(state, sizeof state, "partial (%s)", human_bytes(c->bytes, got, sizeof got));
    else
        snprintf(state, sizeof state, "cached");
    printf("%-14s %10s  %-18s %s\n", name, size, state, use);
}

static int model_list(void)
{
    char dir[4096];
    cached_model *cached;
    int ncached;
    if (model_cache_dir(dir, sizeof dir) != ST_OK || model_cache_list(&cached, &ncached) != ST_OK)
        return cli_fail(ST_ERROR);
    printf("%-14s %10s  %-18s %s\n", "NAME", "SIZE", "STATE", "USE");
    for (int i = 0; i < model_registry_count(); i++) {
        const model_entry *e = model_registry_get(i);
        print_row(e->name, e->bytes, find_cached(cached, ncached, e->name), e->use);
    }
    for (int i = 0; i < ncached; i++)
        if (!model_registry_find(cached[i].name))
            print_row(cached[i].name, cached[i].bytes, &cached[i], "(fetched by URL)");
    printf("cache: %s\n", dir);
    model_cache_list_free(cached, ncached);
    if (fflush(stdout) != 0)
        return cli_fail(error_set("stdout", "write failed"));
    return EXIT_OK;
}

/* The progress bar: redrawn in place on stderr at most ten times a second. */
typedef struct {
    const char *name;
    struct timespec start, last;
    bool drawn;
} progress_bar;

static double seconds_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void draw_progress(void *ctx, uint64_t done, uint64_t total)
{
    progress_bar *bar = ctx;
    bool finished = total && done >= total;
    if (bar->drawn && !finished && seconds_since(&bar->last) < 0.1)
        return;
    clock_gettime(CLOCK_MONOTONIC, &bar->last);
    double elapsed = seconds_since(&bar->start), rate = elapsed > 0 ? (double)done / elapsed : 0;
    char got[32], all[32];
    human_bytes(done, got, sizeof got);
    if (total) {
        enum { WIDTH = 30 };
        int filled = (int)((double)done / (double)total * WIDTH);
        char cells[WIDTH + 1];
        for (int i = 0; i < WIDTH; i++)
            cells[i] = i < filled ? '#' : ' ';
        cells[WIDTH] = '\0';
        fprintf(stderr, "\r%s %3d%% [%s] %s / %s  %.1f MB/s ", bar->name,
                (int)((double)done * 100 / (double)total), cells, got, human_bytes(total, all, sizeof all),
                rate / 1e6);
    } else {
        fprintf(stderr, "\r%s %s  %.1f MB/s ", bar->name, got, rate / 1e6);
    }
    bar->drawn = true;
}

static int model_fetch_command(const model_cmd_options *o)
{
    const char *name = o->words.count > 1 ? o->words.items[1] : o->name;
    if (o->words.count > 1 && o->name)
        return cli_usage("model", "give the name once: 'synth model fetch NAME' or '--name NAME'");
    if (!name)
        return cli_usage("model", "fetch needs a NAME (see 'synth model list')");
    if (o->sha256 && !o->url && !model_registry_find(name))
        return cli_usage("model", "--sha256 goes with --url");
    progress_bar bar = {name, {0, 0}, {0, 0}, false};
    clock_gettime(CLOCK_MONOTONIC, &bar.start);
    bool tty = isatty(STDERR_FILENO) && !cli_quiet;
    char path[4096];
    bool already;
    status s = model_fetch(name, o->url, o->sha256, tty ? draw_progress : NULL, &bar, path, sizeof path, &already);
    if (bar.drawn)
        fputc('\n', stderr);
    if (s != ST_OK)
        return cli_fail(s);
    printf("%s: %s %s\n", name, already ? "already in the cache:" : "verified and cached:", path);
    return EXIT_OK;
}

static int model_export_command(const model_cmd_options *o)
{
    if (o->words.count < 2)
        return cli_usage("model", "export needs a MODEL (default, a .onnx file or a cached name)");
    if (!o->output)
        return cli_usage("model", "export needs -o FILE.onnx");
    if (output_check_writable(o->output) != ST_OK)
        return cli_fail(ST_ERROR);
    net_model *m;
    status s = net_model_open(o->words.items[1], &m);
    if (s == ST_OK) {
        s = net_model_export_onnx(m, o->output);
        net_model_close(m);
    }
    if (s != ST_OK)
        return cli_fail(s);
    printf("%s: written\n", o->output);
    return EXIT_OK;
}

int cmd_model(int argc, char **argv)
{
    model_cmd_options o = {0};
    option_state st;
    if (option_state_init(&st, &model_table, &o) != ST_OK)
        return cli_fail(ST_ERROR);
    int rc = cli_parse(&st, argc, argv);
    if (rc == CLI_HELP_PRINTED) {
        rc = EXIT_OK;
    } else if (rc == EXIT_OK) {
        const char *sub = o.words.items[0];
        if (strcmp(sub, "list") == 0)
            rc = o.words.count > 1 ? cli_usage("model", "list takes no argument") : model_list();
        else if (strcmp(sub, "fetch") == 0)
            rc = model_fetch_command(&o);
        else if (strcmp(sub, "export") == 0)
            rc = o.words.count > 2 ? cli_usage("model", "export takes one MODEL") : model_export_command(&o);
        else
            rc = cli_usage("model", "unknown subcommand '%s' (list, fetch, export)", sub);
    }
    options_free(&model_table, &o);
    return rc;
}
