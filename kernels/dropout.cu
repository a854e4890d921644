/* dropout.cu: the keep mask of src/model/model.c drawn per element from (seed, i), and
 * inverted dropout forward and backward (src/backend/ops.h's bd_dropout_fwd/bwd). */
#include "bd_cuda.h"
#include "kernels.h"

#define BD_GRID_CAP 4096u

/* model.c's keep_range: splitmix64's finaliser of seed + i * golden ratio. */
__device__ __forceinline__ uint8_t bd_keep_of(uint64_t seed, uint64_t i, uint32_t threshold) {
    uint64_t z = seed + i * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (uint32_t)(z >> 32) >= threshold;
}

__global__ void bd_dropout_mask_kernel(uint8_t *keep, size_t n, uint64_t seed, uint32_t threshold) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        keep[i] = bd_keep_of(seed, i, threshold);
}

__global__ void bd_dropout_fwd_kernel(float *out, const float *inp, const uint8_t *keep, float s, long n) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        out[i] = keep[i] ? inp[i] * s : 0.0f;
}

__global__ void bd_dropout_bwd_kernel(float *dinp, const float *dout, const uint8_t *keep, float s, long n) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        dinp[i] += keep[i] ? dout[i] * s : 0.0f;
}

extern "C" int bd_cu_dropout_mask(uint8_t *keep, size_t n, uint64_t seed, float p, void *stream, bd_err *e) {
    if (n == 0) return 0;
    /* model.c's draw_keep: the threshold p * 2^32, clamped to 2^32 - 1 */
    const double t = (double)p * 4294967296.0;
    const uint32_t threshold = (uint32_t)(t > 4294967295.0 ? 4294967295.0 : t);
    BD_LAUNCH(bd_dropout_mask_kernel, bd_cu_blocks(n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), keep, n, seed, threshold);
    BD_CU_LAUNCHED(e, bd_dropout_mask_kernel);
    return 0;
}

extern "C" int bd_cu_dropout_fwd(float *out, const float *inp, const uint8_t *keep, float p, long n,
                                 void *stream, bd_err *e) {
    if (n <= 0) return 0;
    BD_LAUNCH(bd_dropout_fwd_kernel, bd_cu_blocks((size_t)n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), out, inp, keep, 1.0f / (1.0f - p), n);
    BD_CU_LAUNCHED(e, bd_dropout_fwd_kernel);
    return 0;
}

extern "C" int bd_cu_dropout_bwd(float *dinp, const float *dout, const uint8_t *keep, float p, long n,
                                 void *stream, bd_err *e) {
    if (n <= 0 || !dinp) return 0;
    BD_LAUNCH(bd_dropout_bwd_kernel, bd_cu_blocks((size_t)n, BD_CU_THREADS, BD_GRID_CAP), BD_CU_THREADS, 0,
              BD_CU_STREAM(stream), dinp, dout, keep, 1.0f / (1.0f - p), n);
    BD_CU_LAUNCHED(e, bd_dropout_bwd_kernel);
    return 0;
}
