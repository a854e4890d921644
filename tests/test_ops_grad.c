/* test_ops_grad.c: every backward op of ops_cpu_bwd.c against central finite
 * differences of a DOUBLE-precision reference forward written here, on small
 * shapes. The scalar loss is L = sum(out * R) with a fixed random R, so the
 * analytic gradient is the op's backward given dout = R. Also: each float
 * forward against its double reference, the += accumulation contract, and
 * NULL gradients being skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "parallel.h"
#include "rng.h"


/* A float32 analytic gradient passes when |a - b| <= GRAD_ATOL + GRAD_RTOL |b|
 * for every element (b: the double finite difference, accurate to ~1e-9). */
#define GRAD_ATOL 1e-5
#define GRAD_RTOL 1e-4
/* A float forward passes when |a - b| <= FWD_RTOL * max(1, |b|). */
#define FWD_RTOL 1e-5
#define FD_STEP 1e-6

/* ---- helpers ---------------------------------------------------------------- */

static float *alloc_f(long n) {
    float *p = calloc((size_t)n, sizeof(float));
    assert_non_null(p);
    return p;
}

static double *alloc_d(long n) {
    double *p = calloc((size_t)n, sizeof(double));
    assert_non_null(p);
    return p;
}

static float *randn_f(bd_rng *r, long n, float sd) {
    float *p = alloc_f(n);
    for (long i = 0; i < n; i++) p[i] = sd * bd_rng_normal(r);
    return p;
}

static double *to_double(const float *x, long n) {
    double *d = alloc_d(n);
    for (long i = 0; i < n; i++) d[i] = x[i];
    return d;
}

static float *copy_f(const float *x, long n) {
    float *p = alloc_f(n);
    memcpy(p, x, sizeof(float) * (size_t)n);
    return p;
}

