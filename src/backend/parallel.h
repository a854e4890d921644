/* parallel.h: one pool of bidora's own threads (BIDORA_THREADS, else one per online CPU) runs
 * every parallel loop of the CPU backend and splits its large matrix products; OpenBLAS itself
 * runs on one thread. Two pools (bidora's and OpenBLAS's server) on few cores took each other's
 * cores: an idle OpenBLAS thread spins (sched_yield) for a while after every product, or sleeps
 * and must be woken for the next; on 2 cores the waiting was a fifth of a training step and the
 * cause of most of its step-to-step spread (docs/PERFORMANCE.md). The pool's threads start once,
 * wait for work spinning some tens of microseconds and then sleep on a futex. */
#ifndef BD_PARALLEL_H
#define BD_PARALLEL_H

#define BD_MAX_THREADS 64

/* Threads to use: BIDORA_THREADS if set, else the online CPUs (1..64). */
int bd_nthreads(void);
/* Starts the pool on first use; the threads it has (fewer than bd_nthreads() only when
 * pthread_create failed). */
int bd_pool_threads(void);

/* Call fn(ctx, lo, hi, tid) on disjoint ranges covering [0, n) and wait for all. The ranges are
 * chunks of n / (threads x 4) items (at least 1), which the threads take in turn until none is
 * left, so a thread the machine holds back for a while leaves its chunks to the others; tid (in
 * [0, bd_nthreads())) names the thread that runs the chunk (for per-thread scratch). A chunk's
 * bounds depend only on n and bd_nthreads(), not on which thread takes it. Called
 * from inside a loop (or while another thread's loop holds the pool) it runs fn(ctx, 0, n, 0) on
 * the calling thread. BLAS calls inside run on one thread. */
void bd_parallel_for(long n, void (*fn)(void *ctx, long lo, long hi, int tid), void *ctx);
/* The same, but on the calling thread when the loop's work (elements it touches) is below
 * BD_PARALLEL_MIN_WORK: a hand-off costs more than that much work. */
#define BD_PARALLEL_MIN_WORK 65536L
void bd_parallel_for_work(long n, long work, void (*fn)(void *ctx, long lo, long hi, int tid), void *ctx);

/* Row-major C[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C (cblas_sgemm's arguments; tA, tB: 0 or
 * 1), split across the pool in chunks of 16-row blocks (or columns, when N > M) when it is large
 * enough to pay, each chunk one single-threaded sgemm. The split depends only on the shape and
 * the thread count; a block may take another OpenBLAS kernel than the whole product would, so
 * the result equals one sgemm's to float rounding, not bit for bit. */
void bd_sgemm(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc);

/* C[M,N] = A[M,K] B[N,K]^T + bias[N] on every row (a linear layer): each block first writes the
 * bias into its own rows of C (on its own thread, just before its product reads them back), then
 * one sgemm with beta = 1. bias may be NULL: C = A B^T. */
void bd_sgemm_bias(int M, int N, int K, const float *A, int lda, const float *B, int ldb, const float *bias, float *C,
                   int ldc);

/* Called first in main(): OpenBLAS on one thread. The pool starts at its first loop,
 * not here: the workbench forks its keeper first, and a child of a process with threads has only
 * the forking one (pthread_atfork resets the pool in a child all the same). */
void bd_blas_env(void);

#endif
