/* fuzz.h — shared by the fuzz targets (tests/fuzz_*.c).
 *
 * Each target defines LLVMFuzzerTestOneInput. Built with SYNTH_FUZZ (clang),
 * it links libFuzzer; in every build it also links fuzz_main.c, which replays
 * the committed corpus tests/fuzz/<target>/ (seeds, and every input that once
 * crashed) as a ctest.
 *
 * Beyond "no crash, no leak, no hang", the targets check the error contract:
 * a reader that fails leaves exactly one message, one line, starting with the
 * name it was given. A broken contract aborts, so the fuzzer reports it like
 * a crash. */
#ifndef SYNTH_TESTS_FUZZ_H
#define SYNTH_TESTS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth/synth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The name the targets give their input; every error must start with it. */
#define FUZZ_NAME "fuzz-input"

static inline void fuzz_fail(const char *what, const char *message)
{
    fprintf(stderr, "fuzz: %s: [%s]\n", what, message);
    abort();
}

/* Checks the message a failing call left. */
static inline void fuzz_check_error(status s)
{
    if (s == ST_OK)
        return;
    const char *m = error_message();
    if (s != ST_ERROR)
        fuzz_fail("unexpected status", m);
    if (strncmp(m, FUZZ_NAME ": ", strlen(FUZZ_NAME ": ")) != 0 || !m[strlen(FUZZ_NAME ": ")])
        fuzz_fail("error does not start with the input's name", m);
    for (const char *p = m; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            fuzz_fail("error holds a control character", m);
}

#endif
