/* BiDoRA's bi-level step against an independent PyTorch reference written
 * from ALGORITHM.md (tests/ref/gen_bidora_ref.py on BERT, with a functional
 * model; gen_bidora_family_ref.py on RoBERTa and ESM-2, with transformers'
 * and PEFT's modules themselves): one whole iteration from a
 * fixed DoRA adapter with SGD and full batches (lower step with CE + lambda R,
 * g_direct, v, eps, g+, g-, h, the upper step), the darts2 hypergradient
 * against the exact h = g_direct - xi H v (double backward), and its
 * convergence as darts_alpha shrinks; the dL/dM-only backward of the +-eps
 * passes against the full one. Then the trainer's invariants: M moves
 * only in upper steps, V only in lower steps, phase 2 leaves M alone and
 * restarts V from its initial values, on the CPU and on the CUDA backend (in the
 * SIMT simulator). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bilevel.h"
#include "config.h"
#include "encode.h"
#include "optim.h"
#include "safetensors.h"
#include "tiny.h"
#include "tokenizer.h"
#include "trainer.h"

#define REF "tests/ref/"

/* One reference iteration: the model, the DoRA adapter it starts from, the
 * reference directory and (RoBERTa, ESM-2) the batch file whose rows it
 * splits, as its batch.txt says; BERT's batches are rows of tiny.csv. */
typedef struct ref_case {
    const char *name, *model, *peft, *dir, *batch_json;
} ref_case;
static const ref_case BERT = {"BERT", REF "tiny_bert", REF "peft_dora", REF "bidora_ref", NULL};
static const ref_case ROBERTA = {"RoBERTa", REF "tiny_roberta", REF "peft_roberta_dora", REF "bidora_roberta_ref",
                                 REF "tiny_roberta_batch.json"};
static const ref_case ESM = {"ESM-2", REF "tiny_esm", REF "peft_esm_dora", REF "bidora_esm_ref",
                             REF "tiny_esm_batch.json"};
static const ref_case *C = &BERT;

static int on_bert(void **st) { (void)st; C = &BERT; return 0; }
static int on_roberta(void **st) { (void)st; C = &ROBERTA; return 0; }
static int on_esm(void **st) { (void)st; C = &ESM; return 0; }

/* C->dir/FILE (a few at a time: rotating buffers). */
static const char *br(const char *file) {
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", C->dir, file);
    return buf[k];
}

/* The row indices after "rows" in the block "batch WHICH" of C->dir/batch.txt. */
static int batch_rows(const char *which, int *rows, int max) {
    FILE *fp = fopen(br("batch.txt"), "r");
    assert_non_null(fp);
    char line[1024], want[32];
    snprintf(want, sizeof want, "batch %s\n", which);
    int in = 0, n = 0;
    while (fgets(line, sizeof line, fp)) {
        if (!strncmp(line, "batch ", 6)) in = !strcmp(line, want);
        if (!in || strncmp(line, "rows ", 5)) continue;
        char *p = line + 5, *end;
        for (long v; n < max && (v = strtol(p, &end, 10), end != p); p = end) rows[n++] = (int)v;
    }
    fclose(fp);
    assert_true(n > 0);
    return n;
}

typedef struct fx {
    bd_bert m;
    bd_trainable t;
    bd_bert_acts a;
    bd_bilevel bl;
    int32_t ids[2][8 * 64], tids[2][8 * 64], lab[2][8];
    float mask[2][8 * 64];
    bd_batch lower, upper;
} fx;

static const int rows_lower[8] = {0, 2, 4, 7, 12, 14, 15, 19};
static const int rows_upper[8] = {1, 3, 5, 6, 8, 9, 10, 11};

