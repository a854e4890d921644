/* test_simt_ops3.cpp: the kernels of the backend ops that had none (kernels/vec.cu, the
 * DoRA backward pieces of kernels/dora.cu, kernels/orth.cu) in the SIMT simulator against
 * the CPU backend's functions (bd_backend_cpu()->NAME, src/backend/backend_cpu.c; the bias
 * gradient against its linear_bwd), on random inputs of several shapes.
 * Every kernel here claims bit for bit: each comparison is a memcmp per element (a NaN, a
 * -0.0 against +0.0, any differing bit fails) and prints its largest relative error:
 *   copy_rows, add_scaled, hyper_combine, bias_rows, bias_grad: bit for bit (max err 0)
 *   dora_z_recover (magnitudes with exact zeros, b NULL or not), dora_bwd_mag (z aliasing
 *     dl, dm NULL or not, N = 0), dora_u_rows (accumulate 0 over a NaN-filled dst, and 1):
 *     bit for bit
 *   rows_normalize (a zero row, cols = 0), rows_project (a zero norm), sub_identity: bit
 *     for bit (the row sums are sequential in double, as the CPU's)
 * The double sums' order hides in float results unless they cancel: z_recover and
 * rows_project each get crafted rows whose CPU sum depends on the column order.
 * One composite that is not the kernels' own: the backend's gram_minus_identity as a full
 * GEMM W W^T (OpenBLAS sgemm here, cuBLAS on the GPU) then sub_identity, against the
 * CPU's ssyrk + mirror: |d| <= 1e-6 * max(1, |ref|) (another GEMM's rounding). */
#include "simt.h"
#include "kernels.h"

extern "C" {
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cblas.h>
#include "backend.h"
}

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "simt_test.h"

static bd_backend *cpu(void) { return bd_backend_cpu(); }

/* Largest |got - ref| / max(1, |ref|), and the elements whose bits differ; fails above tol
 * (tol 0: bit for bit, any differing bit pattern fails, NaN included). */
static double compare(const char *what, const float *got, const float *ref, size_t n, double tol) {
    double worst = 0.0;
    size_t at = 0, differ = 0, first = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = std::fabs((double)got[i] - ref[i]) / std::fmax(1.0, std::fabs((double)ref[i]));
        if (!(d <= worst)) { worst = d; at = i; } /* NaN counts as worst */
        if (std::memcmp(&got[i], &ref[i], sizeof(float)) != 0) { if (!differ) first = i; differ++; }
    }
    std::printf("  %-40s n=%-7zu max err %.3g (tol %.0e), %zu differ in any bit\n", what, n, worst, tol, differ);
    if (tol == 0.0 && differ)
        fail_msg("%s: element %zu: got %.9g, want %.9g (%zu differ)", what, first, got[first], ref[first], differ);
    if (!(worst <= tol)) fail_msg("%s: element %zu: got %.9g, want %.9g", what, at, got[at], ref[at]);
    return worst;
}
static void same(const char *what, const float *got_dev, const vecf &ref) {
    compare(what, down(got_dev, ref.size()).data(), ref.data(), ref.size(), 0.0);
}

/* m: |randn| + 0.3 with exact zeros at every seventh entry from 1 (and entry 0 when
 * zero0) */
static vecf magnitudes(size_t n, uint64_t seed, bool zero0) {
    vecf m = randn(n, seed);
    for (size_t j = 0; j < n; j++) m[j] = (j % 7 == 1 || (zero0 && j == 0)) ? 0.0f : std::fabs(m[j]) + 0.3f;
    return m;
}
static vecf positive(size_t n, uint64_t seed) {
    vecf v = randn(n, seed);
    for (auto &x : v) x = std::fabs(x) + 0.5f;
    return v;
}

/* ---- vec.cu ---- */
static void check_copy_rows(int rows, int cols, size_t src_ld, size_t dst_ld, uint64_t seed) {
    const vecf src = randn((size_t)rows * src_ld, seed);
    vecf dst = randn((size_t)rows * dst_ld, seed + 1); /* the gaps between rows must survive */
    float *ds = up(src), *dd = up(dst);
    cpu()->copy_rows(cpu(), dst.data(), dst_ld, src.data(), src_ld, rows, cols);
    OK(bd_cu_copy_rows(dd, dst_ld, ds, src_ld, rows, cols, nullptr, &err));
    char what[80];
    std::snprintf(what, sizeof what, "copy_rows %dx%d ld %zu->%zu", rows, cols, src_ld, dst_ld);
    same(what, dd, dst);
    cudaFree(ds);
    cudaFree(dd);
}

