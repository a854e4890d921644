/* loss.cu: mean cross-entropy (src/backend/ops.h's bd_xent_fwd/bwd) and mean squared error
 * (bd_mse_fwd/bwd). The forwards reduce in double as the CPU does (per-row losses,
 * then one block adds them in a fixed order: deterministic) and leave the mean loss,
 * a float, in device memory. */
#include "bd_cuda.h"
#include "kernels.h"

#include <math.h>

#define BD_XENT_ROWS 8 /* rows (warps) per block */

/* One warp per row: the max in float, sum exp(z - max) and the log-sum-exp in double,
 * probs = (float)exp(z - lse), the row's loss lse - z[label] (double) into rowloss. */
__global__ void bd_xent_fwd_kernel(float *probs, double *rowloss, const float *logits,
                                   const int32_t *labels, int B, int L) {
    const int row = blockIdx.x * BD_XENT_ROWS + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= B) return; /* a whole warp leaves together */
    const float *z = logits + (size_t)row * L;
    float mx = -INFINITY;
    for (int l = lane; l < L; l += 32) mx = z[l] > mx ? z[l] : mx;
    mx = bd_warp_max(mx);
    double sum = 0.0;
    for (int l = lane; l < L; l += 32) sum += exp((double)z[l] - mx);
    const double lse = log(bd_warp_sum(sum)) + mx;
    float *p = probs + (size_t)row * L;
    for (int l = lane; l < L; l += 32) p[l] = (float)exp((double)z[l] - lse);
    if (lane == 0) rowloss[row] = lse - z[labels[row]];
}

/* One block: *loss = (float)(sum of part[0..n) / n), the sum in a fixed order. */
__global__ void bd_mean_kernel(float *loss, const double *part, int n) {
    __shared__ double red[32];
    double s = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += part[i];
    s = bd_block_sum(s, red);
    if (threadIdx.x == 0) *loss = (float)(s / n);
}

/* dlogits += s * (probs - onehot), s = scale / B (the host computes it as the CPU). The
 * _rn intrinsics keep nvcc from contracting into an FMA, so it rounds as the CPU. */
__global__ void bd_xent_bwd_kernel(float *dlogits, const float *probs, const int32_t *labels,
                                   int L, size_t n, float s) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const size_t b = i / (size_t)L, l = i % (size_t)L;
        const float y = (long)l == (long)labels[b] ? 1.0f : 0.0f;
        dlogits[i] = __fadd_rn(dlogits[i], __fmul_rn(s, __fsub_rn(probs[i], y)));
    }
}

/* One block: *loss = (float)(sum (pred - target)^2 / B), in double. */
__global__ void bd_mse_fwd_kernel(float *loss, const float *pred, const float *target, int B) {
    __shared__ double red[32];
    double s = 0.0;
    for (int i = threadIdx.x; i < B; i += blockDim.x) {
        const double d = (double)pred[i] - target[i];
        s += d * d;
    }
    s = bd_block_sum(s, red);
    if (threadIdx.x == 0) *loss = (float)(s / B);
}

/* dpred += s * (pred - target), s = 2 scale / B. */
__global__ void bd_mse_bwd_kernel(float *dpred, const float *pred, const float *target, int B, float s) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < B; i += gridDim.x * blockDim.x)
        dpred[i] = __fadd_rn(dpred[i], __fmul_rn(s, __fsub_rn(pred[i], target[i])));
}

extern "C" int bd_cu_xent_fwd(float *loss, float *probs, const float *logits, const int32_t *labels,
                              int B, int L, double *scratch, void *stream, bd_err *e) {
    if (B <= 0 || L <= 0) return bd_errf(e, "bd_cu_xent_fwd: B = %d, L = %d (a mean over no rows)", B, L);
    BD_LAUNCH(bd_xent_fwd_kernel, (unsigned)((B + BD_XENT_ROWS - 1) / BD_XENT_ROWS), 32 * BD_XENT_ROWS, 0,
              BD_CU_STREAM(stream), probs, scratch, logits, labels, B, L);
    BD_CU_LAUNCHED(e, bd_xent_fwd_kernel);
    BD_LAUNCH(bd_mean_kernel, 1, BD_CU_THREADS, 0, BD_CU_STREAM(stream), loss, scratch, B);
    BD_CU_LAUNCHED(e, bd_mean_kernel);
    return 0;
}

extern "C" int bd_cu_xent_bwd(float *dlogits, const float *probs, const int32_t *labels, int B, int L,
                              float scale, void *stream, bd_err *e) {
    if (!dlogits || B <= 0 || L <= 0) return 0;
    const float s = scale / (float)B; /* as ops_cpu_bwd.c */
    const size_t n = (size_t)B * L;
    BD_LAUNCH(bd_xent_bwd_kernel, bd_cu_blocks(n, BD_CU_THREADS, 4096u), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), dlogits, probs, labels, L, n, s);
    BD_CU_LAUNCHED(e, bd_xent_bwd_kernel);
    return 0;
}

extern "C" int bd_cu_mse_fwd(float *loss, const float *pred, const float *target, int B, void *stream,
                             bd_err *e) {
    if (B <= 0) return bd_errf(e, "bd_cu_mse_fwd: B = %d (a mean over no rows)", B);
    BD_LAUNCH(bd_mse_fwd_kernel, 1, BD_CU_THREADS, 0, BD_CU_STREAM(stream), loss, pred, target, B);
    BD_CU_LAUNCHED(e, bd_mse_fwd_kernel);
    return 0;
}

extern "C" int bd_cu_mse_bwd(float *dpred, const float *pred, const float *target, int B, float scale,
                             void *stream, bd_err *e) {
    if (!dpred || B <= 0) return 0;
    const float s = 2.0f * scale / (float)B; /* as ops_cpu_bwd.c */
    BD_LAUNCH(bd_mse_bwd_kernel, bd_cu_blocks((size_t)B, BD_CU_THREADS, 4096u), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), dpred, pred, target, B, s);
    BD_CU_LAUNCHED(e, bd_mse_bwd_kernel);
    return 0;
}
