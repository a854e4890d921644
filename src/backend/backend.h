/* backend.h: the one interface every tensor operation of the engine goes through.
 *
 * The forward and backward passes (model.c, backward.c), the LoRA/DoRA layers
 * (adapter.c), the BiDoRA step (bilevel.c), the orthogonality regularizer (orth.c),
 * the optimizers (optim.c) and the trainer's reductions are written once against this
 * table and run on either backend:
 *   cpu   the reference (backend_cpu.c over ops_cpu*.c, OpenBLAS), memory = host memory;
 *   cuda  the kernels of kernels/ + cuBLAS (kernels/backend_cuda.cu), memory = device memory; the
 *         same source runs in the SIMT simulator in the tests (tests/simt/).
 * A table of function pointers in the style of ggml's backends: one indirect call per op
 * (nothing next to a matrix product), no macros, and a backend is a value the model,
 * the trainer and the tests hold, so two backends can run side by side in one process
 * (the parity tests do).
 *
 * Memory: every float / int / byte pointer an op takes is backend memory, allocated with
 * bd_be_alloc. The host reaches it only through upload / download (loading, checkpoints,
 * PEFT export, the weight-decomposition metrics, the viewer's magnitude snapshot, eval
 * logits). On the CPU backend backend memory is host memory and an upload or download
 * whose source and destination are the same pointer does nothing, so code written for
 * both costs the CPU nothing.
 *
 * Errors: ops return nothing; a backend that fails (a CUDA launch, a cuBLAS call, out of
 * device memory) keeps its first error (sticky, like cudaGetLastError) and skips the
 * ops after it. bd_be_check() hands it over as a bd_err at the points that can fail
 * (after a forward, a backward, a step); the CPU backend never fails.
 *
 * The contracts are src/backend/ops.h's, op by op: row-major float32, shapes in comments,
 * backward ops ACCUMULATE (+=) into their gradients and skip a NULL gradient. */
#ifndef BD_BACKEND_H
#define BD_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ops.h"

typedef struct bd_backend bd_backend;

struct bd_backend {
    const char *name;          /* "cpu" or "cuda" */
    int host_memory;           /* 1: backend memory is host memory (cpu) */
    char device[160];          /* what trains, for `bidora info` and the status line */
    int failed;                /* sticky: an op failed; err says which */
    bd_err err;
    size_t live_bytes, peak_bytes; /* of bd_be_alloc'd memory (the pool's high-water mark) */
    void *ctx;                 /* the backend's own state */

    /* ---- memory ---- */
    void *(*alloc)(bd_backend *be, size_t bytes, const char *what); /* NULL + sticky error */
    void (*free)(bd_backend *be, void *p);
    void (*upload)(bd_backend *be, void *dst, const void *host_src, size_t bytes);
    void (*download)(bd_backend *be, void *host_dst, const void *src, size_t bytes); /* waits */
    void (*copy)(bd_backend *be, void *dst, const void *src, size_t bytes);
    void (*zero)(bd_backend *be, void *dst, size_t bytes);
    void (*sync)(bd_backend *be);
    void (*destroy)(bd_backend *be);

    /* ---- matrix products ---- */
    /* Row-major C[M,N] = alpha op(A) op(B) + beta C; op(X) = X^T when tX; lda, ldb, ldc are
     * the row strides of A, B, C as stored. beta == 0: C is not read. */
    void (*gemm)(bd_backend *be, int tA, int tB, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc);
    /* out = inp w^T + b; its backward (ops.h). */
    void (*linear_fwd)(bd_backend *be, float *out, const float *inp, const float *w, const float *b,
                       int N, int IN, int OUT);
    void (*linear_bwd)(bd_backend *be, float *dinp, float *dw, float *db, const float *dout,
                       const float *inp, const float *w, int N, int IN, int OUT);

