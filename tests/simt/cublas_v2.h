/* cublas_v2.h: the SIMT simulator's cuBLAS (tests only; implemented in cublas_sim.cpp over
 * OpenBLAS). In simulator builds (-Itests/simt) #include <cublas_v2.h> finds this header
 * instead of the real one; names, types, enum values and signatures are the real headers'
 * (cublas_api.h and library_types.h of CUDA 13), for the subset below. As in the real
 * cublas_v2.h, cublasCreate etc. are macros for the _v2 symbols.
 *
 * Semantics are cuBLAS's: column-major; op(X) = X, X^T or (real, so the same) X^H per
 * CUBLAS_OP_N/T/C; leading dimensions; long long batch strides (0 broadcasts a matrix);
 * alpha and beta read from host memory (the only pointer mode: setting
 * CUBLAS_POINTER_MODE_DEVICE returns CUBLAS_STATUS_NOT_SUPPORTED); beta == 0 means C is
 * not read (NaN or Inf there does not propagate); alpha == 0 or k == 0 means A and B are
 * not read (C = beta C), as the reference BLAS; m, n or batchCount == 0 does nothing.
 * Status codes as cuBLAS documents them:
 *   CUBLAS_STATUS_NOT_INITIALIZED  a NULL (or destroyed) handle;
 *   CUBLAS_STATUS_INVALID_VALUE    m, n, k or batchCount < 0; a transpose or fill mode that
 *                                  is not one of the enum's; lda < max(1, rows of A as
 *                                  stored), ldb and ldc likewise; alpha or beta NULL; and,
 *                                  the simulator's own check, an A/B/C extent that a call
 *                                  would touch outside every live cudaMalloc allocation,
 *                                  or an alpha/beta inside one (a device pointer in host
 *                                  pointer mode): one stderr line names the call;
 *   CUBLAS_STATUS_NOT_SUPPORTED    GemmEx types other than CUDA_R_32F for A, B and C; compute
 *                                  types and math modes the simulator does not model
 *                                  (FAST_16F, FAST_16BF, the emulated ones).
 * Precision: CUBLAS_COMPUTE_32F / _PEDANTIC and the default or pedantic math mode compute
 * in fp32 through OpenBLAS. TF32 (cublasGemmEx / cublasGemmStridedBatchedEx with
 * CUBLAS_COMPUTE_32F_FAST_TF32, or cublasSgemm / cublasSgemmStridedBatched on a handle in
 * CUBLAS_TF32_TENSOR_OP_MATH) rounds every element of A and B to TF32 first (10 mantissa
 * bits, round to nearest even; Inf and NaN unchanged) and then multiplies in fp32: this
 * models the input rounding of tensor cores, not their accumulation order, so a GPU's
 * result differs from the simulator's by fp32 accumulation error, not more. The math mode
 * does not change GemmEx (its computeType decides) nor Ssyrk (always fp32 here).
 * The stream set on a handle is recorded (cublasGetStream) and otherwise ignored: every
 * call has finished when it returns. Handles may be used from several host threads.
 * One difference from the real headers: the enums have int as their fixed underlying
 * type, so that a value outside an enum's list (which the calls refuse) is well defined
 * in C++ and under -fsanitize=undefined. */
#ifndef BD_SIMT_CUBLAS_V2_H
#define BD_SIMT_CUBLAS_V2_H

#include "simt.h"

#include <cstdint>

#define CUBLAS_VER_MAJOR 13
#define CUBLAS_VER_MINOR 1
#define CUBLAS_VER_PATCH 0
#define CUBLAS_VERSION (CUBLAS_VER_MAJOR * 10000 + CUBLAS_VER_MINOR * 100 + CUBLAS_VER_PATCH)
#define BD_SIMT_CUBLAS 1

/* library_types.h */
typedef enum cudaDataType_t : int {
    CUDA_R_16F = 2,
    CUDA_C_16F = 6,
    CUDA_R_16BF = 14,
    CUDA_C_16BF = 15,
    CUDA_R_32F = 0,
    CUDA_C_32F = 4,
    CUDA_R_64F = 1,
    CUDA_C_64F = 5,
    CUDA_R_4I = 16,
    CUDA_C_4I = 17,
    CUDA_R_4U = 18,
    CUDA_C_4U = 19,
    CUDA_R_8I = 3,
    CUDA_C_8I = 7,
    CUDA_R_8U = 8,
    CUDA_C_8U = 9,
    CUDA_R_16I = 20,
    CUDA_C_16I = 21,
    CUDA_R_16U = 22,
    CUDA_C_16U = 23,
    CUDA_R_32I = 10,
    CUDA_C_32I = 11,
    CUDA_R_32U = 12,
    CUDA_C_32U = 13,
    CUDA_R_64I = 24,
    CUDA_C_64I = 25,
    CUDA_R_64U = 26,
    CUDA_C_64U = 27,
    CUDA_R_8F_E4M3 = 28,
    CUDA_R_8F_UE4M3 = CUDA_R_8F_E4M3,
    CUDA_R_8F_E5M2 = 29,
    CUDA_R_8F_UE8M0 = 30,
    CUDA_R_6F_E2M3 = 31,
    CUDA_R_6F_E3M2 = 32,
    CUDA_R_4F_E2M1 = 33,
} cudaDataType;
typedef enum cudaDataType_t cudaDataType_t;

