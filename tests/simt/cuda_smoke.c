/* cuda_smoke.c: links the nvcc-built kernels (make cuda-objs) with the real CUDA runtime,
 * which proves every wrapper's symbols resolve. Run: without a usable GPU it prints
 * "no CUDA device: <cudaGetErrorString>" and exits 0; with one it checks a sum of squares
 * of 1..n on the device (exit 1 if wrong, or if a call fails). */
#include <stdio.h>
#include <stdlib.h>

#include <cuda_runtime_api.h>

#include "kernels.h"

int main(void) {
    int n_dev = 0;
    cudaError_t rc = cudaGetDeviceCount(&n_dev);
    if (rc != cudaSuccess || n_dev == 0) {
        printf("no CUDA device: %s\n", rc != cudaSuccess ? cudaGetErrorString(rc) : "none found");
        return 0;
    }
    enum { N = 1000 };
    float h[N];
    for (int i = 0; i < N; i++) h[i] = (float)(i + 1);
    float *x = NULL;
    double *acc = NULL, *scratch = NULL, got = 0.0, zero = 0.0;
    bd_err e;
    if (cudaMalloc((void **)&x, sizeof h) || cudaMalloc((void **)&acc, sizeof(double)) ||
        cudaMalloc((void **)&scratch, BD_CU_SUMSQ_SCRATCH * sizeof(double)) ||
        cudaMemcpy(x, h, sizeof h, cudaMemcpyHostToDevice) ||
        cudaMemcpy(acc, &zero, sizeof zero, cudaMemcpyHostToDevice)) {
        printf("cuda_smoke: allocation or copy failed: %s\n", cudaGetErrorString(cudaGetLastError()));
        return 1;
    }
    if (bd_cu_sumsq(acc, x, N, scratch, NULL, &e)) { printf("cuda_smoke: %s\n", e.msg); return 1; }
    if (cudaMemcpy(&got, acc, sizeof got, cudaMemcpyDeviceToHost)) return 1;
    const double want = (double)N * (N + 1) * (2 * N + 1) / 6;
    printf("cuda_smoke: %d device(s); sumsq of 1..%d = %.1f (want %.1f)\n", n_dev, N, got, want);
    cudaFree(x); cudaFree(acc); cudaFree(scratch);
    return got == want ? 0 : 1;
}
