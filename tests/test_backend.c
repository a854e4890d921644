/* test_backend.c: the backend table (src/backend.h) op by op, the CUDA backend
 * (kernels/backend_cuda.cu over the kernels of kernels/ and the simulated cuBLAS, running
 * in the SIMT simulator, tests/simt/) against the CPU reference (src/backend_cpu.c),
 * forward and backward, on the same random inputs uploaded to each backend's memory with
 * be->alloc / be->upload and read back with be->download. Shapes include non-multiples
 * of 32 and 1-sized dimensions. Then the whole model (eval logits of tests/ref/tiny_bert
 * and its f16/bf16/sharded copies against the CPU and transformers; a training-mode
 * forward + backward with LoRA and DoRA adapters and dropout on), the error paths (out
 * of device memory from a 1 TiB request, which the simulated 16 GiB device refuses
 * without any BD_SIMT_MEMORY_LIMIT; a kernel wrapper's refusal; a foreign pointer freed:
 * the first error kept, every op after it skipped) and the live/peak byte counts.
 *
 * Every comparison prints its measured error; the summary at the end lists the worst
 * per op. The tolerances (CUDA result a against the CPU result b):
 *   BITS    bit for bit (a memcmp per element: NaN, -0.0 against +0.0, any differing bit
 *           fails): what kernels/README.md claims for the embeddings, the losses'
 *           backwards, the DoRA pieces, the vector ops, the orthogonality row steps,
 *           the optimizers, the dropout masks and the bias gradient
 *   ELEM    |a - b| <= tol * max(1, |b|) per element (elementwise kernels and double
 *           sums summed in another order: activations, dropout, axpy/scale, the
 *           cross-entropy probs, ||W0_j||^2, W W^T - I)
 *   MAXREL  max |a - b| <= tol * max |b| over the tensor (the matrix products: the same
 *           sums in another order; and ops with float block reductions: LayerNorm, the
 *           attention softmax)
 * GEMM-based ops are also checked against a double-precision product written here, so a
 * shared mistake of both backends (a wrong leading dimension) would show. A NULL gradient
 * ("op.dX=NULL") must leave its buffer bit for bit as it was.
 *
 * Measured in the simulator (worst over every shape; the summary prints them again):
 *   gemm (4 transposes, padded ld, beta 0 over NaN, alpha 0, M/N/K = 0) 0 (the simulated
 *     cuBLAS runs OpenBLAS too), each against double 3.2e-7; TF32 2.7e-4 (tol 5e-3);
 *   linear_fwd, linear_bwd dinp/dw 2.2e-7 (tol 1e-5), db bit for bit;
 *   LayerNorm out/mean/rstd/dinp/dg/db 1.5e-7 (tol 2e-5);
 *   attention out/probs/probs_d/dq/dk/dv 1.6e-7 (tol 2e-5), masks identical;
 *   gram_minus_identity 3.6e-7 (ELEM 1e-6); sumsq 5.9e-14 (tol 1e-12);
 *   activations, tanh, dropout, axpy, scale, xent probs and losses, mse, ||W0_j||^2: 0;
 *   the model's eval logits 3.4e-7 (tol 1e-5) and against transformers 1.9e-5 on both
 *   backends (tol 1e-4); a training step's loss 1.5e-7, logits 3.3e-7, dir.g 5.9e-7,
 *   mag.g 5.0e-7, the worst single adapter tensor 1.7e-6 of its own max (tol 1e-5). */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "backend.h"
#include "bilevel.h"
#include "dataset.h"
#include "encode.h"
#include "eval.h"
#include "model.h"
#include "rng.h"
#include "tiny.h"
#include "tokenizer.h"
#include "trainable.h"

#define REF "tests/ref/"

/* Under ThreadSanitizer the simulator is ~100x slower: there the model's eval runs one
 * batch of tiny_bert (not the pair input and the f16, bf16 and sharded copies, which test
 * the loaders) and the training step DoRA only; every op keeps all its cases. */
#if defined(__SANITIZE_THREAD__)
#define BD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BD_TSAN 1
#endif
#endif


/* The tolerances (see the top of the file; measured values in the summary). */
#define TOL_GEMM 1e-5   /* MAXREL: gemm, linear, attention products */
#define TOL_LN 2e-5     /* MAXREL: LayerNorm forward/backward (float block sums vs double) */
#define TOL_ATTN 2e-5   /* MAXREL: attention forward/backward (softmax, GEMMs) */
#define TOL_ELEM 1e-6   /* ELEM: activations, tanh, dropout, axpy, scale, xent probs */
#define TOL_NORM2 1e-7  /* ELEM: dora_init_norms (double sums, another order) */
#define TOL_LOSS 1e-6   /* relative: xent / mse mean loss */
#define TOL_SUMSQ 1e-12 /* relative: sumsq (double on both sides) */
#define TOL_MODEL 1e-5  /* MAXREL: whole-model logits and gradients, CUDA against CPU */
#define TOL_REF 1e-4    /* test_model.c's: logits against transformers, |d| / max(|ref|, 1e-2) */

static bd_backend *CPU, *CU;

enum { BITS, ELEM, MAXREL };
static const char *const mode_name[] = {"bits", "elem", "maxrel"};

/* ---- the summary: worst measured error per op ---- */

typedef struct op_stat { const char *op; int mode; double tol, worst; long checks; } op_stat;
static op_stat stats[128];
static int n_stats;

static void record(const char *op, int mode, double tol, double err) {
    for (int i = 0; i < n_stats; i++)
        if (!strcmp(stats[i].op, op) && stats[i].mode == mode && stats[i].tol == tol) {
            if (!(err <= stats[i].worst)) stats[i].worst = err;
            stats[i].checks++;
            return;
        }
    if (n_stats < (int)(sizeof stats / sizeof stats[0])) stats[n_stats++] = (op_stat){op, mode, tol, err, 1};
}

/* ---- memory on both backends ---- */

static void *xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    assert_non_null(p);
    return p;
}

static void ok(bd_backend *be) {
    bd_err e = {{0}};
    if (bd_be_check(be, &e)) fail_msg("%s backend failed: %s", be->name, e.msg);
}

/* One buffer of the same bytes in each backend's memory: c on the CPU, g on CUDA. */
typedef struct pair { void *c, *g; size_t bytes; } pair;

static pair put(const void *host, size_t bytes) {
    pair p = {bd_be_alloc(CPU, bytes, "a test buffer"), bd_be_alloc(CU, bytes, "a test buffer"), bytes};
    ok(CU);
    assert_non_null(p.c);
    assert_non_null(p.g);
    if (host) {
        CPU->upload(CPU, p.c, host, bytes);
        CU->upload(CU, p.g, host, bytes);
    } else {
        CPU->zero(CPU, p.c, bytes);
        CU->zero(CU, p.g, bytes);
    }
    ok(CU);
    return p;
}
static pair putf(const float *host, size_t n) { return put(host, n * sizeof(float)); }
static void drop(pair *p) {
    bd_be_free(CPU, p->c);
    bd_be_free(CU, p->g);
    ok(CU);
    p->c = p->g = NULL;
}
#define FC(p) ((float *)(p).c)
#define FG(p) ((float *)(p).g)
#define IC(p) ((int32_t *)(p).c)
#define IG(p) ((int32_t *)(p).g)
#define UC(p) ((uint8_t *)(p).c)
#define UG(p) ((uint8_t *)(p).g)

/* A host copy of bytes of be's memory at src (free it). */
static void *get(bd_backend *be, const void *src, size_t bytes) {
    void *h = xmalloc(bytes);
    be->download(be, h, src, bytes);
    ok(be);
    return h;
}

/* ---- random inputs ---- */

static float *randn(size_t n, uint64_t seed, float scale) {
    bd_rng r;
    bd_rng_seed(&r, seed);
    float *v = xmalloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) v[i] = scale * bd_rng_normal(&r);
    return v;
}
static float *nans(size_t n) {
    float *v = xmalloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) v[i] = NAN;
    return v;
}
/* |randn| + lo: norms, denominators */
static float *positive(size_t n, uint64_t seed, float lo) {
    float *v = randn(n, seed, 1.0f);
    for (size_t i = 0; i < n; i++) v[i] = fabsf(v[i]) + lo;
    return v;
}
/* magnitudes: |randn| + 0.3, an exact zero at every seventh entry from 1 */
static float *magnitudes(size_t n, uint64_t seed) {
    float *v = positive(n, seed, 0.3f);
    for (size_t j = 1; j < n; j += 7) v[j] = 0.0f;
    return v;
}

/* ---- comparisons ---- */

/* The error of a (CUDA) against b (CPU) by mode; fails above tol. */
static double compare(const char *op, const char *what, const float *a, const float *b, size_t n, int mode,
                      double tol) {
    double worst = 0.0, bmax = 0.0;
    size_t at = 0, differ = 0, first = 0;
    for (size_t i = 0; i < n; i++) bmax = fmax(bmax, fabs((double)b[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (mode == ELEM) d /= fmax(1.0, fabs((double)b[i]));
        else if (mode == MAXREL) d /= bmax > 0 ? bmax : 1.0;
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            if (!differ) first = i;
            differ++;
            if (isnan(a[i]) && isnan(b[i])) continue;  /* both NaN: only BITS cares */
            if (!(d <= worst)) { worst = d; at = i; } /* one NaN counts as worst */
        }
    }
    printf("  %-16s %-44s n=%-6zu %-6s err %-9.3g (tol %.0e) %zu differ\n", op, what, n, mode_name[mode], worst, tol,
           differ);
    record(op, mode, tol, worst);
    if (mode == BITS && differ)
        fail_msg("%s %s: element %zu: cuda %.9g, cpu %.9g (%zu elements differ)", op, what, first, a[first], b[first],
                 differ);
    if (!(worst <= tol))
        fail_msg("%s %s: element %zu: cuda %.9g, cpu %.9g (err %.3g > %.0e)", op, what, at, a[at], b[at], worst, tol);
    return worst;
}

/* The n floats of pair p (CUDA's against the CPU's). */
static double cmp(const char *op, const char *what, pair p, size_t n, int mode, double tol) {
    float *a = get(CU, p.g, n * sizeof(float)), *b = get(CPU, p.c, n * sizeof(float));
    double err = compare(op, what, a, b, n, mode, tol);
    free(a);
    free(b);
    return err;
}

/* The floats of pair p on both backends against a double reference ref: MAXREL. */
static void cmp_ref(const char *op, const char *what, pair p, const double *ref, size_t n, double tol) {
    float *r = xmalloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) r[i] = (float)ref[i];
    for (int k = 0; k < 2; k++) {
        bd_backend *be = k ? CU : CPU;
        float *a = get(be, k ? p.g : p.c, n * sizeof(float));
        char w[128];
        snprintf(w, sizeof w, "%s: %s vs double", what, be->name);
        compare(op, w, a, r, n, MAXREL, tol);
        free(a);
    }
    free(r);
}

static void same_bytes(const char *op, const char *what, pair p, size_t bytes) {
    uint8_t *a = get(CU, p.g, bytes), *b = get(CPU, p.c, bytes);
    size_t differ = 0;
    for (size_t i = 0; i < bytes; i++) differ += a[i] != b[i];
    printf("  %-16s %-44s n=%-6zu bytes  %zu differ\n", op, what, bytes, differ);
    record(op, BITS, 0, (double)differ);
    if (differ) fail_msg("%s %s: %zu of %zu bytes differ", op, what, differ, bytes);
    free(a);
    free(b);
}

/* ---- gemm ---- */

/* out[M,N] = alpha op(A) op(B) + beta C in double (C not read when beta == 0). */
static void gemm_ref(double *out, int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, const float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                double a = tA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = tB ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
            }
            out[(size_t)i * N + j] = alpha * s + (beta != 0.0f ? beta * (double)C[(size_t)i * ldc + j] : 0.0);
        }
}

