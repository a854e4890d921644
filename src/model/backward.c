/* backward.c: the BERT backward pass after a training-mode forward
 * (model.c), through the classifier, pooler, every layer (plain or adapted
 * linears, dropout, attention, LayerNorms) and the embeddings. */
#include "model.h"

static const bd_adapted_linear *adapter_of(const bd_bert *m, int l, int k) {
    return m->ad ? m->ad[l * BD_N_MODS + k] : NULL;
}

/* dx += through module k of layer l; weight grads where g asks for them. */
static int module_bwd(const bd_bert *m, bd_bert_acts *a, int l, int k, float *dx, float *dw,
                      float *db, const float *dy, const float *x, const float *w, int N, int IN, int OUT) {
    const bd_adapted_linear *al = adapter_of(m, l, k);
    if (!al) {
        m->be->linear_bwd(m->be, dx, dw, db, dy, x, w, N, IN, OUT);
        return 0;
    }
    return bd_adapted_bwd(al, &a->cache[l * BD_N_MODS + k], dx, dy, x, N);
}

/* Through inverted dropout in place: d = keep ? d / (1 - p) : 0, the forward's formula. */
static void dropout_back_inplace(bd_backend *be, float *d, const uint8_t *keep, float p, size_t n, int active) {
    if (!active || p <= 0.0f) return;
    be->dropout_fwd(be, d, d, keep, p, (long)n);
}

/* ESM-2's pre-LayerNorm encoder backward from dnext = d(a->out) (model.c's esm_encoder). */
static int esm_encoder_bwd(const bd_bert *m, bd_bert_acts *a, const bd_bert_grads *g, int B, int T, bd_err *e) {
    const bd_bert_config *c = &m->cfg;
    const int H = c->hidden, I = c->intermediate, NH = c->n_heads, BT = B * T, D = H / NH;
    const size_t BTH = (size_t)BT * H;
    bd_backend *be = m->be;
    float *dnext = a->d_next;
    /* emb_layer_norm_after: d(last layer's output) */
    be->zero(be, a->d_a, sizeof(float) * BTH);
    be->layernorm_bwd(be, a->d_a, g->emb_ln_g, g->emb_ln_b, dnext, a->emb, m->emb_ln_g, a->emb_mean, a->emb_rstd, BT, H);
    be->copy(be, dnext, a->d_a, sizeof(float) * BTH);
    const int hidden_drop = c->hidden_dropout > 0.0f, emb_trains = g->word != NULL;
    for (int l = c->n_layers - 1; l >= 0; l--) {
        const bd_bert_layer *w = &m->layers[l];
        const bd_bert_layer *gw = g->layers ? &g->layers[l] : NULL;
        bd_bert_layer_acts *la = &a->layers[l];
        float *d_ao = a->d_b, *d_t = a->d_a, *d_h = a->d_x;
        /* out = ao + drop(output.dense(act)) */
        be->copy(be, d_ao, dnext, sizeof(float) * BTH);
        be->copy(be, d_t, dnext, sizeof(float) * BTH);
        dropout_back_inplace(be, d_t, la->o_keep, c->hidden_dropout, BTH, hidden_drop);
        be->zero(be, a->d_i, sizeof(float) * (size_t)BT * I);
        if (module_bwd(m, a, l, BD_MOD_OUTPUT, a->d_i, gw ? gw->o_w : NULL, gw ? gw->o_b : NULL, d_t, la->act, w->o_w,
                       BT, I, H)) goto oom;
        be->zero(be, a->d_i2, sizeof(float) * (size_t)BT * I);
        be->act_bwd(be, a->d_i2, la->pre, a->d_i, (long)BT * I, c->act);
        be->zero(be, d_h, sizeof(float) * BTH);
        if (module_bwd(m, a, l, BD_MOD_INTER, d_h, gw ? gw->i_w : NULL, gw ? gw->i_b : NULL, a->d_i2, la->o, w->i_w,
                       BT, H, I)) goto oom;
        /* LN2 (its input ao, its output la->o): d_ao += */
        be->layernorm_bwd(be, d_ao, gw ? gw->ln2_g : NULL, gw ? gw->ln2_b : NULL, d_h, la->ao, w->ln2_g, la->ln2_mean,
                         la->ln2_rstd, BT, H);
        /* ao = x + drop(attention.output.dense(ctx)) */
        be->copy(be, d_t, d_ao, sizeof(float) * BTH);
        dropout_back_inplace(be, d_t, la->ao_keep, c->hidden_dropout, BTH, hidden_drop);
        be->zero(be, a->d_ctx, sizeof(float) * BTH);
        if (module_bwd(m, a, l, BD_MOD_ATTN_OUT, a->d_ctx, gw ? gw->ao_w : NULL, gw ? gw->ao_b : NULL, d_t, la->ctx,
                       w->ao_w, BT, H, H)) goto oom;
        be->zero(be, a->d_q, sizeof(float) * BTH);
        be->zero(be, a->d_k, sizeof(float) * BTH);
        be->zero(be, a->d_v, sizeof(float) * BTH);
        int adrop = c->attn_dropout > 0.0f;
        be->attention_bwd(be, a->d_q, a->d_k, a->d_v, a->d_ctx, la->probs, la->probs_d, adrop ? la->attn_keep : NULL,
                         c->attn_dropout, la->qr, la->kr, la->v, a->d_tt, B, T, NH, D);
        /* the rotations' adjoint: back to the projections' outputs */
        be->rotary(be, a->d_q, B, T, NH, D, -1);
        be->rotary(be, a->d_k, B, T, NH, D, -1);
        /* q, k, v read LN1(x); layer 0's input gradient only feeds the word embeddings */
        const int need_dx = l > 0 || emb_trains;
        float *d_ln1 = (need_dx || gw) ? d_t : NULL;
        if (d_ln1) be->zero(be, d_ln1, sizeof(float) * BTH);
        if (module_bwd(m, a, l, BD_MOD_QUERY, d_ln1, gw ? gw->q_w : NULL, gw ? gw->q_b : NULL, a->d_q, la->ln1, w->q_w,
                       BT, H, H) ||
            module_bwd(m, a, l, BD_MOD_KEY, d_ln1, gw ? gw->k_w : NULL, gw ? gw->k_b : NULL, a->d_k, la->ln1, w->k_w,
                       BT, H, H) ||
            module_bwd(m, a, l, BD_MOD_VALUE, d_ln1, gw ? gw->v_w : NULL, gw ? gw->v_b : NULL, a->d_v, la->ln1, w->v_w,
                       BT, H, H)) goto oom;
        if (d_ln1) {
            /* x feeds the residual and LN1: dx = d_ao + LN1'(d_ln1) */
            float *dx = a->d_x;
            be->copy(be, dx, d_ao, sizeof(float) * BTH);
            be->layernorm_bwd(be, dx, gw ? gw->ln1_g : NULL, gw ? gw->ln1_b : NULL, d_ln1, la->x, w->ln1_g, la->ln1_mean,
                             la->ln1_rstd, BT, H);
            be->copy(be, dnext, dx, sizeof(float) * BTH);
        }
    }
    if (emb_trains) { /* x0 = row_scale * word[ids] */
        be->rows_scale(be, dnext, a->row_scale, BT, H);
        be->embed_bwd(be, g->word, NULL, NULL, dnext, a->d_ids, NULL, B, T, H);
    }
    return bd_be_check(be, e);
oom:
    return bd_errf(e, "out of memory in the adapter backward pass");
}

