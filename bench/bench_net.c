/* bench/bench_net.c — synth's side of the framework comparison (bench/run).
 *
 * One process runs one workload, one iteration per request from the driver
 * (bench/bench.py; protocol at serve_iterations):
 *
 *   bench_net style MODEL X.npy STYLE.npy CONTENT.npy
 *       Gatys style transfer: style terms (Gram) at relu1_1 … relu5_1 and a
 *       content term at relu4_2; one iteration = forward to relu5_1 for
 *       backward, objective value and seed gradients, backward to the input.
 *       The style targets are the Grams of STYLE's features, the content
 *       target CONTENT's features (set once, before the timed loop).
 *   bench_net dream MODEL X.npy LAYER
 *       DeepDream: J = ½ Σ a² at LAYER; forward, seed = a, backward.
 *   bench_net sgemm
 *       The machine's SGEMM rate through OpenBLAS (one thread), and through
 *       net_gemm (the engine's pool), on square 2048 products.
 *
 * MODEL is "default" (the built-in network) or an .onnx file. Threads: the
 * SYNTH_THREADS environment variable (default: every CPU). Each iteration
 * prints its wall-clock seconds and the objective value (the same objective
 * as bench/torch_bench.py computes: it must agree); at the end, the CPU
 * seconds per iteration, the direct-convolution GFLOP of one iteration
 * (forward + backward-data, what the GFLOP/s figures count) and the peak RSS
 * of the process.
 */
#include "net/net.h"
#include "synth/synth.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static long peak_rss_kb(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_net: %s: %s\n", what, error_message());
    exit(1);
}

/* FLOPs of a direct convolution for every Conv the forward to `deepest`
 * runs (layers before it in execution order that it depends on are
 * approximated by all Conv layers up to it), times two when backward-data
 * runs too (every conv here is on the path from the input). */
static double conv_gflop(net_model *m, int deepest, int64_t h, int64_t w, bool backward)
{
    double flop = 0;
    for (int l = 0; l <= deepest; l++) {
        if (strcmp(net_layer_op(m, l), "Conv") != 0)
            continue;
        const tensor *wt;
        int nd;
        int64_t shape[TENSOR_MAX_DIMS];
        if (net_layer_weights(m, l, &wt) != ST_OK || net_layer_shape(m, l, h, w, &nd, shape) != ST_OK)
            die("conv_gflop");
        double per_out = 2.0 * (double)wt->shape[1] * (double)wt->shape[2] * (double)wt->shape[3];
        flop += per_out * (double)shape[1] * (double)shape[2] * (double)shape[3];
    }
    return flop * (backward ? 2 : 1) / 1e9;
}

typedef struct {
    net_model *m;
    net_session *s;
    tensor x, gx;
    int *layers, nlayers;
    tensor *seeds; /* views of the engine's buffers */
} run;

static void open_run(run *r, const char *model, const char *x_path)
{
    memset(r, 0, sizeof *r);
    if (net_model_open(model, &r->m) != ST_OK)
        die(model);
    if (net_session_create(r->m, &r->s) != ST_OK)
        die("session");
    if (tensor_read_npy(x_path, &r->x) != ST_OK)
        die(x_path);
    if (tensor_alloc(&r->gx, r->x.ndim, r->x.shape) != ST_OK)
        die("gradient");
}

static void find_layers(run *r, int n, const char *const *names)
{
    r->nlayers = n;
    r->layers = calloc((size_t)n, sizeof *r->layers);
    r->seeds = calloc((size_t)n, sizeof *r->seeds);
    for (int i = 0; i < n; i++)
        if (net_layer_find(r->m, names[i], &r->layers[i]) != ST_OK)
            die(names[i]);
}

/* The seeds live in the engine's gradient buffers (net_seed): no copy. */
static void engine_seeds(run *r)
{
    for (int i = 0; i < r->nlayers; i++) {
        tensor *seed = net_seed(r->s, r->layers[i]);
        if (!seed)
            die("net_seed");
        r->seeds[i] = *seed;
    }
}