/* A matrix of rows x cols with row stride ld: random values, NaN in the padding (so a
 * product that reads it shows NaN). */
static float *padded(int rows, int cols, int ld, uint64_t seed) {
    float *m = randn((size_t)rows * ld, seed, 1.0f);
    for (int r = 0; r < rows; r++)
        for (int c = cols; c < ld; c++) m[(size_t)r * ld + c] = NAN;
    return m;
}

static void gemm_case(int tA, int tB, int M, int N, int K, int pad, float alpha, float beta, int nan_c, uint64_t seed) {
    const int ar = tA ? K : M, ac = tA ? M : K, br = tB ? N : K, bc = tB ? K : N;
    const int lda = ac + pad, ldb = bc + pad + 1, ldc = N + pad + 2;
    float *A = padded(ar, ac, lda, seed), *B = padded(br, bc, ldb, seed + 1);
    /* C: random, its padding distinct random values (must survive bit for bit); or all NaN */
    float *C0 = nan_c ? nans((size_t)M * ldc) : randn((size_t)M * ldc, seed + 2, 1.0f);
    double *ref = xmalloc(sizeof(double) * (size_t)M * N);
    gemm_ref(ref, tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc);
    pair a = putf(A, (size_t)ar * lda), b = putf(B, (size_t)br * ldb), c = putf(C0, (size_t)M * ldc);
    CPU->gemm(CPU, tA, tB, M, N, K, alpha, FC(a), lda, FC(b), ldb, beta, FC(c), ldc);
    CU->gemm(CU, tA, tB, M, N, K, alpha, FG(a), lda, FG(b), ldb, beta, FG(c), ldc);
    ok(CU);
    float *gc = get(CU, c.g, sizeof(float) * (size_t)M * ldc), *cc = get(CPU, c.c, sizeof(float) * (size_t)M * ldc);
    /* the M x N block, packed, and the padding of C untouched on both */
    float *ga = xmalloc(sizeof(float) * (size_t)M * N), *ca = xmalloc(sizeof(float) * (size_t)M * N);
    for (int i = 0; i < M; i++) {
        memcpy(ga + (size_t)i * N, gc + (size_t)i * ldc, sizeof(float) * (size_t)N);
        memcpy(ca + (size_t)i * N, cc + (size_t)i * ldc, sizeof(float) * (size_t)N);
        size_t padn = sizeof(float) * (size_t)(ldc - N);
        if (memcmp(gc + (size_t)i * ldc + N, C0 + (size_t)i * ldc + N, padn))
            fail_msg("gemm tA %d tB %d %dx%dx%d: cuda wrote C's padding in row %d", tA, tB, M, N, K, i);
        if (memcmp(cc + (size_t)i * ldc + N, C0 + (size_t)i * ldc + N, padn))
            fail_msg("gemm tA %d tB %d %dx%dx%d: cpu wrote C's padding in row %d", tA, tB, M, N, K, i);
    }
    char what[128];
    snprintf(what, sizeof what, "tA%d tB%d %dx%dx%d ld+%d a%g b%g%s", tA, tB, M, N, K, pad, alpha, beta,
             nan_c ? " NaN C" : "");
    compare("gemm", what, ga, ca, (size_t)M * N, MAXREL, TOL_GEMM);
    float *r = xmalloc(sizeof(float) * (size_t)M * N);
    for (size_t i = 0; i < (size_t)M * N; i++) r[i] = (float)ref[i];
    compare("gemm vs double", "  cuda", ga, r, (size_t)M * N, MAXREL, TOL_GEMM);
    compare("gemm vs double", "  cpu", ca, r, (size_t)M * N, MAXREL, TOL_GEMM);
    free(r); free(ga); free(ca); free(gc); free(cc); free(ref); free(A); free(B); free(C0);
    drop(&a); drop(&b); drop(&c);
}

/* tf32 = 1 reaches cuBLAS: the product of inputs rounded to 10 mantissa bits, so no longer
 * fp32-close, but within TF32's rounding (2^-11 per input) of the CPU's. */
static void tf32_case(void) {
    bd_err e = {{0}};
    bd_backend *tf = bd_backend_cuda(1, &e);
    if (!tf) fail_msg("%s", e.msg);
    assert_non_null(strstr(tf->device, "TF32"));
    const int M = 20, N = 30, K = 50;
    float *A = randn((size_t)M * K, 1, 1.0f), *B = randn((size_t)K * N, 2, 1.0f), *C = xmalloc(sizeof(float) * M * N),
          *G = xmalloc(sizeof(float) * M * N);
    float *dA = bd_be_allocf(tf, (size_t)M * K, "A"), *dB = bd_be_allocf(tf, (size_t)K * N, "B"),
          *dC = bd_be_allocf(tf, (size_t)M * N, "C");
    ok(tf);
    tf->upload(tf, dA, A, sizeof(float) * M * K);
    tf->upload(tf, dB, B, sizeof(float) * K * N);
    tf->gemm(tf, 0, 0, M, N, K, 1.0f, dA, K, dB, N, 0.0f, dC, N);
    tf->download(tf, G, dC, sizeof(float) * M * N);
    ok(tf);
    CPU->gemm(CPU, 0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
    double err = compare("gemm tf32", "20x30x50 vs the cpu's fp32", G, C, (size_t)M * N, MAXREL, 5e-3);
    assert_true(err > 1e-6); /* the inputs were rounded */
    bd_be_free(tf, dA); bd_be_free(tf, dB); bd_be_free(tf, dC);
    bd_backend_close(tf);
    free(A); free(B); free(C); free(G);
}

static void test_gemm(void **state) {
    (void)state;
    tf32_case();
    static const int shapes[][4] = {{1, 1, 1, 0}, {5, 7, 3, 2}, {33, 17, 40, 3}, {64, 31, 1, 1},
                                    {1, 45, 33, 0}, {16, 1, 70, 5}, {37, 50, 29, 0},
                                    {3, 0, 4, 1},   {0, 5, 4, 1},   {4, 6, 0, 1}}; /* N, M, K = 0 */
    uint64_t seed = 100;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int tA = 0; tA < 2; tA++)
            for (int tB = 0; tB < 2; tB++) {
                const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], pad = shapes[s][3];
                gemm_case(tA, tB, M, N, K, pad, 1.0f, 0.0f, 1, seed += 3);    /* beta 0 over NaN */
                gemm_case(tA, tB, M, N, K, pad, 0.7f, -1.3f, 0, seed += 3);   /* alpha, beta */
                if (s == 2) gemm_case(tA, tB, M, N, K, pad, 0.0f, 0.5f, 0, seed += 3); /* C = beta C */
                if (s == 3) gemm_case(tA, tB, M, N, K, pad, -2.0f, 1.0f, 0, seed += 3);
            }
}

/* ---- linear ---- */

static void linear_case(int N, int IN, int OUT, uint64_t seed) {
    float *x = randn((size_t)N * IN, seed, 1.0f), *w = randn((size_t)OUT * IN, seed + 1, 0.3f);
    float *bias = randn((size_t)OUT, seed + 2, 1.0f), *nan_out = nans((size_t)N * OUT);
    pair px = putf(x, (size_t)N * IN), pw = putf(w, (size_t)OUT * IN), pb = putf(bias, (size_t)OUT);
    char what[96];
    for (int with_b = 0; with_b < 2; with_b++) {
        pair out = putf(nan_out, (size_t)N * OUT); /* written, not read */
        CPU->linear_fwd(CPU, FC(out), FC(px), FC(pw), with_b ? FC(pb) : NULL, N, IN, OUT);
        CU->linear_fwd(CU, FG(out), FG(px), FG(pw), with_b ? FG(pb) : NULL, N, IN, OUT);
        ok(CU);
        snprintf(what, sizeof what, "N%d IN%d OUT%d %s", N, IN, OUT, with_b ? "bias" : "no bias");
        cmp("linear_fwd", what, out, (size_t)N * OUT, MAXREL, TOL_GEMM);
        double *ref = xmalloc(sizeof(double) * (size_t)N * OUT);
        gemm_ref(ref, 0, 1, N, OUT, IN, 1.0f, x, IN, w, IN, 0.0f, NULL, 0);
        if (with_b)
            for (int n = 0; n < N; n++)
                for (int o = 0; o < OUT; o++) ref[(size_t)n * OUT + o] += bias[o];
        cmp_ref("linear_fwd", what, out, ref, (size_t)N * OUT, TOL_GEMM);
        free(ref);
        drop(&out);
    }
    /* backward: every subset of the three gradients, accumulating onto random values */
    float *dout = randn((size_t)N * OUT, seed + 3, 1.0f);
    float *dx0 = randn((size_t)N * IN, seed + 4, 1.0f), *dw0 = randn((size_t)OUT * IN, seed + 5, 1.0f),
          *db0 = randn((size_t)OUT, seed + 6, 1.0f);
    pair pd = putf(dout, (size_t)N * OUT);
    for (int mask = 0; mask < 8; mask++) {
        pair dx = putf(dx0, (size_t)N * IN), dw = putf(dw0, (size_t)OUT * IN), db = putf(db0, (size_t)OUT);
        const int hx = mask & 1, hw = mask & 2, hb = mask & 4;
        CPU->linear_bwd(CPU, hx ? FC(dx) : NULL, hw ? FC(dw) : NULL, hb ? FC(db) : NULL, FC(pd), FC(px), FC(pw), N, IN,
                        OUT);
        CU->linear_bwd(CU, hx ? FG(dx) : NULL, hw ? FG(dw) : NULL, hb ? FG(db) : NULL, FG(pd), FG(px), FG(pw), N, IN,
                       OUT);
        ok(CU);
        snprintf(what, sizeof what, "N%d IN%d OUT%d grads %s%s%s", N, IN, OUT, hx ? "dinp " : "", hw ? "dw " : "",
                 hb ? "db" : "");
        /* a NULL gradient: its buffer untouched (bit for bit the initial values) */
        cmp(hx ? "linear_bwd.dinp" : "linear_bwd.dinp=NULL", what, dx, (size_t)N * IN, hx ? MAXREL : BITS,
            hx ? TOL_GEMM : 0);
        cmp(hw ? "linear_bwd.dw" : "linear_bwd.dw=NULL", what, dw, (size_t)OUT * IN, hw ? MAXREL : BITS,
            hw ? TOL_GEMM : 0);
        cmp("linear_bwd.db", what, db, (size_t)OUT, BITS, 0);
        if (mask == 7) {
            double *r = xmalloc(sizeof(double) * (size_t)(N > OUT ? N : OUT) * (IN > 1 ? IN : 1));
            gemm_ref(r, 0, 0, N, IN, OUT, 1.0f, dout, OUT, w, IN, 1.0f, dx0, IN);
            cmp_ref("linear_bwd.dinp", what, dx, r, (size_t)N * IN, TOL_GEMM);
            gemm_ref(r, 1, 0, OUT, IN, N, 1.0f, dout, OUT, x, IN, 1.0f, dw0, IN);
            cmp_ref("linear_bwd.dw", what, dw, r, (size_t)OUT * IN, TOL_GEMM);
            free(r);
        }
        /* a NULL gradient's buffer keeps its values on the CUDA side (the CPU's: the BITS above) */
        const pair *bufs[3] = {&dx, &dw, &db};
        const float *init[3] = {dx0, dw0, db0};
        const size_t lens[3] = {(size_t)N * IN, (size_t)OUT * IN, (size_t)OUT};
        for (int k = 0; k < 3; k++) {
            if (mask & (1 << k)) continue;
            float *h = get(CU, bufs[k]->g, sizeof(float) * lens[k]);
            assert_memory_equal(h, init[k], sizeof(float) * lens[k]);
            free(h);
        }
        drop(&dx); drop(&dw); drop(&db);
    }
    drop(&pd); drop(&px); drop(&pw); drop(&pb);
    free(x); free(w); free(bias); free(nan_out); free(dout); free(dx0); free(dw0); free(db0);
}

