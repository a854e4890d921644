/* test_vec.c: the CPU backend's vectorized loops (src/backend/vec_cpu.c): bd_expf against libm
 * (ulps over its whole range, exact 0 below it, no subnormal out, inf and NaN), GELU and its
 * derivative against double precision, the softmax rows (masked keys exactly 0, fully masked rows
 * uniform, sums of 1) and its backward against double, dropout, its masks (the formula written
 * out again) and LayerNorm's rows against double (its gradients: tests/test_ops_grad.c); and that the AVX2+FMA build and
 * the generic build give the same bits for every kernel, on lengths with and without a tail; and
 * the thread pool (src/backend/parallel.c): every index once, nested and concurrent loops, split
 * products equal to one sgemm's (to rounding), a forked child's own pool. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "vec_cpu.h"

#include <cblas.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* distance in units in the last place between two finite floats of the same sign */
static long ulps(float a, float b) {
    long d = (long)bits(a) - (long)bits(b);
    return d < 0 ? -d : d;
}

static uint64_t rng = 0x243F6A8885A308D3ull;
static float frand(float lo, float hi) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((rng >> 40) * (1.0 / 16777216.0));
}

static void test_expf(void **state) {
    (void)state;
    long worst = 0;
    float worst_x = 0;
    const int n = 1 << 21;
    for (int i = 0; i <= n; i++) {
        float x = fminf(-87.3f + (88.37f + 87.3f) * (float)i / (float)n, 88.37f);
        float y = bd_expf(x), r = expf(x);
        assert_true(isnormal(y));
        long u = ulps(y, r);
        if (u > worst) { worst = u; worst_x = x; }
    }
    printf("bd_expf vs expf on [-87.3, 88.37]: worst %ld ulp (x = %.7g)\n", worst, (double)worst_x);
    assert_true(worst <= 2);
    assert_true(bd_expf(0.0f) == 1.0f);
    assert_true(bd_expf(-87.31f) == 0.0f);
    assert_true(bd_expf(-FLT_MAX) == 0.0f);
    assert_true(bd_expf(-INFINITY) == 0.0f);
    assert_true(isinf(bd_expf(88.4f)) && bd_expf(INFINITY) > 0.0f);
    assert_true(isnan(bd_expf(NAN)));
    for (int i = 0; i < 100000; i++) { /* nothing subnormal anywhere below */
        float x = frand(-200.0f, -80.0f), y = bd_expf(x);
        assert_true(y == 0.0f || isnormal(y));
    }
}