static void setup(fx *f) {
    bd_err e = {{0}};
    memset(f, 0, sizeof *f);
    if (bd_bert_load(&f->m, C->model, 3, 0, &e)) fail_msg("%s", e.msg);
    f->m.cfg.hidden_dropout = f->m.cfg.attn_dropout = f->m.cfg.classifier_dropout = 0.0f;
    bd_adapter_opts o;
    if (bd_peft_read_config(&o, C->peft, &e)) fail_msg("%s", e.msg);
    o.exact_norm_grad = 1;
    if (bd_trainable_init(&f->t, &f->m, &o, 1, &e) || bd_peft_load(&f->t, &f->m, C->peft, &e))
        fail_msg("%s", e.msg);
    const int *rows[2] = {rows_lower, rows_upper};
    const char *which[2] = {"lower", "upper"};
    bd_batch *bt[2] = {&f->lower, &f->upper};
    int maxT = 0;
    for (int k = 0; k < 2; k++) {
        int B = 8, T, idx[8];
        if (C->batch_json) {
            B = batch_rows(which[k], idx, 8);
            T = tiny_json_rows(C->batch_json, idx, B, 64, f->ids[k], f->mask[k], f->lab[k], NULL);
        } else {
            T = tiny_batch(rows[k], 8, 0, 64, f->ids[k], f->tids[k], f->mask[k], f->lab[k]);
        }
        *bt[k] = (bd_batch){f->ids[k], f->tids[k], f->mask[k], f->lab[k], NULL, B, T, BD_TASK_CLASSIFICATION, 1};
        if (T > maxT) maxT = T;
    }
    if (!C->batch_json) {
        assert_int_equal(f->lower.T, 64);
        assert_int_equal(f->upper.T, 19);
    }
    if (bd_bert_acts_alloc(&f->a, &f->m, 8, maxT, 1, &e) || bd_bilevel_init(&f->bl, &f->m, &f->t, &f->a, 8, &e))
        fail_msg("%s", e.msg);
    f->bl.darts2 = 1;
    f->bl.darts_alpha = 0.01;
    f->bl.hyper_xi = 1.0;
}

static void teardown(fx *f) {
    bd_bilevel_free(&f->bl);
    bd_bert_acts_free(&f->a);
    bd_trainable_free(&f->t, &f->m);
    bd_bert_free(&f->m);
}

static double scalar(const char *name) {
    FILE *fp = fopen(br("scalars.txt"), "r");
    assert_non_null(fp);
    char line[512];
    double v = NAN;
    size_t n = strlen(name);
    while (fgets(line, sizeof line, fp))
        if (!strncmp(line, name, n) && line[n] == ' ') v = atof(line + n + 1);
    fclose(fp);
    assert_false(isnan(v));
    return v;
}

/* Read a reference tensor (any float dtype) as double. */
static double *ref_tensor(const char *file, const char *name, size_t n) {
    bd_err e = {{0}};
    bd_st st = {0};
    if (bd_st_open(&st, file, &e)) fail_msg("%s", e.msg);
    const bd_st_tensor *t = bd_st_find(&st, name);
    if (!t) fail_msg("%s has no tensor %s", file, name);
    assert_int_equal((size_t)t->numel, n);
    float *tmp = malloc(sizeof(float) * n);
    double *out = malloc(sizeof(double) * n);
    if (bd_st_read_f32(&st, t, tmp, &e)) fail_msg("%s", e.msg);
    for (size_t i = 0; i < n; i++) out[i] = tmp[i];
    free(tmp);
    bd_st_close(&st);
    return out;
}

/* Element-wise relative error with a floor of 1% of the tensor's scale. */
static double rel_err(const float *got, const double *want, size_t n) {
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(got[i] - want[i]) / fmax(fabs(want[i]), 1e-2 * scale));
    return worst;
}

/* Compare a V-shaped (dir) or M-shaped (mag) buffer with the reference
 * tensors NAME+suffix of file. */