static void test_linear(void **state) {
    (void)state;
    linear_case(1, 1, 1, 10);
    linear_case(7, 33, 5, 20);
    linear_case(16, 32, 100, 30);
    linear_case(13, 45, 31, 40);
    linear_case(1, 64, 1, 50);
}

/* ---- LayerNorm ---- */

static void layernorm_case(int N, int C, float eps, uint64_t seed) {
    float *x = randn((size_t)N * C, seed, 2.0f), *g = randn((size_t)C, seed + 1, 1.0f),
          *b = randn((size_t)C, seed + 2, 1.0f);
    for (size_t i = 0; i < (size_t)N * C; i++) x[i] += 0.5f; /* a mean away from 0 */
    float *no = nans((size_t)N * C);
    pair px = putf(x, (size_t)N * C), pg = putf(g, (size_t)C), pb = putf(b, (size_t)C);
    pair out = putf(no, (size_t)N * C), mean = putf(no, (size_t)N), rstd = putf(no, (size_t)N);
    CPU->layernorm_fwd(CPU, FC(out), FC(mean), FC(rstd), FC(px), FC(pg), FC(pb), N, C, eps);
    CU->layernorm_fwd(CU, FG(out), FG(mean), FG(rstd), FG(px), FG(pg), FG(pb), N, C, eps);
    ok(CU);
    char what[96];
    snprintf(what, sizeof what, "N%d C%d eps %g", N, C, eps);
    cmp("layernorm_fwd", what, out, (size_t)N * C, MAXREL, TOL_LN);
    cmp("layernorm_fwd.mean", what, mean, (size_t)N, MAXREL, TOL_LN);
    cmp("layernorm_fwd.rstd", what, rstd, (size_t)N, MAXREL, TOL_LN);
    /* backward from each backend's own mean/rstd, accumulating */
    float *dout = randn((size_t)N * C, seed + 3, 1.0f), *dx0 = randn((size_t)N * C, seed + 4, 1.0f),
          *dg0 = randn((size_t)C, seed + 5, 1.0f), *db0 = randn((size_t)C, seed + 6, 1.0f);
    pair pd = putf(dout, (size_t)N * C), dx = putf(dx0, (size_t)N * C), dg = putf(dg0, (size_t)C),
         db = putf(db0, (size_t)C);
    CPU->layernorm_bwd(CPU, FC(dx), FC(dg), FC(db), FC(pd), FC(px), FC(pg), FC(mean), FC(rstd), N, C);
    CU->layernorm_bwd(CU, FG(dx), FG(dg), FG(db), FG(pd), FG(px), FG(pg), FG(mean), FG(rstd), N, C);
    ok(CU);
    cmp("layernorm_bwd.dinp", what, dx, (size_t)N * C, MAXREL, TOL_LN);
    cmp("layernorm_bwd.dg", what, dg, (size_t)C, MAXREL, TOL_LN);
    cmp("layernorm_bwd.db", what, db, (size_t)C, MAXREL, TOL_LN);
    drop(&px); drop(&pg); drop(&pb); drop(&out); drop(&mean); drop(&rstd); drop(&pd); drop(&dx); drop(&dg); drop(&db);
    free(x); free(g); free(b); free(no); free(dout); free(dx0); free(dg0); free(db0);
}

static void test_layernorm(void **state) {
    (void)state;
    layernorm_case(1, 1, 1e-5f, 1);
    layernorm_case(3, 1, 1e-12f, 2);
    layernorm_case(1, 32, 1e-12f, 3);
    layernorm_case(7, 33, 1e-12f, 4);
    layernorm_case(16, 100, 1e-5f, 5);
    layernorm_case(5, 37, 1e-12f, 6);
}

/* ---- activations, tanh ---- */

static void act_case(int act, long n, uint64_t seed) {
    float *x = randn((size_t)n, seed, 3.0f);
    for (long i = 0; i < n; i += 9) x[i] = 0.0f; /* ReLU's kink */
    float *dout = randn((size_t)n, seed + 1, 1.0f), *d0 = randn((size_t)n, seed + 2, 1.0f), *no = nans((size_t)n);
    pair px = putf(x, (size_t)n), out = putf(no, (size_t)n), pd = putf(dout, (size_t)n), dx = putf(d0, (size_t)n);
    static const char *const names[] = {"gelu", "gelu_tanh", "relu", "tanh"};
    char what[64];
    snprintf(what, sizeof what, "%s n%ld", names[act], n);
    if (act < 3) {
        CPU->act_fwd(CPU, FC(out), FC(px), n, (bd_act)act);
        CU->act_fwd(CU, FG(out), FG(px), n, (bd_act)act);
        ok(CU);
        cmp("act_fwd", what, out, (size_t)n, ELEM, TOL_ELEM);
        CPU->act_bwd(CPU, FC(dx), FC(px), FC(pd), n, (bd_act)act);
        CU->act_bwd(CU, FG(dx), FG(px), FG(pd), n, (bd_act)act);
        ok(CU);
        cmp("act_bwd", what, dx, (size_t)n, ELEM, TOL_ELEM);
    } else {
        CPU->tanh_fwd(CPU, FC(out), FC(px), n);
        CU->tanh_fwd(CU, FG(out), FG(px), n);
        ok(CU);
        cmp("tanh_fwd", what, out, (size_t)n, ELEM, TOL_ELEM);
        /* the backward from the CPU's forward output on both (it takes the output) */
        float *y = get(CPU, out.c, sizeof(float) * (size_t)n);
        pair py = putf(y, (size_t)n);
        CPU->tanh_bwd(CPU, FC(dx), FC(py), FC(pd), n);
        CU->tanh_bwd(CU, FG(dx), FG(py), FG(pd), n);
        ok(CU);
        cmp("tanh_bwd", what, dx, (size_t)n, ELEM, TOL_ELEM);
        drop(&py);
        free(y);
    }
    drop(&px); drop(&out); drop(&pd); drop(&dx);
    free(x); free(dout); free(d0); free(no);
}

static void test_act(void **state) {
    (void)state;
    static const long ns[] = {1, 31, 1000, 4099};
    for (int act = 0; act < 4; act++)
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) act_case(act, ns[i], 7 * (uint64_t)act + i);
}

/* ---- embeddings ---- */

static void embed_case(int B, int T, int C, int V, int with_types, uint64_t seed) {
    const size_t BT = (size_t)B * T;
    bd_rng r;
    bd_rng_seed(&r, seed);
    int32_t *ids = xmalloc(sizeof(int32_t) * BT), *tids = xmalloc(sizeof(int32_t) * BT);
    for (size_t i = 0; i < BT; i++) {
        ids[i] = bd_rng_below(&r, 3) == 0 ? 0 : (int32_t)bd_rng_below(&r, (uint64_t)V); /* the pad id repeats */
        tids[i] = (int32_t)bd_rng_below(&r, 2);
    }
    float *word = randn((size_t)V * C, seed + 1, 1.0f), *pos = randn((size_t)T * C, seed + 2, 1.0f),
          *type = randn((size_t)2 * C, seed + 3, 1.0f), *no = nans(BT * C);
    pair pi = put(ids, sizeof(int32_t) * BT), pt = put(tids, sizeof(int32_t) * BT);
    pair pw = putf(word, (size_t)V * C), pp = putf(pos, (size_t)T * C), pty = putf(type, (size_t)2 * C),
         out = putf(no, BT * C);
    char what[96];
    snprintf(what, sizeof what, "B%d T%d C%d V%d %s", B, T, C, V, with_types ? "types" : "type_ids NULL");
    CPU->embed_fwd(CPU, FC(out), IC(pi), with_types ? IC(pt) : NULL, FC(pw), FC(pp), FC(pty), B, T, C);
    CU->embed_fwd(CU, FG(out), IG(pi), with_types ? IG(pt) : NULL, FG(pw), FG(pp), FG(pty), B, T, C);
    ok(CU);
    cmp("embed_fwd", what, out, BT * C, BITS, 0);
    /* backward: accumulating; every subset of the three gradients */
    float *dout = randn(BT * C, seed + 4, 1.0f), *dw0 = randn((size_t)V * C, seed + 5, 1.0f),
          *dp0 = randn((size_t)T * C, seed + 6, 1.0f), *dt0 = randn((size_t)2 * C, seed + 7, 1.0f);
    pair pd = putf(dout, BT * C);
    for (int mask = 1; mask < 8; mask++) {
        pair dw = putf(dw0, (size_t)V * C), dp = putf(dp0, (size_t)T * C), dt = putf(dt0, (size_t)2 * C);
        const int hw = mask & 1, hp = mask & 2, ht = mask & 4;
        CPU->embed_bwd(CPU, hw ? FC(dw) : NULL, hp ? FC(dp) : NULL, ht ? FC(dt) : NULL, FC(pd), IC(pi),
                       with_types ? IC(pt) : NULL, B, T, C);
        CU->embed_bwd(CU, hw ? FG(dw) : NULL, hp ? FG(dp) : NULL, ht ? FG(dt) : NULL, FG(pd), IG(pi),
                      with_types ? IG(pt) : NULL, B, T, C);
        ok(CU);
        char w2[128];
        snprintf(w2, sizeof w2, "%s grads %d", what, mask);
        cmp("embed_bwd.dword", w2, dw, (size_t)V * C, BITS, 0);
        cmp("embed_bwd.dpos", w2, dp, (size_t)T * C, BITS, 0);
        cmp("embed_bwd.dtype", w2, dt, (size_t)2 * C, BITS, 0);
        if (mask == 7) {
            /* the pad id's row got every one of its rows (a real scatter-add happened) */
            float *h = get(CU, dw.g, sizeof(float) * C);
            double s = 0;
            for (size_t i = 0; i < BT; i++) if (ids[i] == 0) s += dout[i * C];
            assert_true(fabs(h[0] - (dw0[0] + s)) <= 1e-5 * (1 + fabs(s)));
            free(h);
        }
        drop(&dw); drop(&dp); drop(&dt);
    }
    drop(&pi); drop(&pt); drop(&pw); drop(&pp); drop(&pty); drop(&out); drop(&pd);
    free(ids); free(tids); free(word); free(pos); free(type); free(no); free(dout); free(dw0); free(dp0); free(dt0);
}

/* ESM's pieces: embeddings of words only (no position or type table), rotary positions
 * both ways, rows scaled. The rotation's cosf / sinf are the device's: close, not bit for bit. */
static void esm_ops_case(int B, int T, int NH, int D, int V, uint64_t seed) {
    const int C = NH * D;
    const size_t BT = (size_t)B * T;
    bd_rng r;
    bd_rng_seed(&r, seed);
    int32_t *ids = xmalloc(sizeof(int32_t) * BT);
    for (size_t i = 0; i < BT; i++) ids[i] = (int32_t)bd_rng_below(&r, (uint64_t)V);
    float *word = randn((size_t)V * C, seed + 1, 1.0f), *x = randn(BT * C, seed + 2, 1.0f),
          *sc = randn(BT, seed + 3, 1.0f), *no = nans(BT * C);
    pair pi = put(ids, sizeof(int32_t) * BT), pw = putf(word, (size_t)V * C), out = putf(no, BT * C);
    char what[96];
    snprintf(what, sizeof what, "B%d T%d NH%d D%d", B, T, NH, D);
    CPU->embed_fwd(CPU, FC(out), IC(pi), NULL, FC(pw), NULL, NULL, B, T, C);
    CU->embed_fwd(CU, FG(out), IG(pi), NULL, FG(pw), NULL, NULL, B, T, C);
    ok(CU);
    cmp("embed_fwd (words only)", what, out, BT * C, BITS, 0);
    float *host = get(CPU, out.c, sizeof(float) * BT * C);
    for (size_t i = 0; i < BT; i++) assert_memory_equal(host + i * C, word + (size_t)ids[i] * C, sizeof(float) * C);
    free(host);
    for (int sign = 1; sign >= -1; sign -= 2) {
        pair px = putf(x, BT * C);
        CPU->rotary(CPU, FC(px), B, T, NH, D, sign);
        CU->rotary(CU, FG(px), B, T, NH, D, sign);
        ok(CU);
        cmp(sign > 0 ? "rotary" : "rotary (backward)", what, px, BT * C, MAXREL, 1e-5);
        drop(&px);
    }
    pair px = putf(x, BT * C), ps = putf(sc, BT);
    CPU->rows_scale(CPU, FC(px), FC(ps), (int)BT, C);
    CU->rows_scale(CU, FG(px), FG(ps), (int)BT, C);
    ok(CU);
    cmp("rows_scale", what, px, BT * C, BITS, 0);
    drop(&px); drop(&ps); drop(&pi); drop(&pw); drop(&out);
    free(ids); free(word); free(x); free(sc); free(no);
}

