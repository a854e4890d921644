/* parallel.c: one pool of bidora's own threads for every parallel loop and matrix product of the
 * CPU backend (src/backend/parallel.h says why). Workers wait for a job by spinning a little,
 * then sleeping on a futex; the caller does the first share itself and waits the same way. */
#include "parallel.h"

#include <cblas.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int bd_nthreads(void) {
    static atomic_int n; /* computed once; racing first calls store the same value */
    int k = atomic_load_explicit(&n, memory_order_relaxed);
    if (k) return k;
    const char *env = getenv("BIDORA_THREADS");
    if (env) k = atoi(env);
    if (k <= 0) k = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (k < 1) k = 1;
    if (k > BD_MAX_THREADS) k = BD_MAX_THREADS;
    atomic_store_explicit(&n, k, memory_order_relaxed);
    return k;
}

/* ---- the pool ---- */

#define SPIN 2000 /* polls (each a pause: 20-50 ns) before a waiter sleeps: some tens of microseconds */
#define CHUNKS 4  /* chunks a thread of the job's: the grain is n / (threads * CHUNKS) */

typedef struct pool {
    pthread_mutex_t busy;  /* held by the thread whose job the pool runs; others run theirs alone */
    int size;              /* threads of the pool: the caller and size - 1 workers (set once, at start) */
    int nt;                /* threads that get a share of the current job (written under busy) */
    _Atomic unsigned gen;  /* bumped for each job: the workers' futex word */
    _Atomic int pending;   /* workers still running the job: the caller's futex word */
    _Atomic int sleepers;  /* workers asleep (or about to be) on gen */
    _Atomic int waiting;   /* 1 while the caller sleeps on pending */
    void (*fn)(void *, long, long, int);
    void *ctx;
    long n, grain;         /* the job's items, taken grain at a time from next */
    _Atomic long next;     /* the first item no thread has taken yet */
} pool;

static pool P = {.busy = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static _Thread_local int in_pool; /* a worker, or a caller inside a job: nested loops run serially */

static long futex(_Atomic unsigned *addr, int op, unsigned val) {
    return syscall(SYS_futex, (unsigned *)addr, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Takes chunks of grain items until none is left: a thread the machine stops for a while (another
 * process, the hypervisor) leaves its chunks to the others instead of holding up the whole loop.
 * Chunks start at multiples of grain whichever thread takes them. */
static void run_share(int tid) {
    if (tid >= P.nt) return; /* a loop of fewer items than threads */
    for (;;) {
        const long lo = atomic_fetch_add_explicit(&P.next, P.grain, memory_order_relaxed);
        if (lo >= P.n) return;
        const long hi = lo + P.grain < P.n ? lo + P.grain : P.n;
        P.fn(P.ctx, lo, hi, tid);
    }
}

static void *worker(void *arg) {
    const int tid = (int)(long)arg;
    in_pool = 1;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&P.gen, memory_order_acquire)) == seen) {
            if (++spins < SPIN) { cpu_relax(); continue; }
            atomic_fetch_add(&P.sleepers, 1);
            if (atomic_load(&P.gen) == seen) futex(&P.gen, FUTEX_WAIT, seen);
            atomic_fetch_sub(&P.sleepers, 1);
            spins = 0;
        }
        seen = g;
        run_share(tid);
        if (atomic_fetch_sub_explicit(&P.pending, 1, memory_order_acq_rel) == 1 && atomic_load(&P.waiting))
            futex((_Atomic unsigned *)&P.pending, FUTEX_WAKE, 1);
    }
    return NULL;
}

static void pool_start(void) {
    int nt = bd_nthreads();
    openblas_set_num_threads(1); /* every product runs on one thread; the pool splits them */
    P.size = 1;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 1 << 20);
    for (int t = 1; t < nt; t++) {
        pthread_t th;
        if (pthread_create(&th, &a, worker, (void *)(long)t) != 0) break; /* fewer threads, still right */
        pthread_detach(th);
        P.size = t + 1;
    }
    pthread_attr_destroy(&a);
}

/* a child of fork() has none of the workers: it starts its own pool when it first needs one */
static void pool_forked(void) {
    pthread_once_t fresh = PTHREAD_ONCE_INIT;
    pool_once = fresh;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    P.busy = m;
    atomic_store(&P.gen, 0);
    atomic_store(&P.pending, 0);
    atomic_store(&P.sleepers, 0);
    atomic_store(&P.waiting, 0);
}

static void pool_init(void) {
    pthread_atfork(NULL, NULL, pool_forked);
    pool_start();
}

int bd_pool_threads(void) {
    pthread_once(&pool_once, pool_init);
    return P.size;
}

