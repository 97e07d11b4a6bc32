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

/* ===== Lists ===============================================================
 * Option values that are lists (presets/presets.h fills them; options_free
 * frees them): items are heap-owned by the struct that holds the list. */
typedef struct { int count; char **items; } string_list;
typedef struct { int count; double *values; } number_list;

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

/* ===== Tensors =============================================================
 * A dense float32 array of 0 to 8 dimensions, contiguous, row-major (C order);
 * images are NCHW. A tensor made by tensor_alloc or tensor_read_npy owns its
 * data (tensor_free). Tensors the engine hands out (net_activation,
 * net_gradient, net_layer_weights) are read-only views: never free them. */
enum { TENSOR_MAX_DIMS = 8 };
typedef struct {
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    float *data;
} tensor;

/* Allocates a zero-filled tensor; dims must be >= 0 (an empty tensor is fine).
 * Error "tensor: ..." on a bad rank, a negative dim, overflow or exhaustion. */
status tensor_alloc(tensor *t, int ndim, const int64_t *shape);
void tensor_free(tensor *t); /* frees the data and zeroes *t; a zeroed tensor is fine */
size_t tensor_numel(const tensor *t); /* product of the dims (1 for 0-D) */
size_t shape_numel(int ndim, const int64_t *shape);
bool tensor_same_shape(const tensor *a, const tensor *b);
/* Writes "1x3x224x224" ("scalar" for 0-D) into buf and returns buf. */
const char *shape_format(int ndim, const int64_t *shape, char *buf, size_t size);

/* NumPy .npy files: reads format versions 1.0, 2.0 and 3.0 holding little-endian
 * float32 ('<f4') in C order; anything else (another dtype, Fortran order, a
 * malformed header, a data size that does not match the shape) fails with
 * "<path>: <reason>". Writes version 1.0 '<f4', atomically. */
status tensor_read_npy(const char *path, tensor *out);
status tensor_write_npy(const char *path, const tensor *t);

/* ===== Threads =============================================================
 * One process-wide pool of worker threads is the only threading layer:
 * OpenBLAS is kept single-threaded and large matrix products are split over
 * the pool (net_gemm), so nothing is oversubscribed. Work is split statically
 * (thread t always gets the same slice), so results are deterministic for a
 * given thread count; the engine's own kernels split by problem size alone and
 * give the same bytes for any thread count. */

/* n <= 0: one thread per online CPU (the default). Not while work is running. */
void net_set_threads(int n);
int net_threads(void);

/* Calls fn(ctx, begin, end, thread) on disjoint slices covering [0, n), one
 * slice per thread (thread = 0 .. net_threads()-1, 0 being the caller), and
 * returns when all are done. A call from inside a worker runs inline. */
typedef void (*parallel_fn)(void *ctx, int64_t begin, int64_t end, int thread);
void parallel_for(int64_t n, parallel_fn fn, void *ctx);

/* Row-major C[m×n] = alpha · op(A) · op(B) + beta · C through OpenBLAS SGEMM,
 * split over the pool into blocks of rows or columns (whichever is longer),
 * sized by the problem alone. op(A) is m×k, op(B) is k×n. */
void net_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc);

/* ===== Models, layers, execution ===========================================
 * A model is a network (a graph of ops) plus how to feed it: preprocessing and
 * class labels. Every node output is a *layer*, found by name: the node's name,
 * its output's name, or its VGG alias (conv{b}_{i}, relu{b}_{i}, pool{b},
 * counted between pools, given to every plain conv/relu/pool chain, so presets
 * written with VGG names work on any VGG export). Layers are numbered
 * 0 .. net_layer_count()-1 in execution order.
 *
 * Execution goes through a session: net_forward runs only the nodes the
 * requested layers need; with for_backward it also keeps what net_backward
 * will read (ReLU sign bits, max-pool argmax, ...) and releases everything
 * else as it goes. Shapes and memory are planned once per input size and set
 * of layers and reused: nothing is allocated inside an iteration loop. */
typedef struct net_model net_model;

/* How to turn an image with values v in [0, 1] into the network's input:
 * x[c] = (v[c] · scale − mean[c]) / std[c], channels in the network's order
 * (RGB, or BGR when bgr is set: mean and std are then in BGR order too). */
typedef struct {
    float scale; /* 1 (the network expects 0..1) or 255 (0..255) */
    float mean[3], std[3];
    bool bgr;
} net_preprocess;

/* spec: "default" (the built-in network), a .onnx path, or a cached model
 * name (see the ONNX section). */
