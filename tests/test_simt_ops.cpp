/* test_simt_ops.cpp: every kernel of kernels/ in the SIMT simulator against the CPU op
 * it ports (src/backend/ops.h, src/train/optim.c, src/model/model.c's dropout masks), on random inputs.
 * Each comparison prints its largest error; the bounds (the documented tolerances):
 *   elementwise GELU/ReLU/tanh, dropout, scale, axpy: |d| <= 1e-6 * max(1, |ref|)
 *   LayerNorm forward/backward, softmax and its backward (through the whole attention
 *     op, the matrix products done on the host as cuBLAS will do them):
 *     |d| <= 2e-5 * max(1, max |ref|) (float sums in the kernels, double on the CPU)
 *   dropout keep masks: identical, element by element, to bd_bert_forward's
 *   AdamW, SGD: bit for bit equal to bd_optim_step after 5 steps
 *   sum of squares: relative 1e-12 against bd_sumsq (both sum in double)
 * Backward kernels start from nonzero gradients, so "accumulates (+=)" is checked too. */
#include "simt.h"
#include "kernels.h"

extern "C" {
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cblas.h>
#include "model.h"
#include "ops.h"
#include "optim.h"
#include "parallel.h"
#include "rng.h"
}

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "simt_test.h"





/* Largest |got - ref| / max(1, |ref|) (per element, rel = 0) or over max(1, max |ref|)
 * (rel = 1, for sums whose small elements carry the rounding of large terms); fails
 * above tol. */
static double compare(const char *what, const float *got, const float *ref, size_t n, double tol, int rel = 0) {
    double worst = 0.0, refmax = 1.0;
    if (rel)
        for (size_t i = 0; i < n; i++) refmax = std::fmax(refmax, std::fabs((double)ref[i]));
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double den = rel ? refmax : std::fmax(1.0, std::fabs((double)ref[i]));
        double d = std::fabs((double)got[i] - ref[i]) / den;
        if (!(d <= worst)) { worst = d; at = i; } /* NaN counts as worst */
    }
    std::printf("  %-28s n=%-7zu max err %.3g (tol %.0e)\n", what, n, worst, tol);
    if (!(worst <= tol)) fail_msg("%s: element %zu: got %.9g, want %.9g", what, at, got[at], ref[at]);
    return worst;
}

/* ---- LayerNorm ---- */
static void check_layernorm(int N, int C, uint64_t seed) {
    vecf x = randn((size_t)N * C, seed, 2.0f), g = randn(C, seed + 1), b = randn(C, seed + 2);
    for (auto &v : x) v += 0.5f; /* a nonzero mean */
    vecf out(x.size()), mean(N), rstd(N);
    bd_layernorm_fwd(out.data(), mean.data(), rstd.data(), x.data(), g.data(), b.data(), N, C, 1e-12f);
    float *dx = up(x), *dg = up(g), *db = up(b), *dout = up(vecf(x.size())), *dm = up(vecf(N)), *dr = up(vecf(N));
    OK(bd_cu_layernorm_fwd(dout, dm, dr, dx, dg, db, N, C, 1e-12f, nullptr, &err));
    compare("layernorm_fwd out", down(dout, out.size()).data(), out.data(), out.size(), 2e-5);
    compare("layernorm_fwd mean", down(dm, N).data(), mean.data(), N, 2e-5);
    compare("layernorm_fwd rstd", down(dr, N).data(), rstd.data(), N, 2e-5);
    /* backward from the CPU's saved mean/rstd, into nonzero gradients */
    vecf go = randn(x.size(), seed + 3), dinp = randn(x.size(), seed + 4), dgg = randn(C, seed + 5), dbb = randn(C, seed + 6);
    float *dgo = up(go), *ddinp = up(dinp), *ddg = up(dgg), *ddb = up(dbb), *cm = up(mean), *cr = up(rstd);
    bd_layernorm_bwd(dinp.data(), dgg.data(), dbb.data(), go.data(), x.data(), g.data(), mean.data(), rstd.data(), N, C);
    OK(bd_cu_layernorm_bwd(ddinp, ddg, ddb, dgo, dx, dg, cm, cr, N, C, nullptr, &err));
    compare("layernorm_bwd dinp", down(ddinp, dinp.size()).data(), dinp.data(), dinp.size(), 2e-5, 1);
    compare("layernorm_bwd dg", down(ddg, C).data(), dgg.data(), C, 2e-5, 1);
    compare("layernorm_bwd db", down(ddb, C).data(), dbb.data(), C, 2e-5, 1);
    /* NULL gradients are skipped: dinp alone */
    vecf dinp2 = randn(x.size(), seed + 7);
    float *ddinp2 = up(dinp2);
    bd_layernorm_bwd(dinp2.data(), nullptr, nullptr, go.data(), x.data(), g.data(), mean.data(), rstd.data(), N, C);
    OK(bd_cu_layernorm_bwd(ddinp2, nullptr, nullptr, dgo, dx, dg, cm, cr, N, C, nullptr, &err));
    compare("layernorm_bwd dinp only", down(ddinp2, dinp2.size()).data(), dinp2.data(), dinp2.size(), 2e-5, 1);
    for (float *p : {dx, dg, db, dout, dm, dr, dgo, ddinp, ddg, ddb, cm, cr, ddinp2}) cudaFree(p);
}

