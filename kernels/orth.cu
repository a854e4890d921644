/* orth.cu: the row steps of the orthogonality regularizer (src/model/orth.c, the backend's
 * rows_normalize / gram_minus_identity / rows_project of src/backend/backend_cpu.c): normalise
 * the rows of W' = W0 + s B A, subtract I from the Gram matrix cuBLAS computed, and
 * project the gradient through the normalisation.
 *
 * The row sums stay bit for bit the CPU's: its double sum runs sequentially over the
 * columns, and so does this one. One warp per row: each round the 32 lanes load 32
 * consecutive columns (coalesced) and put their exact double products (float x float
 * fits a double's 53 bits) into the warp's slots of shared memory; then every lane adds
 * the 32 slots in column order, so every lane ends with the CPU's sum. Columns past the
 * end add +0.0, which leaves the sum unchanged (it starts at +0.0, so it is never -0.0).
 * The cost is a dependent chain of cols double additions per row (~cols x 8 cycles),
 * the rows in parallel. */
#include "bd_cuda.h"
#include "kernels.h"

#include <math.h>

#define BD_GRID_CAP 4096u
#define BD_ROW_WARPS 8 /* rows per block of the warp-per-row kernels */

/* The warp's sequential sum over the columns of a . b (b == a: the sum of squares), as
 * the CPU's loop `for (i) s += (double)a[i] * b[i]`. Every lane of the warp calls it
 * with the same row; every lane gets the sum. slot: the warp's 32 doubles. */
__device__ __forceinline__ double bd_row_dot_seq(const float *a, const float *b, int cols, double *slot) {
    const int lane = threadIdx.x & 31;
    double s = 0.0;
    for (int base = 0; base < cols; base += 32) {
        const int i = base + lane;
        slot[lane] = i < cols ? __dmul_rn((double)a[i], (double)b[i]) : 0.0;
        __syncwarp();
        for (int k = 0; k < 32; k++) s = __dadd_rn(s, slot[k]);
        __syncwarp(); /* every lane has read the slots before the next round writes them */
    }
    return s;
}

/* norms[j] = (float)sqrt(sum_i W[j,i]^2), W_j *= (norms[j] > 0 ? 1 / norms[j] : 0). */
__global__ void bd_rows_normalize_kernel(float *W, float *norms, int rows, int cols) {
    __shared__ double slots[BD_ROW_WARPS][32];
    const int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    for (int j = blockIdx.x * BD_ROW_WARPS + w; j < rows; j += gridDim.x * BD_ROW_WARPS) {
        float *row = W + (size_t)j * cols;
        const double ss = bd_row_dot_seq(row, row, cols, slots[w]);
        const float nj = (float)sqrt(ss);
        const float inv = nj > 0 ? __fdiv_rn(1.0f, nj) : 0.0f;
        for (int i = lane; i < cols; i += 32) row[i] = __fmul_rn(row[i], inv);
        if (lane == 0) norms[j] = nj;
    }
}

/* G[i,i] -= 1 on the full rows x rows Gram matrix. */
__global__ void bd_sub_identity_kernel(float *G, int rows) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < rows; i += gridDim.x * blockDim.x) {
        float *d = G + (size_t)i * rows + i;
        *d = __fsub_rn(*d, 1.0f);
    }
}

/* dW_j = (dW_j - (float)(dW_j . U_j) U_j) * (norms[j] > 0 ? 1 / norms[j] : 0). */
__global__ void bd_rows_project_kernel(float *dW, const float *U, const float *norms, int rows, int cols) {
    __shared__ double slots[BD_ROW_WARPS][32];
    const int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    for (int j = blockIdx.x * BD_ROW_WARPS + w; j < rows; j += gridDim.x * BD_ROW_WARPS) {
        float *g = dW + (size_t)j * cols;
        const float *u = U + (size_t)j * cols;
        const float dot = (float)bd_row_dot_seq(g, u, cols, slots[w]);
        const float nj = norms[j];
        const float inv = nj > 0 ? __fdiv_rn(1.0f, nj) : 0.0f;
        for (int i = lane; i < cols; i += 32) g[i] = __fmul_rn(__fsub_rn(g[i], __fmul_rn(dot, u[i])), inv);
    }
}

extern "C" int bd_cu_rows_normalize(float *W, float *norms, int rows, int cols, void *stream, bd_err *e) {
    /* cols == 0 still launches: every norm is then 0, as on the CPU */
    if (rows <= 0) return 0;
    BD_LAUNCH(bd_rows_normalize_kernel, bd_cu_blocks((size_t)rows, BD_ROW_WARPS, BD_GRID_CAP), BD_ROW_WARPS * 32, 0,
              BD_CU_STREAM(stream), W, norms, rows, cols < 0 ? 0 : cols);
    BD_CU_LAUNCHED(e, bd_rows_normalize_kernel);
    return 0;
}

extern "C" int bd_cu_sub_identity(float *G, int rows, void *stream, bd_err *e) {
    if (rows <= 0) return 0;
    BD_LAUNCH(bd_sub_identity_kernel, bd_cu_blocks((size_t)rows, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), G, rows);
    BD_CU_LAUNCHED(e, bd_sub_identity_kernel);
    return 0;
}

extern "C" int bd_cu_rows_project(float *dW, const float *U, const float *norms, int rows, int cols, void *stream,
                                  bd_err *e) {
    if (rows <= 0 || cols <= 0) return 0;
    BD_LAUNCH(bd_rows_project_kernel, bd_cu_blocks((size_t)rows, BD_ROW_WARPS, BD_GRID_CAP), BD_ROW_WARPS * 32, 0,
              BD_CU_STREAM(stream), dW, U, norms, rows, cols);
    BD_CU_LAUNCHED(e, bd_rows_project_kernel);
    return 0;
}
