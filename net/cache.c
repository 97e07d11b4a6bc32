/* cache.c — where downloaded models live: $XDG_CACHE_HOME/synth/models (an
 * absolute XDG_CACHE_HOME, per the XDG base-directory spec), else
 * $HOME/.cache/synth/models. A model NAME is the file NAME.onnx there; it only
 * ever appears complete and verified (fetch.c), and an interrupted download
 * waits beside it as NAME.onnx.part.
 */
#include "net/net.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

status model_cache_dir(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int w;
    if (xdg && xdg[0] == '/')
        w = snprintf(buf, size, "%s/synth/models", xdg);
    else if (home && home[0] == '/')
        w = snprintf(buf, size, "%s/.cache/synth/models", home);
    else
        return error_set("model cache", "no folder for it: set XDG_CACHE_HOME or HOME to an absolute path");
    if (w < 0 || (size_t)w >= size)
        return error_set("model cache", "folder name too long");
    return ST_OK;
}

bool model_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

status model_cache_path(const char *name, char *buf, size_t size)
{
    if (!model_name_valid(name))
        return error_set(name, "not a valid model name (letters, digits, '.', '_', '-'; at most 64)");
    char dir[4096];
    if (model_cache_dir(dir, sizeof dir) != ST_OK)
        return ST_ERROR;
    int w = snprintf(buf, size, "%s/%s.onnx", dir, name);
    if (w < 0 || (size_t)w >= size)
        return error_set(name, "cache path too long");
    return ST_OK;
}

/* mkdir -p for the cache folder. */
static status make_folders(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return error_set(path, "path too long");
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return error_set(buf, "cannot create the folder: %s", strerror(errno));
        *p = saved;
        if (!saved)
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return error_set(path, "is not a folder");
    return ST_OK;
}

void model_cache_list_free(cached_model *list, int count)
{
    for (int i = 0; list && i < count; i++)
        free(list[i].name);
    free(list);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const cached_model *)a)->name, ((const cached_model *)b)->name);
}

/* The model name of a cache file name: "x.onnx" → "x", "x.onnx.part" → "x"
 * (partial), other names → NULL. */
static char *name_of(const char *file, bool *partial)
{
    size_t n = strlen(file);
    *partial = n > 10 && strcmp(file + n - 10, ".onnx.part") == 0;
    size_t suffix = *partial ? 10 : 5;
    if (!*partial && !(n > 5 && strcmp(file + n - 5, ".onnx") == 0))
        return NULL;
    char *name = malloc(n - suffix + 1);
    if (name) {
        memcpy(name, file, n - suffix);
        name[n - suffix] = '\0';
        if (!model_name_valid(name)) {
            free(name);
            name = NULL;
        }
    }
    return name;
}

status model_cache_list(cached_model **list, int *count)
{
    *list = NULL;
    *count = 0;
    char dir[4096];
    if (model_cache_dir(dir, sizeof dir) != ST_OK)
        return ST_ERROR;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? ST_OK : error_set(dir, "cannot list: %s", strerror(errno));
    cached_model *items = NULL;
    int n = 0, cap = 0;
    status s = ST_OK;
    struct dirent *e;
    while ((e = readdir(d)) && s == ST_OK) {
        bool partial;
        char *name = name_of(e->d_name, &partial);
        if (!name)
            continue;
        char path[8192];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(name);
            continue;
        }
        /* A complete file and a leftover .part of the same name: one row. */
        int found = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(items[i].name, name) == 0)
                found = i;
        if (found >= 0) {
            if (!partial) {
                items[found].partial = false;
                items[found].bytes = (uint64_t)st.st_size;
            }
            free(name);
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            cached_model *grown = realloc(items, (size_t)cap * sizeof *grown);
            if (!grown) {
                free(name);
                s = error_set(dir, "out of memory");
                break;
            }
            items = grown;
        }
        items[n++] = (cached_model){name, (uint64_t)st.st_size, partial};
    }
    closedir(d);
    if (s != ST_OK) {
        model_cache_list_free(items, n);
        return s;
    }
    if (n)
        qsort(items, (size_t)n, sizeof *items, by_name);
    *list = items;
    *count = n;
    return ST_OK;
}

status model_fetch(const char *name, const char *url, const char *sha256, fetch_progress_fn progress,
                   void *progress_ctx, char *path, size_t size, bool *already)
{
    *already = false;
    const model_entry *e = model_registry_find(name);
    char registry_url[2048];
    fetch_request req = {url, sha256, 0, 0, progress, progress_ctx};
    if (e) {
        if (sha256 && strcasecmp(sha256, e->sha256) != 0)
            return error_set(name, "is a known model with SHA-256 %s; pick another --name for a different file",
                             e->sha256);
        if (!url) {
            if (model_registry_url(e, registry_url, sizeof registry_url) != ST_OK)
                return ST_ERROR;
            req.url = registry_url;
        }
        req.sha256 = e->sha256;
        req.expected_bytes = e->bytes;
    } else if (!url || !sha256) {
        return error_set(name, "unknown model (see 'synth model list'); to fetch another file give --url and "
                               "--sha256");
    }
    if (model_cache_path(name, path, size) != ST_OK)
        return ST_ERROR;
    struct stat st;
    if (stat(path, &st) == 0) {
        *already = true;
        return ST_OK;
    }
    char dir[4096];
    if (model_cache_dir(dir, sizeof dir) != ST_OK || make_folders(dir) != ST_OK)
        return ST_ERROR;
    return fetch_file(&req, path);
}