static void test_layernorm(void **state) {
    (void)state;
    check_layernorm(9, 384, 11);  /* MiniLM's hidden size */
    check_layernorm(5, 100, 12);  /* fewer columns than threads */
    check_layernorm(3, 1000, 13); /* not a multiple of the block */
    /* a row over the shared-memory cache is refused, naming C */
    assert_int_equal(bd_cu_layernorm_fwd(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 2, 12001, 1e-12f,
                                         nullptr, &err), -1);
    assert_non_null(std::strstr(err.msg, "C = 12001"));
}

/* ---- activations ---- */
static void test_activations(void **state) {
    (void)state;
    const long n = 3001;
    vecf x = randn(n, 21, 3.0f), go = randn(n, 22);
    float *dx = up(x), *dgo = up(go);
    const char *names[] = {"gelu", "gelu_tanh", "relu"};
    for (int act = 0; act < 3; act++) {
        vecf out(n), dinp = randn(n, 23 + act);
        bd_act_fwd(out.data(), x.data(), n, (bd_act)act);
        float *dout = up(vecf(n)), *ddinp = up(dinp);
        OK(bd_cu_act_fwd(dout, dx, n, act, nullptr, &err));
        char what[64];
        std::snprintf(what, sizeof what, "act_fwd %s", names[act]);
        compare(what, down(dout, n).data(), out.data(), n, 1e-6);
        bd_act_bwd(dinp.data(), x.data(), go.data(), n, (bd_act)act);
        OK(bd_cu_act_bwd(ddinp, dx, dgo, n, act, nullptr, &err));
        std::snprintf(what, sizeof what, "act_bwd %s", names[act]);
        compare(what, down(ddinp, n).data(), dinp.data(), n, 1e-6);
        cudaFree(dout);
        cudaFree(ddinp);
    }
    vecf t(n), dt = randn(n, 30);
    bd_tanh_fwd(t.data(), x.data(), n);
    float *dtt = up(vecf(n)), *ddt = up(dt), *tout = up(t);
    OK(bd_cu_tanh_fwd(dtt, dx, n, nullptr, &err));
    compare("tanh_fwd", down(dtt, n).data(), t.data(), n, 1e-6);
    bd_tanh_bwd(dt.data(), t.data(), go.data(), n);
    OK(bd_cu_tanh_bwd(ddt, tout, dgo, n, nullptr, &err));
    compare("tanh_bwd", down(ddt, n).data(), dt.data(), n, 1e-6);
    assert_int_equal(bd_cu_act_fwd(dtt, dx, n, 7, nullptr, &err), -1);
    for (float *p : {dx, dgo, dtt, ddt, tout}) cudaFree(p);
}

