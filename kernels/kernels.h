/* kernels.h: host-side launch wrappers of the CUDA kernels (kernels/NAME.cu), C linkage.
 * Every pointer is device memory; stream is a cudaStream_t (NULL: the default stream).
 * Each wrapper returns 0, or -1 with e naming the failed call or launch (file:line and
 * cudaGetErrorString). The contracts are src/backend/ops.h's and src/train/optim.c's, op by op:
 * same shapes, row-major float32, backward ACCUMULATES (+=) into its gradients and a
 * NULL gradient is skipped. tests/test_simt_ops.cpp, tests/test_simt_ops2.cpp and
 * tests/test_simt_ops3.cpp check each against the CPU op (ops3: src/backend/backend_cpu.c's table). */
#ifndef BD_KERNELS_H
#define BD_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* bd_layernorm_fwd: out[N,C], mean[N], rstd[N] (mean, rstd may be NULL). C <= 12000
 * (the row is cached in shared memory). */
int bd_cu_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *g,
                        const float *b, int N, int C, float eps, void *stream, bd_err *e);
/* bd_layernorm_bwd: dinp[N,C] +=, dg[C] +=, db[C] += (each may be NULL). */
int bd_cu_layernorm_bwd(float *dinp, float *dg, float *db, const float *dout, const float *inp,
                        const float *g, const float *mean, const float *rstd, int N, int C,
                        void *stream, bd_err *e);

/* bd_act_fwd / bd_act_bwd: act is a bd_act (0 GELU erf, 1 GELU tanh, 2 ReLU). */
int bd_cu_act_fwd(float *out, const float *inp, long n, int act, void *stream, bd_err *e);
int bd_cu_act_bwd(float *dinp, const float *inp, const float *dout, long n, int act, void *stream,
                  bd_err *e);
/* bd_tanh_fwd / bd_tanh_bwd (the backward uses the forward's output). */
int bd_cu_tanh_fwd(float *out, const float *inp, long n, void *stream, bd_err *e);
int bd_cu_tanh_bwd(float *dinp, const float *out, const float *dout, long n, void *stream, bd_err *e);

/* The attention softmax of bd_attention_fwd, in place: P[B*NH*T, T] holds the scaled
 * scores q k^T / sqrt(HD) of (b, h) at rows (b*NH + h)*T ...; key j of sequence b with
 * mask[b*T + j] == 0 gets -FLT_MAX added; each row becomes its softmax. T <= 4096. */
int bd_cu_softmax_fwd(float *P, const float *mask, int B, int NH, int T, void *stream, bd_err *e);
/* Its backward as bd_attention_bwd takes it, in place: dS[rows, T] holds dP on entry
 * and P * (dP - sum_j P dP) * scale on return. */
int bd_cu_softmax_bwd(float *dS, const float *P, long rows, int T, float scale, void *stream,
                      bd_err *e);

/* The dropout keep mask of src/model/model.c (draw_keep): keep[i] = 1 when the top 32 bits
 * of splitmix64's finaliser of seed + i * 0x9E3779B97F4A7C15 are >= p * 2^32, so a
 * mask depends only on (seed, i). seed is the one draw the CPU takes from its rng. */
int bd_cu_dropout_mask(uint8_t *keep, size_t n, uint64_t seed, float p, void *stream, bd_err *e);
/* bd_dropout_fwd (out may equal inp) and bd_dropout_bwd (dinp +=). */
int bd_cu_dropout_fwd(float *out, const float *inp, const uint8_t *keep, float p, long n,
                      void *stream, bd_err *e);
int bd_cu_dropout_bwd(float *dinp, const float *dout, const uint8_t *keep, float p, long n,
                      void *stream, bd_err *e);

/* bd_optim_step over one parameter group, one launch: t is the step number after the
 * increment (1 for the first step). AdamW: w, m1, m2 updated in place with optim.c's
 * formula and evaluation order (round-to-nearest intrinsics, no FMA contraction).
 * SGD: w -= lr (g + wd w). */
int bd_cu_adamw_step(float *w, const float *g, float *m1, float *m2, size_t n, long t, float lr,
                     float beta1, float beta2, float eps, float weight_decay, void *stream, bd_err *e);
int bd_cu_sgd_step(float *w, const float *g, size_t n, float lr, float weight_decay, void *stream,
                   bd_err *e);

