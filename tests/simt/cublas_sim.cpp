/* cublas_sim.cpp: the SIMT simulator's cuBLAS subset (cublas_v2.h) over host memory,
 * computed by OpenBLAS (cblas_sgemm / cblas_ssyrk, column-major). The semantics, status
 * codes and precision model are described in cublas_v2.h. Every A/B/C extent a call would
 * touch is checked against the simulator's live cudaMalloc allocations
 * (simt::device_range_ok) before anything is read or written. */
#include "cublas_v2.h"

#include <cblas.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <vector>

struct cublasContext {
    cudaStream_t stream;
    cublasMath_t math;
};

namespace {

std::mutex handle_m;
std::set<cublasHandle_t> handles; /* live handles: a destroyed one is NOT_INITIALIZED */

/* The handle's state, copied under the lock (another thread may change the math mode). */
bool snapshot(cublasHandle_t h, cublasContext *out) {
    std::lock_guard<std::mutex> l(handle_m);
    if (!h || !handles.count(h)) return false;
    *out = *h;
    return true;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
cublasStatus_t complain(cublasStatus_t st, const char *call, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "simt %s: %s: %s\n", call, msg, cublasGetStatusName(st));
    return st;
}

bool valid_op(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }
const char *op_name(cublasOperation_t op) { return op == CUBLAS_OP_N ? "N" : op == CUBLAS_OP_T ? "T" : "C"; }
CBLAS_TRANSPOSE cblas_op(cublasOperation_t op) { return op == CUBLAS_OP_N ? CblasNoTrans : CblasTrans; }
int imax1(int v) { return v > 1 ? v : 1; }

/* Whether the floats a call touches of matrix `name` (rows x cols, column-major with ld,
 * batch matrices stride floats apart) lie inside one live allocation; complains if not. */
bool extent_ok(const char *call, const char *name, const void *p, int rows, int cols, int ld,
               long long stride, int batch) {
    if (rows == 0 || cols == 0 || batch == 0) return true;
    const __int128 one = (__int128)(cols - 1) * ld + rows; /* floats of one matrix */
    const __int128 last = (__int128)(batch - 1) * stride;   /* the last matrix's offset */
    const __int128 lo = last < 0 ? last : 0, hi = (last > 0 ? last : 0) + one;
    const __int128 start = (__int128)(uintptr_t)p + lo * (__int128)sizeof(float);
    const __int128 bytes = (hi - lo) * (__int128)sizeof(float);
    bool ok = p && start >= 0 && bytes <= (__int128)SIZE_MAX && start + bytes <= (__int128)UINTPTR_MAX &&
              simt::device_range_ok((const void *)(uintptr_t)start, (size_t)bytes);
    if (!ok) {
        if (batch > 1)
            complain(CUBLAS_STATUS_INVALID_VALUE, call,
                     "%s = %p: %d x %d (ld %d), %d matrices %lld floats apart, %lld bytes from %p, is not inside "
                     "one live cudaMalloc allocation (a host pointer, freed, or past the end?)",
                     name, p, rows, cols, ld, batch, stride, (long long)bytes, (const void *)(uintptr_t)start);
        else
            complain(CUBLAS_STATUS_INVALID_VALUE, call,
                     "%s = %p: %d x %d (ld %d), %lld bytes, is not inside one live cudaMalloc allocation "
                     "(a host pointer, freed, or past the end?)",
                     name, p, rows, cols, ld, (long long)bytes);
    }
    return ok;
}

/* alpha and beta are read on the host (the only pointer mode): one that lies in device
 * memory is a bug that the GPU would turn into a crash. */
bool scalar_ok(const char *call, const char *name, const void *p) {
    if (!simt::device_range_ok(p, sizeof(float))) return true;
    complain(CUBLAS_STATUS_INVALID_VALUE, call,
             "%s = %p points into device memory, but the pointer mode is CUBLAS_POINTER_MODE_HOST", name, p);
    return false;
}

/* TF32: 10 of fp32's 23 mantissa bits, rounded to nearest even on the 13 dropped bits
 * (a carry may reach the exponent, and FLT_MAX rounds to Inf); Inf and NaN unchanged. */
float to_tf32(float x) {
    uint32_t u;
    std::memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u) return x;
    u += 0xfffu + ((u >> 13) & 1u);
    u &= ~0x1fffu;
    std::memcpy(&x, &u, sizeof x);
    return x;
}