/* ---- dropout masks: the same as bd_bert_forward draws ---- */
static void test_dropout_masks_match_model(void **state) {
    (void)state;
    bd_bert_config c;
    std::memset(&c, 0, sizeof c);
    std::strcpy(c.model_type, "bert");
    c.vocab_size = 40; c.hidden = 32; c.n_layers = 1; c.n_heads = 2; c.intermediate = 48;
    c.max_pos = 16; c.type_vocab = 2; c.pad_token_id = 0; c.ln_eps = 1e-12f;
    c.hidden_dropout = 0.1f; c.attn_dropout = 0.3f; c.classifier_dropout = 0.5f;
    c.initializer_range = 0.02f; c.act = BD_ACT_GELU;
    bd_bert m;
    bd_bert_acts a;
    OK(bd_bert_init_random(&m, &c, 2, 5, &err));
    const int B = 3, T = 11, H = 32, NH = 2, BT = B * T;
    OK(bd_bert_acts_alloc(&a, &m, B, T, 1, &err));
    std::vector<int32_t> ids(BT);
    vecf mask(BT, 1.0f);
    for (int i = 0; i < BT; i++) ids[i] = 1 + i % 37;
    bd_rng rng, replay;
    bd_rng_seed(&rng, 1234);
    replay = rng;
    bd_bert_forward(&m, &a, ids.data(), nullptr, mask.data(), B, T, &rng);
    /* the forward's draws, in its order (no adapters): embeddings, then layer 0's
     * attention probabilities, attention output, output; then the classifier */
    struct { const uint8_t *cpu; size_t n; float p; const char *what; } masks[] = {
        {a.emb_keep, (size_t)BT * H, c.hidden_dropout, "embeddings"},
        {a.layers[0].attn_keep, (size_t)B * NH * T * T, c.attn_dropout, "attention probs"},
        {a.layers[0].ao_keep, (size_t)BT * H, c.hidden_dropout, "attention output"},
        {a.layers[0].o_keep, (size_t)BT * H, c.hidden_dropout, "output"},
        {a.pooled_keep, (size_t)B * H, c.classifier_dropout, "classifier"},
    };
    for (auto &mk : masks) {
        const uint64_t seed = bd_rng_next(&replay);
        uint8_t *dk = nullptr;
        assert_int_equal(cudaMalloc(&dk, mk.n), cudaSuccess);
        OK(bd_cu_dropout_mask(dk, mk.n, seed, mk.p, nullptr, &err));
        std::vector<uint8_t> k = down(dk, mk.n);
        size_t kept = 0, differ = 0;
        for (size_t i = 0; i < mk.n; i++) { kept += k[i]; differ += k[i] != mk.cpu[i]; }
        std::printf("  dropout mask %-16s n=%-6zu p=%.1f kept %.3f, %zu differ\n", mk.what, mk.n, mk.p,
                    (double)kept / mk.n, differ);
        assert_int_equal(differ, 0);
        assert_true(kept > 0 && kept < mk.n);
        cudaFree(dk);
    }
    /* applying a mask: forward, and backward into nonzero gradients */
    const long n = (long)BT * H;
    vecf x = randn(n, 40), go = randn(n, 41), out(n), dinp = randn(n, 42);
    std::vector<uint8_t> keep(a.emb_keep, a.emb_keep + n);
    uint8_t *dkeep = up(keep);
    float *dx = up(x), *dgo = up(go), *dout = up(vecf(n)), *ddinp = up(dinp);
    bd_dropout_fwd(out.data(), x.data(), keep.data(), 0.1f, n);
    OK(bd_cu_dropout_fwd(dout, dx, dkeep, 0.1f, n, nullptr, &err));
    compare("dropout_fwd", down(dout, n).data(), out.data(), n, 1e-6);
    bd_dropout_bwd(dinp.data(), go.data(), keep.data(), 0.1f, n);
    OK(bd_cu_dropout_bwd(ddinp, dgo, dkeep, 0.1f, n, nullptr, &err));
    compare("dropout_bwd", down(ddinp, n).data(), dinp.data(), n, 1e-6);
    for (float *p : {dx, dgo, dout, ddinp}) cudaFree(p);
    cudaFree(dkeep);
    bd_bert_acts_free(&a);
    bd_bert_free(&m);
}