/* bd_sumsq: *acc += sum of x[i]^2 (double, on the device; accumulate over groups, then
 * sqrt). Deterministic: per-block partials in scratch, then one block sums them in a
 * fixed order. scratch holds BD_CU_SUMSQ_SCRATCH doubles. */
#define BD_CU_SUMSQ_SCRATCH 1024
int bd_cu_sumsq(double *acc, const float *x, size_t n, double *scratch, void *stream, bd_err *e);
/* bd_scale: x *= s.  axpy: y += a x. */
int bd_cu_scale(float *x, size_t n, float s, void *stream, bd_err *e);
int bd_cu_axpy(float *y, const float *x, size_t n, float a, void *stream, bd_err *e);

/* bd_rotary (ESM's rotary positions, in place; sign -1: the backward) and bd_rows_scale
 * (x[i, :] *= s[i]). */
int bd_cu_rotary(float *x, int B, int T, int NH, int D, int sign, void *stream, bd_err *e);
int bd_cu_rows_scale(float *x, const float *s, int N, int C, void *stream, bd_err *e);

/* bd_embed_fwd: out[B*T, C] = word[ids] + pos[t] + type[type_ids] (type_ids NULL: type 0),
 * bit for bit the CPU's sum. */
int bd_cu_embed_fwd(float *out, const int32_t *ids, const int32_t *type_ids, const float *word,
                    const float *pos, const float *type, int B, int T, int C, void *stream,
                    bd_err *e);
/* bd_embed_bwd: dword, dpos, dtype += the scatter-add of dout[B*T, C] (each may be NULL).
 * Deterministic, no atomics, bit for bit the CPU's: dpos one thread per (t, c) over the
 * batch; dword/dtype by chains of equal ids (a scan per row), each chain's head adding
 * its rows in row order. scratch holds BD_CU_EMBED_SCRATCH(B, T) int32s. */
#define BD_CU_EMBED_SCRATCH(B, T) (2 * (size_t)(B) * (size_t)(T))
int bd_cu_embed_bwd(float *dword, float *dpos, float *dtype, const float *dout, const int32_t *ids,
                    const int32_t *type_ids, int B, int T, int C, int32_t *scratch, void *stream,
                    bd_err *e);

/* bd_xent_fwd: probs[B, L], and *loss (device) = the mean cross-entropy; reductions in
 * double as the CPU, deterministic. scratch holds B doubles. B, L >= 1. */
int bd_cu_xent_fwd(float *loss, float *probs, const float *logits, const int32_t *labels,
                   int B, int L, double *scratch, void *stream, bd_err *e);
/* bd_xent_bwd: dlogits[B, L] += scale * (probs - onehot) / B (NULL: skipped). */
int bd_cu_xent_bwd(float *dlogits, const float *probs, const int32_t *labels, int B, int L,
                   float scale, void *stream, bd_err *e);
/* bd_mse_fwd: *loss (device) = mean (pred - target)^2 over B, in double. B >= 1. */
int bd_cu_mse_fwd(float *loss, const float *pred, const float *target, int B, void *stream,
                  bd_err *e);
/* bd_mse_bwd: dpred[B] += 2 scale (pred - target) / B (NULL: skipped). */
int bd_cu_mse_bwd(float *dpred, const float *pred, const float *target, int B, float scale,
                  void *stream, bd_err *e);

/* DoRA (src/model/adapter.c). bd_adapter_init_norms: w0_sqnorm[out] = ||W0_j||^2 of w0[out, in]
 * (double sums, stored as float). */
int bd_cu_dora_init_norms(float *w0_sqnorm, const float *w0, int out, int in, void *stream,
                          bd_err *e);
/* bd_dora_row_norms, given the products cuBLAS computes, w0a = W0 A^T [out, r] and
 * aat = A A^T [r, r]: n[j] = ||W0_j + s B_j A||, bit for bit the CPU's (its double loops
 * in its order, no FMA contraction). */
int bd_cu_dora_row_norms(float *n, const float *w0_sqnorm, const float *B, const float *w0a,
                         const float *aat, float s, int out, int r, void *stream, bd_err *e);
/* The magnitude scaling that ends bd_adapted_fwd, over y[N, out], c_j = m_j / n_j:
 * lin NULL: y = c z + b (z may be y; b may be NULL); lin non-NULL (the dropout form):
 * y += c z - lin. */
int bd_cu_dora_scale(float *y, const float *z, const float *m, const float *n, const float *b,
                     const float *lin, int N, int out, void *stream, bd_err *e);