static void test_esm_ops(void **state) {
    (void)state;
    esm_ops_case(1, 1, 1, 2, 3, 1);
    esm_ops_case(2, 9, 3, 8, 17, 2);
    esm_ops_case(3, 40, 4, 16, 33, 3);
}

static void test_embed(void **state) {
    (void)state;
    embed_case(1, 1, 1, 1, 1, 1);
    embed_case(3, 7, 33, 11, 1, 2);
    embed_case(3, 7, 33, 11, 0, 3);
    embed_case(4, 16, 32, 5, 1, 4);
    embed_case(2, 13, 100, 300, 1, 5);
}

/* ---- attention ---- */

/* lens[b]: real tokens of sequence b (the rest padded; 0: a fully padded sequence) */
static void attention_case(int B, int T, int NH, int HD, const int *lens, float p, uint64_t seed) {
    const int C = NH * HD;
    const size_t BT = (size_t)B * T, nP = (size_t)B * NH * T * T;
    float *q = randn(BT * C, seed, 1.0f), *k = randn(BT * C, seed + 1, 1.0f), *v = randn(BT * C, seed + 2, 1.0f);
    float *mask = xmalloc(sizeof(float) * BT), *no = nans(nP > BT * C ? nP : BT * C);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) mask[(size_t)b * T + t] = t < lens[b] ? 1.0f : 0.0f;
    pair pq = putf(q, BT * C), pk = putf(k, BT * C), pv = putf(v, BT * C), pm = putf(mask, BT);
    pair out = putf(no, BT * C), probs = putf(no, nP), probs_d = putf(no, nP), keep = put(NULL, nP);
    char what[96];
    snprintf(what, sizeof what, "B%d T%d NH%d HD%d p%g", B, T, NH, HD, p);
    const int drop_on = p > 0;
    if (drop_on) {
        CPU->dropout_mask(CPU, UC(keep), nP, seed * 31 + 7, p);
        CU->dropout_mask(CU, UG(keep), nP, seed * 31 + 7, p);
        ok(CU);
        same_bytes("dropout_mask", what, keep, nP);
    }
    CPU->attention_fwd(CPU, FC(out), FC(probs), drop_on ? FC(probs_d) : NULL, FC(pq), FC(pk), FC(pv), FC(pm),
                       drop_on ? UC(keep) : NULL, p, B, T, NH, HD);
    CU->attention_fwd(CU, FG(out), FG(probs), drop_on ? FG(probs_d) : NULL, FG(pq), FG(pk), FG(pv), FG(pm),
                      drop_on ? UG(keep) : NULL, p, B, T, NH, HD);
    ok(CU);
    cmp("attention_fwd", what, out, BT * C, MAXREL, TOL_ATTN);
    cmp("attention_fwd.probs", what, probs, nP, MAXREL, TOL_ATTN);
    if (drop_on) cmp("attention_fwd.probs_d", what, probs_d, nP, MAXREL, TOL_ATTN);
    /* the padded keys get no weight, each row sums to 1 (uniform where all keys are padding) */
    float *P = get(CU, probs.g, sizeof(float) * nP);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < T; i++) {
                const float *row = P + (((size_t)b * NH + h) * T + i) * T;
                double s = 0;
                for (int j = 0; j < T; j++) {
                    s += row[j];
                    if (lens[b] > 0 && j >= lens[b]) assert_true(row[j] == 0.0f);
                    if (lens[b] == 0) assert_true(fabsf(row[j] - 1.0f / T) < 1e-6f);
                }
                assert_true(fabs(s - 1.0) < 1e-5);
            }
    free(P);
    /* backward, accumulating; all three gradients, then dv only, then dq and dk only */
    float *dout = randn(BT * C, seed + 3, 1.0f), *g0 = randn(BT * C, seed + 4, 1.0f);
    pair pd = putf(dout, BT * C);
    const size_t sc = CPU->attn_scratch_floats(CPU, B, T, NH), sg = CU->attn_scratch_floats(CU, B, T, NH);
    assert_true(sg >= nP);
    float *scr_c = bd_be_allocf(CPU, sc, "scratch"), *scr_g = bd_be_allocf(CU, sg, "scratch");
    ok(CU);
    assert_non_null(scr_c);
    assert_non_null(scr_g);
    for (int which = 0; which < 3; which++) {
        pair dq = putf(g0, BT * C), dk = putf(g0, BT * C), dv = putf(g0, BT * C);
        const int hq = which != 1, hk = which != 1, hv = which != 2;
        CPU->attention_bwd(CPU, hq ? FC(dq) : NULL, hk ? FC(dk) : NULL, hv ? FC(dv) : NULL, FC(pd), FC(probs),
                           drop_on ? FC(probs_d) : NULL, drop_on ? UC(keep) : NULL, p, FC(pq), FC(pk), FC(pv), scr_c, B,
                           T, NH, HD);
        CU->attention_bwd(CU, hq ? FG(dq) : NULL, hk ? FG(dk) : NULL, hv ? FG(dv) : NULL, FG(pd), FG(probs),
                          drop_on ? FG(probs_d) : NULL, drop_on ? UG(keep) : NULL, p, FG(pq), FG(pk), FG(pv), scr_g, B,
                          T, NH, HD);
        ok(CU);
        char w2[128];
        snprintf(w2, sizeof w2, "%s grads %s%s%s", what, hq ? "dq " : "", hk ? "dk " : "", hv ? "dv" : "");
        cmp(hq ? "attention_bwd.dq" : "attention_bwd.dq=NULL", w2, dq, BT * C, hq ? MAXREL : BITS, hq ? TOL_ATTN : 0);
        cmp(hk ? "attention_bwd.dk" : "attention_bwd.dk=NULL", w2, dk, BT * C, hk ? MAXREL : BITS, hk ? TOL_ATTN : 0);
        cmp(hv ? "attention_bwd.dv" : "attention_bwd.dv=NULL", w2, dv, BT * C, hv ? MAXREL : BITS, hv ? TOL_ATTN : 0);
        if (!hq) {
            float *h = get(CU, dq.g, sizeof(float) * BT * C);
            assert_memory_equal(h, g0, sizeof(float) * BT * C);
            free(h);
        }
        drop(&dq); drop(&dk); drop(&dv);
    }
    bd_be_free(CPU, scr_c);
    bd_be_free(CU, scr_g);
    drop(&pq); drop(&pk); drop(&pv); drop(&pm); drop(&out); drop(&probs); drop(&probs_d); drop(&keep); drop(&pd);
    free(q); free(k); free(v); free(mask); free(no); free(dout); free(g0);
}

static void test_attention(void **state) {
    (void)state;
    static const int l1[] = {1}, l2[] = {7, 4}, l3[] = {16, 9, 1}, l4[] = {13, 0, 5, 12};
    attention_case(1, 1, 1, 1, l1, 0.0f, 1);
    attention_case(2, 7, 2, 5, l2, 0.0f, 2);
    attention_case(3, 16, 4, 8, l3, 0.0f, 3);
    attention_case(4, 13, 3, 11, l4, 0.0f, 4);
    attention_case(1, 1, 1, 1, l1, 0.1f, 5);
    attention_case(2, 7, 2, 5, l2, 0.5f, 6);
    attention_case(3, 16, 4, 8, l3, 0.1f, 7);
    attention_case(4, 13, 3, 11, l4, 0.25f, 8);
}

/* ---- dropout ---- */

static void dropout_case(size_t n, float p, uint64_t seed) {
    pair keep = put(NULL, n);
    CPU->dropout_mask(CPU, UC(keep), n, seed, p);
    CU->dropout_mask(CU, UG(keep), n, seed, p);
    ok(CU);
    char what[64];
    snprintf(what, sizeof what, "n%zu p%g seed %llu", n, p, (unsigned long long)seed);
    same_bytes("dropout_mask", what, keep, n);
    uint8_t *kh = get(CU, keep.g, n);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(kh[i] == 0 || kh[i] == 1);
        kept += kh[i];
    }
    if (p == 0.0f) assert_int_equal(kept, n);
    if (n >= 10000) assert_true(fabs((double)kept / n - (1.0 - p)) < 0.02);
    /* another seed, another mask */
    if (n >= 1000) {
        pair k2 = put(NULL, n);
        CU->dropout_mask(CU, UG(k2), n, seed + 1, p);
        uint8_t *k2h = get(CU, k2.g, n);
        if (p > 0) assert_true(memcmp(kh, k2h, n) != 0);
        free(k2h);
        drop(&k2);
    }
    float *x = randn(n, seed + 1, 1.0f), *d0 = randn(n, seed + 2, 1.0f), *no = nans(n);
    pair px = putf(x, n), out = putf(no, n), dx = putf(d0, n), inplace = putf(x, n);
    CPU->dropout_fwd(CPU, FC(out), FC(px), UC(keep), p, (long)n);
    CU->dropout_fwd(CU, FG(out), FG(px), UG(keep), p, (long)n);
    CPU->dropout_fwd(CPU, FC(inplace), FC(inplace), UC(keep), p, (long)n);
    CU->dropout_fwd(CU, FG(inplace), FG(inplace), UG(keep), p, (long)n);
    ok(CU);
    cmp("dropout_fwd", what, out, n, ELEM, TOL_ELEM);
    cmp("dropout_fwd", "  in place", inplace, n, ELEM, TOL_ELEM);
    CPU->dropout_bwd(CPU, FC(dx), FC(px), UC(keep), p, (long)n);
    CU->dropout_bwd(CU, FG(dx), FG(px), UG(keep), p, (long)n);
    CU->dropout_bwd(CU, NULL, FG(px), UG(keep), p, (long)n); /* skipped */
    ok(CU);
    cmp("dropout_bwd", what, dx, n, ELEM, TOL_ELEM);
    drop(&keep); drop(&px); drop(&out); drop(&dx); drop(&inplace);
    free(kh); free(x); free(d0); free(no);
}

static void test_dropout(void **state) {
    (void)state;
    dropout_case(1, 0.1f, 1);
    dropout_case(100, 0.0f, 2);
    dropout_case(1000, 0.1f, 3);
    dropout_case(4097, 0.5f, 4);
    dropout_case(70001, 0.1f, 5); /* the CPU's parallel path (n >= 65536) */
    dropout_case(20000, 0.9f, 0xDEADBEEFCAFEull);
}

/* ---- losses ---- */

static void loss_rel(const char *op, const char *what, double a, double b) {
    double d = fabs(a - b) / fmax(fabs(b), 1e-30);
    if (a == b) d = 0;
    printf("  %-16s %-44s cuda %.9g cpu %.9g rel %.3g (tol %.0e)\n", op, what, a, b, d, TOL_LOSS);
    record(op, MAXREL, TOL_LOSS, d);
    if (!(d <= TOL_LOSS)) fail_msg("%s %s: cuda %.9g, cpu %.9g", op, what, a, b);
}

