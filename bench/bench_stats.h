/* bench_stats.h: what bench_train and bench_eval share: the clock, the median's sort, the
 * step-to-step spread, the list of every timed step and the --csv header (make bench-torch reads
 * both programs' rows as one table). */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <math.h>
#include <stdio.h>
#include <time.h>

#define BENCH_CSV_HEADER "impl,backend,shape,precision,method,ms_per_step,peak_bytes,trainable,spread_pct,times_ms\n"

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* max |t_i - med| / med over n times, in % */
static inline double spread_pct(const double *t, int n, double med) {
    double worst = 0;
    for (int i = 0; i < n; i++) if (fabs(t[i] - med) > worst) worst = fabs(t[i] - med);
    return med > 0 ? 100.0 * worst / med : 0.0;
}

/* "t1;t2;..." (ms, one decimal) of the first n times, as many as fit in cap bytes */
static inline void times_list(char *buf, size_t cap, const double *t, int n) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < n && used < cap; i++) used += (size_t)snprintf(buf + used, cap - used, "%s%.1f", i ? ";" : "", t[i]);
}

#endif