static act_shape shape_of(const tensor *a)
{
    return (act_shape){(int)a->shape[1], (int)a->shape[2], (int)a->shape[3]};
}

static void forward(run *r, const tensor *x, bool for_backward)
{
    net_forward_opts fo = {.for_backward = for_backward};
    if (net_forward(r->s, x, 1, r->layers, r->nlayers, &fo) != ST_OK)
        die("forward");
}

/* ---- the two workloads ---------------------------------------------------------- */

typedef double (*iteration_fn)(run *r, void *ctx);

static const char *const style_layers[] = {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1",
                                           "relu4_2"};
enum { STYLE_TERMS = 5 };

static double style_iteration(run *r, void *ctx)
{
    objective *o = ctx;
    forward(r, &r->x, true);
    engine_seeds(r);
    const float *acts[STYLE_TERMS + 1];
    act_shape shapes[STYLE_TERMS + 1];
    float *seeds[STYLE_TERMS + 1];
    for (int i = 0; i < r->nlayers; i++) {
        const tensor *a = net_activation(r->s, r->layers[i]);
        acts[i] = a->data;
        shapes[i] = shape_of(a);
        seeds[i] = r->seeds[i].data;
    }
    objective_begin(o);
    if (objective_evaluate(o, acts, shapes, seeds) != ST_OK)
        die("objective");
    if (net_backward(r->s, r->layers, NULL, r->nlayers, NULL, &r->gx) != ST_OK)
        die("backward");
    return objective_value(o);
}

static objective *style_objective(run *r, const char *style_path, const char *content_path)
{
    objective *o;
    if (objective_create(&o) != ST_OK)
        die("objective");
    for (int i = 0; i < r->nlayers; i++) {
        loss_term t = {.kind = i < STYLE_TERMS ? LOSS_STYLE : LOSS_CONTENT,
                       .layer = style_layers[i],
                       .weight = 1};
        if (objective_add(o, &t) != ST_OK)
            die("objective");
    }
    tensor style, content;
    if (tensor_read_npy(style_path, &style) != ST_OK)
        die(style_path);
    if (tensor_read_npy(content_path, &content) != ST_OK)
        die(content_path);
    forward(r, &style, false);
    for (int i = 0; i < STYLE_TERMS; i++) {
        const tensor *a = net_activation(r->s, r->layers[i]);
        act_shape s = shape_of(a);
        float *gram = calloc((size_t)s.c * (size_t)s.c, sizeof *gram);
        gram_compute(a->data, s, gram);
        const float *grams[1] = {gram};
        if (objective_set_style(o, i, 1, grams, (double[]){1}, s.c) != ST_OK)
            die("style target");
        free(gram);
    }
    forward(r, &content, false);
    const tensor *a = net_activation(r->s, r->layers[STYLE_TERMS]);
    if (objective_set_target(o, STYLE_TERMS, a->data, shape_of(a)) != ST_OK)
        die("content target");
    tensor_free(&style);
    tensor_free(&content);
    return o;
}

static double dream_iteration(run *r, void *ctx)
{
    (void)ctx;
    forward(r, &r->x, true);
    engine_seeds(r);
    const tensor *a = net_activation(r->s, r->layers[0]);
    /* J = ½ Σ a², seed ∂J/∂a = a (accumulated in double, as torch's sum). */
    double j = 0;
    for (size_t i = 0, n = tensor_numel(a); i < n; i++) {
        j += 0.5 * (double)a->data[i] * a->data[i];
        r->seeds[0].data[i] = a->data[i];
    }
    if (net_backward(r->s, r->layers, NULL, 1, NULL, &r->gx) != ST_OK)
        die("backward");
    return j;
}

