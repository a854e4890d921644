/* dora.cu: DoRA's row norms ||W0_j + s B_j A|| and the magnitude scaling of the
 * adapted output (src/adapter.c's bd_adapter_init_norms, bd_dora_row_norms and the
 * last step of bd_adapted_fwd). The products W0 A^T and A A^T are cuBLAS's; these
 * kernels take them as inputs. */
#include "bd_cuda.h"
#include "kernels.h"

#include <math.h>

#define BD_GRID_CAP 4096u

/* ||W0_j||^2 in double, one block per row, stored as float. */
__global__ void bd_dora_init_norms_kernel(float *w0_sqnorm, const float *w0, int in) {
    __shared__ double red[32];
    const float *w = w0 + (size_t)blockIdx.x * in;
    double s = 0.0;
    for (int i = threadIdx.x; i < in; i += blockDim.x) s += (double)w[i] * w[i];
    s = bd_block_sum(s, red);
    if (threadIdx.x == 0) w0_sqnorm[blockIdx.x] = (float)s;
}

/* One thread per row j: adapter.c's loops in its order, in double, with the _rn
 * intrinsics (no FMA contraction), so n[j] is bit for bit the CPU's:
 * n_j^2 = ||W0_j||^2 + 2 s B_j . (W0 A^T)_j + s^2 B_j (A A^T) B_j^T. */
__global__ void bd_dora_row_norms_kernel(float *n, const float *w0_sqnorm, const float *B,
                                         const float *w0a, const float *aat, float s, int out, int r) {
    for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < out; j += gridDim.x * blockDim.x) {
        const float *Bj = B + (size_t)j * r, *wa = w0a + (size_t)j * r;
        double cross = 0.0, quad = 0.0;
        for (int a = 0; a < r; a++) {
            cross = __dadd_rn(cross, __dmul_rn((double)Bj[a], (double)wa[a]));
            double t = 0.0;
            for (int b = 0; b < r; b++) t = __dadd_rn(t, __dmul_rn((double)aat[a * r + b], (double)Bj[b]));
            quad = __dadd_rn(quad, __dmul_rn((double)Bj[a], t));
        }
        const double n2 = __dadd_rn(__dadd_rn((double)w0_sqnorm[j], __dmul_rn(__dmul_rn(2.0, (double)s), cross)),
                                    __dmul_rn(__dmul_rn((double)s, (double)s), quad));
        n[j] = (float)sqrt(n2 > 0.0 ? n2 : 0.0);
    }
}

/* y = (m_j / n_j) z + b_j (lin NULL; z may be y), or y += (m_j / n_j) z - lin (the
 * dropout form), in bd_adapted_fwd's operation order. */
__global__ void bd_dora_scale_kernel(float *y, const float *z, const float *m, const float *n,
                                     const float *b, const float *lin, int out, size_t total) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        const size_t j = i % (size_t)out;
        const float cz = __fmul_rn(__fdiv_rn(m[j], n[j]), z[i]);
        if (lin) y[i] = __fadd_rn(y[i], __fsub_rn(cz, lin[i]));
        else y[i] = __fadd_rn(cz, b ? b[j] : 0.0f);
    }
}

extern "C" int bd_cu_dora_init_norms(float *w0_sqnorm, const float *w0, int out, int in, void *stream,
                                     bd_err *e) {
    if (out <= 0 || in <= 0) return 0;
    BD_LAUNCH(bd_dora_init_norms_kernel, out, BD_CU_THREADS, 0, BD_CU_STREAM(stream), w0_sqnorm, w0, in);
    BD_CU_LAUNCHED(e, bd_dora_init_norms_kernel);
    return 0;
}

extern "C" int bd_cu_dora_row_norms(float *n, const float *w0_sqnorm, const float *B, const float *w0a,
                                    const float *aat, float s, int out, int r, void *stream, bd_err *e) {
    if (out <= 0) return 0;
    BD_LAUNCH(bd_dora_row_norms_kernel, bd_cu_blocks((size_t)out, 128, BD_GRID_CAP), 128, 0,
              BD_CU_STREAM(stream), n, w0_sqnorm, B, w0a, aat, s, out, r);
    BD_CU_LAUNCHED(e, bd_dora_row_norms_kernel);
    return 0;
}

extern "C" int bd_cu_dora_scale(float *y, const float *z, const float *m, const float *n, const float *b,
                                const float *lin, int N, int out, void *stream, bd_err *e) {
    if (N <= 0 || out <= 0) return 0;
    const size_t total = (size_t)N * out;
    BD_LAUNCH(bd_dora_scale_kernel, bd_cu_blocks(total, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), y, z, m, n, b, lin, out, total);
    BD_CU_LAUNCHED(e, bd_dora_scale_kernel);
    return 0;
}
