#include "parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

int bd_nthreads(void) {
    static int n = 0; /* computed once; racy writes store the same value */
    if (n) return n;
    int k = 0;
    const char *env = getenv("BIDORA_THREADS");
    if (env) k = atoi(env);
    if (k <= 0) k = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (k < 1) k = 1;
    if (k > 64) k = 64;
    n = k;
    return n;
}

typedef struct job {
    void (*fn)(void *, long, long, int);
    void *ctx;
    long lo, hi;
    int tid;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    j->fn(j->ctx, j->lo, j->hi, j->tid);
    return NULL;
}

void bd_parallel_for(long n, void (*fn)(void *ctx, long lo, long hi, int tid), void *ctx) {
    int nt = bd_nthreads();
    if (nt > n) nt = (int)(n > 0 ? n : 1);
    if (nt <= 1) { fn(ctx, 0, n, 0); return; }
    job jobs[64];
    pthread_t th[64];
    int started[64] = {0};
    int blas = openblas_get_num_threads();
    openblas_set_num_threads(1);
    for (int t = 0; t < nt; t++) jobs[t] = (job){fn, ctx, n * t / nt, n * (t + 1) / nt, t};
    for (int t = 1; t < nt; t++) started[t] = pthread_create(&th[t], NULL, run_job, &jobs[t]) == 0;
    run_job(&jobs[0]);
    for (int t = 1; t < nt; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else run_job(&jobs[t]); /* no thread: do its share here */
    }
    openblas_set_num_threads(blas);
}

void bd_blas_env(char **argv) {
    if (getenv("OPENBLAS_THREAD_TIMEOUT")) return;
    if (setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1)) return;
    execv("/proc/self/exe", argv); /* returns only on failure: then run as we are */
}
