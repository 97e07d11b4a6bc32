/* Presets: .ini files (libinih) of option values, one section per command,
 * checked against the commands' option tables before any work; where they
 * are found; and the list of them. */
#include "presets/presets.h"

#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIELD(opts, spec, type) ((type *)((char *)(opts) + (spec)->offset))

/* ===== The commands whose sections a preset may hold ======================= */

/* Add a command's table here when it gets one; a command not listed still
 * reads its own section (preset_load's `own` table). */
static const option_table *const known_tables[] = {
    &style_table, &dream_table, &classvis_table, &neuron_table, &invert_table, &animate_table, &poster_table,
    &texture_table,
};
enum { KNOWN_TABLE_COUNT = (int)(sizeof known_tables / sizeof known_tables[0]) };

const option_table *option_table_find(const char *command)
{
    for (int i = 0; i < KNOWN_TABLE_COUNT; i++)
        if (strcmp(known_tables[i]->command, command) == 0)
            return known_tables[i];
    return NULL;
}

static const option_table *section_table(const char *name, const option_table *own)
{
    if (own && strcmp(own->command, name) == 0)
        return own;
    return option_table_find(name);
}

/* ===== Parsing ================================================================
 * libinih reads the text line by line through `next_line`, which counts lines
 * (so errors carry FILE:LINE) and drops each line's indentation (so no line is
 * read as the continuation of a value). The text was checked before: no
 * control bytes, no line over PRESET_MAX_LINE. */

typedef struct {
    const char *text;
    size_t len, pos;
    int line;        /* of the line libinih is parsing now */
    int header_line; /* of the last "[section]" line */
    preset *p;
    const option_table *own;
    int error_line;  /* 0: none yet */
    char error[512];
} parse_ctx;

static int parse_error(parse_ctx *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int parse_error(parse_ctx *c, int line, const char *fmt, ...)
{
    if (c->error_line)
        return 0;
    int n = snprintf(c->error, sizeof c->error, "%s:%d: ", c->p->path, line);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof c->error)
        vsnprintf(c->error + n, sizeof c->error - (size_t)n, fmt, ap);
    va_end(ap);
    c->error_line = line;
    return 0;
}

static preset_section *find_section(preset *p, const char *name)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->sections[i].name, name) == 0)
            return &p->sections[i];
    return NULL;
}

const preset_section *preset_section_find(const preset *p, const char *name)
{
    return find_section((preset *)p, name);
}

/* "preset, style, dream, ..." */
static void known_sections(const option_table *own, char *buf, size_t n)
{
    size_t pos = (size_t)snprintf(buf, n, "preset");
    for (int i = 0; i < KNOWN_TABLE_COUNT && pos < n; i++)
        pos += (size_t)snprintf(buf + pos, n - pos, ", %s", known_tables[i]->command);
    if (own && !option_table_find(own->command) && pos < n)
        snprintf(buf + pos, n - pos, ", %s", own->command);
}

static char *next_line(char *str, int num, void *stream)
{
    parse_ctx *c = stream;
    if (c->pos >= c->len)
        return NULL;
    const char *start = c->text + c->pos;
    const char *nl = memchr(start, '\n', c->len - c->pos);
    size_t n = nl ? (size_t)(nl - start) + 1 : c->len - c->pos;
    c->pos += n;
    c->line++;
    if (c->line == 1 && n >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 BOM */
        start += 3, n -= 3;
    while (n > 0 && (*start == ' ' || *start == '\t'))
        start++, n--;
    if (n > (size_t)num - 1) /* cannot happen after the length check */
        n = (size_t)num - 1;
    memcpy(str, start, n);
    str[n] = '\0';
    if (str[0] == '[') {
        c->header_line = c->line;
        /* A section must be known even when it holds no key. */
        const char *end = strchr(str, ']');
        char name[PRESET_MAX_LINE + 1];
        if (end && (size_t)(end - str - 1) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(end - str - 1), str + 1);
            if (strcmp(name, "preset") != 0 && !section_table(name, c->own)) {
                char known[256];
                known_sections(c->own, known, sizeof known);
                parse_error(c, c->line, "unknown section [%s] (known: %s)", name, known);
            }
        }
    }
    return str;
}

static preset_section *add_section(parse_ctx *c, const char *name)
{
    preset *p = c->p;
    preset_section *s = realloc(p->sections, (size_t)(p->count + 1) * sizeof *s);
    if (!s)
        return NULL;
    p->sections = s;
    s = &p->sections[p->count];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    if (!s->name)
        return NULL;
    s->line = c->header_line;
    p->count++;
    return s;
}

