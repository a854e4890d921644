/* test_simt_self.cpp: the SIMT simulator's own semantics (tests/simt/simt.h):
 * thread and block indices, __syncthreads() as a barrier (also after threads return,
 * also in loops and when threads return in the middle of one), shuffles and votes within
 * a warp (a short last warp too), atomics, __shared__ and dynamic shared memory one copy
 * per block, 1024-thread blocks, launch configuration errors, and the checked-call
 * messages of kernels/bd_cuda.h. Every test runs on both executors (fibers, threads),
 * which must give the same results; fibers also: round robin in thread-id order on the
 * launching OS thread, and a deadlock (barriers that cannot release) aborts with a
 * message. Under ThreadSanitizer (make test-san) both executors must report a missing
 * __syncthreads() as a data race. */
#include "simt.h"
#include "bd_cuda.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
extern "C" {
#include <cmocka.h>
}

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define SELF_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SELF_TSAN 1
#endif
#endif

static const char *argv0;

/* Runs the enclosing test's launches on executor e, then puts the group's back. */
struct ExecutorScope {
    simt::Executor saved;
    explicit ExecutorScope(simt::Executor e) : saved(simt::executor()) { simt::set_executor(e); }
    ~ExecutorScope() { simt::set_executor(saved); }
};

template <typename T> static T *dev_alloc(size_t n) {
    T *p = nullptr;
    assert_int_equal(cudaMalloc(&p, n * sizeof(T)), cudaSuccess);
    return p;
}
template <typename T> static std::vector<T> download(const T *d, size_t n) {
    std::vector<T> h(n);
    assert_int_equal(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return h;
}

/* ---- indices ---- */
__global__ void index_kernel(int *out) {
    const int b = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    const int t = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    const int nt = blockDim.x * blockDim.y * blockDim.z;
    atomicAdd(&out[b * nt + t], 1000 * b + t + 1);
}

static void test_indices(void **state) {
    (void)state;
    const dim3 grid(3, 2, 2), block(4, 3, 5);
    const int n = 12 * 60;
    int *d = dev_alloc<int>(n);
    assert_int_equal(cudaMemset(d, 0, n * sizeof(int)), cudaSuccess);
    BD_LAUNCH(index_kernel, grid, block, 0, 0, d);
    assert_int_equal(cudaGetLastError(), cudaSuccess);
    std::vector<int> h = download(d, n);
    for (int b = 0; b < 12; b++)
        for (int t = 0; t < 60; t++) assert_int_equal(h[b * 60 + t], 1000 * b + t + 1); /* each once */
    cudaFree(d);
}

/* ---- barriers ---- */
/* Ping-pong through shared memory: each phase reads what the neighbour wrote in the
 * previous one; wrong without a working barrier. Threads >= live return first. */
__global__ void barrier_kernel(int *out, int phases, int live) {
    __shared__ int sh[2][256];
    const int t = threadIdx.x;
    if (t >= live) return;
    sh[0][t] = t;
    __syncthreads();
    for (int p = 0; p < phases; p++) {
        const int src = p & 1, dst = src ^ 1;
        sh[dst][t] = sh[src][(t + 1) % live] + 1;
        __syncthreads();
    }
    out[blockIdx.x * 256 + t] = sh[phases & 1][t];
}

static void test_barrier(void **state) {
    (void)state;
    int *d = dev_alloc<int>(2 * 256);
    for (int live : {256, 200}) {
        const int phases = 9;
        BD_LAUNCH(barrier_kernel, 2, 256, 0, 0, d, phases, live);
        assert_int_equal(cudaGetLastError(), cudaSuccess);
        std::vector<int> h = download(d, 2 * 256);
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < live; t++) assert_int_equal(h[b * 256 + t], (t + phases) % live + phases);
    }
    cudaFree(d);
}