    /* ---- the BERT ops (ops.h) ---- */
    void (*layernorm_fwd)(bd_backend *be, float *out, float *mean, float *rstd, const float *inp,
                          const float *g, const float *b, int N, int C, float eps);
    void (*layernorm_bwd)(bd_backend *be, float *dinp, float *dg, float *db, const float *dout,
                          const float *inp, const float *g, const float *mean, const float *rstd,
                          int N, int C);
    void (*act_fwd)(bd_backend *be, float *out, const float *inp, long n, bd_act act);
    void (*act_bwd)(bd_backend *be, float *dinp, const float *inp, const float *dout, long n, bd_act act);
    void (*tanh_fwd)(bd_backend *be, float *out, const float *inp, long n);
    void (*tanh_bwd)(bd_backend *be, float *dinp, const float *out, const float *dout, long n);
    void (*embed_fwd)(bd_backend *be, float *out, const int32_t *ids, const int32_t *type_ids,
                      const float *word, const float *pos, const float *type, int B, int T, int C);
    void (*embed_bwd)(bd_backend *be, float *dword, float *dpos, float *dtype, const float *dout,
                      const int32_t *ids, const int32_t *type_ids, int B, int T, int C);
    /* ESM: rotary positions on q and k (sign -1: the backward), rows scaled by s[N] */
    void (*rotary)(bd_backend *be, float *x, int B, int T, int NH, int D, int sign);
    void (*rows_scale)(bd_backend *be, float *x, const float *s, int N, int C);
    void (*attention_fwd)(bd_backend *be, float *out, float *probs, float *probs_d, const float *q,
                          const float *k, const float *v, const float *mask, const uint8_t *keep,
                          float p, int B, int T, int NH, int HD);
    /* scratch: attn_scratch_floats(B, T, NH) floats of backend memory */
    void (*attention_bwd)(bd_backend *be, float *dq, float *dk, float *dv, const float *dout,
                          const float *probs, const float *probs_d, const uint8_t *keep, float p,
                          const float *q, const float *k, const float *v, float *scratch, int B,
                          int T, int NH, int HD);
    size_t (*attn_scratch_floats)(bd_backend *be, int B, int T, int NH);
    /* keep[n]: the 0/1 mask of model.c (keep probability 1 - p) from one seed: element i
     * depends only on (seed, i), so both backends draw identical masks */
    void (*dropout_mask)(bd_backend *be, uint8_t *keep, size_t n, uint64_t seed, float p);
    void (*dropout_fwd)(bd_backend *be, float *out, const float *inp, const uint8_t *keep, float p, long n);
    void (*dropout_bwd)(bd_backend *be, float *dinp, const float *dout, const uint8_t *keep, float p, long n);
    /* mean cross-entropy (probs saved) / MSE, returned to the host (waits) */
    float (*xent_fwd)(bd_backend *be, float *probs, const float *logits, const int32_t *labels, int B, int L);
    void (*xent_bwd)(bd_backend *be, float *dlogits, const float *probs, const int32_t *labels, int B,
                     int L, float scale);
    float (*mse_fwd)(bd_backend *be, const float *pred, const float *target, int B);
    void (*mse_bwd)(bd_backend *be, float *dpred, const float *pred, const float *target, int B, float scale);

    /* ---- vectors ---- */
    void (*axpy)(bd_backend *be, float *y, const float *x, size_t n, float a); /* y += a x */
    void (*scale)(bd_backend *be, float *x, size_t n, float s);                /* x *= s */
    double (*sumsq)(bd_backend *be, const float *x, size_t n);                 /* in double; waits */
    /* out = x + a y (float ops, in that order) */
    void (*add_scaled)(bd_backend *be, float *out, const float *x, float a, const float *y, size_t n);
    /* h = (float)(gd - k ((double)gp - gm)): BiDoRA's hypergradient from its three gradients */
    void (*hyper_combine)(bd_backend *be, float *h, const float *gd, const float *gp, const float *gm,
                          double k, size_t n);
    /* y[N,C] row by row += alpha b[C] */
    void (*add_rows)(bd_backend *be, float *y, const float *b, int N, int C, float alpha);
    /* rows x cols floats from src (row stride src_ld) to dst (row stride dst_ld) */
    void (*copy_rows)(bd_backend *be, float *dst, size_t dst_ld, const float *src, size_t src_ld,
                      int rows, int cols);

