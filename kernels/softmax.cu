/* softmax.cu: the masked attention softmax of bd_attention_fwd and its backward
 * (the row step of bd_attention_bwd), in place, one warp per row. */
#include "bd_cuda.h"
#include "kernels.h"

#include <float.h>

#define BD_SM_ROWS 4 /* rows (warps) per block */

__global__ void bd_softmax_fwd_kernel(float *P, const float *mask, long rows, int NH, int T) {
    const long row = (long)blockIdx.x * BD_SM_ROWS + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows) return; /* a whole warp leaves together */
    const long b = row / ((long)NH * T);
    const float *mb = mask + b * T;
    float *p = P + row * (long)T;
    float mx = -INFINITY;
    for (int j = lane; j < T; j += 32) {
        float s = p[j];
        if (mb[j] == 0.0f) s += -FLT_MAX; /* transformers: finfo(float32).min */
        p[j] = s;
        mx = s > mx ? s : mx;
    }
    mx = bd_warp_max(mx);
    float sum = 0.0f;
    for (int j = lane; j < T; j += 32) {
        float ex = expf(p[j] - mx);
        p[j] = ex;
        sum += ex;
    }
    const float inv = 1.0f / bd_warp_sum(sum);
    for (int j = lane; j < T; j += 32) p[j] *= inv;
}

__global__ void bd_softmax_bwd_kernel(float *dS, const float *P, long rows, int T, float scale) {
    const long row = (long)blockIdx.x * BD_SM_ROWS + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= rows) return;
    float *d = dS + row * (long)T;
    const float *p = P + row * (long)T;
    float dot = 0.0f;
    for (int j = lane; j < T; j += 32) dot += p[j] * d[j];
    dot = bd_warp_sum(dot);
    for (int j = lane; j < T; j += 32) d[j] = p[j] * (d[j] - dot) * scale;
}

extern "C" int bd_cu_softmax_fwd(float *P, const float *mask, int B, int NH, int T, void *stream,
                                 bd_err *e) {
    if (B <= 0 || NH <= 0 || T <= 0) return 0;
    const long rows = (long)B * NH * T;
    BD_LAUNCH(bd_softmax_fwd_kernel, (unsigned)((rows + BD_SM_ROWS - 1) / BD_SM_ROWS), 32 * BD_SM_ROWS, 0,
              BD_CU_STREAM(stream), P, mask, rows, NH, T);
    BD_CU_LAUNCHED(e, bd_softmax_fwd_kernel);
    return 0;
}

extern "C" int bd_cu_softmax_bwd(float *dS, const float *P, long rows, int T, float scale,
                                 void *stream, bd_err *e) {
    if (rows <= 0 || T <= 0) return 0;
    BD_LAUNCH(bd_softmax_bwd_kernel, (unsigned)((rows + BD_SM_ROWS - 1) / BD_SM_ROWS), 32 * BD_SM_ROWS, 0,
              BD_CU_STREAM(stream), dS, P, rows, T, scale);
    BD_CU_LAUNCHED(e, bd_softmax_bwd_kernel);
    return 0;
}