/* ---- shuffles and votes ---- */
__global__ void shuffle_kernel(int *out, double *dout) {
    const int t = threadIdx.x, lane = t & 31;
    int *o = out + t * 8;
    o[0] = __shfl_sync(0xffffffffu, t * 10, 5);            /* broadcast lane 5 */
    int s = t;
    for (int m = 16; m > 0; m >>= 1) s += __shfl_xor_sync(0xffffffffu, s, m);
    o[1] = s;                                               /* warp sum */
    o[2] = __shfl_down_sync(0xffffffffu, t, 3);             /* lane + 3, own past the end */
    o[3] = __shfl_up_sync(0xffffffffu, t, 2);
    o[4] = __shfl_xor_sync(0xffffffffu, t, 1, 16);          /* within 16-lane groups */
    o[5] = (int)__ballot_sync(0xffffffffu, lane % 3 == 0);
    o[6] = __any_sync(0xffffffffu, t == 40) * 2 + __all_sync(0xffffffffu, t < 1000);
    o[7] = __shfl_sync(0xffffffffu, t, lane + 1, 8);        /* rotate within groups of 8 */
    dout[t] = __shfl_down_sync(0xffffffffu, 0.5 + t, 1);
}

static void test_shuffles(void **state) {
    (void)state;
    const int nt = 48; /* a full warp and a short one of 16 lanes */
    int *d = dev_alloc<int>(nt * 8);
    double *dd = dev_alloc<double>(nt);
    BD_LAUNCH(shuffle_kernel, 1, nt, 0, 0, d, dd);
    assert_int_equal(cudaGetLastError(), cudaSuccess);
    std::vector<int> h = download(d, nt * 8);
    std::vector<double> hd = download(dd, nt);
    for (int t = 0; t < nt; t++) {
        const int w = t / 32, base = 32 * w, lanes = w == 0 ? 32 : 16, lane = t % 32;
        const int *o = &h[t * 8];
        assert_int_equal(o[0], (base + 5) * 10);
        if (w == 0) assert_int_equal(o[1], 31 * 32 / 2);
        assert_int_equal(o[2], lane + 3 < lanes ? t + 3 : t);
        assert_int_equal(o[3], lane >= 2 ? t - 2 : t);
        assert_int_equal(o[4], t ^ 1);
        unsigned want = 0;
        for (int l = 0; l < lanes; l++) if (l % 3 == 0) want |= 1u << l;
        assert_int_equal((unsigned)o[5], want);
        assert_int_equal(o[6], (w == 1) * 2 + 1);
        assert_int_equal(o[7], (t & ~7) + ((lane + 1) & 7));
        assert_true(hd[t] == (lane + 1 < lanes ? 1.5 + t : 0.5 + t));
    }
    cudaFree(d);
    cudaFree(dd);
}

/* ---- atomics ---- */
__global__ void atomic_kernel(int *ci, unsigned long long *cu, float *cf, double *cd, int *mx, int reps) {
    for (int r = 0; r < reps; r++) {
        atomicAdd(ci, 1);
        atomicAdd(cu, 2ull);
        atomicAdd(cf, 1.0f);
        atomicAdd(cd, 0.25);
    }
    atomicMax(mx, (int)(blockIdx.x * blockDim.x + threadIdx.x));
}

static void test_atomics(void **state) {
    (void)state;
    int *ci = dev_alloc<int>(2);
    unsigned long long *cu = dev_alloc<unsigned long long>(1);
    float *cf = dev_alloc<float>(1);
    double *cd = dev_alloc<double>(1);
    assert_int_equal(cudaMemset(ci, 0, 2 * sizeof(int)), cudaSuccess);
    assert_int_equal(cudaMemset(cu, 0, sizeof *cu), cudaSuccess);
    assert_int_equal(cudaMemset(cf, 0, sizeof *cf), cudaSuccess);
    assert_int_equal(cudaMemset(cd, 0, sizeof *cd), cudaSuccess);
    const int nb = 3, nt = 128, reps = 40;
    BD_LAUNCH(atomic_kernel, nb, nt, 0, 0, ci, cu, cf, cd, ci + 1, reps);
    assert_int_equal(cudaGetLastError(), cudaSuccess);
    const long n = (long)nb * nt * reps;
    assert_int_equal(download(ci, 2)[0], n);
    assert_int_equal(download(ci, 2)[1], nb * nt - 1);
    assert_int_equal(download(cu, 1)[0], 2 * n);
    assert_true(download(cf, 1)[0] == (float)n); /* small integers: exact in float */
    assert_true(download(cd, 1)[0] == 0.25 * n);
    cudaFree(ci); cudaFree(cu); cudaFree(cf); cudaFree(cd);
}

