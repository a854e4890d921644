/* parallel.h: split a loop across this machine's cores. Many small matrix
 * products (attention's per-head ones) run faster as one single-threaded
 * sgemm per core than as multi-threaded sgemms that spin-wait on each
 * other; elementwise passes (GELU, LayerNorm) simply split in chunks. */
#ifndef BD_PARALLEL_H
#define BD_PARALLEL_H

/* Threads to use: BIDORA_THREADS if set, else the online CPUs (1..64). */
int bd_nthreads(void);

/* Call fn(ctx, lo, hi, tid) on disjoint ranges covering [0, n), one per
 * thread (tid in [0, bd_nthreads())), and wait for all. BLAS calls inside
 * run single-threaded. Falls back to one thread if none can be started. */
void bd_parallel_for(long n, void (*fn)(void *ctx, long lo, long hi, int tid), void *ctx);

/* OpenBLAS's idle threads spin (sched_yield) for a while after every product before they
 * sleep; on a machine of few cores they take the cores bidora's own threads (GELU, attention,
 * dropout) need: a LoRA step of the MiniLM shape on 2 cores, 3228 ms spinning by default
 * against 2853 ms with OPENBLAS_THREAD_TIMEOUT=4 (docs/PERFORMANCE.md). OpenBLAS reads that
 * variable when it is loaded, before main(); so the first thing main() does is this: when it
 * is not set, set it and exec the program again (the same pid and arguments). A value the
 * user set is kept. Returns only when nothing was to be done or the exec failed. */
void bd_blas_env(char **argv);

#endif
