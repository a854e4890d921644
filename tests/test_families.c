/* RoBERTa and ESM-2 (issue 15): the tiny RobertaForSequenceClassification of
 * tests/ref/gen_roberta_ref.py and EsmForSequenceClassification of
 * gen_esm_ref.py against transformers (eval logits of padded batches, F32 and
 * BF16 files, ESM's regression head, rows with <mask> for token_dropout), on
 * the CPU and on the CUDA backend in the simulator; the backward pass of
 * everything they change (RoBERTa's positions from padding_idx + 1, ESM's
 * pre-LayerNorm layers, rotary positions, scaled embeddings and final
 * LayerNorm, their dropout / dense / tanh / dropout / out_proj head) by
 * central finite differences in training mode with every dropout on, for full
 * fine-tuning and for LoRA and DoRA (whose head is the whole classifier:
 * PEFT's modules_to_save); against PEFT's gradients and 3 AdamW steps; PEFT
 * export names; refusals. */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "backend.h"
#include "err.h"
#include "model.h"
#include "optim.h"
#include "safetensors.h"
#include "tiny.h"
#include "trainable.h"

#define REF "tests/ref/"
#define MAXB 16
#define MAXT 48

/* One family's reference files. */
typedef struct family {
    const char *name, *dir, *dir_bf16, *batch, *peft_lora, *peft_dora, *prefix;
    bd_family fam;
    int pos_offset;
} family;
static const family ROBERTA = {"RoBERTa", REF "tiny_roberta", REF "tiny_roberta_bf16", REF "tiny_roberta_batch.json",
                               REF "peft_roberta_lora", REF "peft_roberta_dora", "roberta", BD_FAMILY_ROBERTA, 2};
static const family ESM = {"ESM-2", REF "tiny_esm", REF "tiny_esm_bf16", REF "tiny_esm_batch.json",
                           REF "peft_esm_lora", REF "peft_esm_dora", "esm", BD_FAMILY_ESM, 0};
static const family *F = &ROBERTA; /* the family the tests below run on */

typedef struct batch {
    int B, T, L;
    int32_t ids[MAXB * MAXT], tids[MAXB * MAXT], labels[MAXB];
    float mask[MAXB * MAXT];
    float want[MAXB * 3], want_bf16[MAXB * 3], want_reg[MAXB];
    float targets[MAXB];
} batch;

/* tiny_roberta_batch.json: rows right-padded with <pad> to the longest, and
 * transformers' logits of them. */
static void read_batch(batch *b) {
    memset(b, 0, sizeof *b);
    b->L = 3;
    b->T = tiny_json_rows(F->batch, NULL, MAXB, MAXT, b->ids, b->mask, b->labels, &b->B);
    assert_true(b->B > 0);
    json_error_t je;
    json_t *j = json_load_file(F->batch, 0, &je);
    if (!j) fail_msg("%s: %s", F->batch, je.text);
    for (int i = 0; i < b->B; i++) {
        json_t *tg = json_object_get(j, "targets"), *reg = json_object_get(j, "logits_reg");
        if (tg) b->targets[i] = (float)json_number_value(json_array_get(tg, i));
        if (reg) b->want_reg[i] = (float)json_number_value(json_array_get(json_array_get(reg, i), 0));
        for (int k = 0; k < 3; k++) {
            b->want[i * 3 + k] = (float)json_number_value(json_array_get(json_array_get(json_object_get(j, "logits"), i), k));
            b->want_bf16[i * 3 + k] =
                (float)json_number_value(json_array_get(json_array_get(json_object_get(j, "logits_bf16"), i), k));
        }
    }
    json_decref(j);
}