/* A rows x cols matrix (ld) rounded to TF32 into a packed one (ld = max(1, rows)). */
void round_tf32(const float *src, int rows, int cols, int ld, std::vector<float> &dst) {
    dst.resize((size_t)rows * cols);
    for (int j = 0; j < cols; j++)
        for (int i = 0; i < rows; i++) dst[(size_t)j * rows + i] = to_tf32(src[(size_t)j * ld + i]);
}

/* C (m x n, ldc) = beta C, C not read when beta == 0. */
void scale_c(float *C, int m, int n, int ldc, float beta) {
    if (beta == 1.0f) return;
    for (int j = 0; j < n; j++) {
        float *c = C + (size_t)j * ldc;
        if (beta == 0.0f) std::memset(c, 0, (size_t)m * sizeof(float));
        else
            for (int i = 0; i < m; i++) c[i] *= beta;
    }
}

/* One gemm call's arguments (a single matrix: batch 1, strides 0). */
struct Gemm {
    const char *call;
    cublasOperation_t ta, tb;
    int m, n, k;
    const float *alpha;
    const float *A;
    int lda;
    long long sA;
    const float *B;
    int ldb;
    long long sB;
    const float *beta;
    float *C;
    int ldc;
    long long sC;
    int batch;
    int ra, ca, rb, cb; /* A and B as stored: rows, columns (set by gemm_check) */
};

/* The INVALID_VALUE checks of cuBLAS's gemm documentation, then alpha and beta on the host. */
cublasStatus_t gemm_check(Gemm &g) {
    const cublasStatus_t bad = CUBLAS_STATUS_INVALID_VALUE;
    const char *call = g.call;
    if (!valid_op(g.ta) || !valid_op(g.tb))
        return complain(bad, call, "transa %d / transb %d: not CUBLAS_OP_N, _T or _C", (int)g.ta, (int)g.tb);
    if (g.m < 0 || g.n < 0 || g.k < 0 || g.batch < 0)
        return complain(bad, call, "m %d, n %d, k %d, batchCount %d: negative", g.m, g.n, g.k, g.batch);
    g.ra = g.ta == CUBLAS_OP_N ? g.m : g.k;
    g.ca = g.ta == CUBLAS_OP_N ? g.k : g.m;
    g.rb = g.tb == CUBLAS_OP_N ? g.k : g.n;
    g.cb = g.tb == CUBLAS_OP_N ? g.n : g.k;
    if (g.lda < imax1(g.ra)) return complain(bad, call, "lda %d < max(1, %d) (transa %s)", g.lda, g.ra, op_name(g.ta));
    if (g.ldb < imax1(g.rb)) return complain(bad, call, "ldb %d < max(1, %d) (transb %s)", g.ldb, g.rb, op_name(g.tb));
    if (g.ldc < imax1(g.m)) return complain(bad, call, "ldc %d < max(1, m = %d)", g.ldc, g.m);
    if (!g.alpha || !g.beta)
        return complain(bad, call, "alpha %p, beta %p: NULL", (const void *)g.alpha, (const void *)g.beta);
    if (!scalar_ok(call, "alpha", g.alpha) || !scalar_ok(call, "beta", g.beta)) return bad;
    return CUBLAS_STATUS_SUCCESS;
}

/* After gemm_check: the quick returns, the extent checks, then one cblas_sgemm a batch. */
cublasStatus_t gemm_run(const Gemm &g, bool tf32) {
    if (g.m == 0 || g.n == 0 || g.batch == 0) return CUBLAS_STATUS_SUCCESS;
    const float a = *g.alpha, b = *g.beta;
    const bool read_ab = g.k > 0 && a != 0.0f; /* else C = beta C, A and B not read */
    if (!extent_ok(g.call, "C", g.C, g.m, g.n, g.ldc, g.sC, g.batch)) return CUBLAS_STATUS_INVALID_VALUE;
    if (read_ab && (!extent_ok(g.call, "A", g.A, g.ra, g.ca, g.lda, g.sA, g.batch) ||
                    !extent_ok(g.call, "B", g.B, g.rb, g.cb, g.ldb, g.sB, g.batch)))
        return CUBLAS_STATUS_INVALID_VALUE;
    std::vector<float> ta32, tb32;
    for (int i = 0; i < g.batch; i++) {
        float *c = g.C + i * g.sC;
        if (!read_ab) {
            scale_c(c, g.m, g.n, g.ldc, b);
            continue;
        }
        const float *ap = g.A + i * g.sA, *bp = g.B + i * g.sB;
        int la = g.lda, lb = g.ldb;
        if (tf32) {
            if (i == 0 || g.sA != 0) round_tf32(ap, g.ra, g.ca, g.lda, ta32); /* stride 0: once */
            if (i == 0 || g.sB != 0) round_tf32(bp, g.rb, g.cb, g.ldb, tb32);
            ap = ta32.data();
            bp = tb32.data();
            la = imax1(g.ra);
            lb = imax1(g.rb);
        }
        if (b == 0.0f) scale_c(c, g.m, g.n, g.ldc, 0.0f); /* C is not read: NaN there must not survive */
        cblas_sgemm(CblasColMajor, cblas_op(g.ta), cblas_op(g.tb), g.m, g.n, g.k, a, ap, la, bp, lb, b, c, g.ldc);
    }
    return CUBLAS_STATUS_SUCCESS;
}

