/* test_simt_cublas.cpp: the simulator's cuBLAS (tests/simt/cublas_v2.h, cublas_sim.cpp) and
 * its runtime additions (device properties, events, the memory limit), against naive
 * triple loops in double on random sizes.
 *   gemm (Sgemm, SgemmStridedBatched, GemmEx, GemmStridedBatchedEx): every op(A) x op(B)
 *     combination (N, T, C), leading dimensions above the minimum (the padding of A and B
 *     holds NaN, so reading it fails; C's padding and the gaps between batch matrices
 *     must keep their bits), alpha and beta incl. beta 0 over a NaN-filled C, batch
 *     strides incl. 0 (a broadcast A or B), k == 0, alpha == 0, m or n == 0, buffers of
 *     exactly the extent a call touches;
 *     bound per element: |got - ref| <= (k + 4) FLT_EPSILON (|alpha| sum |a b| + |beta c|)
 *   TF32 (GemmEx CUBLAS_COMPUTE_32F_FAST_TF32, Sgemm under CUBLAS_TF32_TENSOR_OP_MATH):
 *     the same bound against the naive product of TF32-rounded inputs (the rounding
 *     computed here independently, by scaling and nearbyint), single values on ties,
 *     Inf, NaN, FLT_MAX and subnormals exactly; and different from the fp32 product;
 *   Ssyrk: the uplo triangle as above, the other triangle and the padding bit for bit;
 *   every CUBLAS_STATUS_INVALID_VALUE / NOT_INITIALIZED / NOT_SUPPORTED case of the header
 *     (C untouched after each), host, freed and too-short pointers (with the stderr line
 *     naming the call), alpha in device memory;
 *   handles on several host threads at once;
 *   simt::set_memory_limit and BD_SIMT_MEMORY_LIMIT (a child process): the failing
 *     cudaMalloc and cudaMemGetInfo's numbers; cudaGetDeviceProperties, events. */
#include "simt.h"
#include "kernels.h"
#include <cublas_v2.h>
#include <cuda_runtime.h>

extern "C" {
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "rng.h"
}

#include <cfenv>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "simt_test.h"

static const cublasStatus_t OKS = CUBLAS_STATUS_SUCCESS, BAD = CUBLAS_STATUS_INVALID_VALUE,
                            NOINIT = CUBLAS_STATUS_NOT_INITIALIZED, UNSUP = CUBLAS_STATUS_NOT_SUPPORTED;
static std::string me; /* argv[0], for the child process */

static bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

