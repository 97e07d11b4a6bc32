/* Downloads against a local HTTP server (tests/http_server.py on 127.0.0.1,
 * started here): right and wrong checksums, a transfer cut off and resumed
 * with a Range request, servers that ignore or botch ranges, 404, a server
 * that is gone, interruption, oversized files, a kept .part that is already
 * whole, locking, and the model cache on top (XDG_CACHE_HOME, names, list). */
#include "check.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { BLOB_SIZE = 300000, SKIP = 77 };

static char root[4200], blob_sha[65], base_url[128];
static uint8_t blob[BLOB_SIZE];
static pid_t server = -1;
static char log_path[4300];

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(data, 1, len, f) == len && fclose(f) == 0);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

static bool same_as_blob(const char *path)
{
    static uint8_t got[BLOB_SIZE + 1];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = fread(got, 1, sizeof got, f);
    fclose(f);
    return n == BLOB_SIZE && memcmp(got, blob, BLOB_SIZE) == 0;
}

/* Starts the server; false when python3 is not there. */
static bool start_server(void)
{
    char port_file[4300], script[4200];
    snprintf(port_file, sizeof port_file, "%s/port", check_tmpdir());
    snprintf(log_path, sizeof log_path, "%s/requests.log", check_tmpdir());
    snprintf(script, sizeof script, "%s/../http_server.py", SYNTH_TEST_DATA);
    if (system("python3 -c 'import http.server' 2>/dev/null") != 0)
        return false;
    server = fork();
    REQUIRE(server >= 0);
    if (server == 0) {
        execlp("python3", "python3", script, root, port_file, log_path, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) { /* up to 10 s */
        FILE *f = fopen(port_file, "r");
        int port;
        if (f && fscanf(f, "%d", &port) == 1) {
            fclose(f);
            snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", port);
            return true;
        }
        if (f)
            fclose(f);
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
    fprintf(stderr, "the test HTTP server did not start\n");
    exit(1);
}

static void stop_server(void)
{
    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
        server = -1;
    }
}

/* The request log's last line. */
static void last_request(char *line, size_t size)
{
    line[0] = '\0';
    FILE *f = fopen(log_path, "r");
    if (!f)
        return;
    char buf[512];
    while (fgets(buf, sizeof buf, f))
        snprintf(line, size, "%s", buf);
    fclose(f);
}

typedef struct {
    int calls;
    uint64_t last_done, last_total;
    bool monotonic;
} progress_log;

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    progress_log *p = ctx;
    if (done < p->last_done)
        p->monotonic = false;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
}

/* Raises the interrupt (as Ctrl-C does) once `after` bytes have arrived. */
typedef struct {
    uint64_t after, done;
} interrupt_at;

static void interrupt_part_way(void *ctx, uint64_t done, uint64_t total)
{
    (void)total;
    interrupt_at *p = ctx;
    if (done >= p->after && !interrupt_signal) {
        interrupt_signal = SIGINT;
        p->done = done;
    }
}

static status fetch(const char *url_path, const char *sha, uint64_t expected, const char *dest)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base_url, url_path);
    fetch_request req = {url, sha, expected, 0, NULL, NULL};
    return fetch_file(&req, dest);
}