static void check_add_scaled(size_t n, float a, bool in_place, uint64_t seed) {
    vecf x = randn(n, seed), y = randn(n, seed + 1, 3.0f), out = randn(n, seed + 2);
    float *dx = up(x), *dy = up(y), *dout = in_place ? dx : up(out);
    if (in_place) cpu()->add_scaled(cpu(), x.data(), x.data(), a, y.data(), n);
    else cpu()->add_scaled(cpu(), out.data(), x.data(), a, y.data(), n);
    OK(bd_cu_add_scaled(dout, dx, a, dy, n, nullptr, &err));
    char what[80];
    std::snprintf(what, sizeof what, "add_scaled n=%zu a=%g%s", n, a, in_place ? " out=x" : "");
    same(what, dout, in_place ? x : out);
    cudaFree(dx);
    cudaFree(dy);
    if (!in_place) cudaFree(dout);
}

static void check_hyper_combine(size_t n, double k, uint64_t seed) {
    vecf gd = randn(n, seed), gp = randn(n, seed + 1), gm = gp, h(n);
    const vecf dlt = randn(n, seed + 2, 1e-3f);
    for (size_t i = 0; i < n; i++) gm[i] += dlt[i]; /* gp - gm small: the difference in double matters */
    float *dgd = up(gd), *dgp = up(gp), *dgm = up(gm), *dh = up(vecf(n));
    cpu()->hyper_combine(cpu(), h.data(), gd.data(), gp.data(), gm.data(), k, n);
    OK(bd_cu_hyper_combine(dh, dgd, dgp, dgm, k, n, nullptr, &err));
    char what[80];
    std::snprintf(what, sizeof what, "hyper_combine n=%zu k=%g", n, k);
    same(what, dh, h);
    for (float *p : {dgd, dgp, dgm, dh}) cudaFree(p);
}

/* bias_rows, then the GEMM with beta 1 on its output: bd_linear_fwd's result */
static void check_bias_rows(int N, int IN, int OUT, uint64_t seed) {
    const vecf b = randn(OUT, seed), x = randn((size_t)N * IN, seed + 1), w = randn((size_t)OUT * IN, seed + 2);
    vecf rows((size_t)N * OUT), lin((size_t)N * OUT);
    for (int t = 0; t < N; t++) std::memcpy(&rows[(size_t)t * OUT], b.data(), sizeof(float) * OUT);
    float *db = up(b), *dout = up(randn((size_t)N * OUT, seed + 3));
    OK(bd_cu_bias_rows(dout, db, N, OUT, nullptr, &err));
    char what[80];
    std::snprintf(what, sizeof what, "bias_rows %dx%d", N, OUT);
    same(what, dout, rows);
    vecf y = down(dout, rows.size());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OUT, IN, 1.0f, x.data(), IN, w.data(), IN, 1.0f, y.data(),
                OUT);
    cpu()->linear_fwd(cpu(), lin.data(), x.data(), w.data(), b.data(), N, IN, OUT);
    std::snprintf(what, sizeof what, "bias_rows + gemm = linear_fwd %dx%d", N, OUT);
    compare(what, y.data(), lin.data(), lin.size(), 0.0);
    cudaFree(db);
    cudaFree(dout);
}

static void check_bias_grad(int N, int OUT, uint64_t seed) {
    const vecf dout = randn((size_t)N * OUT, seed);
    vecf db = randn(OUT, seed + 1); /* nonzero: accumulates */
    float *ddout = up(dout), *ddb = up(db);
    cpu()->linear_bwd(cpu(), nullptr, nullptr, db.data(), dout.data(), nullptr, nullptr, N, 1, OUT);
    OK(bd_cu_bias_grad(ddb, ddout, N, OUT, nullptr, &err));
    char what[80];
    std::snprintf(what, sizeof what, "bias_grad %dx%d", N, OUT);
    same(what, ddb, db);
    cudaFree(ddout);
    cudaFree(ddb);
}