static double logits_err(const char *dir, bd_backend *be, const float *want, int L) {
    batch b;
    read_batch(&b);
    bd_err e = {{0}};
    bd_bert m;
    if (bd_bert_load(&m, dir, L, 0, &e)) fail_msg("%s", e.msg);
    assert_int_equal(m.cfg.family, F->fam);
    assert_int_equal(m.cfg.pos_offset, F->pos_offset);
    assert_true(m.loaded_head);
    if (be && bd_bert_to_backend(&m, be, &e)) fail_msg("%s", e.msg);
    bd_bert_acts a;
    if (bd_bert_acts_alloc(&a, &m, b.B, b.T, 0, &e)) fail_msg("%s", e.msg);
    bd_bert_forward(&m, &a, b.ids, b.tids, b.mask, b.B, b.T, NULL);
    float got[MAXB * 3];
    m.be->download(m.be, got, a.logits, sizeof(float) * (size_t)b.B * L);
    if (bd_be_check(m.be, &e)) fail_msg("%s", e.msg);
    double err = tiny_max_rel_err(got, want, (size_t)b.B * L, 1e-2);
    /* eval's short cut (bd_evaluate): the last layer past attention on the head's rows only */
    float rows_only[MAXB * 3];
    a.head_rows_only = 1;
    bd_bert_forward(&m, &a, b.ids, b.tids, b.mask, b.B, b.T, NULL);
    m.be->download(m.be, rows_only, a.logits, sizeof(float) * (size_t)b.B * L);
    if (bd_be_check(m.be, &e)) fail_msg("%s", e.msg);
    double short_err = tiny_max_rel_err(rows_only, got, (size_t)b.B * L, 1e-2);
    /* every token real (the pads' ids read as tokens): nothing to pack, the padded layout's short cut */
    float ones[MAXB * MAXT], all_rows[MAXB * 3];
    for (int i = 0; i < b.B * b.T; i++) ones[i] = 1.0f;
    a.head_rows_only = 0;
    bd_bert_forward(&m, &a, b.ids, b.tids, ones, b.B, b.T, NULL);
    m.be->download(m.be, all_rows, a.logits, sizeof(float) * (size_t)b.B * L);
    a.head_rows_only = 1;
    bd_bert_forward(&m, &a, b.ids, b.tids, ones, b.B, b.T, NULL);
    m.be->download(m.be, rows_only, a.logits, sizeof(float) * (size_t)b.B * L);
    if (bd_be_check(m.be, &e)) fail_msg("%s", e.msg);
    /* relative to the logits' scale (these are O(1)): a logit near 0 differs by a few ulps of 1 */
    double full_err = tiny_max_rel_err(rows_only, all_rows, (size_t)b.B * L, 1.0);
    printf("%-20s %-4s %d padded rows (T %d): max rel err %.3g; head rows only vs all rows %.3g, unpadded %.3g\n",
           dir + strlen(REF), be ? be->name : "cpu", b.B, b.T, err, short_err, full_err);
    assert_true(short_err < 3e-5); /* float rounding: products of B rows sum in other orders than of B*T */
    assert_true(full_err < 3e-5);
    bd_bert_acts_free(&a);
    bd_bert_free(&m);
    return err;
}

static void test_logits(void **s) {
    (void)s;
    batch b;
    read_batch(&b);
    assert_true(logits_err(F->dir, NULL, b.want, 3) < 1e-4);
    assert_true(logits_err(F->dir_bf16, NULL, b.want_bf16, 3) < 1e-4);
    bd_err e = {{0}};
    bd_backend *cuda = bd_backend_cuda(0, &e);
    if (!cuda) fail_msg("the simulated CUDA backend: %s", e.msg);
    assert_true(logits_err(F->dir, cuda, b.want, 3) < 1e-4);
    bd_backend_close(cuda);
    if (F->fam == BD_FAMILY_ESM) assert_true(logits_err(REF "tiny_esm_reg", NULL, b.want_reg, 1) < 1e-4);
}

/* ---- finite differences ---- */

typedef struct fx {
    bd_bert m;
    bd_trainable t;
    bd_bert_acts a;
    batch b;
} fx;

