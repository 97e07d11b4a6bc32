/* The one thread pool: persistent workers, a static partition of [0, n) per
 * call, the caller working as thread 0. OpenBLAS is kept at one thread so it
 * never competes with the pool; large products are split by net_gemm. */
#include "net/net.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static pthread_cond_t work_done = PTHREAD_COND_INITIALIZER;

static int wanted_threads; /* 0 until first use or net_set_threads */
static pthread_t *workers; /* wanted_threads - 1 of them once started */
typedef struct {
    int index;
    uint64_t seen; /* the generation when the worker was made: older jobs are not its */
} worker_arg;
static worker_arg *worker_args;
static int nworkers;
static bool stopping;
static uint64_t generation; /* bumped for each job */
static int pending; /* workers still running the current job */

static parallel_fn job_fn;
static void *job_ctx;
static int64_t job_n;
static int job_threads;

static _Thread_local bool inside_job; /* nested parallel_for runs inline */

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

static void run_slice(int t)
{
    int64_t begin = job_n * t / job_threads, end = job_n * (t + 1) / job_threads;
    if (begin < end)
        job_fn(job_ctx, begin, end, t);
}

static void *worker_main(void *arg)
{
    int t = ((worker_arg *)arg)->index;
    uint64_t seen = ((worker_arg *)arg)->seen;
    inside_job = true;
    pthread_mutex_lock(&state_lock);
    for (;;) {
        while (!stopping && generation == seen)
            pthread_cond_wait(&work_ready, &state_lock);
        if (stopping)
            break;
        seen = generation;
        bool mine = t < job_threads;
        pthread_mutex_unlock(&state_lock);
        if (mine)
            run_slice(t);
        pthread_mutex_lock(&state_lock);
        if (--pending == 0)
            pthread_cond_signal(&work_done);
    }
    pthread_mutex_unlock(&state_lock);
    return NULL;
}

static void stop_workers(void)
{
    pthread_mutex_lock(&state_lock);
    stopping = true;
    pthread_cond_broadcast(&work_ready);
    pthread_mutex_unlock(&state_lock);
    for (int i = 0; i < nworkers; i++)
        pthread_join(workers[i], NULL);
    free(workers);
    free(worker_args);
    workers = NULL;
    worker_args = NULL;
    nworkers = 0;
    stopping = false;
}

static void quiet_openblas(void) { openblas_set_num_threads(1); }

/* Called with pool_lock held. Starting threads can fail (limits): the pool
 * then simply has fewer workers. */
static void start_workers(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, quiet_openblas);
    if (wanted_threads == 0)
        wanted_threads = online_cpus();
    if (nworkers == wanted_threads - 1)
        return;
    stop_workers();
    workers = calloc((size_t)wanted_threads, sizeof *workers);
    worker_args = calloc((size_t)wanted_threads, sizeof *worker_args);
    if (!workers || !worker_args) {
        free(workers);
        free(worker_args);
        workers = NULL;
        worker_args = NULL;
        return;
    }
    for (int i = 1; i < wanted_threads; i++) {
        worker_args[nworkers] = (worker_arg){i, generation};
        if (pthread_create(&workers[nworkers], NULL, worker_main, &worker_args[nworkers]) != 0)
            break;
        nworkers++;
    }
}

void net_set_threads(int n)
{
    pthread_mutex_lock(&pool_lock);
    wanted_threads = n <= 0 ? online_cpus() : n > 256 ? 256 : n;
    start_workers();
    pthread_mutex_unlock(&pool_lock);
}

int net_threads(void)
{
    pthread_mutex_lock(&pool_lock);
    start_workers();
    int n = nworkers + 1;
    pthread_mutex_unlock(&pool_lock);
    return n;
}

void parallel_for(int64_t n, parallel_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    if (inside_job || n == 1) {
        fn(ctx, 0, n, 0);
        return;
    }
    pthread_mutex_lock(&pool_lock);
    start_workers();
    int threads = nworkers + 1;
    if (threads > n)
        threads = (int)n;
    if (threads == 1) {
        pthread_mutex_unlock(&pool_lock);
        fn(ctx, 0, n, 0);
        return;
    }
    pthread_mutex_lock(&state_lock);
    job_fn = fn;
    job_ctx = ctx;
    job_n = n;
    job_threads = threads;
    pending = nworkers;
    generation++;
    pthread_cond_broadcast(&work_ready);
    pthread_mutex_unlock(&state_lock);

    inside_job = true;
    run_slice(0);
    inside_job = false;

    pthread_mutex_lock(&state_lock);
    while (pending > 0)
        pthread_cond_wait(&work_done, &state_lock);
    pthread_mutex_unlock(&state_lock);
    pthread_mutex_unlock(&pool_lock);
}

/* ---- GEMM split over the pool ---------------------------------------------- */

typedef struct {
    bool trans_a, trans_b, split_rows;
    int64_t m, n, k, lda, ldb, ldc, block, nblocks;
    float alpha, beta;
    const float *a, *b;
    float *c;
} gemm_job;

static void gemm_blocks(void *ctx, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const gemm_job *j = ctx;
    for (int64_t blk = begin; blk < end; blk++) {
        int64_t lo = blk * j->block, hi = lo + j->block < (j->split_rows ? j->m : j->n)
                                              ? lo + j->block
                                              : (j->split_rows ? j->m : j->n);
        const float *a = j->a, *b = j->b;
        float *c = j->c;
        int64_t m = j->m, n = j->n;
        if (j->split_rows) { /* rows lo..hi of op(A) and C */
            a += j->trans_a ? lo : lo * j->lda;
            c += lo * j->ldc;
            m = hi - lo;
        } else { /* columns lo..hi of op(B) and C */
            b += j->trans_b ? lo * j->ldb : lo;
            c += lo;
            n = hi - lo;
        }
        cblas_sgemm(CblasRowMajor, j->trans_a ? CblasTrans : CblasNoTrans,
                    j->trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)j->k, j->alpha, a,
                    (int)j->lda, b, (int)j->ldb, j->beta, c, (int)j->ldc);
    }
}

void net_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) { /* an empty sum: C = beta · C (SGEMM would reject lda = 0) */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    gemm_job j = {trans_a, trans_b, m > n, m, n, k, lda, ldb, ldc, 0, 0, alpha, beta, a, b, c};
    /* Blocks depend on the problem size alone (never on the thread count), so
     * every element is computed by the same call whatever the pool size.
     * Each block repacks the other operand, so blocks stay large: at least
     * 256 rows or columns and 20 MFLOP. */
    int64_t dim = j.split_rows ? m : n;
    double flops = 2.0 * (double)m * (double)n * (double)(k > 0 ? k : 1);
    int64_t nblocks = (int64_t)(flops / 2e7);
    if (nblocks > dim / 256)
        nblocks = dim / 256;
    if (nblocks > 64)
        nblocks = 64;
    if (nblocks < 1)
        nblocks = 1;
    j.block = (dim + nblocks - 1) / nblocks;
    j.block = (j.block + 15) / 16 * 16;
    j.nblocks = (dim + j.block - 1) / j.block;
    if (j.nblocks == 1)
        gemm_blocks(&j, 0, 1, 0);
    else
        parallel_for(j.nblocks, gemm_blocks, &j);
}
