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

#endif