static void setup(fx *f, bd_method method) {
    bd_err e = {{0}};
    read_batch(&f->b);
    if (bd_bert_load(&f->m, F->dir, 3, 0, &e)) fail_msg("%s", e.msg);
    f->m.cfg.hidden_dropout = 0.1f;
    f->m.cfg.attn_dropout = 0.1f;
    f->m.cfg.classifier_dropout = 0.2f;
    bd_adapter_opts o = {method, 2, 4.0f, 0, 0.15f, (1u << BD_N_MODS) - 1, 1};
    if (bd_trainable_init(&f->t, &f->m, &o, 3, &e)) fail_msg("%s", e.msg);
    bd_rng r;
    bd_rng_seed(&r, 11);
    for (int i = 0; i < f->t.n_ad; i++) { /* every adapter path live: B and m off their init */
        bd_adapted_linear *al = &f->t.ads[i];
        for (int j = 0; j < al->out * al->r; j++) al->B[j] = 0.2f * bd_rng_normal(&r);
        if (al->m) for (int j = 0; j < al->out; j++) al->m[j] *= 1.0f + 0.1f * bd_rng_normal(&r);
    }
    if (bd_bert_acts_alloc(&f->a, &f->m, f->b.B, f->b.T, 1, &e)) fail_msg("%s", e.msg);
}

static void teardown_fx(fx *f) {
    bd_bert_acts_free(&f->a);
    bd_trainable_free(&f->t, &f->m);
    bd_bert_free(&f->m);
}

static double loss_at(fx *f, int backward) {
    const batch *b = &f->b;
    return tiny_xent_step(&f->m, &f->a, &f->t, b->ids, b->tids, b->mask, b->labels, b->B, b->T, 77, backward);
}

static double loss_of(void *f) { return loss_at(f, 0); }
#define FD(fxp, name, w, g, n, k, r, worst) tiny_fd_check(name, w, g, n, k, r, worst, loss_of, fxp)

static void test_full_fd(void **st) {
    (void)st;
    fx f;
    setup(&f, BD_METHOD_FULL);
    loss_at(&f, 1);
    float *grad = malloc(sizeof(float) * f.m.total);
    memcpy(grad, f.t.full.g, sizeof(float) * f.m.total);
    bd_rng r;
    bd_rng_seed(&r, 5);
    int bad = 0;
    double worst = 0, pos_g = 0;
    for (int p = 0; p < f.m.n_params; p++) {
        const bd_param *pp = &f.m.params[p];
        if (strstr(pp->name, "word_embeddings") || strstr(pp->name, "position_embeddings")) continue;
        bad += FD(&f, pp->name, f.m.data + pp->offset, grad + pp->offset, pp->numel, 3, &r, &worst);
    }
    const int H = f.m.cfg.hidden;
    if (f.m.pos) {
        /* RoBERTa's positions: rows pos_offset + t of every t a real token has (and none below) */
        for (int t = 0; t < f.b.T; t += 3) {
            size_t off = (size_t)(2 + t) * H + (size_t)bd_rng_below(&r, (uint64_t)H);
            bad += FD(&f, "position_embeddings(row 2+t)", f.m.pos + off, grad + (f.m.pos - f.m.data) + off, 1, 1, &r,
                         &worst);
        }
        for (size_t j = 0; j < 2 * (size_t)H; j++) pos_g += fabs(grad[(f.m.pos - f.m.data) + j]);
        assert_true(pos_g == 0.0); /* rows 0 and 1 (padding_idx and below) are never read */
    }
    for (int s = 0; s < 6; s++) {
        int id = f.b.ids[(int)bd_rng_below(&r, (uint64_t)f.b.B * f.b.T)];
        size_t off = (size_t)id * H + (size_t)bd_rng_below(&r, (uint64_t)H);
        bad += FD(&f, "word_embeddings(used row)", f.m.word + off, grad + (f.m.word - f.m.data) + off, 1, 1, &r, &worst);
    }
    printf("%s full fine-tuning: %d tensors, worst error / tolerance %.2f\n", F->name, f.m.n_params, worst);
    assert_int_equal(bad, 0);
    free(grad);
    teardown_fx(&f);
}

