/* test_simt_self.cpp: the SIMT simulator's own semantics (tests/simt/simt.h):
 * thread and block indices, __syncthreads() as a barrier (also after threads return),
 * shuffles and votes within a warp (a short last warp too), atomics, __shared__ and
 * dynamic shared memory one copy per block, launch configuration errors, and the
 * checked-call messages of kernels/bd_cuda.h. Run under TSan by make test-san. */
#include "simt.h"
#include "bd_cuda.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
extern "C" {
#include <cmocka.h>
}

#include <cstdio>
#include <cstring>
#include <vector>

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_indices), cmocka_unit_test(test_barrier), cmocka_unit_test(test_shuffles),
        cmocka_unit_test(test_atomics), cmocka_unit_test(test_shared),  cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