static void xent_case(int B, int L, uint64_t seed) {
    float *z = randn((size_t)B * L, seed, 3.0f), *no = nans((size_t)B * L), *d0 = randn((size_t)B * L, seed + 1, 1.0f);
    int32_t *lab = xmalloc(sizeof(int32_t) * B);
    bd_rng r;
    bd_rng_seed(&r, seed);
    for (int b = 0; b < B; b++) lab[b] = (int32_t)bd_rng_below(&r, (uint64_t)L);
    pair pz = putf(z, (size_t)B * L), probs = putf(no, (size_t)B * L), pl = put(lab, sizeof(int32_t) * B),
         dz = putf(d0, (size_t)B * L);
    char what[64];
    snprintf(what, sizeof what, "B%d L%d", B, L);
    float lc = CPU->xent_fwd(CPU, FC(probs), FC(pz), IC(pl), B, L);
    float lg = CU->xent_fwd(CU, FG(probs), FG(pz), IG(pl), B, L);
    ok(CU);
    assert_true(isfinite(lc) && lc >= 0);
    loss_rel("xent_fwd.loss", what, lg, lc);
    cmp("xent_fwd.probs", what, probs, (size_t)B * L, ELEM, TOL_ELEM);
    CPU->xent_bwd(CPU, FC(dz), FC(probs), IC(pl), B, L, 0.5f);
    CU->xent_bwd(CU, FG(dz), FG(probs), IG(pl), B, L, 0.5f);
    CU->xent_bwd(CU, NULL, FG(probs), IG(pl), B, L, 0.5f);
    ok(CU);
    /* from each backend's own probs: bit for bit only if the probs are; compare by ELEM, then
     * from the same probs bit for bit */
    cmp("xent_bwd", what, dz, (size_t)B * L, ELEM, TOL_ELEM);
    float *pc = get(CPU, probs.c, sizeof(float) * (size_t)B * L);
    pair ps = putf(pc, (size_t)B * L), dz2 = putf(d0, (size_t)B * L);
    CPU->xent_bwd(CPU, FC(dz2), FC(ps), IC(pl), B, L, 0.5f);
    CU->xent_bwd(CU, FG(dz2), FG(ps), IG(pl), B, L, 0.5f);
    ok(CU);
    cmp("xent_bwd", "  from the same probs", dz2, (size_t)B * L, BITS, 0);
    drop(&pz); drop(&probs); drop(&pl); drop(&dz); drop(&ps); drop(&dz2);
    free(z); free(no); free(d0); free(lab); free(pc);
}

static void mse_case(int B, uint64_t seed) {
    float *pr = randn((size_t)B, seed, 1.0f), *t = randn((size_t)B, seed + 1, 1.0f),
          *d0 = randn((size_t)B, seed + 2, 1.0f);
    pair pp = putf(pr, (size_t)B), pt = putf(t, (size_t)B), dp = putf(d0, (size_t)B);
    char what[64];
    snprintf(what, sizeof what, "B%d", B);
    float lc = CPU->mse_fwd(CPU, FC(pp), FC(pt), B), lg = CU->mse_fwd(CU, FG(pp), FG(pt), B);
    ok(CU);
    assert_true(lc > 0);
    loss_rel("mse_fwd", what, lg, lc);
    CPU->mse_bwd(CPU, FC(dp), FC(pp), FC(pt), B, 0.7f);
    CU->mse_bwd(CU, FG(dp), FG(pp), FG(pt), B, 0.7f);
    CU->mse_bwd(CU, NULL, FG(pp), FG(pt), B, 0.7f);
    ok(CU);
    cmp("mse_bwd", what, dp, (size_t)B, BITS, 0);
    drop(&pp); drop(&pt); drop(&dp);
    free(pr); free(t); free(d0);
}

static void test_losses(void **state) {
    (void)state;
    xent_case(1, 1, 1);
    xent_case(4, 3, 2);
    xent_case(3, 70, 3);
    xent_case(33, 2, 4);
    xent_case(2, 1000, 5);
    mse_case(1, 6);
    mse_case(4, 7);
    mse_case(37, 8);
}

/* ---- vectors ---- */

static void vec_case(size_t n, uint64_t seed) {
    float *x = randn(n, seed, 1.0f), *y = randn(n, seed + 1, 1.0f), *z = randn(n, seed + 2, 1.0f);
    char what[64];
    pair px = putf(x, n);
    static const float as[] = {1.0f, -0.37f, 0.0f};
    for (int i = 0; i < 3; i++) {
        pair py = putf(y, n);
        CPU->axpy(CPU, FC(py), FC(px), n, as[i]);
        CU->axpy(CU, FG(py), FG(px), n, as[i]);
        ok(CU);
        snprintf(what, sizeof what, "n%zu a%g", n, as[i]);
        cmp("axpy", what, py, n, ELEM, TOL_ELEM);
        drop(&py);
    }
    {
        pair py = putf(y, n);
        CPU->scale(CPU, FC(py), n, -1.7f);
        CU->scale(CU, FG(py), n, -1.7f);
        ok(CU);
        snprintf(what, sizeof what, "n%zu s-1.7", n);
        cmp("scale", what, py, n, ELEM, TOL_ELEM);
        drop(&py);
    }
    {
        double sc = CPU->sumsq(CPU, FC(px), n), sg = CU->sumsq(CU, FG(px), n);
        ok(CU);
        double d = sc == sg ? 0 : fabs(sg - sc) / sc, want = 0;
        for (size_t i = 0; i < n; i++) want += (double)x[i] * x[i];
        printf("  %-16s n%-43zu cuda %.17g cpu %.17g rel %.3g (tol %.0e)\n", "sumsq", n, sg, sc, d, TOL_SUMSQ);
        record("sumsq", MAXREL, TOL_SUMSQ, d);
        assert_true(d <= TOL_SUMSQ);
        assert_true(fabs(sc - want) <= 1e-12 * want);
    }
    {
        pair py = putf(y, n), out = putf(z, n), ox = putf(x, n), oy = putf(y, n);
        CPU->add_scaled(CPU, FC(out), FC(px), 0.3f, FC(py), n);
        CU->add_scaled(CU, FG(out), FG(px), 0.3f, FG(py), n);
        CPU->add_scaled(CPU, FC(ox), FC(ox), -2.5f, FC(py), n); /* out = x */
        CU->add_scaled(CU, FG(ox), FG(ox), -2.5f, FG(py), n);
        CPU->add_scaled(CPU, FC(oy), FC(px), 1e-3f, FC(oy), n); /* out = y */
        CU->add_scaled(CU, FG(oy), FG(px), 1e-3f, FG(oy), n);
        ok(CU);
        snprintf(what, sizeof what, "n%zu", n);
        cmp("add_scaled", what, out, n, BITS, 0);
        cmp("add_scaled", "  out = x", ox, n, BITS, 0);
        cmp("add_scaled", "  out = y", oy, n, BITS, 0);
        pair h = putf(z, n);
        CPU->hyper_combine(CPU, FC(h), FC(px), FC(py), FC(ox), 1.0 / 0.02, n);
        CU->hyper_combine(CU, FG(h), FG(px), FG(py), FG(ox), 1.0 / 0.02, n);
        ok(CU);
        cmp("hyper_combine", what, h, n, BITS, 0);
        drop(&py); drop(&out); drop(&ox); drop(&oy); drop(&h);
    }
    drop(&px);
    free(x); free(y); free(z);
}

static void rows_case(int N, int C, uint64_t seed) {
    float *y = randn((size_t)N * C, seed, 1.0f), *b = randn((size_t)C, seed + 1, 1.0f);
    pair pb = putf(b, (size_t)C);
    static const float alphas[] = {1.0f, -1.0f, 0.25f};
    char what[64];
    for (int i = 0; i < 3; i++) {
        pair py = putf(y, (size_t)N * C);
        CPU->add_rows(CPU, FC(py), FC(pb), N, C, alphas[i]);
        CU->add_rows(CU, FG(py), FG(pb), N, C, alphas[i]);
        ok(CU);
        snprintf(what, sizeof what, "N%d C%d alpha %g", N, C, alphas[i]);
        cmp("add_rows", what, py, (size_t)N * C, BITS, 0);
        drop(&py);
    }
    /* copy_rows: strided both sides; the gaps of dst untouched */
    static const size_t lds[][2] = {{0, 0}, {3, 1}, {0, 5}, {7, 0}};
    for (int i = 0; i < 4; i++) {
        const size_t sld = (size_t)C + lds[i][0], dld = (size_t)C + lds[i][1];
        float *src = randn((size_t)N * sld, seed + 2 + i, 1.0f), *dst = randn((size_t)N * dld, seed + 9 + i, 1.0f);
        pair ps = putf(src, (size_t)N * sld), pd = putf(dst, (size_t)N * dld);
        CPU->copy_rows(CPU, FC(pd), dld, FC(ps), sld, N, C);
        CU->copy_rows(CU, FG(pd), dld, FG(ps), sld, N, C);
        ok(CU);
        snprintf(what, sizeof what, "rows %d cols %d src_ld %zu dst_ld %zu", N, C, sld, dld);
        cmp("copy_rows", what, pd, (size_t)N * dld, BITS, 0);
        float *h = get(CU, pd.g, sizeof(float) * (size_t)N * dld);
        for (int r = 0; r < N; r++) {
            assert_memory_equal(h + r * dld, src + r * sld, sizeof(float) * (size_t)C);
            if (dld > (size_t)C) assert_memory_equal(h + r * dld + C, dst + r * dld + C, sizeof(float) * (dld - C));
        }
        free(h); free(src); free(dst);
        drop(&ps); drop(&pd);
    }
    drop(&pb);
    free(y); free(b);
}

static void test_vectors(void **state) {
    (void)state;
    vec_case(1, 1);
    vec_case(33, 2);
    vec_case(5000, 3);
    vec_case(100003, 4);
    rows_case(1, 1, 5);
    rows_case(7, 33, 6);
    rows_case(16, 100, 7);
}

/* ---- DoRA ---- */

