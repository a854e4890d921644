#include "bilevel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim.h"
#include "orth.h"

int bd_bilevel_init(bd_bilevel *b, bd_bert *m, bd_trainable *t, bd_bert_acts *a, int max_batch, bd_err *e) {
    memset(b, 0, sizeof *b);
    b->m = m; b->t = t; b->a = a;
    b->be = m->be;
    b->darts2 = 1;
    b->darts_alpha = 0.01;
    b->hyper_xi = 1.0;
    bd_backend *be = b->be;
    const size_t L = (size_t)m->cfg.num_labels, nv = t->dir.n + 1, nm = t->mag.n + 1, B = (size_t)max_batch;
    /* one allocation: probs, dlogits, targets, saved_dir, v, g_direct, g_plus, then labels */
    float *f = bd_be_allocf(be, 2 * B * L + B + 2 * nv + 2 * nm + B, "the training step's buffers");
    if (!f) { bd_be_check(be, e); be->failed = 0; return -1; }
    b->probs = f; f += B * L;
    b->dlogits = f; f += B * L;
    b->targets = f; f += B;
    b->saved_dir = f; f += nv;
    b->v = f; f += nv;
    b->g_direct = f; f += nm;
    b->g_plus = f; f += nm;
    b->labels = (int32_t *)f;
    return 0;
}

void bd_bilevel_free(bd_bilevel *b) {
    if (b->be) bd_be_free(b->be, b->probs);
    memset(b, 0, sizeof *b);
}

int bd_batch_loss(bd_bilevel *b, const bd_batch *bt, int grads, double *loss_out, bd_err *e) {
    bd_backend *be = b->be;
    bd_rng rng;
    bd_rng_seed(&rng, bt->mask_seed);
    if (grads) bd_trainable_zero_grad(b->t);
    bd_bert_forward(b->m, b->a, bt->ids, bt->type_ids, bt->mask, bt->B, bt->T, &rng);
    const int B = bt->B, L = b->m->cfg.num_labels;
    double loss;
    if (grads) be->zero(be, b->dlogits, sizeof(float) * (size_t)B * L);
    if (bt->task == BD_TASK_CLASSIFICATION) {
        be->upload(be, b->labels, bt->labels, sizeof(int32_t) * (size_t)B);
        loss = be->xent_fwd(be, b->probs, b->a->logits, b->labels, B, L);
        if (grads) be->xent_bwd(be, b->dlogits, b->probs, b->labels, B, L, 1.0f);
    } else {
        be->upload(be, b->targets, bt->targets, sizeof(float) * (size_t)B);
        loss = be->mse_fwd(be, b->a->logits, b->targets, B);
        if (grads) be->mse_bwd(be, b->dlogits, b->a->logits, b->targets, B, 1.0f);
    }
    *loss_out = loss;
    if (!grads) return bd_be_check(be, e);
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
    bd_backend *be = b->be;
    bd_trainable *t = b->t;
    const size_t nv = t->dir.n, nm = t->mag.n;
    /* 2. g_direct = dCE/dM and v = dCE/dV at (V', M) on the val batch (darts1: dCE/dM only) */
    if (bd_batch_loss(b, val, b->darts2 ? BD_GRADS_ALL : BD_GRADS_MAG, val_loss, e)) return -1;
    be->copy(be, b->g_direct, t->mag.g, sizeof(float) * nm);
    b->last_eps = 0;
    b->last_v_norm = 0;
    if (!b->darts2) { be->copy(be, h, b->g_direct, sizeof(float) * nm); return bd_be_check(be, e); }
    be->copy(be, b->v, t->dir.g, sizeof(float) * nv);
    double vn = sqrt(be->sumsq(be, b->v, nv));
    b->last_v_norm = vn;
    if (vn == 0.0) { be->copy(be, h, b->g_direct, sizeof(float) * nm); return bd_be_check(be, e); }
    /* 3. eps = darts_alpha / ||v|| */
    const float eps = (float)(b->darts_alpha / vn);
    b->last_eps = eps;
    be->copy(be, b->saved_dir, t->dir.w, sizeof(float) * nv);
    /* 4. g+ and g- on the lower batch with its dropout masks: dL/dM only */
    be->add_scaled(be, t->dir.w, b->saved_dir, eps, b->v, nv);
    double unused;
    if (bd_batch_loss(b, lower, BD_GRADS_MAG, &unused, e)) goto fail;
    be->copy(be, b->g_plus, t->mag.g, sizeof(float) * nm);
    be->add_scaled(be, t->dir.w, b->saved_dir, -eps, b->v, nv);
    if (bd_batch_loss(b, lower, BD_GRADS_MAG, &unused, e)) goto fail;
    /* 6 (first half). restore V' exactly from the copy, not by adding and subtracting */
    be->copy(be, t->dir.w, b->saved_dir, sizeof(float) * nv);
    /* 5. h = g_direct - xi (g+ - g-) / (2 eps); mag.g holds g- */
    be->hyper_combine(be, h, b->g_direct, b->g_plus, t->mag.g, b->hyper_xi / (2.0 * (double)eps), nm);
    return bd_be_check(be, e);
fail:
    be->copy(be, t->dir.w, b->saved_dir, sizeof(float) * nv);
    return -1;
}