static double dot_d(const double *a, const double *b, long n) {
    double s = 0.0;
    for (long i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

typedef double (*loss_fn)(void *ctx);

/* g[n] = dL/dx by central differences, perturbing x (which the loss reads) in place. */
static void fd_grad(double *g, double *x, long n, loss_fn loss, void *ctx) {
    for (long i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + FD_STEP;
        double lp = loss(ctx);
        x[i] = x0 - FD_STEP;
        double lm = loss(ctx);
        x[i] = x0;
        g[i] = (lp - lm) / (2.0 * FD_STEP);
    }
}

/* Compare the analytic a[n] with the finite difference b[n]; prints the worst
 * errors and fails the test if any element is out of tolerance. */
static void check_grad(const char *what, const float *a, const double *b, long n) {
    double worst_abs = 0.0, worst_rel = 0.0, worst_ratio = 0.0, bmax = 0.0;
    long worst_i = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        double ratio = d / (GRAD_ATOL + GRAD_RTOL * fabs(b[i]));
        if (d > worst_abs) worst_abs = d;
        if (d / fmax(fabs(b[i]), 1e-2) > worst_rel) worst_rel = d / fmax(fabs(b[i]), 1e-2);
        if (ratio > worst_ratio) { worst_ratio = ratio; worst_i = i; }
        if (fabs(b[i]) > bmax) bmax = fabs(b[i]);
    }
    printf("  %-28s n=%-4ld max|g|=%-9.3g max abs err=%-9.2e max rel err=%-9.2e\n", what, n, bmax,
           worst_abs, worst_rel);
    if (worst_ratio > 1.0) {
        printf("  FAIL %s[%ld]: analytic %.9g vs finite difference %.9g\n", what, worst_i,
               (double)a[worst_i], b[worst_i]);
        fail_msg("%s: gradient out of tolerance", what);
    }
}

static void check_fwd(const char *what, const float *a, const double *b, long n) {
    double worst = 0.0;
    long worst_i = 0;
    for (long i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / fmax(1.0, fabs(b[i]));
        if (e > worst) { worst = e; worst_i = i; }
    }
    printf("  %-28s n=%-4ld forward rel err=%.2e\n", what, n, worst);
    if (worst > FWD_RTOL) {
        printf("  FAIL %s[%ld]: float %.9g vs double %.9g\n", what, worst_i, (double)a[worst_i],
               b[worst_i]);
        fail_msg("%s: forward out of tolerance", what);
    }
}

/* g2 must be 2 * g1 (the second call added the same gradient again). */
static void check_doubled(const char *what, const float *g1, const float *g2, long n) {
    for (long i = 0; i < n; i++) {
        double e = fabs((double)g2[i] - 2.0 * g1[i]);
        if (e > 1e-6 * (1.0 + fabs(2.0 * g1[i])))
            fail_msg("%s[%ld]: second backward gave %.9g, expected 2 * %.9g (not accumulating)",
                     what, i, (double)g2[i], (double)g1[i]);
    }
}

static void check_equal(const char *what, const float *a, const float *b, long n) {
    for (long i = 0; i < n; i++)
        if (a[i] != b[i]) fail_msg("%s[%ld]: %.9g != %.9g", what, i, (double)a[i], (double)b[i]);
}

/* ---- linear ------------------------------------------------------------------ */

typedef struct {
    int N, IN, OUT;
    double *inp, *w, *b, *R, *out;
} linear_ctx;

static void linear_ref(linear_ctx *c) {
    for (int n = 0; n < c->N; n++)
        for (int o = 0; o < c->OUT; o++)
            c->out[n * c->OUT + o] =
                c->b[o] + dot_d(c->inp + (size_t)n * c->IN, c->w + (size_t)o * c->IN, c->IN);
}

static double linear_loss(void *p) {
    linear_ctx *c = p;
    linear_ref(c);
    return dot_d(c->out, c->R, (long)c->N * c->OUT);
}

static void test_linear(void **state) {
    (void)state;
    bd_rng r;
    bd_rng_seed(&r, 11);
    const int N = 4, IN = 6, OUT = 5;
    const long ni = (long)N * IN, nw = (long)OUT * IN, no = (long)N * OUT;
    float *inp = randn_f(&r, ni, 1.0f), *w = randn_f(&r, nw, 0.5f), *b = randn_f(&r, OUT, 0.5f);
    float *R = randn_f(&r, no, 1.0f), *out = alloc_f(no);
    linear_ctx c = {N, IN, OUT, to_double(inp, ni), to_double(w, nw), to_double(b, OUT),
                    to_double(R, no), alloc_d(no)};

    bd_linear_fwd(out, inp, w, b, N, IN, OUT);
    linear_ref(&c);
    check_fwd("linear out", out, c.out, no);

    float *dinp = alloc_f(ni), *dw = alloc_f(nw), *db = alloc_f(OUT);
    bd_linear_bwd(dinp, dw, db, R, inp, w, N, IN, OUT);
    double *g = alloc_d(nw);
    fd_grad(g, c.inp, ni, linear_loss, &c);
    check_grad("linear dinp", dinp, g, ni);
    fd_grad(g, c.w, nw, linear_loss, &c);
    check_grad("linear dw", dw, g, nw);
    fd_grad(g, c.b, OUT, linear_loss, &c);
    check_grad("linear db", db, g, OUT);

    /* += : a second call doubles every gradient */
    float *dinp1 = copy_f(dinp, ni), *dw1 = copy_f(dw, nw), *db1 = copy_f(db, OUT);
    bd_linear_bwd(dinp, dw, db, R, inp, w, N, IN, OUT);
    check_doubled("linear dinp", dinp1, dinp, ni);
    check_doubled("linear dw", dw1, dw, nw);
    check_doubled("linear db", db1, db, OUT);

    /* NULL gradients are skipped; the others are unchanged by the skip */
    bd_linear_bwd(NULL, NULL, NULL, R, inp, w, N, IN, OUT);
    memset(dw, 0, sizeof(float) * (size_t)nw);
    bd_linear_bwd(NULL, dw, NULL, R, inp, w, N, IN, OUT);
    check_equal("linear dw alone", dw, dw1, nw);
    memset(dinp, 0, sizeof(float) * (size_t)ni);
    memset(db, 0, sizeof(float) * OUT);
    bd_linear_bwd(dinp, NULL, db, R, inp, w, N, IN, OUT);
    check_equal("linear dinp alone", dinp, dinp1, ni);
    check_equal("linear db alone", db, db1, OUT);

    free(inp); free(w); free(b); free(R); free(out); free(dinp); free(dw); free(db);
    free(dinp1); free(dw1); free(db1); free(g);
    free(c.inp); free(c.w); free(c.b); free(c.R); free(c.out);
}

/* ---- layernorm --------------------------------------------------------------- */

typedef struct {
    int N, C;
    double eps;
    double *inp, *g, *b, *R, *out, *mean, *rstd;
} ln_ctx;

static void ln_ref(ln_ctx *c) {
    for (int n = 0; n < c->N; n++) {
        const double *x = c->inp + (size_t)n * c->C;
        double m = 0.0, v = 0.0;
        for (int i = 0; i < c->C; i++) m += x[i];
        m /= c->C;
        for (int i = 0; i < c->C; i++) v += (x[i] - m) * (x[i] - m);
        v /= c->C;
        double s = 1.0 / sqrt(v + c->eps);
        for (int i = 0; i < c->C; i++) c->out[n * c->C + i] = (x[i] - m) * s * c->g[i] + c->b[i];
        c->mean[n] = m;
        c->rstd[n] = s;
    }
}

static double ln_loss(void *p) {
    ln_ctx *c = p;
    ln_ref(c);
    return dot_d(c->out, c->R, (long)c->N * c->C);
}

static void test_layernorm(void **state) {
    (void)state;
    bd_rng r;
    bd_rng_seed(&r, 12);
    const int N = 4, C = 8;
    const long n = (long)N * C;
    const float eps = 1e-5f;
    float *inp = randn_f(&r, n, 1.0f), *g = randn_f(&r, C, 1.0f), *b = randn_f(&r, C, 0.5f);
    for (int i = 0; i < C; i++) inp[i] = 3.0f + 0.2f * inp[i]; /* a row with a large mean */
    float *R = randn_f(&r, n, 1.0f), *out = alloc_f(n), *mean = alloc_f(N), *rstd = alloc_f(N);
    ln_ctx c = {N, C, eps, to_double(inp, n), to_double(g, C), to_double(b, C), to_double(R, n),
                alloc_d(n), alloc_d(N), alloc_d(N)};

    bd_layernorm_fwd(out, mean, rstd, inp, g, b, N, C, eps);
    ln_ref(&c);
    check_fwd("layernorm out", out, c.out, n);
    check_fwd("layernorm mean", mean, c.mean, N);
    check_fwd("layernorm rstd", rstd, c.rstd, N);

    float *dinp = alloc_f(n), *dg = alloc_f(C), *db = alloc_f(C);
    bd_layernorm_bwd(dinp, dg, db, R, inp, g, mean, rstd, N, C);
    double *fd = alloc_d(n);
    fd_grad(fd, c.inp, n, ln_loss, &c);
    check_grad("layernorm dinp", dinp, fd, n);
    fd_grad(fd, c.g, C, ln_loss, &c);
    check_grad("layernorm dg", dg, fd, C);
    fd_grad(fd, c.b, C, ln_loss, &c);
    check_grad("layernorm db", db, fd, C);

    float *dinp1 = copy_f(dinp, n), *dg1 = copy_f(dg, C), *db1 = copy_f(db, C);
    bd_layernorm_bwd(dinp, dg, db, R, inp, g, mean, rstd, N, C);
    check_doubled("layernorm dinp", dinp1, dinp, n);
    check_doubled("layernorm dg", dg1, dg, C);
    check_doubled("layernorm db", db1, db, C);

    bd_layernorm_bwd(NULL, NULL, NULL, R, inp, g, mean, rstd, N, C);
    memset(dg, 0, sizeof(float) * C);
    bd_layernorm_bwd(NULL, dg, NULL, R, inp, g, mean, rstd, N, C);
    check_equal("layernorm dg alone", dg, dg1, C);
    memset(dinp, 0, sizeof(float) * (size_t)n);
    bd_layernorm_bwd(dinp, NULL, NULL, R, inp, g, mean, rstd, N, C);
    check_equal("layernorm dinp alone", dinp, dinp1, n);

    free(inp); free(g); free(b); free(R); free(out); free(mean); free(rstd);
    free(dinp); free(dg); free(db); free(dinp1); free(dg1); free(db1); free(fd);
    free(c.inp); free(c.g); free(c.b); free(c.R); free(c.out); free(c.mean); free(c.rstd);
}

/* ---- activations and tanh ---------------------------------------------------- */

typedef struct {
    long n;
    int act; /* bd_act, or -1 for tanh */
    double *inp, *R, *out;
} act_ctx;

static void act_ref(act_ctx *c) {
    for (long i = 0; i < c->n; i++) {
        double x = c->inp[i];
        switch (c->act) {
        case BD_ACT_GELU: c->out[i] = 0.5 * x * (1.0 + erf(x / sqrt(2.0))); break;
        case BD_ACT_GELU_TANH:
            c->out[i] = 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
            break;
        case BD_ACT_RELU: c->out[i] = x > 0.0 ? x : 0.0; break;
        default: c->out[i] = tanh(x); break;
        }
    }
}

static double act_loss(void *p) {
    act_ctx *c = p;
    act_ref(c);
    return dot_d(c->out, c->R, c->n);
}

static void check_act(int act, const char *name, uint64_t seed) {
    bd_rng r;
    bd_rng_seed(&r, seed);
    const long n = 24;
    float *inp = randn_f(&r, n, 2.0f);
    for (long i = 0; i < n; i++) /* keep clear of ReLU's kink at 0 */
        while (fabsf(inp[i]) < 1e-2f) inp[i] = 2.0f * bd_rng_normal(&r);
    inp[0] = 4.5f; inp[1] = -4.5f; /* the tails */
    float *R = randn_f(&r, n, 1.0f), *out = alloc_f(n), *dinp = alloc_f(n);
    act_ctx c = {n, act, to_double(inp, n), to_double(R, n), alloc_d(n)};
    char what[64];

    if (act < 0) bd_tanh_fwd(out, inp, n);
    else bd_act_fwd(out, inp, n, (bd_act)act);
    act_ref(&c);
    snprintf(what, sizeof what, "%s out", name);
    check_fwd(what, out, c.out, n);

    if (act < 0) bd_tanh_bwd(dinp, out, R, n);
    else bd_act_bwd(dinp, inp, R, n, (bd_act)act);
    double *fd = alloc_d(n);
    fd_grad(fd, c.inp, n, act_loss, &c);
    snprintf(what, sizeof what, "%s dinp", name);
    check_grad(what, dinp, fd, n);

    float *dinp1 = copy_f(dinp, n);
    if (act < 0) {
        bd_tanh_bwd(dinp, out, R, n);
        bd_tanh_bwd(NULL, out, R, n);
    } else {
        bd_act_bwd(dinp, inp, R, n, (bd_act)act);
        bd_act_bwd(NULL, inp, R, n, (bd_act)act);
    }
    check_doubled(what, dinp1, dinp, n);

    free(inp); free(R); free(out); free(dinp); free(dinp1); free(fd);
    free(c.inp); free(c.R); free(c.out);
}

static void test_gelu(void **state) { (void)state; check_act(BD_ACT_GELU, "gelu", 13); }
static void test_gelu_tanh(void **state) { (void)state; check_act(BD_ACT_GELU_TANH, "gelu_tanh", 14); }
static void test_relu(void **state) { (void)state; check_act(BD_ACT_RELU, "relu", 15); }
static void test_tanh(void **state) { (void)state; check_act(-1, "tanh", 16); }

/* ---- embeddings -------------------------------------------------------------- */

typedef struct {
    int B, T, C;
    const int32_t *ids, *type_ids;
    double *word, *pos, *type, *R, *out;
} embed_ctx;

static void embed_ref(embed_ctx *c) {
    for (int b = 0; b < c->B; b++)
        for (int t = 0; t < c->T; t++) {
            int r = b * c->T + t;
            int ty = c->type_ids ? c->type_ids[r] : 0;
            for (int i = 0; i < c->C; i++)
                c->out[r * c->C + i] = c->word[c->ids[r] * c->C + i] + c->pos[t * c->C + i] +
                                       c->type[ty * c->C + i];
        }
}

static double embed_loss(void *p) {
    embed_ctx *c = p;
    embed_ref(c);
    return dot_d(c->out, c->R, (long)c->B * c->T * c->C);
}

static void check_embed(const int32_t *type_ids, const char *name) {
    bd_rng r;
    bd_rng_seed(&r, 17);
    enum { B = 2, T = 4, C = 5, V = 7, NTYPE = 2 };
    static const int32_t ids[B * T] = {1, 3, 3, 0, 6, 1, 3, 2}; /* repeats: 3 (x3), 1 (x2) */
    const long nw = V * C, np = T * C, nt = NTYPE * C, no = B * T * C;
    float *word = randn_f(&r, nw, 1.0f), *pos = randn_f(&r, np, 1.0f), *type = randn_f(&r, nt, 1.0f);
    float *R = randn_f(&r, no, 1.0f), *out = alloc_f(no);
    embed_ctx c = {B, T, C, ids, type_ids, to_double(word, nw), to_double(pos, np),
                   to_double(type, nt), to_double(R, no), alloc_d(no)};
    char what[64];

    bd_embed_fwd(out, ids, type_ids, word, pos, type, B, T, C);
    embed_ref(&c);
    snprintf(what, sizeof what, "%s out", name);
    check_fwd(what, out, c.out, no);

    float *dword = alloc_f(nw), *dpos = alloc_f(np), *dtype = alloc_f(nt);
    bd_embed_bwd(dword, dpos, dtype, R, ids, type_ids, B, T, C);
    double *fd = alloc_d(nw);
    fd_grad(fd, c.word, nw, embed_loss, &c);
    snprintf(what, sizeof what, "%s dword", name);
    check_grad(what, dword, fd, nw);
    for (int i = 0; i < C; i++) assert_true(dword[4 * C + i] == 0.0f && dword[5 * C + i] == 0.0f);
    fd_grad(fd, c.pos, np, embed_loss, &c);
    snprintf(what, sizeof what, "%s dpos", name);
    check_grad(what, dpos, fd, np);
    fd_grad(fd, c.type, nt, embed_loss, &c);
    snprintf(what, sizeof what, "%s dtype", name);
    check_grad(what, dtype, fd, nt);

    float *dword1 = copy_f(dword, nw), *dpos1 = copy_f(dpos, np), *dtype1 = copy_f(dtype, nt);
    bd_embed_bwd(dword, dpos, dtype, R, ids, type_ids, B, T, C);
    check_doubled("embed dword", dword1, dword, nw);
    check_doubled("embed dpos", dpos1, dpos, np);
    check_doubled("embed dtype", dtype1, dtype, nt);
    bd_embed_bwd(NULL, NULL, NULL, R, ids, type_ids, B, T, C);
    memset(dpos, 0, sizeof(float) * (size_t)np);
    bd_embed_bwd(NULL, dpos, NULL, R, ids, type_ids, B, T, C);
    check_equal("embed dpos alone", dpos, dpos1, np);

    free(word); free(pos); free(type); free(R); free(out); free(dword); free(dpos); free(dtype);
    free(dword1); free(dpos1); free(dtype1); free(fd);
    free(c.word); free(c.pos); free(c.type); free(c.R); free(c.out);
}

static void test_embed(void **state) {
    (void)state;
    static const int32_t type_ids[2 * 4] = {0, 0, 1, 1, 0, 1, 1, 1};
    check_embed(type_ids, "embed");
    check_embed(NULL, "embed (no type ids)");
}

/* ---- rotary positions and row scaling (ESM) ------------------------------------- */

/* The rotation in double from its definition (angle t / 10000^(2i/D) exactly). */
static void rotary_ref(double *y, const double *x, int B, int T, int NH, int D) {
    const int half = D / 2, C = NH * D;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < NH; h++)
                for (int i = 0; i < half; i++) {
                    const double ang = t / pow(10000.0, 2.0 * i / D);
                    const size_t o = ((size_t)b * T + t) * C + (size_t)h * D;
                    y[o + i] = x[o + i] * cos(ang) - x[o + i + half] * sin(ang);
                    y[o + i + half] = x[o + i + half] * cos(ang) + x[o + i] * sin(ang);
                }
}