static bool add_entry(preset_section *s, const char *key, const char *value, int line)
{
    preset_entry *e = realloc(s->entries, (size_t)(s->count + 1) * sizeof *e);
    if (!e)
        return false;
    s->entries = e;
    e = &s->entries[s->count];
    e->key = strdup(key);
    e->value = strdup(value);
    e->line = line;
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        return false;
    }
    s->count++;
    return true;
}

static int on_value(void *user, const char *section, const char *key, const char *value)
{
    parse_ctx *c = user;
    preset *p = c->p;
    if (c->error_line)
        return 0;
    if (!*section)
        return parse_error(c, c->line, "'%s' is outside a section (begin with [preset] or [COMMAND])", key);
    preset_section *s = find_section(p, section);
    if (!s) {
        const option_table *t = section_table(section, c->own);
        if (strcmp(section, "preset") != 0 && !t) {
            char known[256];
            known_sections(c->own, known, sizeof known);
            return parse_error(c, c->header_line, "unknown section [%s] (known: %s)", section, known);
        }
        if (!(s = add_section(c, section)))
            return parse_error(c, c->line, "out of memory");
    } else if (s->line != c->header_line) {
        return parse_error(c, c->header_line, "duplicate section [%s] (first at line %d)", section, s->line);
    }
    const option_spec *spec = NULL;
    if (strcmp(section, "preset") == 0) {
        if (strcmp(key, "description") != 0)
            return parse_error(c, c->line, "unknown key '%s' (the [preset] section takes description)", key);
    } else if (!(spec = option_find(section_table(section, c->own), key))) {
        return parse_error(c, c->line, "unknown key '%s'", key);
    }
    if (!*value)
        return parse_error(c, c->line, "%s: empty value", key);
    for (int i = 0; i < s->count; i++)
        if (strcmp(s->entries[i].key, key) == 0 && (!spec || spec->type != OPT_STRINGS))
            return parse_error(c, c->line, "duplicate key '%s' (first at line %d)", key, s->entries[i].line);
    if (!add_entry(s, key, value, c->line))
        return parse_error(c, c->line, "out of memory");
    if (!spec && !(p->description = strdup(value)))
        return parse_error(c, c->line, "out of memory");
    return 1;
}

/* Text only: no NUL or other control byte but tab, CR and LF, no line over
 * PRESET_MAX_LINE bytes. */
static status check_text(const char *text, size_t len, const char *path)
{
    if (len > PRESET_MAX_BYTES)
        return error_set(path, "%zu bytes: a preset is at most %d", len, PRESET_MAX_BYTES);
    int line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char b = i < len ? (unsigned char)text[i] : '\n';
        if (b == '\n') {
            size_t n = i - line_start;
            if (n > 0 && text[i - 1] == '\r')
                n--;
            if (n > PRESET_MAX_LINE)
                return error_set(NULL, "%s:%d: line longer than %d characters", path, line, PRESET_MAX_LINE);
            line++;
            line_start = i + 1;
        } else if ((b < 0x20 && b != '\t' && b != '\r') || b == 0x7f) {
            return error_set(NULL, "%s:%d: not text (byte 0x%02x): a preset is an .ini text file", path, line,
                             b);
        }
    }
    return ST_OK;
}

void preset_free(preset *p)
{
    for (int i = 0; i < p->count; i++) {
        for (int k = 0; k < p->sections[i].count; k++) {
            free(p->sections[i].entries[k].key);
            free(p->sections[i].entries[k].value);
        }
        free(p->sections[i].entries);
        free(p->sections[i].name);
    }
    free(p->sections);
    free(p->name);
    free(p->path);
    free(p->description);
    free(p->text);
    memset(p, 0, sizeof *p);
}

