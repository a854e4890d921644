/* ops_cpu_bwd.c: backward ops of the reference CPU backend. Every function
 * ACCUMULATES (+=) into its gradients and skips a NULL gradient pointer, so a
 * tensor used twice sums its gradients (llm.c style). The forward passes live
 * in ops_cpu.c; tests/test_ops_grad.c checks each one against double-precision
 * finite differences. */
#include "ops.h"
#include "parallel.h"
#include "vec_cpu.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

void bd_linear_bwd(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                   const float *w, int N, int IN, int OUT) {
    if (N <= 0 || IN <= 0 || OUT <= 0) return;
    /* dinp[N,IN] += dout[N,OUT] @ w[OUT,IN] */
    if (dinp)
        bd_sgemm(0, 0, N, IN, OUT, 1.0f, dout, OUT, w, IN, 1.0f, dinp, IN);
    /* dw[OUT,IN] += dout[N,OUT]^T @ inp[N,IN] */
    if (dw)
        bd_sgemm(1, 0, OUT, IN, N, 1.0f, dout, OUT, inp, IN, 1.0f, dw, IN);
    /* db[OUT] += sum over rows of dout */
    if (db) {
        for (int n = 0; n < N; n++) {
            const float *g = dout + (size_t)n * OUT;
            for (int o = 0; o < OUT; o++) db[o] += g[o];
        }
    }
}

typedef struct ln_bwd_ctx {
    float *dinp, *dg, *db;
    const float *dout, *inp, *g, *mean, *rstd;
    int N, C;
} ln_bwd_ctx;

/* dg, db: each thread a range of columns over all rows (the sums in row order, as on one thread) */
static void ln_bwd_cols(void *arg, long lo, long hi, int tid) {
    (void)tid;
    const ln_bwd_ctx *c = arg;
    bd_vec_layernorm_bwd_cols(c->dg, c->db, c->dout, c->inp, c->mean, c->rstd, c->N, c->C, (int)lo, (int)hi);
}

static void ln_bwd_rows(void *arg, long lo, long hi, int tid) {
    (void)tid;
    const ln_bwd_ctx *c = arg;
    const long C = c->C;
    for (long n = lo; n < hi; n++)
        bd_vec_layernorm_bwd_row(c->dinp + n * C, c->dout + n * C, c->inp + n * C, c->g, c->mean[n], c->rstd[n],
                                 c->C);
}

/* dinp += rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)), dnorm = dout * g (the row means
 * in double); the parameter gradients first, so dinp may be dout itself. */
void bd_layernorm_bwd(float *dinp, float *dg, float *db, const float *dout, const float *inp,
                      const float *g, const float *mean, const float *rstd, int N, int C) {
    ln_bwd_ctx c = {dinp, dg, db, dout, inp, g, mean, rstd, N, C};
    if (dg || db) bd_parallel_for_work(C, (long)N * C, ln_bwd_cols, &c);
    if (dinp) bd_parallel_for_work(N, (long)N * C, ln_bwd_rows, &c);
}

#define BD_SQRT_2_OVER_PI 0.7978845608028654f

typedef struct act_bwd_ctx { float *dinp; const float *inp, *dout; bd_act act; } act_bwd_ctx;

static void act_bwd_range(void *arg, long lo, long hi, int tid) {
    (void)tid;
    const act_bwd_ctx *c = arg;
    float *dinp = c->dinp;
    const float *inp = c->inp, *dout = c->dout;
    switch (c->act) {
    case BD_ACT_GELU:
        /* d/dx [x Phi(x)] = Phi(x) + x phi(x) */
        bd_vec_gelu_bwd(dinp + lo, inp + lo, dout + lo, hi - lo);
        break;
    case BD_ACT_GELU_TANH:
        /* y = 0.5 x (1 + tanh u), u = k (x + 0.044715 x^3) */
        for (long i = lo; i < hi; i++) {
            float x = inp[i];
            float th = tanhf(BD_SQRT_2_OVER_PI * (x + 0.044715f * x * x * x));
            float du = BD_SQRT_2_OVER_PI * (1.0f + 3.0f * 0.044715f * x * x);
            dinp[i] += dout[i] * (0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du);
        }
        break;
    case BD_ACT_RELU:
        for (long i = lo; i < hi; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
        break;
    }
}

void bd_act_bwd(float *dinp, const float *inp, const float *dout, long n, bd_act act) {
    if (!dinp) return;
    act_bwd_ctx c = {dinp, inp, dout, act};
    bd_parallel_for_work(n, n, act_bwd_range, &c);
}

void bd_tanh_bwd(float *dinp, const float *out, const float *dout, long n) {
    if (!dinp) return;
    for (long i = 0; i < n; i++) dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
}

void bd_embed_bwd(float *dword, float *dpos, float *dtype, const float *dout, const int32_t *ids,
                  const int32_t *type_ids, int B, int T, int C) {
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            size_t r = (size_t)b * T + t;
            const float *g = dout + r * C; /* [C] */
            /* scatter-add: a repeated id (or position, type) sums its rows */
            if (dword) {
                float *dw = dword + (size_t)ids[r] * C;
                for (int c = 0; c < C; c++) dw[c] += g[c];
            }
            if (dpos) {
                float *dp = dpos + (size_t)t * C;
                for (int c = 0; c < C; c++) dp[c] += g[c];
            }
            if (dtype) {
                float *dt = dtype + (size_t)(type_ids ? type_ids[r] : 0) * C;
                for (int c = 0; c < C; c++) dt[c] += g[c];
            }
        }
    }
}

