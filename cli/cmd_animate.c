/* synth animate — DeepDream zoom frames in a folder (synth/render_animate.c
 * makes each frame): resuming after the last complete frame, the options
 * kept in DIR/animate.state so a resumed run never mixes two animations, and
 * --encode through ffmpeg. */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { PATH_MAX_LEN = 4096, STATE_MAX = 65536 };
static const char state_name[] = "animate.state";
static const char state_magic[] = "synth animate state 1\n";

/* Options that may change between runs of one animation: how many frames,
 * what is done with them, and how the run is shown. */
static const char *const free_options[] = {"frames", "out-dir", "encode", "fps", "threads",
                                           "quiet", "log-json", NULL};
/* Kept by their contents' SHA-256 instead of their names. */
static const char *const file_options[] = {"input", "guide", NULL};

static void defaults(void *o) { animate_options_default(o); }

static const char *missing(const void *opts)
{
    const animate_options *o = opts;
    if (!o->dream.input)
        return "missing --input FILE";
    if (o->frames < 1)
        return "missing --frames N";
    if (!o->out_dir)
        return "missing --out-dir DIR";
    return NULL;
}

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static status frame_path(const char *dir, int k, char *buf)
{
    int n = snprintf(buf, PATH_MAX_LEN, "%s/frame_%05d.png", dir, k);
    return n > 0 && n < PATH_MAX_LEN ? ST_OK : error_set("--out-dir", "path too long");
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* DIR, made when missing (its parent must exist). */
static status make_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? ST_OK : error_set(dir, "not a folder (--out-dir)");
    if (mkdir(dir, 0777) != 0)
        return error_set(dir, "cannot make the folder: %s", strerror(errno));
    return ST_OK;
}

/* Removes the temporaries a killed run left (".frame_*.png.synth-*"). */
static void remove_stale_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX_LEN];
    while ((e = readdir(d)))
        if (strncmp(e->d_name, ".frame_", 7) == 0 && strstr(e->d_name, ".png.synth-") &&
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
            unlink(path);
    closedir(d);
}

/* The state: every option that shapes the frames as "name=value" lines,
 * and the SHA-256 of the input and guide files. */
static status state_text(const animate_options *o, char *buf, size_t size)
{
    size_t pos = strlen(state_magic);
    if (pos >= size)
        return error_set("--out-dir", "state too long");
    memcpy(buf, state_magic, pos + 1);
    for (int i = 0; i < animate_table.count; i++) {
        const option_spec *spec = &animate_table.specs[i];
        bool free_option = false;
        for (const char *const *f = free_options; *f; f++)
            free_option |= strcmp(*f, spec->name) == 0;
        for (const char *const *f = file_options; *f; f++)
            free_option |= strcmp(*f, spec->name) == 0;
        if (free_option)
            continue;
        char value[4096];
        if (option_format(spec, o, value, sizeof value) != ST_OK)
            return ST_ERROR;
        int n = snprintf(buf + pos, size - pos, "%s=%s\n", spec->name, value);
        if (n < 0 || (size_t)n >= size - pos)
            return error_set("--out-dir", "state too long");
        pos += (size_t)n;
    }
    const char *files[2][2] = {{"input-sha256", o->dream.input}, {"guide-sha256", o->dream.guide}};
    for (int i = 0; i < 2; i++) {
        if (!files[i][1])
            continue;
        char hex[65];
        status s = sha256_file(files[i][1], hex);
        if (s != ST_OK)
            return s == ST_INTERRUPTED ? s : error_prefix(i ? "--guide" : "--input");
        int n = snprintf(buf + pos, size - pos, "%s=%s\n", files[i][0], hex);
        if (n < 0 || (size_t)n >= size - pos)
            return error_set("--out-dir", "state too long");
        pos += (size_t)n;
    }
    return ST_OK;
}

/* A number as typed (1.1, not %.17g's 1.1000000000000001); other text as is. */
static void pretty_value(char *v, size_t n)
{
    char *end;
    double x = strtod(v, &end);
    if (*v && !*end && end != v)
        snprintf(v, n, "%.15g", x);
}

/* The first line of `text` that differs from `want`'s, as "name=value". */
static void first_difference(const char *have, const char *want, char *key, char *was, char *now, size_t n)
{
    while (*have && *want) {
        size_t lh = strcspn(have, "\n"), lw = strcspn(want, "\n");
        if (lh != lw || memcmp(have, want, lh) != 0) {
            size_t eq = strcspn(want, "=");
            snprintf(key, n, "%.*s", (int)(eq < lw ? eq : lw), want);
            const char *hv = memchr(have, '=', lh);
            snprintf(was, n, "%.*s", hv ? (int)(lh - (size_t)(hv + 1 - have)) : (int)lh, hv ? hv + 1 : have);
            snprintf(now, n, "%.*s", eq < lw ? (int)(lw - eq - 1) : 0, want + (eq < lw ? eq + 1 : lw));
            pretty_value(was, n);
            pretty_value(now, n);
            return;
        }
        have += lh + (have[lh] == '\n');
        want += lw + (want[lw] == '\n');
    }
    snprintf(key, n, "%s", *want ? "(a line)" : "(an extra line)");
    *was = *now = '\0';
}