status net_model_open(const char *spec, net_model **out);
void net_model_close(net_model *m); /* NULL is fine */
const char *net_model_name(const net_model *m);
/* True for the built-in network: random features, no meaningful classes. */
bool net_model_is_builtin(const net_model *m);
const net_preprocess *net_model_preprocess(const net_model *m);
void net_model_set_preprocess(net_model *m, const net_preprocess *p);
int net_model_label_count(const net_model *m); /* 0 when the model has none */
const char *net_model_label(const net_model *m, int index);
/* Number of weights: the elements of every constant the nodes read. */
int64_t net_model_param_count(const net_model *m);

/* The graph's inputs, with their declared shapes (-1 for a free dim). */
int net_model_input_count(const net_model *m);
const char *net_model_input_name(const net_model *m, int input);
void net_model_input_shape(const net_model *m, int input, int *ndim, int64_t shape[TENSOR_MAX_DIMS]);
/* The graph's declared outputs as layers. */
int net_model_output_count(const net_model *m);
int net_model_output_layer(const net_model *m, int output);

int net_layer_count(const net_model *m);
/* A layer by its name (synth's layer name, the node's name or its output's
 * name), else by its alias (relu4_2 on VGG exports), else by a PyTorch module
 * name (a name without '/'), meaning the module's output: the last node of
 * the module's scope in an export by torch.onnx, whose node names are the
 * scope path, "/inception4c/branch1/conv/Conv" ... "/inception4c/Concat" for
 * module inception4c; a numbered child k of module a is the segment "a.k",
 * so module features.22 is the scope "/features/features.22/". Error
 * "<name>: no such layer in model '<model>' (see: synth info ...)" when
 * nothing matches. */
status net_layer_find(const net_model *m, const char *name, int *layer);
const char *net_layer_name(const net_model *m, int layer);
const char *net_layer_alias(const net_model *m, int layer); /* NULL when none */
const char *net_layer_op(const net_model *m, int layer);     /* ONNX op type: "Conv", "Relu", ... */
/* The layer's output shape when input 0 is its declared shape with N = 1 and
 * the last two dims set to height × width (both <= 0: the declared size).
 * Fails when the input is too small for the layer. */
status net_layer_shape(net_model *m, int layer, int64_t height, int64_t width, int *ndim,
                       int64_t shape[TENSOR_MAX_DIMS]);
/* The last Conv layer in execution order (Grad-CAM's default), or -1. */
int net_model_last_conv(const net_model *m);

/* --- Added for the explain tools (issue 8): the graph's edges, by layer. ---
 * The layer whose output is input k of `layer`'s node (k counts the node's
 * ONNX inputs, weights included), or -1 when that input is a graph input, a
 * constant or absent, or k is out of range. */
int net_layer_input_count(const net_model *m, int layer);
int net_layer_input(const net_model *m, int layer, int k);

/* Receptive field of one unit of a layer in input pixels, per spatial axis
 * (index 0 = height, 1 = width): unit (i, j) sees the input window of `size`
 * centered at offset + (i, j) · stride. Along branches the largest field is
 * taken. Computed from the graph's conv and pool geometry. */
typedef struct {
    int64_t size[2];
    int64_t stride[2];
    double offset[2];
} net_receptive_field;
status net_layer_receptive_field(const net_model *m, int layer, net_receptive_field *rf);

/* A Conv layer's weights [C_out, C_in / group, kh, kw] (after any BatchNorm
 * folded into it). The view lives as long as the model. */
status net_layer_weights(net_model *m, int layer, const tensor **weights);

typedef struct net_session net_session;
status net_session_create(net_model *m, net_session **out);
void net_session_free(net_session *s); /* NULL is fine */

typedef struct {
    bool for_backward;     /* keep what net_backward reads; one backward per forward */
    bool circular_padding; /* conv and pool pads wrap around (tileable textures) */
} net_forward_opts;

/* Runs the nodes that `layers` need on `inputs` (one tensor per model input,
 * in order, fed as given: no preprocessing). opts may be NULL. The requested
 * layers' outputs stay readable through net_activation until the next forward
 * on this session. */
status net_forward(net_session *s, const tensor *inputs, int ninputs, const int *layers,
                   int nlayers, const net_forward_opts *opts);
/* A requested layer's output from the last forward, or NULL. */
const tensor *net_activation(const net_session *s, int layer);

/* ReLU backward: standard (pass where the input was > 0), deconvnet (pass where
 * the upstream gradient is > 0; Zeiler & Fergus 2014) or guided (both;
 * Springenberg et al. 2015). */
