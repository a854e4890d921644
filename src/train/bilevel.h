/* bilevel.h: the pieces of a training step that do not depend on where
 * batches come from: the loss and gradient of one batch, and BiDoRA's
 * hypergradient of the magnitudes (ALGORITHM.md phase 1, steps 2-6). The
 * trainer drives them with shuffled batches; the tests with fixed ones. */
#ifndef BD_BILEVEL_H
#define BD_BILEVEL_H

#include <stdint.h>
#include "dataset.h"
#include "err.h"
#include "model.h"
#include "trainable.h"

/* One padded batch and how to draw its dropout masks. */
typedef struct bd_batch {
    const int32_t *ids, *type_ids;   /* [B*T] */
    const float *mask;               /* [B*T] */
    const int32_t *labels;           /* [B] (classification) */
    const float *targets;            /* [B] (regression) */
    int B, T;
    bd_task task;
    uint64_t mask_seed;              /* dropout masks: the same seed replays the same masks */
} bd_batch;

/* Scratch and settings of the bi-level step. */
typedef struct bd_bilevel {
    bd_bert *m;
    bd_trainable *t;
    bd_bert_acts *a;                 /* allocated for training */
    bd_backend *be;                  /* the model's; every buffer below is its memory */
    float *probs, *dlogits;          /* [B_max * L] */
    int32_t *labels;                 /* [B_max] the batch's labels (classification) */
    float *targets;                  /* [B_max] the batch's targets (regression) */
    float *saved_dir, *v;            /* [dir.n] */
    float *g_direct, *g_plus;        /* [mag.n] */
    int darts2;                      /* 1 darts2, 0 darts1 */
    double darts_alpha, hyper_xi;
    double last_eps, last_v_norm;    /* of the last hypergradient */
} bd_bilevel;

int bd_bilevel_init(bd_bilevel *b, bd_bert *m, bd_trainable *t, bd_bert_acts *a, int max_batch, bd_err *e);
void bd_bilevel_free(bd_bilevel *b);

/* What bd_batch_loss's backward computes. BD_GRADS_MAG: dL/dM only (and
 * the activation gradients it needs): the adapters' A/B weight-gradient
 * products and the head's weight gradients are skipped, so the direction's
 * gradient stays zero. BiDoRA's +-eps passes and darts1's val pass. */
enum { BD_GRADS_NONE = 0, BD_GRADS_ALL = 1, BD_GRADS_MAG = 2 };

/* Forward and (grads != BD_GRADS_NONE) backward of the batch's mean loss
 * into *loss, after zeroing every gradient. -1 when scratch memory runs out
 * or the backend failed. */
int bd_batch_loss(bd_bilevel *b, const bd_batch *bt, int grads, double *loss, bd_err *e);

/* Add lambda * dR/dV of the orthogonality regularizer; *R gets R(V). */
int bd_orth_add(bd_bilevel *b, double lambda, double *R, bd_err *e);

/* At the current (V', M): h[mag.n] = g_direct - xi (g+ - g-) / (2 eps)
 * (darts2) or g_direct (darts1), where g_direct = dCE/dM on the val batch,
 * v = dCE/dV there, eps = darts_alpha / ||v||, and g+- = dL_low/dM at
 * V' +- eps v on the lower batch (same dropout masks). V' is restored
 * exactly from a copy. *val_loss gets the val batch's loss. */
int bd_hypergrad(bd_bilevel *b, const bd_batch *lower, const bd_batch *val, float *h, double *val_loss,
                 bd_err *e);

#endif
