/* bench_noise: the machine's own step-to-step spread, the floor under any benchmark's. Each step
 * runs the same fixed work, on every thread (BIDORA_THREADS or one a core, as bidora's pool):
 *   --kind fma (default): multiply-adds in registers: no memory traffic, no allocation, no
 *     library, one barrier a step. What varies is the machine's clock and the other processes;
 *   --kind gemm: OpenBLAS's sgemm at MiniLM's FFN shape (4096 x 1536 x 384, row-major, B^T),
 *     OpenBLAS's own threads, no bidora code: the floor for steps that are mostly matrix products
 *     (caches and memory shared with whatever else runs on the host vary it too).
 * make bench-torch runs both in every round and prints their spreads beside bidora's and PyTorch's.
 *
 * usage: bench_noise [--kind fma|gemm] [--steps N] [--warmup N] [--ms MS] [--csv FILE]
 *   --ms: the length of a step, calibrated once before the warm-up (default 800) */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_stats.h"

enum { MAX_STEPS = 1000, MAX_THREADS = 64, LANES = 32 };

typedef struct worker {
    pthread_t th;
    pthread_barrier_t *start, *done;
    long iters;
    int steps;
    float sink;
} worker;

/* LANES independent multiply-add chains: as much arithmetic as the core can overlap. Not inlined,
 * and its result stored to a volatile: the compiler may not move the work out of the timed span. */
static volatile float sunk;
__attribute__((noinline)) static float burn(long iters) {
    float a[LANES];
    for (int i = 0; i < LANES; i++) a[i] = 1.0f + (float)i * 1e-3f;
    for (long n = 0; n < iters; n++)
        for (int i = 0; i < LANES; i++) a[i] = a[i] * 0.9999999f + 1e-7f;
    float s = 0.0f;
    for (int i = 0; i < LANES; i++) s += a[i];
    sunk = s;
    return s;
}

static void *run(void *arg) {
    worker *w = arg;
    for (int s = 0; s < w->steps; s++) {
        pthread_barrier_wait(w->start);
        w->sink += burn(w->iters);
        pthread_barrier_wait(w->done);
    }
    return NULL;
}

static int usage(void) {
    fprintf(stderr, "usage: bench_noise [--kind fma|gemm] [--steps N] [--warmup N] [--ms MS] [--csv FILE]\n");
    return 2;
}

enum { GM = 4096, GN = 1536, GK = 384 };

static void gemm_once(const float *a, const float *b, float *c) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, GM, GN, GK, 1.0f, a, GK, b, GK, 0.0f, c, GN);
}

/* --kind gemm: reps products a step (calibrated like fma's iterations) */
static int gemm_steps(int nt, int steps, int warmup, double step_ms, double *ms, long *reps_out) {
    openblas_set_num_threads(nt);
    float *a = malloc(sizeof(float) * GM * GK), *b = malloc(sizeof(float) * GN * GK), *c = malloc(sizeof(float) * GM * GN);
    if (!a || !b || !c) { fprintf(stderr, "bench_noise: out of memory\n"); return 1; }
    for (long i = 0; i < (long)GM * GK; i++) a[i] = 0.001f * (float)(i % 97);
    for (long i = 0; i < (long)GN * GK; i++) b[i] = 0.001f * (float)(i % 89);
    gemm_once(a, b, c);
    double t0 = now_s();
    gemm_once(a, b, c);
    const double one = now_s() - t0;
    long reps = (long)(step_ms / 1000.0 / (one > 1e-6 ? one : 1e-6) + 0.5);
    if (reps < 1) reps = 1;
    for (int s = 0; s < warmup + steps; s++) {
        const double t = now_s();
        for (long r = 0; r < reps; r++) gemm_once(a, b, c);
        if (s >= warmup) ms[s - warmup] = (now_s() - t) * 1000.0;
    }
    sunk = c[12345];
    free(a), free(b), free(c);
    *reps_out = reps;
    return 0;
}

