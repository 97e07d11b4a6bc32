/* Option values: text → typed field, with the checks every source shares.
 * Used by cli/ for flags and by the preset reader for .ini keys. */
#include "presets/presets.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIELD(opts, spec, type) ((type *)((char *)(opts) + (spec)->offset))

status option_state_init(option_state *st, const option_table *table, void *opts)
{
    if (table->count > (int)sizeof st->source)
        return error_set(table->command, "too many options (%d)", table->count);
    memset(st, 0, sizeof *st);
    st->table = table;
    st->opts = opts;
    return ST_OK;
}

const option_spec *option_find(const option_table *t, const char *name)
{
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->specs[i].name, name) == 0)
            return &t->specs[i];
    return NULL;
}

static bool has_range(const option_spec *spec) { return spec->min != 0 || spec->max != 0; }

/* "between 1 and 100" / "at least 0" style description of the allowed values. */
static void describe_range(const option_spec *spec, bool integer, char *buf, size_t n)
{
    if (!has_range(spec))
        snprintf(buf, n, integer ? "an integer" : "a number");
    else if (spec->max >= 1e300)
        snprintf(buf, n, "%s >= %g", integer ? "an integer" : "a number", spec->min);
    else
        snprintf(buf, n, "%s in [%g, %g]", integer ? "an integer" : "a number", spec->min, spec->max);
}

static status parse_number(const option_spec *spec, const char *text, const char *where,
                           bool integer, double *out)
{
    char allowed[96];
    describe_range(spec, integer, allowed, sizeof allowed);
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (end == p || *end != '\0' || errno == ERANGE || !isfinite(v) ||
        (integer && (v != floor(v) || fabs(v) > INT_MAX)) ||
        (has_range(spec) && (v < spec->min || v > spec->max)))
        return error_set(where, "'%s' is not %s", text, allowed);
    *out = v;
    return ST_OK;
}

static status parse_bool(const char *text, const char *where, bool *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
            *out = strcasecmp(text, yes[i]) == 0;
            return ST_OK;
        }
    }
    return error_set(where, "'%s' is not true or false", text);
}

static status parse_choice(const option_spec *spec, const char *text, const char *where, int *out)
{
    const char *c = spec->choices;
    size_t n = strlen(text);
    for (int i = 0; c && *c; i++) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && strncmp(c, text, n) == 0) {
            *out = i;
            return ST_OK;
        }
        c = bar ? bar + 1 : c + len;
    }
    return error_set(where, "'%s' is not one of %s", text, spec->choices);
}

static void list_clear(string_list *l)
{
    for (int i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

static status list_append(string_list *l, const char *item, size_t len, const char *where)
{
    char **items = realloc(l->items, (size_t)(l->count + 1) * sizeof *items);
    char *copy = malloc(len + 1);
    if (!items || !copy) {
        free(copy);
        if (items)
            l->items = items;
        return error_set(where, "out of memory");
    }
    memcpy(copy, item, len);
    copy[len] = '\0';
    items[l->count++] = copy;
    l->items = items;
    return ST_OK;
}

static status check_count(const option_spec *spec, int count, const char *text, const char *where)
{
    if (spec->min_count && count < spec->min_count)
        return error_set(where, "'%s' needs at least %d value%s", text, spec->min_count,
                         spec->min_count == 1 ? "" : "s");
    if (spec->max_count && count > spec->max_count)
        return error_set(where, "'%s' takes at most %d value%s", text, spec->max_count,
                         spec->max_count == 1 ? "" : "s");
    return ST_OK;
}

/* Splits "a, b,c" on commas (spaces around items trimmed) into `tmp`. */
static status split_list(const char *text, const char *where, string_list *tmp)
{
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *e = end;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e == p)
            return error_set(where, "'%s' has an empty item", text);
        if (list_append(tmp, p, (size_t)(e - p), where) != ST_OK)
            return ST_ERROR;
        if (!comma)
            return ST_OK;
        p = comma + 1;
    }
}

static int spec_index(const option_state *st, const option_spec *spec)
{
    return (int)(spec - st->table->specs);
}

status option_set_flag(option_state *st, const option_spec *spec, bool on, option_source source)
{
    *FIELD(st->opts, spec, bool) = on;
    st->source[spec_index(st, spec)] = (unsigned char)source;
    return ST_OK;
}