static double cmp_group(fx *f, const char *file, const float *buf, int mag, const char *suffix) {
    double worst = 0;
    char name[256], base[200];
    const float *origin = mag ? f->t.mag.w : f->t.dir.w;
    for (int i = 0; i < f->t.n_ad; i++) {
        bd_adapted_linear *al = &f->t.ads[i];
        const char *parts[3] = {"lora_A.weight", "lora_B.weight", "lora_magnitude_vector"};
        const float *ptr[3] = {al->A, al->B, al->m};
        size_t sizes[3] = {(size_t)al->r * al->in, (size_t)al->out * al->r, (size_t)al->out};
        for (int p = mag ? 2 : 0; p < (mag ? 3 : 2); p++) {
            bd_peft_name(&f->t, i, parts[p], base, sizeof base);
            snprintf(name, sizeof name, "%s%s", base, suffix);
            double *want = ref_tensor(file, name, sizes[p]);
            worst = fmax(worst, rel_err(buf + (ptr[p] - origin), want, sizes[p]));
            free(want);
        }
    }
    if (!mag) { /* the head: BERT's classifier; RoBERTa's and ESM's classifier.dense and .out_proj too */
        const bd_bert *m = &f->m;
        const int H = m->cfg.hidden, L = 3; /* loaded with 3 labels */
        const float *hp[4] = {m->pool_w, m->pool_b, m->cls_w, m->cls_b};
        const size_t sz[4] = {(size_t)H * H, (size_t)H, (size_t)L * H, (size_t)L};
        for (int k = f->t.head_dense ? 0 : 2; k < 4; k++) {
            snprintf(name, sizeof name, "base_model.model.%s%s", bd_bert_head_name(&m->cfg, k), suffix);
            double *want = ref_tensor(file, name, sz[k]);
            worst = fmax(worst, rel_err(buf + (hp[k] - f->t.dir.w), want, sz[k]));
            free(want);
        }
    }
    return worst;
}

static double norm_diff(const float *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s);
}

/* The exact h and g_direct for all magnitudes, concatenated in M's order. */
static double *mag_ref(fx *f, const char *file, const char *suffix) {
    double *out = malloc(sizeof(double) * f->t.mag.n);
    char base[200], name[256];
    for (int i = 0; i < f->t.n_ad; i++) {
        bd_adapted_linear *al = &f->t.ads[i];
        bd_peft_name(&f->t, i, "lora_magnitude_vector", base, sizeof base);
        snprintf(name, sizeof name, "%s%s", base, suffix);
        double *v = ref_tensor(file, name, (size_t)al->out);
        memcpy(out + (al->m - f->t.mag.w), v, sizeof(double) * (size_t)al->out);
        free(v);
    }
    return out;
}

