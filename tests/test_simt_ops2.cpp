/* test_simt_ops2.cpp: the embeddings and loss kernels of kernels/ (embed.cu, loss.cu) in
 * the SIMT simulator against the CPU ops they port (src/backend/ops.h), on random inputs.
 * Each comparison prints its largest error; the bounds (the documented tolerances):
 *   embeddings forward and backward (the scatter-add, repeated ids, types and positions):
 *     bit for bit (max err 0): the same float additions in the CPU's order
 *   cross-entropy probs: |d| <= 1e-6 * max(1, |ref|) (double exp/log on both sides);
 *   cross-entropy and MSE mean losses: relative 1e-6 (double sums, another order)
 *   cross-entropy and MSE backward: bit for bit (round-to-nearest intrinsics)
 *   DoRA ||W0_j||^2: |d| <= 1e-7 * max(1, |ref|) (double sums, another order);
 *   DoRA row norms and the magnitude scaling (through bd_adapted_fwd, with and without
 *     dropout, the matrix products done on the host as cuBLAS will do them): bit for bit
 * Backward kernels start from nonzero gradients, so "accumulates (+=)" is checked too. */
#include "simt.h"
#include "kernels.h"

extern "C" {
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cblas.h>
#include "adapter.h"
#include "ops.h"
#include "rng.h"
}

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "simt_test.h"

typedef std::vector<int32_t> veci;


/* n ids in [0, k), about a third of them 0 (a padding id that repeats) */
static veci randids(size_t n, uint64_t seed, int k) {
    bd_rng r;
    bd_rng_seed(&r, seed);
    veci v(n);
    for (auto &x : v) x = (bd_rng_next(&r) % 3 == 0) ? 0 : (int32_t)(bd_rng_next(&r) % (uint64_t)k);
    return v;
}



/* Largest |got - ref| / max(1, |ref|); fails above tol (tol 0: bit for bit, any
 * differing bit pattern fails, NaN included). */
static double compare(const char *what, const float *got, const float *ref, size_t n, double tol) {
    double worst = 0.0;
    size_t at = 0, differ = 0;
    for (size_t i = 0; i < n; i++) {
        double d = std::fabs((double)got[i] - ref[i]) / std::fmax(1.0, std::fabs((double)ref[i]));
        if (!(d <= worst)) { worst = d; at = i; } /* NaN counts as worst */
        if (std::memcmp(&got[i], &ref[i], sizeof(float)) != 0) { if (!differ) at = tol == 0.0 ? i : at; differ++; }
    }
    std::printf("  %-30s n=%-7zu max err %.3g (tol %.0e), %zu differ in any bit\n", what, n, worst, tol, differ);
    if (!(worst <= tol) || (tol == 0.0 && differ))
        fail_msg("%s: element %zu: got %.9g, want %.9g", what, at, got[at], ref[at]);
    return worst;
}

static void compare_scalar(const char *what, float got, float want, double tol) {
    const double rel = std::fabs((double)got - want) / std::fmax(1e-30, std::fabs((double)want));
    std::printf("  %-30s %.9g vs %.9g, rel err %.3g (tol %.0e)\n", what, got, want, rel, tol);
    if (!(rel <= tol)) fail_msg("%s: got %.9g, want %.9g", what, got, want);
}