/* Through the softmax, row by row: dS = P * (dP - sum_j P dP) * scale.
 * A padded key has P exactly 0, hence dS exactly 0 and no dk/dv gradient.
 * (A fully padded row has uniform P and gets the same nonzero dS that
 * PyTorch's autograd gives it, although that forward is flat in q and k.) */
static void softmax_bwd_rows(float *dS, const float *P, int T, float scale) {
    for (int i = 0; i < T; i++) bd_vec_softmax_bwd_row(dS + (size_t)i * T, P + (size_t)i * T, T, scale);
}

typedef struct attn_bwd_ctx {
    float *dq, *dk, *dv;
    const float *dout, *probs, *probs_d, *q, *k, *v;
    const uint8_t *keep;
    float p, *scratch;
    int T, NH, HD;
} attn_bwd_ctx;

static void attn_bwd_heads(void *arg, long lo, long hi, int tid) {
    const attn_bwd_ctx *c = arg;
    const int T = c->T, NH = c->NH, HD = c->HD, C = NH * HD;
    const float scale = 1.0f / sqrtf((float)HD);
    const float keep_scale = c->keep ? 1.0f / (1.0f - c->p) : 1.0f;
    float *dS = c->scratch + (size_t)tid * T * T; /* [T,T] per thread: dP, then dS in place */
    for (long bh = lo; bh < hi; bh++) {
        const int b = (int)(bh / NH), h = (int)(bh % NH);
        const size_t off = (size_t)b * T * C + (size_t)h * HD; /* head h of sequence b */
        const size_t at = (size_t)bh * T * T;
        const float *P = c->probs + at;                          /* [T,T] */
        const float *Pv = c->keep ? c->probs_d + at : P;         /* what multiplied v */
        const float *dob = c->dout + off;                        /* [T,HD], ld C */
        /* dv[T,HD] += Pv^T @ dout */
        if (c->dv)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, HD, T, 1.0f, Pv, T, dob, C, 1.0f,
                        c->dv + off, C);
        if (!c->dq && !c->dk) continue;
        /* dPv[T,T] = dout @ v^T; through dropout to dP; then dS in place */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, HD, 1.0f, dob, C, c->v + off, C, 0.0f, dS, T);
        if (c->keep) {
            const uint8_t *kp = c->keep + at;
            for (size_t i = 0; i < (size_t)T * T; i++) dS[i] = kp[i] ? dS[i] * keep_scale : 0.0f;
        }
        softmax_bwd_rows(dS, P, T, scale);
        /* dq[T,HD] += dS @ k;  dk[T,HD] += dS^T @ q */
        if (c->dq)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, HD, T, 1.0f, dS, T, c->k + off, C, 1.0f,
                        c->dq + off, C);
        if (c->dk)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, HD, T, 1.0f, dS, T, c->q + off, C, 1.0f,
                        c->dk + off, C);
    }
}

void bd_attention_bwd(float *dq, float *dk, float *dv, const float *dout, const float *probs,
                      const float *probs_d, const uint8_t *keep, float p, const float *q,
                      const float *k, const float *v, float *scratch, int B, int T, int NH, int HD) {
    if (B <= 0 || T <= 0 || NH <= 0 || HD <= 0) return;
    attn_bwd_ctx c = {dq, dk, dv, dout, probs, probs_d, q, k, v, keep, p, scratch, T, NH, HD};
    bd_parallel_for((long)B * NH, attn_bwd_heads, &c);
}

void bd_dropout_bwd(float *dinp, const float *dout, const uint8_t *keep, float p, long n) {
    if (!dinp) return;
    bd_vec_dropout_bwd(dinp, dout, keep, 1.0f / (1.0f - p), n);
}

void bd_xent_bwd(float *dlogits, const float *probs, const int32_t *labels, int B, int L, float scale) {
    if (!dlogits || B <= 0) return;
    const float s = scale / (float)B;
    for (int b = 0; b < B; b++) {
        const float *p = probs + (size_t)b * L; /* [L] */
        float *d = dlogits + (size_t)b * L;
        for (int l = 0; l < L; l++) d[l] += s * (p[l] - (l == labels[b] ? 1.0f : 0.0f));
    }
}

void bd_mse_bwd(float *dpred, const float *pred, const float *target, int B, float scale) {
    if (!dpred || B <= 0) return;
    const float s = 2.0f * scale / (float)B;
    for (int b = 0; b < B; b++) dpred[b] += s * (pred[b] - target[b]);
}
