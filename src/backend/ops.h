/* ops.h: the CPU reference ops of the BERT family, forward and backward.
 * Row-major float32; shapes in comments; backward functions ACCUMULATE (+=)
 * into weight and input gradients (zero them first), as llm.c does, so a
 * tensor used twice sums its gradients. A NULL gradient pointer skips it.
 * The CUDA backend implements the same contracts op by op. */
#ifndef BD_OPS_H
#define BD_OPS_H

#include <stdint.h>

/* out[N,OUT] = inp[N,IN] @ w[OUT,IN]^T + b[OUT]   (b may be NULL) */
void bd_linear_fwd(float *out, const float *inp, const float *w, const float *b, int N, int IN, int OUT);
/* dinp[N,IN] += dout @ w;  dw[OUT,IN] += dout^T @ inp;  db[OUT] += sum_n dout */
void bd_linear_bwd(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                   const float *w, int N, int IN, int OUT);

/* out[N,C] = (inp - mean) * rstd * g + b; mean[N], rstd[N] saved for backward. */
void bd_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *g,
                      const float *b, int N, int C, float eps);
void bd_layernorm_bwd(float *dinp, float *dg, float *db, const float *dout, const float *inp,
                      const float *g, const float *mean, const float *rstd, int N, int C);

#include "erf.h"

/* Activations, elementwise over n values. */
typedef enum bd_act { BD_ACT_GELU = 0, BD_ACT_GELU_TANH = 1, BD_ACT_RELU = 2 } bd_act;
void bd_act_fwd(float *out, const float *inp, long n, bd_act act);
void bd_act_bwd(float *dinp, const float *inp, const float *dout, long n, bd_act act);
void bd_tanh_fwd(float *out, const float *inp, long n);
/* uses the forward OUTPUT: d = dout * (1 - out^2) */
void bd_tanh_bwd(float *dinp, const float *out, const float *dout, long n);

/* Embeddings: out[B*T,C] = word[ids] + pos[t] + type[type_ids] (before LayerNorm); pos and
 * type may be NULL (ESM: words only), and so may dpos / dtype in the backward. */
void bd_embed_fwd(float *out, const int32_t *ids, const int32_t *type_ids, const float *word,
                  const float *pos, const float *type, int B, int T, int C);
void bd_embed_bwd(float *dword, float *dpos, float *dtype, const float *dout, const int32_t *ids,
                  const int32_t *type_ids, int B, int T, int C);

/* Rotary position embedding (RoFormer; transformers' EsmRotaryEmbedding) in place on x
 * [B*T, NH*D] (D even): row b*T + t, head h, i < D/2: the pair (x_i, x_{i+D/2}) rotated by
 * t * 10000^(-2i/D) (the angle in float32, as transformers computes it) for sign +1; sign -1
 * rotates back (the backward: a rotation's transpose is its inverse). */
void bd_rotary(float *x, int B, int T, int NH, int D, int sign);
/* x[i, :] *= s[i], N rows of C. */
void bd_rows_scale(float *x, const float *s, int N, int C);

/* Multi-head attention core on projected q,k,v [B*T, NH*HD]:
 * probs[B,NH,T,T] = softmax(q k^T / sqrt(HD) + maskbias), out = drop(probs) v.
 * mask[B*T] is 1 for real tokens, 0 for padding; padded keys get the bias
 * -FLT_MAX (transformers uses finfo(float32).min), so a fully padded row
 * would be uniform, as in transformers. Attention dropout (training): keep
 * [B*NH*T*T] 0/1 mask and probability p, the dropped probabilities written to
 * probs_d; with keep == NULL there is no dropout and probs_d is unused. */
void bd_attention_fwd(float *out, float *probs, float *probs_d, const float *q, const float *k,
                      const float *v, const float *mask, const uint8_t *keep, float p,
                      int B, int T, int NH, int HD);
/* scratch holds T*T*bd_nthreads() floats (one [T,T] per thread). probs_d/keep/p
 * as given to the forward. (b, h) pairs are split across threads. */
void bd_attention_bwd(float *dq, float *dk, float *dv, const float *dout, const float *probs,
                      const float *probs_d, const uint8_t *keep, float p, const float *q,
                      const float *k, const float *v, float *scratch, int B, int T, int NH, int HD);

/* Inverted dropout: out = inp * keep / (1 - p); keep[n] is 0/1 drawn by the
 * caller (so the same mask can be replayed). */
void bd_dropout_fwd(float *out, const float *inp, const uint8_t *keep, float p, long n);
void bd_dropout_bwd(float *dinp, const float *dout, const uint8_t *keep, float p, long n);

/* Mean cross-entropy over B rows of logits[B,L] with labels[B]; probs[B,L]
 * saved. Returns the mean loss. */
float bd_xent_fwd(float *probs, const float *logits, const int32_t *labels, int B, int L);
/* dlogits[B,L] += scale * (probs - onehot) / B */
void bd_xent_bwd(float *dlogits, const float *probs, const int32_t *labels, int B, int L, float scale);
/* Mean squared error of pred[B] against target[B]; backward adds scale*2(pred-t)/B. */
float bd_mse_fwd(const float *pred, const float *target, int B);
void bd_mse_bwd(float *dpred, const float *pred, const float *target, int B, float scale);

/* The measured sgemm rate of this machine (GFLOP/s, median over repeats
 * within seconds_budget) for an M x N x K product: the benchmarks' yardstick. */
double bd_sgemm_gflops(int M, int N, int K, double seconds_budget);

#endif