static void test_rotary(void **state) {
    (void)state;
    bd_rng r;
    bd_rng_seed(&r, 41);
    static const int shapes[][4] = {{1, 1, 1, 2}, {2, 7, 3, 8}, {3, 33, 2, 16}, {1, 64, 4, 32}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const int B = shapes[k][0], T = shapes[k][1], NH = shapes[k][2], D = shapes[k][3];
        const long n = (long)B * T * NH * D;
        float *x = randn_f(&r, n, 1.0f), *y = copy_f(x, n), *R = randn_f(&r, n, 1.0f), *g = copy_f(R, n);
        double *xd = to_double(x, n), *yd = alloc_d(n);
        bd_rotary(y, B, T, NH, D, 1);
        rotary_ref(yd, xd, B, T, NH, D);
        /* the float op against the definition: the float32 angle differs from the exact one by
         * ~t * 6e-8 relative, so the tolerance grows with the position */
        double worst = 0;
        for (long i = 0; i < n; i++) worst = fmax(worst, fabs(y[i] - yd[i]) / fmax(1.0, fabs(yd[i])));
        assert_true(worst < 1e-5 * (1 + T / 8.0));
        /* the backward (sign -1) is the adjoint: <R x, g> = <x, R^T g>, and undoes the forward */
        bd_rotary(g, B, T, NH, D, -1);
        double lhs = 0, rhs = 0, undo = 0;
        for (long i = 0; i < n; i++) { lhs += (double)y[i] * R[i]; rhs += (double)x[i] * g[i]; }
        bd_rotary(y, B, T, NH, D, -1);
        for (long i = 0; i < n; i++) undo = fmax(undo, fabs(y[i] - x[i]));
        printf("rotary B%d T%d NH%d D%d: fwd vs double %.2g, <Rx,g> - <x,R^T g> %.2g, undo %.2g\n", B, T, NH, D,
               worst, fabs(lhs - rhs), undo);
        assert_true(fabs(lhs - rhs) < 1e-4 * (1 + fabs(lhs)));
        assert_true(undo < 1e-5);
        /* position 0 is the identity */
        free(x); free(y); free(R); free(g); free(xd); free(yd);
    }
    float v[4] = {1, 2, 3, 4}, w[4] = {1, 2, 3, 4};
    bd_rotary(v, 1, 1, 1, 4, 1);
    assert_memory_equal(v, w, sizeof v);
    float m[6] = {1, 2, 3, 4, 5, 6}, s2[2] = {0.5f, -2.0f};
    bd_rows_scale(m, s2, 2, 3);
    const float want[6] = {0.5f, 1.0f, 1.5f, -8.0f, -10.0f, -12.0f};
    assert_memory_equal(m, want, sizeof m);
}