status preset_parse(const char *text, size_t len, const char *name, const char *path,
                    const option_table *own, preset *out)
{
    memset(out, 0, sizeof *out);
    if (check_text(text, len, path) != ST_OK)
        return ST_ERROR;
    out->name = strdup(name);
    out->path = strdup(path);
    out->text = malloc(len + 1);
    if (!out->name || !out->path || !out->text) {
        preset_free(out);
        return error_set(path, "out of memory");
    }
    memcpy(out->text, text, len);
    out->text[len] = '\0';
    sha256_ctx h;
    uint8_t digest[32];
    sha256_init(&h);
    sha256_update(&h, text, len);
    sha256_final(&h, digest);
    sha256_hex(digest, out->sha256);

    parse_ctx c = {.text = text, .len = len, .p = out, .own = own};
    int rc = ini_parse_stream(next_line, &c, on_value, &c);
    if (rc > 0 && (!c.error_line || rc < c.error_line)) {
        c.error_line = 0;
        parse_error(&c, rc, "not a 'key = value' line, a [section] or a comment");
    } else if (rc < 0 && !c.error_line) {
        parse_error(&c, 1, "out of memory");
    }
    if (c.error_line) {
        preset_free(out);
        return error_set(NULL, "%s", c.error);
    }
    return ST_OK;
}

/* ===== Checking values against the tables ================================== */

static size_t field_size(option_type type)
{
    switch (type) {
    case OPT_FLAG: return sizeof(bool);
    case OPT_INT:
    case OPT_CHOICE: return sizeof(int);
    case OPT_NUMBER: return sizeof(double);
    case OPT_STRING: return sizeof(char *);
    case OPT_STRINGS:
    case OPT_LIST: return sizeof(string_list);
    case OPT_NUMBERS: return sizeof(number_list);
    }
    return sizeof(double);
}

/* Bytes an options struct of table `t` spans at least: a scratch struct of
 * that size takes every field. */
static size_t table_span(const option_table *t)
{
    size_t span = t->positional_max != 0 ? t->positional_offset + sizeof(string_list) : 0;
    for (int i = 0; i < t->count; i++) {
        size_t end = t->specs[i].offset + field_size(t->specs[i].type);
        if (end > span)
            span = end;
    }
    return span;
}

/* The command a command is built on, whose preset section it reads first. */
static const char *base_section_of(const char *command)
{
    static const char *const bases[][2] = {{"animate", "dream"}, {"poster", "classvis"}};
    for (size_t i = 0; i < sizeof bases / sizeof *bases; i++)
        if (strcmp(command, bases[i][0]) == 0)
            return bases[i][1];
    return NULL;
}

static bool section_has_key(const preset_section *s, const char *key)
{
    for (int k = 0; s && k < s->count; k++)
        if (strcmp(s->entries[k].key, key) == 0)
            return true;
    return false;
}

/* Sets s's values in st. With `over` (the command's own section when s is
 * its base section), keys st's table lacks and keys `over` sets are skipped. */
static status apply_section(const preset *p, const preset_section *s, option_state *st, bool keep_command_line,
                            const preset_section *over)
{
    for (int k = 0; k < s->count; k++) {
        const preset_entry *e = &s->entries[k];
        const option_spec *spec = option_find(st->table, e->key);
        if (over && (!spec || section_has_key(over, e->key)))
            continue;
        if (!spec) /* preset_parse let no unknown key through */
            return error_set(NULL, "%s:%d: unknown key '%s'", p->path, e->line, e->key);
        if (keep_command_line && st->source[spec - st->table->specs] == FROM_COMMAND_LINE)
            continue;
        char where[PRESET_MAX_LINE + 4200];
        snprintf(where, sizeof where, "%s:%d: %s", p->path, e->line, e->key);
        if (option_set(st, spec, e->value, where, FROM_PRESET) != ST_OK)
            return ST_ERROR;
    }
    return ST_OK;
}

status preset_check(const preset *p, const option_table *own)
{
    for (int i = 0; i < p->count; i++) {
        const preset_section *s = &p->sections[i];
        const option_table *t = section_table(s->name, own);
        if (!t)
            continue; /* [preset] */
        /* The values go into a zeroed scratch struct: option_set checks them
         * exactly as it will when the command runs. */
        void *scratch = alloc_array(1, table_span(t) + 16, p->path);
        option_state st;
        status r = scratch ? option_state_init(&st, t, scratch) : ST_ERROR;
        if (r == ST_OK)
            r = apply_section(p, s, &st, false, NULL);
        if (scratch)
            options_free(t, scratch);
        free(scratch);
        if (r != ST_OK)
            return r;
    }
    return ST_OK;
}