/* GemmEx's types and compute type: fp32 throughout, or TF32 inputs. */
cublasStatus_t ex_mode(const char *call, cudaDataType at, cudaDataType bt, cudaDataType ct, cublasComputeType_t comp,
                       cublasGemmAlgo_t algo, bool *tf32) {
    const int al = (int)algo;
    if (!(al == -1 || (al >= 0 && al <= 23) || (al >= 99 && al <= 115) || al == 999))
        return complain(CUBLAS_STATUS_INVALID_VALUE, call, "algo %d: not a cublasGemmAlgo_t", al);
    switch (comp) {
    case CUBLAS_COMPUTE_32F:
    case CUBLAS_COMPUTE_32F_PEDANTIC: *tf32 = false; break;
    case CUBLAS_COMPUTE_32F_FAST_TF32: *tf32 = true; break;
    case CUBLAS_COMPUTE_16F:
    case CUBLAS_COMPUTE_16F_PEDANTIC:
    case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF:
    case CUBLAS_COMPUTE_32F_EMULATED_16BFX9:
    case CUBLAS_COMPUTE_64F:
    case CUBLAS_COMPUTE_64F_PEDANTIC:
    case CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT:
    case CUBLAS_COMPUTE_32I:
    case CUBLAS_COMPUTE_32I_PEDANTIC:
        return complain(CUBLAS_STATUS_NOT_SUPPORTED, call,
                        "computeType %d: the simulator models CUBLAS_COMPUTE_32F, _32F_PEDANTIC and _32F_FAST_TF32",
                        (int)comp);
    default: return complain(CUBLAS_STATUS_INVALID_VALUE, call, "computeType %d: not a cublasComputeType_t", (int)comp);
    }
    if (at != CUDA_R_32F || bt != CUDA_R_32F || ct != CUDA_R_32F)
        return complain(CUBLAS_STATUS_NOT_SUPPORTED, call,
                        "Atype %d, Btype %d, Ctype %d: the simulator supports CUDA_R_32F only", (int)at, (int)bt,
                        (int)ct);
    return CUBLAS_STATUS_SUCCESS;
}

/* An Ex call: the INVALID_VALUE checks, then the types and compute type (NOT_SUPPORTED),
 * then the product. */
cublasStatus_t gemm_ex(Gemm &g, cudaDataType at, cudaDataType bt, cudaDataType ct, cublasComputeType_t comp,
                       cublasGemmAlgo_t algo) {
    cublasStatus_t st = gemm_check(g);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    bool tf32 = false;
    st = ex_mode(g.call, at, bt, ct, comp, algo, &tf32);
    return st != CUBLAS_STATUS_SUCCESS ? st : gemm_run(g, tf32);
}

/* The handle's math mode as fp32 or TF32 for Sgemm and SgemmStridedBatched. */
bool math_tf32(const cublasContext &h) { return ((int)h.math & 0xf) == CUBLAS_TF32_TENSOR_OP_MATH; }

} // namespace