static void test_downloads(void)
{
    char dest[4300], part[4400], line[512];
    snprintf(dest, sizeof dest, "%s/out/blob.onnx", check_tmpdir());
    snprintf(part, sizeof part, "%s.part", dest);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/out'", check_tmpdir());
    REQUIRE(system(cmd) == 0);

    /* Right checksum, with progress. */
    char url[512];
    snprintf(url, sizeof url, "%s/files/blob", base_url);
    progress_log p = {0, 0, 0, true};
    fetch_request req = {url, blob_sha, BLOB_SIZE, 0, on_progress, &p};
    CHECK_OK(fetch_file(&req, dest));
    CHECK(same_as_blob(dest) && !exists(part));
    CHECK(p.calls > 0 && p.monotonic && p.last_done == BLOB_SIZE && p.last_total == BLOB_SIZE);
    unlink(dest);

    /* Upper-case hex is the same checksum; a redirect is followed. */
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (char)(blob_sha[i] >= 'a' && blob_sha[i] <= 'f' ? blob_sha[i] - 32 : blob_sha[i]);
    CHECK_OK(fetch("/redirect/blob", upper, 0, dest));
    CHECK(same_as_blob(dest));
    unlink(dest);

    /* Wrong checksum: nothing is left behind. */
    char wrong[65];
    memcpy(wrong, blob_sha, 65);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    CHECK_FAILS_WITH(fetch("/files/blob", wrong, 0, dest), "checksum mismatch");
    CHECK(!exists(dest) && !exists(part));
    CHECK_FAILS_WITH(fetch("/files/blob", "abc", 0, dest), "not a SHA-256");

    /* Cut off after 100000 bytes: the .part is kept, then resumed with a
     * Range request. */
    CHECK_FAILS_WITH(fetch("/drop/100000/blob", blob_sha, 0, dest), "bytes kept");
    CHECK(!exists(dest) && file_size(part) == 100000);
    CHECK_FAILS_WITH(fetch("/drop/50000/blob", blob_sha, 0, dest), "150000 bytes kept");
    last_request(line, sizeof line);
    CHECK(strstr(line, "range=bytes=100000-") != NULL);
    CHECK(file_size(part) == 150000);
    CHECK_OK(fetch("/files/blob", blob_sha, BLOB_SIZE, dest));
    last_request(line, sizeof line);
    CHECK(strstr(line, "range=bytes=150000-") != NULL);
    CHECK(same_as_blob(dest) && !exists(part));
    unlink(dest);

    /* A kept .part whose resumed whole mismatches is discarded, not kept. */
    CHECK_FAILS_WITH(fetch("/drop/1000/blob", blob_sha, 0, dest), "bytes kept");
    CHECK_FAILS_WITH(fetch("/files/blob", wrong, 0, dest), "checksum mismatch");
    CHECK(!exists(part) && !exists(dest));

    /* A server that ignores Range: the download starts over. */
    CHECK_FAILS_WITH(fetch("/drop/1000/blob", blob_sha, 0, dest), "bytes kept");
    CHECK_OK(fetch("/norange/blob", blob_sha, 0, dest));
    CHECK(same_as_blob(dest) && !exists(part));
    unlink(dest);

    /* A server that answers a range with the wrong bytes: discarded. */
    CHECK_FAILS_WITH(fetch("/drop/1000/blob", blob_sha, 0, dest), "bytes kept");
    CHECK_FAILS_WITH(fetch("/badrange/blob", blob_sha, 0, dest), "another range");
    CHECK(!exists(part) && !exists(dest));

    /* A kept .part that is already whole: the server answers 416, the file
     * is verified and committed. A whole-length but corrupt one is fetched
     * again from the start. */
    write_file(part, blob, BLOB_SIZE);
    CHECK_OK(fetch("/files/blob", blob_sha, 0, dest));
    CHECK(same_as_blob(dest) && !exists(part));
    unlink(dest);
    blob[7] ^= 1;
    write_file(part, blob, BLOB_SIZE);
    blob[7] ^= 1;
    CHECK_OK(fetch("/files/blob", blob_sha, 0, dest));
    CHECK(same_as_blob(dest) && !exists(part));
    unlink(dest);

    /* Larger than the expected size: refused and discarded. */
    CHECK_FAILS_WITH(fetch("/files/blob", blob_sha, 1000, dest), "larger than expected");
    CHECK(!exists(part) && !exists(dest));
    snprintf(url, sizeof url, "%s/files/blob", base_url);
    req = (fetch_request){url, blob_sha, 0, 5000, NULL, NULL};
    CHECK_FAILS_WITH(fetch_file(&req, dest), "larger than expected");
    CHECK(!exists(part));

    /* 404: a clear message, nothing created. */
    CHECK_FAILS_WITH(fetch("/status/404", blob_sha, 0, dest), "HTTP 404");
    CHECK(!exists(part) && !exists(dest));
    CHECK_FAILS_WITH(fetch("/files/missing", blob_sha, 0, dest), "HTTP 404");

    /* Only http and https. */
    req = (fetch_request){"file:///etc/passwd", blob_sha, 0, 0, NULL, NULL};
    CHECK_FAILS_WITH(fetch_file(&req, dest), "only http:// and https://");

    /* Another process holds the .part's lock. */
    int fd = open(part, O_RDWR | O_CREAT, 0644);
    REQUIRE(fd >= 0 && flock(fd, LOCK_EX) == 0);
    CHECK_FAILS_WITH(fetch("/files/blob", blob_sha, 0, dest), "another synth process");
    close(fd);
    unlink(part);

    /* Interrupted (as by Ctrl-C): ST_INTERRUPTED, nothing committed. */
    interrupt_signal = SIGINT;
    error_clear();
    CHECK(fetch("/files/blob", blob_sha, 0, dest) == ST_INTERRUPTED);
    CHECK(strstr(error_message(), "interrupted") != NULL);
    interrupt_signal = 0;
    CHECK(!exists(dest) && !exists(part));

    /* Interrupted part-way (from the progress callback, after 100000 of a
     * slow transfer's bytes): the .part keeps what arrived, at least those
     * bytes and all the blob's own; the next fetch resumes it from there. */
    snprintf(url, sizeof url, "%s/slow/blob", base_url);
    interrupt_at at = {100000, 0};
    req = (fetch_request){url, blob_sha, BLOB_SIZE, 0, interrupt_part_way, &at};
    error_clear();
    CHECK(fetch_file(&req, dest) == ST_INTERRUPTED);
    interrupt_signal = 0;
    long kept = file_size(part);
    char said[64], got_sha[65];
    snprintf(said, sizeof said, "(%ld bytes kept;", kept);
    CHECK(strstr(error_message(), said) != NULL);
    CHECK(at.done >= 100000 && kept >= (long)at.done && kept < BLOB_SIZE && !exists(dest));
    static uint8_t head[BLOB_SIZE];
    FILE *f = fopen(part, "rb");
    CHECK(f && fread(head, 1, BLOB_SIZE, f) == (size_t)kept && memcmp(head, blob, (size_t)kept) == 0);
    if (f)
        fclose(f);
    CHECK_OK(fetch("/files/blob", blob_sha, BLOB_SIZE, dest));
    last_request(line, sizeof line);
    snprintf(said, sizeof said, "range=bytes=%ld-", kept);
    CHECK(strstr(line, said) != NULL);
    CHECK(sha256_file(dest, got_sha) == ST_OK && strcmp(got_sha, blob_sha) == 0);
    CHECK(same_as_blob(dest) && !exists(part));
    unlink(dest);

    /* The server is gone: connection refused, nothing left behind. */
    stop_server();
    CHECK_FAILS_WITH(fetch("/files/blob", blob_sha, 0, dest), "127.0.0.1");
    CHECK(!exists(part) && !exists(dest));
}

