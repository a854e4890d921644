/* simt.cpp: the SIMT simulator's launch, barriers, warp exchange and runtime (simt.h). */
#include "simt.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

thread_local uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace simt {

/* A barrier of a changing number of participants: a thread that returns from the
 * kernel leaves (drop), so the others' __syncthreads() no longer waits for it.
 * Arrivals count under a mutex; waiters sleep on a futex over the generation, which the
 * last arrival bumps with a release store (so ThreadSanitizer sees every arrival's
 * writes happen before every waiter's reads) and wakes in one call, without the
 * mutex hand-off chain of a condition variable's notify_all. */
struct Barrier {
    std::mutex m;
    int expected = 0, count = 0;
    std::atomic<uint32_t> gen{0};
    void reset(int n) {
        std::lock_guard<std::mutex> l(m);
        expected = n;
        count = 0;
    }
    void release_locked(uint32_t g) {
        count = 0;
        gen.store(g + 1, std::memory_order_release);
        syscall(SYS_futex, reinterpret_cast<uint32_t *>(&gen), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
    }
    /* done, when given, runs in the last arrival before anyone is released */
    void wait(const std::function<void()> *done = nullptr) {
        std::unique_lock<std::mutex> l(m);
        const uint32_t g = gen.load(std::memory_order_relaxed);
        if (++count >= expected) {
            if (done) (*done)();
            release_locked(g);
            return;
        }
        l.unlock();
        /* yield first: the threads this one waits for are runnable, and on a few cores
         * handing them the CPU is much cheaper than sleeping and being woken */
        for (int i = 0; i < 64; i++) {
            if (gen.load(std::memory_order_acquire) != g) return;
            sched_yield();
        }
        while (gen.load(std::memory_order_acquire) == g)
            syscall(SYS_futex, reinterpret_cast<uint32_t *>(&gen), FUTEX_WAIT_PRIVATE, g, nullptr, nullptr, 0);
    }
    void drop() {
        std::lock_guard<std::mutex> l(m);
        expected--;
        if (count > 0 && count >= expected) release_locked(gen.load(std::memory_order_relaxed));
    }
};

struct Warp {
    Barrier bar;
    uint64_t slot[2][32]; /* double-buffered by the exchange's parity */
    int lanes;
};

struct Launch {
    dim3 grid, block;
    int nthreads;
    Barrier block_bar;          /* __syncthreads() */
    std::vector<Warp> warps;    /* one per warp of the block */
    Barrier end_bar;            /* the end-of-block rendezvous of all threads */
    std::vector<unsigned char> shared; /* the dynamic shared buffer */
    const std::function<void()> *body;

    /* Every thread after its block: the last to arrive prepares the next block. */
    void end_of_block() {
        const std::function<void()> next = [this] {
            block_bar.reset(nthreads);
            for (auto &w : warps) w.bar.reset(w.lanes);
            std::memset(shared.data(), 0xff, shared.size()); /* NaN floats, garbage */
        };
        end_bar.wait(&next);
    }
};

struct Ctx {
    Launch *L = nullptr;
    int tid = 0;
    unsigned long exchanges = 0; /* warp exchanges this thread took part in, this block */
};
static thread_local Ctx ctx;

static Launch &cur() {
    if (!ctx.L) {
        std::fprintf(stderr, "simt: a device function was called outside a kernel\n");
        std::abort();
    }
    return *ctx.L;
}

void syncthreads() { cur().block_bar.wait(); }
int lane_id() { return ctx.tid & 31; }
int warp_lanes() { return cur().warps[(size_t)ctx.tid >> 5].lanes; }
void syncwarp() { cur().warps[(size_t)ctx.tid >> 5].bar.wait(); }
void *dynamic_shared() { return cur().shared.data(); }

/* One warp barrier per exchange: exchange k writes buffer k & 1, which exchange k + 2
 * writes again only after every lane has passed exchange k + 1's barrier, that is after
 * every lane has read exchange k's values. */
uint64_t warp_exchange(uint64_t mine, int src) {
    Warp &w = cur().warps[(size_t)ctx.tid >> 5];
    const int par = ctx.exchanges++ & 1;
    w.slot[par][lane_id()] = mine;
    w.bar.wait(); /* every lane has written */
    return w.slot[par][src];
}

static thread_local cudaError_t last_error = cudaSuccess;

long run_grid(dim3 grid, dim3 block, size_t shmem, const std::function<void()> &body) {
    const unsigned long nt = (unsigned long)block.x * block.y * block.z;
    if (nt == 0 || nt > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 || grid.x == 0 ||
        grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535 || shmem > 48 * 1024) {
        last_error = cudaErrorInvalidConfiguration;
        return 0;
    }
    Launch L;
    L.grid = grid;
    L.block = block;
    L.nthreads = (int)nt;
    L.body = &body;
    L.block_bar.reset(L.nthreads);
    L.end_bar.reset(L.nthreads);
    L.warps = std::vector<Warp>((nt + 31) / 32);
    for (size_t w = 0; w < L.warps.size(); w++) {
        L.warps[w].lanes = (int)std::min<unsigned long>(32, nt - 32 * w);
        L.warps[w].bar.reset(L.warps[w].lanes);
    }
    L.shared.assign(shmem ? shmem : 1, 0xff);
    gridDim = grid;
    blockDim = block;
    const long nblocks = (long)grid.x * grid.y * grid.z;
    std::vector<std::thread> threads;
    threads.reserve(nt);
    for (int t = 0; t < L.nthreads; t++) {
        threads.emplace_back([&L, t, nblocks] {
            ctx.L = &L;
            ctx.tid = t;
            threadIdx.x = (unsigned)t % L.block.x;
            threadIdx.y = ((unsigned)t / L.block.x) % L.block.y;
            threadIdx.z = (unsigned)t / (L.block.x * L.block.y);
            for (long b = 0; b < nblocks; b++) {
                blockIdx.x = (unsigned)(b % L.grid.x);
                blockIdx.y = (unsigned)((b / L.grid.x) % L.grid.y);
                blockIdx.z = (unsigned)(b / ((long)L.grid.x * L.grid.y));
                ctx.exchanges = 0;
                (*L.body)();
                L.block_bar.drop();
                L.warps[(size_t)t >> 5].bar.drop();
                L.end_of_block();
            }
            ctx.L = nullptr;
        });
    }
    for (auto &th : threads) th.join();
    return nblocks;
}

} // namespace simt

unsigned __ballot_sync(unsigned mask, int pred) {
    (void)mask;
    unsigned r = 0;
    for (int s = 0; s < simt::warp_lanes(); s++) {
        /* one exchange per source lane: every lane reads lane s's predicate */
        if (simt::warp_exchange(pred ? 1u : 0u, s)) r |= 1u << s;
    }
    return r;
}

int __all_sync(unsigned mask, int pred) {
    unsigned b = __ballot_sync(mask, pred);
    int n = simt::warp_lanes();
    return b == (n == 32 ? 0xffffffffu : ((1u << n) - 1));
}

/* ---- runtime over host memory ---------------------------------------------------- */
namespace {
std::mutex alloc_m;
std::map<uintptr_t, size_t> allocs; /* start -> bytes */
size_t allocated = 0;
const size_t simt_total = (size_t)16 << 30; /* a pretend 16 GiB device */
size_t limit = 0;                           /* set_memory_limit; 0: none (guarded by alloc_m) */
std::once_flag limit_env_once;

/* BD_SIMT_MEMORY_LIMIT, once, before the limit is first read or set. */
void read_limit_env() {
    std::call_once(limit_env_once, [] {
        const char *v = std::getenv("BD_SIMT_MEMORY_LIMIT");
        if (!v || !*v) return;
        char *end = nullptr;
        unsigned long long b = std::strtoull(v, &end, 10);
        if (*end || v[0] == '-') {
            std::fprintf(stderr, "simt: BD_SIMT_MEMORY_LIMIT=%s is not a number of bytes\n", v);
            std::abort();
        }
        std::lock_guard<std::mutex> l(alloc_m);
        limit = (size_t)b;
    });
}

/* The device's size: the limit when one is set. Caller holds alloc_m. */
size_t total_locked() { return limit ? limit : simt_total; }

/* Whether [p, p + n) lies inside one live allocation. */
bool on_device(const void *p, size_t n) {
    std::lock_guard<std::mutex> l(alloc_m);
    uintptr_t a = (uintptr_t)p;
    if (n == 0) n = 1;
    auto it = allocs.upper_bound(a);
    if (it == allocs.begin()) return false;
    --it;
    return a >= it->first && a + n <= it->first + it->second;
}

cudaError_t ret(cudaError_t e) {
    if (e != cudaSuccess) simt::last_error = e;
    return e;
}
} // namespace

size_t simt::bytes_allocated() {
    std::lock_guard<std::mutex> l(alloc_m);
    return allocated;
}

bool simt::device_range_ok(const void *p, size_t bytes) { return on_device(p, bytes); }

void simt::set_memory_limit(size_t bytes) {
    read_limit_env();
    std::lock_guard<std::mutex> l(alloc_m);
    limit = bytes;
}

size_t simt::memory_limit() {
    read_limit_env();
    std::lock_guard<std::mutex> l(alloc_m);
    return limit;
}

cudaError_t cudaMalloc(void **p, size_t bytes) {
    if (!p) return ret(cudaErrorInvalidValue);
    *p = nullptr;
    read_limit_env();
    {
        /* reserve the bytes first, so two threads cannot both pass the check */
        std::lock_guard<std::mutex> l(alloc_m);
        const size_t total = total_locked();
        if (allocated > total || bytes > total - allocated) return ret(cudaErrorMemoryAllocation);
        allocated += bytes;
    }
    void *q = aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
    if (!q) {
        std::lock_guard<std::mutex> l(alloc_m);
        allocated -= bytes;
        return ret(cudaErrorMemoryAllocation);
    }
    std::memset(q, 0xff, bytes); /* device memory starts as garbage, not zeros */
    std::lock_guard<std::mutex> l(alloc_m);
    allocs[(uintptr_t)q] = bytes;
    *p = q;
    return cudaSuccess;
}

cudaError_t cudaFree(void *p) {
    if (!p) return cudaSuccess;
    std::lock_guard<std::mutex> l(alloc_m);
    auto it = allocs.find((uintptr_t)p);
    if (it == allocs.end()) return ret(cudaErrorInvalidDevicePointer);
    allocated -= it->second;
    allocs.erase(it);
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    if (bytes == 0) return cudaSuccess;
    if (!dst || !src) return ret(cudaErrorInvalidValue);
    bool dd = on_device(dst, bytes), sd = on_device(src, bytes);
    switch (kind) {
    case cudaMemcpyHostToHost: if (dd || sd) return ret(cudaErrorInvalidValue); break;
    case cudaMemcpyHostToDevice: if (!dd || sd) return ret(cudaErrorInvalidValue); break;
    case cudaMemcpyDeviceToHost: if (dd || !sd) return ret(cudaErrorInvalidValue); break;
    case cudaMemcpyDeviceToDevice: if (!dd || !sd) return ret(cudaErrorInvalidValue); break;
    case cudaMemcpyDefault: break;
    default: return ret(cudaErrorInvalidMemcpyDirection);
    }
    std::memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
    return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void *p, int value, size_t bytes) {
    if (bytes == 0) return cudaSuccess;
    if (!on_device(p, bytes)) return ret(cudaErrorInvalidValue);
    std::memset(p, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t) { return cudaMemset(p, value, bytes); }

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
    read_limit_env();
    std::lock_guard<std::mutex> l(alloc_m);
    const size_t total = total_locked();
    if (free_bytes) *free_bytes = allocated < total ? total - allocated : 0;
    if (total_bytes) *total_bytes = total;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int *n) {
    if (!n) return ret(cudaErrorInvalidValue);
    *n = 1;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int dev) { return dev == 0 ? cudaSuccess : ret(cudaErrorInvalidValue); }
cudaError_t cudaGetDevice(int *dev) {
    if (!dev) return ret(cudaErrorInvalidValue);
    *dev = 0; /* the only device */
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int dev) {
    if (!prop) return ret(cudaErrorInvalidValue);
    if (dev != 0) return ret(cudaErrorInvalidDevice);
    std::memset(prop, 0, sizeof *prop);
    std::snprintf(prop->name, sizeof prop->name, "%s", "SIMT simulator (CPU)");
    size_t total = 0;
    cudaMemGetInfo(nullptr, &total);
    prop->totalGlobalMem = total;
    prop->sharedMemPerBlock = 48 * 1024; /* what run_grid checks the dynamic buffer against */
    prop->sharedMemPerBlockOptin = 48 * 1024;
    prop->sharedMemPerMultiprocessor = 48 * 1024;
    prop->totalConstMem = 64 * 1024;
    prop->regsPerBlock = 65536;
    prop->warpSize = warpSize;
    prop->maxThreadsPerBlock = 1024;
    prop->maxThreadsDim[0] = 1024;
    prop->maxThreadsDim[1] = 1024;
    prop->maxThreadsDim[2] = 64;
    prop->maxGridSize[0] = INT_MAX;
    prop->maxGridSize[1] = 65535;
    prop->maxGridSize[2] = 65535;
    prop->major = 9;
    prop->minor = 0;
    /* a small count: grid-stride loops sized by it run their blocks one after another here */
    prop->multiProcessorCount = 16;
    prop->maxThreadsPerMultiProcessor = 2048;
    prop->l2CacheSize = 4 << 20;
    prop->memoryBusWidth = 256;
    prop->unifiedAddressing = 1;
    prop->concurrentKernels = 1;
    prop->asyncEngineCount = 1;
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaStreamCreate(cudaStream_t *s) {
    if (!s) return ret(cudaErrorInvalidValue);
    *s = nullptr;
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }

/* Events: a live set (a destroyed or never-created event is an invalid handle). */
struct CUevent_st {
    unsigned flags;
    bool recorded;
    std::chrono::steady_clock::time_point t;
};
namespace {
std::mutex event_m;
std::set<cudaEvent_t> events;

/* The event when it is live, under event_m held by the caller. */
bool event_live_locked(cudaEvent_t ev) { return ev && events.count(ev) != 0; }
} // namespace

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *ev, unsigned flags) {
    if (!ev) return ret(cudaErrorInvalidValue);
    if (flags & ~(unsigned)(cudaEventBlockingSync | cudaEventDisableTiming)) return ret(cudaErrorInvalidValue);
    cudaEvent_t e = new CUevent_st{flags, false, {}};
    std::lock_guard<std::mutex> l(event_m);
    events.insert(e);
    *ev = e;
    return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t *ev) { return cudaEventCreateWithFlags(ev, cudaEventDefault); }

cudaError_t cudaEventDestroy(cudaEvent_t ev) {
    std::lock_guard<std::mutex> l(event_m);
    if (!event_live_locked(ev)) return ret(cudaErrorInvalidResourceHandle);
    events.erase(ev);
    delete ev;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> l(event_m);
    if (!event_live_locked(ev)) return ret(cudaErrorInvalidResourceHandle);
    ev->recorded = true;
    ev->t = now;
    return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t ev) {
    std::lock_guard<std::mutex> l(event_m);
    return event_live_locked(ev) ? cudaSuccess : ret(cudaErrorInvalidResourceHandle);
}
cudaError_t cudaEventSynchronize(cudaEvent_t ev) { return cudaEventQuery(ev); }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t ev, unsigned) { return cudaEventQuery(ev); }

/* As CUDA: either event never recorded, or created with cudaEventDisableTiming, is an
 * invalid handle here. */
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end) {
    if (!ms) return ret(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> l(event_m);
    if (!event_live_locked(start) || !event_live_locked(end)) return ret(cudaErrorInvalidResourceHandle);
    if (!start->recorded || !end->recorded || ((start->flags | end->flags) & cudaEventDisableTiming))
        return ret(cudaErrorInvalidResourceHandle);
    *ms = std::chrono::duration<float, std::milli>(end->t - start->t).count();
    return cudaSuccess;
}

cudaError_t cudaGetLastError(void) {
    cudaError_t e = simt::last_error;
    simt::last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError(void) { return simt::last_error; }

const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    }
    return "unrecognized error code";
}