static void test_iteration(void **state) {
    (void)state;
    fx f;
    setup(&f);
    bd_err e = {{0}};
    const size_t nv = f.t.dir.n, nm = f.t.mag.n;
    /* 1. lower step: CE + lambda R, SGD on V */
    double loss, R;
    if (bd_batch_loss(&f.bl, &f.lower, BD_GRADS_ALL, &loss, &e) || bd_orth_add(&f.bl, 1e-3, &R, &e)) fail_msg("%s", e.msg);
    double e_grad = cmp_group(&f, br("lower.safetensors"), f.t.dir.g, 0, ".grad");
    printf("%s lower: loss %.8f (ref %.8f), R %.8f (ref %.8f), dL/dV rel err %.2g\n", C->name, loss, scalar("loss_lower"), R,
           scalar("R"), e_grad);
    assert_true(fabs(loss - scalar("loss_lower")) < 1e-6);
    assert_true(fabs(R - scalar("R")) < 1e-5 * scalar("R"));
    assert_true(e_grad < 1e-3);
    bd_optim sgd_v, sgd_m;
    if (bd_optim_init(&sgd_v, BD_OPT_SGD, nv, 0, 0, 0, 0, &e) || bd_optim_init(&sgd_m, BD_OPT_SGD, nm, 0, 0, 0, 0, &e))
        fail_msg("%s", e.msg);
    float *m_before = malloc(sizeof(float) * nm);
    memcpy(m_before, f.t.mag.w, sizeof(float) * nm);
    bd_optim_step(&sgd_v, f.t.dir.w, f.t.dir.g, 0.05f);
    double e_vp = cmp_group(&f, br("lower.safetensors"), f.t.dir.w, 0, "");
    printf("V' rel err %.2g\n", e_vp);
    assert_true(e_vp < 1e-4);
    /* 2-5. the hypergradient at (V', M); V' must come back bit for bit */
    float *vp = malloc(sizeof(float) * nv), *h = malloc(sizeof(float) * nm);
    memcpy(vp, f.t.dir.w, sizeof(float) * nv);
    double vloss;
    if (bd_hypergrad(&f.bl, &f.lower, &f.upper, h, &vloss, &e)) fail_msg("%s", e.msg);
    assert_memory_equal(vp, f.t.dir.w, sizeof(float) * nv);
    assert_memory_equal(m_before, f.t.mag.w, sizeof(float) * nm);
    double e_v = cmp_group(&f, br("upper.safetensors"), f.bl.v, 0, ".v");
    double e_gd = cmp_group(&f, br("upper.safetensors"), f.bl.g_direct, 1, ".g_direct");
    double e_gp = cmp_group(&f, br("upper.safetensors"), f.bl.g_plus, 1, ".g_plus");
    double e_gm = cmp_group(&f, br("upper.safetensors"), f.t.mag.g, 1, ".g_minus");
    double e_h = cmp_group(&f, br("upper.safetensors"), h, 1, ".h");
    printf("upper: loss %.8f (ref %.8f), eps %.9g (ref %.9g); rel err v %.2g, g_direct %.2g, g+ %.2g, g- %.2g, h %.2g\n",
           vloss, scalar("loss_upper"), f.bl.last_eps, scalar("eps"), e_v, e_gd, e_gp, e_gm, e_h);
    assert_true(fabs(vloss - scalar("loss_upper")) < 1e-6);
    assert_true(fabs(f.bl.last_eps - scalar("eps")) < 1e-6 * scalar("eps"));
    assert_true(e_v < 1e-3 && e_gd < 1e-3 && e_gp < 1e-3 && e_gm < 1e-3 && e_h < 1e-3);
    /* against the exact hypergradient (double backward in float64) */
    double *hx = mag_ref(&f, br("upper.safetensors"), ".h_exact");
    double hn = 0;
    for (size_t i = 0; i < nm; i++) hn += hx[i] * hx[i];
    double rel_exact = norm_diff(h, hx, nm) / sqrt(hn);
    printf("||h - h_exact|| / ||h_exact|| = %.3g (default darts_alpha 0.01)\n", rel_exact);
    assert_true(rel_exact < 1e-2);
    /* 6. upper SGD step on M */
    bd_optim_step(&sgd_m, f.t.mag.w, h, 0.05f);
    double e_mp = cmp_group(&f, br("upper.safetensors"), f.t.mag.w, 1, "");
    printf("M' rel err %.2g\n", e_mp);
    assert_true(e_mp < 1e-4);
    free(hx); free(vp); free(h); free(m_before);
    bd_optim_free(&sgd_v);
    bd_optim_free(&sgd_m);
    teardown(&f);
}

/* The reference's lower step (SGD, lr 0.05, lambda 1e-3) from the fixed
 * adapter: the direction is then V', where the hypergradient is taken. */
static void lower_step(fx *f) {
    bd_err e = {{0}};
    bd_optim sgd;
    double loss, R;
    if (bd_optim_init(&sgd, BD_OPT_SGD, f->t.dir.n, 0, 0, 0, 0, &e)) fail_msg("%s", e.msg);
    if (bd_batch_loss(&f->bl, &f->lower, BD_GRADS_ALL, &loss, &e) || bd_orth_add(&f->bl, 1e-3, &R, &e))
        fail_msg("%s", e.msg);
    bd_optim_step(&sgd, f->t.dir.w, f->t.dir.g, 0.05f);
    bd_optim_free(&sgd);
}

