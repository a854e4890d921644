/* The whole model's backward pass by central finite differences: every
 * parameter tensor of the tiny BERT (full fine-tuning), and every adapter
 * tensor with all six modules adapted (LoRA and DoRA), in training mode with
 * every dropout on (the masks are replayed from the same rng state, so the
 * loss is a deterministic function of the parameters). The ops are checked
 * in double in test_ops_grad / test_adapter; this test checks the wiring
 * (residuals, masks, which input feeds which op), so float32 central
 * differences with a loose tolerance suffice. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dataset.h"
#include "encode.h"
#include "model.h"
#include "tokenizer.h"
#include "tiny.h"
#include "trainable.h"

#define REF "tests/ref/"

typedef struct fx {
    bd_bert m;
    bd_trainable t;
    bd_bert_acts a;
    int32_t ids[6 * 64], tids[6 * 64], labels[6];
    float mask[6 * 64];
    int B, T;
} fx;

static void setup(fx *f, bd_method method) {
    bd_err e = {{0}};
    if (bd_bert_load(&f->m, REF "tiny_bert", 3, 0, &e)) fail_msg("%s", e.msg);
    f->m.cfg.hidden_dropout = 0.1f;
    f->m.cfg.attn_dropout = 0.1f;
    f->m.cfg.classifier_dropout = 0.2f;
    bd_adapter_opts o = {method, 2, 4.0f, 0, 0.15f, (1u << BD_N_MODS) - 1, 1};
    if (bd_trainable_init(&f->t, &f->m, &o, 3, &e)) fail_msg("%s", e.msg);
    /* make every adapter path live: B and m away from their init */
    bd_rng r;
    bd_rng_seed(&r, 11);
    for (int i = 0; i < f->t.n_ad; i++) {
        bd_adapted_linear *al = &f->t.ads[i];
        for (int j = 0; j < al->out * al->r; j++) al->B[j] = 0.2f * bd_rng_normal(&r);
        if (al->m) for (int j = 0; j < al->out; j++) al->m[j] *= 1.0f + 0.1f * bd_rng_normal(&r);
    }
    static const int rows[6] = {1, 3, 5, 8, 9, 11};
    f->B = 6;
    f->T = tiny_batch(rows, 6, 1, 24, f->ids, f->tids, f->mask, f->labels);
    if (bd_bert_acts_alloc(&f->a, &f->m, 6, 24, 1, &e)) fail_msg("%s", e.msg);
}

static double loss_at(fx *f, int backward) {
    return tiny_xent_step(&f->m, &f->a, &f->t, f->ids, f->tids, f->mask, f->labels, f->B, f->T, 77, backward);
}

static double loss_of(void *f) { return loss_at(f, 0); }
#define FD(fxp, name, w, g, n, k, r, worst) tiny_fd_check(name, w, g, n, k, r, worst, loss_of, fxp)

static void test_full(void **st) {
    (void)st;
    fx f;
    setup(&f, BD_METHOD_FULL);
    loss_at(&f, 1);
    float *grad = malloc(sizeof(float) * f.m.total);
    memcpy(grad, f.t.full.g, sizeof(float) * f.m.total);
    bd_rng r;
    bd_rng_seed(&r, 5);
    int bad = 0;
    double worst = 0;
    for (int p = 0; p < f.m.n_params; p++) {
        const bd_param *pp = &f.m.params[p];
        /* the word embedding is sparse: sample rows the batch uses */
        bad += FD(&f, pp->name, f.m.data + pp->offset, grad + pp->offset, pp->numel,
                           strstr(pp->name, "word_embeddings") ? 0 : 3, &r, &worst);
    }
    /* word embeddings of ids present in the batch */
    for (int s = 0; s < 6; s++) {
        int id = f.ids[(int)bd_rng_below(&r, (uint64_t)f.B * f.T)];
        size_t off = (size_t)id * f.m.cfg.hidden + (size_t)bd_rng_below(&r, (uint64_t)f.m.cfg.hidden);
        bad += FD(&f, "word_embeddings(used row)", f.m.word + off, grad + (f.m.word - f.m.data) + off, 1, 1, &r, &worst);
    }
    printf("full fine-tuning: %d parameter tensors, worst error / tolerance %.2f\n", f.m.n_params, worst);
    assert_int_equal(bad, 0);
    free(grad);
    bd_bert_acts_free(&f.a);
    bd_trainable_free(&f.t, &f.m);
    bd_bert_free(&f.m);
}

/* Ids outside the tables: the backward scatters where the forward looked up
 * (pad_token_id, type 0), never past the embeddings: the same gradient as a
 * batch holding those ids. */
static void test_bad_ids(void **st) {
    (void)st;
    fx f;
    setup(&f, BD_METHOD_FULL);
    const bd_bert_config *c = &f.m.cfg;
    f.ids[1] = c->vocab_size + 100000;
    f.ids[2] = -7;
    f.tids[1] = c->type_vocab + 3;
    loss_at(&f, 1);
    float *g1 = malloc(sizeof(float) * f.m.total);
    memcpy(g1, f.t.full.g, sizeof(float) * f.m.total);
    f.ids[1] = f.ids[2] = c->pad_token_id;
    f.tids[1] = 0;
    loss_at(&f, 1);
    assert_memory_equal(g1, f.t.full.g, sizeof(float) * f.m.total);
    free(g1);
    bd_bert_acts_free(&f.a);
    bd_trainable_free(&f.t, &f.m);
    bd_bert_free(&f.m);
}

static void run_adapters(bd_method method) {
    fx f;
    setup(&f, method);
    loss_at(&f, 1);
    float *dg = malloc(sizeof(float) * f.t.dir.n), *mg = malloc(sizeof(float) * (f.t.mag.n + 1));
    memcpy(dg, f.t.dir.g, sizeof(float) * f.t.dir.n);
    memcpy(mg, f.t.mag.g, sizeof(float) * f.t.mag.n);
    bd_rng r;
    bd_rng_seed(&r, 6);
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < f.t.n_ad; i++) {
        bd_adapted_linear *al = &f.t.ads[i];
        char name[200];
        bd_peft_name(&f.t, i, "lora_A", name, sizeof name);
        bad += FD(&f, name, al->A, dg + (al->A - f.t.dir.w), (size_t)al->r * al->in, 2, &r, &worst);
        bd_peft_name(&f.t, i, "lora_B", name, sizeof name);
        bad += FD(&f, name, al->B, dg + (al->B - f.t.dir.w), (size_t)al->out * al->r, 2, &r, &worst);
        if (al->m) {
            bd_peft_name(&f.t, i, "magnitude", name, sizeof name);
            bad += FD(&f, name, al->m, mg + (al->m - f.t.mag.w), (size_t)al->out, 2, &r, &worst);
        }
    }
    bad += FD(&f, "classifier", f.m.cls_w, dg + f.t.head_off, 3 * 32 + 3, 4, &r, &worst);
    printf("%s, all modules, dropout on: %d adapters, worst error / tolerance %.2f\n",
           method == BD_METHOD_LORA ? "LoRA" : "DoRA", f.t.n_ad, worst);
    assert_int_equal(bad, 0);
    free(dg); free(mg);
    bd_bert_acts_free(&f.a);
    bd_trainable_free(&f.t, &f.m);
    bd_bert_free(&f.m);
}

static void test_lora(void **st) { (void)st; run_adapters(BD_METHOD_LORA); }
static void test_dora(void **st) { (void)st; run_adapters(BD_METHOD_DORA); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_bad_ids),
        cmocka_unit_test(test_lora),
        cmocka_unit_test(test_dora),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
