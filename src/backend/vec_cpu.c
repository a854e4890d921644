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