/* ---- shared memory per block ---- */
/* Every block sees fresh dynamic shared memory (NaN bytes, never a previous block's
 * values) and its own copy of a __shared__ static. */
__global__ void shared_kernel(int *out) {
    BD_DYNAMIC_SHARED(unsigned, dyn);
    __shared__ int st[64];
    const int t = threadIdx.x;
    const unsigned before = dyn[t];
    __syncthreads();
    dyn[t] = 1000u * blockIdx.x + t;
    st[t] = (int)blockIdx.x;
    __syncthreads();
    int same = 1;
    for (int i = 0; i < 64; i++) same &= st[i] == (int)blockIdx.x && dyn[i] == 1000u * blockIdx.x + i;
    out[blockIdx.x * 64 + t] = (before == 0xffffffffu) * 2 + same;
}

static void test_shared(void **state) {
    (void)state;
    int *d = dev_alloc<int>(5 * 64);
    BD_LAUNCH(shared_kernel, 5, 64, 64 * sizeof(unsigned), 0, d);
    assert_int_equal(cudaGetLastError(), cudaSuccess);
    std::vector<int> h = download(d, 5 * 64);
    for (int i = 0; i < 5 * 64; i++) assert_int_equal(h[i], 3);
    cudaFree(d);
}

/* ---- errors ---- */
static int launch_too_big(int *d, bd_err *e) {
    BD_LAUNCH(index_kernel, 1, 2048, 0, 0, d); /* over 1024 threads per block */
    BD_CU_LAUNCHED(e, index_kernel);
    return 0;
}
static int free_bogus(bd_err *e) {
    static int not_device;
    BD_CU_TRY(e, cudaFree(&not_device));
    return 0;
}