/* ---- the attention softmax, inside the whole attention op ---- */
/* Host GEMMs of one (b, h): what cuBLAS will compute around the kernels. */
static void test_attention_softmax(void **state) {
    (void)state;
    const int B = 3, T = 37, NH = 2, HD = 8, C = NH * HD;
    const size_t BTC = (size_t)B * T * C, P = (size_t)B * NH * T * T;
    const float scale = 1.0f / std::sqrt((float)HD), p = 0.2f;
    vecf q = randn(BTC, 51), k = randn(BTC, 52), v = randn(BTC, 53), dout = randn(BTC, 54);
    vecf mask((size_t)B * T, 1.0f);
    for (int t = 25; t < T; t++) mask[(size_t)1 * T + t] = 0.0f; /* sequence 1 padded */
    for (int t = 0; t < T; t++) mask[(size_t)2 * T + t] = 0.0f;  /* sequence 2 all padding */
    /* keep mask from the kernel, used by both sides */
    uint8_t *dkeep = nullptr;
    assert_int_equal(cudaMalloc(&dkeep, P), cudaSuccess);
    OK(bd_cu_dropout_mask(dkeep, P, 99, p, nullptr, &err));
    std::vector<uint8_t> keep = down(dkeep, P);
    /* the CPU op */
    vecf out(BTC), probs(P), probs_d(P), dq(BTC), dk(BTC), dv(BTC);
    vecf scratch((size_t)T * T * bd_nthreads());
    bd_attention_fwd(out.data(), probs.data(), probs_d.data(), q.data(), k.data(), v.data(), mask.data(),
                     keep.data(), p, B, T, NH, HD);
    bd_attention_bwd(dq.data(), dk.data(), dv.data(), dout.data(), probs.data(), probs_d.data(), keep.data(), p,
                     q.data(), k.data(), v.data(), scratch.data(), B, T, NH, HD);
    /* the same op with the kernels: S = scale q k^T on the host, softmax, dropout */
    vecf S(P);
    for (int bh = 0; bh < B * NH; bh++) {
        const size_t off = (size_t)(bh / NH) * T * C + (size_t)(bh % NH) * HD;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, HD, scale, q.data() + off, C, k.data() + off, C,
                    0.0f, S.data() + (size_t)bh * T * T, T);
    }
    float *dS = up(S), *dmask = up(mask), *dPd = up(vecf(P));
    OK(bd_cu_softmax_fwd(dS, dmask, B, NH, T, nullptr, &err));
    vecf gotP = down(dS, P);
    compare("softmax_fwd probs", gotP.data(), probs.data(), P, 2e-5);
    OK(bd_cu_dropout_fwd(dPd, dS, dkeep, p, (long)P, nullptr, &err));
    compare("attention dropout probs_d", down(dPd, P).data(), probs_d.data(), P, 2e-5);
    /* backward: dP = dout v^T (host), through dropout and the softmax (kernels), then
     * dq = dS k, dk = dS^T q (host) */
    vecf dP(P);
    for (int bh = 0; bh < B * NH; bh++) {
        const size_t off = (size_t)(bh / NH) * T * C + (size_t)(bh % NH) * HD;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, HD, 1.0f, dout.data() + off, C, v.data() + off, C,
                    0.0f, dP.data() + (size_t)bh * T * T, T);
    }
    float *ddP = up(dP), *dprobs = up(probs);
    OK(bd_cu_dropout_fwd(ddP, ddP, dkeep, p, (long)P, nullptr, &err)); /* in place, as the CPU */
    OK(bd_cu_softmax_bwd(ddP, dprobs, (long)B * NH * T, T, scale, nullptr, &err));
    vecf dSh = down(ddP, P), gq(BTC), gk(BTC);
    for (int bh = 0; bh < B * NH; bh++) {
        const size_t off = (size_t)(bh / NH) * T * C + (size_t)(bh % NH) * HD;
        const float *ds = dSh.data() + (size_t)bh * T * T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, HD, T, 1.0f, ds, T, k.data() + off, C, 1.0f,
                    gq.data() + off, C);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, HD, T, 1.0f, ds, T, q.data() + off, C, 1.0f,
                    gk.data() + off, C);
    }
    compare("softmax_bwd -> dq", gq.data(), dq.data(), BTC, 2e-5, 1);
    compare("softmax_bwd -> dk", gk.data(), dk.data(), BTC, 2e-5, 1);
    /* a fully padded sequence's rows are uniform, as in transformers */
    for (int j = 0; j < T; j++) assert_true(std::fabs(gotP[(size_t)(2 * NH) * T * T + j] - 1.0f / T) < 1e-6f);
    for (float *f : {dS, dmask, dPd, ddP, dprobs}) cudaFree(f);
    cudaFree(dkeep);
}