    /* ---- DoRA (adapter.c) ---- */
    /* sq[out] = ||W0_j||^2 of w0[out,in], summed in double */
    void (*dora_init_norms)(bd_backend *be, float *sq, const float *w0, int out, int in);
    /* n[j] = ||W0_j + s B_j A|| from sq, B [out,r], w0a = W0 A^T [out,r], aat = A A^T [r,r] */
    void (*dora_row_norms)(bd_backend *be, float *n, const float *sq, const float *B, const float *w0a,
                           const float *aat, float s, int out, int r);
    /* over y[N,out], c_j = m_j / n_j: lin NULL: y = c z + b (z may be y, b may be NULL);
     * else y += c z - lin */
    void (*dora_scale)(bd_backend *be, float *y, const float *z, const float *m, const float *n,
                       const float *b, const float *lin, int N, int out);
    /* z[N,out] = x W'^T recovered from the output y = c z + b: (y - b) n / m, and for a
     * row j with m_j = 0 the dot products x_t . (W0_j + s B_j A) in double */
    void (*dora_z_recover)(bd_backend *be, float *z, const float *y, const float *b, const float *m,
                           const float *n, const float *x, const float *w0, const float *A,
                           const float *B, float s, int N, int in, int out, int r);
    /* G[j] = sum_t dy z (float, rows in order); dl = dy c_j; dm[j] += G[j] / n_j (dm may be
     * NULL). z may alias dl (read before written, element by element). */
    void (*dora_bwd_mag)(bd_backend *be, float *G, float *dl, float *dm, const float *dy,
                         const float *z, const float *m, const float *n, int N, int out);
    /* u_j = -m_j G_j / n_j^3; dst[j,:r] = (accumulate ? dst : 0) + alpha u_j src[j,:r] */
    void (*dora_u_rows)(bd_backend *be, float *dst, const float *src, const float *G, const float *m,
                        const float *n, float alpha, int accumulate, int out, int r);

    /* ---- the orthogonality regularizer (orth.c) ---- */
    /* norms[j] = ||W_j|| (double sums); W_j /= norms[j] (rows of norm 0 become 0) */
    void (*rows_normalize)(bd_backend *be, float *W, float *norms, int rows, int cols);
    /* G[rows,rows] = W W^T - I, both triangles */
    void (*gram_minus_identity)(bd_backend *be, float *G, const float *W, int rows, int cols);
    /* dW_j = (dW_j - (dW_j . U_j) U_j) / norms[j] (0 where norms[j] is 0) */
    void (*rows_project)(bd_backend *be, float *dW, const float *U, const float *norms, int rows, int cols);

    /* ---- optimizers (optim.c's formulas and order; t counts from 1) ---- */
    void (*adamw_step)(bd_backend *be, float *w, const float *g, float *m1, float *m2, size_t n, long t,
                       float lr, float beta1, float beta2, float eps, float weight_decay);
    void (*sgd_step)(bd_backend *be, float *w, const float *g, size_t n, float lr, float weight_decay);
};

/* The CPU backend (a process-wide value: it has no state). */
bd_backend *bd_backend_cpu(void);

/* The CUDA backend on device 0, or NULL with e saying why ("no CUDA device: ..."). Defined
 * by kernels/backend_cuda.cu (the GPU, or the SIMT simulator's device in the tests and
 * `make simt`), or by src/backend/cuda_none.c in a build without nvcc. A new backend each call;
 * bd_backend_close frees it. */
bd_backend *bd_backend_cuda(int tf32, bd_err *e);
int bd_backend_have_cuda(void); /* 1 when this binary has the CUDA backend */
/* 1 when backend = cuda can train here: desc gets the device's name; else 0 and desc says
 * why ("not in this build", "no CUDA device: ..."). Asks the runtime once per process. */
int bd_backend_cuda_probe(char *desc, size_t n);

/* Open the backend a config names: "cpu", "cuda" (an error when there is none),
 * "auto" (cuda when a device is usable, else cpu; why is logged into note). */
bd_backend *bd_backend_open(const char *name, int tf32, char *note, size_t note_n, bd_err *e);
void bd_backend_close(bd_backend *be);

/* The sticky error, as a bd_err: 0, or -1 with e filled (and the backend still failed). */
int bd_be_check(bd_backend *be, bd_err *e);

/* Allocate bytes (what names it in an out-of-memory message); NULL + sticky error. */
static inline void *bd_be_alloc(bd_backend *be, size_t bytes, const char *what) {
    return be->alloc(be, bytes, what);
}
static inline float *bd_be_allocf(bd_backend *be, size_t n, const char *what) {
    return (float *)be->alloc(be, n * sizeof(float), what);
}
static inline void bd_be_free(bd_backend *be, void *p) {
    if (p) be->free(be, p);
}

#endif