/* An exact-size device copy (at least one float, so that nothing is a NULL pointer). */
static float *dev(const vecf &h) {
    float *d = nullptr;
    const size_t n = h.size() ? h.size() : 1;
    assert_int_equal(cudaMalloc(&d, n * sizeof(float)), cudaSuccess);
    if (h.size()) assert_int_equal(cudaMemcpy(d, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
    return d;
}

/* TF32 computed another way: the value rounded, to nearest even, to a multiple of its
 * binade's TF32 quantum (2^(e - 10); subnormals share the smallest normal's). */
static float tf32_ref(float x) {
    if (!std::isfinite(x) || x == 0.0f) return x;
    int e = std::ilogb(x);
    if (e < -126) e = -126;
    const double q = std::ldexp(1.0, e - 10);
    std::fesetround(FE_TONEAREST);
    const double v = std::nearbyint((double)x / q) * q;
    return std::fabs(v) > FLT_MAX ? std::copysign(INFINITY, x) : (float)v; /* 2^128: Inf */
}

/* ---- gemm against the triple loop ------------------------------------------------- */
enum Api { SGEMM, SGEMM_BATCHED, GEMMEX, GEMMEX_BATCHED };
static const char *api_name[] = {"cublasSgemm", "cublasSgemmStridedBatched", "cublasGemmEx",
                                 "cublasGemmStridedBatchedEx"};

struct Case {
    cublasOperation_t ta, tb;
    int m, n, k, lda, ldb, ldc;
    long long sA, sB, sC;
    int batch;
    float alpha, beta;
};

static cublasStatus_t call_gemm(cublasHandle_t h, Api api, const Case &c, const float *A, const float *B, float *C,
                                cublasComputeType_t comp, const float *alpha, const float *beta) {
    switch (api) {
    case SGEMM: return cublasSgemm(h, c.ta, c.tb, c.m, c.n, c.k, alpha, A, c.lda, B, c.ldb, beta, C, c.ldc);
    case SGEMM_BATCHED:
        return cublasSgemmStridedBatched(h, c.ta, c.tb, c.m, c.n, c.k, alpha, A, c.lda, c.sA, B, c.ldb, c.sB, beta, C,
                                         c.ldc, c.sC, c.batch);
    case GEMMEX:
        return cublasGemmEx(h, c.ta, c.tb, c.m, c.n, c.k, alpha, A, CUDA_R_32F, c.lda, B, CUDA_R_32F, c.ldb, beta, C,
                            CUDA_R_32F, c.ldc, comp, CUBLAS_GEMM_DEFAULT);
    case GEMMEX_BATCHED:
        return cublasGemmStridedBatchedEx(h, c.ta, c.tb, c.m, c.n, c.k, alpha, A, CUDA_R_32F, c.lda, c.sA, B,
                                          CUDA_R_32F, c.ldb, c.sB, beta, C, CUDA_R_32F, c.ldc, c.sC, c.batch, comp,
                                          CUBLAS_GEMM_DEFAULT_TENSOR_OP);
    }
    return CUBLAS_STATUS_INTERNAL_ERROR;
}

/* Floats a batch of rows x cols matrices (ld, stride apart) spans: exactly what is touched. */
static size_t span(int rows, int cols, int ld, long long stride, int batch) {
    if (rows == 0 || cols == 0 || batch == 0) return 0;
    return (size_t)((batch - 1) * stride + (long long)(cols - 1) * ld + rows);
}

/* A random stored matrix batch: entries inside each rows x cols matrix N(0, 1), the rest
 * (padding, gaps) `fill`; mask marks the inside ones. */
static vecf stored(bd_rng *r, int rows, int cols, int ld, long long stride, int batch, float fill,
                   std::vector<char> *mask = nullptr) {
    vecf v(span(rows, cols, ld, stride, batch), fill);
    if (mask) mask->assign(v.size(), 0);
    for (int b = 0; b < batch; b++)
        for (int j = 0; j < cols; j++)
            for (int i = 0; i < rows; i++) {
                const size_t at = (size_t)(b * stride + (long long)j * ld + i);
                v[at] = bd_rng_normal(r);
                if (mask) (*mask)[at] = 1;
            }
    return v;
}

struct Result {
    double worst;     /* max |got - ref| / bound over the elements */
    size_t far_fp32;  /* elements out of the bound around the fp32 (unrounded) product */
};

/* Runs one case on the device and checks it against the double triple loop (of TF32
 * inputs when tf32); fails on any element out of bound or any changed padding bit. */
static Result run_case(cublasHandle_t h, Api api, const Case &c, cublasComputeType_t comp, bool tf32, bd_rng *r) {
    const float qnan = std::nanf("");
    const int ra = c.ta == CUBLAS_OP_N ? c.m : c.k, ca = c.ta == CUBLAS_OP_N ? c.k : c.m;
    const int rb = c.tb == CUBLAS_OP_N ? c.k : c.n, cb = c.tb == CUBLAS_OP_N ? c.n : c.k;
    const int nb = (api == SGEMM || api == GEMMEX) ? 1 : c.batch;
    /* A broadcast (stride 0) matrix is one matrix */
    const vecf A = stored(r, ra, ca, c.lda, c.sA, c.sA ? nb : 1, qnan), B = stored(r, rb, cb, c.ldb, c.sB, c.sB ? nb : 1, qnan);
    std::vector<char> cmask;
    vecf C0 = stored(r, c.m, c.n, c.ldc, c.sC, nb, 777.25f, &cmask);
    if (c.beta == 0.0f)
        for (size_t i = 0; i < C0.size(); i++)
            if (cmask[i]) C0[i] = qnan; /* must not be read */
    float *dA = dev(A), *dB = dev(B), *dC = dev(C0);
    assert_int_equal(call_gemm(h, api, c, dA, dB, dC, comp, &c.alpha, &c.beta), OKS);
    const vecf C = down(dC, C0.size());
    for (float *p : {dA, dB, dC}) cudaFree(p);

    Result res{0.0, 0};
    for (size_t i = 0; i < C.size(); i++)
        if (!cmask[i] && !same_bits(C[i], C0[i])) fail_msg("%s: C[%zu] outside the matrices changed", api_name[api], i);
    for (int b = 0; b < nb; b++)
        for (int j = 0; j < c.n; j++)
            for (int i = 0; i < c.m; i++) {
                double s = 0, s32 = 0, abs = 0;
                for (int l = 0; l < c.k; l++) {
                    const size_t ia = (size_t)(b * c.sA) + (c.ta == CUBLAS_OP_N ? (size_t)l * c.lda + i : (size_t)i * c.lda + l);
                    const size_t ib = (size_t)(b * c.sB) + (c.tb == CUBLAS_OP_N ? (size_t)j * c.ldb + l : (size_t)l * c.ldb + j);
                    const double a = tf32 ? tf32_ref(A[ia]) : A[ia], bb = tf32 ? tf32_ref(B[ib]) : B[ib];
                    s += a * bb;
                    s32 += (double)A[ia] * B[ib];
                    abs += std::fabs(a * bb);
                }
                const size_t ic = (size_t)(b * c.sC) + (size_t)j * c.ldc + i;
                const double cterm = c.beta == 0.0f ? 0.0 : (double)c.beta * C0[ic];
                const double ref = c.alpha * s + cterm, ref32 = c.alpha * s32 + cterm;
                const double bound = (c.k + 4) * (double)FLT_EPSILON * (std::fabs(c.alpha) * abs + std::fabs(cterm)) + 1e-37;
                const double d = std::fabs(C[ic] - ref) / bound;
                if (!(d <= 1.0))
                    fail_msg("%s %s%s m=%d n=%d k=%d lda=%d ldb=%d ldc=%d batch %d alpha %g beta %g%s: C(%d,%d) = %.9g, "
                             "want %.9g (bound %.3g)",
                             api_name[api], c.ta == CUBLAS_OP_N ? "N" : c.ta == CUBLAS_OP_T ? "T" : "C",
                             c.tb == CUBLAS_OP_N ? "N" : c.tb == CUBLAS_OP_T ? "T" : "C", c.m, c.n, c.k, c.lda, c.ldb,
                             c.ldc, b, c.alpha, c.beta, tf32 ? " tf32" : "", i, j, C[ic], ref, bound);
                if (d > res.worst) res.worst = d;
                if (std::fabs(C[ic] - ref32) > bound) res.far_fp32++;
            }
    return res;
}

static int rnd(bd_rng *r, int lo, int hi) { return lo + (int)bd_rng_below(r, (uint64_t)(hi - lo + 1)); }

/* Random cases of every api and op combination; tf32: through the compute type (Ex) or
 * the math mode (Sgemm). */
static void gemm_sweep(bool tf32, uint64_t seed) {
    cublasHandle_t h = nullptr;
    assert_int_equal(cublasCreate(&h), OKS);
    bd_rng r;
    bd_rng_seed(&r, seed);
    const cublasOperation_t ops[] = {CUBLAS_OP_N, CUBLAS_OP_T, CUBLAS_OP_C};
    const float alphas[] = {1.0f, -0.75f, 2.5f}, betas[] = {0.0f, 1.0f, -1.25f};
    for (int api = 0; api < 4; api++) {
        const bool ex = api == GEMMEX || api == GEMMEX_BATCHED;
        assert_int_equal(cublasSetMathMode(h, tf32 && !ex ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), OKS);
        const cublasComputeType_t comp = tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
        double worst = 0;
        size_t far = 0, elems = 0, cases = 0;
        for (cublasOperation_t ta : ops)
            for (cublasOperation_t tb : ops)
                for (int rep = 0; rep < 3; rep++) {
                    Case c{};
                    c.ta = ta;
                    c.tb = tb;
                    c.m = rnd(&r, 1, 37);
                    c.n = rnd(&r, 1, 29);
                    c.k = rnd(&r, 1, 45);
                    c.lda = (ta == CUBLAS_OP_N ? c.m : c.k) + (rep == 0 ? 0 : rnd(&r, 1, 5));
                    c.ldb = (tb == CUBLAS_OP_N ? c.k : c.n) + (rep == 1 ? 0 : rnd(&r, 1, 5));
                    c.ldc = c.m + (rep == 2 ? 0 : rnd(&r, 1, 4));
                    c.alpha = alphas[rep];
                    c.beta = betas[(rep + (int)ta + (int)tb) % 3];
                    c.batch = api == SGEMM_BATCHED || api == GEMMEX_BATCHED ? rnd(&r, 2, 4) : 1;
                    const long long ea = (long long)(ta == CUBLAS_OP_N ? c.k : c.m) * c.lda;
                    const long long eb = (long long)(tb == CUBLAS_OP_N ? c.n : c.k) * c.ldb;
                    c.sA = c.batch > 1 && rep == 1 ? 0 : ea + rnd(&r, 0, 7); /* rep 1: A broadcast */
                    c.sB = c.batch > 1 && rep == 2 ? 0 : eb + rnd(&r, 0, 7); /* rep 2: B broadcast */
                    c.sC = (long long)c.n * c.ldc + rnd(&r, 0, 7);
                    if (c.batch == 1) c.sA = c.sB = c.sC = 0;
                    Result res = run_case(h, (Api)api, c, comp, tf32, &r);
                    worst = std::fmax(worst, res.worst);
                    far += res.far_fp32;
                    elems += (size_t)c.m * c.n * c.batch;
                    cases++;
                }
        std::printf("  %-27s %-5s %zu cases, %6zu elements: max err %.3f of the bound; %zu elements far from fp32\n",
                    api_name[api], tf32 ? "tf32" : "fp32", cases, elems, worst, far);
        if (tf32) assert_true(far > elems / 2); /* TF32 inputs really were rounded */
        else assert_int_equal(far, 0);
    }
    assert_int_equal(cublasDestroy(h), OKS);
    assert_int_equal(simt::bytes_allocated(), 0);
}

static void test_gemm_fp32(void **state) {
    (void)state;
    gemm_sweep(false, 1);
}
static void test_gemm_tf32(void **state) {
    (void)state;
    gemm_sweep(true, 2);
}

/* The edges: k == 0 and alpha == 0 (C = beta C, A and B not read: NULL or NaN), m or n == 0
 * (nothing touched, NULL pointers fine), pedantic compute and math modes (fp32). */
static void test_gemm_edges(void **state) {
    (void)state;
    cublasHandle_t h = nullptr;
    assert_int_equal(cublasCreate(&h), OKS);
    bd_rng r;
    bd_rng_seed(&r, 3);
    const int m = 5, n = 4, ldc = 7;
    const vecf C0 = stored(&r, m, n, ldc, 0, 1, 3.5f);
    float *dC = dev(C0);
    const float one = 1.0f, zero = 0.0f, half = 0.5f, two = 2.0f;
    /* k == 0, A and B NULL: C = beta C */
    assert_int_equal(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, 0, &one, nullptr, m, nullptr, 1, &half, dC, ldc), OKS);
    vecf C = down(dC, C0.size());
    for (size_t i = 0; i < C.size(); i++)
        assert_true(same_bits(C[i], (i % ldc) < (size_t)m ? C0[i] * 0.5f : C0[i]));
    /* alpha == 0 over NaN A and B, beta 0 over NaN C: zeros */
    vecf nanv(64, std::nanf(""));
    float *dN = dev(nanv);
    assert_int_equal(cudaMemcpy(dC, nanv.data(), (size_t)m * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
    assert_int_equal(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, 3, &zero, dN, 3, dN, 3, &zero, dC, ldc), OKS);
    C = down(dC, C0.size());
    for (size_t i = 0; i < C.size(); i++) assert_true(same_bits(C[i], (i % ldc) < (size_t)m ? 0.0f : C0[i]));
    /* k == 0, beta 0 over NaN: zeros, through the batched Ex call too */
    assert_int_equal(cudaMemcpy(dC, nanv.data(), (size_t)m * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
    assert_int_equal(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, 0, &two, nullptr, CUDA_R_32F, m, 0,
                                                nullptr, CUDA_R_32F, 1, 0, &zero, dC, CUDA_R_32F, ldc, 0, 1,
                                                CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                     OKS);
    C = down(dC, C0.size());
    for (size_t i = 0; i < C.size(); i++) assert_true(same_bits(C[i], (i % ldc) < (size_t)m ? 0.0f : C0[i]));
    /* m, n or batchCount == 0: nothing read or written, NULL pointers accepted */
    assert_int_equal(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 0, n, 3, &one, nullptr, 1, nullptr, 3, &one, nullptr, 1), OKS);
    assert_int_equal(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, 0, 3, &one, nullptr, m, nullptr, 3, &one, nullptr, m), OKS);
    assert_int_equal(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, 3, &one, nullptr, m, 0, nullptr, 3, 0,
                                               &one, nullptr, m, 0, 0),
                     OKS);
    assert_int_equal(cublasSsyrk(h, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, 0, 3, &one, nullptr, 1, &one, nullptr, 1), OKS);
    cudaFree(dN);
    cudaFree(dC);
    /* pedantic math and compute types are fp32; GemmEx's compute type beats the math mode;
     * the legacy cudaDataType compute type (CUDA_R_32F) is fp32 */
    assert_int_equal(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH), OKS);
    Case c{CUBLAS_OP_T, CUBLAS_OP_N, 9, 8, 33, 33, 33, 9, 0, 0, 0, 1, 1.0f, 0.0f};
    assert_int_equal(run_case(h, SGEMM, c, CUBLAS_COMPUTE_32F, false, &r).far_fp32, 0);
    assert_int_equal(cublasSetMathMode(h, (cublasMath_t)(CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)), OKS);
    assert_int_equal(run_case(h, SGEMM, c, CUBLAS_COMPUTE_32F, false, &r).far_fp32, 0);
    assert_int_equal(cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH), OKS);
    assert_int_equal(run_case(h, GEMMEX, c, CUBLAS_COMPUTE_32F_PEDANTIC, false, &r).far_fp32, 0);
    assert_int_equal(run_case(h, GEMMEX, c, CUBLAS_COMPUTE_32F, false, &r).far_fp32, 0);
    assert_true(run_case(h, SGEMM, c, CUBLAS_COMPUTE_32F, true, &r).far_fp32 > 0);
    {
        vecf a = stored(&r, 4, 4, 4, 0, 1, 0.0f);
        float *d = dev(a), *dc = dev(vecf(16, 0.0f));
        assert_int_equal(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, d, CUDA_R_32F, 4, d, CUDA_R_32F, 4,
                                      &zero, dc, CUDA_R_32F, 4, CUDA_R_32F, CUBLAS_GEMM_DEFAULT),
                         OKS);
        const vecf got = down(dc, 16);
        for (int j = 0; j < 4; j++)
            for (int i = 0; i < 4; i++) {
                double s = 0, abs = 0;
                for (int l = 0; l < 4; l++) {
                    s += (double)a[l * 4 + i] * a[j * 4 + l];
                    abs += std::fabs((double)a[l * 4 + i] * a[j * 4 + l]);
                }
                assert_true(std::fabs(got[j * 4 + i] - s) <= 8 * FLT_EPSILON * abs);
            }
        cudaFree(d);
        cudaFree(dc);
    }
    assert_int_equal(cublasDestroy(h), OKS);
    assert_int_equal(simt::bytes_allocated(), 0);
    std::printf("  gemm edges: k 0, alpha 0, beta 0 over NaN, m/n/batch 0, pedantic and legacy compute types\n");
}