static void dora_case(int N, int in, int out, int r, uint64_t seed) {
    char what[96];
    snprintf(what, sizeof what, "N%d in%d out%d r%d", N, in, out, r);
    const size_t No = (size_t)N * out;
    float *w0 = randn((size_t)out * in, seed, 0.3f), *no = nans(No > (size_t)out * r ? No : (size_t)out * r);
    pair pw0 = putf(w0, (size_t)out * in), sq = putf(no, (size_t)out);
    /* ||W0_j||^2 */
    CPU->dora_init_norms(CPU, FC(sq), FC(pw0), out, in);
    CU->dora_init_norms(CU, FG(sq), FG(pw0), out, in);
    ok(CU);
    cmp("dora_init_norms", what, sq, (size_t)out, ELEM, TOL_NORM2);
    /* row norms from random B, w0a, aat (some rows clamp at 0: n2 < 0) */
    float *B = randn((size_t)out * r, seed + 1, 0.5f), *w0a = randn((size_t)out * r, seed + 2, 1.0f),
          *aat = randn((size_t)r * r, seed + 3, 1.0f), *sqh = get(CPU, sq.c, sizeof(float) * out);
    pair pB = putf(B, (size_t)out * r), pwa = putf(w0a, (size_t)out * r), paat = putf(aat, (size_t)r * r),
         psq = putf(sqh, (size_t)out), nrm = putf(no, (size_t)out);
    CPU->dora_row_norms(CPU, FC(nrm), FC(psq), FC(pB), FC(pwa), FC(paat), 0.7f, out, r);
    CU->dora_row_norms(CU, FG(nrm), FG(psq), FG(pB), FG(pwa), FG(paat), 0.7f, out, r);
    ok(CU);
    cmp("dora_row_norms", what, nrm, (size_t)out, BITS, 0);
    /* scale: y = c z + b, b NULL, z == y in place, and y += c z - lin */
    float *m = magnitudes((size_t)out, seed + 4), *n = positive((size_t)out, seed + 5, 0.5f);
    float *z = randn(No, seed + 6, 1.0f), *y0 = randn(No, seed + 7, 1.0f), *bias = randn((size_t)out, seed + 8, 1.0f),
          *lin = randn(No, seed + 9, 1.0f);
    pair pm = putf(m, (size_t)out), pn = putf(n, (size_t)out), pz = putf(z, No), pb = putf(bias, (size_t)out),
         pl = putf(lin, No);
    for (int form = 0; form < 4; form++) {
        pair y = putf(form == 2 ? z : form == 3 ? y0 : no, No);
        const float *zc = form == 2 ? FC(y) : FC(pz), *zg = form == 2 ? FG(y) : FG(pz);
        CPU->dora_scale(CPU, FC(y), zc, FC(pm), FC(pn), form == 0 ? FC(pb) : NULL, form == 3 ? FC(pl) : NULL, N, out);
        CU->dora_scale(CU, FG(y), zg, FG(pm), FG(pn), form == 0 ? FG(pb) : NULL, form == 3 ? FG(pl) : NULL, N, out);
        ok(CU);
        static const char *const forms[] = {"y = cz + b", "y = cz", "y = cy (in place)", "y += cz - lin"};
        char w2[128];
        snprintf(w2, sizeof w2, "%s %s", what, forms[form]);
        cmp("dora_scale", w2, y, No, BITS, 0);
        drop(&y);
    }
    /* z_recover: y from the forward's formula; m with exact zeros; b NULL or not */
    float *x = randn((size_t)N * in, seed + 10, 1.0f), *A = randn((size_t)r * in, seed + 11, 0.3f);
    pair px = putf(x, (size_t)N * in), pA = putf(A, (size_t)r * in);
    for (int with_b = 0; with_b < 2; with_b++) {
        pair y = putf(no, No), zr = putf(no, No);
        CPU->dora_scale(CPU, FC(y), FC(pz), FC(pm), FC(pn), with_b ? FC(pb) : NULL, NULL, N, out);
        float *yh = get(CPU, y.c, sizeof(float) * No);
        CU->upload(CU, y.g, yh, sizeof(float) * No);
        CPU->dora_z_recover(CPU, FC(zr), FC(y), with_b ? FC(pb) : NULL, FC(pm), FC(pn), FC(px), FC(pw0), FC(pA), FC(pB),
                            0.7f, N, in, out, r);
        CU->dora_z_recover(CU, FG(zr), FG(y), with_b ? FG(pb) : NULL, FG(pm), FG(pn), FG(px), FG(pw0), FG(pA), FG(pB),
                           0.7f, N, in, out, r);
        ok(CU);
        char w2[128];
        snprintf(w2, sizeof w2, "%s %s", what, with_b ? "b" : "b NULL");
        cmp("dora_z_recover", w2, zr, No, BITS, 0);
        /* where m_j != 0 it is z again (up to the division's rounding) */
        float *zh = get(CU, zr.g, sizeof(float) * No);
        for (int t = 0; t < N; t++)
            for (int j = 0; j < out; j++)
                if (m[j] != 0.0f)
                    assert_true(fabsf(zh[(size_t)t * out + j] - z[(size_t)t * out + j]) <=
                                1e-4f * (1.0f + fabsf(z[(size_t)t * out + j]) + fabsf(bias[j]) * n[j] / m[j]));
        free(zh); free(yh);
        drop(&y); drop(&zr);
    }
    /* bwd_mag: z aliasing dl or not; dm NULL or accumulating */
    float *dy = randn(No, seed + 12, 1.0f), *dm0 = randn((size_t)out, seed + 13, 1.0f);
    pair pdy = putf(dy, No);
    for (int alias = 0; alias < 2; alias++)
        for (int with_dm = 0; with_dm < 2; with_dm++) {
            pair G = putf(no, (size_t)out), dl = putf(alias ? z : no, No), dm = putf(dm0, (size_t)out);
            CPU->dora_bwd_mag(CPU, FC(G), FC(dl), with_dm ? FC(dm) : NULL, FC(pdy), alias ? FC(dl) : FC(pz), FC(pm),
                              FC(pn), N, out);
            CU->dora_bwd_mag(CU, FG(G), FG(dl), with_dm ? FG(dm) : NULL, FG(pdy), alias ? FG(dl) : FG(pz), FG(pm),
                             FG(pn), N, out);
            ok(CU);
            char w2[128];
            snprintf(w2, sizeof w2, "%s%s%s", what, alias ? " z = dl" : "", with_dm ? " dm" : " dm NULL");
            cmp("dora_bwd_mag.G", w2, G, (size_t)out, BITS, 0);
            cmp("dora_bwd_mag.dl", w2, dl, No, BITS, 0);
            cmp("dora_bwd_mag.dm", w2, dm, (size_t)out, BITS, 0);
            drop(&G); drop(&dl); drop(&dm);
        }
    /* u_rows: accumulate 0 over NaN, and 1 */
    float *Gv = randn((size_t)out, seed + 14, 1.0f), *src = randn((size_t)out * r, seed + 15, 1.0f),
          *d0 = randn((size_t)out * r, seed + 16, 1.0f);
    pair pG = putf(Gv, (size_t)out), ps = putf(src, (size_t)out * r);
    for (int acc = 0; acc < 2; acc++) {
        pair d = putf(acc ? d0 : no, (size_t)out * r);
        CPU->dora_u_rows(CPU, FC(d), FC(ps), FC(pG), FC(pm), FC(pn), -0.35f, acc, out, r);
        CU->dora_u_rows(CU, FG(d), FG(ps), FG(pG), FG(pm), FG(pn), -0.35f, acc, out, r);
        ok(CU);
        char w2[128];
        snprintf(w2, sizeof w2, "%s accumulate %d", what, acc);
        cmp("dora_u_rows", w2, d, (size_t)out * r, BITS, 0);
        drop(&d);
    }
    drop(&pw0); drop(&sq); drop(&pB); drop(&pwa); drop(&paat); drop(&psq); drop(&nrm); drop(&pm); drop(&pn); drop(&pz);
    drop(&pb); drop(&pl); drop(&px); drop(&pA); drop(&pdy); drop(&pG); drop(&ps);
    free(w0); free(no); free(B); free(w0a); free(aat); free(sqh); free(m); free(n); free(z); free(y0); free(bias);
    free(lin); free(x); free(A); free(dy); free(dm0); free(Gv); free(src); free(d0);
}

static void test_dora(void **state) {
    (void)state;
    dora_case(1, 1, 1, 1, 1);
    dora_case(5, 33, 17, 4, 2);
    dora_case(16, 32, 100, 8, 3);
    dora_case(13, 45, 37, 3, 4);
    dora_case(0, 9, 5, 2, 5); /* N = 0: G zeroed, dm += 0 */
}

/* ---- orthogonality ---- */

static void orth_case(int rows, int cols, uint64_t seed) {
    char what[64];
    snprintf(what, sizeof what, "rows %d cols %d", rows, cols);
    float *W = randn((size_t)rows * cols, seed, 0.5f), *no = nans((size_t)rows * (rows > cols ? rows : cols));
    if (rows > 2) memset(W + (size_t)cols, 0, sizeof(float) * (size_t)cols); /* a zero row */
    pair pW = putf(W, (size_t)rows * cols), norms = putf(no, (size_t)rows);
    CPU->rows_normalize(CPU, FC(pW), FC(norms), rows, cols);
    CU->rows_normalize(CU, FG(pW), FG(norms), rows, cols);
    ok(CU);
    cmp("rows_normalize.W", what, pW, (size_t)rows * cols, BITS, 0);
    cmp("rows_normalize.norms", what, norms, (size_t)rows, BITS, 0);
    /* the Gram matrix of the CPU's normalised rows on both */
    float *U = get(CPU, pW.c, sizeof(float) * (size_t)rows * cols);
    pair pU = putf(U, (size_t)rows * cols), G = putf(no, (size_t)rows * rows);
    CPU->gram_minus_identity(CPU, FC(G), FC(pU), rows, cols);
    CU->gram_minus_identity(CU, FG(G), FG(pU), rows, cols);
    ok(CU);
    cmp("gram_minus_identity", what, G, (size_t)rows * rows, ELEM, TOL_ELEM);
    float *nh = get(CPU, norms.c, sizeof(float) * rows);
    pair pn = putf(nh, (size_t)rows);
    float *dW = randn((size_t)rows * cols, seed + 1, 1.0f);
    pair pd = putf(dW, (size_t)rows * cols);
    CPU->rows_project(CPU, FC(pd), FC(pU), FC(pn), rows, cols);
    CU->rows_project(CU, FG(pd), FG(pU), FG(pn), rows, cols);
    ok(CU);
    cmp("rows_project", what, pd, (size_t)rows * cols, BITS, 0);
    if (rows > 2) { /* the zero row's gradient is 0 */
        float *h = get(CU, pd.g, sizeof(float) * (size_t)rows * cols);
        for (int i = 0; i < cols; i++) assert_true(h[cols + i] == 0.0f);
        free(h);
    }
    drop(&pW); drop(&norms); drop(&pU); drop(&G); drop(&pn); drop(&pd);
    free(W); free(no); free(U); free(nh); free(dW);
}

static void test_orth(void **state) {
    (void)state;
    orth_case(1, 1, 1);
    orth_case(1, 40, 2);
    orth_case(4, 33, 3);
    orth_case(8, 100, 4);
    orth_case(37, 32, 5);
}

/* ---- optimizers ---- */

static void optim_case(size_t n, uint64_t seed) {
    char what[64];
    float *w = randn(n, seed, 1.0f), *zero = calloc(n ? n : 1, sizeof(float));
    assert_non_null(zero);
    pair pw = putf(w, n), m1 = putf(zero, n), m2 = putf(zero, n), sw = putf(w, n);
    for (long t = 1; t <= 5; t++) {
        float *g = randn(n, seed + 10 * (uint64_t)t, t == 3 ? 100.0f : 1.0f);
        pair pg = putf(g, n);
        CPU->adamw_step(CPU, FC(pw), FC(pg), FC(m1), FC(m2), n, t, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f);
        CU->adamw_step(CU, FG(pw), FG(pg), FG(m1), FG(m2), n, t, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f);
        CPU->sgd_step(CPU, FC(sw), FC(pg), n, 0.05f, t % 2 ? 0.0f : 0.1f);
        CU->sgd_step(CU, FG(sw), FG(pg), n, 0.05f, t % 2 ? 0.0f : 0.1f);
        ok(CU);
        snprintf(what, sizeof what, "n%zu step %ld", n, t);
        cmp("adamw_step.w", what, pw, n, BITS, 0);
        cmp("adamw_step.m1", what, m1, n, BITS, 0);
        cmp("adamw_step.m2", what, m2, n, BITS, 0);
        cmp("sgd_step", what, sw, n, BITS, 0);
        drop(&pg);
        free(g);
    }
    /* the weights moved */
    float *h = get(CU, pw.g, sizeof(float) * n);
    assert_true(memcmp(h, w, sizeof(float) * n) != 0);
    free(h);
    drop(&pw); drop(&m1); drop(&m2); drop(&sw);
    free(w); free(zero);
}

static void test_optim(void **state) {
    (void)state;
    optim_case(1, 1);
    optim_case(33, 2);
    optim_case(5000, 3);
}

/* ---- the whole model ---- */

