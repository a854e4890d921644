/* adapter.h: LoRA and DoRA adapted linear layers (ALGORITHM.md; PEFT's
 * formulas). W0 [out,in] and b [out] are frozen; A [r,in], B [out,r] are the
 * direction, m [out] the DoRA magnitude. s = alpha / r (alpha / sqrt(r) with
 * rslora). DoRA's row norms n_j = ||W0_j + s B_j A|| are computed without
 * forming W' from ||W0_j||^2, W0 A^T and A A^T. */
#ifndef BD_ADAPTER_H
#define BD_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

typedef enum bd_adapter_kind { BD_ADAPTER_LORA = 0, BD_ADAPTER_DORA = 1 } bd_adapter_kind;

/* Every pointer of an adapter and of its cache is memory of its backend be (NULL: the
 * CPU backend, for adapters built by hand in tests). */
typedef struct bd_adapted_linear {
    bd_adapter_kind kind;
    int in, out, r;
    float s;                 /* scaling */
    float p_drop;            /* lora_dropout */
    int exact_norm_grad;     /* DoRA: 1 = exact gradient through n, 0 = detached (PEFT) */
    const float *w0, *b;     /* frozen [out,in], [out] (b may be NULL) */
    float *A, *B, *m;        /* [r,in], [out,r], [out] (m: DoRA only) */
    float *dA, *dB, *dm;     /* gradients, accumulated (+=) */
    float *w0_sqnorm;        /* [out] ||W0_j||^2, computed once (frozen) */
    int mag_only;            /* backward: dm and dx only, dA/dB untouched (BiDoRA's dL/dM passes) */
    bd_backend *be;          /* (last, so positional initialisers in tests may leave it NULL) */
} bd_adapted_linear;

/* Per-call saved state for backward, for N rows. */
typedef struct bd_adapter_cache {
    int N;
    float *xt;     /* [N,in] dropped-out input (NULL when no dropout) */
    uint8_t *keep; /* [N*in] dropout mask */
    float *xa;     /* [N,r]  xt A^T */
    float *z;      /* [N,out] xt W'^T  (DoRA); NULL: recovered from y in the backward */
    float *xtw0;   /* [N,out] xt W0^T  (DoRA with dropout: scratch) */
    float *w0a;    /* [out,r] W0 A^T   (DoRA) */
    float *aat;    /* [r,r]  A A^T     (DoRA) */
    float *n;      /* [out] row norms of W' (DoRA) */
    float *scratch; /* bd_adapter_scratch_floats(al, N) for the backward, or NULL (it allocates) */
    const float *y; /* the forward's output (DoRA without a z buffer: must stay unmodified until backward) */
} bd_adapter_cache;

/* Floats of backward scratch an adapter needs for N rows. */
size_t bd_adapter_scratch_floats(const bd_adapted_linear *al, int N);

/* The adapter's backend (the CPU when al->be is NULL). */
static inline bd_backend *bd_adapter_be(const bd_adapted_linear *al) {
    return al->be ? al->be : bd_backend_cpu();
}

/* ||W0_j||^2 for every row (call once after loading). */
void bd_adapter_init_norms(bd_adapted_linear *al);

/* Compute DoRA's row norms n [out] (and the W0 A^T, A A^T they need) into c. */
void bd_dora_row_norms(const bd_adapted_linear *al, bd_adapter_cache *c);

/* y[N,out] = adapted linear of x[N,in]. keep: dropout mask [N*in] or NULL
 * (no dropout: eval, or p_drop = 0). c must have room for N rows. */
void bd_adapted_fwd(const bd_adapted_linear *al, bd_adapter_cache *c, float *y, const float *x,
                    const uint8_t *keep, int N);

/* Backward: dx[N,in] += ..., al->dA/dB/dm += ... from dy[N,out]. dx may be
 * NULL. With al->mag_only set, only dm and dx are computed: the A/B
 * weight-gradient products are skipped and dA/dB are left as they are.
 * Returns -1 only when scratch memory cannot be allocated. */
int bd_adapted_bwd(const bd_adapted_linear *al, const bd_adapter_cache *c, float *dx,
                   const float *dy, const float *x, int N);

/* Merged weight W = W0 + s B A, then (DoRA) rows scaled by m / ||W_j||:
 * what the layer computes in eval, as one [out,in] matrix (host memory: al must be a
 * CPU adapter). */
void bd_adapter_merged_weight(const bd_adapted_linear *al, float *w);

#endif
