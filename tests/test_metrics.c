/* Metrics against scikit-learn / scipy values (computed once with
 * sklearn 1.x: accuracy_score, f1_score(average='macro', labels=range(k),
 * zero_division=0), matthews_corrcoef; scipy pearsonr, spearmanr). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static void check(const int *p, const int *g, int n, int k, double acc, double f1, double mcc) {
    bd_cls_metrics m;
    bd_err e = {{0}};
    if (bd_cls_metrics_compute(&m, p, g, n, k, &e)) fail_msg("%s", e.msg);
    assert_float_equal(m.accuracy, acc, 1e-12);
    assert_float_equal(m.macro_f1, f1, 1e-12);
    assert_float_equal(m.mcc, mcc, 1e-12);
}

static void test_classification(void **state) {
    (void)state;
    check((int[]){0, 1, 1, 0, 2}, (int[]){0, 1, 0, 0, 2}, 5, 3, 0.8, 0.8222222222222223, 0.7349684152591671);
    check((int[]){1, 1, 1, 1}, (int[]){0, 1, 0, 1}, 4, 2, 0.5, 0.3333333333333333, 0.0);
    check((int[]){0, 2, 2, 1, 1, 0, 2, 1}, (int[]){0, 2, 1, 1, 0, 0, 2, 2}, 8, 3, 0.625,
          0.6222222222222222, 0.4523809523809524);
    check((int[]){0, 0, 0}, (int[]){0, 0, 0}, 3, 2, 1.0, 0.5, 0.0);
}

static void test_correlations(void **state) {
    (void)state;
    double x[] = {1.0, 2.0, 2.0, 3.5, -1.0, 4.0}, y[] = {0.5, 2.5, 1.0, 3.0, -2.0, 5.0};
    assert_float_equal(bd_pearson(x, y, 6), 0.9637006600663314, 1e-12);
    double rho;
    bd_err e = {{0}};
    assert_int_equal(bd_spearman(x, y, 6, &rho, &e), 0);
    assert_float_equal(rho, 0.9856107606091624, 1e-12);
    double c[] = {1, 1, 1};
    assert_true(isnan(bd_pearson(c, y, 3)));
}

/* Many classes: the metrics need per-class counts only. With a k x k
 * confusion matrix, 10^6 classes wanted 8 TB, the calloc failed and every
 * metric came back NaN without a word (issue 11). */
static void test_many_classes(void **state) {
    (void)state;
    const int k = 1000000;
    /* three classes right (F1 1), 7 and 8 confused (F1 0); R_K = (3*4 - 3) / (16 - 4) */
    check((int[]){0, 999999, 5, 7}, (int[]){0, 999999, 5, 8}, 4, k, 0.75, 3.0 / k, 0.75);
}

/* Bad input is an error that says what is wrong, never NaN or a stray write. */
static void test_errors(void **state) {
    (void)state;
    bd_cls_metrics m;
    bd_err e = {{0}};
    assert_int_equal(bd_cls_metrics_compute(&m, (int[]){0, 3}, (int[]){0, 1}, 2, 3, &e), -1);
    assert_non_null(strstr(e.msg, "outside 0..2"));
    assert_int_equal(bd_cls_metrics_compute(&m, (int[]){0}, (int[]){0}, 0, 3, &e), -1);
    assert_non_null(strstr(e.msg, "nothing to score"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classification),
        cmocka_unit_test(test_correlations),
        cmocka_unit_test(test_many_classes),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