static void run_adapters(bd_method method) {
    fx f;
    setup(&f, method);
    assert_int_equal(f.t.head_dense, 1);
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
        char want_pfx[64];
        snprintf(want_pfx, sizeof want_pfx, "base_model.model.%s.encoder.layer.", F->prefix);
        assert_non_null(strstr(name, want_pfx));
        bad += FD(&f, name, al->A, dg + (al->A - f.t.dir.w), (size_t)al->r * al->in, 2, &r, &worst);
        bd_peft_name(&f.t, i, "lora_B", name, sizeof name);
        bad += FD(&f, name, al->B, dg + (al->B - f.t.dir.w), (size_t)al->out * al->r, 2, &r, &worst);
        if (al->m) {
            bd_peft_name(&f.t, i, "magnitude", name, sizeof name);
            bad += FD(&f, name, al->m, mg + (al->m - f.t.mag.w), (size_t)al->out, 2, &r, &worst);
        }
    }
    const int H = f.m.cfg.hidden;
    /* the head in the direction group: out_proj, then dense (both train) */
    bad += FD(&f, "classifier.out_proj", f.m.cls_w, dg + f.t.head_off, 3 * (size_t)H + 3, 4, &r, &worst);
    bad += FD(&f, "classifier.dense", f.m.pool_w, dg + (f.m.pool_w - f.t.dir.w), (size_t)H * H + H, 6, &r, &worst);
    printf("%s %s, all modules, dropout on: %d adapters + the head, worst error / tolerance %.2f\n", F->name,
           method == BD_METHOD_LORA ? "LoRA" : "DoRA", f.t.n_ad, worst);
    assert_int_equal(bad, 0);
    free(dg);
    free(mg);
    teardown_fx(&f);
}

static void test_lora_fd(void **st) { (void)st; run_adapters(BD_METHOD_LORA); }
static void test_dora_fd(void **st) { (void)st; run_adapters(BD_METHOD_DORA); }

/* The adapter directory: PEFT's names for RoBERTa, the whole head under
 * modules_to_save, and a read back that gives the same logits. */
static void test_peft_round_trip(void **st) {
    (void)st;
    fx f;
    setup(&f, BD_METHOD_DORA);
    bd_err e = {{0}};
    char dir[] = "/tmp/bd_roberta_peft_XXXXXX";
    assert_non_null(mkdtemp(dir));
    if (bd_peft_save(&f.t, &f.m, dir, F->dir, &e)) fail_msg("%s", e.msg);
    char path[300];
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    bd_st sf;
    if (bd_st_open(&sf, path, &e)) fail_msg("%s", e.msg);
    char want[6][160];
    snprintf(want[0], sizeof want[0], "base_model.model.classifier.dense.weight");
    snprintf(want[1], sizeof want[1], "base_model.model.classifier.dense.bias");
    snprintf(want[2], sizeof want[2], "base_model.model.classifier.out_proj.weight");
    snprintf(want[3], sizeof want[3], "base_model.model.classifier.out_proj.bias");
    snprintf(want[4], sizeof want[4], "base_model.model.%s.encoder.layer.1.attention.self.value.lora_A.weight", F->prefix);
    snprintf(want[5], sizeof want[5], "base_model.model.%s.encoder.layer.0.output.dense.lora_magnitude_vector", F->prefix);
    for (size_t i = 0; i < 6; i++)
        if (!bd_st_find(&sf, want[i])) fail_msg("%s: no tensor %s", path, want[i]);
    bd_st_close(&sf);
    bd_bert_forward(&f.m, &f.a, f.b.ids, f.b.tids, f.b.mask, f.b.B, f.b.T, NULL);
    float before[MAXB * 3];
    memcpy(before, f.a.logits, sizeof(float) * (size_t)f.b.B * 3);
    /* a fresh model with the saved adapter: the same logits */
    fx g;
    setup(&g, BD_METHOD_DORA);
    if (bd_peft_load(&g.t, &g.m, dir, &e)) fail_msg("%s", e.msg);
    bd_bert_forward(&g.m, &g.a, g.b.ids, g.b.tids, g.b.mask, g.b.B, g.b.T, NULL);
    assert_memory_equal(before, g.a.logits, sizeof(float) * (size_t)f.b.B * 3);
    /* with the DoRA adapters, eval's short cut (bd_evaluate's head_rows_only): the same logits */
    g.a.head_rows_only = 1;
    bd_bert_forward(&g.m, &g.a, g.b.ids, g.b.tids, g.b.mask, g.b.B, g.b.T, NULL);
    assert_true(tiny_max_rel_err(g.a.logits, before, (size_t)f.b.B * 3, 1e-2) < 3e-5);
    teardown_fx(&g);
    teardown_fx(&f);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- against PEFT (gen_peft_roberta.py) ---- */

static double peft_loss(const char *adir, int step) {
    char path[256], key[32];
    snprintf(path, sizeof path, "%s/loss.txt", adir);
    snprintf(key, sizeof key, "loss step %d ", step);
    return tiny_ref_loss(path, key);
}

/* Every trainable tensor (values or gradients) against a PEFT file: the
 * adapters (query, value) and the whole head, under PEFT's names. */
static double peft_cmp(fx *f, const char *file, int grads) {
    bd_err e = {{0}};
    bd_st st;
    if (bd_st_open(&st, file, &e)) fail_msg("%s", e.msg);
    double worst = tiny_cmp_adapters(&st, &f->t, grads);
    char name[200];
    const int H = f->m.cfg.hidden;
    const bd_bert_grads *g = &f->t.grads;
    const float *vals[4] = {f->m.pool_w, f->m.pool_b, f->m.cls_w, f->m.cls_b};
    const float *gs[4] = {g->pool_w, g->pool_b, g->cls_w, g->cls_b};
    const size_t n[4] = {(size_t)H * H, (size_t)H, 3 * (size_t)H, 3};
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "base_model.model.%s", bd_bert_head_name(&f->m.cfg, k));
        worst = fmax(worst, tiny_cmp_tensor(&st, name, grads ? gs[k] : vals[k], n[k]));
    }
    bd_st_close(&st);
    return worst;
}