static double gelu_d(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }
static double dgelu_d(double x) { return 0.5 * (1.0 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / sqrt(2.0 * M_PI); }

static void test_gelu(void **state) {
    (void)state;
    enum { N = 4099 };
    static float x[N], y[N], g[N], d[N];
    for (int i = 0; i < N; i++) { x[i] = i < 40 ? -20.0f + i : frand(-8.0f, 8.0f); g[i] = frand(-1, 1); d[i] = 0.5f; }
    bd_vec_gelu_fwd(y, x, N);
    bd_vec_gelu_bwd(d, x, g, N);
    double ef = 0, eb = 0;
    for (int i = 0; i < N; i++) {
        ef = fmax(ef, fabs(y[i] - gelu_d(x[i])) / fmax(1.0, fabs(gelu_d(x[i]))));
        eb = fmax(eb, fabs((d[i] - 0.5) - g[i] * dgelu_d(x[i])));
    }
    printf("GELU vs double: forward %.2e, derivative %.2e (%s)\n", ef, eb, bd_vec_level());
    assert_true(ef < 2e-6);
    assert_true(eb < 2e-6);
}

static void test_softmax(void **state) {
    (void)state;
    const int Ts[] = {1, 7, 8, 13, 64, 128};
    for (size_t k = 0; k < sizeof Ts / sizeof *Ts; k++) {
        const int T = Ts[k];
        float row[128], mask[128], ref[128];
        for (int j = 0; j < T; j++) { row[j] = frand(-30, 30); mask[j] = (j % 3 == 2) ? 0.0f : 1.0f; ref[j] = row[j]; }
        mask[0] = 1.0f;
        bd_vec_softmax_row(row, mask, T);
        double mx = -INFINITY, s = 0;
        for (int j = 0; j < T; j++) if (mask[j] != 0.0f && ref[j] > mx) mx = ref[j];
        for (int j = 0; j < T; j++) s += mask[j] != 0.0f ? exp(ref[j] - mx) : 0.0;
        double tot = 0;
        for (int j = 0; j < T; j++) {
            if (mask[j] == 0.0f) assert_true(row[j] == 0.0f); /* exactly: no gradient to a pad */
            else assert_true(fabs(row[j] - exp(ref[j] - mx) / s) < 1e-6);
            tot += row[j];
        }
        assert_true(fabs(tot - 1.0) < 1e-5);
        /* all keys masked: uniform, as transformers */
        for (int j = 0; j < T; j++) { row[j] = frand(-3, 3); mask[j] = 0.0f; }
        bd_vec_softmax_row(row, mask, T);
        for (int j = 0; j < T; j++) assert_true(fabsf(row[j] - 1.0f / (float)T) < 1e-6f);
        /* backward: d = p (d - p.d) scale */
        float p[128], dd[128], d0[128];
        double pd = 0;
        for (int j = 0; j < T; j++) { p[j] = frand(0, 1); d0[j] = dd[j] = frand(-1, 1); pd += (double)p[j] * d0[j]; }
        bd_vec_softmax_bwd_row(dd, p, T, 0.125f);
        for (int j = 0; j < T; j++) assert_true(fabs(dd[j] - p[j] * (d0[j] - pd) * 0.125) < 1e-6);
    }
}

static void test_dropout(void **state) {
    (void)state;
    enum { N = 1031 };
    static float x[N], y[N], d[N];
    static uint8_t keep[N];
    for (int i = 0; i < N; i++) { x[i] = frand(-2, 2); keep[i] = (i * 7) % 10 != 0; d[i] = 1.0f; }
    bd_vec_dropout_fwd(y, x, keep, 1.0f / 0.9f, N);
    bd_vec_dropout_bwd(d, x, keep, 1.0f / 0.9f, N);
    for (int i = 0; i < N; i++) {
        assert_true(y[i] == (keep[i] ? x[i] * (1.0f / 0.9f) : 0.0f));
        assert_true(d[i] == 1.0f + (keep[i] ? x[i] * (1.0f / 0.9f) : 0.0f));
    }
}

/* The dropout mask is splitmix64 of (seed + i * golden), the top 32 bits against the threshold:
 * the formula the GPU kernel uses (kernels/dropout.cu), written out here once more. */
static void test_keep_mask(void **state) {
    (void)state;
    enum { N = 70001 };
    static uint8_t keep[N];
    const uint64_t seed = 0xD1B54A32D192ED03ull;
    const uint32_t thr = 429496730u; /* p = 0.1 */
    bd_vec_keep_mask(keep, 0, N, seed, thr);
    long kept = 0;
    for (long i = 0; i < N; i++) {
        uint64_t z = seed + (uint64_t)i * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        assert_int_equal(keep[i], (uint32_t)(z >> 32) >= thr);
        kept += keep[i];
    }
    assert_true(kept > N * 0.89 && kept < N * 0.91);
    static uint8_t part[N];
    bd_vec_keep_mask(part, 0, 12345, seed, thr); /* in two ranges: the same */
    bd_vec_keep_mask(part, 12345, N, seed, thr);
    assert_memory_equal(part, keep, N);
}

static void test_layernorm(void **state) {
    (void)state;
    const int Cs[] = {1, 5, 8, 384, 771};
    for (size_t k = 0; k < sizeof Cs / sizeof *Cs; k++) {
        const int C = Cs[k];
        static float x[771], g[771], b[771], y[771];
        for (int c = 0; c < C; c++) { x[c] = frand(-4, 4) + 100.0f; g[c] = frand(0.5f, 2); b[c] = frand(-1, 1); }
        float m, r;
        bd_vec_layernorm_fwd_row(y, &m, &r, x, g, b, C, 1e-5f);
        double md = 0, vd = 0;
        for (int c = 0; c < C; c++) md += x[c];
        md /= C;
        for (int c = 0; c < C; c++) vd += (x[c] - md) * (x[c] - md);
        vd /= C;
        const double rd = 1.0 / sqrt(vd + 1e-5);
        assert_true(fabs(m - md) <= 1e-5 * fabs(md));
        assert_true(fabs(r - rd) <= 1e-6 * rd);
        for (int c = 0; c < C; c++) assert_true(fabs(y[c] - ((x[c] - md) * rd * g[c] + b[c])) < 1e-4);
    }
}

/* Every kernel on both builds: the same bits. */
typedef struct outs {
    float gf[1027], gb[1027], sm[3][131], sb[131], df[1027], db[1027];
    float ly[5 * 131], lm[5], lr[5], ldx[5 * 131], ldg[131], ldb[131];
    uint8_t keep[1027];
} outs;

static void run_all(outs *o) {
    uint64_t keep_rng = rng;
    rng = 42;
    static float x[1027], g[1027], p[131];
    static uint8_t keep[1027];
    for (int i = 0; i < 1027; i++) { x[i] = frand(-9, 9); g[i] = frand(-1, 1); keep[i] = i % 9 != 0; o->gb[i] = 0.25f; o->db[i] = -1.0f; }
    bd_vec_gelu_fwd(o->gf, x, 1027);
    bd_vec_gelu_bwd(o->gb, x, g, 1027);
    bd_vec_dropout_fwd(o->df, x, keep, 1.25f, 1027);
    bd_vec_dropout_bwd(o->db, g, keep, 1.25f, 1027);
    const int Ts[3] = {131, 128, 5};
    for (int k = 0; k < 3; k++) {
        float mask[131];
        for (int j = 0; j < Ts[k]; j++) { o->sm[k][j] = frand(-40, 40); mask[j] = j % 5 == 4 ? 0.0f : 1.0f; }
        bd_vec_softmax_row(o->sm[k], mask, Ts[k]);
    }
    for (int j = 0; j < 131; j++) { p[j] = frand(0, 1); o->sb[j] = frand(-1, 1); }
    bd_vec_softmax_bwd_row(o->sb, p, 131, 0.125f);
    bd_vec_keep_mask(o->keep, 0, 1027, 12345, 429496730u);
    static float lx[5 * 131], lg[131], lb[131], lgo[5 * 131];
    for (int j = 0; j < 5 * 131; j++) { lx[j] = frand(-3, 3); lgo[j] = frand(-1, 1); o->ldx[j] = 0.5f; }
    for (int j = 0; j < 131; j++) { lg[j] = frand(0.5f, 1.5f); lb[j] = frand(-1, 1); o->ldg[j] = o->ldb[j] = 0.0f; }
    for (int r = 0; r < 5; r++) {
        bd_vec_layernorm_fwd_row(o->ly + r * 131, o->lm + r, o->lr + r, lx + r * 131, lg, lb, 131, 1e-12f);
        bd_vec_layernorm_bwd_row(o->ldx + r * 131, lgo + r * 131, lx + r * 131, lg, o->lm[r], o->lr[r], 131);
    }
    bd_vec_layernorm_bwd_cols(o->ldg, o->ldb, lgo, lx, o->lm, o->lr, 5, 131, 0, 131);
    rng = keep_rng;
}

static void test_builds_agree(void **state) {
    (void)state;
    static outs a, b;
    bd_vec_force(1);
    const char *fast = bd_vec_level();
    if (strcmp(fast, "generic") == 0) {
        printf("this CPU has no AVX2+FMA: only the generic build runs here\n");
        bd_vec_force(0);
        return;
    }
    run_all(&a);
    bd_vec_force(0);
    assert_string_equal(bd_vec_level(), "generic");
    run_all(&b);
    bd_vec_force(1);
    assert_memory_equal(&a, &b, sizeof a);
    printf("%s and generic builds: the same bits in every kernel\n", fast);
}

/* ---- the pool ---- */

typedef struct visit { int *seen; int bad_tid; } visit;
static void visit_range(void *arg, long lo, long hi, int tid) {
    visit *v = arg;
    if (tid < 0 || tid >= bd_nthreads()) v->bad_tid = 1;
    for (long i = lo; i < hi; i++) v->seen[i]++; /* ranges are disjoint: no two threads touch one i */
}
static void nested_range(void *arg, long lo, long hi, int tid) {
    (void)tid;
    int *seen = arg;
    for (long i = lo; i < hi; i++) {
        visit v = {seen + i * 10, 0};
        bd_parallel_for(10, visit_range, &v); /* inside a loop: runs on this thread */
    }
}

static int pool_round(int n) {
    int *seen = calloc((size_t)n, sizeof *seen); /* each caller its own: two threads call this at once */
    visit v = {seen, 0};
    bd_parallel_for(n, visit_range, &v);
    int ok = !v.bad_tid;
    for (int i = 0; i < n; i++) ok = ok && seen[i] == 1;
    free(seen);
    return ok;
}

/* C = A B^T split by the pool against one single-threaded sgemm: the same to float rounding */
static int gemm_round(int M, int N, int K, int tB) {
    float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)N * K);
    float *C = malloc(sizeof(float) * (size_t)M * N), *R = malloc(sizeof(float) * (size_t)M * N);
    for (long i = 0; i < (long)M * K; i++) A[i] = (float)((i * 37) % 101) * 0.01f - 0.5f;
    for (long i = 0; i < (long)N * K; i++) B[i] = (float)((i * 53) % 97) * 0.01f - 0.5f;
    for (long i = 0; i < (long)M * N; i++) C[i] = R[i] = 0.25f;
    bd_sgemm(0, tB, M, N, K, 1.5f, A, K, B, tB ? K : N, 1.0f, C, N);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M, N, K, 1.5f, A, K, B, tB ? K : N, 1.0f,
                R, N);
    double worst = 0.0; /* the blocks may take other kernels than the whole (OpenBLAS picks by size) */
    for (long i = 0; i < (long)M * N; i++) worst = fmax(worst, fabs(C[i] - R[i]) / fmax(1.0, fabs(R[i])));
    int ok = worst < 1e-5;
    free(A); free(B); free(C); free(R);
    return ok;
}