/* cublas_api.h */
typedef enum : int {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_MAPPING_ERROR = 11,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_INTERNAL_ERROR = 14,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
    CUBLAS_STATUS_LICENSE_ERROR = 16
} cublasStatus_t;

typedef enum : int { CUBLAS_FILL_MODE_LOWER = 0, CUBLAS_FILL_MODE_UPPER = 1, CUBLAS_FILL_MODE_FULL = 2 } cublasFillMode_t;

typedef enum : int {
    CUBLAS_OP_N = 0,
    CUBLAS_OP_T = 1,
    CUBLAS_OP_C = 2,
    CUBLAS_OP_HERMITAN = 2,
    CUBLAS_OP_CONJG = 3 /* not supported by cuBLAS either: INVALID_VALUE */
} cublasOperation_t;

typedef enum : int { CUBLAS_POINTER_MODE_HOST = 0, CUBLAS_POINTER_MODE_DEVICE = 1 } cublasPointerMode_t;

typedef enum : int {
    CUBLAS_GEMM_DFALT = -1,
    CUBLAS_GEMM_DEFAULT = -1,
    CUBLAS_GEMM_ALGO0 = 0,
    CUBLAS_GEMM_ALGO1 = 1,
    CUBLAS_GEMM_ALGO2 = 2,
    CUBLAS_GEMM_ALGO3 = 3,
    CUBLAS_GEMM_ALGO4 = 4,
    CUBLAS_GEMM_ALGO5 = 5,
    CUBLAS_GEMM_ALGO6 = 6,
    CUBLAS_GEMM_ALGO7 = 7,
    CUBLAS_GEMM_ALGO8 = 8,
    CUBLAS_GEMM_ALGO9 = 9,
    CUBLAS_GEMM_ALGO10 = 10,
    CUBLAS_GEMM_ALGO11 = 11,
    CUBLAS_GEMM_ALGO12 = 12,
    CUBLAS_GEMM_ALGO13 = 13,
    CUBLAS_GEMM_ALGO14 = 14,
    CUBLAS_GEMM_ALGO15 = 15,
    CUBLAS_GEMM_ALGO16 = 16,
    CUBLAS_GEMM_ALGO17 = 17,
    CUBLAS_GEMM_ALGO18 = 18,
    CUBLAS_GEMM_ALGO19 = 19,
    CUBLAS_GEMM_ALGO20 = 20,
    CUBLAS_GEMM_ALGO21 = 21,
    CUBLAS_GEMM_ALGO22 = 22,
    CUBLAS_GEMM_ALGO23 = 23,
    CUBLAS_GEMM_DEFAULT_TENSOR_OP = 99,
    CUBLAS_GEMM_DFALT_TENSOR_OP = 99,
    CUBLAS_GEMM_ALGO0_TENSOR_OP = 100,
    CUBLAS_GEMM_ALGO1_TENSOR_OP = 101,
    CUBLAS_GEMM_ALGO2_TENSOR_OP = 102,
    CUBLAS_GEMM_ALGO3_TENSOR_OP = 103,
    CUBLAS_GEMM_ALGO4_TENSOR_OP = 104,
    CUBLAS_GEMM_ALGO5_TENSOR_OP = 105,
    CUBLAS_GEMM_ALGO6_TENSOR_OP = 106,
    CUBLAS_GEMM_ALGO7_TENSOR_OP = 107,
    CUBLAS_GEMM_ALGO8_TENSOR_OP = 108,
    CUBLAS_GEMM_ALGO9_TENSOR_OP = 109,
    CUBLAS_GEMM_ALGO10_TENSOR_OP = 110,
    CUBLAS_GEMM_ALGO11_TENSOR_OP = 111,
    CUBLAS_GEMM_ALGO12_TENSOR_OP = 112,
    CUBLAS_GEMM_ALGO13_TENSOR_OP = 113,
    CUBLAS_GEMM_ALGO14_TENSOR_OP = 114,
    CUBLAS_GEMM_ALGO15_TENSOR_OP = 115,
    CUBLAS_GEMM_AUTOTUNE = 999,
} cublasGemmAlgo_t; /* every algorithm computes the same here */

typedef enum : int {
    CUBLAS_DEFAULT_MATH = 0,
    CUBLAS_TENSOR_OP_MATH = 1,           /* deprecated (FAST_16F): NOT_SUPPORTED here */
    CUBLAS_PEDANTIC_MATH = 2,
    CUBLAS_TF32_TENSOR_OP_MATH = 3,
    CUBLAS_FP32_EMULATED_BF16X9_MATH = 4, /* NOT_SUPPORTED here */
    CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH = 8, /* no fp64 routines here: NOT_SUPPORTED */
    CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16, /* a flag, accepted (no effect on fp32) */
} cublasMath_t;