/* TF32 rounding, value by value, through a 1x1x1 product x * 1. */
static void test_tf32_rounding(void **state) {
    (void)state;
    cublasHandle_t h = nullptr;
    assert_int_equal(cublasCreate(&h), OKS);
    const float ulp = std::ldexp(1.0f, -10), tie = std::ldexp(1.0f, -11), below = std::ldexp(1.0f, -13);
    const float vals[] = {1.0f + tie,                 /* tie to even: 1 */
                          1.0f + ulp + tie,           /* tie to even: 1 + 2 ulp */
                          1.0f + tie + below,         /* above the tie: 1 + ulp */
                          1.0f + tie - below,         /* below the tie: 1 */
                          -(3.0f + 3 * tie * 2),      /* negative */
                          0.1f,
                          FLT_MAX,                    /* rounds up to Inf */
                          std::ldexp(1.0f, -140) * 3.3f, /* subnormal */
                          FLT_MIN * 1.0009f,
                          INFINITY,
                          -INFINITY};
    const float expect[] = {1.0f, 1.0f + 2 * ulp, 1.0f + ulp, 1.0f, -(3.0f + 8 * tie), 0, INFINITY, 0, 0, INFINITY, -INFINITY};
    const int nv = (int)(sizeof vals / sizeof vals[0]);
    float *dx = nullptr, *dy = nullptr, *one_d = dev(vecf(1, 1.0f));
    assert_int_equal(cudaMalloc(&dx, sizeof(float)), cudaSuccess);
    assert_int_equal(cudaMalloc(&dy, sizeof(float)), cudaSuccess);
    const float one = 1.0f, zero = 0.0f;
    for (int i = 0; i < nv; i++) {
        assert_int_equal(cudaMemcpy(dx, &vals[i], sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
        assert_int_equal(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, dx, CUDA_R_32F, 1, one_d, CUDA_R_32F,
                                      1, &zero, dy, CUDA_R_32F, 1, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT),
                         OKS);
        float got = down(dy, 1)[0];
        const float want = tf32_ref(vals[i]);
        if (!same_bits(got, want)) fail_msg("tf32(%a) = %a, want %a", (double)vals[i], (double)got, (double)want);
        if (expect[i] != 0) /* (0: no value written down, tf32_ref's alone) */
            if (!same_bits(want, expect[i])) fail_msg("tf32_ref(%a) = %a, want %a", (double)vals[i], (double)want, (double)expect[i]);
    }
    /* NaNs stay NaN, also those whose payload is only in the 13 dropped bits or whose
     * rounding would carry out of the sign bit */
    for (uint32_t bits : {0x7fc00000u, 0x7f800001u, 0xff800fffu, 0xffffffffu}) {
        float qn;
        std::memcpy(&qn, &bits, sizeof qn);
        assert_int_equal(cudaMemcpy(dx, &qn, sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
        assert_int_equal(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, dx, CUDA_R_32F, 1, one_d, CUDA_R_32F,
                                      1, &zero, dy, CUDA_R_32F, 1, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT),
                         OKS);
        if (!std::isnan(down(dy, 1)[0])) fail_msg("tf32 of the NaN 0x%08x is not a NaN", bits);
    }
    for (float *p : {dx, dy, one_d}) cudaFree(p);
    assert_int_equal(cublasDestroy(h), OKS);
    std::printf("  tf32 rounding: %d values (ties to even, Inf, FLT_MAX, subnormals) exact, 4 NaNs stay NaN\n", nv);
}

/* ---- syrk --------------------------------------------------------------------------- */
static void test_syrk(void **state) {
    (void)state;
    cublasHandle_t h = nullptr;
    assert_int_equal(cublasCreate(&h), OKS);
    assert_int_equal(cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH), OKS); /* no effect on syrk */
    bd_rng r;
    bd_rng_seed(&r, 4);
    const float qnan = std::nanf("");
    double worst = 0;
    int cases = 0;
    for (cublasFillMode_t uplo : {CUBLAS_FILL_MODE_LOWER, CUBLAS_FILL_MODE_UPPER})
        for (cublasOperation_t tr : {CUBLAS_OP_N, CUBLAS_OP_T, CUBLAS_OP_C})
            for (int rep = 0; rep < 4; rep++) {
                const int n = rnd(&r, 1, 31), k = rep == 3 ? 0 : rnd(&r, 1, 40);
                const int ra = tr == CUBLAS_OP_N ? n : k, ca = tr == CUBLAS_OP_N ? k : n;
                const int lda = (ra > 0 ? ra : 1) + (rep == 0 ? 0 : rnd(&r, 1, 4)), ldc = n + (rep == 1 ? 0 : rnd(&r, 1, 4));
                const float alpha = rep == 2 ? -1.5f : 0.75f, beta = rep == 0 ? 0.0f : rep == 1 ? 1.0f : -0.5f;
                const vecf A = stored(&r, ra, ca, lda, 0, 1, qnan);
                vecf C0 = stored(&r, n, n, ldc, 0, 1, 555.5f);
                auto in_tri = [&](int i, int j) { return uplo == CUBLAS_FILL_MODE_LOWER ? i >= j : i <= j; };
                if (beta == 0.0f)
                    for (int j = 0; j < n; j++)
                        for (int i = 0; i < n; i++)
                            if (in_tri(i, j)) C0[(size_t)j * ldc + i] = qnan;
                float *dA = dev(A), *dC = dev(C0);
                assert_int_equal(cublasSsyrk(h, uplo, tr, n, k, &alpha, k ? dA : nullptr, lda, &beta, dC, ldc), OKS);
                const vecf C = down(dC, C0.size());
                cudaFree(dA);
                cudaFree(dC);
                for (size_t at = 0; at < C.size(); at++) {
                    const int i = (int)(at % ldc), j = (int)(at / ldc);
                    if (i >= n || !in_tri(i, j)) {
                        if (!same_bits(C[at], C0[at])) fail_msg("ssyrk: C(%d,%d) outside the triangle changed", i, j);
                        continue;
                    }
                    double s = 0, abs = 0;
                    for (int l = 0; l < k; l++) {
                        const double a = tr == CUBLAS_OP_N ? A[(size_t)l * lda + i] : A[(size_t)i * lda + l];
                        const double b = tr == CUBLAS_OP_N ? A[(size_t)l * lda + j] : A[(size_t)j * lda + l];
                        s += a * b;
                        abs += std::fabs(a * b);
                    }
                    const double cterm = beta == 0.0f ? 0.0 : (double)beta * C0[at];
                    const double ref = alpha * s + cterm;
                    const double bound = (k + 4) * (double)FLT_EPSILON * (std::fabs(alpha) * abs + std::fabs(cterm)) + 1e-37;
                    const double d = std::fabs(C[at] - ref) / bound;
                    if (!(d <= 1.0))
                        fail_msg("ssyrk %s %d n=%d k=%d: C(%d,%d) = %.9g, want %.9g", uplo ? "upper" : "lower", (int)tr, n,
                                 k, i, j, C[at], ref);
                    worst = std::fmax(worst, d);
                }
                cases++;
            }
    assert_int_equal(cublasDestroy(h), OKS);
    assert_int_equal(simt::bytes_allocated(), 0);
    std::printf("  cublasSsyrk %d cases (lower/upper, N/T/C, k 0, beta 0 over NaN): max err %.3f of the bound, "
                "the other triangle and the padding unchanged\n",
                cases, worst);
}

/* ---- status codes --------------------------------------------------------------------- */
/* Captures what fn writes to stderr (fn must not fail a cmocka assertion: its message
 * would be captured too). */
template <typename F> static std::string stderr_of(F fn) {
    std::fflush(stderr);
    char path[] = "/tmp/bd_simt_cublas_XXXXXX";
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    const int saved = dup(2);
    dup2(fd, 2);
    fn();
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    std::string out;
    char buf[4096];
    lseek(fd, 0, SEEK_SET);
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0) out.append(buf, (size_t)got);
    close(fd);
    unlink(path);
    return out;
}

