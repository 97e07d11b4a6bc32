/* fetch.c — verified, resumable downloads with libcurl.
 *
 * A download of DEST goes to DEST.part (locked with flock, so two synth
 * processes never write one file) and becomes DEST only by a rename after its
 * SHA-256 matched: DEST is always complete and verified, or absent.
 *
 * What happens to DEST.part:
 * - interrupted (Ctrl-C), connection lost, timed out: kept; the next fetch
 *   asks the server for the rest (Range: bytes=N-) and hashes the kept bytes
 *   first. A server that ignores the range (200 instead of 206) restarts it.
 * - checksum mismatch, larger than expected, or a server sending the wrong
 *   range: deleted — a bad prefix must never be resumed into every later try.
 * - an HTTP error (404, ...) with nothing received: deleted (it was empty).
 * - 416 (range not satisfiable) on resume: the kept file may already be
 *   whole; it is verified and committed, or deleted and fetched again once.
 */
#include "net/net.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    CONNECT_TIMEOUT_S = 30,
    LOW_SPEED_BYTES = 1024, /* abort below 1 KiB/s ... */
    LOW_SPEED_TIME_S = 60,  /* ... sustained for a minute */
    MAX_REDIRECTS = 5,
};
#define DEFAULT_MAX_BYTES ((uint64_t)4 << 30)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;
static void curl_init(void) { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* One transfer's state, shared by libcurl's callbacks. */
typedef struct {
    const fetch_request *req;
    uint64_t limit;       /* refuse more bytes than this */
    int fd;               /* DEST.part, locked */
    sha256_ctx hash;      /* of every byte now in the file */
    uint64_t offset;      /* bytes kept from earlier tries when this request began */
    uint64_t written;     /* bytes in the file now */
    /* The current response (redirects produce several; each resets these). */
    long status;
    int64_t range_start;  /* Content-Range start, -1 when none */
    bool body_started;    /* the first byte of the final response was handled */
    const char *failure;  /* why a callback stopped the transfer, or NULL */
    bool discard;         /* the failure poisons the .part: delete it */
} transfer;

static size_t on_header(char *line, size_t size, size_t n, void *ctx)
{
    transfer *t = ctx;
    size_t len = size * n;
    char buf[256];
    size_t k = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, line, k);
    buf[k] = '\0';
    if (strncmp(buf, "HTTP/", 5) == 0) {
        const char *sp = strchr(buf, ' ');
        t->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        t->range_start = -1;
    } else if (strncasecmp(buf, "Content-Range:", 14) == 0) {
        const char *p = strstr(buf, "bytes");
        char *end;
        if (p) {
            unsigned long long v = strtoull(p + 5, &end, 10);
            if (end != p + 5 && *end == '-')
                t->range_start = (int64_t)v;
        }
    }
    return len;
}

/* Writes all of buf to the .part at its current end. */
static bool write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        buf += w;
        len -= (size_t)w;
    }
    return true;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    transfer *t = ctx;
    size_t len = size * n;
    if (!t->body_started) {
        t->body_started = true;
        if (t->status == 206 && t->range_start != (int64_t)t->offset) {
            t->failure = "the server sent another range than the one asked for";
            t->discard = true;
            return 0;
        }
        if (t->status != 206 && t->offset > 0) { /* range ignored: start over */
            if (ftruncate(t->fd, 0) != 0 || lseek(t->fd, 0, SEEK_SET) != 0) {
                t->failure = "cannot truncate the partial download";
                return 0;
            }
            sha256_init(&t->hash);
            t->offset = t->written = 0;
        }
    }
    if (len > t->limit - t->written) {
        t->failure = "the download is larger than expected";
        t->discard = true;
        return 0;
    }
    if (!write_all(t->fd, data, len)) {
        t->failure = "cannot write the download (disk full?)";
        return 0;
    }
    sha256_update(&t->hash, data, len);
    t->written += len;
    return len;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dlnow, (void)ultotal, (void)ulnow;
    transfer *t = ctx;
    if (interrupt_signal)
        return 1;
    if (t->req->progress) {
        uint64_t total = t->req->expected_bytes;
        if (!total && dltotal > 0)
            total = t->offset + (uint64_t)dltotal;
        t->req->progress(t->req->progress_ctx, t->written, total);
    }
    return 0;
}

/* Hashes the bytes a kept .part holds, so a resumed download verifies the whole. */
static status hash_existing(transfer *t, const char *part)
{
    struct stat st;
    if (fstat(t->fd, &st) != 0)
        return error_set(part, "cannot stat: %s", strerror(errno));
    uint64_t size = (uint64_t)st.st_size;
    if (size > t->limit) { /* cannot be the file we want */
        if (ftruncate(t->fd, 0) != 0)
            return error_set(part, "cannot truncate: %s", strerror(errno));
        size = 0;
    }
    char *buf = malloc(1 << 16);
    if (!buf)
        return error_set(part, "out of memory");
    for (uint64_t at = 0; at < size;) {
        ssize_t r = pread(t->fd, buf, 1 << 16, (off_t)at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return error_set(part, "cannot read: %s", r < 0 ? strerror(errno) : "file shrank");
        }
        sha256_update(&t->hash, buf, (size_t)r);
        at += (uint64_t)r;
    }
    free(buf);
    t->offset = t->written = size;
    if (lseek(t->fd, (off_t)size, SEEK_SET) < 0)
        return error_set(part, "cannot seek: %s", strerror(errno));
    return ST_OK;
}