/* ---- attention --------------------------------------------------------------- */

typedef struct {
    int B, T, NH, HD;
    const float *mask;
    double *q, *k, *v, *R, *out, *probs;
    const uint8_t *keep; /* attention dropout mask [B*NH*T*T] or NULL */
    double p;
} attn_ctx;

static void attn_ref(attn_ctx *c) {
    const int T = c->T, HD = c->HD, C = c->NH * c->HD;
    for (int b = 0; b < c->B; b++)
        for (int h = 0; h < c->NH; h++)
            for (int i = 0; i < T; i++) {
                const double *qi = c->q + ((size_t)b * T + i) * C + h * HD;
                double *p = c->probs + (((size_t)b * c->NH + h) * T + i) * T;
                double mx = -INFINITY, sum = 0.0;
                for (int j = 0; j < T; j++) {
                    const double *kj = c->k + ((size_t)b * T + j) * C + h * HD;
                    p[j] = dot_d(qi, kj, HD) / sqrt((double)HD);
                    if (c->mask[b * T + j] == 0.0f) p[j] += -FLT_MAX;
                    if (p[j] > mx) mx = p[j];
                }
                for (int j = 0; j < T; j++) { p[j] = exp(p[j] - mx); sum += p[j]; }
                for (int j = 0; j < T; j++) p[j] /= sum;
                const uint8_t *kp = c->keep ? c->keep + (((size_t)b * c->NH + h) * T + i) * T : NULL;
                double *o = c->out + ((size_t)b * T + i) * C + h * HD;
                for (int d = 0; d < HD; d++) {
                    o[d] = 0.0;
                    for (int j = 0; j < T; j++) {
                        double pj = kp ? (kp[j] ? p[j] / (1.0 - c->p) : 0.0) : p[j];
                        o[d] += pj * c->v[((size_t)b * T + j) * C + h * HD + d];
                    }
                }
            }
}

