/* erf.h: bd_erf, shared by the CPU ops (src/backend/ops.h) and the CUDA kernels
 * (kernels/act.cu), so that GELU computes the same function on both. */
#ifndef BD_ERF_H
#define BD_ERF_H

/* host and device under nvcc (and in the SIMT simulator, which defines __host__) */
#if defined(__host__)
#define BD_HOSTDEV __host__ __device__
#else
#define BD_HOSTDEV
#endif

/* erf as a rational function on [-4, 4] (the single-precision approximation
 * used by Eigen and XLA): max abs error 4.2e-7 over [-8, 8] against libm's
 * double erf (libm's erff: 5e-8), branch-free so GELU loops vectorize. */
static inline BD_HOSTDEV float bd_erf(float a) {
    const float x = a > 4.0f ? 4.0f : (a < -4.0f ? -4.0f : a), x2 = x * x;
    float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
    p = x2 * p - 2.10102402082508e-06f;
    p = x2 * p - 5.69250639462346e-05f;
    p = x2 * p - 7.34990630326855e-04f;
    p = x2 * p - 2.95459980854025e-03f;
    p = x2 * p - 1.60960333262415e-02f;
    float q = x2 * -1.45660718464996e-05f - 2.13374055278905e-04f;
    q = x2 * q - 1.68282697438203e-03f;
    q = x2 * q - 7.37332916720468e-03f;
    q = x2 * q - 1.42647390514189e-02f;
    return x * p / q;
}

#endif
