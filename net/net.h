/* net — the CNN engine, and the small support layer every folder shares.
 *
 * Owns: errors as values, checked size arithmetic, the seeded PRNG, atomic file
 * writes, tensors, ops (forward + backward to the input), graph execution,
 * ONNX import/export, the built-in VGG-19-shaped network, layer names and
 * aliases, and the model cache.
 * Knows nothing about: images, losses, regularizers, the command line.
 *
 * This header is the whole contract of net/; everything else in net/ is private.
 */
#ifndef SYNTH_NET_H
#define SYNTH_NET_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ===== Errors ==============================================================
 * A failing function returns ST_ERROR (or ST_INTERRUPTED) and leaves exactly
 * one message "<subject>: <reason>" for the thread; only cli/ prints it, as
 * "synth: <subject>: <reason>". Later errors replace earlier ones. */
typedef enum { ST_OK = 0, ST_ERROR = 1, ST_INTERRUPTED = 2 } status;

/* Records "<subject>: <reason>" (subject may be NULL: just "<reason>") and
 * returns ST_ERROR, so callers can write `return error_set(path, "...")`. */
status error_set(const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
status error_setv(const char *subject, const char *fmt, va_list ap);
/* Replaces the current message by "<subject>: <current message>". */
status error_prefix(const char *subject);
const char *error_message(void); /* "" when no error is recorded */
void error_clear(void);

/* ===== Interruption ========================================================
 * cli/ stores SIGINT/SIGTERM's number here from its signal handler. Long loops
 * (render iterations, downloads) poll it, finish or save their work, and return
 * ST_INTERRUPTED; cli/ then exits 128 + signal (130, 143). */
extern volatile sig_atomic_t interrupt_signal;

/* ===== Checked sizes and allocation ========================================
 * Every size product goes through these. On overflow or exhaustion they record
 * an error naming `what` and return false / NULL. */
bool size_mul(size_t a, size_t b, size_t *out);
bool size_mul3(size_t a, size_t b, size_t c, size_t *out);
bool size_add(size_t a, size_t b, size_t *out);
/* calloc(count, size) with overflow check; error "<what>: out of memory". */
void *alloc_array(size_t count, size_t size, const char *what);
char *string_dup(const char *s); /* NULL on exhaustion (error recorded) */

/* ===== PRNG ================================================================
 * One seeded generator per run (xoshiro256**, seeded with splitmix64): the same
 * seed gives the same stream on every platform. */
typedef struct { uint64_t s[4]; } rng;
void rng_seed(rng *r, uint64_t seed);
uint64_t rng_u64(rng *r);
double rng_uniform(rng *r);            /* [0, 1) with 53 random bits */
int64_t rng_range(rng *r, int64_t lo, int64_t hi); /* uniform in [lo, hi] */
double rng_normal(rng *r);             /* standard normal (Box–Muller) */

/* ===== Atomic files ========================================================
 * Outputs are written to a temporary file in the destination folder, flushed
 * and fsync'ed, then renamed over the destination: a failure at any point
 * leaves the previous file (if any) untouched and no temporary behind. */
typedef struct atomic_file atomic_file;
status atomic_open(const char *path, atomic_file **out);
FILE *atomic_stream(atomic_file *f);
status atomic_commit(atomic_file *f);  /* frees f, success or not */
void atomic_abort(atomic_file *f);     /* frees f, removes the temporary */
/* Before long work: fails if `path`'s folder is missing or not writable, or
 * `path` is an existing directory. */
status output_check_writable(const char *path);

/* ===== Tensors ============================================================= */

/* ===== Threads ============================================================= */

/* ===== Models, layers, execution =========================================== */

/* ===== ONNX, the model registry and cache ================================== */

/* --- SHA-256 (FIPS 180-4), streaming. Downloads are verified with it. --- */
typedef struct {
    uint32_t state[8];
    uint64_t bytes;      /* message length so far */
    uint8_t block[64];   /* a partial block waiting for more bytes */
    unsigned used;       /* bytes in block */
} sha256_ctx;
void sha256_init(sha256_ctx *ctx);
void sha256_update(sha256_ctx *ctx, const void *data, size_t len);
void sha256_final(sha256_ctx *ctx, uint8_t digest[32]); /* then ctx is reset */
void sha256_hex(const uint8_t digest[32], char hex[65]); /* lower-case, NUL-terminated */
/* The digest of a whole file as hex; ST_INTERRUPTED when interrupt_signal is set. */
status sha256_file(const char *path, char hex[65]);
bool sha256_hex_valid(const char *hex); /* 64 hex digits (either case) */

/* --- Preprocessing overrides (--mean, --std, --scale, --bgr) --- */
/* (net_preprocess belongs to the models section; defined here until that
 * section lands: x[c] = (v[c] · scale − mean[c]) / std[c], network order.) */
typedef struct {
    float scale; /* 1 (the network expects 0..1) or 255 (0..255) */
    float mean[3], std[3];
    bool bgr;
} net_preprocess;
typedef struct {
    const double *mean; /* nmean values: 0 keeps the model's, 1 for every channel, */
    int nmean;          /* or 3 in the network's channel order (B,G,R when bgr) */
    const double *std;  /* likewise; values > 0 */
    int nstd;
    double scale;       /* > 0 replaces the model's (1 or 255); 0 keeps it */
    int bgr;            /* 1 BGR, 0 RGB, -1 keeps the model's */
} preprocess_override;
/* Applies the overrides the user gave on top of a model's preprocessing; on a
 * bad value fails naming the flag ("--std: values must be positive") and
 * leaves *p unchanged. */
status net_preprocess_override(net_preprocess *p, const preprocess_override *o);

/* --- The registry: pretrained ImageNet models of the ONNX model zoo --- */
typedef struct {
    const char *name;     /* what `synth model fetch` and --model take: "vgg19" */
    const char *use;      /* what it is good for, one line */
    const char *url;      /* NULL: the zoo's (see model_registry_url) */
    const char *sha256;   /* of the .onnx file, hex */
    uint64_t bytes;       /* its size */
    net_preprocess pre;   /* what the network expects */
    const char *pre_note; /* the same in words: "BGR 0-255, Caffe mean pixel" */
    bool imagenet;        /* outputs ImageNet's 1000 classes (imagenet_class_name) */
} model_entry;
int model_registry_count(void);
const model_entry *model_registry_get(int index);        /* NULL out of range */
const model_entry *model_registry_find(const char *name); /* NULL when unknown */
/* The download URL: https://media.githubusercontent.com/media/onnx/models/
 * <commit>/<path>; the environment variable SYNTH_MODEL_BASE_URL replaces the
 * part before <commit> (a mirror). */
status model_registry_url(const model_entry *e, char *buf, size_t size);

enum { IMAGENET_CLASSES = 1000 };
/* ImageNet class `index` (0..999, the classifiers' output order), else NULL. */
const char *imagenet_class_name(int index);

/* Class names, one per line (a --labels FILE); labels_free frees them. */
status labels_read(const char *path, char ***labels, int *count);
void labels_free(char **labels, int count);

/* --- Downloads (libcurl): verified, resumable, interruptible --- */
typedef void (*fetch_progress_fn)(void *ctx, uint64_t done, uint64_t total /* 0: unknown */);
typedef struct {
    const char *url;          /* http:// or https:// */
    const char *sha256;       /* expected, 64 hex digits */
    uint64_t expected_bytes;  /* 0: unknown */
    uint64_t max_bytes;       /* refuse more (0: expected_bytes, else 4 GiB) */
    fetch_progress_fn progress; /* may be NULL; called from the downloading thread */
    void *progress_ctx;
} fetch_request;
/* Downloads req->url to `dest` through `dest`.part: the file appears at dest
 * (atomic rename) only once its SHA-256 matched. Interrupted or cut-off
 * downloads keep the .part and the next call resumes it with a Range request;
 * a checksum mismatch or an oversized download deletes it. Returns
 * ST_INTERRUPTED when interrupt_signal stopped it. */
status fetch_file(const fetch_request *req, const char *dest);

/* --- The model cache: $XDG_CACHE_HOME/synth/models, else ~/.cache/synth/models --- */
status model_cache_dir(char *buf, size_t size); /* the folder (not created) */
/* Names of cached models: letters, digits, '.', '_', '-', at most 64, not
 * starting with '.' or '-'. */
bool model_name_valid(const char *name);
status model_cache_path(const char *name, char *buf, size_t size); /* <dir>/<name>.onnx */
typedef struct {
    char *name;
    uint64_t bytes;     /* file size (of the .part when partial) */
    bool partial;       /* only an interrupted download (<name>.onnx.part) is there */
} cached_model;
/* Cached models (and partial downloads), sorted by name; an absent cache
 * folder is an empty list. */
status model_cache_list(cached_model **list, int *count);
void model_cache_list_free(cached_model *list, int count);
/* Downloads a model into the cache. `name` is a registry name (url NULL: its
 * zoo URL, else a mirror; sha256 NULL or equal to the registry's) or a new
 * name with both url and sha256. Does nothing when it is cached already
 * (*already set). Writes the cached file's path into path[size]. */
status model_fetch(const char *name, const char *url, const char *sha256, fetch_progress_fn progress,
                   void *progress_ctx, char *path, size_t size, bool *already);

#endif
