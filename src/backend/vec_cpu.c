/* vec_cpu.c: the CPU backend's elementwise loops, built twice (src/backend/vec_cpu.h says why
 * and how they agree). Each loop's body is one always-inline function; BD_VEC_VARIANTS makes
 * a generic and an AVX2+FMA copy of it and the public function that picks one. The Makefile
 * compiles this file with -O3 (gcc's -O2 vectorizes only loops that need no epilogue) and
 * -fno-trapping-math (which lets it turn the selects of GELU's erf into vector blends; nothing in
 * bidora reads the floating-point exception flags, and no value changes). */
#include "vec_cpu.h"

#include "erf.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BD_INV_SQRT_2PI 0.3989422804014327f /* 1 / sqrt(2 pi): the normal density at 0 */
#define BD_SQRT1_2 0.70710678118654752f
#define LANES 8 /* fixed reduction lanes: the same sums in every build */

#define BODY static inline __attribute__((always_inline))

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BD_HAVE_AVX2 1
static int vec_level; /* 0 generic, 1 AVX2+FMA; set before main(), read-only after */

__attribute__((constructor)) static void vec_pick(void) {
    __builtin_cpu_init();
    const char *e = getenv("BIDORA_CPU");
    int want_generic = e && strcmp(e, "generic") == 0;
    vec_level = !want_generic && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#define BD_VEC_VARIANTS(name, params, args)                                                     \
    __attribute__((target("avx2,fma"))) static void name##_avx2 params { name##_body args; }   \
    static void name##_generic params { name##_body args; }                                     \
    void name params {                                                                          \
        if (vec_level) name##_avx2 args;                                                        \
        else name##_generic args;                                                               \
    }
#else
static int vec_level;
#define BD_VEC_VARIANTS(name, params, args) \
    void name params { name##_body args; }
#endif

const char *bd_vec_level(void) { return vec_level ? "avx2+fma" : "generic"; }

void bd_vec_force(int level) {
#ifdef BD_HAVE_AVX2
    vec_level = level && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    (void)level;
#endif
}

/* ---- GELU ---- */

BODY void bd_vec_gelu_fwd_body(float *out, const float *inp, long n) {
    for (long i = 0; i < n; i++) {
        const float x = inp[i];
        out[i] = 0.5f * x * (1.0f + bd_erf(x * BD_SQRT1_2));
    }
}
BD_VEC_VARIANTS(bd_vec_gelu_fwd, (float *out, const float *inp, long n), (out, inp, n))

/* d/dx [x Phi(x)] = Phi(x) + x phi(x) */
BODY void bd_vec_gelu_bwd_body(float *dinp, const float *inp, const float *dout,
                               long n) {
    for (long i = 0; i < n; i++) {
        const float x = inp[i];
        const float cdf = 0.5f * (1.0f + bd_erf(x * BD_SQRT1_2));
        const float pdf = BD_INV_SQRT_2PI * bd_expf(-0.5f * x * x);
        dinp[i] += dout[i] * (cdf + x * pdf);
    }
}
BD_VEC_VARIANTS(bd_vec_gelu_bwd, (float *dinp, const float *inp, const float *dout, long n),
                (dinp, inp, dout, n))

/* ---- the attention softmax ---- */

BODY void bd_vec_softmax_row_body(float *row, const float *mask, int T) {
    for (int j = 0; j < T; j++) row[j] = mask[j] == 0.0f ? row[j] + -FLT_MAX : row[j]; /* transformers: finfo.min */
    float m[LANES];
    for (int l = 0; l < LANES; l++) m[l] = -INFINITY;
    int j = 0;
    for (; j + LANES <= T; j += LANES)
        for (int l = 0; l < LANES; l++) m[l] = row[j + l] > m[l] ? row[j + l] : m[l];
    float mx = -INFINITY;
    for (int l = 0; l < LANES; l++) mx = m[l] > mx ? m[l] : mx;
    for (; j < T; j++) mx = row[j] > mx ? row[j] : mx;
    for (j = 0; j < T; j++) row[j] = bd_expf(row[j] - mx);
    double s[LANES] = {0};
    for (j = 0; j + LANES <= T; j += LANES)
        for (int l = 0; l < LANES; l++) s[l] += (double)row[j + l];
    double sum = 0.0;
    for (int l = 0; l < LANES; l++) sum += s[l];
    for (; j < T; j++) sum += row[j];
    const float inv = (float)(1.0 / sum);
    for (j = 0; j < T; j++) row[j] *= inv;
}
BD_VEC_VARIANTS(bd_vec_softmax_row, (float *row, const float *mask, int T), (row, mask, T))

BODY void bd_vec_softmax_bwd_row_body(float *d, const float *p, int T, float scale) {
    double s[LANES] = {0};
    int j = 0;
    for (; j + LANES <= T; j += LANES)
        for (int l = 0; l < LANES; l++) s[l] += (double)p[j + l] * d[j + l];
    double dot = 0.0;
    for (int l = 0; l < LANES; l++) dot += s[l];
    for (; j < T; j++) dot += (double)p[j] * d[j];
    for (j = 0; j < T; j++) d[j] = p[j] * (float)(d[j] - dot) * scale;
}
BD_VEC_VARIANTS(bd_vec_softmax_bwd_row, (float *d, const float *p, int T, float scale), (d, p, T, scale))

/* ---- dropout ---- */

BODY void bd_vec_dropout_fwd_body(float *out, const float *inp, const uint8_t *keep,
                                  float s, long n) {
    for (long i = 0; i < n; i++) {
        const float v = inp[i] * s;
        out[i] = keep[i] ? v : 0.0f;
    }
}
BD_VEC_VARIANTS(bd_vec_dropout_fwd, (float *out, const float *inp, const uint8_t *keep, float s, long n),
                (out, inp, keep, s, n))

BODY void bd_vec_dropout_bwd_body(float *dinp, const float *dout, const uint8_t *keep,
                                  float s, long n) {
    for (long i = 0; i < n; i++) {
        const float v = dout[i] * s;
        dinp[i] += keep[i] ? v : 0.0f;
    }
}
BD_VEC_VARIANTS(bd_vec_dropout_bwd, (float *dinp, const float *dout, const uint8_t *keep, float s, long n),
                (dinp, dout, keep, s, n))

/* ---- dropout masks ---- */

/* keep[i] = 1 unless the high 32 bits of splitmix64(seed + i * golden) fall below threshold:
 * element i's draw depends only on (seed, i), on any number of threads (and on the GPU:
 * kernels/dropout.cu computes the same). Integer arithmetic: every build gives the same mask. */
BODY void bd_vec_keep_mask_body(uint8_t *keep, long lo, long hi, uint64_t seed, uint32_t threshold) {
    for (long i = lo; i < hi; i++) {
        uint64_t z = seed + (uint64_t)i * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        keep[i] = (uint32_t)(z >> 32) >= threshold;
    }
}
BD_VEC_VARIANTS(bd_vec_keep_mask, (uint8_t *keep, long lo, long hi, uint64_t seed, uint32_t threshold),
                (keep, lo, hi, seed, threshold))

/* ---- LayerNorm ---- */

BODY void bd_vec_layernorm_fwd_row_body(float *y, float *mean, float *rstd, const float *x, const float *g,
                                        const float *b, int C, float eps) {
    double s[LANES] = {0}, v[LANES] = {0};
    int c = 0;
    for (; c + LANES <= C; c += LANES)
        for (int l = 0; l < LANES; l++) s[l] += x[c + l];
    double m = 0.0;
    for (int l = 0; l < LANES; l++) m += s[l];
    for (; c < C; c++) m += x[c];
    m /= C;
    for (c = 0; c + LANES <= C; c += LANES)
        for (int l = 0; l < LANES; l++) {
            const double d = x[c + l] - m;
            v[l] += d * d;
        }
    double var = 0.0;
    for (int l = 0; l < LANES; l++) var += v[l];
    for (; c < C; c++) { const double d = x[c] - m; var += d * d; }
    var /= C;
    const float r = (float)(1.0 / sqrt(var + eps));
    for (c = 0; c < C; c++) y[c] = ((float)(x[c] - m)) * r * g[c] + b[c];
    if (mean) *mean = (float)m;
    if (rstd) *rstd = r;
}
BD_VEC_VARIANTS(bd_vec_layernorm_fwd_row,
                (float *y, float *mean, float *rstd, const float *x, const float *g, const float *b, int C, float eps),
                (y, mean, rstd, x, g, b, C, eps))

BODY void bd_vec_layernorm_bwd_row_body(float *dx, const float *go, const float *x, const float *g, float m,
                                        float s, int C) {
    double a[LANES] = {0}, p[LANES] = {0};
    int c = 0;
    for (; c + LANES <= C; c += LANES)
        for (int l = 0; l < LANES; l++) {
            const float norm = (x[c + l] - m) * s, dnorm = go[c + l] * g[c + l];
            a[l] += dnorm;
            p[l] += (double)dnorm * norm;
        }
    double dnorm_mean = 0.0, dnorm_norm_mean = 0.0;
    for (int l = 0; l < LANES; l++) { dnorm_mean += a[l]; dnorm_norm_mean += p[l]; }
    for (; c < C; c++) {
        const float norm = (x[c] - m) * s, dnorm = go[c] * g[c];
        dnorm_mean += dnorm;
        dnorm_norm_mean += (double)dnorm * norm;
    }
    dnorm_mean /= C;
    dnorm_norm_mean /= C;
    for (c = 0; c < C; c++) {
        const float norm = (x[c] - m) * s, dnorm = go[c] * g[c];
        dx[c] += s * (float)(dnorm - dnorm_mean - norm * dnorm_norm_mean);
    }
}
BD_VEC_VARIANTS(bd_vec_layernorm_bwd_row,
                (float *dx, const float *go, const float *x, const float *g, float m, float s, int C),
                (dx, go, x, g, m, s, C))

/* columns [c0, c1) of dg and db over the N rows, in row order (as one thread would) */
BODY void bd_vec_layernorm_bwd_cols_body(float *dg, float *db, const float *dout, const float *inp,
                                         const float *mean, const float *rstd, int N, int C, int c0, int c1) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *go = dout + (size_t)n * C;
        const float m = mean[n], s = rstd[n];
        if (db)
            for (int c = c0; c < c1; c++) db[c] += go[c];
        if (dg)
            for (int c = c0; c < c1; c++) dg[c] += (x[c] - m) * s * go[c];
    }
}
BD_VEC_VARIANTS(bd_vec_layernorm_bwd_cols,
                (float *dg, float *db, const float *dout, const float *inp, const float *mean, const float *rstd,
                 int N, int C, int c0, int c1),
                (dg, db, dout, inp, mean, rstd, N, C, c0, c1))