/* bd_parallel_for with chunks a thread of the job's */
static void parallel_for_chunks(long n, int chunks, void (*fn)(void *ctx, long lo, long hi, int tid), void *ctx) {
    if (n <= 0) return;
    if (in_pool || n == 1 || bd_pool_threads() <= 1 || pthread_mutex_trylock(&P.busy) != 0) {
        fn(ctx, 0, n, 0); /* nested, trivial, single-core, or the pool is another thread's now */
        return;
    }
    const int nt = (int)(n < bd_nthreads() ? n : bd_nthreads());
    P.fn = fn, P.ctx = ctx, P.n = n;
    P.nt = nt < P.size ? nt : P.size;
    P.grain = n / ((long)P.nt * chunks);
    if (P.grain < 1) P.grain = 1;
    atomic_store_explicit(&P.next, 0, memory_order_relaxed); /* published by the seq_cst bump of gen */
    /* workers with tid >= P.nt get an empty share; all of them take part (and count down) */
    const int workers = P.size - 1;
    atomic_store_explicit(&P.pending, workers, memory_order_relaxed);
    atomic_fetch_add(&P.gen, 1); /* seq_cst: ordered before the read of sleepers */
    if (atomic_load(&P.sleepers)) futex(&P.gen, FUTEX_WAKE, workers);
    in_pool = 1;
    run_share(0);
    in_pool = 0;
    int spins = 0;
    while (atomic_load_explicit(&P.pending, memory_order_acquire) != 0) {
        if (++spins < SPIN) { cpu_relax(); continue; }
        atomic_store(&P.waiting, 1);
        int left = atomic_load(&P.pending);
        if (left) futex((_Atomic unsigned *)&P.pending, FUTEX_WAIT, (unsigned)left);
        atomic_store(&P.waiting, 0);
        spins = 0;
    }
    pthread_mutex_unlock(&P.busy);
}

void bd_parallel_for(long n, void (*fn)(void *ctx, long lo, long hi, int tid), void *ctx) {
    parallel_for_chunks(n, CHUNKS, fn, ctx);
}

void bd_parallel_for_work(long n, long work, void (*fn)(void *ctx, long lo, long hi, int tid), void *ctx) {
    if (work < BD_PARALLEL_MIN_WORK) {
        if (n > 0) fn(ctx, 0, n, 0);
    } else {
        bd_parallel_for(n, fn, ctx);
    }
}

/* ---- matrix products split across the pool ---- */

typedef struct gemm_job {
    int tA, tB, M, N, K, lda, ldb, ldc, by_rows;
    float alpha, beta;
    const float *A, *B, *bias; /* bias: written into C's rows [N] before the product (beta 1) */
    float *C;
} gemm_job;

/* rows [r0, r1), columns [c0, c1) of C = the bias */
static void fill_bias(const gemm_job *g, long r0, long r1, long c0, long c1) {
    for (long r = r0; r < r1; r++) memcpy(g->C + r * g->ldc + c0, g->bias + c0, sizeof(float) * (size_t)(c1 - c0));
}

#define GEMM_BLOCK 16L /* split on multiples of this many rows (or columns): whole kernel tiles */
#define GEMM_CHUNKS 2  /* a chunk is one sgemm call, which packs the other operand again: fewer */

static void gemm_share(void *arg, long lo, long hi, int tid) {
    (void)tid;
    const gemm_job *g = arg;
    const long a = lo * GEMM_BLOCK, b0 = hi * GEMM_BLOCK;
    if (g->by_rows) {
        const long b = b0 < g->M ? b0 : g->M;
        if (a >= b) return;
        if (g->bias) fill_bias(g, a, b, 0, g->N);
        const float *A = g->tA ? g->A + a : g->A + a * g->lda;
        cblas_sgemm(CblasRowMajor, g->tA ? CblasTrans : CblasNoTrans, g->tB ? CblasTrans : CblasNoTrans, (int)(b - a),
                    g->N, g->K, g->alpha, A, g->lda, g->B, g->ldb, g->beta, g->C + a * g->ldc, g->ldc);
    } else {
        const long b = b0 < g->N ? b0 : g->N;
        if (a >= b) return;
        if (g->bias) fill_bias(g, 0, g->M, a, b);
        const float *B = g->tB ? g->B + a * g->ldb : g->B + a;
        cblas_sgemm(CblasRowMajor, g->tA ? CblasTrans : CblasNoTrans, g->tB ? CblasTrans : CblasNoTrans, g->M,
                    (int)(b - a), g->K, g->alpha, g->A, g->lda, B, g->ldb, g->beta, g->C + a, g->ldc);
    }
}

static void gemm_run(gemm_job g) {
    const int M = g.M, N = g.N, K = g.K;
    const long along = g.by_rows ? M : N, blocks = (along + GEMM_BLOCK - 1) / GEMM_BLOCK;
    /* below ~4 MFLOP a split costs more than it saves */
    if (2.0 * M * N * (K > 0 ? K : 1) < 4e6 || blocks < 2) gemm_share(&g, 0, blocks, 0);
    else parallel_for_chunks(blocks, GEMM_CHUNKS, gemm_share, &g);
}

void bd_sgemm(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    gemm_run((gemm_job){tA, tB, M, N, K, lda, ldb, ldc, M >= N, alpha, beta, A, B, NULL, C});
}

void bd_sgemm_bias(int M, int N, int K, const float *A, int lda, const float *B, int ldb, const float *bias, float *C,
                   int ldc) {
    if (M <= 0 || N <= 0) return;
    gemm_run((gemm_job){0, 1, M, N, K, lda, ldb, ldc, M >= N, 1.0f, bias ? 1.0f : 0.0f, A, B, bias, C});
}

void bd_blas_env(void) {
    /* OpenBLAS on one thread from here on. The pool itself starts at its first loop: a process
     * that forks (the workbench's keeper) must still have one thread when it does */
    openblas_set_num_threads(1);
}