/* ---- handles ---------------------------------------------------------------------- */
extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t *handle) {
    if (!handle) return complain(CUBLAS_STATUS_INVALID_VALUE, "cublasCreate", "handle: NULL");
    cublasHandle_t h = new cublasContext{nullptr, CUBLAS_DEFAULT_MATH};
    std::lock_guard<std::mutex> l(handle_m);
    handles.insert(h);
    *handle = h;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
    std::lock_guard<std::mutex> l(handle_m);
    if (!handle || !handles.count(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    handles.erase(handle);
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId) {
    std::lock_guard<std::mutex> l(handle_m);
    if (!handle || !handles.count(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = streamId;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t *streamId) {
    cublasContext h;
    if (!snapshot(handle, &h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!streamId) return CUBLAS_STATUS_INVALID_VALUE;
    *streamId = h.stream;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t *mode) {
    cublasContext h;
    if (!snapshot(handle, &h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = CUBLAS_POINTER_MODE_HOST;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode) {
    cublasContext h;
    if (!snapshot(handle, &h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode == CUBLAS_POINTER_MODE_HOST) return CUBLAS_STATUS_SUCCESS;
    if (mode == CUBLAS_POINTER_MODE_DEVICE)
        return complain(CUBLAS_STATUS_NOT_SUPPORTED, "cublasSetPointerMode",
                        "CUBLAS_POINTER_MODE_DEVICE: the simulator reads alpha and beta on the host only");
    return CUBLAS_STATUS_INVALID_VALUE;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t *mode) {
    cublasContext h;
    if (!snapshot(handle, &h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = h.math;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
    std::lock_guard<std::mutex> l(handle_m);
    if (!handle || !handles.count(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    const int base = (int)mode & ~(int)CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
    switch (base) {
    case CUBLAS_DEFAULT_MATH:
    case CUBLAS_PEDANTIC_MATH:
    case CUBLAS_TF32_TENSOR_OP_MATH: handle->math = mode; return CUBLAS_STATUS_SUCCESS;
    case CUBLAS_TENSOR_OP_MATH:
    case CUBLAS_FP32_EMULATED_BF16X9_MATH:
    case CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH:
        return complain(CUBLAS_STATUS_NOT_SUPPORTED, "cublasSetMathMode",
                        "mode %d: the simulator models the default, pedantic and TF32 modes", (int)mode);
    default: return CUBLAS_STATUS_INVALID_VALUE;
    }
}

const char *cublasGetStatusName(cublasStatus_t status) {
    switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

/* (the simulator's own wording: the library's strings may differ) */
const char *cublasGetStatusString(cublasStatus_t status) {
    switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "an absent device architectural feature is required";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "an error was detected when checking the current licensing";
    }
    return "unknown cuBLAS status";
}

/* ---- BLAS 3 ----------------------------------------------------------------------- */
cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m,
                              int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb,
                              const float *beta, float *C, int ldc) {
    cublasContext h;
    if (!snapshot(handle, &h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    Gemm g{"cublasSgemm", transa, transb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1, 0, 0, 0, 0};
    cublasStatus_t st = gemm_check(g);
    return st != CUBLAS_STATUS_SUCCESS ? st : gemm_run(g, math_tf32(h));
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float *alpha, const float *A, int lda,
                                         long long int strideA, const float *B, int ldb, long long int strideB,
                                         const float *beta, float *C, int ldc, long long int strideC,
                                         int batchCount) {
    cublasContext h;
    if (!snapshot(handle, &h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    Gemm g{"cublasSgemmStridedBatched", transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB, beta,
           C, ldc, strideC, batchCount, 0, 0, 0, 0};
    cublasStatus_t st = gemm_check(g);
    return st != CUBLAS_STATUS_SUCCESS ? st : gemm_run(g, math_tf32(h));
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                            int k, const void *alpha, const void *A, cudaDataType Atype, int lda, const void *B,
                            cudaDataType Btype, int ldb, const void *beta, void *C, cudaDataType Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
    cublasContext h;
    if (!snapshot(handle, &h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    Gemm g{"cublasGemmEx", transa, transb, m, n, k, static_cast<const float *>(alpha),
           static_cast<const float *>(A), lda, 0, static_cast<const float *>(B), ldb, 0,
           static_cast<const float *>(beta), static_cast<float *>(C), ldc, 0, 1, 0, 0, 0, 0};
    return gemm_ex(g, Atype, Btype, Ctype, computeType, algo);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                          int m, int n, int k, const void *alpha, const void *A, cudaDataType Atype,
                                          int lda, long long int strideA, const void *B, cudaDataType Btype, int ldb,
                                          long long int strideB, const void *beta, void *C, cudaDataType Ctype,
                                          int ldc, long long int strideC, int batchCount,
                                          cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
    cublasContext h;
    if (!snapshot(handle, &h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    Gemm g{"cublasGemmStridedBatchedEx", transa, transb, m, n, k, static_cast<const float *>(alpha),
           static_cast<const float *>(A), lda, strideA, static_cast<const float *>(B), ldb, strideB,
           static_cast<const float *>(beta), static_cast<float *>(C), ldc, strideC, batchCount, 0, 0, 0, 0};
    return gemm_ex(g, Atype, Btype, Ctype, computeType, algo);
}

cublasStatus_t cublasSsyrk_v2(cublasHandle_t handle, cublasFillMode_t uplo, cublasOperation_t trans, int n, int k,
                              const float *alpha, const float *A, int lda, const float *beta, float *C, int ldc) {
    const char *call = "cublasSsyrk";
    const cublasStatus_t bad = CUBLAS_STATUS_INVALID_VALUE;
    cublasContext h;
    if (!snapshot(handle, &h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (uplo != CUBLAS_FILL_MODE_LOWER && uplo != CUBLAS_FILL_MODE_UPPER)
        return complain(bad, call, "uplo %d: not CUBLAS_FILL_MODE_LOWER or _UPPER", (int)uplo);
    if (!valid_op(trans)) return complain(bad, call, "trans %d: not CUBLAS_OP_N, _T or _C", (int)trans);
    if (n < 0 || k < 0) return complain(bad, call, "n %d, k %d: negative", n, k);
    const int ra = trans == CUBLAS_OP_N ? n : k, ca = trans == CUBLAS_OP_N ? k : n;
    if (lda < imax1(ra)) return complain(bad, call, "lda %d < max(1, %d) (trans %s)", lda, ra, op_name(trans));
    if (ldc < imax1(n)) return complain(bad, call, "ldc %d < max(1, n = %d)", ldc, n);
    if (!alpha || !beta) return complain(bad, call, "alpha %p, beta %p: NULL", (const void *)alpha, (const void *)beta);
    if (!scalar_ok(call, "alpha", alpha) || !scalar_ok(call, "beta", beta)) return bad;
    if (n == 0) return CUBLAS_STATUS_SUCCESS;
    const float a = *alpha, b = *beta;
    const bool read_a = k > 0 && a != 0.0f;
    if (!extent_ok(call, "C", C, n, n, ldc, 0, 1)) return bad;
    if (read_a && !extent_ok(call, "A", A, ra, ca, lda, 0, 1)) return bad;
    /* Only the uplo triangle (with the diagonal) is touched. Without a product it is
     * scaled by beta here; with one, beta == 0 zeroes it first (it is not read). */
    const float s = read_a ? 0.0f : b;
    if (!read_a ? b != 1.0f : b == 0.0f)
        for (int j = 0; j < n; j++) {
            const int i0 = uplo == CUBLAS_FILL_MODE_UPPER ? 0 : j, i1 = uplo == CUBLAS_FILL_MODE_UPPER ? j + 1 : n;
            float *c = C + (size_t)j * ldc;
            for (int i = i0; i < i1; i++) c[i] = s == 0.0f ? 0.0f : c[i] * s;
        }
    if (read_a)
        cblas_ssyrk(CblasColMajor, uplo == CUBLAS_FILL_MODE_UPPER ? CblasUpper : CblasLower, cblas_op(trans), n, k,
                    a, A, lda, b, C, ldc);
    return CUBLAS_STATUS_SUCCESS;
}

} // extern "C"

cublasStatus_t bd_simt_cublas_migrate(cublasHandle_t handle, cudaDataType computeType, cublasComputeType_t *out) {
    cublasMath_t mode = CUBLAS_DEFAULT_MATH;
    cublasStatus_t st = cublasGetMathMode(handle, &mode);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    const bool pedantic = ((int)mode & 0xf) == CUBLAS_PEDANTIC_MATH;
    switch (computeType) {
    case CUDA_R_32F:
    case CUDA_C_32F: *out = pedantic ? CUBLAS_COMPUTE_32F_PEDANTIC : CUBLAS_COMPUTE_32F; return CUBLAS_STATUS_SUCCESS;
    case CUDA_R_64F:
    case CUDA_C_64F: *out = pedantic ? CUBLAS_COMPUTE_64F_PEDANTIC : CUBLAS_COMPUTE_64F; return CUBLAS_STATUS_SUCCESS;
    case CUDA_R_16F: *out = pedantic ? CUBLAS_COMPUTE_16F_PEDANTIC : CUBLAS_COMPUTE_16F; return CUBLAS_STATUS_SUCCESS;
    case CUDA_R_32I: *out = pedantic ? CUBLAS_COMPUTE_32I_PEDANTIC : CUBLAS_COMPUTE_32I; return CUBLAS_STATUS_SUCCESS;
    default: return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}
