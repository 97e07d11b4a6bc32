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

#endif