/* ---- embeddings ---- */
static void check_embed(int B, int T, int C, int V, int NT, bool with_types, uint64_t seed) {
    const int BT = B * T;
    vecf word = randn((size_t)V * C, seed), pos = randn((size_t)T * C, seed + 1), type = randn((size_t)NT * C, seed + 2);
    veci ids = randids(BT, seed + 3, V), tids = randids(BT, seed + 4, NT);
    const int32_t *ht = with_types ? tids.data() : nullptr;
    vecf out((size_t)BT * C);
    bd_embed_fwd(out.data(), ids.data(), ht, word.data(), pos.data(), type.data(), B, T, C);
    float *dw = up(word), *dp = up(pos), *dt = up(type), *dout = up(vecf(out.size()));
    int32_t *di = up(ids), *dti = with_types ? up(tids) : nullptr, *scratch = nullptr;
    assert_int_equal(cudaMalloc(&scratch, BD_CU_EMBED_SCRATCH(B, T) * sizeof(int32_t)), cudaSuccess);
    char what[80];
    std::snprintf(what, sizeof what, "embed_fwd C=%d%s", C, with_types ? "" : " no types");
    OK(bd_cu_embed_fwd(dout, di, dti, dw, dp, dt, B, T, C, nullptr, &err));
    compare(what, down(dout, out.size()).data(), out.data(), out.size(), 0.0);
    /* backward into nonzero gradients: all three tables, then dword alone */
    vecf go = randn(out.size(), seed + 5), gw = randn(word.size(), seed + 6), gp = randn(pos.size(), seed + 7),
         gt = randn(type.size(), seed + 8);
    float *dgo = up(go), *dgw = up(gw), *dgp = up(gp), *dgt = up(gt);
    bd_embed_bwd(gw.data(), gp.data(), gt.data(), go.data(), ids.data(), ht, B, T, C);
    OK(bd_cu_embed_bwd(dgw, dgp, dgt, dgo, di, dti, B, T, C, scratch, nullptr, &err));
    std::snprintf(what, sizeof what, "embed_bwd dword C=%d", C);
    compare(what, down(dgw, gw.size()).data(), gw.data(), gw.size(), 0.0);
    std::snprintf(what, sizeof what, "embed_bwd dpos C=%d", C);
    compare(what, down(dgp, gp.size()).data(), gp.data(), gp.size(), 0.0);
    std::snprintf(what, sizeof what, "embed_bwd dtype C=%d%s", C, with_types ? "" : " no types");
    compare(what, down(dgt, gt.size()).data(), gt.data(), gt.size(), 0.0);
    vecf gw2 = randn(word.size(), seed + 9);
    float *dgw2 = up(gw2);
    bd_embed_bwd(gw2.data(), nullptr, nullptr, go.data(), ids.data(), ht, B, T, C);
    OK(bd_cu_embed_bwd(dgw2, nullptr, nullptr, dgo, di, dti, B, T, C, scratch, nullptr, &err));
    std::snprintf(what, sizeof what, "embed_bwd dword only C=%d", C);
    compare(what, down(dgw2, gw2.size()).data(), gw2.data(), gw2.size(), 0.0);
    for (float *p : {dw, dp, dt, dout, dgo, dgw, dgp, dgt, dgw2}) cudaFree(p);
    for (int32_t *p : {di, dti, scratch}) if (p) cudaFree(p);
}

static void test_embed(void **state) {
    (void)state;
    check_embed(3, 13, 96, 11, 2, true, 101);   /* repeated ids, two token types */
    check_embed(2, 9, 300, 40, 2, false, 102);  /* more columns than threads; type_ids NULL */
    check_embed(1, 1, 5, 3, 1, true, 103);      /* one token */
}

/* ---- cross-entropy ---- */
static void check_xent(int B, int L, float zscale, uint64_t seed) {
    vecf z = randn((size_t)B * L, seed, zscale), probs(z.size());
    bd_rng r;
    bd_rng_seed(&r, seed + 1);
    veci lab(B);
    for (auto &l : lab) l = (int32_t)(bd_rng_next(&r) % (uint64_t)L);
    const float loss = bd_xent_fwd(probs.data(), z.data(), lab.data(), B, L);
    float *dz = up(z), *dp = up(vecf(z.size())), *dl = up(vecf(1));
    int32_t *dlab = up(lab);
    double *scratch = nullptr;
    assert_int_equal(cudaMalloc(&scratch, (size_t)B * sizeof(double)), cudaSuccess);
    OK(bd_cu_xent_fwd(dl, dp, dz, dlab, B, L, scratch, nullptr, &err));
    char what[80];
    std::snprintf(what, sizeof what, "xent_fwd probs B=%d L=%d", B, L);
    compare(what, down(dp, probs.size()).data(), probs.data(), probs.size(), 1e-6);
    std::snprintf(what, sizeof what, "xent_fwd loss B=%d L=%d", B, L);
    compare_scalar(what, down(dl, 1)[0], loss, 1e-6);
    /* backward from the CPU's probs, into nonzero gradients, scale 0.7 */
    vecf g = randn(z.size(), seed + 2);
    float *dg = up(g), *cp = up(probs);
    bd_xent_bwd(g.data(), probs.data(), lab.data(), B, L, 0.7f);
    OK(bd_cu_xent_bwd(dg, cp, dlab, B, L, 0.7f, nullptr, &err));
    std::snprintf(what, sizeof what, "xent_bwd dlogits B=%d L=%d", B, L);
    compare(what, down(dg, g.size()).data(), g.data(), g.size(), 0.0);
    OK(bd_cu_xent_bwd(nullptr, cp, dlab, B, L, 0.7f, nullptr, &err)); /* NULL: skipped */
    for (float *p : {dz, dp, dl, dg, cp}) cudaFree(p);
    cudaFree(dlab);
    cudaFree(scratch);
}