status preset_apply(const preset *p, option_state *st)
{
    const char *command = st->table->command;
    const char *base_name = base_section_of(command);
    const preset_section *s = preset_section_find(p, command);
    const preset_section *base = base_name ? preset_section_find(p, base_name) : NULL;
    if (!s && !base) {
        char have[512] = "", wanted[64];
        size_t pos = 0;
        for (int i = 0; i < p->count && pos < sizeof have; i++)
            pos += (size_t)snprintf(have + pos, sizeof have - pos, "%s[%s]", i ? ", " : "", p->sections[i].name);
        snprintf(wanted, sizeof wanted, "[%s]%s%s%s", command, base_name ? " or [" : "", base_name ? base_name : "",
                 base_name ? "]" : "");
        return error_set(p->path, "preset '%s' has no %s section (it has: %s)", p->name, wanted,
                         p->count ? have : "none");
    }
    if (base && apply_section(p, base, st, true, s ? s : &(preset_section){0}) != ST_OK)
        return ST_ERROR;
    if (s && apply_section(p, s, st, true, NULL) != ST_OK)
        return ST_ERROR;
    snprintf(st->preset, sizeof st->preset, "%s", p->name);
    memcpy(st->preset_sha256, p->sha256, sizeof st->preset_sha256);
    return ST_OK;
}

/* ===== Where presets are found ============================================= */

bool preset_is_path(const char *spec)
{
    size_t n = strlen(spec);
    return strchr(spec, '/') || (n >= 4 && strcmp(spec + n - 4, ".ini") == 0);
}

/* The folders searched for a preset name, in order; returns how many. */
static int preset_dirs(char dirs[PRESET_DIR_COUNT][4096])
{
    int n = 0;
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(dirs[n++], 4096, "%s/synth/presets", xdg);
    else if (home && *home)
        snprintf(dirs[n++], 4096, "%s/.config/synth/presets", home);
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(dirs[n++], 4096, "%.4000s/../share/synth/presets", exe);
        }
    }
    snprintf(dirs[n++], 4096, "%s", SYNTH_SOURCE_PRESETS_DIR);
    return n;
}

/* Letters, digits, '-', '_', '.'; not starting with '.' or '-'. */
static bool preset_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
        return false;
    for (const char *q = name; *q; q++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", *q))
            return false;
    return true;
}

static bool is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

status preset_locate(const char *spec, char *path, size_t size)
{
    if (preset_is_path(spec)) {
        if ((size_t)snprintf(path, size, "%s", spec) >= size)
            return error_set(spec, "path too long");
        return ST_OK;
    }
    if (!preset_name_valid(spec))
        return error_set(spec, "not a preset name (letters, digits, '-', '_', '.') or a path (with '/' or .ini)");
    char dirs[PRESET_DIR_COUNT][4096];
    int n = preset_dirs(dirs);
    for (int i = 0; i < n; i++) {
        int len = snprintf(path, size, "%s/%s.ini", dirs[i], spec);
        if (len > 0 && (size_t)len < size && is_file(path))
            return ST_OK;
    }
    return error_set(spec, "no such preset (see 'synth presets list'; searched %s, %s%s%s)", dirs[0], dirs[1],
                     n > 2 ? ", " : "", n > 2 ? dirs[2] : "");
}

static status read_text(const char *path, char **text, size_t *len)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(path, "%s", strerror(errno));
    /* One byte more than the limit tells an over-long file. */
    char *buf = malloc(PRESET_MAX_BYTES + 2);
    size_t n = buf ? fread(buf, 1, PRESET_MAX_BYTES + 1, f) : 0;
    bool bad = buf && ferror(f);
    fclose(f);
    if (!buf)
        return error_set(path, "out of memory");
    if (bad) {
        free(buf);
        return error_set(path, "cannot read (a folder?)");
    }
    *text = buf;
    *len = n;
    return ST_OK;
}

status preset_load(const char *spec, const option_table *own, preset *out)
{
    memset(out, 0, sizeof *out);
    char path[4096];
    char *text;
    size_t len;
    if (preset_locate(spec, path, sizeof path) != ST_OK || read_text(path, &text, &len) != ST_OK)
        return ST_ERROR;
    status s = preset_parse(text, len, spec, path, own, out);
    free(text);
    if (s == ST_OK && (s = preset_check(out, own)) != ST_OK)
        preset_free(out);
    return s;
}

/* ===== The list ============================================================== */

static int compare_info(const void *a, const void *b)
{
    return strcmp(((const preset_info *)a)->name, ((const preset_info *)b)->name);
}

void preset_list_free(preset_info *list, int count)
{
    for (int i = 0; list && i < count; i++) {
        free(list[i].name);
        free(list[i].path);
        free(list[i].description);
    }
    free(list);
}

