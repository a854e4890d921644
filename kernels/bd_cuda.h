/* bd_cuda.h: what every kernel source shares: the launch macro both compilers accept,
 * dynamic shared memory, checked CUDA calls and the block reductions.
 * Under nvcc this is plain CUDA; under the SIMT simulator (tests/simt/simt.h, included
 * first with g++ -include) the same names come from the simulator. */
#ifndef BD_CUDA_H
#define BD_CUDA_H

#ifndef BD_SIMT
#include <cuda_runtime.h>
/* BD_LAUNCH(kernel, grid, block, shmem_bytes, stream, args...) */
#define BD_LAUNCH(kernel, grid, block, shmem, stream, ...) \
    kernel<<<(grid), (block), (shmem), (stream)>>>(__VA_ARGS__)
/* The launch's dynamic shared buffer as T name[] (one raw buffer, so kernels with
 * different element types can share a translation unit). */
#define BD_DYNAMIC_SHARED(T, name)                                   \
    extern __shared__ __align__(16) unsigned char bd_dyn_smem_raw_[]; \
    T *name = reinterpret_cast<T *>(bd_dyn_smem_raw_)
#endif

#include <stddef.h>
#include <stdint.h>
extern "C" {
#include "err.h"
}

/* A failed CUDA call: one line naming the call, file:line and the error string,
 * into the bd_err, and the enclosing function returns -1. */
#define BD_CU_TRY(e, call)                                                                 \
    do {                                                                                   \
        cudaError_t bd_cu_rc_ = (call);                                                    \
        if (bd_cu_rc_ != cudaSuccess)                                                      \
            return bd_errf((e), "%s failed at %s:%d: %s", #call, __FILE__, __LINE__,       \
                           cudaGetErrorString(bd_cu_rc_));                                 \
    } while (0)

/* After a launch: the launch error (configuration, resources), named by kernel. */
#define BD_CU_LAUNCHED(e, kernel)                                                          \
    do {                                                                                   \
        cudaError_t bd_cu_rc_ = cudaGetLastError();                                       \
        if (bd_cu_rc_ != cudaSuccess)                                                      \
            return bd_errf((e), "launch of %s failed at %s:%d: %s", #kernel, __FILE__,     \
                           __LINE__, cudaGetErrorString(bd_cu_rc_));                       \
    } while (0)

#define BD_CU_STREAM(s) ((cudaStream_t)(s))
#define BD_CU_THREADS 256 /* the block size of the row and elementwise kernels */

/* Blocks for a grid-stride loop over n elements: enough to fill a large GPU, never
 * more than the elements need. */
static inline unsigned bd_cu_blocks(size_t n, unsigned threads, unsigned cap) {
    size_t b = (n + threads - 1) / threads;
    if (b < 1) b = 1;
    return (unsigned)(b < cap ? b : cap);
}

/* Sum over the warp (every lane gets it); all 32 lanes must take part. */
template <typename T> __device__ __forceinline__ T bd_warp_sum(T v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
template <typename T> __device__ __forceinline__ T bd_warp_max(T v) {
    for (int o = 16; o > 0; o >>= 1) {
        T u = __shfl_xor_sync(0xffffffffu, v, o);
        v = u > v ? u : v;
    }
    return v;
}

/* Sum over the block (every thread gets it): warp sums by shuffles, one partial per
 * warp in shared memory, warp 0 sums the partials. blockDim.x a multiple of 32, at most
 * 1024; sh holds 32 values. Safe to call repeatedly with the same sh. */
template <typename T> __device__ __forceinline__ T bd_block_sum(T v, T *sh) {
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = bd_warp_sum(v);
    __syncthreads(); /* the previous call's readers are done with sh */
    if (lane == 0) sh[w] = v;
    __syncthreads();
    if (w == 0) {
        T p = lane < nw ? sh[lane] : T(0);
        p = bd_warp_sum(p);
        if (lane == 0) sh[0] = p; /* lane 0 read sh[0] before the shuffles */
    }
    __syncthreads();
    return sh[0];
}

#endif
