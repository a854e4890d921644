/* simt_test.h: what the simulator's kernel tests (tests/test_simt_ops*.cpp) share:
 * seeded random vectors, upload/download through the simulated runtime, and OK(call)
 * for the kernels' wrappers (they fill err). Include after simt.h, kernels.h and cmocka. */
#ifndef BD_SIMT_TEST_H
#define BD_SIMT_TEST_H

#include <vector>

extern "C" {
#include "rng.h"
}

typedef std::vector<float> vecf;

static inline vecf randn(size_t n, uint64_t seed, float scale = 1.0f) {
    bd_rng r;
    bd_rng_seed(&r, seed);
    vecf v(n);
    for (auto &x : v) x = bd_rng_normal(&r) * scale;
    return v;
}

template <typename T> static T *up(const std::vector<T> &h) {
    T *d = nullptr;
    assert_int_equal(cudaMalloc(&d, h.size() * sizeof(T) + 1), cudaSuccess);
    assert_int_equal(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
    return d;
}
template <typename T> static std::vector<T> down(const T *d, size_t n) {
    std::vector<T> h(n);
    assert_int_equal(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return h;
}

static bd_err err;
#define OK(call) do { if ((call) != 0) fail_msg("%s: %s", #call, err.msg); } while (0)

#endif
