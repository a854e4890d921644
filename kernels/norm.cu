/* norm.cu: LayerNorm forward and backward (src/backend/ops.h's bd_layernorm_fwd/bwd). */
#include "bd_cuda.h"
#include "kernels.h"

#define BD_LN_MAX_C 12000 /* the row (48000 bytes) and the reduction slots within 48 KiB of shared memory */

/* One block per row: the row is read once into shared memory; mean, then the variance
 * around it (two passes, as the CPU op). */
__global__ void bd_layernorm_fwd_kernel(float *out, float *mean, float *rstd, const float *inp,
                                        const float *g, const float *b, int C, float eps) {
    BD_DYNAMIC_SHARED(float, xs);
    __shared__ float red[32];
    const size_t row = blockIdx.x;
    const float *x = inp + row * (size_t)C;
    float s = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        xs[c] = x[c];
        s += xs[c];
    }
    const float m = bd_block_sum(s, red) / (float)C;
    float v = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float d = xs[c] - m;
        v += d * d;
    }
    const float var = bd_block_sum(v, red) / (float)C;
    const float r = 1.0f / sqrtf(var + eps);
    float *y = out + row * (size_t)C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) y[c] = (xs[c] - m) * r * g[c] + b[c];
    if (threadIdx.x == 0) {
        if (mean) mean[row] = m;
        if (rstd) rstd[row] = r;
    }
}

/* dinp, one block per row: s * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)). */
__global__ void bd_layernorm_bwd_dinp_kernel(float *dinp, const float *dout, const float *inp,
                                             const float *g, const float *mean, const float *rstd,
                                             int C) {
    __shared__ float red[32];
    const size_t row = blockIdx.x;
    const float *x = inp + row * (size_t)C, *go = dout + row * (size_t)C;
    const float m = mean[row], s = rstd[row];
    float a = 0.0f, an = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float norm = (x[c] - m) * s, dnorm = go[c] * g[c];
        a += dnorm;
        an += dnorm * norm;
    }
    const float dm = bd_block_sum(a, red) / (float)C;
    const float dnm = bd_block_sum(an, red) / (float)C;
    float *d = dinp + row * (size_t)C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float norm = (x[c] - m) * s, dnorm = go[c] * g[c];
        d[c] += s * (dnorm - dm - norm * dnm);
    }
}

/* dg, db: one thread per column summing over the rows in order (deterministic,
 * coalesced: neighbouring threads read neighbouring columns of a row). */
__global__ void bd_layernorm_bwd_params_kernel(float *dg, float *db, const float *dout,
                                               const float *inp, const float *mean,
                                               const float *rstd, int N, int C) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float sg = 0.0f, sb = 0.0f;
    for (int n = 0; n < N; n++) {
        const size_t at = (size_t)n * C + c;
        sg += (inp[at] - mean[n]) * rstd[n] * dout[at];
        sb += dout[at];
    }
    if (dg) dg[c] += sg;
    if (db) db[c] += sb;
}

extern "C" int bd_cu_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp,
                                   const float *g, const float *b, int N, int C, float eps,
                                   void *stream, bd_err *e) {
    if (N <= 0 || C <= 0) return 0;
    if (C > BD_LN_MAX_C) return bd_errf(e, "bd_cu_layernorm_fwd: C = %d over %d", C, BD_LN_MAX_C);
    BD_LAUNCH(bd_layernorm_fwd_kernel, N, BD_CU_THREADS, sizeof(float) * (size_t)C,
              BD_CU_STREAM(stream), out, mean, rstd, inp, g, b, C, eps);
    BD_CU_LAUNCHED(e, bd_layernorm_fwd_kernel);
    return 0;
}

extern "C" int bd_cu_layernorm_bwd(float *dinp, float *dg, float *db, const float *dout,
                                   const float *inp, const float *g, const float *mean,
                                   const float *rstd, int N, int C, void *stream, bd_err *e) {
    if (N <= 0 || C <= 0) return 0;
    if (dinp) {
        BD_LAUNCH(bd_layernorm_bwd_dinp_kernel, N, BD_CU_THREADS, 0, BD_CU_STREAM(stream), dinp,
                  dout, inp, g, mean, rstd, C);
        BD_CU_LAUNCHED(e, bd_layernorm_bwd_dinp_kernel);
    }
    if (dg || db) {
        BD_LAUNCH(bd_layernorm_bwd_params_kernel, (C + BD_CU_THREADS - 1) / BD_CU_THREADS,
                  BD_CU_THREADS, 0, BD_CU_STREAM(stream), dg, db, dout, inp, mean, rstd, N, C);
        BD_CU_LAUNCHED(e, bd_layernorm_bwd_params_kernel);
    }
    return 0;
}