/* Writes DIR/animate.state for a new animation, or checks that the one
 * there was made with the same options. */
static status check_state(const animate_options *o)
{
    char path[PATH_MAX_LEN], first[PATH_MAX_LEN];
    if (snprintf(path, sizeof path, "%s/%s", o->out_dir, state_name) >= (int)sizeof path ||
        frame_path(o->out_dir, 0, first) != ST_OK)
        return error_set("--out-dir", "path too long");
    char *want = malloc(STATE_MAX), *have = malloc(STATE_MAX);
    status s = want && have ? state_text(o, want, STATE_MAX) : error_set("animate", "out of memory");
    FILE *f = s == ST_OK ? fopen(path, "rb") : NULL;
    if (s != ST_OK) {
    } else if (f) {
        size_t n = fread(have, 1, STATE_MAX - 1, f);
        have[n] = '\0';
        fclose(f);
        if (strcmp(have, want) != 0) {
            char key[128], was[1024], now[1024];
            if (strncmp(have, state_magic, strlen(state_magic)) != 0)
                s = error_set(path, "not a state file of synth animate");
            else if (first_difference(have, want, key, was, now, sizeof was), strstr(key, "sha256"))
                s = error_set(o->out_dir, "its frames were made from another %s file (use another "
                              "--out-dir, or remove this one's frames and %s)",
                              strncmp(key, "guide", 5) ? "--input" : "--guide", state_name);
            else
                s = error_set(o->out_dir, "its frames were made with --%s '%s', not '%s' (use the same "
                              "options, another --out-dir, or remove this one's frames and %s)",
                              key, was, now, state_name);
        }
    } else if (is_file(first)) {
        s = error_set(o->out_dir, "holds frames but no %s: they were not made by synth animate "
                      "(use another --out-dir)", state_name);
    } else {
        atomic_file *af;
        s = atomic_open(path, &af);
        if (s == ST_OK) {
            fputs(want, atomic_stream(af));
            s = atomic_commit(af);
        }
    }
    free(want);
    free(have);
    return s;
}

/* ----- --encode: ffmpeg with an argument vector ---------------------------- */

/* The full path of `name` on $PATH, or false. */
static bool find_on_path(const char *name, char *buf, size_t n)
{
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t len = strcspn(path, ":");
        if (len > 0 && snprintf(buf, n, "%.*s/%s", (int)len, path, name) < (int)n &&
            access(buf, X_OK) == 0 && is_file(buf))
            return true;
        path += len + (path[len] == ':');
    }
    return false;
}

typedef struct {
    char *argv[32];
    int argc;
    char fps[16], frames[16], input[PATH_MAX_LEN];
} ffmpeg_command;

/* ffmpeg reading the first N frames of DIR and writing `out` as `format`. */
static void ffmpeg_build(const animate_options *o, bool gif, const char *out, ffmpeg_command *c)
{
    snprintf(c->fps, sizeof c->fps, "%d", o->fps);
    snprintf(c->frames, sizeof c->frames, "%d", o->frames);
    snprintf(c->input, sizeof c->input, "%s/frame_%%05d.png", o->out_dir);
    const char *common[] = {"ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-framerate", c->fps,
                            "-start_number", "0", "-i", c->input, "-frames:v", c->frames};
    const char *mp4[] = {"-c:v", "libx264", "-pix_fmt", "yuv420p", "-vf",
                         "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-f", "mp4"};
    const char *gif_args[] = {"-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse", "-f", "gif"};
    c->argc = 0;
    for (size_t i = 0; i < sizeof common / sizeof *common; i++)
        c->argv[c->argc++] = (char *)common[i];
    const char **tail = gif ? gif_args : mp4;
    size_t count = gif ? sizeof gif_args / sizeof *gif_args : sizeof mp4 / sizeof *mp4;
    for (size_t i = 0; i < count; i++)
        c->argv[c->argc++] = (char *)tail[i];
    c->argv[c->argc++] = (char *)out;
    c->argv[c->argc] = NULL;
}

/* ".mp4" → false, ".gif" → true; anything else is an error. */
static status encode_format(const char *path, bool *gif)
{
    const char *dot = strrchr(path, '.');
    if (dot && strcasecmp(dot, ".gif") == 0)
        *gif = true;
    else if (dot && strcasecmp(dot, ".mp4") == 0)
        *gif = false;
    else
        return error_set("--encode", "'%s' must end in .mp4 or .gif", path);
    return ST_OK;
}

/* Runs ffmpeg into a temporary beside the output, renamed over it on
 * success; without ffmpeg on PATH, prints the command on stdout. */