static float peft_step_loss(fx *f) {
    const batch *b = &f->b;
    return (float)tiny_xent_step(&f->m, &f->a, &f->t, b->ids, b->tids, b->mask, b->labels, b->B, b->T, 1, 1);
}

static void run_peft(const char *adir) {
    fx f;
    bd_err e = {{0}};
    read_batch(&f.b);
    if (bd_bert_load(&f.m, F->dir, 3, 0, &e)) fail_msg("%s", e.msg);
    f.m.cfg.hidden_dropout = f.m.cfg.attn_dropout = f.m.cfg.classifier_dropout = 0.0f; /* PEFT ran in eval mode */
    bd_adapter_opts o;
    if (bd_peft_read_config(&o, adir, &e)) fail_msg("%s", e.msg);
    o.exact_norm_grad = 0; /* PEFT detaches DoRA's row norm */
    if (bd_trainable_init(&f.t, &f.m, &o, 1, &e)) fail_msg("%s", e.msg);
    if (bd_peft_load(&f.t, &f.m, adir, &e)) fail_msg("%s", e.msg);
    if (bd_bert_acts_alloc(&f.a, &f.m, f.b.B, f.b.T, 1, &e)) fail_msg("%s", e.msg);
    char path[256];
    float loss = peft_step_loss(&f);
    double lref = peft_loss(adir, 0);
    snprintf(path, sizeof path, "%s/grads.safetensors", adir);
    double gerr = peft_cmp(&f, path, 1);
    printf("%s: loss %.7f (PEFT %.7f), gradients max rel err %.2g\n", adir + strlen(REF), loss, lref, gerr);
    assert_true(fabs(loss - lref) < 1e-5 * fabs(lref) + 1e-6);
    assert_true(gerr < 1e-4);
    bd_optim od, om;
    if (bd_optim_init(&od, BD_OPT_ADAMW, f.t.dir.n, 0.9f, 0.999f, 1e-8f, 0.01f, &e) ||
        bd_optim_init(&om, BD_OPT_ADAMW, f.t.mag.n, 0.9f, 0.999f, 1e-8f, 0.01f, &e)) fail_msg("%s", e.msg);
    for (int s = 1; s <= 3; s++) {
        if (s > 1) peft_step_loss(&f);
        bd_optim_step(&od, f.t.dir.w, f.t.dir.g, 1e-2f);
        if (f.t.mag.n) bd_optim_step(&om, f.t.mag.w, f.t.mag.g, 1e-2f);
        snprintf(path, sizeof path, "%s/after_step%d.safetensors", adir, s);
        double perr = peft_cmp(&f, path, 0);
        printf("  after AdamW step %d: parameters max rel err %.2g\n", s, perr);
        assert_true(perr < 1e-4);
    }
    float l3 = peft_step_loss(&f);
    assert_true(fabs(l3 - peft_loss(adir, 3)) < 1e-4 * fabs(peft_loss(adir, 3)));
    bd_optim_free(&od);
    bd_optim_free(&om);
    teardown_fx(&f);
}