static void test_status_codes(void **state) {
    (void)state;
    cublasHandle_t h = nullptr;
    assert_int_equal(cublasCreate(&h), OKS);
    assert_int_equal(cublasCreate(nullptr), BAD);
    bd_rng r;
    bd_rng_seed(&r, 5);
    /* a valid call: C (4 x 3, ldc 4) = A (4 x 5) B (5 x 3); buffers large enough for the
     * transposed variants below */
    const vecf Ah = stored(&r, 8, 8, 8, 0, 1, 0.0f), C0 = stored(&r, 8, 8, 8, 0, 1, 0.0f);
    float *A = dev(Ah), *B = dev(Ah), *C = dev(C0);
    const float one = 1.0f, zero = 0.0f;
    int checked = 0;
    std::string failure; /* the first wrong answer (asserted after stderr is back) */
    auto sg = [&](cublasHandle_t hh, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float *al,
                  int lda, int ldb, const float *be, int ldc) {
        return cublasSgemm(hh, ta, tb, m, n, k, al, A, lda, B, ldb, be, C, ldc);
    };
    auto expect = [&](cublasStatus_t got, cublasStatus_t want, const char *what) {
        char msg[256] = "";
        vecf now(C0.size());
        if (got != want)
            std::snprintf(msg, sizeof msg, "%s: %s, want %s", what, cublasGetStatusName(got), cublasGetStatusName(want));
        else if (cudaMemcpy(now.data(), C, now.size() * sizeof(float), cudaMemcpyDeviceToHost) != cudaSuccess ||
                 std::memcmp(now.data(), C0.data(), now.size() * sizeof(float)) != 0)
            std::snprintf(msg, sizeof msg, "%s: C changed", what);
        if (msg[0] && failure.empty()) failure = msg;
        checked++;
    };
    const cublasOperation_t N = CUBLAS_OP_N, T = CUBLAS_OP_T;
    std::string err_text = stderr_of([&] {
        expect(sg(h, N, N, -1, 3, 5, &one, 4, 5, &one, 4), BAD, "m < 0");
        expect(sg(h, N, N, 4, -1, 5, &one, 4, 5, &one, 4), BAD, "n < 0");
        expect(sg(h, N, N, 4, 3, -1, &one, 4, 5, &one, 4), BAD, "k < 0");
        expect(sg(h, (cublasOperation_t)7, N, 4, 3, 5, &one, 4, 5, &one, 4), BAD, "transa 7");
        expect(sg(h, N, CUBLAS_OP_CONJG, 4, 3, 5, &one, 4, 5, &one, 4), BAD, "transb CONJG");
        expect(sg(h, N, N, 4, 3, 5, &one, 3, 5, &one, 4), BAD, "lda < m (N)");
        expect(sg(h, T, N, 4, 3, 5, &one, 4, 5, &one, 4), BAD, "lda < k (T)");
        expect(sg(h, N, N, 4, 3, 5, &one, 4, 4, &one, 4), BAD, "ldb < k (N)");
        expect(sg(h, N, T, 4, 3, 5, &one, 4, 2, &one, 4), BAD, "ldb < n (T)");
        expect(sg(h, N, N, 4, 3, 5, &one, 4, 5, &one, 3), BAD, "ldc < m");
        expect(sg(h, N, N, 0, 3, 5, &one, 0, 5, &one, 1), BAD, "lda 0 < max(1, m = 0)");
        expect(sg(h, N, N, 0, 3, 5, &one, 1, 5, &one, 0), BAD, "ldc 0 < max(1, m = 0)");
        expect(sg(h, N, N, 4, 3, 0, &one, 4, 0, &one, 4), BAD, "ldb 0 < max(1, k = 0)");
        expect(sg(h, N, N, 4, 3, 5, nullptr, 4, 5, &one, 4), BAD, "alpha NULL");
        expect(sg(h, N, N, 4, 3, 5, &one, 4, 5, nullptr, 4), BAD, "beta NULL");
        expect(sg(nullptr, N, N, 4, 3, 5, &one, 4, 5, &one, 4), NOINIT, "NULL handle");
        expect(cublasSgemmStridedBatched(h, N, N, 4, 3, 5, &one, A, 4, 20, B, 5, 15, &one, C, 4, 12, -1), BAD,
               "batchCount < 0");
        expect(cublasSgemmStridedBatched(h, N, N, 4, 3, 5, &one, A, 3, 20, B, 5, 15, &one, C, 4, 12, 2), BAD,
               "batched lda < m");
        expect(cublasSgemmStridedBatched(nullptr, N, N, 4, 3, 5, &one, A, 4, 20, B, 5, 15, &one, C, 4, 12, 1), NOINIT,
               "batched NULL handle");
        auto ex = [&](cublasHandle_t hh, int m, int lda, cudaDataType at, cudaDataType ct, cublasComputeType_t comp,
                      cublasGemmAlgo_t algo) {
            return cublasGemmEx(hh, N, N, m, 3, 5, &one, A, at, lda, B, CUDA_R_32F, 5, &one, C, ct, 4, comp, algo);
        };
        const cublasComputeType_t c32 = CUBLAS_COMPUTE_32F;
        const cublasGemmAlgo_t dflt = CUBLAS_GEMM_DEFAULT;
        expect(ex(h, -1, 4, CUDA_R_32F, CUDA_R_32F, c32, dflt), BAD, "GemmEx m < 0");
        expect(ex(h, 4, 3, CUDA_R_32F, CUDA_R_32F, c32, dflt), BAD, "GemmEx lda < m");
        expect(ex(h, 4, 3, CUDA_R_16F, CUDA_R_32F, c32, dflt), BAD, "GemmEx lda < m before the type");
        expect(ex(h, 4, 4, CUDA_R_16F, CUDA_R_32F, c32, dflt), UNSUP, "GemmEx Atype R_16F");
        expect(ex(h, 4, 4, CUDA_R_32F, CUDA_R_64F, c32, dflt), UNSUP, "GemmEx Ctype R_64F");
        expect(ex(h, 4, 4, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_64F, dflt), UNSUP, "GemmEx COMPUTE_64F");
        expect(ex(h, 4, 4, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_16F, dflt), UNSUP, "GemmEx FAST_16F");
        expect(ex(h, 4, 4, CUDA_R_32F, CUDA_R_32F, (cublasComputeType_t)1234, dflt), BAD, "GemmEx computeType 1234");
        expect(ex(h, 4, 4, CUDA_R_32F, CUDA_R_32F, c32, (cublasGemmAlgo_t)50), BAD, "GemmEx algo 50");
        expect(ex(nullptr, 4, 4, CUDA_R_32F, CUDA_R_32F, c32, dflt), NOINIT, "GemmEx NULL handle");
        expect(cublasGemmEx(h, N, N, 4, 3, 5, &one, A, CUDA_R_32F, 4, B, CUDA_R_32F, 5, &one, C, CUDA_R_32F, 4,
                            CUDA_R_64F, dflt),
               UNSUP, "GemmEx legacy compute type R_64F");
        expect(cublasGemmStridedBatchedEx(h, N, N, 4, 3, 5, &one, A, CUDA_R_32F, 4, 20, B, CUDA_R_32F, 5, 15, &one, C,
                                          CUDA_R_32F, 4, 12, -2, c32, dflt),
               BAD, "GemmStridedBatchedEx batchCount < 0");
        expect(cublasGemmStridedBatchedEx(h, N, N, 4, 3, 5, &one, A, CUDA_R_32F, 4, 20, B, CUDA_R_32F, 5, 15, &one, C,
                                          CUDA_R_16BF, 4, 12, 2, c32, dflt),
               UNSUP, "GemmStridedBatchedEx Ctype R_16BF");
        expect(cublasGemmStridedBatchedEx(nullptr, N, N, 4, 3, 5, &one, A, CUDA_R_32F, 4, 20, B, CUDA_R_32F, 5, 15,
                                          &one, C, CUDA_R_32F, 4, 12, 2, c32, dflt),
               NOINIT, "GemmStridedBatchedEx NULL handle");
        auto sy = [&](cublasHandle_t hh, cublasFillMode_t up, cublasOperation_t tr, int n, int k, const float *al,
                      int lda, const float *be, int ldc) { return cublasSsyrk(hh, up, tr, n, k, al, A, lda, be, C, ldc); };
        const cublasFillMode_t L = CUBLAS_FILL_MODE_LOWER;
        expect(sy(h, CUBLAS_FILL_MODE_FULL, N, 4, 3, &one, 4, &one, 4), BAD, "syrk uplo FULL");
        expect(sy(h, (cublasFillMode_t)5, N, 4, 3, &one, 4, &one, 4), BAD, "syrk uplo 5");
        expect(sy(h, L, (cublasOperation_t)9, 4, 3, &one, 4, &one, 4), BAD, "syrk trans 9");
        expect(sy(h, L, N, -1, 3, &one, 4, &one, 4), BAD, "syrk n < 0");
        expect(sy(h, L, N, 4, -1, &one, 4, &one, 4), BAD, "syrk k < 0");
        expect(sy(h, L, N, 4, 3, &one, 3, &one, 4), BAD, "syrk lda < n (N)");
        expect(sy(h, L, T, 4, 5, &one, 4, &one, 4), BAD, "syrk lda < k (T)");
        expect(sy(h, L, N, 4, 3, &one, 4, &one, 3), BAD, "syrk ldc < n");
        expect(sy(h, L, N, 4, 3, nullptr, 4, &one, 4), BAD, "syrk alpha NULL");
        expect(sy(h, L, N, 4, 3, &one, 4, nullptr, 4), BAD, "syrk beta NULL");
        expect(sy(nullptr, L, N, 4, 3, &one, 4, &one, 4), NOINIT, "syrk NULL handle");
        /* a destroyed handle is NOT_INITIALIZED too */
        cublasHandle_t gone = nullptr;
        expect(cublasCreate(&gone), OKS, "create");
        expect(cublasDestroy(gone), OKS, "destroy");
        expect(sg(gone, N, N, 4, 3, 5, &one, 4, 5, &one, 4), NOINIT, "destroyed handle");
        expect(cublasDestroy(gone), NOINIT, "destroy twice");
        expect(cublasDestroy(nullptr), NOINIT, "destroy NULL");
        /* the valid call is accepted (alpha 0, beta 1: C unchanged) */
        expect(sg(h, N, N, 4, 3, 5, &zero, 4, 5, &one, 4), OKS, "valid call");
    });
    if (!failure.empty()) fail_msg("%s", failure.c_str());
    assert_true(err_text.find("simt cublasSgemm: lda 3 < max(1, 4)") != std::string::npos);
    assert_true(err_text.find("simt cublasGemmEx: Atype 2") != std::string::npos);
    assert_true(err_text.find("simt cublasSsyrk: uplo 2") != std::string::npos);

    /* the handle's other calls */
    cudaStream_t s = (cudaStream_t)0x1234, got = nullptr;
    assert_int_equal(cublasGetStream(h, &got), OKS);
    assert_null(got);
    assert_int_equal(cublasSetStream(h, s), OKS);
    assert_int_equal(cublasGetStream(h, &got), OKS);
    assert_ptr_equal(got, s);
    assert_int_equal(cublasSetStream(nullptr, s), NOINIT);
    assert_int_equal(cublasGetStream(nullptr, &got), NOINIT);
    cublasMath_t mm = CUBLAS_TF32_TENSOR_OP_MATH;
    assert_int_equal(cublasGetMathMode(h, &mm), OKS);
    assert_int_equal(mm, CUBLAS_DEFAULT_MATH);
    assert_int_equal(cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH), OKS);
    assert_int_equal(cublasGetMathMode(h, &mm), OKS);
    assert_int_equal(mm, CUBLAS_TF32_TENSOR_OP_MATH);
    cublasStatus_t s1 = OKS, s2 = OKS;
    std::string unsup = stderr_of([&] {
        s1 = cublasSetMathMode(h, CUBLAS_TENSOR_OP_MATH);
        s2 = cublasSetPointerMode(h, CUBLAS_POINTER_MODE_DEVICE);
    });
    assert_int_equal(s1, UNSUP);
    assert_int_equal(s2, UNSUP);
    assert_true(unsup.find("cublasSetPointerMode") != std::string::npos);
    assert_int_equal(cublasSetMathMode(h, (cublasMath_t)7), BAD);
    assert_int_equal(cublasSetMathMode(h, (cublasMath_t)35), BAD);
    assert_int_equal(cublasGetMathMode(h, &mm), OKS);
    assert_int_equal(mm, CUBLAS_TF32_TENSOR_OP_MATH); /* unchanged by the refusals */
    assert_int_equal(cublasSetMathMode(nullptr, CUBLAS_DEFAULT_MATH), NOINIT);
    assert_int_equal(cublasGetMathMode(nullptr, &mm), NOINIT);
    assert_int_equal(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST), OKS);
    assert_int_equal(cublasSetPointerMode(h, (cublasPointerMode_t)3), BAD);
    assert_int_equal(cublasSetPointerMode(nullptr, CUBLAS_POINTER_MODE_HOST), NOINIT);
    cublasPointerMode_t pm = CUBLAS_POINTER_MODE_DEVICE;
    assert_int_equal(cublasGetPointerMode(h, &pm), OKS);
    assert_int_equal(pm, CUBLAS_POINTER_MODE_HOST);
    assert_string_equal(cublasGetStatusName(CUBLAS_STATUS_INVALID_VALUE), "CUBLAS_STATUS_INVALID_VALUE");
    assert_string_equal(cublasGetStatusName(CUBLAS_STATUS_NOT_SUPPORTED), "CUBLAS_STATUS_NOT_SUPPORTED");
    assert_string_equal(cublasGetStatusName(CUBLAS_STATUS_SUCCESS), "CUBLAS_STATUS_SUCCESS");
    for (int st : {0, 1, 3, 7, 8, 11, 13, 14, 15, 16, 99}) {
        assert_non_null(cublasGetStatusName((cublasStatus_t)st));
        assert_true(std::strlen(cublasGetStatusString((cublasStatus_t)st)) > 0);
    }
    assert_string_not_equal(cublasGetStatusString(CUBLAS_STATUS_INVALID_VALUE), cublasGetStatusString(CUBLAS_STATUS_SUCCESS));
    for (float *p : {A, B, C}) cudaFree(p);
    assert_int_equal(cublasDestroy(h), OKS);
    assert_int_equal(simt::bytes_allocated(), 0);
    std::printf("  status codes: %d refused calls (C untouched), handle, stream, math and pointer modes, names\n", checked);
}