/* ---- optimizers ---- */
static void test_adamw_sgd(void **state) {
    (void)state;
    const size_t n = 5003;
    for (int kind = 0; kind < 2; kind++) {
        bd_optim o;
        OK(bd_optim_init(&o, kind == 0 ? BD_OPT_ADAMW : BD_OPT_SGD, n, 0.9f, 0.999f, 1e-8f, 0.01f, &err));
        vecf w = randn(n, 61), zero(n, 0.0f);
        float *dw = up(w), *dm1 = up(zero), *dm2 = up(zero), *dg = up(zero);
        for (int step = 1; step <= 5; step++) {
            vecf g = randn(n, 70 + step, 0.1f * step);
            const float lr = 1e-3f * step;
            assert_int_equal(cudaMemcpy(dg, g.data(), n * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
            bd_optim_step(&o, w.data(), g.data(), lr);
            if (kind == 0) OK(bd_cu_adamw_step(dw, dg, dm1, dm2, n, step, lr, 0.9f, 0.999f, 1e-8f, 0.01f, nullptr, &err));
            else OK(bd_cu_sgd_step(dw, dg, n, lr, 0.01f, nullptr, &err));
        }
        vecf gw = down(dw, n);
        size_t differ = 0;
        for (size_t i = 0; i < n; i++) differ += std::memcmp(&gw[i], &w[i], sizeof(float)) != 0;
        if (kind == 0) {
            vecf m1 = down(dm1, n), m2 = down(dm2, n);
            for (size_t i = 0; i < n; i++)
                differ += std::memcmp(&m1[i], &o.m1[i], sizeof(float)) != 0 || std::memcmp(&m2[i], &o.m2[i], sizeof(float)) != 0;
        }
        std::printf("  %-28s n=%-7zu 5 steps: %zu values differ in any bit\n", kind == 0 ? "adamw (w, m1, m2)" : "sgd (w)", n, differ);
        assert_int_equal(differ, 0);
        for (float *f : {dw, dm1, dm2, dg}) cudaFree(f);
        bd_optim_free(&o);
    }
    assert_int_equal(bd_cu_adamw_step(nullptr, nullptr, nullptr, nullptr, 1, 0, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, nullptr, &err), -1);
}

/* ---- reductions and vector ops ---- */
static void test_sumsq_scale_axpy(void **state) {
    (void)state;
    double *acc = nullptr, *scratch = nullptr;
    assert_int_equal(cudaMalloc(&acc, sizeof(double)), cudaSuccess);
    assert_int_equal(cudaMalloc(&scratch, BD_CU_SUMSQ_SCRATCH * sizeof(double)), cudaSuccess);
    const double start = 1.5;
    assert_int_equal(cudaMemcpy(acc, &start, sizeof start, cudaMemcpyHostToDevice), cudaSuccess);
    double want = start;
    for (size_t n : {(size_t)1, (size_t)255, (size_t)30001}) { /* accumulate over groups */
        vecf x = randn(n, 80 + n);
        float *dx = up(x);
        want += bd_sumsq(x.data(), n);
        OK(bd_cu_sumsq(acc, dx, n, scratch, nullptr, &err));
        cudaFree(dx);
    }
    const double got = down(acc, 1)[0], rel = std::fabs(got - want) / want;
    std::printf("  %-28s 3 groups: %.17g vs %.17g, rel err %.3g (tol 1e-12)\n", "sumsq", got, want, rel);
    assert_true(rel <= 1e-12);
    const size_t n = 10007;
    vecf x = randn(n, 90), y = randn(n, 91), ys = y;
    float *dx = up(x), *dy = up(y);
    bd_scale(ys.data(), n, 0.37f);
    OK(bd_cu_scale(dy, n, 0.37f, nullptr, &err));
    compare("scale", down(dy, n).data(), ys.data(), n, 1e-6);
    for (size_t i = 0; i < n; i++) ys[i] += -1.25f * x[i];
    OK(bd_cu_axpy(dy, dx, n, -1.25f, nullptr, &err));
    compare("axpy", down(dy, n).data(), ys.data(), n, 1e-6);
    for (float *f : {dx, dy}) cudaFree(f);
    cudaFree(acc);
    cudaFree(scratch);
    assert_int_equal(simt::bytes_allocated(), 0); /* every test freed what it took */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layernorm),   cmocka_unit_test(test_activations),
        cmocka_unit_test(test_dropout_masks_match_model), cmocka_unit_test(test_attention_softmax),
        cmocka_unit_test(test_adamw_sgd),   cmocka_unit_test(test_sumsq_scale_axpy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