static void test_cache(void)
{
    char cache[4300], path[4400], buf[4400];
    snprintf(cache, sizeof cache, "%s/xdg", check_tmpdir());
    setenv("XDG_CACHE_HOME", cache, 1);
    CHECK_OK(model_cache_dir(buf, sizeof buf));
    snprintf(path, sizeof path, "%s/synth/models", cache);
    CHECK(strcmp(buf, path) == 0);
    setenv("XDG_CACHE_HOME", "relative/ignored", 1);
    setenv("HOME", "/home/someone", 1);
    CHECK_OK(model_cache_dir(buf, sizeof buf));
    CHECK(strcmp(buf, "/home/someone/.cache/synth/models") == 0);
    unsetenv("HOME");
    CHECK_FAILS_WITH(model_cache_dir(buf, sizeof buf), "set XDG_CACHE_HOME or HOME");
    setenv("XDG_CACHE_HOME", cache, 1);

    CHECK(model_name_valid("vgg19") && model_name_valid("my_net-2.1"));
    CHECK(!model_name_valid("") && !model_name_valid("../x") && !model_name_valid("a/b") &&
          !model_name_valid(".hidden") && !model_name_valid("-x") && !model_name_valid("a b"));
    CHECK_FAILS_WITH(model_cache_path("../etc", buf, sizeof buf), "not a valid model name");

    /* An empty cache lists nothing. */
    cached_model *list;
    int count;
    CHECK_OK(model_cache_list(&list, &count));
    CHECK(count == 0);

    /* Fetch a new name, then again (already there), and list it. */
    char url[512];
    bool already;
    snprintf(url, sizeof url, "%s/files/blob", base_url);
    CHECK_OK(model_fetch("custom", url, blob_sha, NULL, NULL, path, sizeof path, &already));
    CHECK(!already && same_as_blob(path));
    snprintf(buf, sizeof buf, "%s/synth/models/custom.onnx", cache);
    CHECK(strcmp(path, buf) == 0);
    CHECK_OK(model_fetch("custom", url, blob_sha, NULL, NULL, path, sizeof path, &already));
    CHECK(already);
    /* A partial download shows up as partial. */
    snprintf(url, sizeof url, "%s/drop/10/blob", base_url);
    CHECK_FAILS_WITH(model_fetch("halfway", url, blob_sha, NULL, NULL, path, sizeof path, &already), "kept");
    CHECK_OK(model_cache_list(&list, &count));
    REQUIRE(count == 2);
    CHECK(strcmp(list[0].name, "custom") == 0 && !list[0].partial && list[0].bytes == BLOB_SIZE);
    CHECK(strcmp(list[1].name, "halfway") == 0 && list[1].partial && list[1].bytes == 10);
    model_cache_list_free(list, count);

    /* Registry names: their checksum only; unknown names need url + sha. */
    CHECK_FAILS_WITH(model_fetch("vgg19", url, blob_sha, NULL, NULL, path, sizeof path, &already),
                     "is a known model");
    CHECK_FAILS_WITH(model_fetch("nosuch", NULL, NULL, NULL, NULL, path, sizeof path, &already),
                     "unknown model");
    /* A registry model from a mirror that serves the wrong file: its size
     * (and checksum) are the registry's. */
    snprintf(url, sizeof url, "%s/files/blob", base_url);
    CHECK_FAILS_WITH(model_fetch("squeezenet", url, NULL, NULL, NULL, path, sizeof path, &already),
                     "received 300000 bytes, expected 4952956; the download was discarded");
    snprintf(buf, sizeof buf, "%s/synth/models/squeezenet.onnx.part", cache);
    CHECK(!exists(buf));
}