static void test_xent(void **state) {
    (void)state;
    check_xent(37, 3, 3.0f, 201);  /* classification: fewer labels than lanes */
    check_xent(5, 70, 10.0f, 202); /* a row over the warp, large logits */
    check_xent(1, 1, 1.0f, 203);   /* one row, one label: loss 0 */
    assert_int_equal(bd_cu_xent_fwd(nullptr, nullptr, nullptr, nullptr, 0, 3, nullptr, nullptr, &err), -1);
    assert_non_null(std::strstr(err.msg, "B = 0"));
}

/* ---- DoRA row norms and magnitude scaling, against bd_adapted_fwd ---- */
static void check_dora(int N, int in, int out, int r, bool drop, uint64_t seed) {
    vecf w0 = randn((size_t)out * in, seed, 0.2f), bias = randn(out, seed + 1), A = randn((size_t)r * in, seed + 2, 0.3f),
         Bm = randn((size_t)out * r, seed + 3, 0.3f), m = randn(out, seed + 4), x = randn((size_t)N * in, seed + 5);
    for (auto &v : m) v = std::fabs(v) + 0.5f;
    m[1] = 0.0f; /* a zeroed magnitude */
    vecf sq(out), xa((size_t)N * r), z((size_t)N * out), xtw0((size_t)N * out), w0a((size_t)out * r), aat((size_t)r * r),
         nn(out), xt((size_t)N * in), y((size_t)N * out);
    std::vector<uint8_t> keep((size_t)N * in);
    bd_rng rg;
    bd_rng_seed(&rg, seed + 6);
    for (auto &k : keep) k = bd_rng_next(&rg) % 5 != 0;
    bd_adapted_linear al;
    std::memset(&al, 0, sizeof al);
    al.kind = BD_ADAPTER_DORA; al.in = in; al.out = out; al.r = r; al.s = 1.7f; al.p_drop = drop ? 0.2f : 0.0f;
    al.w0 = w0.data(); al.b = bias.data(); al.A = A.data(); al.B = Bm.data(); al.m = m.data(); al.w0_sqnorm = sq.data();
    bd_adapter_cache c;
    std::memset(&c, 0, sizeof c);
    c.xt = xt.data(); c.xa = xa.data(); c.z = drop ? z.data() : nullptr; c.xtw0 = xtw0.data(); c.w0a = w0a.data();
    c.aat = aat.data(); c.n = nn.data();
    bd_adapter_init_norms(&al);
    bd_adapted_fwd(&al, &c, y.data(), x.data(), drop ? keep.data() : nullptr, N);
    /* the kernels: ||W0_j||^2, the norms from the CPU's products (cuBLAS's part) */
    float *dw0 = up(w0), *dsq = up(vecf(out)), *dB = up(Bm), *dw0a = up(w0a), *daat = up(aat), *dn = up(vecf(out)),
          *dm = up(m), *db = up(bias), *csq = up(sq);
    OK(bd_cu_dora_init_norms(dsq, dw0, out, in, nullptr, &err));
    char what[80];
    std::snprintf(what, sizeof what, "dora ||W0_j||^2 out=%d in=%d", out, in);
    compare(what, down(dsq, out).data(), sq.data(), out, 1e-7);
    OK(bd_cu_dora_row_norms(dn, csq, dB, dw0a, daat, al.s, out, r, nullptr, &err));
    std::snprintf(what, sizeof what, "dora row norms out=%d r=%d", out, r);
    compare(what, down(dn, out).data(), nn.data(), out, 0.0);
    /* the host products of bd_adapted_fwd, then the scaling kernel */
    vecf yk((size_t)N * out), zk((size_t)N * out), lin((size_t)N * out);
    bd_linear_fwd(yk.data(), x.data(), w0.data(), bias.data(), N, in, out);
    float *dy = nullptr, *dz = nullptr, *dlin = nullptr;
    if (!drop) { /* z = y - b + s xa B^T in place, y = c z + b */
        for (int t = 0; t < N; t++)
            for (int j = 0; j < out; j++) yk[(size_t)t * out + j] -= bias[j];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, r, al.s, xa.data(), r, Bm.data(), r, 1.0f,
                    yk.data(), out);
        dy = up(yk);
        OK(bd_cu_dora_scale(dy, dy, dm, dn, db, nullptr, N, out, nullptr, &err));
    } else { /* z = xt W0^T + s xa B^T, lin = xt W0^T, y += c z - lin */
        bd_linear_fwd(lin.data(), xt.data(), w0.data(), nullptr, N, in, out);
        zk = lin;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, r, al.s, xa.data(), r, Bm.data(), r, 1.0f,
                    zk.data(), out);
        dy = up(yk); dz = up(zk); dlin = up(lin);
        OK(bd_cu_dora_scale(dy, dz, dm, dn, db, dlin, N, out, nullptr, &err));
    }
    std::snprintf(what, sizeof what, "dora scale -> y N=%d%s", N, drop ? " dropout" : "");
    compare(what, down(dy, y.size()).data(), y.data(), y.size(), 0.0);
    for (float *p : {dw0, dsq, dB, dw0a, daat, dn, dm, db, csq, dy, dz, dlin}) if (p) cudaFree(p);
}

