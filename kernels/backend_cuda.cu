/* backend_cuda.cu: the CUDA backend, the host side: src/backend/backend.h's table over the kernels
 * of kernels/ (kernels.h) and cuBLAS for every matrix product. Compiled by nvcc for the GPU
 * and by g++ over the SIMT simulator (tests/simt/: its cuda_runtime.h and cublas_v2.h) for
 * the tests, so the launch geometry, transposes, leading dimensions, strides and pool
 * offsets below run in `make test` too.
 *
 * - One stream, one cuBLAS handle per backend. Ops are asynchronous; download, sumsq and
 *   the losses wait for the stream (the only host<->device traffic of a step besides the
 *   batch's ids, mask and labels).
 * - Errors are sticky (backend.h): the first failed call or launch is kept with its name,
 *   file:line and the CUDA or cuBLAS error string, and every op after it does nothing.
 * - Memory comes from a pool: allocations are made at set-up (parameters, groups, moments,
 *   activations) and a freed block is kept for the next request of the same size (the
 *   regularizer's and the adapters' scratch), so a step allocates nothing from CUDA.
 *   Out of device memory names the bytes wanted and the bytes free.
 * - Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS gets B first. */
#include "bd_cuda.h"

#include <cublas_v2.h>

#include <map>
#include <new>
#include <vector>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" {
#include "backend.h"
#include "kernels.h"
}

