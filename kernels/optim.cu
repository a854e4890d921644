/* optim.cu: one fused AdamW or SGD launch over a parameter group (src/train/optim.c's
 * bd_optim_step), sum of squares (bd_sumsq), scale and axpy. */
#include "bd_cuda.h"
#include "kernels.h"

#include <math.h>

#define BD_GRID_CAP 4096u

/* optim.c's loop body, operation by operation; the _rn intrinsics keep nvcc from
 * contracting products into FMAs, so the GPU rounds as the CPU does. */
__global__ void bd_adamw_kernel(float *w, const float *g, float *m1, float *m2, size_t n, float b1,
                                float b2, float eps, float decay, float step, float inv_sqrt_bc2) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const float gi = g[i];
        const float wi = __fmul_rn(w[i], decay);
        const float m = __fadd_rn(__fmul_rn(b1, m1[i]), __fmul_rn(__fsub_rn(1.0f, b1), gi));
        const float v = __fadd_rn(__fmul_rn(b2, m2[i]), __fmul_rn(__fmul_rn(__fsub_rn(1.0f, b2), gi), gi));
        m1[i] = m;
        m2[i] = v;
        const float den = __fadd_rn(__fmul_rn(__fsqrt_rn(v), inv_sqrt_bc2), eps);
        w[i] = __fsub_rn(wi, __fdiv_rn(__fmul_rn(step, m), den));
    }
}

__global__ void bd_sgd_kernel(float *w, const float *g, size_t n, float lr, float wd) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        w[i] = __fsub_rn(w[i], __fmul_rn(lr, __fadd_rn(g[i], __fmul_rn(wd, w[i]))));
}

/* Pass 1: block b sums squares of its grid-stride share in double into part[b]. */
__global__ void bd_sumsq_partial_kernel(double *part, const float *x, size_t n) {
    __shared__ double red[32];
    double s = 0.0;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        s += (double)x[i] * x[i];
    s = bd_block_sum(s, red);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}

/* Pass 2: one block adds the partials (a fixed order: deterministic) to *acc. */
__global__ void bd_sumsq_final_kernel(double *acc, const double *part, int nparts) {
    __shared__ double red[32];
    double s = 0.0;
    for (int i = threadIdx.x; i < nparts; i += blockDim.x) s += part[i];
    s = bd_block_sum(s, red);
    if (threadIdx.x == 0) *acc += s;
}

__global__ void bd_scale_kernel(float *x, size_t n, float s) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        x[i] *= s;
}

__global__ void bd_axpy_kernel(float *y, const float *x, size_t n, float a) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] += a * x[i];
}

extern "C" int bd_cu_adamw_step(float *w, const float *g, float *m1, float *m2, size_t n, long t,
                                float lr, float beta1, float beta2, float eps, float weight_decay,
                                void *stream, bd_err *e) {
    if (n == 0) return 0;
    if (t < 1) return bd_errf(e, "bd_cu_adamw_step: step %ld (the first step is 1)", t);
    /* the host-side scalars exactly as optim.c computes them */
    const double bc1 = 1.0 - pow(beta1, (double)t), bc2 = 1.0 - pow(beta2, (double)t);
    const float step = (float)(lr / bc1), inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    const float decay = 1.0f - lr * weight_decay;
    BD_LAUNCH(bd_adamw_kernel, bd_cu_blocks(n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), w, g, m1, m2, n, beta1, beta2, eps, decay, step, inv_sqrt_bc2);
    BD_CU_LAUNCHED(e, bd_adamw_kernel);
    return 0;
}

extern "C" int bd_cu_sgd_step(float *w, const float *g, size_t n, float lr, float weight_decay,
                              void *stream, bd_err *e) {
    if (n == 0) return 0;
    BD_LAUNCH(bd_sgd_kernel, bd_cu_blocks(n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), w, g, n, lr, weight_decay);
    BD_CU_LAUNCHED(e, bd_sgd_kernel);
    return 0;
}

extern "C" int bd_cu_sumsq(double *acc, const float *x, size_t n, double *scratch, void *stream,
                           bd_err *e) {
    if (n == 0) return 0;
    const unsigned nb = bd_cu_blocks(n, BD_CU_THREADS, BD_CU_SUMSQ_SCRATCH);
    BD_LAUNCH(bd_sumsq_partial_kernel, nb, BD_CU_THREADS, 0, BD_CU_STREAM(stream), scratch, x, n);
    BD_CU_LAUNCHED(e, bd_sumsq_partial_kernel);
    BD_LAUNCH(bd_sumsq_final_kernel, 1, 1024, 0, BD_CU_STREAM(stream), acc, (const double *)scratch, (int)nb);
    BD_CU_LAUNCHED(e, bd_sumsq_final_kernel);
    return 0;
}

extern "C" int bd_cu_scale(float *x, size_t n, float s, void *stream, bd_err *e) {
    if (n == 0) return 0;
    BD_LAUNCH(bd_scale_kernel, bd_cu_blocks(n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), x, n, s);
    BD_CU_LAUNCHED(e, bd_scale_kernel);
    return 0;
}

extern "C" int bd_cu_axpy(float *y, const float *x, size_t n, float a, void *stream, bd_err *e) {
    if (n == 0) return 0;
    BD_LAUNCH(bd_axpy_kernel, bd_cu_blocks(n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), y, x, n, a);
    BD_CU_LAUNCHED(e, bd_axpy_kernel);
    return 0;
}