static void test_errors(void **state) {
    (void)state;
    int *d = dev_alloc<int>(4);
    int h[4] = {0};
    bd_err e;
    std::memset(&e, 0, sizeof e);
    assert_int_equal(launch_too_big(d, &e), -1);
    assert_non_null(std::strstr(e.msg, "launch of index_kernel failed at tests/test_simt_self.cpp:"));
    assert_non_null(std::strstr(e.msg, ": invalid configuration argument"));
    assert_int_equal(cudaGetLastError(), cudaSuccess); /* read and cleared */
    assert_int_equal(free_bogus(&e), -1);
    assert_non_null(std::strstr(e.msg, "cudaFree(&not_device) failed at tests/test_simt_self.cpp:"));
    assert_non_null(std::strstr(e.msg, ": invalid device pointer"));
    /* copies in the wrong direction, or past an allocation's end */
    assert_int_equal(cudaMemcpy(h, d, sizeof h, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
    assert_int_equal(cudaMemcpy(d, h, 5 * sizeof(int), cudaMemcpyHostToDevice), cudaErrorInvalidValue);
    assert_int_equal(cudaMemcpy(d, h, sizeof h, cudaMemcpyHostToDevice), cudaSuccess);
    assert_int_equal(cudaGetLastError(), cudaErrorInvalidValue); /* the sticky last error */
    size_t fr = 0, tot = 0;
    assert_int_equal(cudaMemGetInfo(&fr, &tot), cudaSuccess);
    assert_true(fr + 16 <= tot);
    cudaFree(d);
    assert_int_equal(simt::bytes_allocated(), 0);
}

/* ---- barriers in loops ---- */
/* An inclusive prefix sum per block (Hillis-Steele, double-buffered): log2(blockDim)
 * rounds, each ending at a barrier; wrong without one. */
__global__ void scan_kernel(int *out, const int *in) {
    __shared__ int buf[2][1024];
    const int t = threadIdx.x, base = blockIdx.x * blockDim.x;
    int cur = 0;
    buf[0][t] = in[base + t];
    __syncthreads();
    for (int off = 1; off < (int)blockDim.x; off <<= 1) {
        buf[cur ^ 1][t] = buf[cur][t] + (t >= off ? buf[cur][t - off] : 0);
        cur ^= 1;
        __syncthreads();
    }
    out[base + t] = buf[cur][t];
}

static void test_barrier_loops(void **state) {
    (void)state;
    for (int nt : {1024, 96, 33, 1}) {
        const int nb = 3, n = nb * nt;
        std::vector<int> in(n);
        for (int i = 0; i < n; i++) in[i] = (i * 7919) % 13 - 6;
        int *din = dev_alloc<int>(n), *dout = dev_alloc<int>(n);
        assert_int_equal(cudaMemcpy(din, in.data(), n * sizeof(int), cudaMemcpyHostToDevice), cudaSuccess);
        BD_LAUNCH(scan_kernel, nb, nt, 0, 0, dout, (const int *)din);
        assert_int_equal(cudaGetLastError(), cudaSuccess);
        std::vector<int> h = download(dout, n);
        for (int b = 0; b < nb; b++) {
            int acc = 0;
            for (int t = 0; t < nt; t++) {
                acc += in[b * nt + t];
                assert_int_equal(h[b * nt + t], acc);
            }
        }
        cudaFree(din);
        cudaFree(dout);
    }
}

/* ---- threads that return early ---- */
/* Thread t takes part in rounds r < t % 7 and then returns in the middle of the loop;
 * threads with t % 11 == 10 return before the first barrier. A round counts its threads
 * into a __shared__ counter between two barriers, which must release for the threads
 * still there: every one of them reads the round's full count. */
__global__ void drop_kernel(int *out, int rounds) {
    __shared__ int count[16];
    const int t = threadIdx.x, nt = blockDim.x;
    if (t % 11 == 10) return;
    if (t < rounds) count[t] = 0;
    __syncthreads();
    for (int r = 0; r < rounds; r++) {
        if (r >= t % 7) return;
        atomicAdd(&count[r], 1);
        __syncthreads();
        out[((int)blockIdx.x * nt + t) * rounds + r] = count[r];
        __syncthreads();
    }
}

static void test_early_return(void **state) {
    (void)state;
    const int rounds = 8;
    for (int nt : {1024, 70, 7}) {
        const int nb = 2, n = nb * nt * rounds;
        int *d = dev_alloc<int>(n);
        assert_int_equal(cudaMemset(d, 0xff, n * sizeof(int)), cudaSuccess); /* -1: not written */
        BD_LAUNCH(drop_kernel, nb, nt, 0, 0, d, rounds);
        assert_int_equal(cudaGetLastError(), cudaSuccess);
        std::vector<int> h = download(d, n);
        for (int r = 0; r < rounds; r++) {
            int want = 0;
            for (int t = 0; t < nt; t++) want += t % 11 != 10 && r < t % 7;
            for (int b = 0; b < nb; b++)
                for (int t = 0; t < nt; t++) {
                    const bool here = t % 11 != 10 && r < t % 7;
                    assert_int_equal(h[(b * nt + t) * rounds + r], here ? want : -1);
                }
        }
        cudaFree(d);
    }
}

/* ---- shuffles and votes in a short last warp, many times over ---- */
/* Each of `iters` rounds: a rotation by a varying amount, a butterfly and a shift-down
 * reduction, a ballot and the votes; consecutive exchanges reuse the slot buffers, so
 * a round reading a stale buffer shows. */
__global__ void warp_kernel(unsigned *out, int iters) {
    const int t = threadIdx.x, lane = t & 31;
    const int rest = (int)blockDim.x - (t & ~31), lanes = rest < 32 ? rest : 32;
    int v = t * 3 + 1;
    unsigned acc = 0;
    for (int it = 0; it < iters; it++) {
        v = __shfl_sync(0xffffffffu, v, (lane + it) % lanes) + 1;
        int x = v;
        for (int m = 16; m > 0; m >>= 1) x += __shfl_xor_sync(0xffffffffu, x, m);
        int y = v;
        for (int o = 16; o > 0; o >>= 1) y += __shfl_down_sync(0xffffffffu, y, o);
        const unsigned bal = __ballot_sync(0xffffffffu, (v + it) & 1);
        const int votes = __all_sync(0xffffffffu, lane < lanes) * 4 + __any_sync(0xffffffffu, lane == lanes - 1) * 2 +
                          __all_sync(0xffffffffu, lane < lanes - 1);
        acc = acc * 31 + (unsigned)x * 7 + (unsigned)y * 3 + bal % 1000 + (unsigned)votes;
    }
    out[t] = acc;
}

/* The same on the host, with simt.h's rule that a source lane outside the warp's lanes
 * reads the caller's own value. */
static std::vector<unsigned> warp_model(int nt, int iters) {
    std::vector<unsigned> res(nt);
    for (int base = 0; base < nt; base += 32) {
        const int lanes = std::min(32, nt - base);
        std::vector<int> v(lanes), x(lanes), y(lanes), nx(lanes);
        std::vector<unsigned> acc(lanes, 0);
        for (int l = 0; l < lanes; l++) v[l] = (base + l) * 3 + 1;
        for (int it = 0; it < iters; it++) {
            for (int l = 0; l < lanes; l++) nx[l] = v[(l + it) % lanes] + 1;
            v = nx;
            x = v;
            for (int m = 16; m > 0; m >>= 1) {
                for (int l = 0; l < lanes; l++) nx[l] = x[l] + ((l ^ m) < lanes ? x[l ^ m] : x[l]);
                x = nx;
            }
            y = v;
            for (int o = 16; o > 0; o >>= 1) {
                for (int l = 0; l < lanes; l++) nx[l] = y[l] + (l + o < lanes ? y[l + o] : y[l]);
                y = nx;
            }
            unsigned bal = 0;
            for (int l = 0; l < lanes; l++) if ((v[l] + it) & 1) bal |= 1u << l;
            const int votes = 4 + 2 + (lanes == 0);
            for (int l = 0; l < lanes; l++)
                acc[l] = acc[l] * 31 + (unsigned)x[l] * 7 + (unsigned)y[l] * 3 + bal % 1000 + (unsigned)votes;
        }
        for (int l = 0; l < lanes; l++) res[base + l] = acc[l];
    }
    return res;
}

static void test_short_warp(void **state) {
    (void)state;
    for (int nt : {70, 5, 1, 64, 1024}) {
        const int iters = nt > 100 ? 3 : 40; /* fewer for the big block: slow on OS threads under TSan */
        unsigned *d = dev_alloc<unsigned>(nt);
        BD_LAUNCH(warp_kernel, 1, nt, 0, 0, d, iters);
        assert_int_equal(cudaGetLastError(), cudaSuccess);
        std::vector<unsigned> h = download(d, nt), want = warp_model(nt, iters);
        for (int t = 0; t < nt; t++) assert_int_equal(h[t], want[t]);
        cudaFree(d);
    }
}

/* ---- 1024-thread blocks, several of them, with __shared__ statics ---- */
/* A block sum as the kernels do it (warp shuffles, one slot per warp, a last warp over the
 * slots), a __shared__ total that thread 0 resets for each block and every thread adds
 * to, and 3-d thread indices over the whole 1024. */
__global__ void big_block_kernel(long long *sums, int *totals, int *ids, const int *x) {
    __shared__ long long part[32];
    __shared__ int total;
    const int t = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    const int nt = blockDim.x * blockDim.y * blockDim.z, lane = t & 31, w = t >> 5;
    const int b = blockIdx.x;
    if (t == 0) total = 0;
    long long v = x[b * nt + t];
    for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(0xffffffffu, v, m);
    if (lane == 0) part[w] = v;
    __syncthreads();
    atomicAdd(&total, 1);
    if (w == 0) {
        long long p = lane < nt / 32 ? part[lane] : 0;
        for (int m = 16; m > 0; m >>= 1) p += __shfl_xor_sync(0xffffffffu, p, m);
        if (lane == 0) sums[b] = p;
    }
    __syncthreads();
    if (t == nt - 1) totals[b] = total;
    ids[b * nt + t] = t;
}

static void test_big_blocks(void **state) {
    (void)state;
    const int nb = 5, nt = 1024, n = nb * nt;
    std::vector<int> x(n);
    for (int i = 0; i < n; i++) x[i] = (i * 2654435761u) % 100000;
    int *dx = dev_alloc<int>(n), *dt = dev_alloc<int>(nb), *di = dev_alloc<int>(n);
    long long *ds = dev_alloc<long long>(nb);
    assert_int_equal(cudaMemcpy(dx, x.data(), n * sizeof(int), cudaMemcpyHostToDevice), cudaSuccess);
    BD_LAUNCH(big_block_kernel, nb, dim3(16, 8, 8), 0, 0, ds, dt, di, (const int *)dx);
    assert_int_equal(cudaGetLastError(), cudaSuccess);
    std::vector<long long> s = download(ds, nb);
    std::vector<int> tot = download(dt, nb), ids = download(di, n);
    for (int b = 0; b < nb; b++) {
        long long want = 0;
        for (int t = 0; t < nt; t++) want += x[b * nt + t];
        assert_true(s[b] == want);
        assert_int_equal(tot[b], nt);
        for (int t = 0; t < nt; t++) assert_int_equal(ids[b * nt + t], t);
    }
    cudaFree(dx); cudaFree(dt); cudaFree(di); cudaFree(ds);
}

/* ---- the executors ---- */
/* The OS thread each device thread ran on. */
__global__ void os_thread_kernel(long *out) { out[blockIdx.x * blockDim.x + threadIdx.x] = syscall(SYS_gettid); }

static void test_os_threads(void **state) {
    (void)state;
    const int nb = 2, nt = 100;
    long *d = dev_alloc<long>(nb * nt);
    BD_LAUNCH(os_thread_kernel, nb, nt, 0, 0, d);
    assert_int_equal(cudaGetLastError(), cudaSuccess);
    std::vector<long> h = download(d, nb * nt);
    const long me = syscall(SYS_gettid);
    for (int b = 0; b < nb; b++)
        for (int t = 0; t < nt; t++) {
            if (simt::executor() == simt::Executor::fibers) {
                assert_true(h[b * nt + t] == me); /* all on the launching thread */
            } else {
                assert_true(h[b * nt + t] != me);
                assert_true(h[b * nt + t] == h[t]); /* thread t: one OS thread for all blocks */
                for (int u = 0; u < t; u++) assert_true(h[b * nt + t] != h[b * nt + u]);
            }
        }
    cudaFree(d);
}

/* The scan, early-return and warp kernels above, run with each executor: byte for byte the same. */
static std::vector<unsigned char> mixed_results(simt::Executor e) {
    ExecutorScope scope(e);
    const int nt = 70, nb = 3, rounds = 6, iters = 12;
    std::vector<int> in(nb * nt);
    for (size_t i = 0; i < in.size(); i++) in[i] = (int)(i * 31 % 17) - 8;
    int *din = dev_alloc<int>(nb * nt), *dscan = dev_alloc<int>(nb * nt), *ddrop = dev_alloc<int>(nb * nt * rounds);
    unsigned *dwarp = dev_alloc<unsigned>(nt);
    assert_int_equal(cudaMemcpy(din, in.data(), in.size() * sizeof(int), cudaMemcpyHostToDevice), cudaSuccess);
    assert_int_equal(cudaMemset(ddrop, 0xff, nb * nt * rounds * sizeof(int)), cudaSuccess);
    BD_LAUNCH(scan_kernel, nb, nt, 0, 0, dscan, (const int *)din);
    BD_LAUNCH(drop_kernel, nb, nt, 0, 0, ddrop, rounds);
    BD_LAUNCH(warp_kernel, 1, nt, 0, 0, dwarp, iters);
    assert_int_equal(cudaGetLastError(), cudaSuccess);
    std::vector<unsigned char> all;
    for (auto v : {download(dscan, nb * nt), download(ddrop, nb * nt * rounds)})
        all.insert(all.end(), reinterpret_cast<const unsigned char *>(v.data()),
                   reinterpret_cast<const unsigned char *>(v.data() + v.size()));
    const std::vector<unsigned> w = download(dwarp, nt);
    all.insert(all.end(), reinterpret_cast<const unsigned char *>(w.data()),
               reinterpret_cast<const unsigned char *>(w.data() + w.size()));
    cudaFree(din); cudaFree(dscan); cudaFree(ddrop); cudaFree(dwarp);
    return all;
}

static void test_executors_agree(void **state) {
    (void)state;
    const std::vector<unsigned char> f = mixed_results(simt::Executor::fibers);
    const std::vector<unsigned char> t = mixed_results(simt::Executor::threads);
    assert_true(f.size() == t.size());
    assert_memory_equal(f.data(), t.data(), f.size());
}

/* Fibers run round robin in thread-id order: up to the first barrier thread 0, 1, ...;
 * after it, the last arrival goes on and then the others in cyclic order. */
__global__ void order_kernel(int *log, int *pos) {
    log[atomicAdd(pos, 1)] = threadIdx.x;
    __syncthreads();
    log[atomicAdd(pos, 1)] = 1000 + threadIdx.x;
}

static void test_fiber_order(void **state) {
    (void)state;
    ExecutorScope scope(simt::Executor::fibers);
    const int nt = 80;
    int *log = dev_alloc<int>(2 * nt + 1);
    assert_int_equal(cudaMemset(log, 0, (2 * nt + 1) * sizeof(int)), cudaSuccess);
    BD_LAUNCH(order_kernel, 1, nt, 0, 0, log, log + 2 * nt);
    assert_int_equal(cudaGetLastError(), cudaSuccess);
    std::vector<int> h = download(log, 2 * nt);
    for (int t = 0; t < nt; t++) assert_int_equal(h[t], t);
    for (int i = 0; i < nt; i++) assert_int_equal(h[nt + i], 1000 + (nt - 1 + i) % nt);
    cudaFree(log);
}

/* ---- deadlocks (fibers) ---- */
/* Warp 0 and half of warp 1 wait at __syncthreads() while the other half of warp 1 waits
 * at a shuffle its partners never reach: found when the last of them arrives. */
__global__ void deadlock_kernel(int *out) {
    const int t = threadIdx.x;
    if (t < 48) __syncthreads();
    else out[t] = __shfl_xor_sync(0xffffffffu, t, 1);
    out[t] = t;
}
/* Warp 1 returns; warp 0 splits between __syncthreads() and a shuffle: found when the
 * last thread returns. */
__global__ void deadlock_at_exit_kernel(int *out) {
    const int t = threadIdx.x;
    if (t >= 32) return;
    if (t < 16) __syncthreads();
    else out[t] = __shfl_sync(0xffffffffu, t, 0);
}

/* Runs the kernel in a child process; returns its stderr, with the wait status in st. */
static std::string in_child(void (*body)(int *), int *st) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        simt::set_executor(simt::Executor::fibers);
        int *d = nullptr;
        if (cudaMalloc(&d, 64 * sizeof(int)) != cudaSuccess) _exit(3);
        body(d);
        _exit(0); /* not reached when the deadlock is found */
    }
    close(fds[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, (size_t)n);
    close(fds[0]);
    assert_int_equal(waitpid(pid, st, 0), pid);
    return out;
}

static void launch_deadlock(int *d) { BD_LAUNCH(deadlock_kernel, 1, 64, 0, 0, d); }
static void launch_deadlock_at_exit(int *d) { BD_LAUNCH(deadlock_at_exit_kernel, 2, 64, 0, 0, d); }

static void test_deadlock(void **state) {
    (void)state;
    int st = 0;
    std::string out = in_child(launch_deadlock, &st);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT ||
        out.find("simt: deadlock in kernel deadlock_kernel, block (0,0,0)") == std::string::npos)
        fail_msg("status %d, stderr:\n%s", st, out.c_str());
    assert_true(out.find("48 wait at __syncthreads() (48 of the 64 that have not returned arrived)") !=
                std::string::npos);
    assert_true(out.find("16 wait at warp 1's shuffle, vote or __syncwarp (16 of the 32") != std::string::npos);
    out = in_child(launch_deadlock_at_exit, &st);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT ||
        out.find("simt: deadlock in kernel deadlock_at_exit_kernel, block (0,0,0)") == std::string::npos)
        fail_msg("status %d, stderr:\n%s", st, out.c_str());
    assert_true(out.find("16 wait at __syncthreads() (16 of the 32 that have not returned arrived)") !=
                std::string::npos);
    assert_true(out.find("16 wait at warp 0's shuffle, vote or __syncwarp") != std::string::npos);
}