static double attn_loss(void *p) {
    attn_ctx *c = p;
    attn_ref(c);
    return dot_d(c->out, c->R, (long)c->B * c->T * c->NH * c->HD);
}


/* mask[B*T]: no sequence may be fully padded (its forward is flat in q and k,
 * but the analytic gradient, like PyTorch's, is not zero there). */
static void check_attention(int B, int T, int NH, int HD, const float *mask, int dropout,
                            uint64_t seed, const char *name) {
    bd_rng r;
    bd_rng_seed(&r, seed);
    const int C = NH * HD;
    const long n = (long)B * T * C, np = (long)B * NH * T * T;
    float *q = randn_f(&r, n, 1.0f), *k = randn_f(&r, n, 1.0f), *v = randn_f(&r, n, 1.0f);
    float *R = randn_f(&r, n, 1.0f), *out = alloc_f(n), *probs = alloc_f(np);
    uint8_t *keep = NULL;
    const float p = 0.25f;
    float *probs_d = alloc_f(np), *scratch = alloc_f((long)T * T * bd_nthreads());
    if (dropout) {
        keep = malloc((size_t)np);
        for (long i = 0; i < np; i++) keep[i] = bd_rng_uniform(&r) >= p;
    }
    attn_ctx c = {B, T, NH, HD, mask, to_double(q, n), to_double(k, n), to_double(v, n),
                  to_double(R, n), alloc_d(n), alloc_d(np), keep, p};
    char what[96];

    bd_attention_fwd(out, probs, probs_d, q, k, v, mask, keep, p, B, T, NH, HD);
    attn_ref(&c);
    snprintf(what, sizeof what, "%s out", name);
    check_fwd(what, out, c.out, n);
    snprintf(what, sizeof what, "%s probs", name);
    check_fwd(what, probs, c.probs, np);
    for (int b = 0; b < B; b++) /* padded keys: probability exactly 0 */
        for (int j = 0; j < T; j++)
            if (mask[b * T + j] == 0.0f)
                for (int h = 0; h < NH; h++)
                    for (int i = 0; i < T; i++)
                        assert_true(probs[(((size_t)b * NH + h) * T + i) * T + j] == 0.0f);

    double *fq = alloc_d(n), *fk = alloc_d(n), *fv = alloc_d(n);
    fd_grad(fq, c.q, n, attn_loss, &c);
    fd_grad(fk, c.k, n, attn_loss, &c);
    fd_grad(fv, c.v, n, attn_loss, &c);

    static const struct { const char *label; } impls[] = {{"blas"}};
    float *dq = alloc_f(n), *dk = alloc_f(n), *dv = alloc_f(n);
    for (size_t m = 0; m < sizeof impls / sizeof impls[0]; m++) {
        memset(dq, 0, sizeof(float) * (size_t)n);
        memset(dk, 0, sizeof(float) * (size_t)n);
        memset(dv, 0, sizeof(float) * (size_t)n);
        bd_attention_bwd(dq, dk, dv, R, probs, probs_d, keep, p, q, k, v, scratch, B, T, NH, HD);
        snprintf(what, sizeof what, "%s dq (%s)", name, impls[m].label);
        check_grad(what, dq, fq, n);
        snprintf(what, sizeof what, "%s dk (%s)", name, impls[m].label);
        check_grad(what, dk, fk, n);
        snprintf(what, sizeof what, "%s dv (%s)", name, impls[m].label);
        check_grad(what, dv, fv, n);
        /* padded keys get exactly zero dk and dv */
        for (int b = 0; b < B; b++)
            for (int j = 0; j < T; j++)
                if (mask[b * T + j] == 0.0f)
                    for (int i = 0; i < C; i++) {
                        size_t at = ((size_t)b * T + j) * C + i;
                        if (dk[at] != 0.0f || dv[at] != 0.0f)
                            fail_msg("%s (%s): padded key b=%d t=%d got dk %g dv %g", name,
                                     impls[m].label, b, j, (double)dk[at], (double)dv[at]);
                    }

        float *dq1 = copy_f(dq, n), *dk1 = copy_f(dk, n), *dv1 = copy_f(dv, n);
        bd_attention_bwd(dq, dk, dv, R, probs, probs_d, keep, p, q, k, v, scratch, B, T, NH, HD);
        check_doubled("attention dq", dq1, dq, n);
        check_doubled("attention dk", dk1, dk, n);
        check_doubled("attention dv", dv1, dv, n);
        bd_attention_bwd(NULL, NULL, NULL, R, probs, probs_d, keep, p, q, k, v, scratch, B, T, NH, HD);
        memset(dk, 0, sizeof(float) * (size_t)n);
        bd_attention_bwd(NULL, dk, NULL, R, probs, probs_d, keep, p, q, k, v, scratch, B, T, NH, HD);
        check_equal("attention dk alone", dk, dk1, n);
        memset(dv, 0, sizeof(float) * (size_t)n);
        bd_attention_bwd(NULL, NULL, dv, R, probs, probs_d, keep, p, q, k, v, scratch, B, T, NH, HD);
        check_equal("attention dv alone", dv, dv1, n);
        free(dq1); free(dk1); free(dv1);
    }

    free(q); free(k); free(v); free(R); free(out); free(probs); free(dq); free(dk); free(dv);
    free(probs_d); free(scratch); free(keep);
    free(fq); free(fk); free(fv);
    free(c.q); free(c.k); free(c.v); free(c.R); free(c.out); free(c.probs);
}

