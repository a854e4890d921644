#include "bilevel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim.h"
#include "orth.h"

int bd_bilevel_init(bd_bilevel *b, bd_bert *m, bd_trainable *t, bd_bert_acts *a, int max_batch, bd_err *e) {
    memset(b, 0, sizeof *b);
    b->m = m; b->t = t; b->a = a;
    b->darts2 = 1;
    b->darts_alpha = 0.01;
    b->hyper_xi = 1.0;
    const size_t L = (size_t)m->cfg.num_labels, nv = t->dir.n + 1, nm = t->mag.n + 1;
    b->probs = malloc(sizeof(float) * (size_t)max_batch * L);
    b->dlogits = malloc(sizeof(float) * (size_t)max_batch * L);
    b->saved_dir = malloc(sizeof(float) * nv);
    b->v = malloc(sizeof(float) * nv);
    b->g_direct = malloc(sizeof(float) * nm);
    b->g_plus = malloc(sizeof(float) * nm);
    if (!b->probs || !b->dlogits || !b->saved_dir || !b->v || !b->g_direct || !b->g_plus) {
        bd_bilevel_free(b);
        return bd_errf(e, "out of memory for the training step's buffers");
    }
    return 0;
}

void bd_bilevel_free(bd_bilevel *b) {
    free(b->probs); free(b->dlogits); free(b->saved_dir); free(b->v); free(b->g_direct); free(b->g_plus);
    memset(b, 0, sizeof *b);
}

int bd_batch_loss(bd_bilevel *b, const bd_batch *bt, int grads, double *loss_out, bd_err *e) {
    bd_rng rng;
    bd_rng_seed(&rng, bt->mask_seed);
    if (grads) bd_trainable_zero_grad(b->t);
    bd_bert_forward(b->m, b->a, bt->ids, bt->type_ids, bt->mask, bt->B, bt->T, &rng);
    const int B = bt->B, L = b->m->cfg.num_labels;
    double loss;
    memset(b->dlogits, 0, sizeof(float) * (size_t)B * L);
    if (bt->task == BD_TASK_CLASSIFICATION) {
        loss = bd_xent_fwd(b->probs, b->a->logits, bt->labels, B, L);
        if (grads) bd_xent_bwd(b->dlogits, b->probs, bt->labels, B, L, 1.0f);
    } else {
        loss = bd_mse_fwd(b->a->logits, bt->targets, B);
        if (grads) bd_mse_bwd(b->dlogits, b->a->logits, bt->targets, B, 1.0f);
    }
    *loss_out = loss;
    if (!grads) return 0;
    bd_trainable *t = b->t;
    bd_bert_grads g = t->grads;
    const int mag_only = grads == BD_GRADS_MAG;
    if (mag_only) g.pool_w = g.pool_b = g.cls_w = g.cls_b = NULL;
    for (int i = 0; i < t->n_ad; i++) t->ads[i].mag_only = mag_only;
    int rc = bd_bert_backward(b->m, b->a, &g, bt->ids, bt->type_ids, b->dlogits, B, bt->T, e);
    for (int i = 0; i < t->n_ad; i++) t->ads[i].mag_only = 0;
    return rc ? -1 : 0;
}

int bd_orth_add(bd_bilevel *b, double lambda, double *R, bd_err *e) {
    return bd_orth_reg(b->t->ads, b->t->n_ad, (float)lambda, R, e);
}

int bd_hypergrad(bd_bilevel *b, const bd_batch *lower, const bd_batch *val, float *h, double *val_loss,
                 bd_err *e) {
    bd_trainable *t = b->t;
    const size_t nv = t->dir.n, nm = t->mag.n;
    /* 2. g_direct = dCE/dM and v = dCE/dV at (V', M) on the val batch (darts1: dCE/dM only) */
    if (bd_batch_loss(b, val, b->darts2 ? BD_GRADS_ALL : BD_GRADS_MAG, val_loss, e)) return -1;
    memcpy(b->g_direct, t->mag.g, sizeof(float) * nm);
    b->last_eps = 0;
    b->last_v_norm = 0;
    if (!b->darts2) { memcpy(h, b->g_direct, sizeof(float) * nm); return 0; }
    memcpy(b->v, t->dir.g, sizeof(float) * nv);
    double vn = sqrt(bd_sumsq(b->v, nv));
    b->last_v_norm = vn;
    if (vn == 0.0) { memcpy(h, b->g_direct, sizeof(float) * nm); return 0; }
    /* 3. eps = darts_alpha / ||v|| */
    const float eps = (float)(b->darts_alpha / vn);
    b->last_eps = eps;
    memcpy(b->saved_dir, t->dir.w, sizeof(float) * nv);
    /* 4. g+ and g- on the lower batch with its dropout masks: dL/dM only */
    for (size_t i = 0; i < nv; i++) t->dir.w[i] = b->saved_dir[i] + eps * b->v[i];
    double unused;
    if (bd_batch_loss(b, lower, BD_GRADS_MAG, &unused, e)) goto fail;
    memcpy(b->g_plus, t->mag.g, sizeof(float) * nm);
    for (size_t i = 0; i < nv; i++) t->dir.w[i] = b->saved_dir[i] - eps * b->v[i];
    if (bd_batch_loss(b, lower, BD_GRADS_MAG, &unused, e)) goto fail;
    /* 6 (first half). restore V' exactly from the copy, not by adding and subtracting */
    memcpy(t->dir.w, b->saved_dir, sizeof(float) * nv);
    /* 5. h = g_direct - xi (g+ - g-) / (2 eps); mag.g holds g- */
    const double k = b->hyper_xi / (2.0 * (double)eps);
    for (size_t i = 0; i < nm; i++) h[i] = (float)(b->g_direct[i] - k * ((double)b->g_plus[i] - t->mag.g[i]));
    return 0;
fail:
    memcpy(t->dir.w, b->saved_dir, sizeof(float) * nv);
    return -1;
}