/* Eval logits of model_dir on tiny.csv on backend be (bd_evaluate: batches of 8, max_length 64). */
static float *eval_logits(bd_backend *be, const char *model_dir, const char *pair_col, int *rows_out) {
    bd_err e = {{0}};
    bd_csv_opts co = {"text", pair_col, "label", BD_TASK_CLASSIFICATION};
    bd_dataset ds;
    if (bd_dataset_load(&ds, REF "tiny.csv", &co, &e)) fail_msg("%s", e.msg);
    bd_bert m;
    if (bd_bert_load(&m, model_dir, 3, 0, &e)) fail_msg("%s", e.msg);
    if (bd_bert_to_backend(&m, be, &e)) fail_msg("%s", e.msg);
    bd_labels L = {3, m.cfg.id2label};
    if (bd_dataset_map_labels(&ds, &L, &e)) fail_msg("%s", e.msg);
    bd_tokenizer *tok = bd_tok_load(model_dir, &e);
    if (!tok) fail_msg("%s", e.msg);
    bd_encoded enc;
    if (bd_encode_dataset(&enc, &ds, tok, 64, &e)) fail_msg("%s", e.msg);
    int n = ds.n_rows;
#ifdef BD_TSAN
    if (n > 8) n = 8;
#endif
    int *rows = xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) rows[i] = i;
    bd_eval_result r;
    if (bd_evaluate(&m, &enc, rows, n, ds.label, NULL, BD_TASK_CLASSIFICATION, 8, bd_tok_pad_id(tok), &r, &e))
        fail_msg("%s: %s", be->name, e.msg);
    ok(be);
    float *out = xmalloc(sizeof(float) * (size_t)n * 3);
    memcpy(out, r.logits, sizeof(float) * (size_t)n * 3);
    *rows_out = n;
    free(rows);
    bd_eval_result_free(&r);
    bd_encoded_free(&enc);
    bd_tok_free(tok);
    bd_bert_free(&m);
    bd_dataset_free(&ds);
    return out;
}

static void logits_case(const char *model_dir, const char *expected, const char *pair_col) {
    int nc, ng;
    size_t live0 = CU->live_bytes;
    float *lc = eval_logits(CPU, model_dir, pair_col, &nc), *lg = eval_logits(CU, model_dir, pair_col, &ng);
    assert_int_equal(nc, ng);
    assert_int_equal(CU->live_bytes, live0); /* the model's and the eval's device memory given back */
    float *want = xmalloc(sizeof(float) * (size_t)nc * 3);
    assert_int_equal(tiny_read_logits(expected, want, nc, 3), nc);
    char what[128];
    snprintf(what, sizeof what, "%s%s: %d rows", model_dir + strlen(REF), pair_col ? " pair" : "", nc);
    compare("model eval", what, lg, lc, (size_t)nc * 3, MAXREL, TOL_MODEL);
    double ec = tiny_max_rel_err(lc, want, (size_t)nc * 3, 1e-2), eg = tiny_max_rel_err(lg, want, (size_t)nc * 3, 1e-2);
    printf("  %-16s %-44s vs transformers: cpu %.3g, cuda %.3g (tol %.0e)\n", "model eval", what, ec, eg, TOL_REF);
    record("model vs transformers", MAXREL, TOL_REF, fmax(ec, eg));
    assert_true(ec < TOL_REF);
    assert_true(eg < TOL_REF);
    free(lc); free(lg); free(want);
}

static void test_model_eval(void **state) {
    (void)state;
    logits_case(REF "tiny_bert", REF "tiny_logits.csv", NULL);
#ifdef BD_TSAN
    printf("  (ThreadSanitizer build: one batch; the pair, f16, bf16 and sharded cases skipped)\n");
    return;
#endif
    logits_case(REF "tiny_bert", REF "tiny_logits_pair.csv", "text_b");
    logits_case(REF "tiny_bert_f16", REF "tiny_logits_f16.csv", NULL);
    logits_case(REF "tiny_bert_bf16", REF "tiny_logits_bf16.csv", NULL);
    logits_case(REF "tiny_bert_sharded", REF "tiny_logits.csv", NULL);
}

/* One training set-up on a backend: the tiny model with dropout on, adapters on every
 * module with B (and m) moved away from their init by the same host values on both. */
typedef struct trainfx {
    bd_bert m;
    bd_trainable t;
    bd_bert_acts a;
    bd_bilevel bl;
} trainfx;

static void train_setup(trainfx *f, bd_backend *be, bd_method method) {
    bd_err e = {{0}};
    memset(f, 0, sizeof *f);
    if (bd_bert_load(&f->m, REF "tiny_bert", 3, 0, &e)) fail_msg("%s", e.msg);
    f->m.cfg.hidden_dropout = 0.1f;
    f->m.cfg.attn_dropout = 0.1f;
    f->m.cfg.classifier_dropout = 0.2f;
    if (bd_bert_to_backend(&f->m, be, &e)) fail_msg("%s", e.msg);
    bd_adapter_opts o = {method, 2, 4.0f, 0, 0.15f, (1u << BD_N_MODS) - 1, 1};
    if (bd_trainable_init(&f->t, &f->m, &o, 3, &e)) fail_msg("%s", e.msg);
    /* the same perturbation of B and m, made on the host and uploaded */
    float *dir = get(be, f->t.dir.w, sizeof(float) * f->t.dir.n);
    float *mag = f->t.mag.n ? get(be, f->t.mag.w, sizeof(float) * f->t.mag.n) : NULL;
    bd_rng r;
    bd_rng_seed(&r, 11);
    for (int i = 0; i < f->t.n_ad; i++) {
        bd_adapted_linear *al = &f->t.ads[i];
        float *Bh = dir + (al->B - f->t.dir.w);
        for (int j = 0; j < al->out * al->r; j++) Bh[j] = 0.2f * bd_rng_normal(&r);
        if (al->m) {
            float *mh = mag + (al->m - f->t.mag.w);
            for (int j = 0; j < al->out; j++) mh[j] *= 1.0f + 0.1f * bd_rng_normal(&r);
        }
    }
    be->upload(be, f->t.dir.w, dir, sizeof(float) * f->t.dir.n);
    if (mag) be->upload(be, f->t.mag.w, mag, sizeof(float) * f->t.mag.n);
    free(dir);
    free(mag);
    if (bd_bert_acts_alloc(&f->a, &f->m, 4, 16, 1, &e) || bd_bilevel_init(&f->bl, &f->m, &f->t, &f->a, 4, &e))
        fail_msg("%s", e.msg);
    ok(be);
}

static void train_teardown(trainfx *f) {
    bd_bilevel_free(&f->bl);
    bd_bert_acts_free(&f->a);
    bd_trainable_free(&f->t, &f->m);
    bd_bert_free(&f->m);
}

static void train_case(bd_method method, int grads) {
    static const int rows[4] = {1, 4, 9, 17};
    int32_t ids[4 * 16], tids[4 * 16], lab[4];
    float mask[4 * 16];
    int T = tiny_batch(rows, 4, 1, 16, ids, tids, mask, lab);
    assert_true(T > 1 && T <= 16);
    int padded = 0;
    for (int i = 0; i < 4 * T; i++) padded += mask[i] == 0.0f;
    assert_true(padded > 0); /* some rows are padded */
    bd_batch bt = {ids, tids, mask, lab, NULL, 4, T, BD_TASK_CLASSIFICATION, 1234};
    trainfx fc, fg;
    train_setup(&fc, CPU, method);
    train_setup(&fg, CU, method);
    assert_int_equal(fc.t.dir.n, fg.t.dir.n);
    assert_int_equal(fc.t.mag.n, fg.t.mag.n);
    bd_err e = {{0}};
    double lc, lg;
    if (bd_batch_loss(&fc.bl, &bt, grads, &lc, &e)) fail_msg("cpu: %s", e.msg);
    if (bd_batch_loss(&fg.bl, &bt, grads, &lg, &e)) fail_msg("cuda: %s", e.msg);
    ok(CU);
    char what[96];
    snprintf(what, sizeof what, "%s B4 T%d dropout on%s", method == BD_METHOD_LORA ? "LoRA" : "DoRA", T,
             grads == BD_GRADS_MAG ? " dL/dM only" : "");
    double d = fabs(lg - lc) / fabs(lc);
    printf("  %-16s %-44s loss cuda %.9g cpu %.9g rel %.3g\n", "model train", what, lg, lc, d);
    record("model train.loss", MAXREL, TOL_MODEL, d);
    assert_true(d <= TOL_MODEL);
    /* dropout is on: another mask seed, another loss */
    bd_batch bt2 = bt;
    bt2.mask_seed = 4321;
    double l2;
    if (bd_batch_loss(&fc.bl, &bt2, BD_GRADS_NONE, &l2, &e)) fail_msg("cpu: %s", e.msg);
    assert_true(l2 != lc);
    if (bd_batch_loss(&fc.bl, &bt, grads, &l2, &e)) fail_msg("cpu: %s", e.msg);
    assert_true(l2 == lc);
    /* logits */
    float *zc = get(CPU, fc.a.logits, sizeof(float) * 12), *zg = get(CU, fg.a.logits, sizeof(float) * 12);
    compare("model train.logits", "  logits", zg, zc, 12, MAXREL, TOL_MODEL);
    free(zc); free(zg);
    /* the gradients, by group, and per adapter tensor */
    float *dc = get(CPU, fc.t.dir.g, sizeof(float) * fc.t.dir.n), *dg = get(CU, fg.t.dir.g, sizeof(float) * fg.t.dir.n);
    double gmax = 0;
    for (size_t i = 0; i < fc.t.dir.n; i++) gmax = fmax(gmax, fabs(dc[i]));
    if (grads == BD_GRADS_ALL) assert_true(gmax > 0);
    else assert_true(gmax == 0); /* dL/dM only: no direction gradient */
    compare("model train.dir.g", what, dg, dc, fc.t.dir.n, MAXREL, TOL_MODEL);
    if (fc.t.mag.n) {
        float *mc = get(CPU, fc.t.mag.g, sizeof(float) * fc.t.mag.n),
              *mg = get(CU, fg.t.mag.g, sizeof(float) * fg.t.mag.n);
        double mmax = 0;
        for (size_t i = 0; i < fc.t.mag.n; i++) mmax = fmax(mmax, fabs(mc[i]));
        assert_true(mmax > 0);
        compare("model train.mag.g", what, mg, mc, fc.t.mag.n, MAXREL, TOL_MODEL);
        free(mc); free(mg);
    }
    if (grads == BD_GRADS_ALL) {
        /* each adapter's A and B against its own scale (a small tensor inside a large group) */
        double worst = 0;
        for (int i = 0; i < fc.t.n_ad; i++) {
            const bd_adapted_linear *al = &fc.t.ads[i];
            const size_t offs[2] = {(size_t)(al->A - fc.t.dir.w), (size_t)(al->B - fc.t.dir.w)};
            const size_t ns[2] = {(size_t)al->r * al->in, (size_t)al->out * al->r};
            for (int k = 0; k < 2; k++) {
                double mx = 0, dd = 0;
                for (size_t j = 0; j < ns[k]; j++) {
                    mx = fmax(mx, fabs(dc[offs[k] + j]));
                    dd = fmax(dd, fabs((double)dg[offs[k] + j] - dc[offs[k] + j]));
                }
                assert_true(mx > 0);
                worst = fmax(worst, dd / mx);
            }
        }
        printf("  %-16s %-44s per adapter tensor: worst %.3g (tol %.0e)\n", "model train", what, worst, TOL_MODEL);
        record("model train.per tensor", MAXREL, TOL_MODEL, worst);
        assert_true(worst <= TOL_MODEL);
    }
    free(dc); free(dg);
    train_teardown(&fc);
    size_t live_before_teardown = CU->live_bytes;
    train_teardown(&fg);
    assert_true(CU->live_bytes < live_before_teardown);
}

static void test_model_train(void **state) {
    (void)state;
    train_case(BD_METHOD_DORA, BD_GRADS_ALL);
#ifndef BD_TSAN
    train_case(BD_METHOD_LORA, BD_GRADS_ALL);
    train_case(BD_METHOD_DORA, BD_GRADS_MAG);
#endif
}

/* ---- errors and memory ---- */