static void test_attention(void **state) {
    (void)state;
    /* sequence 1 has a padded key inside and one at the end */
    static const float mask[2 * 5] = {1, 1, 1, 1, 1, 1, 1, 0, 1, 0};
    check_attention(2, 5, 2, 3, mask, 0, 18, "attention");
    check_attention(2, 5, 2, 3, mask, 1, 20, "attention +dropout");
}

static void test_attention_larger(void **state) {
    (void)state;
    /* a longer, odd T (the sgemm kernels' edge tiles); the last 7 positions padded */
    enum { T = 33 };
    float mask[T];
    for (int t = 0; t < T; t++) mask[t] = t < T - 7 ? 1.0f : 0.0f;
    check_attention(1, T, 3, 8, mask, 0, 19, "attention T=33");
}

/* ---- dropout ----------------------------------------------------------------- */

typedef struct {
    long n;
    double p;
    const uint8_t *keep;
    double *inp, *R, *out;
} drop_ctx;

static void drop_ref(drop_ctx *c) {
    for (long i = 0; i < c->n; i++) c->out[i] = c->keep[i] ? c->inp[i] / (1.0 - c->p) : 0.0;
}

static double drop_loss(void *p) {
    drop_ctx *c = p;
    drop_ref(c);
    return dot_d(c->out, c->R, c->n);
}