/* ---- ThreadSanitizer sees a missing __syncthreads() (both executors) ---- */
/* race.cu's reduction: without the barrier after the stores, thread t reads sh[t + s]
 * with nothing ordering it after thread t + s's store. Run by race_child. */
__global__ void racy_sum_kernel(float *out, const float *x, int fixed) {
    __shared__ float sh[128];
    const int t = threadIdx.x;
    sh[t] = x[t];
    if (fixed) __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) sh[t] += sh[t + s];
        __syncthreads();
    }
    if (t == 0) *out = sh[0];
}

static int race_child(const char *executor, int fixed) {
    simt::set_executor(std::strcmp(executor, "fibers") == 0 ? simt::Executor::fibers : simt::Executor::threads);
    std::vector<float> hx(128, 1.0f);
    float *x = nullptr, *out = nullptr, sum = 0.0f;
    if (cudaMalloc(&x, 128 * sizeof(float)) || cudaMalloc(&out, sizeof(float))) return 2;
    cudaMemcpy(x, hx.data(), 128 * sizeof(float), cudaMemcpyHostToDevice);
    BD_LAUNCH(racy_sum_kernel, 1, 128, 0, 0, out, (const float *)x, fixed);
    cudaMemcpy(&sum, out, sizeof sum, cudaMemcpyDeviceToHost);
    std::printf("sum %g\n", sum);
    return 0;
}