/* Pointers outside the simulator's allocations. */
static void test_device_pointers(void **state) {
    (void)state;
    cublasHandle_t h = nullptr;
    assert_int_equal(cublasCreate(&h), OKS);
    const int m = 6, n = 5, k = 4;
    vecf host(64, 1.0f);
    float *A = dev(vecf((size_t)m * k, 1.0f)), *B = dev(vecf((size_t)k * n, 1.0f)), *C = dev(vecf((size_t)m * n, 0.0f));
    float *shortA = dev(vecf((size_t)m * k - 1, 1.0f)), *freed = dev(vecf((size_t)m * n, 0.0f));
    assert_int_equal(cudaFree(freed), cudaSuccess);
    const float one = 1.0f;
    const cublasOperation_t N = CUBLAS_OP_N;
    assert_int_equal(cublasSgemm(h, N, N, m, n, k, &one, A, m, B, k, &one, C, m), OKS); /* exact extents are fine */
    cublasStatus_t st = OKS, st2 = OKS;
    std::string e = stderr_of([&] { st = cublasSgemm(h, N, N, m, n, k, &one, host.data(), m, B, k, &one, C, m); });
    assert_int_equal(st, BAD);
    std::printf("  host A refused: %s", e.c_str());
    assert_true(e.find("simt cublasSgemm: A = ") != std::string::npos);
    assert_true(e.find("not inside one live cudaMalloc allocation") != std::string::npos);
    e = stderr_of([&] { st = cublasSgemm(h, N, N, m, n, k, &one, A, m, host.data(), k, &one, C, m); });
    assert_int_equal(st, BAD);
    assert_true(e.find("simt cublasSgemm: B = ") != std::string::npos);
    e = stderr_of([&] { st = cublasSgemm(h, N, N, m, n, k, &one, A, m, B, k, &one, host.data(), m); });
    assert_int_equal(st, BAD);
    assert_true(e.find("simt cublasSgemm: C = ") != std::string::npos);
    for (float v : host) assert_true(v == 1.0f); /* nothing written */
    e = stderr_of([&] { st = cublasSgemm(h, N, N, m, n, k, &one, shortA, m, B, k, &one, C, m); });
    assert_int_equal(st, BAD);
    assert_true(e.find("A = ") != std::string::npos);
    e = stderr_of([&] { st = cublasSgemm(h, N, N, m, n, k, &one, A, m, B, k, &one, freed, m); });
    assert_int_equal(st, BAD);
    assert_true(e.find("C = ") != std::string::npos);
    /* an ld that takes the last column past the end */
    e = stderr_of([&] { st = cublasSgemm(h, N, N, m, n, k, &one, A, m + 1, B, k, &one, C, m); });
    assert_int_equal(st, BAD);
    assert_true(e.find("A = ") != std::string::npos);
    /* batches: the last one past the end, a negative stride before the start, in the Ex call */
    e = stderr_of([&] {
        st = cublasGemmStridedBatchedEx(h, N, N, m, n, k, &one, A, CUDA_R_32F, m, 0, B, CUDA_R_32F, k, 0, &one, C,
                                        CUDA_R_32F, m, 1, 2, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        st2 = cublasSgemmStridedBatched(h, N, N, m, n, k, &one, A, m, -1, B, k, 0, &one, C, m, 0, 2);
    });
    assert_int_equal(st, BAD);
    assert_int_equal(st2, BAD);
    assert_true(e.find("simt cublasGemmStridedBatchedEx: C = ") != std::string::npos);
    assert_true(e.find("simt cublasSgemmStridedBatched: A = ") != std::string::npos);
    /* alpha in device memory while the pointer mode is host */
    e = stderr_of([&] { st = cublasSgemm(h, N, N, m, n, k, A, A, m, B, k, &one, C, m); });
    assert_int_equal(st, BAD);
    assert_true(e.find("simt cublasSgemm: alpha = ") != std::string::npos);
    e = stderr_of([&] { st = cublasSsyrk(h, CUBLAS_FILL_MODE_UPPER, N, n, k, &one, host.data(), n, &one, C, m); });
    assert_int_equal(st, BAD);
    assert_true(e.find("simt cublasSsyrk: A = ") != std::string::npos);
    /* the device-range check itself */
    assert_true(simt::device_range_ok(A, (size_t)m * k * sizeof(float)));
    assert_false(simt::device_range_ok(A, (size_t)m * k * sizeof(float) + 1));
    assert_false(simt::device_range_ok(host.data(), 4));
    assert_true(simt::device_range_ok(A + 3, 4));
    const vecf Cd = down(C, (size_t)m * n);
    for (float v : Cd) assert_true(v == (float)k); /* only the one valid call ran */
    for (float *p : {A, B, C, shortA}) cudaFree(p);
    assert_int_equal(cublasDestroy(h), OKS);
    assert_int_equal(simt::bytes_allocated(), 0);
    std::printf("  device pointers: host, freed, too short, ld past the end, batch past either end, alpha on the "
                "device: refused and named\n");
}

/* Handles on several host threads at once (ThreadSanitizer checks the handle registry):
 * each thread its own handle, math mode and buffers; the results as on one thread. */
static void test_threads(void **state) {
    (void)state;
    const int nt = 3, m = 24, n = 20, k = 31;
    std::vector<vecf> want(nt), got(nt);
    std::vector<int> status(nt, -1);
    auto work = [&](int t, vecf *out) {
        bd_rng r;
        bd_rng_seed(&r, 100 + (uint64_t)t);
        const vecf a = stored(&r, m, k, m, 0, 1, 0.0f), b = stored(&r, k, n, k, 0, 1, 0.0f);
        float *dA = dev(a), *dB = dev(b), *dC = dev(vecf((size_t)m * n, 0.0f));
        cublasHandle_t h = nullptr;
        const float one = 1.0f, zero = 0.0f;
        int st = cublasCreate(&h);
        for (int rep = 0; rep < 20 && st == 0; rep++) {
            st |= cublasSetMathMode(h, rep % 2 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
            st |= cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, dA, m, dB, k, &zero, dC, m);
        }
        st |= cublasDestroy(h);
        out->assign((size_t)m * n, 0.0f);
        st |= (int)cudaMemcpy(out->data(), dC, out->size() * sizeof(float), cudaMemcpyDeviceToHost);
        for (float *p : {dA, dB, dC}) cudaFree(p);
        return st;
    };
    for (int t = 0; t < nt; t++) assert_int_equal(work(t, &want[t]), 0);
    std::vector<std::thread> th;
    for (int t = 0; t < nt; t++) th.emplace_back([&, t] { status[t] = work(t, &got[t]); });
    for (auto &x : th) x.join();
    for (int t = 0; t < nt; t++) {
        assert_int_equal(status[t], 0);
        for (size_t i = 0; i < want[t].size(); i++) assert_true(std::fabs(got[t][i] - want[t][i]) <= 1e-5f * (1 + std::fabs(want[t][i])));
    }
    assert_int_equal(simt::bytes_allocated(), 0);
    std::printf("  %d host threads, a handle each, 20 calls each: results as on one thread\n", nt);
}

/* ---- runtime additions ------------------------------------------------------------------ */
static void test_memory_limit(void **state) {
    (void)state;
    size_t fr = 0, total = 0, fr0 = 0, total0 = 0;
    assert_int_equal(simt::memory_limit(), 0);
    assert_int_equal(cudaMemGetInfo(&fr0, &total0), cudaSuccess);
    float *keep = nullptr, *p = nullptr;
    assert_int_equal(cudaMalloc(&keep, 1000 * sizeof(float)), cudaSuccess);
    const size_t live = simt::bytes_allocated(), lim = live + (1 << 20);
    simt::set_memory_limit(lim);
    assert_int_equal(simt::memory_limit(), lim);
    assert_int_equal(cudaMemGetInfo(&fr, &total), cudaSuccess);
    assert_int_equal(total, lim);
    assert_int_equal(fr, lim - live);
    (void)cudaGetLastError();
    p = (float *)0x1;
    assert_int_equal(cudaMalloc(&p, (1 << 20) + 1), cudaErrorMemoryAllocation);
    assert_null(p);
    assert_int_equal(cudaGetLastError(), cudaErrorMemoryAllocation);
    assert_int_equal(cudaGetLastError(), cudaSuccess);
    assert_int_equal(simt::bytes_allocated(), live);
    assert_int_equal(cudaMalloc(&p, 1 << 20), cudaSuccess); /* exactly the limit */
    assert_int_equal(cudaMemGetInfo(&fr, &total), cudaSuccess);
    assert_int_equal(fr, 0);
    float *q = nullptr;
    assert_int_equal(cudaMalloc(&q, 1), cudaErrorMemoryAllocation);
    cudaDeviceProp prop;
    assert_int_equal(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
    assert_int_equal(prop.totalGlobalMem, lim);
    assert_int_equal(cudaFree(p), cudaSuccess);
    simt::set_memory_limit(live / 2); /* below what is live: nothing more, free 0 */
    assert_int_equal(cudaMemGetInfo(&fr, &total), cudaSuccess);
    assert_int_equal(fr, 0);
    assert_int_equal(total, live / 2);
    assert_int_equal(cudaMalloc(&q, 1), cudaErrorMemoryAllocation);
    simt::set_memory_limit(0);
    assert_int_equal(cudaMemGetInfo(&fr, &total), cudaSuccess);
    assert_int_equal(total, total0);
    assert_int_equal(fr, total0 - live);
    assert_int_equal(cudaMalloc(&q, (size_t)64 << 20), cudaSuccess);
    assert_int_equal(cudaFree(q), cudaSuccess);
    assert_int_equal(cudaFree(keep), cudaSuccess);
    (void)cudaGetLastError();
    /* BD_SIMT_MEMORY_LIMIT in a fresh process */
    const std::string cmd = "BD_SIMT_MEMORY_LIMIT=3000000 '" + me + "' --memory-limit-child 2>&1";
    FILE *f = popen(cmd.c_str(), "r");
    assert_non_null(f);
    std::string out;
    char buf[1024];
    size_t nr;
    while ((nr = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, nr);
    const int st = pclose(f);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("child: status %d: %s", st, out.c_str());
    assert_true(out.find("limit 3000000 total 3000000 ok") != std::string::npos);
    std::printf("  memory limit: cudaMalloc past it fails (cudaErrorMemoryAllocation), cudaMemGetInfo free = limit - live; "
                "BD_SIMT_MEMORY_LIMIT in a child: %s", out.c_str());
}

/* The child: its limit comes from the environment, before any other use. */
static int memory_limit_child() {
    size_t fr = 0, total = 0;
    cudaMemGetInfo(&fr, &total);
    void *a = nullptr, *b = nullptr;
    const bool ok = total == 3000000 && fr == 3000000 && simt::memory_limit() == 3000000 &&
                    cudaMalloc(&a, 2000000) == cudaSuccess && cudaMalloc(&b, 1000001) == cudaErrorMemoryAllocation &&
                    cudaMalloc(&b, 1000000) == cudaSuccess;
    std::printf("limit %zu total %zu %s\n", simt::memory_limit(), total, ok ? "ok" : "WRONG");
    cudaFree(a);
    cudaFree(b);
    return ok ? 0 : 1;
}

static void test_device_and_events(void **state) {
    (void)state;
    cudaDeviceProp prop;
    std::memset(&prop, 0x5a, sizeof prop);
    assert_int_equal(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
    assert_string_equal(prop.name, "SIMT simulator (CPU)");
    assert_int_equal(prop.major, 9);
    assert_int_equal(prop.minor, 0);
    assert_int_equal(prop.warpSize, 32);
    assert_int_equal(prop.sharedMemPerBlock, 48 * 1024);
    assert_true(prop.multiProcessorCount > 0);
    assert_int_equal(prop.maxThreadsPerBlock, 1024);
    size_t fr = 0, total = 0;
    assert_int_equal(cudaMemGetInfo(&fr, &total), cudaSuccess);
    assert_int_equal(prop.totalGlobalMem, total);
    assert_int_equal(cudaGetDeviceProperties(&prop, 1), cudaErrorInvalidDevice);
    assert_int_equal(cudaGetDeviceProperties(nullptr, 0), cudaErrorInvalidValue);
    assert_string_equal(cudaGetErrorString(cudaErrorInvalidDevice), "invalid device ordinal");
    int d = -1;
    assert_int_equal(cudaGetDevice(&d), cudaSuccess);
    assert_int_equal(d, 0);
    assert_int_equal(cudaGetDevice(nullptr), cudaErrorInvalidValue);

    cudaEvent_t a = nullptr, b = nullptr, never = nullptr, untimed = nullptr;
    assert_int_equal(cudaEventCreate(&a), cudaSuccess);
    assert_int_equal(cudaEventCreate(&b), cudaSuccess);
    assert_int_equal(cudaEventCreate(&never), cudaSuccess);
    assert_int_equal(cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming), cudaSuccess);
    assert_non_null(a);
    assert_true(a != b);
    assert_int_equal(cudaEventRecord(a), cudaSuccess);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    assert_int_equal(cudaEventRecord(b, nullptr), cudaSuccess);
    assert_int_equal(cudaEventSynchronize(b), cudaSuccess);
    assert_int_equal(cudaEventQuery(b), cudaSuccess);
    assert_int_equal(cudaStreamWaitEvent(nullptr, b), cudaSuccess);
    float ms = -1;
    assert_int_equal(cudaEventElapsedTime(&ms, a, b), cudaSuccess);
    assert_true(ms >= 29.0f && ms < 5000.0f);
    float back = 0;
    assert_int_equal(cudaEventElapsedTime(&back, b, a), cudaSuccess);
    assert_true(back == -ms);
    assert_int_equal(cudaEventElapsedTime(&ms, a, never), cudaErrorInvalidResourceHandle); /* never recorded */
    assert_int_equal(cudaEventRecord(untimed), cudaSuccess);
    assert_int_equal(cudaEventElapsedTime(&ms, a, untimed), cudaErrorInvalidResourceHandle);
    assert_int_equal(cudaEventElapsedTime(nullptr, a, b), cudaErrorInvalidValue);
    for (cudaEvent_t e : {a, b, never, untimed}) assert_int_equal(cudaEventDestroy(e), cudaSuccess);
    assert_int_equal(cudaEventDestroy(a), cudaErrorInvalidResourceHandle);
    assert_int_equal(cudaEventRecord(a), cudaErrorInvalidResourceHandle);
    assert_int_equal(cudaEventSynchronize(nullptr), cudaErrorInvalidResourceHandle);
    assert_int_equal(cudaEventCreate(nullptr), cudaErrorInvalidValue);
    assert_int_equal(cudaGetLastError(), cudaErrorInvalidValue); /* the last failure, then cleared */
    assert_int_equal(cudaGetLastError(), cudaSuccess);
    std::printf("  device: \"%s\" %d.%d, %d SMs; events: %.1f ms measured over a 30 ms sleep\n", prop.name,
                prop.major, prop.minor, prop.multiProcessorCount, (double)-back);
}

int main(int argc, char **argv) {
    me = argv[0];
    if (argc > 1 && std::strcmp(argv[1], "--memory-limit-child") == 0) return memory_limit_child();
    (void)err; /* simt_test.h's, for the kernel wrappers: none here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_fp32),       cmocka_unit_test(test_gemm_tf32),
        cmocka_unit_test(test_gemm_edges),      cmocka_unit_test(test_tf32_rounding),
        cmocka_unit_test(test_syrk),            cmocka_unit_test(test_status_codes),
        cmocka_unit_test(test_device_pointers), cmocka_unit_test(test_threads),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_device_and_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