static void test_vec(void **state) {
    (void)state;
    check_copy_rows(1, 1, 1, 1, 501);
    check_copy_rows(7, 33, 40, 50, 502);     /* strided both sides */
    check_copy_rows(13, 300, 300, 301, 503);
    check_copy_rows(5, 64, 96, 64, 504);     /* a column slice of src into a packed dst */
    for (size_t n : {(size_t)1, (size_t)31, (size_t)1000, (size_t)4099}) {
        check_add_scaled(n, 0.37f, false, 510 + n);
        check_add_scaled(n, -2.5f, true, 520 + n);
        check_hyper_combine(n, 0.123456789, 530 + n);
        check_hyper_combine(n, 3e-4, 540 + n);
    }
    check_add_scaled(77, 1.0f, false, 550);
    check_bias_rows(1, 1, 1, 560);
    check_bias_rows(7, 20, 33, 561);
    check_bias_rows(37, 48, 300, 562);
    check_bias_grad(1, 1, 570);
    check_bias_grad(37, 33, 571);
    check_bias_grad(200, 300, 572);
    check_bias_grad(5, 1000, 573);
    /* nothing to do: 0, no launch, no pointer touched */
    OK(bd_cu_copy_rows(nullptr, 4, nullptr, 4, 0, 4, nullptr, &err));
    OK(bd_cu_copy_rows(nullptr, 4, nullptr, 4, 3, 0, nullptr, &err));
    OK(bd_cu_add_scaled(nullptr, nullptr, 1.0f, nullptr, 0, nullptr, &err));
    OK(bd_cu_hyper_combine(nullptr, nullptr, nullptr, nullptr, 1.0, 0, nullptr, &err));
    OK(bd_cu_bias_rows(nullptr, nullptr, 0, 5, nullptr, &err));
    OK(bd_cu_bias_grad(nullptr, nullptr, 0, 5, nullptr, &err));
    OK(bd_cu_bias_grad(nullptr, nullptr, 5, 0, nullptr, &err));
}

/* ---- dora.cu: the backward's pieces ---- */
/* cancel: token 0's x is 2^20 at column 0, -2^20 at column q = 4 in / 7 and ~2^-20
 * elsewhere, and every W'_j is the same (2^20 + s B_j A_0) at both, so the CPU's
 * sequential sum is 2^40 + (the small products up to q, each under half an ulp of 2^40:
 * lost) - 2^40 + (the small products after q): another order of the columns (a tree,
 * reversed: tried) loses or keeps others and fails. */
static void check_z_recover(int N, int in, int out, int r, bool with_b, uint64_t seed, bool cancel = false) {
    const vecf y = randn((size_t)N * out, seed), b = randn(out, seed + 1), m = magnitudes(out, seed + 2, true),
               n = positive(out, seed + 3);
    vecf x = randn((size_t)N * in, seed + 4), w0 = randn((size_t)out * in, seed + 5, 0.2f),
         A = randn((size_t)r * in, seed + 6, 0.3f), B = randn((size_t)out * r, seed + 7, 0.3f);
    if (cancel) {
        const int q = 4 * in / 7;
        for (int i = 1; i < in; i++) x[i] = std::ldexp(x[i], -20);
        x[0] = std::ldexp(1.0f, 20);
        x[q] = -x[0];
        for (int j = 0; j < out; j++) w0[(size_t)j * in] = w0[(size_t)j * in + q] = x[0];
        for (int a = 0; a < r; a++) A[(size_t)a * in + q] = A[(size_t)a * in];
    }
    const float s = 1.7f;
    vecf z((size_t)N * out);
    float *dy = up(y), *db = with_b ? up(b) : nullptr, *dm = up(m), *dn = up(n), *dx = up(x), *dw0 = up(w0), *dA = up(A),
          *dB = up(B), *dz = up(vecf(z.size()));
    cpu()->dora_z_recover(cpu(), z.data(), y.data(), with_b ? b.data() : nullptr, m.data(), n.data(), x.data(), w0.data(),
                          A.data(), B.data(), s, N, in, out, r);
    OK(bd_cu_dora_z_recover(dz, dy, db, dm, dn, dx, dw0, dA, dB, s, N, in, out, r, nullptr, &err));
    char what[80];
    std::snprintf(what, sizeof what, "dora_z_recover N=%d in=%d out=%d r=%d%s%s", N, in, out, r, with_b ? "" : " b=NULL",
                  cancel ? " cancel" : "");
    same(what, dz, z);
    for (float *p : {dy, db, dm, dn, dx, dw0, dA, dB, dz}) if (p) cudaFree(p);
}