status option_set(option_state *st, const option_spec *spec, const char *text,
                  const char *where, option_source source)
{
    void *opts = st->opts;
    int index = spec_index(st, spec);
    bool replaces = st->source[index] < source; /* a higher source starts lists afresh */
    double v;
    switch (spec->type) {
    case OPT_FLAG: {
        bool b = false;
        if (parse_bool(text, where, &b) != ST_OK)
            return ST_ERROR;
        *FIELD(opts, spec, bool) = b;
        break;
    }
    case OPT_INT:
        if (parse_number(spec, text, where, true, &v) != ST_OK)
            return ST_ERROR;
        *FIELD(opts, spec, int) = (int)v;
        break;
    case OPT_NUMBER:
        if (parse_number(spec, text, where, false, &v) != ST_OK)
            return ST_ERROR;
        *FIELD(opts, spec, double) = v;
        break;
    case OPT_STRING: {
        char *copy = string_dup(text);
        if (!copy)
            return error_prefix(where);
        char **field = FIELD(opts, spec, char *);
        free(*field);
        *field = copy;
        break;
    }
    case OPT_CHOICE:
        if (parse_choice(spec, text, where, FIELD(opts, spec, int)) != ST_OK)
            return ST_ERROR;
        break;
    case OPT_STRINGS: {
        string_list *l = FIELD(opts, spec, string_list);
        if (replaces)
            list_clear(l);
        if (spec->max_count && l->count >= spec->max_count)
            return error_set(where, "given more than %d times", spec->max_count);
        if (list_append(l, text, strlen(text), where) != ST_OK)
            return ST_ERROR;
        break;
    }
    case OPT_LIST: {
        string_list tmp = {0};
        if (split_list(text, where, &tmp) != ST_OK ||
            check_count(spec, tmp.count, text, where) != ST_OK) {
            list_clear(&tmp);
            return ST_ERROR;
        }
        string_list *l = FIELD(opts, spec, string_list);
        list_clear(l);
        *l = tmp;
        break;
    }
    case OPT_NUMBERS: {
        string_list tmp = {0};
        double *values = NULL;
        status s = split_list(text, where, &tmp);
        if (s == ST_OK)
            s = check_count(spec, tmp.count, text, where);
        if (s == ST_OK && !(values = alloc_array((size_t)tmp.count, sizeof *values, where)))
            s = ST_ERROR;
        for (int i = 0; s == ST_OK && i < tmp.count; i++)
            s = parse_number(spec, tmp.items[i], where, false, &values[i]);
        if (s == ST_OK) {
            number_list *l = FIELD(opts, spec, number_list);
            free(l->values);
            l->values = values;
            l->count = tmp.count;
        } else {
            free(values);
        }
        list_clear(&tmp);
        if (s != ST_OK)
            return s;
        break;
    }
    }
    st->source[index] = (unsigned char)source;
    return ST_OK;
}

/* Appends printf-formatted text at *pos, failing when `size` would overflow. */
static bool append(char *buf, size_t size, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool append(char *buf, size_t size, size_t *pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *pos, size - *pos, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size - *pos)
        return false;
    *pos += (size_t)n;
    return true;
}

status option_format(const option_spec *spec, const void *opts, char *buf, size_t size)
{
    size_t pos = 0;
    bool ok = true;
    const char *o = opts;
    buf[0] = '\0';
    switch (spec->type) {
    case OPT_FLAG:
        ok = append(buf, size, &pos, "%s", *(const bool *)(o + spec->offset) ? "true" : "false");
        break;
    case OPT_INT:
        ok = append(buf, size, &pos, "%d", *(const int *)(o + spec->offset));
        break;
    case OPT_NUMBER:
        ok = append(buf, size, &pos, "%.17g", *(const double *)(o + spec->offset));
        break;
    case OPT_STRING: {
        const char *s = *(char *const *)(o + spec->offset);
        ok = append(buf, size, &pos, "%s", s ? s : "");
        break;
    }
    case OPT_CHOICE: {
        int k = *(const int *)(o + spec->offset);
        const char *c = spec->choices;
        for (int i = 0; i < k && c; i++)
            c = strchr(c, '|'), c = c ? c + 1 : NULL;
        size_t len = c ? strcspn(c, "|") : 0;
        ok = append(buf, size, &pos, "%.*s", (int)len, c ? c : "");
        break;
    }
    case OPT_STRINGS:
    case OPT_LIST: {
        const string_list *l = (const string_list *)(o + spec->offset);
        for (int i = 0; ok && i < l->count; i++)
            ok = append(buf, size, &pos, "%s%s", i ? "," : "", l->items[i]);
        break;
    }
    case OPT_NUMBERS: {
        const number_list *l = (const number_list *)(o + spec->offset);
        for (int i = 0; ok && i < l->count; i++)
            ok = append(buf, size, &pos, "%s%.17g", i ? "," : "", l->values[i]);
        break;
    }
    }
    return ok ? ST_OK : error_set(spec->name, "value too long to format");
}

void options_free(const option_table *t, void *opts)
{
    for (int i = 0; i < t->count; i++) {
        const option_spec *spec = &t->specs[i];
        switch (spec->type) {
        case OPT_STRING: {
            char **field = FIELD(opts, spec, char *);
            free(*field);
            *field = NULL;
            break;
        }
        case OPT_STRINGS:
        case OPT_LIST:
            list_clear(FIELD(opts, spec, string_list));
            break;
        case OPT_NUMBERS: {
            number_list *l = FIELD(opts, spec, number_list);
            free(l->values);
            l->values = NULL;
            l->count = 0;
            break;
        }
        default:
            break;
        }
    }
    if (t->positional_max != 0)
        list_clear((string_list *)((char *)opts + t->positional_offset));
}