/* rel_second_order of the reference's float64 finite difference at darts_alpha 1e-K (scalars.txt). */
static double ref_second_order(int k) {
    FILE *fp = fopen(br("scalars.txt"), "r");
    assert_non_null(fp);
    char line[512], want[40];
    snprintf(want, sizeof want, "fd f64 alpha 1e-%d ", k);
    double v = NAN;
    while (fgets(line, sizeof line, fp)) {
        const char *p = strstr(line, "rel_second_order ");
        if (!strncmp(line, want, strlen(want)) && p) v = atof(p + strlen("rel_second_order "));
    }
    fclose(fp);
    assert_false(isnan(v));
    return v;
}

/* The central difference converges to the exact hypergradient: its error
 * (relative to the second-order term) falls ~100x per 10x smaller step
 * until float32 rounding takes over (at 1e-3 on BERT and RoBERTa; on ESM-2,
 * whose second-order term is smaller next to the gradients, already there). */
static void test_convergence(void **state) {
    (void)state;
    fx f;
    setup(&f);
    bd_err e = {{0}};
    const size_t nm = f.t.mag.n;
    lower_step(&f);
    double *hx = mag_ref(&f, br("upper.safetensors"), ".h_exact");
    double *gd = mag_ref(&f, br("hyper_alpha.safetensors"), ".g_direct");
    double second = 0;
    for (size_t i = 0; i < nm; i++) second += (hx[i] - gd[i]) * (hx[i] - gd[i]);
    second = sqrt(second);
    const double alphas[4] = {1e-1, 1e-2, 1e-3, 1e-4};
    double err[4];
    float *h = malloc(sizeof(float) * nm);
    for (int k = 0; k < 4; k++) {
        f.bl.darts_alpha = alphas[k];
        double vl;
        if (bd_hypergrad(&f.bl, &f.lower, &f.upper, h, &vl, &e)) fail_msg("%s", e.msg);
        err[k] = norm_diff(h, hx, nm) / second;
        printf("%s darts_alpha %.0e: ||h - h_exact|| / ||xi H v|| = %.3g (reference, float64: %.3g)\n", C->name,
               alphas[k], err[k], ref_second_order(k + 1));
    }
    /* at 1e-1 the truncation error dominates: float32 or float64, the same number */
    assert_true(fabs(err[0] - ref_second_order(1)) < 2e-2 * ref_second_order(1));
    printf("ratios: %.0f, %.1f, %.1f\n", err[0] / err[1], err[1] / err[2], err[2] / err[3]);
    assert_true(err[0] / err[1] > 50 && err[0] / err[1] < 200); /* O(eps^2) */
    assert_true(err[1] < 1e-3);                                  /* the default step is accurate */
    /* ... and below 1e-3 float32 rounding (~ 1/eps) takes over: 10x worse per 10x smaller step */
    assert_true(err[3] / err[2] > 3 && err[3] / err[2] < 30);
    free(h); free(hx); free(gd);
    teardown(&f);
}

/* The dL/dM-only backward of the +-eps passes (BD_GRADS_MAG) gives the same
 * magnitude gradient, bit for bit, as the full backward, and computes no
 * direction or head gradient; it must not leave the adapters in that mode. */
static void test_mag_only(void **state) {
    (void)state;
    fx f;
    setup(&f);
    bd_err e = {{0}};
    const size_t nm = f.t.mag.n, nv = f.t.dir.n;
    double loss_all, loss_mag;
    if (bd_batch_loss(&f.bl, &f.lower, BD_GRADS_ALL, &loss_all, &e)) fail_msg("%s", e.msg);
    float *g_all = malloc(sizeof(float) * nm);
    memcpy(g_all, f.t.mag.g, sizeof(float) * nm);
    double dir_norm = 0;
    for (size_t i = 0; i < nv; i++) dir_norm += fabs(f.t.dir.g[i]);
    assert_true(dir_norm > 0);
    if (bd_batch_loss(&f.bl, &f.lower, BD_GRADS_MAG, &loss_mag, &e)) fail_msg("%s", e.msg);
    assert_true(loss_all == loss_mag);
    assert_memory_equal(g_all, f.t.mag.g, sizeof(float) * nm);
    for (size_t i = 0; i < nv; i++) assert_true(f.t.dir.g[i] == 0.0f);
    for (int i = 0; i < f.t.n_ad; i++) assert_int_equal(f.t.ads[i].mag_only, 0);
    free(g_all);
    teardown(&f);
}