/* A failed backend: the first error kept, every op after it does nothing, allocations
 * return NULL, the host-returning ops NaN. */
static void test_errors(void **state) {
    (void)state;
    bd_err e = {{0}};
    bd_backend *be = bd_backend_cuda(0, &e);
    if (!be) fail_msg("%s", e.msg);
    assert_int_equal(bd_be_check(be, &e), 0);
    const float x0[5] = {1, 2, 3, 4, 5}, other[5] = {9, 9, 9, 9, 9};
    float *x = bd_be_allocf(be, 5, "x"), *y = bd_be_allocf(be, 5, "y");
    int32_t *lab = bd_be_alloc(be, sizeof(int32_t), "labels");
    assert_non_null(x);
    assert_non_null(y);
    assert_non_null(lab);
    be->upload(be, x, x0, sizeof x0);
    be->upload(be, y, x0, sizeof x0);
    be->zero(be, lab, sizeof(int32_t));
    assert_int_equal(bd_be_check(be, &e), 0);
    /* out of device memory: NULL, the message names what, the bytes wanted and free */
    const size_t huge = (size_t)1 << 40;
    size_t live = be->live_bytes;
    void *p = bd_be_alloc(be, huge, "the test's huge buffer");
    assert_null(p);
    assert_int_equal(be->live_bytes, live);
    assert_int_equal(bd_be_check(be, &e), -1);
    printf("  out of memory: %s\n", e.msg);
    char want[128];
    snprintf(want, sizeof want, "out of device memory: the test's huge buffer wanted %zu bytes", huge);
    if (!strstr(e.msg, want)) fail_msg("\"%s\" lacks \"%s\"", e.msg, want);
    const char *fr = strstr(e.msg, " MiB), ");
    assert_non_null(fr);
    unsigned long long free_b = strtoull(fr + 7, NULL, 10);
    assert_true(free_b > 0 && free_b < huge);
    assert_non_null(strstr(e.msg, "bytes"));
    assert_non_null(strstr(e.msg, "free of"));
    const bd_err first = e;
    /* ops after it do nothing: a second failure does not replace the first error */
    assert_null(bd_be_alloc(be, 16, "a small buffer"));
    assert_null(bd_be_alloc(be, huge * 2, "another huge buffer"));
    be->upload(be, x, other, sizeof other);
    be->scale(be, x, 5, 3.0f);
    be->axpy(be, x, y, 5, 1.0f);
    be->zero(be, y, sizeof x0);
    be->copy(be, y, x, sizeof x0);
    be->act_fwd(be, x, y, 5, BD_ACT_RELU);
    be->sgd_step(be, x, y, 5, 0.1f, 0.0f);
    be->gemm(be, 0, 0, 1, 1, 1, 1.0f, x, 1, y, 1, 0.0f, x, 1);
    be->free(be, (void *)other); /* not this backend's: would fail, but the first error stays */
    assert_true(isnan(be->sumsq(be, x, 5)));
    assert_true(isnan(be->mse_fwd(be, x, y, 5)));
    assert_true(isnan(be->xent_fwd(be, y, x, lab, 1, 5)));
    float h[5] = {0};
    be->download(be, h, x, sizeof h);
    assert_true(h[0] == 0.0f); /* download skipped too */
    assert_int_equal(bd_be_check(be, &e), -1);
    assert_string_equal(e.msg, first.msg);
    /* the memory is as it was: clear the flag (a test's look behind the contract) and read */
    be->failed = 0;
    be->download(be, h, x, sizeof h);
    assert_memory_equal(h, x0, sizeof h);
    be->download(be, h, y, sizeof h);
    assert_memory_equal(h, x0, sizeof h);
    assert_int_equal(bd_be_check(be, &e), 0);
    /* a pointer that is not the backend's: named */
    float stray[4];
    be->free(be, stray);
    assert_int_equal(bd_be_check(be, &e), -1);
    printf("  bad free: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "is not a pointer of this backend"));
    be->failed = 0;
    /* a kernel wrapper's refusal (LayerNorm's row over shared memory) fails the backend by
     * name, and a later out of memory does not replace it */
    float *row = bd_be_allocf(be, 13000, "a long row"), *st = bd_be_allocf(be, 2, "mean and rstd");
    assert_non_null(row);
    assert_non_null(st);
    be->layernorm_fwd(be, row, st, st + 1, row, row, row, 1, 13000, 1e-5f);
    assert_int_equal(bd_be_check(be, &e), -1);
    printf("  kernel refusal: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "bd_cu_layernorm_fwd: C = 13000 over 12000"));
    assert_null(bd_be_alloc(be, huge, "the test's huge buffer"));
    assert_int_equal(bd_be_check(be, &e), -1);
    assert_non_null(strstr(e.msg, "bd_cu_layernorm_fwd"));
    be->failed = 0;
    bd_be_free(be, row);
    bd_be_free(be, st);
    /* the CPU backend never fails */
    assert_int_equal(bd_be_check(CPU, &e), 0);
    bd_be_free(be, x);
    bd_be_free(be, y);
    bd_be_free(be, lab);
    bd_backend_close(be);
    /* bd_backend_open: names */
    char note[128];
    bd_backend *b2 = bd_backend_open("cuda", 0, note, sizeof note, &e);
    assert_non_null(b2);
    assert_string_equal(b2->name, "cuda");
    assert_int_equal(b2->host_memory, 0);
    assert_non_null(strstr(b2->device, "SIMT"));
    bd_backend_close(b2);
    assert_true(bd_backend_open("cpu", 0, note, sizeof note, &e) == CPU);
    assert_null(bd_backend_open("tpu", 0, note, sizeof note, &e));
    assert_non_null(strstr(e.msg, "\"tpu\" is not one of cpu, cuda, auto"));
}

/* live_bytes and peak_bytes: alloc and free return to the same live count. */
static void test_accounting(void **state) {
    (void)state;
    for (int k = 0; k < 2; k++) {
        bd_backend *be = k ? CU : CPU;
        const size_t live0 = be->live_bytes, peak0 = be->peak_bytes;
        void *a = bd_be_alloc(be, 1000, "a"), *b = bd_be_alloc(be, 24, "b"), *c = bd_be_alloc(be, 0, "c");
        ok(be);
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(c);
        const size_t grew = be->live_bytes - live0;
        printf("  %s: 1000 + 24 + 0 bytes allocated count %zu live bytes\n", be->name, grew);
        if (k == 0) assert_int_equal(grew, 1024); /* the CPU counts what was asked */
        else assert_int_equal(grew, 1024 + 256 + 256); /* CUDA's pool: blocks of 256 bytes */
        assert_true(be->peak_bytes >= live0 + grew);
        assert_true(be->peak_bytes >= peak0);
        const size_t peak1 = be->peak_bytes;
        bd_be_free(be, b);
        assert_int_equal(be->live_bytes, live0 + grew - (k ? 256 : 24));
        void *b2 = bd_be_alloc(be, 24, "b again");
        assert_non_null(b2);
        bd_be_free(be, a);
        bd_be_free(be, b2);
        bd_be_free(be, c);
        bd_be_free(be, NULL);
        ok(be);
        assert_int_equal(be->live_bytes, live0);
        assert_int_equal(be->peak_bytes, peak1); /* the high-water mark stays */
    }
}

/* The CPU backend keeps large freed blocks (>= 4 MiB) and hands them out again zeroed, to a request
 * at most a quarter smaller; smaller requests and ones that would waste more get fresh memory. */
static void test_block_cache(void **state) {
    (void)state;
    bd_backend *be = CPU;
    const size_t MiB = 1 << 20, live0 = be->live_bytes;
    unsigned char *a = bd_be_alloc(be, 8 * MiB, "8 MiB");
    assert_non_null(a);
    for (size_t i = 0; i < 8 * MiB; i++) a[i] = (unsigned char)(i * 7 + 1);
    bd_be_free(be, a);
    assert_int_equal(be->live_bytes, live0);
    unsigned char *small = bd_be_alloc(be, 5 * MiB, "5 MiB"); /* 8 - 5 > 5 / 4: not the kept block */
    assert_non_null(small);
    assert_ptr_not_equal(small, a);
    unsigned char *b = bd_be_alloc(be, 7 * MiB, "7 MiB");
    assert_ptr_equal(b, a); /* the kept block, */
    size_t nonzero = 0;
    for (size_t i = 0; i < 7 * MiB; i++) nonzero += b[i] != 0;
    assert_int_equal(nonzero, 0); /* zeroed as calloc's would be */
    assert_int_equal(be->live_bytes, live0 + 12 * MiB); /* counted as what was asked */
    unsigned char *c = bd_be_alloc(be, 7 * MiB, "7 MiB again"); /* the block is taken: fresh memory */
    assert_non_null(c);
    assert_ptr_not_equal(c, b);
    for (size_t i = 0; i < 7 * MiB; i += 4096) assert_int_equal(c[i], 0);
    bd_be_free(be, b);
    bd_be_free(be, c);
    bd_be_free(be, small);
    assert_int_equal(be->live_bytes, live0);
    ok(be);
    printf("  cpu: a freed 8 MiB block came back zeroed for 7 MiB, not for 5 MiB\n");
}

static void test_summary(void **state) {
    (void)state;
    printf("\n  %-24s %-7s %-9s %-9s %s\n", "op", "mode", "tol", "worst", "checks");
    for (int i = 0; i < n_stats; i++)
        printf("  %-24s %-7s %-9.0e %-9.3g %ld\n", stats[i].op, mode_name[stats[i].mode], stats[i].tol, stats[i].worst,
               stats[i].checks);
    assert_true(n_stats > 40);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* each test's wall time */
static double t_start;
static int tic(void **state) {
    (void)state;
    t_start = now();
    return 0;
}
static int toc(void **state) {
    (void)state;
    printf("  (%.2f s)\n", now() - t_start);
    return 0;
}

static int group_setup(void **state) {
    (void)state;
    bd_err e = {{0}};
    CPU = bd_backend_cpu();
    CU = bd_backend_cuda(0, &e);
    if (!CU) {
        fprintf(stderr, "test_backend: %s\n", e.msg);
        return -1;
    }
    printf("cpu: %s\ncuda: %s\n", CPU->device, CU->device);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    if (CU) {
        printf("cuda backend: %zu bytes live at the end, peak %zu\n", CU->live_bytes, CU->peak_bytes);
        bd_backend_close(CU);
    }
    return 0;
}


int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gemm, tic, toc),       cmocka_unit_test_setup_teardown(test_linear, tic, toc),     cmocka_unit_test_setup_teardown(test_layernorm, tic, toc),
        cmocka_unit_test_setup_teardown(test_act, tic, toc),        cmocka_unit_test_setup_teardown(test_embed, tic, toc),      cmocka_unit_test_setup_teardown(test_esm_ops, tic, toc),
        cmocka_unit_test_setup_teardown(test_attention, tic, toc),
        cmocka_unit_test_setup_teardown(test_dropout, tic, toc),    cmocka_unit_test_setup_teardown(test_losses, tic, toc),     cmocka_unit_test_setup_teardown(test_vectors, tic, toc),
        cmocka_unit_test_setup_teardown(test_dora, tic, toc),       cmocka_unit_test_setup_teardown(test_orth, tic, toc),       cmocka_unit_test_setup_teardown(test_optim, tic, toc),
        cmocka_unit_test_setup_teardown(test_model_eval, tic, toc), cmocka_unit_test_setup_teardown(test_model_train, tic, toc), cmocka_unit_test_setup_teardown(test_errors, tic, toc),
        cmocka_unit_test_setup_teardown(test_accounting, tic, toc), cmocka_unit_test_setup_teardown(test_block_cache, tic, toc),
        cmocka_unit_test_setup_teardown(test_summary, tic, toc),
    };
    double t0 = now();
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    printf("test_backend: %.1f s\n", now() - t0);
    return rc;
}
