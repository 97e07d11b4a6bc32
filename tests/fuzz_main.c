/* fuzz_main — replays inputs through a fuzz target without libFuzzer: every
 * file named, and every file in every folder named (not recursive). The
 * ctests fuzz_<target>_corpus run it over tests/fuzz/<target>/, so the seeds
 * and every input that once crashed run in each build, sanitized or not. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_main: cannot open %s\n", path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t k; buf && (k = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += k;
        if (n == cap) {
            uint8_t *grown = realloc(buf, cap *= 2);
            if (!grown) {
                free(buf);
                buf = NULL;
            }
            buf = grown;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "fuzz_main: out of memory reading %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int files = 0, failures = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz_main: %s: no such file or folder\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            failures += replay_file(argv[i]);
            files++;
            continue;
        }
        /* A folder: its regular files in name order (deterministic runs). */
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "fuzz_main: cannot read %s\n", argv[i]);
            return 1;
        }
        char **names = NULL;
        int n = 0;
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            char **grown = realloc(names, (size_t)(n + 1) * sizeof *names);
            size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
            char *path = grown ? malloc(len) : NULL;
            if (!path) {
                fprintf(stderr, "fuzz_main: out of memory\n");
                return 1;
            }
            names = grown;
            snprintf(path, len, "%s/%s", argv[i], e->d_name);
            names[n++] = path;
        }
        closedir(d);
        qsort(names, (size_t)n, sizeof *names, compare);
        for (int k = 0; k < n; k++) {
            if (stat(names[k], &st) == 0 && S_ISREG(st.st_mode)) {
                failures += replay_file(names[k]);
                files++;
            }
            free(names[k]);
        }
        free(names);
    }
    if (files == 0) {
        fprintf(stderr, "fuzz_main: no inputs\n");
        return 1;
    }
    printf("replayed %d inputs\n", files);
    return failures ? 1 : 0;
}
