/* ops_cpu.c: forward ops of the reference CPU backend (OpenBLAS sgemm for
 * matrix products). Backward passes live in ops_cpu_bwd.c. */
#include "ops.h"
#include "parallel.h"
#include "vec_cpu.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void bd_linear_fwd(float *out, const float *inp, const float *w, const float *b, int N, int IN, int OUT) {
    bd_sgemm_bias(N, OUT, IN, inp, IN, w, IN, b, out, OUT);
}

typedef struct ln_ctx {
    float *out, *mean, *rstd;
    const float *inp, *g, *b;
    int C;
    float eps;
} ln_ctx;

static void ln_fwd_rows(void *arg, long lo, long hi, int tid) {
    (void)tid;
    const ln_ctx *c = arg;
    for (long n = lo; n < hi; n++)
        bd_vec_layernorm_fwd_row(c->out + n * c->C, c->mean ? c->mean + n : NULL, c->rstd ? c->rstd + n : NULL,
                                 c->inp + n * c->C, c->g, c->b, c->C, c->eps);
}

void bd_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *g,
                      const float *b, int N, int C, float eps) {
    ln_ctx c = {out, mean, rstd, inp, g, b, C, eps};
    bd_parallel_for_work(N, (long)N * C, ln_fwd_rows, &c);
}

#define BD_SQRT_2_OVER_PI 0.7978845608028654f

typedef struct act_ctx { float *out; const float *inp; bd_act act; } act_ctx;

static void act_fwd_range(void *arg, long lo, long hi, int tid) {
    (void)tid;
    const act_ctx *c = arg;
    float *out = c->out;
    const float *inp = c->inp;
    switch (c->act) {
    case BD_ACT_GELU:
        bd_vec_gelu_fwd(out + lo, inp + lo, hi - lo);
        break;
    case BD_ACT_GELU_TANH:
        for (long i = lo; i < hi; i++) {
            float x = inp[i];
            out[i] = 0.5f * x * (1.0f + tanhf(BD_SQRT_2_OVER_PI * (x + 0.044715f * x * x * x)));
        }
        break;
    case BD_ACT_RELU:
        for (long i = lo; i < hi; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
        break;
    }
}

void bd_act_fwd(float *out, const float *inp, long n, bd_act act) {
    act_ctx c = {out, inp, act};
    bd_parallel_for_work(n, n, act_fwd_range, &c);
}

void bd_tanh_fwd(float *out, const float *inp, long n) {
    for (long i = 0; i < n; i++) out[i] = tanhf(inp[i]);
}

void bd_embed_fwd(float *out, const int32_t *ids, const int32_t *type_ids, const float *word,
                  const float *pos, const float *type, int B, int T, int C) {
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            size_t r = (size_t)b * T + t;
            const float *we = word + (size_t)ids[r] * C;
            const float *pe = pos ? pos + (size_t)t * C : NULL;
            const float *te = type ? type + (size_t)(type_ids ? type_ids[r] : 0) * C : NULL;
            float *o = out + r * C;
            for (int c = 0; c < C; c++) {
                float v = we[c];
                if (pe) v += pe[c];
                if (te) v += te[c];
                o[c] = v;
            }
        }
    }
}

void bd_rotary(float *x, int B, int T, int NH, int D, int sign) {
    const int half = D / 2, C = NH * D;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            /* transformers: inv_freq = 1 / 10000^(arange(0, D, 2) / D), freqs = t * inv_freq, in float32 */
            const float inv = 1.0f / powf(10000.0f, (float)(2 * i) / (float)D);
            const float ang = (float)t * inv, c = cosf(ang), s = (float)sign * sinf(ang);
            for (int b = 0; b < B; b++)
                for (int h = 0; h < NH; h++) {
                    float *v = x + ((size_t)b * T + t) * C + (size_t)h * D;
                    const float x1 = v[i], x2 = v[i + half];
                    v[i] = x1 * c - x2 * s;
                    v[i + half] = x2 * c + x1 * s;
                }
        }
}

void bd_rows_scale(float *x, const float *s, int N, int C) {
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) x[(size_t)i * C + c] *= s[i];
}