static void check_bwd_mag(int N, int out, bool alias, bool with_dm, uint64_t seed) {
    const vecf dy = randn((size_t)N * out, seed), m = magnitudes(out, seed + 1, false), n = positive(out, seed + 2);
    vecf z = randn((size_t)N * out, seed + 3), G = randn(out, seed + 4) /* overwritten */, dm = randn(out, seed + 5),
         dl = randn((size_t)N * out, seed + 6);
    float *ddy = up(dy), *dmm = up(m), *dn = up(n), *dz = up(z), *dG = up(G), *ddm = with_dm ? up(dm) : nullptr,
          *ddl = alias ? dz : up(dl);
    float *hl = alias ? z.data() : dl.data();
    cpu()->dora_bwd_mag(cpu(), G.data(), hl, with_dm ? dm.data() : nullptr, dy.data(), z.data(), m.data(), n.data(), N,
                        out);
    OK(bd_cu_dora_bwd_mag(dG, ddl, ddm, ddy, dz, dmm, dn, N, out, nullptr, &err));
    char what[80];
    const char *tag = alias ? " z=dl" : "";
    std::snprintf(what, sizeof what, "dora_bwd_mag G N=%d out=%d%s", N, out, tag);
    same(what, dG, G);
    std::snprintf(what, sizeof what, "dora_bwd_mag dl N=%d out=%d%s", N, out, tag);
    same(what, ddl, alias ? z : dl);
    if (with_dm) {
        std::snprintf(what, sizeof what, "dora_bwd_mag dm N=%d out=%d%s", N, out, tag);
        same(what, ddm, dm);
    }
    for (float *p : {ddy, dmm, dn, dz, dG, ddm}) if (p) cudaFree(p);
    if (!alias) cudaFree(ddl);
}

static void check_u_rows(int out, int r, float alpha, int accumulate, uint64_t seed) {
    const vecf src = randn((size_t)out * r, seed), G = randn(out, seed + 1), m = magnitudes(out, seed + 2, false),
               n = positive(out, seed + 3);
    vecf dst = randn((size_t)out * r, seed + 4);
    if (!accumulate) for (auto &v : dst) v = std::numeric_limits<float>::quiet_NaN(); /* must not be read */
    float *ds = up(src), *dG = up(G), *dm = up(m), *dn = up(n), *dd = up(dst);
    cpu()->dora_u_rows(cpu(), dst.data(), src.data(), G.data(), m.data(), n.data(), alpha, accumulate, out, r);
    OK(bd_cu_dora_u_rows(dd, ds, dG, dm, dn, alpha, accumulate, out, r, nullptr, &err));
    char what[80];
    std::snprintf(what, sizeof what, "dora_u_rows out=%d r=%d alpha=%g acc=%d", out, r, alpha, accumulate);
    same(what, dd, dst);
    for (float *p : {ds, dG, dm, dn, dd}) cudaFree(p);
}

static void test_dora_bwd(void **state) {
    (void)state;
    check_z_recover(7, 48, 40, 8, true, 601);
    check_z_recover(5, 300, 33, 16, false, 602); /* rows longer than a warp; b NULL */
    check_z_recover(1, 20, 9, 1, true, 603);     /* one token, rank 1 */
    check_z_recover(3, 33, 65, 4, true, 604);
    check_z_recover(2, 70, 9, 3, true, 605, true); /* pins the CPU's column order */
    for (bool alias : {false, true})
        for (bool with_dm : {false, true}) {
            check_bwd_mag(7, 40, alias, with_dm, 610 + alias * 2 + with_dm);
            check_bwd_mag(33, 300, alias, with_dm, 620 + alias * 2 + with_dm);
            check_bwd_mag(1, 1, alias, with_dm, 630 + alias * 2 + with_dm);
        }
    check_bwd_mag(0, 5, false, true, 640); /* no rows: G = 0, dm += 0 */
    for (int acc : {0, 1}) {
        check_u_rows(40, 8, 0.7f, acc, 650 + acc);
        check_u_rows(33, 16, -1.3f, acc, 652 + acc);
        check_u_rows(1, 1, 1.0f, acc, 654 + acc);
        check_u_rows(300, 33, 2.0f, acc, 656 + acc);
    }
    OK(bd_cu_dora_z_recover(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 1.0f, 0, 4,
                            4, 2, nullptr, &err));
    OK(bd_cu_dora_bwd_mag(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 3, 0, nullptr, &err));
    OK(bd_cu_dora_u_rows(nullptr, nullptr, nullptr, nullptr, nullptr, 1.0f, 1, 4, 0, nullptr, &err));
}

