/* rotary.cu: ESM's rotary position embedding (src/backend/ops.h's bd_rotary) and the row
 * scaling of its embeddings (bd_rows_scale), elementwise: one thread per rotated pair, the
 * angle computed as the CPU does (float32 t * 1 / 10000^(2i/D)); cosf / sinf may differ from
 * the host's by an ulp, so this is close to the CPU op, not bit for bit. */
#include "bd_cuda.h"
#include "kernels.h"

#define BD_GRID_CAP 4096u

__global__ void bd_rotary_kernel(float *x, int B, int T, int NH, int D, int sign, size_t n) {
    const int half = D / 2;
    for (size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += (size_t)gridDim.x * blockDim.x) {
        /* k = ((row * NH) + h) * half + i */
        const int i = (int)(k % (size_t)half);
        const size_t rh = k / (size_t)half, row = rh / (size_t)NH;
        const int h = (int)(rh % (size_t)NH), t = (int)(row % (size_t)T);
        const float inv = 1.0f / powf(10000.0f, (float)(2 * i) / (float)D);
        const float ang = (float)t * inv, c = cosf(ang), s = (float)sign * sinf(ang);
        float *v = x + row * (size_t)NH * D + (size_t)h * D;
        const float x1 = v[i], x2 = v[i + half];
        v[i] = x1 * c - x2 * s;
        v[i + half] = x2 * c + x1 * s;
    }
    (void)B;
}

__global__ void bd_rows_scale_kernel(float *x, const float *s, int C, size_t n) {
    for (size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += (size_t)gridDim.x * blockDim.x)
        x[k] *= s[k / (size_t)C];
}

extern "C" int bd_cu_rotary(float *x, int B, int T, int NH, int D, int sign, void *stream, bd_err *e) {
    if (B <= 0 || T <= 0 || NH <= 0 || D < 2) return 0;
    const size_t n = (size_t)B * T * NH * (D / 2);
    BD_LAUNCH(bd_rotary_kernel, bd_cu_blocks(n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0, BD_CU_STREAM(stream),
              x, B, T, NH, D, sign, n);
    BD_CU_LAUNCHED(e, bd_rotary_kernel);
    return 0;
}

extern "C" int bd_cu_rows_scale(float *x, const float *s, int N, int C, void *stream, bd_err *e) {
    if (N <= 0 || C <= 0) return 0;
    const size_t n = (size_t)N * C;
    BD_LAUNCH(bd_rows_scale_kernel, bd_cu_blocks(n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), x, s, C, n);
    BD_CU_LAUNCHED(e, bd_rows_scale_kernel);
    return 0;
}
