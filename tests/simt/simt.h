/* simt.h: a small SIMT simulator, so that the kernels (kernels/NAME.cu) run on the CPU in the tests.
 * Included first into every kernel source (g++ -x c++ -include tests/simt/simt.h):
 * it supplies the CUDA dialect (__global__, __shared__, threadIdx, ..., __syncthreads,
 * warp shuffles and votes, atomics) and the subset of the CUDA runtime that our host
 * code calls, over host memory.
 *
 * Semantics (tests/simt/simt.cpp):
 * - blocks of the grid run one after another (valid CUDA: blocks are independent), so a
 *   kernel's __shared__ statics are one copy per block; the dynamic shared buffer is one
 *   per launch, filled with NaN bytes before each block (CUDA leaves it uninitialised);
 * - the threads of a block run on one of two executors (set_executor, BD_SIMT_EXECUTOR):
 *   fibers (the default), user-level contexts on the launching OS thread that switch at
 *   the barriers, round robin in thread-id order, deterministic; a kernel whose threads
 *   all wait at barriers that cannot release aborts with "simt: deadlock in kernel ...";
 *   or threads, one OS thread per thread of the block (the default under ThreadSanitizer,
 *   so that it sees the threads of a block as threads); launches from several host
 *   threads take turns;
 * - __syncthreads() is a barrier of the block's threads that have not returned (as on
 *   the hardware); warp shuffles and votes exchange through a per-warp slot array between
 *   two warp barriers; lanes are consecutive linear thread ids, 32 to a warp;
 * - atomics are __atomic builtins, so ThreadSanitizer sees them as atomic and a missing
 *   __syncthreads() as the data race it is;
 * - a launch with an invalid configuration sets cudaErrorInvalidConfiguration, returned
 *   by cudaGetLastError(), and runs nothing; streams are synchronous no-ops; events
 *   record the host's wall clock; cudaMalloc can be made to fail (set_memory_limit);
 * - cuBLAS: tests/simt/cublas_v2.h and cublas_sim.cpp (OpenBLAS underneath).
 * Not modelled: timing and coalescing, the static __shared__ size (only the dynamic
 * buffer is checked against 48 KiB), __syncthreads() in divergent code (threads that
 * returned simply leave the barrier; a split that can never meet is a deadlock, found by
 * the fibers, a hang with threads), concurrent kernels, streams and events as ordering,
 * launches from inside a kernel (abort). */
#ifndef BD_SIMT_H
#define BD_SIMT_H

#define BD_SIMT 1

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <utility>

/* ---- the dialect ------------------------------------------------------------- */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
#define __align__(n) alignas(n)

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 { unsigned x, y, z; };

extern thread_local uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim; /* written before a launch's threads start, read-only during it */
constexpr int warpSize = 32;

/* IEEE round-to-nearest intrinsics (never contracted into an FMA on the GPU). */
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __fsqrt_rn(float a) { return std::sqrt(a); }
static inline float rsqrtf(float a) { return 1.0f / std::sqrt(a); }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dmul_rn(double a, double b) { return a * b; }

namespace simt {
void syncthreads();
void syncwarp();
uint64_t warp_exchange(uint64_t mine, int src_lane); /* every lane of the warp calls it */
int lane_id();
int warp_lanes(); /* lanes in this thread's warp (the last warp of a block may be short) */
void *dynamic_shared();

template <typename T> static inline uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof v);
    return b;
}
template <typename T> static inline T from_bits(uint64_t b) {
    T v;
    std::memcpy(&v, &b, sizeof v);
    return v;
}
} // namespace simt

static inline void __syncthreads() { simt::syncthreads(); }
static inline void __syncwarp(unsigned mask = 0xffffffffu) { (void)mask; simt::syncwarp(); }
static inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/* Shuffles: width divides the warp into groups as CUDA does; a source outside this
 * warp's lanes (a short last warp) reads the caller's own value. */
template <typename T> static inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    (void)mask;
    int lane = simt::lane_id(), s = (lane & ~(width - 1)) + (src & (width - 1));
    if (s >= simt::warp_lanes()) s = lane;
    return simt::from_bits<T>(simt::warp_exchange(simt::to_bits(v), s));
}
template <typename T> static inline T __shfl_xor_sync(unsigned mask, T v, int lanemask, int width = 32) {
    (void)mask;
    int lane = simt::lane_id(), s = lane ^ lanemask;
    if ((s & ~(width - 1)) != (lane & ~(width - 1)) || s >= simt::warp_lanes()) s = lane;
    return simt::from_bits<T>(simt::warp_exchange(simt::to_bits(v), s));
}
template <typename T> static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    (void)mask;
    int lane = simt::lane_id(), s = lane + (int)delta;
    if ((s & ~(width - 1)) != (lane & ~(width - 1)) || s >= simt::warp_lanes()) s = lane;
    return simt::from_bits<T>(simt::warp_exchange(simt::to_bits(v), s));
}
template <typename T> static inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    (void)mask;
    int lane = simt::lane_id(), s = lane - (int)delta;
    if (s < (lane & ~(width - 1))) s = lane;
    return simt::from_bits<T>(simt::warp_exchange(simt::to_bits(v), s));
}
unsigned __ballot_sync(unsigned mask, int pred);
static inline int __any_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) != 0; }
int __all_sync(unsigned mask, int pred);