typedef struct attn_fwd_ctx {
    float *out, *probs, *probs_d;
    const float *q, *k, *v, *mask;
    const uint8_t *keep;
    float p;
    int T, NH, HD;
} attn_fwd_ctx;

/* Heads [lo, hi) of the flattened (batch, head) index. */
static void attn_fwd_heads(void *arg, long lo, long hi, int tid) {
    (void)tid;
    const attn_fwd_ctx *c = arg;
    const int T = c->T, NH = c->NH, HD = c->HD, C = NH * HD;
    const float scale = 1.0f / sqrtf((float)HD);
    for (long bh = lo; bh < hi; bh++) {
        const int b = (int)(bh / NH), h = (int)(bh % NH);
        const float *mb = c->mask + (size_t)b * T;
        const float *qb = c->q + (size_t)b * T * C + h * HD;
        const float *kb = c->k + (size_t)b * T * C + h * HD;
        const float *vb = c->v + (size_t)b * T * C + h * HD;
        float *P = c->probs + (size_t)bh * T * T;
        /* P[T,T] = scale * Q K^T (strided heads) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, HD, scale, qb, C, kb, C, 0.0f, P, T);
        for (int i = 0; i < T; i++) bd_vec_softmax_row(P + (size_t)i * T, mb, T);
        const float *Pv = P;
        if (c->keep) {
            size_t at = (size_t)bh * T * T;
            bd_dropout_fwd(c->probs_d + at, P, c->keep + at, c->p, (long)T * T);
            Pv = c->probs_d + at;
        }
        float *ob = c->out + (size_t)b * T * C + h * HD;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, HD, T, 1.0f, Pv, T, vb, C, 0.0f, ob, C);
    }
}

void bd_attention_fwd(float *out, float *probs, float *probs_d, const float *q, const float *k,
                      const float *v, const float *mask, const uint8_t *keep, float p,
                      int B, int T, int NH, int HD) {
    attn_fwd_ctx c = {out, probs, probs_d, q, k, v, mask, keep, p, T, NH, HD};
    bd_parallel_for((long)B * NH, attn_fwd_heads, &c);
}

void bd_dropout_fwd(float *out, const float *inp, const uint8_t *keep, float p, long n) {
    bd_vec_dropout_fwd(out, inp, keep, 1.0f / (1.0f - p), n);
}

float bd_xent_fwd(float *probs, const float *logits, const int32_t *labels, int B, int L) {
    double loss = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * L;
        float *p = probs + (size_t)b * L;
        float mx = z[0];
        for (int l = 1; l < L; l++) if (z[l] > mx) mx = z[l];
        double sum = 0.0;
        for (int l = 0; l < L; l++) sum += exp((double)z[l] - mx);
        double lse = log(sum) + mx;
        for (int l = 0; l < L; l++) p[l] = (float)exp((double)z[l] - lse);
        loss += lse - z[labels[b]];
    }
    return (float)(loss / B);
}

float bd_mse_fwd(const float *pred, const float *target, int B) {
    double s = 0.0;
    for (int b = 0; b < B; b++) { double d = (double)pred[b] - target[b]; s += d * d; }
    return (float)(s / B);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of repeated timings: robust to the noise of a shared machine. */
double bd_sgemm_gflops(int M, int N, int K, double seconds_budget) {
    float *a = calloc((size_t)M * K, sizeof(float));
    float *b = calloc((size_t)K * N, sizeof(float));
    float *c = calloc((size_t)M * N, sizeof(float));
    double rates[256];
    int n = 0;
    if (!a || !b || !c) { free(a); free(b); free(c); return 0.0; }
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)K * N; i++) b[i] = (float)(i % 5) * 0.1f;
    bd_sgemm(0, 1, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
    double t_end = now_s() + seconds_budget;
    do {
        double t0 = now_s();
        bd_sgemm(0, 1, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
        double dt = now_s() - t0;
        rates[n++] = 2.0 * M * N * K / dt * 1e-9;
    } while (now_s() < t_end && n < 256);
    qsort(rates, (size_t)n, sizeof *rates, cmp_double);
    free(a); free(b); free(c);
    return rates[n / 2];
}
