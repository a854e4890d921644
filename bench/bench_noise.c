/* bench_noise: the machine's own step-to-step spread, the floor under any benchmark's. Every
 * thread (BIDORA_THREADS or one a core, as bidora's pool) runs the same fixed arithmetic each
 * step: no memory traffic, no allocation, no library, no hand-off but one barrier a step. What
 * still varies from step to step is the machine: other processes, the hypervisor, the clock.
 * make bench-torch runs it in every round next to both sides and prints its spread beside theirs.
 *
 * usage: bench_noise [--steps N] [--warmup N] [--ms MS] [--csv FILE]
 *   --ms: the length of a step, calibrated once before the warm-up (default 800) */
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
    fprintf(stderr, "usage: bench_noise [--steps N] [--warmup N] [--ms MS] [--csv FILE]\n");
    return 2;
}

int main(int argc, char **argv) {
    int steps = 5, warmup = 1;
    double step_ms = 800;
    const char *csv = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--steps")) steps = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--warmup")) warmup = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--ms")) step_ms = atof(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--csv")) csv = argv[++i];
        else return usage();
    }
    if (steps < 1 || steps > MAX_STEPS || warmup < 0 || step_ms <= 0) return usage();
    const char *env = getenv("BIDORA_THREADS");
    int nt = env ? atoi(env) : 0;
    if (nt <= 0) nt = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nt < 1) nt = 1;
    if (nt > MAX_THREADS) nt = MAX_THREADS;

    /* calibrate on one thread: iterations for step_ms */
    long probe = 1000000;
    double t0 = now_s();
    float sink = burn(probe);
    double dt = now_s() - t0;
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
    double ms[MAX_STEPS], sorted[MAX_STEPS];
    for (int s = 0; s < total; s++) { /* this thread is worker 0 */
        pthread_barrier_wait(&start);
        double a = now_s();
        w[0].sink += burn(iters);
        pthread_barrier_wait(&done);
        if (s >= warmup) ms[s - warmup] = (now_s() - a) * 1000.0;
    }
    for (int t = 1; t < nt; t++) pthread_join(w[t].th, NULL);
    for (int t = 0; t < nt; t++) sink += w[t].sink;
    memcpy(sorted, ms, sizeof(double) * (size_t)steps);
    qsort(sorted, (size_t)steps, sizeof(double), cmp_d);
    const double med = steps % 2 ? sorted[steps / 2] : (sorted[steps / 2 - 1] + sorted[steps / 2]) / 2;
    const double sp = spread_pct(ms, steps, med);
    char list[8 * MAX_STEPS];
    times_list(list, sizeof list, ms, steps);
    printf("== bench_noise: %d threads x %ld fixed multiply-adds (x%d lanes) a step, %d steps after %d warm-up\n", nt,
           iters, LANES, steps, warmup);
    printf("step ms: median %.1f, spread %.1f%%; steps: %s (checksum %g)\n", med, sp, list, (double)sink);
    if (csv) {
        FILE *f = fopen(csv, "a");
        if (!f) { perror(csv); return 1; }
        if (ftell(f) == 0) fputs(BENCH_CSV_HEADER, f);
        fprintf(f, "machine,cpu,%dx%ld,fp32,noise,%.3f,0,0,%.2f,%s\n", nt, iters, med, sp, list);
        fclose(f);
    }
    return 0;
}