static status list_add(preset_info **list, int *count, const char *name, const char *path)
{
    for (int i = 0; i < *count; i++)
        if (strcmp((*list)[i].name, name) == 0)
            return ST_OK; /* an earlier folder shadows it */
    preset_info *l = realloc(*list, (size_t)(*count + 1) * sizeof *l);
    if (!l)
        return error_set(path, "out of memory");
    *list = l;
    preset_info *e = &l[*count];
    memset(e, 0, sizeof *e);
    char *text;
    size_t len;
    preset p;
    /* A broken preset is listed with its error as the description. */
    if (read_text(path, &text, &len) == ST_OK) {
        if (preset_parse(text, len, name, path, NULL, &p) == ST_OK) {
            e->description = strdup(p.description ? p.description : "(no description)");
            preset_free(&p);
        }
        free(text);
    }
    if (!e->description) {
        size_t n = strlen(error_message()) + 16;
        if ((e->description = malloc(n)))
            snprintf(e->description, n, "(broken: %s)", error_message());
    }
    e->name = strdup(name);
    e->path = strdup(path);
    (*count)++;
    if (!e->name || !e->path || !e->description)
        return error_set(path, "out of memory");
    return ST_OK;
}

status preset_list(preset_info **list, int *count)
{
    *list = NULL;
    *count = 0;
    char dirs[PRESET_DIR_COUNT][4096];
    int n = preset_dirs(dirs);
    for (int i = 0; i < n; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d)
            continue;
        struct dirent *de;
        status s = ST_OK;
        while (s == ST_OK && (de = readdir(d))) {
            size_t len = strlen(de->d_name);
            if (len < 5 || strcmp(de->d_name + len - 4, ".ini") != 0)
                continue;
            char name[256], path[8192];
            snprintf(name, sizeof name, "%.*s", (int)(len - 4), de->d_name);
            snprintf(path, sizeof path, "%.4000s/%.255s", dirs[i], de->d_name);
            if (preset_name_valid(name) && is_file(path))
                s = list_add(list, count, name, path);
        }
        closedir(d);
        if (s != ST_OK) {
            preset_list_free(*list, *count);
            *list = NULL;
            *count = 0;
            return s;
        }
    }
    if (*count > 1)
        qsort(*list, (size_t)*count, sizeof **list, compare_info);
    return ST_OK;
}

/* ===== Layer alternatives ==================================================== */

static bool is_layer_option(const option_spec *spec)
{
    size_t n = strlen(spec->name);
    return (spec->type == OPT_STRING || spec->type == OPT_LIST) &&
           (strcmp(spec->name, "layer") == 0 || (n > 6 && strcmp(spec->name + n - 6, "-layer") == 0) ||
            (n > 7 && strcmp(spec->name + n - 7, "-layers") == 0));
}

/* Replaces *value ("a|b|c") by its first alternative that is a layer of m. */
static status resolve_one(char **value, const option_spec *spec, const net_model *m)
{
    if (!strchr(*value, '|'))
        return ST_OK;
    int layer;
    const char *p = *value;
    for (;;) {
        size_t len = strcspn(p, "|");
        char name[256];
        if (len > 0 && len < sizeof name) {
            memcpy(name, p, len);
            name[len] = '\0';
            if (net_layer_find(m, name, &layer) == ST_OK) {
                char *copy = strdup(name);
                if (!copy)
                    return error_set(spec->name, "out of memory");
                free(*value);
                *value = copy;
                error_clear();
                return ST_OK;
            }
        }
        if (!p[len])
            break;
        p += len + 1;
    }
    return error_set(NULL, "--%s: none of '%s' is a layer of model '%s' (see: synth info --model %s)", spec->name,
                     *value, net_model_name(m), net_model_name(m));
}

status options_resolve_layers(const option_table *t, void *opts, const net_model *m)
{
    for (int i = 0; i < t->count; i++) {
        const option_spec *spec = &t->specs[i];
        if (!is_layer_option(spec))
            continue;
        if (spec->type == OPT_STRING) {
            char **v = FIELD(opts, spec, char *);
            if (*v && resolve_one(v, spec, m) != ST_OK)
                return ST_ERROR;
        } else {
            string_list *l = FIELD(opts, spec, string_list);
            for (int k = 0; k < l->count; k++)
                if (resolve_one(&l->items[k], spec, m) != ST_OK)
                    return ST_ERROR;
        }
    }
    return ST_OK;
}