static status encode(const animate_options *o)
{
    bool gif = false;
    if (encode_format(o->encode, &gif) != ST_OK)
        return ST_ERROR;
    ffmpeg_command c;
    char exe[PATH_MAX_LEN], tmp[PATH_MAX_LEN];
    if (!find_on_path("ffmpeg", exe, sizeof exe)) {
        ffmpeg_build(o, gif, o->encode, &c);
        char line[CLI_COMMAND_LINE_MAX] = "";
        for (int i = 0; i < c.argc; i++)
            cli_append_quoted(line, sizeof line, c.argv[i]);
        printf("%s\n", line);
        cli_note("ffmpeg is not on PATH: to encode the frames, run the command printed above");
        return ST_OK;
    }
    if (snprintf(tmp, sizeof tmp, "%s.synth-partial", o->encode) >= (int)sizeof tmp)
        return error_set("--encode", "path too long");
    ffmpeg_build(o, gif, tmp, &c);
    pid_t pid;
    int err = posix_spawn(&pid, exe, NULL, NULL, c.argv, environ);
    if (err != 0)
        return error_set("--encode", "cannot run %s: %s", exe, strerror(err));
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR) {
            unlink(tmp);
            return error_set("--encode", "waiting for ffmpeg: %s", strerror(errno));
        }
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && rename(tmp, o->encode) == 0) {
        if (!cli_quiet)
            fprintf(stderr, "synth: encoded %d frames into %s\n", o->frames, o->encode);
        return ST_OK;
    }
    unlink(tmp);
    if (interrupt_signal)
        return error_set("--encode", "interrupted; the frames are in %s", o->out_dir), ST_INTERRUPTED;
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
        return error_set(o->encode, "cannot write: %s", strerror(errno));
    if (WIFSIGNALED(ws))
        return error_set("--encode", "ffmpeg was killed by signal %d; the frames are in %s",
                         WTERMSIG(ws), o->out_dir);
    return error_set("--encode", "ffmpeg failed with exit status %d (its messages are above); the "
                     "frames are in %s", WEXITSTATUS(ws), o->out_dir);
}

/* ----- the frames ------------------------------------------------------------ */

static status check_options(const animate_options *o)
{
    bool gif;
    if (o->encode && (encode_format(o->encode, &gif) != ST_OK || output_check_writable(o->encode) != ST_OK))
        return ST_ERROR;
    if (!(o->zoom >= 0.25 && o->zoom <= 4))
        return error_set("--zoom", "must be in [0.25, 4], got %g", o->zoom);
    return make_dir(o->out_dir);
}

static status render(void *opts, cli_render *r, const render_callbacks *cb, image *out)
{
    const animate_options *o = opts;
    (void)out;
    if (check_options(o) != ST_OK)
        return ST_ERROR;
    int layer; /* an unknown layer is an error before frame 0, not in it */
    if (o->dream.layer && net_layer_find(r->model, o->dream.layer, &layer) != ST_OK)
        return error_prefix("--layer");
    status s = check_state(o);
    if (s != ST_OK)
        return s;
    remove_stale_temporaries(o->out_dir);
    char path[PATH_MAX_LEN];
    int start = 0;
    while (start < o->frames && frame_path(o->out_dir, start, path) == ST_OK && is_file(path))
        start++;
    image prev = {0}, guide = {0}, next = {0};
    if (start == 0)
        s = cli_read_image("--input", o->dream.input, &prev);
    else if ((s = frame_path(o->out_dir, start - 1, path)) == ST_OK)
        s = image_read(path, &prev);
    if (s == ST_OK && o->dream.guide)
        s = cli_read_image("--guide", o->dream.guide, &guide);
    if (s == ST_OK && !cli_quiet && start == o->frames)
        fprintf(stderr, "synth: all %d frames are in %s already\n", o->frames, o->out_dir);
    else if (s == ST_OK && !cli_quiet && start > 0)
        fprintf(stderr, "synth: frames 0 to %d are in %s already: continuing\n", start - 1, o->out_dir);
    for (int k = start; k < o->frames && s == ST_OK; k++) {
        double t0 = seconds_now();
        if (!cli_quiet)
            fprintf(stderr, "synth: frame %d of %d\n", k, o->frames - 1);
        s = render_animate_frame(o, r->model, &prev, k, o->dream.guide ? &guide : NULL, cb, &next);
        if (s != ST_OK) {
            char *why = string_dup(error_message());
            error_set(NULL, "frame %d: %s; frames 0 to %d are complete in %s (run the same command "
                      "again to continue)", k, why ? why : "failed", k - 1, o->out_dir);
            free(why);
            break;
        }
        /* Frame k+1 starts from frame k as written, as a resumed run would. */
        image_free(&prev);
        if ((s = frame_path(o->out_dir, k, path)) != ST_OK || (s = cli_render_write(r, path, &next)) != ST_OK ||
            (s = image_read(path, &prev)) != ST_OK)
            break;
        if (!cli_quiet)
            fprintf(stderr, "synth: wrote %s (%dx%d) in %.1f s\n", path, next.width, next.height,
                    seconds_now() - t0);
        image_free(&next);
    }
    image_free(&prev);
    image_free(&next);
    image_free(&guide);
    if (s == ST_OK && o->encode)
        s = encode(o);
    return s;
}

int cmd_animate(int argc, char **argv)
{
    static const cli_synthesis c = {&animate_table, sizeof(animate_options), offsetof(animate_options, dream.run),
                                    offsetof(animate_options, dream.model), defaults, missing, render};
    return cli_synthesis_files_main(&c, argc, argv);
}
