/* race.cu: a test of the test tool. A shared-memory tree reduction whose first
 * __syncthreads() (after every thread stores its value) is missing unless RACE_FIXED:
 * thread i then reads sh[i + s] before thread i + s is known to have written it, a data
 * race that ThreadSanitizer must report (tests/test_simt_race.cpp runs both builds). */
#include <cstdio>

__global__ void block_sum_kernel(float *out, const float *x) {
    __shared__ float sh[256];
    const int t = threadIdx.x;
    sh[t] = x[blockIdx.x * blockDim.x + t];
#ifdef RACE_FIXED
    __syncthreads();
#endif
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) sh[t] += sh[t + s];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = sh[0];
}

int main() {
    const int nb = 2, nt = 256;
    float *x, *out, hx[nb * nt], hout[nb];
    for (int i = 0; i < nb * nt; i++) hx[i] = 1.0f;
    if (cudaMalloc(&x, sizeof hx) || cudaMalloc(&out, sizeof hout)) return 2;
    cudaMemcpy(x, hx, sizeof hx, cudaMemcpyHostToDevice);
    BD_LAUNCH(block_sum_kernel, nb, nt, 0, 0, out, (const float *)x);
    if (cudaGetLastError() != cudaSuccess) return 2;
    cudaMemcpy(hout, out, sizeof hout, cudaMemcpyDeviceToHost);
    std::printf("sums %g %g\n", hout[0], hout[1]);
    cudaFree(x);
    cudaFree(out);
    return hout[0] == nt && hout[1] == nt ? 0 : 1;
}
