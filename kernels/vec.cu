/* vec.cu: the vector ops of the backend table (src/backend/backend.h) that are neither BLAS nor
 * a model op: strided row copies, out = x + a y, BiDoRA's hypergradient combination, and
 * the bias of a linear layer (the rows a GEMM with beta 1 starts from, and its gradient).
 * Each follows src/backend/backend_cpu.c (bias_grad: src/backend/ops_cpu_bwd.c's bd_linear_bwd) operation
 * by operation with round-to-nearest intrinsics, so the results are the CPU's bit for bit. */
#include "bd_cuda.h"
#include "kernels.h"

#define BD_GRID_CAP 4096u
#define BD_COL_THREADS 128 /* one thread per column: neighbouring threads read neighbouring floats */

__global__ void bd_copy_rows_kernel(float *dst, size_t dst_ld, const float *src, size_t src_ld,
                                    int cols, size_t total) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        const size_t r = i / (size_t)cols, c = i % (size_t)cols;
        dst[r * dst_ld + c] = src[r * src_ld + c];
    }
}

/* out = x + a y: the product rounded on its own (no FMA), then the sum, as the CPU. */
__global__ void bd_add_scaled_kernel(float *out, const float *x, float a, const float *y, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = __fadd_rn(x[i], __fmul_rn(a, y[i]));
}

/* h = (float)(gd - k ((double)gp - gm)), all in double: the difference, the product
 * (rounded on its own), the difference, then the one rounding to float. */
__global__ void bd_hyper_combine_kernel(float *h, const float *gd, const float *gp, const float *gm,
                                        double k, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const double d = (double)gp[i] - (double)gm[i];
        h[i] = (float)((double)gd[i] - __dmul_rn(k, d));
    }
}

/* Every row of out[N, OUT] = b. */
__global__ void bd_bias_rows_kernel(float *out, const float *b, int OUT, size_t total) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        out[i] = b[i % (size_t)OUT];
}

/* db[o] += dout[n, o] for n = 0 .. N-1, one float addition at a time into db[o] as
 * bd_linear_bwd does: one thread per column, the rows in order. */
__global__ void bd_bias_grad_kernel(float *db, const float *dout, int N, int OUT) {
    for (int o = blockIdx.x * blockDim.x + threadIdx.x; o < OUT; o += gridDim.x * blockDim.x) {
        float s = db[o];
        for (int t = 0; t < N; t++) s = __fadd_rn(s, dout[(size_t)t * OUT + o]);
        db[o] = s;
    }
}

extern "C" int bd_cu_copy_rows(float *dst, size_t dst_ld, const float *src, size_t src_ld, int rows,
                               int cols, void *stream, bd_err *e) {
    if (rows <= 0 || cols <= 0) return 0;
    const size_t total = (size_t)rows * cols;
    BD_LAUNCH(bd_copy_rows_kernel, bd_cu_blocks(total, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), dst, dst_ld, src, src_ld, cols, total);
    BD_CU_LAUNCHED(e, bd_copy_rows_kernel);
    return 0;
}

extern "C" int bd_cu_add_scaled(float *out, const float *x, float a, const float *y, size_t n,
                                void *stream, bd_err *e) {
    if (n == 0) return 0;
    BD_LAUNCH(bd_add_scaled_kernel, bd_cu_blocks(n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), out, x, a, y, n);
    BD_CU_LAUNCHED(e, bd_add_scaled_kernel);
    return 0;
}

extern "C" int bd_cu_hyper_combine(float *h, const float *gd, const float *gp, const float *gm, double k,
                                   size_t n, void *stream, bd_err *e) {
    if (n == 0) return 0;
    BD_LAUNCH(bd_hyper_combine_kernel, bd_cu_blocks(n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), h, gd, gp, gm, k, n);
    BD_CU_LAUNCHED(e, bd_hyper_combine_kernel);
    return 0;
}

extern "C" int bd_cu_bias_rows(float *out, const float *b, int N, int OUT, void *stream, bd_err *e) {
    if (N <= 0 || OUT <= 0) return 0;
    const size_t total = (size_t)N * OUT;
    BD_LAUNCH(bd_bias_rows_kernel, bd_cu_blocks(total, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), out, b, OUT, total);
    BD_CU_LAUNCHED(e, bd_bias_rows_kernel);
    return 0;
}

extern "C" int bd_cu_bias_grad(float *db, const float *dout, int N, int OUT, void *stream, bd_err *e) {
    if (N <= 0 || OUT <= 0) return 0;
    BD_LAUNCH(bd_bias_grad_kernel, bd_cu_blocks((size_t)OUT, BD_COL_THREADS, BD_GRID_CAP), BD_COL_THREADS, 0,
              BD_CU_STREAM(stream), db, dout, N, OUT);
    BD_CU_LAUNCHED(e, bd_bias_grad_kernel);
    return 0;
}
