/* What the synthesis commands (style, dream, classvis, neuron, invert)
 * share on the command line: checking the output before any work, the
 * model, threads, progress on stderr (a live line on a terminal, periodic
 * lines otherwise), the --log-json file, snapshots, the PNG metadata, and
 * writing the result also when interrupted or stopped by a non-finite
 * objective. */
#include "cli/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *cli_expected_model_sha256 = NULL;
const char *cli_rerun_command = NULL;

/* Plain progress lines (not a terminal) at most this often, in seconds. */
enum { PLAIN_PROGRESS_SECONDS = 10 };

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Appends s to buf (size n, NUL-terminated), quoted for a POSIX shell when
 * it holds anything but safe characters. */
static void append_quoted(char *buf, size_t n, const char *s)
{
    size_t len = strlen(buf);
    bool safe = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+.,/:@%", *p))
            safe = false;
    if (len + 1 < n && len > 0)
        buf[len++] = ' ';
    if (!safe && len + 1 < n)
        buf[len++] = '\'';
    for (const char *p = s; *p && len + 5 < n; p++) {
        if (*p == '\'' && !safe) {
            memcpy(buf + len, "'\\''", 4);
            len += 4;
        } else {
            buf[len++] = *p;
        }
    }
    if (!safe && len + 1 < n)
        buf[len++] = '\'';
    buf[len < n ? len : n - 1] = '\0';
}

/* The model's identity for the metadata: "builtin" for the built-in
 * network (made from a fixed seed by this version of synth); else the
 * SHA-256 of the .onnx file, a cached registry model's from the registry
 * (its download was checked against it). */
static status model_sha256(const model_options *mo, const net_model *m, char hex[65])
{
    if (net_model_is_builtin(m)) {
        strcpy(hex, "builtin");
        return ST_OK;
    }
    const char *spec = mo->model;
    size_t n = strlen(spec);
    struct stat sb;
    char path[4096];
    if (!strchr(spec, '/') && !(n > 5 && strcmp(spec + n - 5, ".onnx") == 0) && model_name_valid(spec) &&
        model_cache_path(spec, path, sizeof path) == ST_OK && stat(path, &sb) == 0) {
        const model_entry *e = model_registry_find(spec);
        if (e) {
            snprintf(hex, 65, "%s", e->sha256);
            return ST_OK;
        }
        return sha256_file(path, hex);
    }
    return sha256_file(spec, hex);
}

/* A preset's model that is a name not in the cache (nor a file): the
 * built-in network instead, with a note, so every preset runs without a
 * download. A --model on the command line is used as given. */
static void preset_model_fallback(const option_state *st, model_options *mo)
{
    const option_spec *spec = option_find(st->table, "model");
    if (!spec || st->source[spec - st->table->specs] != FROM_PRESET || !mo->model ||
        strcmp(mo->model, "default") == 0)
        return;
    size_t n = strlen(mo->model);
    struct stat sb;
    char path[4096];
    if (strchr(mo->model, '/') || (n > 5 && strcmp(mo->model + n - 5, ".onnx") == 0) || stat(mo->model, &sb) == 0 ||
        (model_name_valid(mo->model) && model_cache_path(mo->model, path, sizeof path) == ST_OK &&
         stat(path, &sb) == 0))
        return;
    char note[512];
    snprintf(note, sizeof note,
             "preset '%s' is made for model '%s', which is not downloaded ('synth model fetch %s'); "
             "using the built-in network",
             st->preset, mo->model, mo->model);
    cli_note(note);
    free(mo->model);
    mo->model = NULL;
}

void cli_append_quoted(char *buf, size_t n, const char *s) { append_quoted(buf, n, s); }

/* Before any work: -o and --log-json, the shared options, threads, the
 * command line for the metadata, the model. */