static void test_dora(void **state) {
    (void)state;
    check_dora(7, 48, 40, 8, false, 401);
    check_dora(5, 300, 33, 16, true, 402); /* a row longer than the block; dropout */
    check_dora(3, 20, 9, 1, false, 403);   /* rank 1 */
}

/* ---- mean squared error ---- */
static void test_mse(void **state) {
    (void)state;
    for (int B : {1, 37, 1000}) {
        vecf pred = randn(B, 300 + B), tgt = randn(B, 301 + B, 2.0f), g = randn(B, 302 + B);
        const float loss = bd_mse_fwd(pred.data(), tgt.data(), B);
        float *dp = up(pred), *dt = up(tgt), *dl = up(vecf(1)), *dg = up(g);
        OK(bd_cu_mse_fwd(dl, dp, dt, B, nullptr, &err));
        char what[80];
        std::snprintf(what, sizeof what, "mse_fwd loss B=%d", B);
        compare_scalar(what, down(dl, 1)[0], loss, 1e-6);
        bd_mse_bwd(g.data(), pred.data(), tgt.data(), B, 0.3f);
        OK(bd_cu_mse_bwd(dg, dp, dt, B, 0.3f, nullptr, &err));
        std::snprintf(what, sizeof what, "mse_bwd dpred B=%d", B);
        compare(what, down(dg, B).data(), g.data(), B, 0.0);
        for (float *p : {dp, dt, dl, dg}) cudaFree(p);
    }
    assert_int_equal(bd_cu_mse_fwd(nullptr, nullptr, nullptr, 0, nullptr, &err), -1);
    assert_int_equal(simt::bytes_allocated(), 0); /* every test freed what it took */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed),
        cmocka_unit_test(test_xent),
        cmocka_unit_test(test_dora),
        cmocka_unit_test(test_mse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