namespace {

struct Ctx {
    cudaStream_t stream = nullptr;
    cublasHandle_t blas = nullptr;
    int tf32 = 0;
    std::map<void *, size_t> live;                 /* pointer -> bytes */
    std::multimap<size_t, void *> cached;          /* freed blocks by size */
    size_t cached_bytes = 0;
    double *acc = nullptr;                         /* [1 + BD_CU_SUMSQ_SCRATCH] sumsq */
    float *loss = nullptr;                         /* [1] */
    double *dscratch = nullptr;                    /* xent's per-row doubles */
    size_t dscratch_n = 0;
    int32_t *iscratch = nullptr;                   /* the embeddings backward's chains */
    size_t iscratch_n = 0;
};

Ctx *C(bd_backend *be) { return static_cast<Ctx *>(be->ctx); }
cudaStream_t S(bd_backend *be) { return C(be)->stream; }

/* The first failure of the backend, kept (later ones would only be its consequences). */
void failf(bd_backend *be, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void failf(bd_backend *be, const char *fmt, ...) {
    if (be->failed) return;
    be->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(be->err.msg, sizeof be->err.msg, fmt, ap);
    va_end(ap);
}

#define CU(be, call)                                                                          \
    do {                                                                                      \
        cudaError_t rc_ = (call);                                                             \
        if (rc_ != cudaSuccess)                                                               \
            failf((be), "%s failed at %s:%d: %s", #call, __FILE__, __LINE__, cudaGetErrorString(rc_)); \
    } while (0)
#define BLAS(be, call)                                                                        \
    do {                                                                                      \
        cublasStatus_t rc_ = (call);                                                          \
        if (rc_ != CUBLAS_STATUS_SUCCESS)                                                     \
            failf((be), "%s failed at %s:%d: %s", #call, __FILE__, __LINE__, cublasGetStatusString(rc_)); \
    } while (0)
/* a kernels.h wrapper: its bd_err becomes the backend's */
#define K(be, call)                                                                           \
    do {                                                                                      \
        bd_err ke_;                                                                           \
        if ((call) != 0) failf((be), "%s", ke_.msg);                                          \
    } while (0)
#define E (&ke_)
#define LIVE(be) if ((be)->failed) return

/* ---- memory ---- */

size_t round_up(size_t n) { return (n + 255) & ~(size_t)255; }

void *cu_alloc(bd_backend *be, size_t bytes, const char *what) {
    if (be->failed) return nullptr;
    Ctx *c = C(be);
    size_t n = round_up(bytes ? bytes : 1);
    void *p = nullptr;
    auto it = c->cached.find(n);
    if (it != c->cached.end()) {
        p = it->second;
        c->cached.erase(it);
        c->cached_bytes -= n;
    } else {
        cudaError_t rc = cudaMalloc(&p, n);
        if (rc == cudaErrorMemoryAllocation && c->cached_bytes) {
            /* give the pool's spare blocks back and try once more */
            (void)cudaGetLastError();
            for (auto &kv : c->cached) cudaFree(kv.second);
            c->cached.clear();
            c->cached_bytes = 0;
            rc = cudaMalloc(&p, n);
        }
        if (rc != cudaSuccess) {
            (void)cudaGetLastError();
            size_t free_b = 0, total_b = 0;
            cudaMemGetInfo(&free_b, &total_b);
            if (rc == cudaErrorMemoryAllocation)
                failf(be, "out of device memory: %s wanted %zu bytes (%.1f MiB), %zu bytes (%.1f MiB) free of %.1f MiB",
                      what, n, n / 1048576.0, free_b, free_b / 1048576.0, total_b / 1048576.0);
            else
                failf(be, "cudaMalloc(%zu bytes for %s) failed: %s", n, what, cudaGetErrorString(rc));
            return nullptr;
        }
    }
    c->live[p] = n;
    be->live_bytes += n;
    if (be->live_bytes > be->peak_bytes) be->peak_bytes = be->live_bytes;
    return p;
}

void cu_free(bd_backend *be, void *p) {
    if (!p) return;
    Ctx *c = C(be);
    auto it = c->live.find(p);
    if (it == c->live.end()) { failf(be, "cu_free: %p is not a pointer of this backend", p); return; }
    be->live_bytes -= it->second;
    c->cached.emplace(it->second, p);
    c->cached_bytes += it->second;
    c->live.erase(it);
}

void cu_upload(bd_backend *be, void *dst, const void *src, size_t bytes) {
    LIVE(be);
    if (bytes) CU(be, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, S(be)));
}
void cu_download(bd_backend *be, void *dst, const void *src, size_t bytes) {
    LIVE(be);
    if (!bytes) return;
    CU(be, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, S(be)));
    CU(be, cudaStreamSynchronize(S(be)));
}
void cu_copy(bd_backend *be, void *dst, const void *src, size_t bytes) {
    LIVE(be);
    if (bytes && dst != src) CU(be, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, S(be)));
}
void cu_zero(bd_backend *be, void *dst, size_t bytes) {
    LIVE(be);
    if (bytes) CU(be, cudaMemsetAsync(dst, 0, bytes, S(be)));
}
void cu_sync(bd_backend *be) {
    LIVE(be);
    CU(be, cudaStreamSynchronize(S(be)));
}

void cu_destroy(bd_backend *be) {
    Ctx *c = C(be);
    if (c) {
        if (c->stream) cudaStreamSynchronize(c->stream);
        for (auto &kv : c->cached) cudaFree(kv.second);
        for (auto &kv : c->live) cudaFree(kv.first);
        if (c->blas) cublasDestroy(c->blas);
        if (c->stream) cudaStreamDestroy(c->stream);
        delete c;
    }
    free(be);
}

/* ---- matrix products ---- */

cublasOperation_t op(int t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; }
cublasComputeType_t compute(bd_backend *be) {
    return C(be)->tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

void cu_gemm(bd_backend *be, int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *Cm, int ldc) {
    LIVE(be);
    if (M <= 0 || N <= 0) return;
    BLAS(be, cublasGemmEx(C(be)->blas, op(tB), op(tA), N, M, K, &alpha, B, CUDA_R_32F, ldb, A, CUDA_R_32F, lda,
                          &beta, Cm, CUDA_R_32F, ldc, compute(be), CUBLAS_GEMM_DEFAULT));
}

/* batch row-major products C_i = alpha op(A_i) op(B_i) + beta C_i, X_i = X + i * sX */
void gemm_sb(bd_backend *be, int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda,
             long long sA, const float *B, int ldb, long long sB, float beta, float *Cm, int ldc, long long sC,
             int batch) {
    LIVE(be);
    if (M <= 0 || N <= 0 || batch <= 0) return;
    BLAS(be, cublasGemmStridedBatchedEx(C(be)->blas, op(tB), op(tA), N, M, K, &alpha, B, CUDA_R_32F, ldb, sB, A,
                                        CUDA_R_32F, lda, sA, &beta, Cm, CUDA_R_32F, ldc, sC, batch, compute(be),
                                        CUBLAS_GEMM_DEFAULT));
}

void cu_linear_fwd(bd_backend *be, float *out, const float *inp, const float *w, const float *b, int N, int IN,
                   int OUT) {
    LIVE(be);
    if (b) K(be, bd_cu_bias_rows(out, b, N, OUT, S(be), E));
    cu_gemm(be, 0, 1, N, OUT, IN, 1.0f, inp, IN, w, IN, b ? 1.0f : 0.0f, out, OUT);
}

void cu_linear_bwd(bd_backend *be, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                   const float *w, int N, int IN, int OUT) {
    LIVE(be);
    if (N <= 0 || IN <= 0 || OUT <= 0) return;
    if (dinp) cu_gemm(be, 0, 0, N, IN, OUT, 1.0f, dout, OUT, w, IN, 1.0f, dinp, IN);
    if (dw) cu_gemm(be, 1, 0, OUT, IN, N, 1.0f, dout, OUT, inp, IN, 1.0f, dw, IN);
    if (db) K(be, bd_cu_bias_grad(db, dout, N, OUT, S(be), E));
}

/* ---- the BERT ops ---- */

void cu_layernorm_fwd(bd_backend *be, float *out, float *mean, float *rstd, const float *inp, const float *g,
                      const float *b, int N, int Cn, float eps) {
    LIVE(be);
    K(be, bd_cu_layernorm_fwd(out, mean, rstd, inp, g, b, N, Cn, eps, S(be), E));
}
void cu_layernorm_bwd(bd_backend *be, float *dinp, float *dg, float *db, const float *dout, const float *inp,
                      const float *g, const float *mean, const float *rstd, int N, int Cn) {
    LIVE(be);
    K(be, bd_cu_layernorm_bwd(dinp, dg, db, dout, inp, g, mean, rstd, N, Cn, S(be), E));
}
void cu_act_fwd(bd_backend *be, float *out, const float *inp, long n, bd_act act) {
    LIVE(be);
    K(be, bd_cu_act_fwd(out, inp, n, (int)act, S(be), E));
}
void cu_act_bwd(bd_backend *be, float *dinp, const float *inp, const float *dout, long n, bd_act act) {
    LIVE(be);
    K(be, bd_cu_act_bwd(dinp, inp, dout, n, (int)act, S(be), E));
}
void cu_tanh_fwd(bd_backend *be, float *out, const float *inp, long n) {
    LIVE(be);
    K(be, bd_cu_tanh_fwd(out, inp, n, S(be), E));
}
void cu_tanh_bwd(bd_backend *be, float *dinp, const float *out, const float *dout, long n) {
    LIVE(be);
    if (dinp) K(be, bd_cu_tanh_bwd(dinp, out, dout, n, S(be), E));
}
void cu_rotary(bd_backend *be, float *x, int B, int T, int NH, int D, int sign) {
    LIVE(be);
    K(be, bd_cu_rotary(x, B, T, NH, D, sign, S(be), E));
}
void cu_rows_scale(bd_backend *be, float *x, const float *s, int N, int Cn) {
    LIVE(be);
    K(be, bd_cu_rows_scale(x, s, N, Cn, S(be), E));
}
void cu_embed_fwd(bd_backend *be, float *out, const int32_t *ids, const int32_t *type_ids, const float *word,
                  const float *pos, const float *type, int B, int T, int Cn) {
    LIVE(be);
    K(be, bd_cu_embed_fwd(out, ids, type_ids, word, pos, type, B, T, Cn, S(be), E));
}
void cu_embed_bwd(bd_backend *be, float *dword, float *dpos, float *dtype, const float *dout, const int32_t *ids,
                  const int32_t *type_ids, int B, int T, int Cn) {
    LIVE(be);
    Ctx *c = C(be);
    size_t need = BD_CU_EMBED_SCRATCH(B, T);
    if (need > c->iscratch_n) {
        cu_free(be, c->iscratch);
        c->iscratch = static_cast<int32_t *>(cu_alloc(be, need * sizeof(int32_t), "the embeddings backward's scratch"));
        c->iscratch_n = c->iscratch ? need : 0;
        if (!c->iscratch) return;
    }
    K(be, bd_cu_embed_bwd(dword, dpos, dtype, dout, ids, type_ids, B, T, Cn, c->iscratch, S(be), E));
}

/* Attention: per sequence b, the NH heads as one strided batch (head h of q at column
 * h*HD, row stride C = NH*HD); the softmax and dropout over all B*NH*T rows at once. */
void cu_attention_fwd(bd_backend *be, float *out, float *probs, float *probs_d, const float *q, const float *k,
                      const float *v, const float *mask, const uint8_t *keep, float p, int B, int T, int NH,
                      int HD) {
    LIVE(be);
    const int Cn = NH * HD;
    const long long TT = (long long)T * T;
    const float scale = 1.0f / sqrtf((float)HD);
    for (int b = 0; b < B; b++) {
        const size_t off = (size_t)b * T * Cn;
        gemm_sb(be, 0, 1, T, T, HD, scale, q + off, Cn, HD, k + off, Cn, HD, 0.0f, probs + (size_t)b * NH * TT, T,
                TT, NH);
    }
    K(be, bd_cu_softmax_fwd(probs, mask, B, NH, T, S(be), E));
    const float *Pv = probs;
    if (keep) {
        K(be, bd_cu_dropout_fwd(probs_d, probs, keep, p, (long)B * NH * TT, S(be), E));
        Pv = probs_d;
    }
    for (int b = 0; b < B; b++) {
        const size_t off = (size_t)b * T * Cn;
        gemm_sb(be, 0, 0, T, HD, T, 1.0f, Pv + (size_t)b * NH * TT, T, TT, v + off, Cn, HD, 0.0f, out + off, Cn, HD,
                NH);
    }
}

void cu_attention_bwd(bd_backend *be, float *dq, float *dk, float *dv, const float *dout, const float *probs,
                      const float *probs_d, const uint8_t *keep, float p, const float *q, const float *k,
                      const float *v, float *scratch, int B, int T, int NH, int HD) {
    LIVE(be);
    if (B <= 0 || T <= 0 || NH <= 0 || HD <= 0) return;
    const int Cn = NH * HD;
    const long long TT = (long long)T * T;
    const float scale = 1.0f / sqrtf((float)HD);
    const float *Pv = keep ? probs_d : probs;
    for (int b = 0; b < B; b++) {
        const size_t off = (size_t)b * T * Cn, at = (size_t)b * NH * TT;
        /* dv += Pv^T dout */
        if (dv) gemm_sb(be, 1, 0, T, HD, T, 1.0f, Pv + at, T, TT, dout + off, Cn, HD, 1.0f, dv + off, Cn, HD, NH);
        /* dP = dout v^T into the scratch */
        if (dq || dk) gemm_sb(be, 0, 1, T, T, HD, 1.0f, dout + off, Cn, HD, v + off, Cn, HD, 0.0f, scratch + at, T, TT, NH);
    }
    if (!dq && !dk) return;
    const long n = (long)B * NH * TT;
    if (keep) K(be, bd_cu_dropout_fwd(scratch, scratch, keep, p, n, S(be), E)); /* through the dropout */
    K(be, bd_cu_softmax_bwd(scratch, probs, (long)B * NH * T, T, scale, S(be), E));
    for (int b = 0; b < B; b++) {
        const size_t off = (size_t)b * T * Cn, at = (size_t)b * NH * TT;
        if (dq) gemm_sb(be, 0, 0, T, HD, T, 1.0f, scratch + at, T, TT, k + off, Cn, HD, 1.0f, dq + off, Cn, HD, NH);
        if (dk) gemm_sb(be, 1, 0, T, HD, T, 1.0f, scratch + at, T, TT, q + off, Cn, HD, 1.0f, dk + off, Cn, HD, NH);
    }
}

size_t cu_attn_scratch_floats(bd_backend *be, int B, int T, int NH) {
    (void)be;
    return (size_t)B * NH * T * T; /* dS of every head */
}

void cu_dropout_mask(bd_backend *be, uint8_t *keep, size_t n, uint64_t seed, float p) {
    LIVE(be);
    K(be, bd_cu_dropout_mask(keep, n, seed, p, S(be), E));
}
void cu_dropout_fwd(bd_backend *be, float *out, const float *inp, const uint8_t *keep, float p, long n) {
    LIVE(be);
    K(be, bd_cu_dropout_fwd(out, inp, keep, p, n, S(be), E));
}
void cu_dropout_bwd(bd_backend *be, float *dinp, const float *dout, const uint8_t *keep, float p, long n) {
    LIVE(be);
    if (dinp) K(be, bd_cu_dropout_bwd(dinp, dout, keep, p, n, S(be), E));
}

float read_loss(bd_backend *be) {
    float l = NAN;
    cu_download(be, &l, C(be)->loss, sizeof l);
    return be->failed ? NAN : l;
}

float cu_xent_fwd(bd_backend *be, float *probs, const float *logits, const int32_t *labels, int B, int L) {
    if (be->failed) return NAN;
    Ctx *c = C(be);
    if ((size_t)B > c->dscratch_n) {
        cu_free(be, c->dscratch);
        c->dscratch = static_cast<double *>(cu_alloc(be, sizeof(double) * (size_t)B, "the loss's scratch"));
        c->dscratch_n = c->dscratch ? (size_t)B : 0;
        if (!c->dscratch) return NAN;
    }
    K(be, bd_cu_xent_fwd(c->loss, probs, logits, labels, B, L, c->dscratch, S(be), E));
    return read_loss(be);
}
void cu_xent_bwd(bd_backend *be, float *dlogits, const float *probs, const int32_t *labels, int B, int L,
                 float scale) {
    LIVE(be);
    if (dlogits) K(be, bd_cu_xent_bwd(dlogits, probs, labels, B, L, scale, S(be), E));
}
float cu_mse_fwd(bd_backend *be, const float *pred, const float *target, int B) {
    if (be->failed) return NAN;
    K(be, bd_cu_mse_fwd(C(be)->loss, pred, target, B, S(be), E));
    return read_loss(be);
}
void cu_mse_bwd(bd_backend *be, float *dpred, const float *pred, const float *target, int B, float scale) {
    LIVE(be);
    if (dpred) K(be, bd_cu_mse_bwd(dpred, pred, target, B, scale, S(be), E));
}

/* ---- vectors ---- */

void cu_axpy(bd_backend *be, float *y, const float *x, size_t n, float a) {
    LIVE(be);
    K(be, bd_cu_axpy(y, x, n, a, S(be), E));
}
void cu_scale(bd_backend *be, float *x, size_t n, float s) {
    LIVE(be);
    K(be, bd_cu_scale(x, n, s, S(be), E));
}
double cu_sumsq(bd_backend *be, const float *x, size_t n) {
    if (be->failed) return NAN;
    Ctx *c = C(be);
    cu_zero(be, c->acc, sizeof(double));
    K(be, bd_cu_sumsq(c->acc, x, n, c->acc + 1, S(be), E));
    double s = NAN;
    cu_download(be, &s, c->acc, sizeof s);
    return be->failed ? NAN : s;
}
void cu_add_scaled(bd_backend *be, float *out, const float *x, float a, const float *y, size_t n) {
    LIVE(be);
    K(be, bd_cu_add_scaled(out, x, a, y, n, S(be), E));
}
void cu_hyper_combine(bd_backend *be, float *h, const float *gd, const float *gp, const float *gm, double k,
                      size_t n) {
    LIVE(be);
    K(be, bd_cu_hyper_combine(h, gd, gp, gm, k, n, S(be), E));
}
void cu_add_rows(bd_backend *be, float *y, const float *b, int N, int Cn, float alpha) {
    LIVE(be);
    K(be, bd_cu_add_rows(y, b, N, Cn, alpha, S(be), E));
}
void cu_copy_rows(bd_backend *be, float *dst, size_t dst_ld, const float *src, size_t src_ld, int rows, int cols) {
    LIVE(be);
    K(be, bd_cu_copy_rows(dst, dst_ld, src, src_ld, rows, cols, S(be), E));
}

/* ---- DoRA ---- */

void cu_dora_init_norms(bd_backend *be, float *sq, const float *w0, int out, int in) {
    LIVE(be);
    K(be, bd_cu_dora_init_norms(sq, w0, out, in, S(be), E));
}
void cu_dora_row_norms(bd_backend *be, float *n, const float *sq, const float *B, const float *w0a, const float *aat,
                       float s, int out, int r) {
    LIVE(be);
    K(be, bd_cu_dora_row_norms(n, sq, B, w0a, aat, s, out, r, S(be), E));
}
void cu_dora_scale(bd_backend *be, float *y, const float *z, const float *m, const float *n, const float *b,
                   const float *lin, int N, int out) {
    LIVE(be);
    K(be, bd_cu_dora_scale(y, z, m, n, b, lin, N, out, S(be), E));
}
void cu_dora_z_recover(bd_backend *be, float *z, const float *y, const float *b, const float *m, const float *n,
                       const float *x, const float *w0, const float *A, const float *B, float s, int N, int in,
                       int out, int r) {
    LIVE(be);
    K(be, bd_cu_dora_z_recover(z, y, b, m, n, x, w0, A, B, s, N, in, out, r, S(be), E));
}
void cu_dora_bwd_mag(bd_backend *be, float *G, float *dl, float *dm, const float *dy, const float *z, const float *m,
                     const float *n, int N, int out) {
    LIVE(be);
    K(be, bd_cu_dora_bwd_mag(G, dl, dm, dy, z, m, n, N, out, S(be), E));
}
void cu_dora_u_rows(bd_backend *be, float *dst, const float *src, const float *G, const float *m, const float *n,
                    float alpha, int accumulate, int out, int r) {
    LIVE(be);
    K(be, bd_cu_dora_u_rows(dst, src, G, m, n, alpha, accumulate, out, r, S(be), E));
}

/* ---- orthogonality ---- */

void cu_rows_normalize(bd_backend *be, float *W, float *norms, int rows, int cols) {
    LIVE(be);
    K(be, bd_cu_rows_normalize(W, norms, rows, cols, S(be), E));
}
void cu_gram_minus_identity(bd_backend *be, float *G, const float *W, int rows, int cols) {
    LIVE(be);
    cu_gemm(be, 0, 1, rows, rows, cols, 1.0f, W, cols, W, cols, 0.0f, G, rows);
    K(be, bd_cu_sub_identity(G, rows, S(be), E));
}
void cu_rows_project(bd_backend *be, float *dW, const float *U, const float *norms, int rows, int cols) {
    LIVE(be);
    K(be, bd_cu_rows_project(dW, U, norms, rows, cols, S(be), E));
}

/* ---- optimizers ---- */

void cu_adamw_step(bd_backend *be, float *w, const float *g, float *m1, float *m2, size_t n, long t, float lr,
                   float b1, float b2, float eps, float wd) {
    LIVE(be);
    K(be, bd_cu_adamw_step(w, g, m1, m2, n, t, lr, b1, b2, eps, wd, S(be), E));
}
void cu_sgd_step(bd_backend *be, float *w, const float *g, size_t n, float lr, float wd) {
    LIVE(be);
    K(be, bd_cu_sgd_step(w, g, n, lr, wd, S(be), E));
}

void fill(bd_backend *be) {
    be->name = "cuda";
    be->host_memory = 0;
    be->alloc = cu_alloc; be->free = cu_free; be->upload = cu_upload; be->download = cu_download;
    be->copy = cu_copy; be->zero = cu_zero; be->sync = cu_sync; be->destroy = cu_destroy;
    be->gemm = cu_gemm; be->linear_fwd = cu_linear_fwd; be->linear_bwd = cu_linear_bwd;
    be->layernorm_fwd = cu_layernorm_fwd; be->layernorm_bwd = cu_layernorm_bwd;
    be->act_fwd = cu_act_fwd; be->act_bwd = cu_act_bwd; be->tanh_fwd = cu_tanh_fwd; be->tanh_bwd = cu_tanh_bwd;
    be->embed_fwd = cu_embed_fwd; be->embed_bwd = cu_embed_bwd;
    be->rotary = cu_rotary; be->rows_scale = cu_rows_scale;
    be->attention_fwd = cu_attention_fwd; be->attention_bwd = cu_attention_bwd;
    be->attn_scratch_floats = cu_attn_scratch_floats;
    be->dropout_mask = cu_dropout_mask; be->dropout_fwd = cu_dropout_fwd; be->dropout_bwd = cu_dropout_bwd;
    be->xent_fwd = cu_xent_fwd; be->xent_bwd = cu_xent_bwd; be->mse_fwd = cu_mse_fwd; be->mse_bwd = cu_mse_bwd;
    be->axpy = cu_axpy; be->scale = cu_scale; be->sumsq = cu_sumsq; be->add_scaled = cu_add_scaled;
    be->hyper_combine = cu_hyper_combine; be->add_rows = cu_add_rows; be->copy_rows = cu_copy_rows;
    be->dora_init_norms = cu_dora_init_norms; be->dora_row_norms = cu_dora_row_norms;
    be->dora_scale = cu_dora_scale; be->dora_z_recover = cu_dora_z_recover; be->dora_bwd_mag = cu_dora_bwd_mag;
    be->dora_u_rows = cu_dora_u_rows;
    be->rows_normalize = cu_rows_normalize; be->gram_minus_identity = cu_gram_minus_identity;
    be->rows_project = cu_rows_project;
    be->adamw_step = cu_adamw_step; be->sgd_step = cu_sgd_step;
}

} // namespace

extern "C" int bd_backend_have_cuda(void) { return 1; }

extern "C" int bd_backend_cuda_probe(char *desc, size_t n) {
    static int done, ok;
    static char what[160];
    /* the first caller asks (the workbench's main thread, before any run starts) */
    if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        int count = 0;
        cudaError_t rc = cudaGetDeviceCount(&count);
        cudaDeviceProp prop;
        if (rc == cudaSuccess && count > 0 && cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
            ok = 1;
            snprintf(what, sizeof what, "%.120s", prop.name);
        } else {
            (void)cudaGetLastError();
            snprintf(what, sizeof what, "no CUDA device: %.120s",
                     rc != cudaSuccess ? cudaGetErrorString(rc) : "none found");
        }
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
    if (desc && n) snprintf(desc, n, "%s", what);
    return ok;
}

extern "C" bd_backend *bd_backend_cuda(int tf32, bd_err *e) {
    int n = 0;
    cudaError_t rc = cudaGetDeviceCount(&n);
    if (rc != cudaSuccess || n < 1) {
        (void)cudaGetLastError();
        bd_errf(e, "no CUDA device: %s", rc != cudaSuccess ? cudaGetErrorString(rc) : "cudaGetDeviceCount found none");
        return nullptr;
    }
    bd_backend *be = static_cast<bd_backend *>(calloc(1, sizeof *be));
    Ctx *c = new (std::nothrow) Ctx;
    if (!be || !c) {
        free(be);
        delete c;
        bd_errf(e, "out of memory for the CUDA backend");
        return nullptr;
    }
    be->ctx = c;
    fill(be);
    c->tf32 = tf32;
    cudaDeviceProp prop;
    CU(be, cudaSetDevice(0));
    CU(be, cudaGetDeviceProperties(&prop, 0));
    CU(be, cudaStreamCreate(&c->stream));
    if (!be->failed) BLAS(be, cublasCreate(&c->blas));
    if (!be->failed) BLAS(be, cublasSetStream(c->blas, c->stream));
    if (!be->failed) BLAS(be, cublasSetMathMode(c->blas, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    if (!be->failed) {
        c->acc = static_cast<double *>(cu_alloc(be, sizeof(double) * (1 + BD_CU_SUMSQ_SCRATCH), "reduction scratch"));
        c->loss = static_cast<float *>(cu_alloc(be, sizeof(float), "the loss"));
    }
    if (be->failed) {
        bd_errf(e, "no CUDA device: %s", be->err.msg);
        cu_destroy(be);
        return nullptr;
    }
    snprintf(be->device, sizeof be->device, "%.96s (sm_%d%d, %.0f GiB, %d SMs%s)", prop.name, prop.major, prop.minor,
             prop.totalGlobalMem / 1073741824.0, prop.multiProcessorCount, tf32 ? ", TF32" : "");
    return be;
}