static void *pool_hammer(void *arg) {
    long ok = 1;
    for (int r = 0; r < 40 && ok; r++) ok = pool_round(1 + (r * 97) % 4999) && gemm_round(200, 96, 64, r & 1);
    (void)arg;
    return (void *)ok;
}

static void test_pool(void **state) {
    (void)state;
    printf("pool: %d threads\n", bd_pool_threads());
    assert_true(bd_pool_threads() >= 1 && bd_pool_threads() <= bd_nthreads());
    const int ns[] = {1, 2, 3, 7, 64, 4999};
    for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) assert_true(pool_round(ns[k]));
    static int nest[300];
    bd_parallel_for(30, nested_range, nest);
    for (int i = 0; i < 300; i++) assert_int_equal(nest[i], 1);
    /* by rows (M > N) and by columns (N > M), with tails, both transposes of B */
    assert_true(gemm_round(1000, 64, 48, 1));
    assert_true(gemm_round(37, 900, 40, 0));
    assert_true(gemm_round(4, 384, 512, 1));
    /* two threads at once: one has the pool, the other runs its loops alone; both right */
    pthread_t a, b;
    void *ra, *rb;
    assert_int_equal(pthread_create(&a, NULL, pool_hammer, NULL), 0);
    assert_int_equal(pthread_create(&b, NULL, pool_hammer, NULL), 0);
    pthread_join(a, &ra);
    pthread_join(b, &rb);
    assert_true(ra && rb);
#ifndef __SANITIZE_THREAD__ /* TSan refuses threads started in the child of a threaded process */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(pool_round(4999) && gemm_round(300, 64, 32, 1) ? 0 : 1);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expf),          cmocka_unit_test(test_gelu),
        cmocka_unit_test(test_softmax),       cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_keep_mask),     cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_builds_agree),  cmocka_unit_test(test_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