/* hyper_batch_size: the +-eps passes on part of the lower batch estimate
 * the same second-order term xi H v from fewer rows. L_low is a mean over
 * rows (no batch statistics anywhere in BERT), so over a partition of b_t
 * into equal halves the halves' terms average to the whole batch's term,
 * up to float32 rounding of the finite difference; each half alone is a
 * different (noisier) sample of it. */
static void test_sub_batch(void **state) {
    (void)state;
    fx f;
    setup(&f);
    bd_err e = {{0}};
    const size_t nm = f.t.mag.n;
    double vl;
    lower_step(&f);
    float *h = malloc(sizeof(float) * nm * 3);
    bd_batch half[2] = {f.lower, f.lower};
    const int T = f.lower.T;
    for (int k = 0; k < 2; k++) {
        half[k].B = 4;
        half[k].ids += k * 4 * T; half[k].type_ids += k * 4 * T; half[k].mask += k * 4 * T; half[k].labels += k * 4;
    }
    if (bd_hypergrad(&f.bl, &f.lower, &f.upper, h, &vl, &e) || bd_hypergrad(&f.bl, &half[0], &f.upper, h + nm, &vl, &e) ||
        bd_hypergrad(&f.bl, &half[1], &f.upper, h + 2 * nm, &vl, &e)) fail_msg("%s", e.msg);
    /* second-order terms s = g_direct - h; g_direct (val batch) is the same in all three */
    double ss = 0, dmean = 0, dhalf = 0;
    for (size_t i = 0; i < nm; i++) {
        double g = f.bl.g_direct[i], s = g - h[i], sa = g - h[nm + i], sb = g - h[2 * nm + i];
        ss += s * s;
        dmean += ((sa + sb) / 2 - s) * ((sa + sb) / 2 - s);
        dhalf += (sa - s) * (sa - s);
    }
    double rmean = sqrt(dmean / ss), rhalf = sqrt(dhalf / ss);
    printf("second-order term: mean of the halves vs whole batch %.2e relative; one half vs whole batch %.2e\n",
           rmean, rhalf);
    assert_true(ss > 0);
    assert_true(rmean < 1e-3);
    assert_true(rhalf > 1e-2); /* a half is a different sample, not the same number */
    free(h);
    teardown(&f);
}

/* The trainer on a backend ("cpu", or "cuda": the CUDA backend in the SIMT simulator):
 * M moves only in upper steps, V only in lower ones; phase 2 freezes M and restarts V
 * from its initial values. bd_trainer_params downloads the host copies (on the CPU they
 * are the values themselves), so it is asked again after every step. */