int bd_bert_backward(const bd_bert *m, bd_bert_acts *a, const bd_bert_grads *g,
                     const int32_t *ids, const int32_t *type_ids, const float *dlogits,
                     int B, int T, bd_err *e) {
    (void)ids, (void)type_ids; /* the embeddings' backward uses a->ids / a->type_ids: the bounded ones */
    const bd_bert_config *c = &m->cfg;
    const int H = c->hidden, I = c->intermediate, NH = c->n_heads, L = c->num_labels, BT = B * T;
    const size_t BTH = (size_t)BT * H;
    if (!a->training) return bd_errf(e, "backward needs activations allocated for training");
    bd_backend *be = m->be;
    /* classifier and pooler: dpooled = drop'(dlogits W_c); through tanh; dcls */
    be->zero(be, a->d_pool, sizeof(float) * (size_t)B * H);
    be->linear_bwd(be, a->d_pool, g->cls_w, g->cls_b, dlogits, a->pooled_d, m->cls_w, B, H, L);
    dropout_back_inplace(be, a->d_pool, a->pooled_keep, c->classifier_dropout, (size_t)B * H, 1);
    be->zero(be, a->d_cls, sizeof(float) * (size_t)B * H);
    float *d_pre = a->d_b;
    be->zero(be, d_pre, sizeof(float) * (size_t)B * H);
    be->tanh_bwd(be, d_pre, a->pooled, a->d_pool, (long)B * H);
    be->linear_bwd(be, a->d_cls, g->pool_w, g->pool_b, d_pre, a->cls, m->pool_w, B, H, H);
    /* RoBERTa's head dropped the <s> row before its dense */
    dropout_back_inplace(be, a->d_cls, a->cls_keep, c->classifier_dropout, (size_t)B * H, c->family != BD_FAMILY_BERT);
    /* d(last hidden state): only the [CLS] rows get gradient */
    float *dnext = a->d_next;
    be->zero(be, dnext, sizeof(float) * BTH);
    be->copy_rows(be, dnext, (size_t)T * H, a->d_cls, (size_t)H, B, H);
    if (c->family == BD_FAMILY_ESM) return esm_encoder_bwd(m, a, g, B, T, e);
    const int hidden_drop = c->hidden_dropout > 0.0f;
    const int emb_trains = g->word || g->pos || g->type || g->emb_ln_g || g->emb_ln_b;
    for (int l = c->n_layers - 1; l >= 0; l--) {
        const bd_bert_layer *w = &m->layers[l];
        const bd_bert_layer *gw = g->layers ? &g->layers[l] : NULL;
        bd_bert_layer_acts *la = &a->layers[l];
        float *d_o = a->d_a, *d_ln1 = a->d_b, *dx = a->d_x;
        /* LN2: d(o_sum) */
        be->zero(be, d_o, sizeof(float) * BTH);
        be->layernorm_bwd(be, d_o, gw ? gw->ln2_g : NULL, gw ? gw->ln2_b : NULL, dnext, la->o, w->ln2_g,
                         la->ln2_mean, la->ln2_rstd, BT, H);
        /* o_sum = drop(o_dense) + ln1 */
        be->copy(be, d_ln1, d_o, sizeof(float) * BTH);
        dropout_back_inplace(be, d_o, la->o_keep, c->hidden_dropout, BTH, hidden_drop);
        be->zero(be, a->d_i, sizeof(float) * (size_t)BT * I);
        if (module_bwd(m, a, l, BD_MOD_OUTPUT, a->d_i, gw ? gw->o_w : NULL, gw ? gw->o_b : NULL, d_o,
                       la->act, w->o_w, BT, I, H)) goto oom;
        be->zero(be, a->d_i2, sizeof(float) * (size_t)BT * I);
        be->act_bwd(be, a->d_i2, la->pre, a->d_i, (long)BT * I, c->act);
        if (module_bwd(m, a, l, BD_MOD_INTER, d_ln1, gw ? gw->i_w : NULL, gw ? gw->i_b : NULL, a->d_i2,
                       la->ln1, w->i_w, BT, H, I)) goto oom;
        /* LN1: d(ao_sum) -> d_o reused */
        float *d_ao = d_o;
        be->zero(be, d_ao, sizeof(float) * BTH);
        be->layernorm_bwd(be, d_ao, gw ? gw->ln1_g : NULL, gw ? gw->ln1_b : NULL, d_ln1, la->ao, w->ln1_g,
                         la->ln1_mean, la->ln1_rstd, BT, H);
        /* layer 0's input gradient only feeds the embeddings: skipped when they are frozen */
        float *dx_in = (l > 0 || emb_trains) ? dx : NULL;
        /* ao_sum = drop(ao_dense) + x */
        if (dx_in) be->copy(be, dx, d_ao, sizeof(float) * BTH);
        dropout_back_inplace(be, d_ao, la->ao_keep, c->hidden_dropout, BTH, hidden_drop);
        be->zero(be, a->d_ctx, sizeof(float) * BTH);
        if (module_bwd(m, a, l, BD_MOD_ATTN_OUT, a->d_ctx, gw ? gw->ao_w : NULL, gw ? gw->ao_b : NULL, d_ao,
                       la->ctx, w->ao_w, BT, H, H)) goto oom;
        be->zero(be, a->d_q, sizeof(float) * BTH);
        be->zero(be, a->d_k, sizeof(float) * BTH);
        be->zero(be, a->d_v, sizeof(float) * BTH);
        int adrop = c->attn_dropout > 0.0f;
        be->attention_bwd(be, a->d_q, a->d_k, a->d_v, a->d_ctx, la->probs, la->probs_d,
                         adrop ? la->attn_keep : NULL, c->attn_dropout, la->q, la->k, la->v, a->d_tt,
                         B, T, NH, H / NH);
        if (module_bwd(m, a, l, BD_MOD_QUERY, dx_in, gw ? gw->q_w : NULL, gw ? gw->q_b : NULL, a->d_q, la->x,
                       w->q_w, BT, H, H) ||
            module_bwd(m, a, l, BD_MOD_KEY, dx_in, gw ? gw->k_w : NULL, gw ? gw->k_b : NULL, a->d_k, la->x,
                       w->k_w, BT, H, H) ||
            module_bwd(m, a, l, BD_MOD_VALUE, dx_in, gw ? gw->v_w : NULL, gw ? gw->v_b : NULL, a->d_v, la->x,
                       w->v_w, BT, H, H)) goto oom;
        /* dx is d(input of layer l) = d(output of layer l-1) */
        if (dx_in) be->copy(be, dnext, dx, sizeof(float) * BTH);
    }
    /* embeddings: x0 = drop(LN(emb)); only when the embeddings train */
    if (emb_trains) {
        dropout_back_inplace(be, dnext, a->emb_keep, c->hidden_dropout, BTH, hidden_drop);
        float *d_emb = a->d_a;
        be->zero(be, d_emb, sizeof(float) * BTH);
        be->layernorm_bwd(be, d_emb, g->emb_ln_g, g->emb_ln_b, dnext, a->emb, m->emb_ln_g, a->emb_mean,
                         a->emb_rstd, BT, H);
        /* the ids the forward used (out-of-range ones replaced there), never the caller's */
        be->embed_bwd(be, g->word, g->pos ? g->pos + (size_t)c->pos_offset * H : NULL, g->type, d_emb, a->d_ids,
                      a->d_type_ids, B, T, H);
    }
    return bd_be_check(be, e);
oom:
    return bd_errf(e, "out of memory in the adapter backward pass");
}