typedef enum { NET_RELU_STANDARD, NET_RELU_DECONVNET, NET_RELU_GUIDED } net_relu_backward;

typedef struct {
    net_relu_backward relu;
    const int *keep_grad; /* layers whose gradient stays readable (net_gradient) */
    int nkeep_grad;
} net_backward_opts;

/* After a forward with for_backward: seeds[i] is d(objective)/d(layers[i]),
 * shaped like that layer's output; each layer must have been requested by the
 * forward. Writes d(objective)/d(input 0) into grad_input (allocated by the
 * caller with input 0's shape; NULL to skip). Gradients add up over every path
 * (branches, a tensor read twice, seeds at several layers, and what was
 * written into net_seed's buffers). seeds may be NULL (then only net_seed's
 * buffers seed the backward). opts may be NULL. */
status net_backward(net_session *s, const int *layers, const tensor *seeds, int nseeds,
                    const net_backward_opts *opts, tensor *grad_input);

/* --- performance section (additive) ---
 * After a forward with for_backward and before net_backward: the engine's own
 * gradient buffer of a requested layer, shaped like it and zeroed on the
 * first call. What the caller writes there seeds the backward, sparing a
 * seed array of the caller's and the copy (for a style objective at 512x512,
 * 130 MB). NULL when the layer was not requested, or its output does not
 * depend on the input (its seed would change nothing). */
tensor *net_seed(net_session *s, int layer);
/* A kept layer's gradient from the last backward (zeros when the seeds do not
 * depend on it), or NULL when it was not asked to be kept. */
const tensor *net_gradient(const net_session *s, int layer);

/* Bytes the engine holds for activations, gradients and scratch (weights not
 * included): the high-water mark since the last reset, and now. */
size_t net_peak_bytes(void);
size_t net_current_bytes(void);
void net_reset_peak_bytes(void);

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
/* (net_preprocess is defined in the models section above.) */
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
/* Replaces the model's class names by those in a labels file (--labels). */
status net_model_load_labels(net_model *m, const char *path);

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

/* --- ONNX files ---
 * net_model_open("vgg19" or "path/model.onnx") reads ONNX through this code:
 * a spec with a '/' or ending in .onnx is a file; another word is a model in
 * the cache (a registry model brings its preprocessing and ImageNet labels),
 * else a file of that name. Opsets 7 to 17; an op or form synth does not
 * support fails with "<file>: node '<name>' (<op>): <reason>". */

/* Opens an ONNX file some of whose graph inputs are given now: input k (of
 * the inputs that are not initializers, in declaration order) is read from
 * the TensorProto file input_pb_paths[k] (NULL: not given). A given input
 * becomes a constant where synth needs one (a shape, pads, axes, a pad value)
 * or when it is not float; otherwise it stays a model input. model_inputs[k]
 * (may be NULL) receives the model input index input k became, or -1. ONNX's
 * node tests feed shapes and pads this way. */
status net_model_open_onnx(const char *path, const char *const *input_pb_paths, int ninputs, int *model_inputs,
                           net_model **out);
/* The same with every given input a constant: what the nodes compute from
 * them is folded at load, and a declared output that comes out constant is
 * still a layer (net_model_output_layer) whose activation is that constant.
 * The model may be left with no input (net_forward with none). ONNX's node
 * tests of ops synth only folds (Shape, Gather, Slice, ...) run this way. */
status net_model_open_onnx_constants(const char *path, const char *const *input_pb_paths, int ninputs,
                                     net_model **out);
/* Decodes and imports an ONNX model held in memory (no external data): the
 * fuzzers' entry point. */
status net_model_open_buffer(const void *data, size_t len, const char *name, net_model **out);
/* Reads a TensorProto file (.pb, as ONNX's tests store tensors) as float. */
status tensor_read_pb(const char *path, tensor *out);
/* Writes the model as an ONNX file (opset 13) other tools load, atomically:
 * layers keep their names, constants become initializers (what was folded at
 * load stays folded). Opening the file again gives the same outputs. */
status net_model_export_onnx(net_model *m, const char *path);

/* ===== Reliability: in-memory readers (issue 10) ===========================
 * The .npy and TensorProto readers above, on bytes in memory (`name` is used
 * in error messages; no external data): the fuzzers' entry points, with the
 * same checks and messages as the file readers. */
status tensor_decode_npy(const void *bytes, size_t n, const char *name, tensor *out);
status tensor_decode_pb(const void *bytes, size_t n, const char *name, tensor *out);

#endif