/* z[N,out] recovered from the output y = c z + b of bd_adapted_fwd (cpu_dora_z_recover):
 * z = (y - b) (n_j / m_j) where m_j != 0 (b may be NULL); for m_j == 0 the dot products
 * x_t . (W0_j + s B_j A) in double, the CPU's loops in its order. x[N,in], w0[out,in],
 * A[r,in], B[out,r]. Bit for bit the CPU's. */
int bd_cu_dora_z_recover(float *z, const float *y, const float *b, const float *m, const float *n,
                         const float *x, const float *w0, const float *A, const float *B, float s,
                         int N, int in, int out, int r, void *stream, bd_err *e);
/* cpu_dora_bwd_mag: G[out] = sum over the rows in order of dy z (float; G is written, not
 * accumulated); dl[N,out] = dy (m_j / n_j); dm[j] += G[j] / n_j (dm may be NULL). z may
 * alias dl. One thread per column; N == 0 still zeroes G (and adds 0 / n_j to dm), as the
 * CPU. Bit for bit. */
int bd_cu_dora_bwd_mag(float *G, float *dl, float *dm, const float *dy, const float *z, const float *m,
                       const float *n, int N, int out, void *stream, bd_err *e);
/* cpu_dora_u_rows: u_j = ((-m_j) G_j) / ((n_j n_j) n_j); dst[j, :r] = (accumulate ? dst : 0)
 * + (alpha u_j) src[j, :r] (dst is not read when accumulate is 0). Bit for bit. */
int bd_cu_dora_u_rows(float *dst, const float *src, const float *G, const float *m, const float *n,
                      float alpha, int accumulate, int out, int r, void *stream, bd_err *e);

/* y[N, C] += alpha b[C] row by row (kernels/rows.cu; backend.h's add_rows), bit for bit the
 * CPU's: alpha == -1 subtracts (PEFT's bias subtraction in DoRA's forward). */
int bd_cu_add_rows(float *y, const float *b, int N, int C, float alpha, void *stream, bd_err *e);

/* Vectors (backend.h; kernels/vec.cu), bit for bit the CPU's. copy_rows: rows x cols floats
 * from src (row stride src_ld floats) to dst (row stride dst_ld). */
int bd_cu_copy_rows(float *dst, size_t dst_ld, const float *src, size_t src_ld, int rows, int cols,
                    void *stream, bd_err *e);
/* out = x + a y (the product rounded, then the sum; out may be x or y). */
int bd_cu_add_scaled(float *out, const float *x, float a, const float *y, size_t n, void *stream,
                     bd_err *e);
/* BiDoRA's hypergradient: h = (float)(gd - k ((double)gp - gm)), in double. */
int bd_cu_hyper_combine(float *h, const float *gd, const float *gp, const float *gm, double k,
                        size_t n, void *stream, bd_err *e);
/* Every row of out[N, OUT] = b: what bd_linear_fwd's memcpy does before its GEMM with
 * beta 1. */
int bd_cu_bias_rows(float *out, const float *b, int N, int OUT, void *stream, bd_err *e);
/* bd_linear_bwd's bias gradient: db[o] += dout[n, o] for n in order (float), one thread
 * per column. */
int bd_cu_bias_grad(float *db, const float *dout, int N, int OUT, void *stream, bd_err *e);

/* The orthogonality regularizer's row steps (backend.h; kernels/orth.cu), bit for bit the
 * CPU's (the row sums sequential in double, one warp per row). rows_normalize: norms[j] =
 * ||W_j|| (the sum of squares in double, then sqrt, as float), W_j *= 1 / norms[j] (0 for
 * a row of norm 0); cols == 0 sets every norm to 0. */
int bd_cu_rows_normalize(float *W, float *norms, int rows, int cols, void *stream, bd_err *e);
/* G[i, i] -= 1 on the full G[rows, rows] (after cuBLAS's W W^T: G = W W^T - I). */
int bd_cu_sub_identity(float *G, int rows, void *stream, bd_err *e);
/* rows_project: dW_j = (dW_j - (float)(dW_j . U_j) U_j) * (1 / norms[j]) (0 where norms[j]
 * is 0), the dot in double. */
int bd_cu_rows_project(float *dW, const float *U, const float *norms, int rows, int cols,
                       void *stream, bd_err *e);

#ifdef __cplusplus
}
#endif

#endif
