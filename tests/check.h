/* check.h — the tests' assertions. A failed CHECK prints where and what, and
 * makes the test executable exit 1; nothing aborts early unless REQUIRE fails. */
#ifndef SYNTH_TESTS_CHECK_H
#define SYNTH_TESTS_CHECK_H

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "net/net.h"

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        check_count++;                                                              \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                       \
        }                                                                           \
    } while (0)

/* Like CHECK, but stops the test executable at once: for preconditions. */
#define REQUIRE(cond)                                                                 \
    do {                                                                              \
        check_count++;                                                                \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

/* |a - b| <= tol, printing both values when not. */
#define CHECK_NEAR(a, b, tol)                                                          \
    do {                                                                               \
        double check_a_ = (double)(a), check_b_ = (double)(b);                          \
        check_count++;                                                                 \
        if (!(fabs(check_a_ - check_b_) <= (tol))) {                                   \
            fprintf(stderr, "%s:%d: %s = %.9g, %s = %.9g, differ by more than %g\n",    \
                    __FILE__, __LINE__, #a, check_a_, #b, check_b_, (double)(tol));     \
            check_failures++;                                                          \
        }                                                                              \
    } while (0)

/* The call returns ST_OK; otherwise prints the error message. */
#define CHECK_OK(expr)                                                                  \
    do {                                                                                \
        check_count++;                                                                  \
        status check_s_ = (expr);                                                       \
        if (check_s_ != ST_OK) {                                                        \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr,        \
                    error_message());                                                   \
            check_failures++;                                                           \
        }                                                                               \
    } while (0)

/* The call fails and its message contains `needle`. */
#define CHECK_FAILS_WITH(expr, needle)                                                   \
    do {                                                                                 \
        check_count++;                                                                   \
        error_clear();                                                                   \
        status check_s_ = (expr);                                                        \
        if (check_s_ == ST_OK || !strstr(error_message(), (needle))) {                   \
            fprintf(stderr, "%s:%d: %s should fail with '%s', got %s '%s'\n", __FILE__,  \
                    __LINE__, #expr, (needle), check_s_ == ST_OK ? "success" : "error",  \
                    error_message());                                                    \
            check_failures++;                                                            \
        }                                                                                \
    } while (0)

/* A fresh scratch folder for this test executable (SYNTH_TEST_TMP). */
static inline const char *check_tmpdir(void)
{
    static char made[4096];
    if (!made[0]) {
        snprintf(made, sizeof made, "rm -rf '%s' && mkdir -p '%s'", SYNTH_TEST_TMP, SYNTH_TEST_TMP);
        if (system(made) != 0) {
            fprintf(stderr, "cannot create %s\n", SYNTH_TEST_TMP);
            exit(1);
        }
        snprintf(made, sizeof made, "%s", SYNTH_TEST_TMP);
    }
    return made;
}

/* How many entries `dir` holds (hidden ones too, not . and ..), or -1. */
static inline int check_count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Ends main(): prints a summary and the exit status. */
static inline int check_report(const char *name)
{
    if (check_failures)
        fprintf(stderr, "%s: %d of %d checks failed\n", name, check_failures, check_count);
    else
        printf("%s: all %d checks passed\n", name, check_count);
    return check_failures ? 1 : 0;
}

#endif