typedef cudaDataType cublasDataType_t;

typedef enum : int {
    CUBLAS_COMPUTE_16F = 64,
    CUBLAS_COMPUTE_16F_PEDANTIC = 65,
    CUBLAS_COMPUTE_32F = 68,
    CUBLAS_COMPUTE_32F_PEDANTIC = 69,
    CUBLAS_COMPUTE_32F_FAST_16F = 74,
    CUBLAS_COMPUTE_32F_FAST_16BF = 75,
    CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
    CUBLAS_COMPUTE_32F_EMULATED_16BFX9 = 78,
    CUBLAS_COMPUTE_64F = 70,
    CUBLAS_COMPUTE_64F_PEDANTIC = 71,
    CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT = 79,
    CUBLAS_COMPUTE_32I = 72,
    CUBLAS_COMPUTE_32I_PEDANTIC = 73,
} cublasComputeType_t;

struct cublasContext;
typedef struct cublasContext *cublasHandle_t;

extern "C" {
cublasStatus_t cublasCreate_v2(cublasHandle_t *handle);
cublasStatus_t cublasDestroy_v2(cublasHandle_t handle);
cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId);
cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t *streamId);
cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t *mode);
cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode);
cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t *mode);
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode);
const char *cublasGetStatusName(cublasStatus_t status);
const char *cublasGetStatusString(cublasStatus_t status);

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m,
                              int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb,
                              const float *beta, float *C, int ldc);
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float *alpha, const float *A, int lda,
                                         long long int strideA, const float *B, int ldb, long long int strideB,
                                         const float *beta, float *C, int ldc, long long int strideC,
                                         int batchCount);
cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                            int k, const void *alpha, const void *A, cudaDataType Atype, int lda, const void *B,
                            cudaDataType Btype, int ldb, const void *beta, void *C, cudaDataType Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t algo);
cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                          int m, int n, int k, const void *alpha, const void *A, cudaDataType Atype,
                                          int lda, long long int strideA, const void *B, cudaDataType Btype, int ldb,
                                          long long int strideB, const void *beta, void *C, cudaDataType Ctype,
                                          int ldc, long long int strideC, int batchCount,
                                          cublasComputeType_t computeType, cublasGemmAlgo_t algo);
cublasStatus_t cublasSsyrk_v2(cublasHandle_t handle, cublasFillMode_t uplo, cublasOperation_t trans, int n, int k,
                              const float *alpha, const float *A, int lda, const float *beta, float *C, int ldc);
}

/* As the real header (C++ only): the legacy overloads that take a cudaDataType as the
 * compute type, migrated as cublasMigrateComputeType does (CUDA_R_32F: CUBLAS_COMPUTE_32F,
 * or _PEDANTIC under CUBLAS_PEDANTIC_MATH; other types NOT_SUPPORTED here). */
cublasStatus_t bd_simt_cublas_migrate(cublasHandle_t handle, cudaDataType computeType, cublasComputeType_t *out);
static inline cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                          int m, int n, int k, const void *alpha, const void *A, cudaDataType Atype,
                                          int lda, const void *B, cudaDataType Btype, int ldb, const void *beta,
                                          void *C, cudaDataType Ctype, int ldc, cudaDataType computeType,
                                          cublasGemmAlgo_t algo) {
    cublasComputeType_t ct = CUBLAS_COMPUTE_32F;
    cublasStatus_t st = bd_simt_cublas_migrate(handle, computeType, &ct);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    return cublasGemmEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc,
                        ct, algo);
}
static inline cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
                                                        cublasOperation_t transb, int m, int n, int k,
                                                        const void *alpha, const void *A, cudaDataType Atype,
                                                        int lda, long long int strideA, const void *B,
                                                        cudaDataType Btype, int ldb, long long int strideB,
                                                        const void *beta, void *C, cudaDataType Ctype, int ldc,
                                                        long long int strideC, int batchCount,
                                                        cudaDataType computeType, cublasGemmAlgo_t algo) {
    cublasComputeType_t ct = CUBLAS_COMPUTE_32F;
    cublasStatus_t st = bd_simt_cublas_migrate(handle, computeType, &ct);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    return cublasGemmStridedBatchedEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B, Btype, ldb,
                                      strideB, beta, C, Ctype, ldc, strideC, batchCount, ct, algo);
}

#define cublasCreate cublasCreate_v2
#define cublasDestroy cublasDestroy_v2
#define cublasSetStream cublasSetStream_v2
#define cublasGetStream cublasGetStream_v2
#define cublasGetPointerMode cublasGetPointerMode_v2
#define cublasSetPointerMode cublasSetPointerMode_v2
#define cublasSgemm cublasSgemm_v2
#define cublasSsyrk cublasSsyrk_v2

#endif
