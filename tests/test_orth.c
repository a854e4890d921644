/* The orthogonality regularizer R = (1/N) sum ||D D^T - I||_F and its
 * gradient in A and B, against a double-precision reference and central
 * finite differences of it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "orth.h"
#include "rng.h"

enum { NA = 2, OUT = 6, IN = 5, R = 2 };

typedef struct { double w0[NA][OUT * IN], A[NA][R * IN], B[NA][OUT * R]; double s; } fx;

static double ref_R(const fx *f) {
    double total = 0;
    for (int a = 0; a < NA; a++) {
        double D[OUT * IN];
        for (int j = 0; j < OUT; j++) {
            double ss = 0;
            for (int i = 0; i < IN; i++) {
                double w = f->w0[a][j * IN + i];
                for (int k = 0; k < R; k++) w += f->s * f->B[a][j * R + k] * f->A[a][k * IN + i];
                D[j * IN + i] = w;
                ss += w * w;
            }
            for (int i = 0; i < IN; i++) D[j * IN + i] /= sqrt(ss);
        }
        double fro = 0;
        for (int p = 0; p < OUT; p++)
            for (int q = 0; q < OUT; q++) {
                double g = 0;
                for (int i = 0; i < IN; i++) g += D[p * IN + i] * D[q * IN + i];
                g -= p == q;
                fro += g * g;
            }
        total += sqrt(fro);
    }
    return total / NA;
}

static void test_orth(void **state) {
    (void)state;
    fx f;
    f.s = 1.5;
    bd_rng r;
    bd_rng_seed(&r, 3);
    float w0[NA][OUT * IN], A[NA][R * IN], B[NA][OUT * R], dA[NA][R * IN] = {{0}}, dB[NA][OUT * R] = {{0}};
    bd_adapted_linear ads[NA];
    memset(ads, 0, sizeof ads);
    for (int a = 0; a < NA; a++) {
        for (int i = 0; i < OUT * IN; i++) w0[a][i] = (float)(f.w0[a][i] = bd_rng_normal(&r));
        for (int i = 0; i < R * IN; i++) A[a][i] = (float)(f.A[a][i] = 0.5 * bd_rng_normal(&r));
        for (int i = 0; i < OUT * R; i++) B[a][i] = (float)(f.B[a][i] = 0.5 * bd_rng_normal(&r));
        /* round the double copies to what the float code sees */
        for (int i = 0; i < OUT * IN; i++) f.w0[a][i] = w0[a][i];
        for (int i = 0; i < R * IN; i++) f.A[a][i] = A[a][i];
        for (int i = 0; i < OUT * R; i++) f.B[a][i] = B[a][i];
        ads[a] = (bd_adapted_linear){BD_ADAPTER_DORA, IN, OUT, R, (float)f.s, 0, 1, w0[a], NULL, A[a], B[a], NULL,
                                     dA[a], dB[a], NULL, NULL, 0, NULL};
    }
    bd_err e;
    double Rv;
    const float lambda = 0.7f;
    assert_int_equal(bd_orth_reg(ads, NA, lambda, &Rv, &e), 0);
    double Rref = ref_R(&f);
    printf("R = %.9g (double reference %.9g)\n", Rv, Rref);
    assert_true(fabs(Rv - Rref) < 1e-5 * Rref);
    double worst = 0;
    for (int a = 0; a < NA; a++) {
        double *vs[2] = {f.A[a], f.B[a]};
        float *gs[2] = {dA[a], dB[a]};
        int ns[2] = {R * IN, OUT * R};
        for (int t = 0; t < 2; t++)
            for (int i = 0; i < ns[t]; i++) {
                double old = vs[t][i], h = 1e-6;
                vs[t][i] = old + h;
                double p = ref_R(&f);
                vs[t][i] = old - h;
                double m = ref_R(&f);
                vs[t][i] = old;
                double fd = lambda * (p - m) / (2 * h);
                double err = fabs(fd - gs[t][i]) / fmax(fabs(fd), 1e-2);
                if (err > worst) worst = err;
            }
    }
    printf("gradient: worst relative error vs finite differences %.2g\n", worst);
    assert_true(worst < 1e-3);
    /* lambda 0 leaves the gradients alone */
    float before = dA[0][0];
    assert_int_equal(bd_orth_reg(ads, NA, 0.0f, &Rv, &e), 0);
    assert_true(dA[0][0] == before);
}

/* Orthonormal rows give R = 0. */
static void test_orthonormal(void **state) {
    (void)state;
    float w0[3 * 3] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, A[3] = {0, 0, 0}, B[3] = {0, 0, 0}, dA[3] = {0}, dB[3] = {0};
    bd_adapted_linear al = {BD_ADAPTER_LORA, 3, 3, 1, 1.0f, 0, 1, w0, NULL, A, B, NULL, dA, dB, NULL, NULL, 0, NULL};
    bd_err e;
    double Rv;
    assert_int_equal(bd_orth_reg(&al, 1, 1.0f, &Rv, &e), 0);
    assert_true(fabs(Rv) < 1e-6);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_orth), cmocka_unit_test(test_orthonormal)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
