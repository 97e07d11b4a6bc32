/* Fuzz target: the preset reader (preset_parse, then preset_check of every
 * section's values, then preset_apply into real option structs). Invariants:
 * an error is one line "fuzz-input:LINE: ..." or "fuzz-input: ...", with
 * LINE within the input; a preset read holds only known sections and keys
 * whose lines are within the input. */
#include "fuzz.h"

#include "presets/presets.h"

/* The error names the input, and its line when it gives one. */
static void check_error(status s, size_t size)
{
    const char *m = error_message();
    size_t n = strlen(FUZZ_NAME);
    if (s != ST_ERROR)
        fuzz_fail("unexpected status", m);
    if (strncmp(m, FUZZ_NAME, n) != 0 || (m[n] != ':' ) || !m[n + 1])
        fuzz_fail("error does not start with the input's name", m);
    if (m[n + 1] != ' ') {
        long line = strtol(m + n + 1, NULL, 10);
        if (line < 1 || (size_t)line > size + 1)
            fuzz_fail("error names a line outside the input", m);
    }
    for (const char *p = m; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            fuzz_fail("error holds a control character", m);
}

/* A checked preset applies to the options of its commands' tables. */
static void apply_to(const preset *p, const option_table *t, void *opts)
{
    option_state st;
    if (option_state_init(&st, t, opts) != ST_OK || preset_apply(p, &st) != ST_OK)
        fuzz_fail("a checked preset does not apply", error_message());
    options_free(t, opts);
}

static void check_apply(const preset *p)
{
    /* Two tables of different shapes: dream (strings, numbers, choices) and
     * style (repeatable and list options). */
    dream_options dream;
    style_options style;
    dream_options_default(&dream);
    style_options_default(&style);
    if (preset_section_find(p, "dream"))
        apply_to(p, &dream_table, &dream);
    if (preset_section_find(p, "style"))
        apply_to(p, &style_table, &style);
    options_free(&dream_table, &dream);
    options_free(&style_table, &style);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    preset p;
    status s = preset_parse((const char *)data, size, FUZZ_NAME, FUZZ_NAME, NULL, &p);
    if (s != ST_OK) {
        check_error(s, size);
        return 0;
    }
    for (int i = 0; i < p.count; i++) {
        const preset_section *sec = &p.sections[i];
        if (strcmp(sec->name, "preset") != 0 && !option_table_find(sec->name))
            fuzz_fail("unknown section accepted", sec->name);
        for (int k = 0; k < sec->count; k++)
            if (sec->entries[k].line < 1 || (size_t)sec->entries[k].line > size + 1)
                fuzz_fail("entry line outside the input", sec->entries[k].key);
    }
    s = preset_check(&p, NULL);
    if (s != ST_OK)
        check_error(s, size);
    else
        check_apply(&p);
    preset_free(&p);
    return 0;
}