/* fsyncs the folder holding `path`, so a rename in it is durable. */
static void sync_folder(const char *path)
{
    char *dir = string_dup(path);
    if (!dir)
        return;
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* The .part holds the whole file: verify it and move it into place. */
static status commit_part(transfer *t, const char *part, const char *dest)
{
    const fetch_request *req = t->req;
    if (req->expected_bytes && t->written != req->expected_bytes) {
        unlink(part);
        return error_set(req->url, "received %" PRIu64 " bytes, expected %" PRIu64 "; the download was discarded",
                         t->written, req->expected_bytes);
    }
    uint8_t digest[32];
    char hex[65];
    sha256_final(&t->hash, digest);
    sha256_hex(digest, hex);
    if (strcasecmp(hex, req->sha256) != 0) {
        unlink(part);
        return error_set(req->url, "checksum mismatch (expected SHA-256 %s, got %s); the download was discarded",
                         req->sha256, hex);
    }
    if (fsync(t->fd) != 0)
        return error_set(part, "cannot sync: %s", strerror(errno));
    if (rename(part, dest) != 0)
        return error_set(dest, "cannot move the download into place: %s", strerror(errno));
    sync_folder(dest);
    return ST_OK;
}

/* One HTTP request continuing the .part. *again asks for one more try. */
static status run_request(CURL *curl, transfer *t, const char *part, const char *dest, bool *again)
{
    const fetch_request *req = t->req;
    *again = false;
    char range[64];
    snprintf(range, sizeof range, "%" PRIu64 "-", t->offset);
    curl_easy_setopt(curl, CURLOPT_RANGE, t->offset ? range : NULL);
    t->status = 0;
    t->range_start = -1;
    t->body_started = false;
    t->failure = NULL;
    t->discard = false;
    char curl_error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);

    if (rc == CURLE_OK)
        return commit_part(t, part, dest);
    if (rc == CURLE_ABORTED_BY_CALLBACK && interrupt_signal) {
        if (t->written == 0) {
            unlink(part);
            error_set(req->url, "download interrupted");
        } else {
            error_set(req->url, "download interrupted (%" PRIu64 " bytes kept; the same command resumes it)",
                      t->written);
        }
        return ST_INTERRUPTED;
    }
    if (t->failure) {
        if (t->discard || t->written == 0)
            unlink(part);
        return error_set(req->url, "%s%s", t->failure, t->discard ? "; the download was discarded" : "");
    }
    if (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && t->offset > 0) {
        /* Nothing left to send: the kept file may be complete. If not,
         * commit_part deleted it: start once more from nothing. */
        if (commit_part(t, part, dest) == ST_OK)
            return ST_OK;
        int fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644); /* commit_part removed it */
        if (fd < 0)
            return error_set(part, "cannot create: %s", strerror(errno));
        close(t->fd);
        t->fd = fd;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0)
            return error_set(part, "locked by another synth process");
        sha256_init(&t->hash);
        t->offset = t->written = 0;
        *again = true;
        return ST_ERROR;
    }
    if (t->written == 0)
        unlink(part);
    if (rc == CURLE_HTTP_RETURNED_ERROR)
        return error_set(req->url, "the server answered HTTP %ld", code);
    const char *why = curl_error[0] ? curl_error : curl_easy_strerror(rc);
    if (t->written > 0)
        return error_set(req->url, "%s (%" PRIu64 " bytes kept; the same command resumes the download)", why,
                         t->written);
    return error_set(req->url, "%s", why);
}

static void setup_curl(CURL *curl, transfer *t)
{
    curl_easy_setopt(curl, CURLOPT_URL, t->req->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, (long)MAX_REDIRECTS);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BYTES);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_TIME_S);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "synth/" SYNTH_VERSION);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
}

status fetch_file(const fetch_request *req, const char *dest)
{
    if (!req->url || (strncmp(req->url, "https://", 8) != 0 && strncmp(req->url, "http://", 7) != 0))
        return error_set(req->url ? req->url : "fetch", "only http:// and https:// URLs can be fetched");
    if (!sha256_hex_valid(req->sha256))
        return error_set("--sha256", "'%s' is not a SHA-256 (64 hex digits)", req->sha256 ? req->sha256 : "");
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK)
        return error_set(req->url, "cannot initialize libcurl");

    size_t n = strlen(dest) + 6;
    char *part = malloc(n);
    if (!part)
        return error_set(dest, "out of memory");
    snprintf(part, n, "%s.part", dest);
    transfer t = {.req = req, .fd = -1};
    t.limit = req->expected_bytes ? req->expected_bytes : req->max_bytes ? req->max_bytes : DEFAULT_MAX_BYTES;
    sha256_init(&t.hash);
    status s = ST_OK;
    CURL *curl = NULL;
    t.fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (t.fd < 0) {
        s = error_set(part, "cannot create: %s", strerror(errno));
        goto done;
    }
    if (flock(t.fd, LOCK_EX | LOCK_NB) != 0) {
        s = error_set(dest, "another synth process is downloading this file");
        close(t.fd);
        t.fd = -1;
        goto done;
    }
    if ((s = hash_existing(&t, part)) != ST_OK)
        goto done;
    if (!(curl = curl_easy_init())) {
        s = error_set(req->url, "cannot initialize libcurl");
        goto done;
    }
    setup_curl(curl, &t);
    bool again = false;
    for (int attempt = 0; attempt < 2; attempt++) {
        s = run_request(curl, &t, part, dest, &again);
        if (!again)
            break;
    }
done:
    if (curl)
        curl_easy_cleanup(curl);
    if (t.fd >= 0)
        close(t.fd);
    free(part);
    return s;
}