/* --kind fma: iters multiply-adds on each of nt threads a step (calibrated on one thread) */
static int fma_steps(int nt, int steps, int warmup, double step_ms, double *ms, long *iters_out) {
    const long probe = 1000000;
    double t0 = now_s();
    burn(probe);
    const double dt = now_s() - t0;
    const long iters = (long)(probe * (step_ms / 1000.0) / (dt > 1e-6 ? dt : 1e-6));
    pthread_barrier_t start, done;
    pthread_barrier_init(&start, NULL, (unsigned)nt);
    pthread_barrier_init(&done, NULL, (unsigned)nt);
    worker w[MAX_THREADS];
    const int total = warmup + steps;
    for (int t = 0; t < nt; t++) {
        w[t] = (worker){.start = &start, .done = &done, .iters = iters, .steps = total};
        if (t && pthread_create(&w[t].th, NULL, run, &w[t])) {
            fprintf(stderr, "bench_noise: cannot start thread %d\n", t);
            return 1;
        }
    }
    for (int s = 0; s < total; s++) { /* this thread is worker 0 */
        pthread_barrier_wait(&start);
        const double a = now_s();
        w[0].sink += burn(iters);
        pthread_barrier_wait(&done);
        if (s >= warmup) ms[s - warmup] = (now_s() - a) * 1000.0;
    }
    float sum = 0.0f;
    for (int t = 1; t < nt; t++) pthread_join(w[t].th, NULL);
    for (int t = 0; t < nt; t++) sum += w[t].sink;
    sunk = sum;
    *iters_out = iters;
    return 0;
}

int main(int argc, char **argv) {
    int steps = 5, warmup = 1;
    double step_ms = 800;
    const char *csv = NULL, *kind = "fma";
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--kind")) kind = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--steps")) steps = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--warmup")) warmup = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--ms")) step_ms = atof(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--csv")) csv = argv[++i];
        else return usage();
    }
    if (steps < 1 || steps > MAX_STEPS || warmup < 0 || step_ms <= 0) return usage();
    const int gemm = !strcmp(kind, "gemm");
    if (!gemm && strcmp(kind, "fma")) return usage();
    const char *env = getenv("BIDORA_THREADS");
    int nt = env ? atoi(env) : 0;
    if (nt <= 0) nt = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nt < 1) nt = 1;
    if (nt > MAX_THREADS) nt = MAX_THREADS;

    double ms[MAX_STEPS], sorted[MAX_STEPS];
    long iters = 0;
    float sink;
    if ((gemm ? gemm_steps : fma_steps)(nt, steps, warmup, step_ms, ms, &iters)) return 1;
    sink = sunk;
    memcpy(sorted, ms, sizeof(double) * (size_t)steps);
    qsort(sorted, (size_t)steps, sizeof(double), cmp_d);
    const double med = steps % 2 ? sorted[steps / 2] : (sorted[steps / 2 - 1] + sorted[steps / 2]) / 2;
    const double sp = spread_pct(ms, steps, med);
    char list[8 * MAX_STEPS];
    times_list(list, sizeof list, ms, steps);
    if (gemm)
        printf("== bench_noise: %d threads, %ld OpenBLAS sgemm of %d x %d x %d a step, %d steps after %d warm-up\n", nt,
               iters, GM, GN, GK, steps, warmup);
    else
        printf("== bench_noise: %d threads x %ld fixed multiply-adds (x%d lanes) a step, %d steps after %d warm-up\n",
               nt, iters, LANES, steps, warmup);
    printf("step ms: median %.1f, spread %.1f%%; steps: %s (checksum %g)\n", med, sp, list, (double)sink);
    if (csv) {
        FILE *f = fopen(csv, "a");
        if (!f) { perror(csv); return 1; }
        if (ftell(f) == 0) fputs(BENCH_CSV_HEADER, f);
        fprintf(f, "machine,cpu,%dx%ld,fp32,noise-%s,%.3f,0,0,%.2f,%s\n", nt, iters, kind, med, sp, list);
        fclose(f);
    }
    return 0;
}
