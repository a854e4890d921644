/* vec_cpu.h: the elementwise loops of the CPU backend (GELU, the attention softmax, dropout and
 * its masks, LayerNorm),
 * written so that the compiler vectorizes them and compiled twice on x86-64: for any x86-64
 * (SSE2) and for x86-64-v3 (AVX2 + FMA), the second picked at run time where the CPU has it.
 * Both builds compute bit for bit the same values (the C is strict IEEE: no contraction into
 * FMA, no reassociation; reductions run in fixed lanes), so a result never depends on which
 * machine ran it; tests/test_vec.c checks that on the machine it runs on.
 *
 * BIDORA_CPU=generic (read once, at start-up) forces the SSE2 build; bd_vec_level() names the
 * one in use ("x86-64-v3", "generic"). Under the sanitizers only the generic build exists
 * (ASan/TSan instrument both the same C; the v3 build is the same source). */
#ifndef BD_VEC_CPU_H
#define BD_VEC_CPU_H

#include <stdint.h>

const char *bd_vec_level(void);
/* 0: generic, 1: x86-64-v3; bd_vec_force(0) is what BIDORA_CPU=generic does (for tests). */
void bd_vec_force(int level);

/* e^x for float x, branch-free (Cephes' polynomial on a range reduced by ln 2): within 2 ulp of
 * libm's expf for x in [-87.3, 88.37]; exactly 0 below -87.3 (where expf gives values near or
 * under FLT_MIN: no subnormal ever comes out, so none slows a later product), +inf above 88.37
 * (expf: above 88.72), NaN for NaN. */
static inline float bd_expf(float x) {
    const float lo = -87.3f, hi = 88.37f;
    const float xc = x > lo ? (x < hi ? x : hi) : lo; /* NaN -> lo: the cast below stays defined */
    /* n = round(x / ln 2) by the 1.5 * 2^23 trick (exact in IEEE float arithmetic) */
    const float big = 12582912.0f;
    const float t = xc * 1.44269504088896341f + big;
    const float nf = t - big;
    const float r = (xc - nf * 0.693359375f) - nf * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    union { uint32_t u; float f; } two_n = {(uint32_t)((int32_t)nf + 127) << 23};
    const float y = p * two_n.f;
    return x < lo ? 0.0f : (x > hi ? __builtin_inff() : (x == x ? y : x));
}

/* GELU (erf form) over n values: out = x Phi(x); dinp += dout * (Phi(x) + x phi(x)). */
void bd_vec_gelu_fwd(float *out, const float *inp, long n);
void bd_vec_gelu_bwd(float *dinp, const float *inp, const float *dout, long n);
/* One attention row of T scores in place: masked keys (mask[j] == 0) get -FLT_MAX added, then
 * softmax (max subtracted, the sum in double); a masked key's probability is exactly 0. */
void bd_vec_softmax_row(float *row, const float *mask, int T);
/* Through the softmax: d = p * (d - sum_j p d) * scale (the sum in double), T values. */
void bd_vec_softmax_bwd_row(float *d, const float *p, int T, float scale);
/* out = keep ? inp * s : 0;  dinp += keep ? dout * s : 0 */
void bd_vec_dropout_fwd(float *out, const float *inp, const uint8_t *keep, float s, long n);
void bd_vec_dropout_bwd(float *dinp, const float *dout, const uint8_t *keep, float s, long n);
/* keep[i] for i in [lo, hi): the dropout mask's draw of element i (src/backend/vec_cpu.c). */
void bd_vec_keep_mask(uint8_t *keep, long lo, long hi, uint64_t seed, uint32_t threshold);

/* LayerNorm of one row of C values (mean and variance in double), and its backward: dx += the
 * row's input gradient; dg, db += columns [c0, c1) summed over the N rows in row order. */
void bd_vec_layernorm_fwd_row(float *y, float *mean, float *rstd, const float *x, const float *g,
                              const float *b, int C, float eps);
void bd_vec_layernorm_bwd_row(float *dx, const float *go, const float *x, const float *g, float m, float s,
                              int C);
void bd_vec_layernorm_bwd_cols(float *dg, float *db, const float *dout, const float *inp, const float *mean,
                               const float *rstd, int N, int C, int c0, int c1);

#endif