static void test_peft_lora(void **st) { (void)st; run_peft(F->peft_lora); }
static void test_peft_dora(void **st) { (void)st; run_peft(F->peft_dora); }

/* Too many tokens for RoBERTa's positions (max_position_embeddings - 2). */
static void test_positions_bound(void **st) {
    (void)st;
    if (F->fam != BD_FAMILY_ROBERTA) return;
    bd_err e = {{0}};
    bd_bert m;
    if (bd_bert_load(&m, REF "tiny_roberta", 3, 0, &e)) fail_msg("%s", e.msg);
    bd_bert_acts a;
    assert_int_equal(bd_bert_acts_alloc(&a, &m, 1, 40, 0, &e), 0);
    bd_bert_acts_free(&a);
    assert_int_equal(bd_bert_acts_alloc(&a, &m, 1, 41, 0, &e), -1);
    assert_non_null(strstr(e.msg, "40 position embeddings"));
    bd_bert_free(&m);
}

static int on_roberta(void **st) { (void)st; F = &ROBERTA; return 0; }
static int on_esm(void **st) { (void)st; F = &ESM; return 0; }

/* ESM's config checks: ESM-1b's absolute positions and emb_layer_norm_before are refused by name. */
static void test_esm_refusals(void **st) {
    (void)st;
    char *text = bd_read_file(REF "tiny_esm/config.json", NULL, NULL);
    assert_non_null(text);
    static const char *const from[] = {"\"rotary\"", "\"emb_layer_norm_before\": false", "\"mask_token_id\": 32,"};
    static const char *const to[] = {"\"absolute\"", "\"emb_layer_norm_before\": true", ""};
    static const char *const says[] = {"position_embedding_type must be \"rotary\"", "emb_layer_norm_before = true",
                                       "missing required key \"mask_token_id\""};
    for (int k = 0; k < 3; k++) {
        char *p = strstr(text, from[k]);
        assert_non_null(p);
        char buf[8192];
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - text), text, to[k], p + strlen(from[k]));
        char path[] = "/tmp/bd_esm_cfg_XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, buf, strlen(buf)), (ssize_t)strlen(buf));
        close(fd);
        bd_bert_config c;
        bd_err e = {{0}};
        assert_int_equal(bd_bert_config_load(&c, path, &e), -1);
        if (!strstr(e.msg, says[k])) fail_msg("\"%s\" lacks \"%s\"", e.msg, says[k]);
        unlink(path);
    }
    free(text);
}

int main(void) {
    const struct CMUnitTest esm[] = {
        cmocka_unit_test_setup(test_logits, on_esm),         cmocka_unit_test_setup(test_full_fd, on_esm),
        cmocka_unit_test_setup(test_lora_fd, on_esm),        cmocka_unit_test_setup(test_dora_fd, on_esm),
        cmocka_unit_test_setup(test_peft_round_trip, on_esm), cmocka_unit_test_setup(test_peft_lora, on_esm),
        cmocka_unit_test_setup(test_peft_dora, on_esm),      cmocka_unit_test(test_esm_refusals),
    };
    int rc = cmocka_run_group_tests_name("ESM-2", esm, on_esm, NULL);
    on_roberta(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logits),       cmocka_unit_test(test_full_fd),
        cmocka_unit_test(test_lora_fd),      cmocka_unit_test(test_dora_fd),
        cmocka_unit_test(test_peft_round_trip), cmocka_unit_test(test_positions_bound),
        cmocka_unit_test(test_peft_lora),    cmocka_unit_test(test_peft_dora),
    };
    return rc | cmocka_run_group_tests_name("RoBERTa", tests, on_roberta, NULL);
}