static void test_dropout(void **state) {
    (void)state;
    bd_rng r;
    bd_rng_seed(&r, 20);
    const long n = 24;
    const float p = 0.25f;
    uint8_t keep[24];
    for (long i = 0; i < n; i++) keep[i] = bd_rng_uniform(&r) >= p;
    keep[0] = 0; keep[1] = 1;
    float *inp = randn_f(&r, n, 1.0f), *R = randn_f(&r, n, 1.0f), *out = alloc_f(n), *dinp = alloc_f(n);
    drop_ctx c = {n, p, keep, to_double(inp, n), to_double(R, n), alloc_d(n)};

    bd_dropout_fwd(out, inp, keep, p, n);
    drop_ref(&c);
    check_fwd("dropout out", out, c.out, n);
    bd_dropout_bwd(dinp, R, keep, p, n);
    double *fd = alloc_d(n);
    fd_grad(fd, c.inp, n, drop_loss, &c);
    check_grad("dropout dinp", dinp, fd, n);
    float *dinp1 = copy_f(dinp, n);
    bd_dropout_bwd(dinp, R, keep, p, n);
    bd_dropout_bwd(NULL, R, keep, p, n);
    check_doubled("dropout dinp", dinp1, dinp, n);

    free(inp); free(R); free(out); free(dinp); free(dinp1); free(fd);
    free(c.inp); free(c.R); free(c.out);
}