static void test_registry(void)
{
    CHECK(model_registry_count() >= 7);
    const model_entry *e = model_registry_find("vgg19");
    REQUIRE(e);
    CHECK(e->bytes == 574677321 && sha256_hex_valid(e->sha256) && e->imagenet);
    CHECK(e->pre.scale == 1.0f && !e->pre.bgr && e->pre.mean[0] == 0.485f && e->pre.std[2] == 0.225f);
    char url[1024];
    unsetenv("SYNTH_MODEL_BASE_URL");
    CHECK_OK(model_registry_url(e, url, sizeof url));
    CHECK(strcmp(url, "https://media.githubusercontent.com/media/onnx/models/451adb6f0feedc8dcabb1ae68588d43790726214/"
                      "archive/vision/classification/vgg/model/vgg19-7.onnx") == 0);
    setenv("SYNTH_MODEL_BASE_URL", "http://mirror.example/zoo", 1);
    CHECK_OK(model_registry_url(e, url, sizeof url));
    CHECK(strncmp(url, "http://mirror.example/zoo/451adb6f", 34) == 0);
    unsetenv("SYNTH_MODEL_BASE_URL");
    const model_entry *g = model_registry_find("googlenet");
    REQUIRE(g);
    CHECK(g->pre.bgr && g->pre.scale == 255.0f && g->pre.mean[0] == 104.0f);
    CHECK(model_registry_find("nosuch") == NULL && model_registry_get(-1) == NULL);
    for (int i = 0; i < model_registry_count(); i++)
        CHECK(sha256_hex_valid(model_registry_get(i)->sha256) && model_name_valid(model_registry_get(i)->name));

    CHECK(strcmp(imagenet_class_name(0), "tench") == 0);
    CHECK(strcmp(imagenet_class_name(999), "toilet tissue") == 0);
    CHECK(imagenet_class_name(1000) == NULL && imagenet_class_name(-1) == NULL);
}