static int cli_render_open(cli_render *r, const char *command, const render_options *run,
                           const model_options *model, bool need_output, int argc, char **argv)
{
    memset(r, 0, sizeof *r);
    r->command = command;
    r->run = run;
    cli_quiet = run->quiet;
    if (need_output && !run->output)
        return cli_usage(command, "missing -o FILE (the result)");
    image_write_options wo = image_output_write_options(&run->image);
    if (need_output && image_check_output_options(run->output, &wo) != ST_OK)
        return cli_fail(ST_ERROR);
    if (run->log_json && output_check_writable(run->log_json) != ST_OK)
        return cli_fail(ST_ERROR);
    if (render_options_check(run) != ST_OK)
        return cli_fail(ST_ERROR);
    if (run->threads > 0)
        net_set_threads(run->threads);
    /* The whole command line, never cut: room for every byte quoted ('\''
     * is 4 bytes for 1), a space and two quotes per argument. */
    size_t room = sizeof "synth" + (cli_rerun_command ? strlen(cli_rerun_command) : 0);
    for (int i = 0; i < argc; i++)
        room += 4 * strlen(argv[i]) + 3;
    char *line = alloc_array(room, 1, "command line");
    if (!line)
        return cli_fail(ST_ERROR);
    strcpy(line, "synth");
    for (int i = 0; i < argc; i++)
        append_quoted(line, room, argv[i]);
    if (cli_rerun_command)
        snprintf(line, room, "%s", cli_rerun_command);
    r->command_line = line;
    if (model_open(model, &r->model) != ST_OK || model_sha256(model, r->model, r->model_sha256) != ST_OK)
        return cli_fail(ST_ERROR);
    if (cli_expected_model_sha256 && strcmp(cli_expected_model_sha256, r->model_sha256) != 0)
        return cli_fail(error_set(net_model_name(r->model),
                                  "the image was made with a model of SHA-256 %.16s..., this one is %.16s... "
                                  "(rerun --force renders anyway)",
                                  cli_expected_model_sha256, r->model_sha256));
    /* The log is an output like the image: a temporary beside it until
     * cli_render_close/_end commit it (log_end); a run that fails before
     * its first step leaves an existing log as it was. */
    if (run->log_json && atomic_open(run->log_json, &r->log) != ST_OK)
        return cli_fail(ST_ERROR);
    r->terminal = isatty(STDERR_FILENO);
    r->start = r->octave_start = r->last_line = r->last_report = seconds_now();
    return EXIT_OK;
}

/* Writes v as a JSON number (null when not finite). */
static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void log_json(cli_render *r, const render_progress *p, double elapsed)
{
    FILE *f = atomic_stream(r->log);
    r->log_lines++;
    fprintf(f, "{\"octave\":%d,\"iter\":%d,\"loss\":", p->octave, p->iter);
    json_number(f, p->loss);
    for (int i = 0; i < p->value_count; i++) {
        fputc(',', f);
        json_string(f, p->labels[i]);
        fputc(':', f);
        json_number(f, p->values[i]);
    }
    fprintf(f, ",\"width\":%d,\"height\":%d,\"evaluations\":%zu,\"seconds\":%.3f,\"net_peak_bytes\":%zu}\n",
            p->width, p->height, p->evaluations, elapsed, net_peak_bytes());
    fflush(f);
}