/* ---- losses ------------------------------------------------------------------ */

typedef struct {
    int B, L;
    const int32_t *labels;
    double *logits, *probs;
} xent_ctx;

static double xent_ref(void *p) {
    xent_ctx *c = p;
    double loss = 0.0;
    for (int b = 0; b < c->B; b++) {
        const double *z = c->logits + (size_t)b * c->L;
        double mx = z[0], sum = 0.0;
        for (int l = 1; l < c->L; l++) mx = fmax(mx, z[l]);
        for (int l = 0; l < c->L; l++) sum += exp(z[l] - mx);
        double lse = mx + log(sum);
        for (int l = 0; l < c->L; l++) c->probs[b * c->L + l] = exp(z[l] - lse);
        loss += lse - z[c->labels[b]];
    }
    return loss / c->B;
}

static void test_xent(void **state) {
    (void)state;
    bd_rng r;
    bd_rng_seed(&r, 21);
    enum { B = 3, L = 4 };
    static const int32_t labels[B] = {2, 0, 3};
    const float scale = 0.75f;
    float *logits = randn_f(&r, B * L, 2.0f), *probs = alloc_f(B * L), *dl = alloc_f(B * L);
    xent_ctx c = {B, L, labels, to_double(logits, B * L), alloc_d(B * L)};

    float loss = bd_xent_fwd(probs, logits, labels, B, L);
    double loss_d = xent_ref(&c);
    check_fwd("xent loss", &loss, &loss_d, 1);
    check_fwd("xent probs", probs, c.probs, B * L);

    bd_xent_bwd(dl, probs, labels, B, L, scale);
    double *fd = alloc_d(B * L);
    fd_grad(fd, c.logits, B * L, xent_ref, &c);
    for (int i = 0; i < B * L; i++) fd[i] *= scale;
    check_grad("xent dlogits", dl, fd, B * L);
    float *dl1 = copy_f(dl, B * L);
    bd_xent_bwd(dl, probs, labels, B, L, scale);
    bd_xent_bwd(NULL, probs, labels, B, L, scale);
    check_doubled("xent dlogits", dl1, dl, B * L);

    free(logits); free(probs); free(dl); free(dl1); free(fd); free(c.logits); free(c.probs);
}

typedef struct {
    int B;
    double *pred, *target;
} mse_ctx;

static double mse_ref(void *p) {
    mse_ctx *c = p;
    double s = 0.0;
    for (int b = 0; b < c->B; b++) s += (c->pred[b] - c->target[b]) * (c->pred[b] - c->target[b]);
    return s / c->B;
}

static void test_mse(void **state) {
    (void)state;
    bd_rng r;
    bd_rng_seed(&r, 22);
    enum { B = 5 };
    const float scale = 0.5f;
    float *pred = randn_f(&r, B, 1.0f), *target = randn_f(&r, B, 1.0f), *dp = alloc_f(B);
    mse_ctx c = {B, to_double(pred, B), to_double(target, B)};

    float loss = bd_mse_fwd(pred, target, B);
    double loss_d = mse_ref(&c);
    check_fwd("mse loss", &loss, &loss_d, 1);
    bd_mse_bwd(dp, pred, target, B, scale);
    double *fd = alloc_d(B);
    fd_grad(fd, c.pred, B, mse_ref, &c);
    for (int i = 0; i < B; i++) fd[i] *= scale;
    check_grad("mse dpred", dp, fd, B);
    float *dp1 = copy_f(dp, B);
    bd_mse_bwd(dp, pred, target, B, scale);
    bd_mse_bwd(NULL, pred, target, B, scale);
    check_doubled("mse dpred", dp1, dp, B);

    free(pred); free(target); free(dp); free(dp1); free(fd); free(c.pred); free(c.target);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),    cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_gelu),      cmocka_unit_test(test_gelu_tanh),
        cmocka_unit_test(test_relu),      cmocka_unit_test(test_tanh),
        cmocka_unit_test(test_embed),     cmocka_unit_test(test_rotary),    cmocka_unit_test(test_attention),
        cmocka_unit_test(test_attention_larger), cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_xent),      cmocka_unit_test(test_mse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