/* Atomics: return the old value, as CUDA's do. */
template <typename T> static inline T simt_atomic_add_int(T *p, T v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
static inline int atomicAdd(int *p, int v) { return simt_atomic_add_int(p, v); }
static inline unsigned atomicAdd(unsigned *p, unsigned v) { return simt_atomic_add_int(p, v); }
static inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v) { return simt_atomic_add_int(p, v); }
template <typename F, typename U> static inline F simt_atomic_add_fp(F *p, F v) {
    U *q = reinterpret_cast<U *>(p), old = __atomic_load_n(q, __ATOMIC_SEQ_CST), upd;
    do {
        F f;
        std::memcpy(&f, &old, sizeof f);
        f += v;
        std::memcpy(&upd, &f, sizeof f);
    } while (!__atomic_compare_exchange_n(q, &old, upd, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    F r;
    std::memcpy(&r, &old, sizeof r);
    return r;
}
static inline float atomicAdd(float *p, float v) { return simt_atomic_add_fp<float, uint32_t>(p, v); }
static inline double atomicAdd(double *p, double v) { return simt_atomic_add_fp<double, uint64_t>(p, v); }
static inline int atomicMax(int *p, int v) {
    int old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (old < v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
    return old;
}
static inline int atomicExch(int *p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
static inline int atomicCAS(int *p, int cmp, int v) {
    __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return cmp;
}

/* ---- the runtime subset ------------------------------------------------------- */
typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorInvalidMemcpyDirection = 21,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorNotReady = 600,
} cudaError_t;
enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4
};
typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;
#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02

/* The simulated device's properties: the fields of the real struct that a host file is
 * likely to read (same names and types), filled by cudaGetDeviceProperties. */
struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem;     /* the memory limit when set, else 16 GiB (cudaMemGetInfo's total) */
    size_t sharedMemPerBlock;  /* 48 KiB: what a launch's dynamic buffer is checked against */
    size_t sharedMemPerBlockOptin;
    size_t sharedMemPerMultiprocessor;
    size_t totalConstMem;
    int regsPerBlock;
    int warpSize;
    int maxThreadsPerBlock;
    int maxThreadsDim[3];
    int maxGridSize[3];
    int major, minor;          /* 9.0 */
    int multiProcessorCount;
    int maxThreadsPerMultiProcessor;
    int l2CacheSize;
    int memoryBusWidth;
    int unifiedAddressing;
    int concurrentKernels;
    int asyncEngineCount;
    int pciBusID, pciDeviceID, pciDomainID;
};

cudaError_t cudaMalloc(void **p, size_t bytes);
template <typename T> static inline cudaError_t cudaMalloc(T **p, size_t bytes) {
    return cudaMalloc(reinterpret_cast<void **>(p), bytes);
}
cudaError_t cudaFree(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s = 0);
cudaError_t cudaMemset(void *p, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s = 0);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaSetDevice(int dev);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaStreamCreate(cudaStream_t *s);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetDevice(int *dev);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int dev);
/* Events: timing is the host's wall clock (steady_clock) at cudaEventRecord, which here
 * is also when the work before it finished (the simulator is synchronous). */
cudaError_t cudaEventCreate(cudaEvent_t *ev);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *ev, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t ev);
cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t s = 0);
cudaError_t cudaEventQuery(cudaEvent_t ev);
cudaError_t cudaEventSynchronize(cudaEvent_t ev);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t ev, unsigned flags = 0);

namespace simt {
/* Runs body on every thread of every block; an invalid configuration sets the
 * last error instead. Returns the number of blocks run (for the self-tests).
 * name (the kernel's, may be null) is for messages. */
long run_grid(dim3 grid, dim3 block, size_t shmem, const std::function<void()> &body, const char *name = nullptr);

/* How the threads of a block run: fibers (user-level contexts on the launching OS thread;
 * the default) or threads (an OS thread each; the default under ThreadSanitizer). The
 * environment variable BD_SIMT_EXECUTOR=fibers|threads, read at the first launch or
 * call here, sets it for a whole program; set_executor (tests) replaces it for the
 * launches that follow, from every host thread. Under ThreadSanitizer the fibers are
 * TSan fibers ordered only by the barriers, so it still sees a missing __syncthreads(). */
enum class Executor { fibers, threads };
void set_executor(Executor e);
Executor executor();
size_t bytes_allocated(); /* live cudaMalloc bytes */
/* Whether [p, p + bytes) lies inside one live cudaMalloc allocation (bytes 0: p itself). */
bool device_range_ok(const void *p, size_t bytes);
/* A simulated device of `bytes` (0: unlimited, the default): a cudaMalloc that would take
 * the live bytes beyond it fails with cudaErrorMemoryAllocation, and cudaMemGetInfo and
 * cudaGetDeviceProperties report it as the total. The environment variable
 * BD_SIMT_MEMORY_LIMIT (bytes), read at the first allocation or query, sets the same
 * limit for a whole program; a later set_memory_limit replaces it. */
void set_memory_limit(size_t bytes);
size_t memory_limit();

template <typename... P, typename... A>
void launch_named(const char *name, void (*kernel)(P...), dim3 grid, dim3 block, size_t shmem, cudaStream_t stream,
                  A &&...args) {
    (void)stream;
    const std::tuple<P...> params(std::forward<A>(args)...); /* converted once, as CUDA does */
    run_grid(grid, block, shmem, [&] { std::apply(kernel, params); }, name);
}
template <typename... P, typename... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t shmem, cudaStream_t stream, A &&...args) {
    launch_named(nullptr, kernel, grid, block, shmem, stream, std::forward<A>(args)...);
}
} // namespace simt

#define BD_LAUNCH(kernel, grid, block, shmem, stream, ...) \
    simt::launch_named(#kernel, kernel, dim3(grid), dim3(block), (size_t)(shmem), (stream), __VA_ARGS__)
#define BD_DYNAMIC_SHARED(T, name) T *name = reinterpret_cast<T *>(simt::dynamic_shared())

#endif