/* "1:02:03" or "2:03". */
static void format_duration(double s, char *buf, size_t n)
{
    long t = isfinite(s) && s > 0 ? (long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static void on_progress(void *ctx, const render_progress *p)
{
    cli_render *r = ctx;
    double now = seconds_now();
    if (p->octave != r->octave) { /* the octave began when the last one's last step ended */
        r->octave = p->octave;
        r->octave_start = r->last_report;
        r->octave_iters = 0;
    }
    r->octave_iters++;
    r->last_report = now;
    if (r->log)
        log_json(r, p, now - r->start);
    if (cli_quiet)
        return;
    /* The rest, in iterations of this octave: later octaves are octave_scale²
     * times as large each. */
    double rate = r->octave_iters / (now - r->octave_start), left = p->iters - p->iter, grow = 1;
    for (int k = p->octave + 1; k <= p->octaves; k++) {
        grow *= r->run->octave_scale * r->run->octave_scale;
        left += p->iters * grow;
    }
    char eta[32], elapsed[32];
    format_duration(left / rate, eta, sizeof eta);
    format_duration(now - r->start, elapsed, sizeof elapsed);
    bool last = p->octave == p->octaves && p->iter == p->iters;
    if (r->terminal) {
        fprintf(stderr, "\r\033[Koctave %d/%d  iter %d/%d  loss %.5g  %.2f it/s  ETA %s", p->octave,
                p->octaves, p->iter, p->iters, p->loss, rate, eta);
        if (last)
            fputc('\n', stderr);
        r->live = !last;
    } else if (now - r->last_line >= PLAIN_PROGRESS_SECONDS || p->iter == p->iters) {
        fprintf(stderr, "synth: octave %d/%d iter %d/%d loss %.6g (%.2f it/s, %s elapsed, ETA %s)\n",
                p->octave, p->octaves, p->iter, p->iters, p->loss, rate, elapsed, eta);
        r->last_line = now;
    }
    fflush(stderr);
}

/* OUT.png → OUT_<iter>.png, or OUT_<octave>_<iter>.png with octaves. */
static status snapshot_path(const cli_render *r, int octave, int iter, char *buf, size_t n)
{
    const char *out = r->run->output, *slash = strrchr(out, '/');
    const char *dot = strrchr(slash ? slash + 1 : out, '.');
    int stem = (int)(dot - out);
    int len = r->run->octaves > 1 ? snprintf(buf, n, "%.*s_%d_%d%s", stem, out, octave, iter, dot)
                                  : snprintf(buf, n, "%.*s_%d%s", stem, out, iter, dot);
    if (len < 0 || (size_t)len >= n)
        return error_set(out, "file name too long for --save-every");
    return ST_OK;
}

static status write_image(cli_render *r, const char *path, const image *im)
{
    char seed[32], threads[32];
    snprintf(seed, sizeof seed, "%d", r->run->seed);
    snprintf(threads, sizeof threads, "%d", net_threads());
    image_text text[] = {
        {"synth.version", SYNTH_VERSION},
        {"synth.command", r->command_line},
        {"synth.model", (char *)net_model_name(r->model)},
        {"synth.model_sha256", r->model_sha256},
        {"synth.seed", seed},
        {"synth.threads", threads},
        {"synth.preset", r->preset},
        {"synth.preset_sha256", r->preset_sha256},
        {"synth.class", r->class_text},
    };
    int count = (int)(sizeof text / sizeof text[0]) - 3;
    if (r->preset[0])
        count += 2;
    if (r->class_text[0])
        text[count++] = text[sizeof text / sizeof text[0] - 1];
    image_write_options wo = image_output_write_options(&r->run->image);
    wo.text = text;
    wo.text_count = count;
    return image_write(path, im, &wo);
}

status cli_render_write(cli_render *r, const char *path, const image *im)
{
    return write_image(r, path, im);
}

static status on_snapshot(void *ctx, const image *im, int octave, int iter)
{
    cli_render *r = ctx;
    char path[4096];
    if (snapshot_path(r, octave, iter, path, sizeof path) != ST_OK)
        return ST_ERROR;
    return write_image(r, path, im);
}

static render_callbacks cli_render_callbacks(cli_render *r)
{
    return (render_callbacks){.progress = on_progress, .snapshot = on_snapshot, .ctx = r};
}

/* Commits the --log-json file (keep) or removes its temporary; r->log is
 * NULL after. */
static status log_end(cli_render *r, bool keep)
{
    atomic_file *f = r->log;
    r->log = NULL;
    if (!f)
        return ST_OK;
    if (keep)
        return atomic_commit(f);
    atomic_abort(f);
    return ST_OK;
}

static int cli_render_close(cli_render *r, status s, image *out)
{
    if (r->live) {
        fputc('\n', stderr);
        r->live = false;
    }
    int rc = EXIT_OK;
    if (s != ST_OK) {
        /* Keep the message: writing the image may replace it. The log is
         * kept exactly when the image is (interrupted, non-finite stop). */
        char *why = string_dup(error_message());
        bool wrote = out->data && write_image(r, r->run->output, out) == ST_OK;
        char *log_why = log_end(r, wrote) != ST_OK ? string_dup(error_message()) : NULL;
        if (wrote && why)
            error_set(NULL, "%s; the %s image is in %s%s%s", why,
                      s == ST_INTERRUPTED ? "current" : "last good", r->run->output,
                      log_why ? "; " : "", log_why ? log_why : "");
        else if (why)
            error_set(NULL, "%s", why);
        free(why);
        free(log_why);
        rc = cli_fail(s);
    } else if (write_image(r, r->run->output, out) != ST_OK) {
        log_end(r, false);
        rc = cli_fail(ST_ERROR);
    } else if (log_end(r, true) != ST_OK) {
        rc = cli_fail(ST_ERROR);
    } else if (!cli_quiet) {
        char elapsed[32];
        format_duration(seconds_now() - r->start, elapsed, sizeof elapsed);
        fprintf(stderr, "synth: wrote %s (%dx%d) in %s\n", r->run->output, out->width, out->height,
                elapsed);
    }
    image_free(out);
    return rc;
}

/* For commands that write their own files: ends the progress line, commits
 * the log when the run succeeded or rendered anything (its files are kept),
 * and reports an error. */
static int cli_render_end(cli_render *r, status s)
{
    if (r->live) {
        fputc('\n', stderr);
        r->live = false;
    }
    if (log_end(r, s == ST_OK || r->log_lines > 0) != ST_OK && s == ST_OK)
        s = ST_ERROR;
    return s == ST_OK ? EXIT_OK : cli_fail(s);
}

static void cli_render_free(cli_render *r)
{
    log_end(r, false);
    net_model_close(r->model);
    free(r->command_line);
    memset(r, 0, sizeof *r);
}

status cli_read_image(const char *flag, const char *path, image *im)
{
    return image_read(path, im) == ST_OK ? ST_OK : error_prefix(flag);
}

static int synthesis_main(const cli_synthesis *c, bool own_files, int argc, char **argv)
{
    const char *command = c->table->command;
    void *o = alloc_array(1, c->options_size, command);
    if (!o)
        return cli_fail(ST_ERROR);
    c->defaults(o);
    option_state st;
    cli_render r = {0};
    image out = {0};
    int rc = option_state_init(&st, c->table, o) == ST_OK ? cli_parse(&st, argc, argv) : cli_fail(ST_ERROR);
    const char *missing = rc == EXIT_OK && c->missing ? c->missing(o) : NULL;
    model_options *mo = (model_options *)((char *)o + c->model_offset);
    if (rc == EXIT_OK && !missing) {
        cli_quiet = ((const render_options *)((char *)o + c->run_offset))->quiet;
        preset_model_fallback(&st, mo);
    }
    if (rc == CLI_HELP_PRINTED) {
        rc = EXIT_OK;
    } else if (missing) {
        rc = cli_usage(command, "%s", missing);
    } else if (rc == EXIT_OK &&
               (rc = cli_render_open(&r, command, (const render_options *)((char *)o + c->run_offset), mo, !own_files,
                                     argc, argv)) == EXIT_OK &&
               (rc = options_resolve_layers(c->table, o, r.model) == ST_OK ? EXIT_OK : cli_fail(ST_ERROR)) ==
                   EXIT_OK) {
        memcpy(r.preset, st.preset, sizeof r.preset);
        memcpy(r.preset_sha256, st.preset_sha256, sizeof r.preset_sha256);
        render_callbacks cb = cli_render_callbacks(&r);
        status s = c->render(o, &r, &cb, &out);
        rc = own_files ? cli_render_end(&r, s) : cli_render_close(&r, s, &out);
    }
    image_free(&out);
    cli_render_free(&r);
    options_free(c->table, o);
    free(o);
    return rc;
}

int cli_synthesis_main(const cli_synthesis *c, int argc, char **argv)
{
    return synthesis_main(c, false, argc, argv);
}

int cli_synthesis_files_main(const cli_synthesis *c, int argc, char **argv)
{
    return synthesis_main(c, true, argc, argv);
}