/* Serves iterations to the driver (bench/bench.py): after one warm-up
 * iteration (plans, arena, lazy weights) it prints `ready`, then for each
 * line read from stdin runs one iteration and prints `seconds=T objective=V`;
 * at end of input it prints the totals as key=value lines. The driver
 * alternates these requests with PyTorch's, so both see the same load. */
static void serve_iterations(run *r, iteration_fn fn, void *ctx, int deepest)
{
    double value = fn(r, ctx);
    printf("ready objective=%.9g\n", value);
    fflush(stdout);
    char line[64];
    double cpu = 0;
    int iters = 0;
    while (fgets(line, sizeof line, stdin)) {
        double t0 = wall_now(), c0 = cpu_now();
        value = fn(r, ctx);
        double t = wall_now() - t0;
        cpu += cpu_now() - c0;
        iters++;
        printf("seconds=%.5f objective=%.9g\n", t, value);
        fflush(stdout);
    }
    double gflop = conv_gflop(r->m, deepest, r->x.shape[2], r->x.shape[3], true);
    printf("framework=synth\nthreads=%d\niters=%d\n", net_threads(), iters);
    printf("cpu_seconds=%.4f\nconv_gflop=%.3f\n", iters ? cpu / iters : 0.0, gflop);
    printf("engine_peak_mb=%.1f\npeak_rss_mb=%.1f\n", net_peak_bytes() / 1e6,
           peak_rss_kb() / 1024.0);
}

static int deepest_of(const run *r)
{
    int d = 0;
    for (int i = 0; i < r->nlayers; i++)
        d = r->layers[i] > d ? r->layers[i] : d;
    return d;
}

/* ---- SGEMM rate --------------------------------------------------------------- */

static void sgemm_rate(void)
{
    const int n = 2048;
    float *a = calloc((size_t)n * n, sizeof *a), *b = calloc((size_t)n * n, sizeof *b),
          *c = calloc((size_t)n * n, sizeof *c);
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    double flop = 2.0 * n * (double)n * n;
    for (int pool = 0; pool < 2; pool++) {
        double best = 1e30;
        for (int k = 0; k < 4; k++) { /* the first one warms up */
            double t0 = wall_now();
            if (pool)
                net_gemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n,
                            0.0f, c, n);
            double t = wall_now() - t0;
            best = k && t < best ? t : best;
        }
        printf("%s=%.1f\n", pool ? "sgemm_gflops_pool" : "sgemm_gflops_1thread", flop / best / 1e9);
    }
    printf("threads=%d\n", net_threads());
    free(a);
    free(b);
    free(c);
}

int main(int argc, char **argv)
{
    const char *env = getenv("SYNTH_THREADS");
    net_set_threads(env ? atoi(env) : 0);
    if (argc >= 2 && strcmp(argv[1], "sgemm") == 0) {
        sgemm_rate();
        return 0;
    }
    run r;
    if (argc == 6 && strcmp(argv[1], "style") == 0) {
        open_run(&r, argv[2], argv[3]);
        find_layers(&r, STYLE_TERMS + 1, style_layers);
        objective *o = style_objective(&r, argv[4], argv[5]);
        serve_iterations(&r, style_iteration, o, deepest_of(&r));
        objective_free(o);
    } else if (argc == 5 && strcmp(argv[1], "dream") == 0) {
        open_run(&r, argv[2], argv[3]);
        find_layers(&r, 1, (const char *const[]){argv[4]});
        serve_iterations(&r, dream_iteration, NULL, deepest_of(&r));
    } else {
        fprintf(stderr, "usage: bench_net style MODEL X.npy STYLE.npy CONTENT.npy\n"
                        "       bench_net dream MODEL X.npy LAYER\n"
                        "       bench_net sgemm\n");
        return 2;
    }
    free(r.seeds);
    free(r.layers);
    tensor_free(&r.x);
    tensor_free(&r.gx);
    net_session_free(r.s);
    net_model_close(r.m);
    return 0;
}