static void test_labels_and_overrides(void)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/labels.txt", check_tmpdir());
    write_file(path, "cat\r\ndog\n\nbird", 14);
    char **labels;
    int n;
    CHECK_OK(labels_read(path, &labels, &n));
    REQUIRE(n == 4);
    CHECK(strcmp(labels[0], "cat") == 0 && strcmp(labels[1], "dog") == 0 && labels[2][0] == '\0' &&
          strcmp(labels[3], "bird") == 0);
    labels_free(labels, n);
    write_file(path, "", 0);
    CHECK_FAILS_WITH(labels_read(path, &labels, &n), "no labels");
    CHECK_FAILS_WITH(labels_read("/nonexistent/labels.txt", &labels, &n), "cannot open");

    net_preprocess pre = model_registry_find("vgg19")->pre;
    const double mean3[] = {1, 2, 3}, one[] = {0.5}, bad[] = {0};
    CHECK_OK(net_preprocess_override(&pre, &(preprocess_override){mean3, 3, one, 1, 255, 1}));
    CHECK(pre.mean[0] == 1 && pre.mean[2] == 3 && pre.std[0] == 0.5f && pre.std[2] == 0.5f);
    CHECK(pre.scale == 255 && pre.bgr);
    CHECK_OK(net_preprocess_override(&pre, &(preprocess_override){NULL, 0, NULL, 0, 0, -1}));
    CHECK(pre.scale == 255 && pre.bgr && pre.mean[1] == 2);
    CHECK_FAILS_WITH(net_preprocess_override(&pre, &(preprocess_override){NULL, 0, bad, 1, 0, -1}),
                     "--std: values must be positive");
    CHECK_FAILS_WITH(net_preprocess_override(&pre, &(preprocess_override){mean3, 2, NULL, 0, 0, -1}),
                     "--mean: give 1 or 3 values");
    CHECK(pre.std[0] == 0.5f); /* unchanged by the failures */
}

int main(void)
{
    test_registry();
    test_labels_and_overrides();
    snprintf(root, sizeof root, "%s/www", check_tmpdir());
    REQUIRE(mkdir(root, 0755) == 0);
    rng r;
    rng_seed(&r, 11);
    for (int i = 0; i < BLOB_SIZE; i++)
        blob[i] = (uint8_t)rng_u64(&r);
    char path[4300];
    snprintf(path, sizeof path, "%s/blob", root);
    write_file(path, blob, BLOB_SIZE);
    REQUIRE(sha256_file(path, blob_sha) == ST_OK);
    if (!start_server()) {
        printf("test_fetch: python3 is missing; download tests skipped\n");
        return check_failures ? 1 : SKIP;
    }
    test_cache();
    test_downloads(); /* stops the server at its end */
    stop_server();
    return check_report("test_fetch");
}