#ifdef SELF_TSAN
static int run_race_child(const char *executor, int fixed, std::string &out) {
    const std::string cmd = std::string("TSAN_OPTIONS='exitcode=66 halt_on_error=0' ") + argv0 + " race-child " +
                            executor + (fixed ? " 1" : " 0") + " 2>&1";
    FILE *f = popen(cmd.c_str(), "r");
    assert_non_null(f);
    char buf[4096];
    size_t n;
    out.clear();
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    const int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
#endif

static void test_tsan_sees_races(void **state) {
    (void)state;
#ifndef SELF_TSAN
    skip(); /* only in the ThreadSanitizer build */
#else
    for (const char *e : {"fibers", "threads"}) {
        std::string out;
        int rc = run_race_child(e, 0, out);
        if (rc != 66 || out.find("WARNING: ThreadSanitizer: data race") == std::string::npos ||
            out.find("racy_sum_kernel") == std::string::npos)
            fail_msg("%s: the missing __syncthreads() was not reported (rc %d):\n%s", e, rc, out.c_str());
        rc = run_race_child(e, 1, out);
        if (rc != 0 || out.find("ThreadSanitizer") != std::string::npos || out.find("sum 128") == std::string::npos)
            fail_msg("%s: the fixed reduction was flagged or summed wrong (rc %d):\n%s", e, rc, out.c_str());
    }
#endif
}

/* ---- the groups: every test with each executor ---- */
static int use_fibers(void **state) {
    (void)state;
    simt::set_executor(simt::Executor::fibers);
    return 0;
}
static int use_threads(void **state) {
    (void)state;
    simt::set_executor(simt::Executor::threads);
    return 0;
}

int main(int argc, char **argv) {
    argv0 = argv[0];
    if (argc == 4 && std::strcmp(argv[1], "race-child") == 0) return race_child(argv[2], std::atoi(argv[3]));
    const struct CMUnitTest both[] = {
        cmocka_unit_test(test_indices),       cmocka_unit_test(test_barrier),     cmocka_unit_test(test_shuffles),
        cmocka_unit_test(test_atomics),       cmocka_unit_test(test_shared),      cmocka_unit_test(test_errors),
        cmocka_unit_test(test_barrier_loops), cmocka_unit_test(test_early_return), cmocka_unit_test(test_short_warp),
        cmocka_unit_test(test_big_blocks),    cmocka_unit_test(test_os_threads),
    };
    const struct CMUnitTest executors[] = {
        cmocka_unit_test(test_executors_agree), cmocka_unit_test(test_fiber_order),
        cmocka_unit_test(test_deadlock),        cmocka_unit_test(test_tsan_sees_races),
    };
    int failed = cmocka_run_group_tests_name("fibers", both, use_fibers, NULL);
    failed += cmocka_run_group_tests_name("threads", both, use_threads, NULL);
    failed += cmocka_run_group_tests_name("executors", executors, use_fibers, NULL);
    return failed;
}
