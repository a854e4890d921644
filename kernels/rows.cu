/* rows.cu: y[N, C] += alpha b[C] row by row (the bias subtraction in PEFT's DoRA order,
 * src/model/adapter.c). Bit for bit src/backend/backend_cpu.c's cpu_add_rows: one product, one sum. */
#include "bd_cuda.h"

extern "C" {
#include "kernels.h"
}

__global__ void bd_add_rows_kernel(float *y, const float *b, size_t N, int C, float alpha) {
    const size_t n = N * (size_t)C;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const float bi = b[i % (size_t)C];
        y[i] = alpha == -1.0f ? __fsub_rn(y[i], bi) : __fadd_rn(y[i], __fmul_rn(alpha, bi));
    }
}

extern "C" int bd_cu_add_rows(float *y, const float *b, int N, int C, float alpha, void *stream, bd_err *e) {
    if (N < 0 || C < 0) return bd_errf(e, "bd_cu_add_rows: bad shape [%d, %d]", N, C);
    const size_t n = (size_t)N * (size_t)C;
    if (!n) return 0;
    BD_LAUNCH(bd_add_rows_kernel, bd_cu_blocks(n, BD_CU_THREADS, 4096), BD_CU_THREADS, 0, BD_CU_STREAM(stream), y, b,
              (size_t)N, C, alpha);
    BD_CU_LAUNCHED(e, bd_add_rows_kernel);
    return 0;
}
