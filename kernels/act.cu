/* act.cu: GELU (erf and tanh forms), ReLU and tanh, forward and backward
 * (src/backend/ops.h's bd_act_fwd/bwd, bd_tanh_fwd/bwd), elementwise grid-stride loops. */
#include "bd_cuda.h"
#include "kernels.h"
#include "erf.h" /* the CPU's erf, the same constants */

#define BD_SQRT_2_OVER_PI 0.7978845608028654f
#define BD_INV_SQRT_2PI 0.3989422804014327f
#define BD_SQRT1_2 0.70710678118654752440f
#define BD_GRID_CAP 4096u


__global__ void bd_act_fwd_kernel(float *out, const float *inp, long n, int act) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        const float x = inp[i];
        if (act == 0) out[i] = 0.5f * x * (1.0f + bd_erf(x * BD_SQRT1_2));
        else if (act == 1) out[i] = 0.5f * x * (1.0f + tanhf(BD_SQRT_2_OVER_PI * (x + 0.044715f * x * x * x)));
        else out[i] = x > 0.0f ? x : 0.0f;
    }
}

__global__ void bd_act_bwd_kernel(float *dinp, const float *inp, const float *dout, long n, int act) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        const float x = inp[i];
        if (act == 0) {
            /* d/dx [x Phi(x)] = Phi(x) + x phi(x) */
            float cdf = 0.5f * (1.0f + bd_erf(x * BD_SQRT1_2));
            float pdf = BD_INV_SQRT_2PI * expf(-0.5f * x * x);
            dinp[i] += dout[i] * (cdf + x * pdf);
        } else if (act == 1) {
            float th = tanhf(BD_SQRT_2_OVER_PI * (x + 0.044715f * x * x * x));
            float du = BD_SQRT_2_OVER_PI * (1.0f + 3.0f * 0.044715f * x * x);
            dinp[i] += dout[i] * (0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du);
        } else {
            dinp[i] += x > 0.0f ? dout[i] : 0.0f;
        }
    }
}

__global__ void bd_tanh_fwd_kernel(float *out, const float *inp, long n) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        out[i] = tanhf(inp[i]);
}

__global__ void bd_tanh_bwd_kernel(float *dinp, const float *out, const float *dout, long n) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
}

extern "C" int bd_cu_act_fwd(float *out, const float *inp, long n, int act, void *stream, bd_err *e) {
    if (n <= 0) return 0;
    if (act < 0 || act > 2) return bd_errf(e, "bd_cu_act_fwd: unknown activation %d", act);
    BD_LAUNCH(bd_act_fwd_kernel, bd_cu_blocks((size_t)n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), out, inp, n, act);
    BD_CU_LAUNCHED(e, bd_act_fwd_kernel);
    return 0;
}

extern "C" int bd_cu_act_bwd(float *dinp, const float *inp, const float *dout, long n, int act,
                             void *stream, bd_err *e) {
    if (n <= 0 || !dinp) return 0;
    if (act < 0 || act > 2) return bd_errf(e, "bd_cu_act_bwd: unknown activation %d", act);
    BD_LAUNCH(bd_act_bwd_kernel, bd_cu_blocks((size_t)n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), dinp, inp, dout, n, act);
    BD_CU_LAUNCHED(e, bd_act_bwd_kernel);
    return 0;
}

extern "C" int bd_cu_tanh_fwd(float *out, const float *inp, long n, void *stream, bd_err *e) {
    if (n <= 0) return 0;
    BD_LAUNCH(bd_tanh_fwd_kernel, bd_cu_blocks((size_t)n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), out, inp, n);
    BD_CU_LAUNCHED(e, bd_tanh_fwd_kernel);
    return 0;
}

extern "C" int bd_cu_tanh_bwd(float *dinp, const float *out, const float *dout, long n, void *stream,
                              bd_err *e) {
    if (n <= 0 || !dinp) return 0;
    BD_LAUNCH(bd_tanh_bwd_kernel, bd_cu_blocks((size_t)n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), dinp, out, dout, n);
    BD_CU_LAUNCHED(e, bd_tanh_bwd_kernel);
    return 0;
}