static void run_invariants(const char *backend) {
    bd_err e = {{0}};
    bd_config c;
    bd_config_defaults(&c);
    char dir[] = "/tmp/bidora_invXXXXXX";
    assert_non_null(mkdtemp(dir));
    if (bd_config_load(&c, "configs/tiny.ini", &e) || bd_config_set(&c, "out_dir", dir, &e) ||
        bd_config_set(&c, "upper_every", "2", &e) || bd_config_set(&c, "max_steps", "4", &e) ||
        bd_config_set(&c, "retrain_steps", "3", &e) || bd_config_set(&c, "backend", backend, &e))
        fail_msg("%s", e.msg);
    long want_p1 = 4, want_total = 7;
#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer slows the simulator ~200x (20 s a lower step, 60 s an upper one): the
     * CUDA run there keeps one upper, one lower and one phase-2 step */
    if (!strcmp(backend, "cuda")) {
        if (bd_config_set(&c, "max_steps", "2", &e) || bd_config_set(&c, "retrain_steps", "1", &e))
            fail_msg("%s", e.msg);
        want_p1 = 2, want_total = 3;
    }
#endif
    if (bd_config_finish(&c, &e)) fail_msg("%s", e.msg);
    bd_channel ch;
    assert_int_equal(bd_channel_init(&ch), 0);
    bd_trainer *t;
    if (bd_trainer_open(&t, &c, NULL, &ch, &e)) fail_msg("%s: %s", backend, e.msg);
    long p1, total = bd_trainer_steps(t, &p1);
    assert_int_equal(p1, want_p1);
    assert_int_equal(total, want_total);
    const float *v, *m;
    size_t nv, nm;
    bd_trainer_params(t, &v, &nv, &m, &nm);
    assert_true(nv > 0 && nm > 0);
    float *v0 = malloc(sizeof(float) * nv), *vb = malloc(sizeof(float) * nv), *mb = malloc(sizeof(float) * nm);
    memcpy(v0, v, sizeof(float) * nv);
    for (long s = 0; s < total; s++) {
        memcpy(vb, v, sizeof(float) * nv);
        memcpy(mb, m, sizeof(float) * nm);
        if (bd_trainer_step(t, &e)) fail_msg("%s: %s", backend, e.msg);
        size_t nv2, nm2;
        bd_trainer_params(t, &v, &nv2, &m, &nm2);
        assert_int_equal(nv2, nv);
        assert_int_equal(nm2, nm);
        int v_moved = memcmp(vb, v, sizeof(float) * nv) != 0, m_moved = memcmp(mb, m, sizeof(float) * nm) != 0;
        int upper = s < p1 && s % 2 == 0;
        printf("%s step %ld (%s%s): V %s, M %s\n", backend, s, s < p1 ? "phase 1" : "phase 2", upper ? ", upper" : "",
               v_moved ? "moved" : "kept", m_moved ? "moved" : "kept");
        assert_true(v_moved);
        assert_int_equal(m_moved, upper);
        if (s == p1) {
            /* the first phase-2 step starts from V's initial values: one step from v0 */
            double d0 = 0, db = 0;
            for (size_t i = 0; i < nv; i++) { d0 += fabs(v[i] - v0[i]); db += fabs(v[i] - vb[i]); }
            assert_true(d0 < db);
        }
    }
    free(v0); free(vb); free(mb);
    /* the run trained where it was asked to (log.txt names the device) */
    char log[4200];
    snprintf(log, sizeof log, "%s/log.txt", bd_trainer_dir(t));
    bd_trainer_close(t);
    char *text = bd_read_file(log, NULL, &e);
    if (!text) fail_msg("%s", e.msg);
    const char *want = strcmp(backend, "cuda") ? "training on CPU" : "training on SIMT simulator";
    if (!strstr(text, want)) fail_msg("%s lacks \"%s\"", log, want);
    free(text);
    bd_channel_destroy(&ch);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_invariants(void **state) { (void)state; run_invariants("cpu"); }
static void test_invariants_cuda(void **state) { (void)state; run_invariants("cuda"); }

int main(void) {
    const struct CMUnitTest families[] = {
        cmocka_unit_test_setup(test_iteration, on_roberta),
        cmocka_unit_test_setup(test_convergence, on_roberta),
        cmocka_unit_test_setup(test_iteration, on_esm),
        cmocka_unit_test_setup(test_convergence, on_esm),
    };
    int rc = cmocka_run_group_tests_name("RoBERTa and ESM-2 (gen_bidora_family_ref.py)", families, NULL, NULL);
    on_bert(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_iteration, on_bert),
        cmocka_unit_test_setup(test_convergence, on_bert),
        cmocka_unit_test(test_mag_only),
        cmocka_unit_test(test_sub_batch),
        cmocka_unit_test(test_invariants),
        cmocka_unit_test(test_invariants_cuda),
    };
    return rc | cmocka_run_group_tests_name("BERT (gen_bidora_ref.py) and the trainer", tests, NULL, NULL);
}