/* ---- orth.cu ---- */
static void check_orth(int rows, int cols, uint64_t seed) {
    vecf W = randn((size_t)rows * cols, seed), norms(rows);
    if (rows > 1 && cols > 0) std::memset(&W[(size_t)cols], 0, sizeof(float) * cols); /* a row of norm 0 */
    float *dW = up(W), *dnorms = up(vecf(rows));
    cpu()->rows_normalize(cpu(), W.data(), norms.data(), rows, cols);
    OK(bd_cu_rows_normalize(dW, dnorms, rows, cols, nullptr, &err));
    char what[80];
    std::snprintf(what, sizeof what, "rows_normalize W %dx%d", rows, cols);
    same(what, dW, W);
    std::snprintf(what, sizeof what, "rows_normalize norms %dx%d", rows, cols);
    same(what, dnorms, norms);
    if (cols == 0) { cudaFree(dW); cudaFree(dnorms); return; }
    /* project a gradient through it, from the CPU's U and norms (one of them 0) */
    vecf g = randn((size_t)rows * cols, seed + 1);
    float *dg = up(g), *dU = up(W), *dnc = up(norms);
    cpu()->rows_project(cpu(), g.data(), W.data(), norms.data(), rows, cols);
    OK(bd_cu_rows_project(dg, dU, dnc, rows, cols, nullptr, &err));
    std::snprintf(what, sizeof what, "rows_project %dx%d", rows, cols);
    same(what, dg, g);
    /* G = W W^T - I: the full GEMM the CUDA backend runs, then sub_identity */
    vecf Gf((size_t)rows * rows), Gc((size_t)rows * rows);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, rows, cols, 1.0f, W.data(), cols, W.data(), cols, 0.0f,
                Gf.data(), rows);
    float *dG = up(Gf);
    OK(bd_cu_sub_identity(dG, rows, nullptr, &err));
    vecf want = Gf;
    for (int i = 0; i < rows; i++) want[(size_t)i * rows + i] -= 1.0f;
    std::snprintf(what, sizeof what, "sub_identity %dx%d", rows, rows);
    same(what, dG, want);
    cpu()->gram_minus_identity(cpu(), Gc.data(), W.data(), rows, cols);
    std::snprintf(what, sizeof what, "sgemm+sub_identity vs gram %dx%d", rows, cols);
    compare(what, down(dG, Gc.size()).data(), Gc.data(), Gc.size(), 1e-6);
    for (float *p : {dW, dnorms, dg, dU, dnc, dG}) cudaFree(p);
}

/* The CPU's sequential order of the row sum, made visible in float: row j of dW . U is
 * 2^40 at column p_j, -2^40 at column q_j (in one round of 32 or across rounds) and
 * ~2^-20 products elsewhere, so the CPU's dot is exactly the sum of the small products
 * after q_j (the ones between p_j and q_j each lost under half an ulp of 2^40, the ones
 * before absorbed); summing in another order (a tree; a reversed round and per-round
 * partials: tried) keeps or loses others and fails. Pins bd_row_dot_seq, which rows_normalize
 * shares (a sum of squares cannot cancel, so its float results hide the order). */
static void check_project_cancel(void) {
    const int rows = 3, cols = 70, p[3] = {0, 5, 40}, q[3] = {50, 45, 66};
    vecf g = randn((size_t)rows * cols, 711, 1.0f / 1024), U = randn((size_t)rows * cols, 712, 1.0f / 1024);
    const vecf norms = positive(rows, 713);
    for (int j = 0; j < rows; j++) {
        float *gj = &g[(size_t)j * cols], *uj = &U[(size_t)j * cols];
        gj[p[j]] = uj[p[j]] = uj[q[j]] = std::ldexp(1.0f, 20);
        gj[q[j]] = -gj[p[j]];
    }
    float *dg = up(g), *dU = up(U), *dn = up(norms);
    cpu()->rows_project(cpu(), g.data(), U.data(), norms.data(), rows, cols);
    OK(bd_cu_rows_project(dg, dU, dn, rows, cols, nullptr, &err));
    same("rows_project cancelling rows 3x70", dg, g);
    for (float *d : {dg, dU, dn}) cudaFree(d);
}

static void test_orth(void **state) {
    (void)state;
    check_orth(1, 1, 701);
    check_orth(1, 300, 702);  /* one row */
    check_orth(40, 33, 703);  /* a column past a warp's round */
    check_orth(9, 1000, 704); /* more rows than a block's warps; long rows */
    check_orth(33, 31, 705);  /* shorter than a warp */
    check_orth(4, 0, 706);    /* no columns: every norm 0 */
    check_project_cancel();
    OK(bd_cu_rows_normalize(nullptr, nullptr, 0, 8, nullptr, &err));
    OK(bd_cu_rows_project(nullptr, nullptr, nullptr, 0, 8, nullptr, &err));
    OK(bd_cu_rows_project(nullptr, nullptr, nullptr, 8, 0, nullptr, &err));
    OK(bd_cu_sub_identity(nullptr, 0, nullptr, &err));
    assert_int_equal(simt::bytes_allocated(), 0); /* every test freed what it took */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vec),
        cmocka_unit_test(test_dora_bwd),
        cmocka_unit_test(test_orth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
