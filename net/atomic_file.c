/* Atomic output files: write to ".<name>.synth-XXXXXX" beside the destination,
 * flush, fsync, rename. Readers see either the old file or the whole new one. */
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct atomic_file {
    FILE *stream;
    char *path;     /* destination */
    char *tmp_path; /* temporary beside it */
};

/* Splits `path` into a freshly allocated folder ("." when none) and base name. */
static status split_path(const char *path, char **dir, char **base)
{
    char *a = string_dup(path), *b = string_dup(path);
    if (!a || !b) {
        free(a);
        free(b);
        return error_prefix(path);
    }
    *dir = string_dup(dirname(a));
    *base = string_dup(basename(b));
    free(a);
    free(b);
    if (!*dir || !*base) {
        free(*dir);
        free(*base);
        return error_prefix(path);
    }
    return ST_OK;
}

status output_check_writable(const char *path)
{
    if (!path || !*path)
        return error_set("output", "empty file name");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return error_set(path, "is a directory");
    char *dir, *base;
    if (split_path(path, &dir, &base) != ST_OK)
        return ST_ERROR;
    status s = ST_OK;
    if (stat(dir, &st) != 0)
        s = error_set(path, "folder '%s' does not exist", dir);
    else if (!S_ISDIR(st.st_mode))
        s = error_set(path, "'%s' is not a folder", dir);
    else if (access(dir, W_OK | X_OK) != 0)
        s = error_set(path, "folder '%s' is not writable", dir);
    free(dir);
    free(base);
    return s;
}

status atomic_open(const char *path, atomic_file **out)
{
    *out = NULL;
    if (output_check_writable(path) != ST_OK)
        return ST_ERROR;
    char *dir, *base;
    if (split_path(path, &dir, &base) != ST_OK)
        return ST_ERROR;
    atomic_file *f = alloc_array(1, sizeof *f, path);
    size_t n = strlen(dir) + strlen(base) + 32;
    char *tmp = f ? malloc(n) : NULL;
    if (!f || !tmp) {
        free(f);
        free(tmp);
        free(dir);
        free(base);
        return error_set(path, "out of memory");
    }
    snprintf(tmp, n, "%s/.%s.synth-XXXXXX", dir, base);
    free(dir);
    free(base);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        status s = error_set(path, "cannot create a temporary file: %s", strerror(errno));
        free(tmp);
        free(f);
        return s;
    }
    /* mkstemp makes 0600; give the output the usual 0666 & ~umask. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    f->stream = fdopen(fd, "wb");
    f->path = string_dup(path);
    f->tmp_path = tmp;
    if (!f->stream || !f->path) {
        if (f->stream)
            fclose(f->stream);
        else
            close(fd);
        unlink(tmp);
        free(tmp);
        free(f->path);
        free(f);
        return error_set(path, "cannot open a temporary file");
    }
    *out = f;
    return ST_OK;
}

FILE *atomic_stream(atomic_file *f) { return f->stream; }

static void atomic_free(atomic_file *f)
{
    free(f->path);
    free(f->tmp_path);
    free(f);
}

void atomic_abort(atomic_file *f)
{
    if (!f)
        return;
    if (f->stream)
        fclose(f->stream);
    unlink(f->tmp_path);
    atomic_free(f);
}

status atomic_commit(atomic_file *f)
{
    int err = 0;
    if (fflush(f->stream) != 0 || ferror(f->stream))
        err = errno ? errno : EIO;
    else if (fsync(fileno(f->stream)) != 0)
        err = errno;
    if (fclose(f->stream) != 0 && !err)
        err = errno ? errno : EIO;
    f->stream = NULL;
    if (!err && rename(f->tmp_path, f->path) != 0)
        err = errno;
    status s = ST_OK;
    if (err) {
        s = error_set(f->path, "write failed: %s", strerror(err));
        unlink(f->tmp_path);
    }
    atomic_free(f);
    return s;
}
