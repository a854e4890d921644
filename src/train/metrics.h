/* metrics.h: evaluation metrics, computed as scikit-learn / scipy define them. */
#ifndef BD_METRICS_H
#define BD_METRICS_H

#include "err.h"

typedef struct bd_cls_metrics {
    double accuracy, macro_f1, mcc;
} bd_cls_metrics;

/* pred[n], gold[n] in 0..k-1. Macro-F1 averages over the k classes (a class
 * with no gold and no predicted rows counts F1 = 0, as sklearn's default
 * zero_division does when labels= lists it); MCC is the multiclass R_K.
 * Memory is O(k) (per-class counts, no k x k matrix). Errors: n < 1, k < 1,
 * an id out of range, out of memory (saying how much). */
int bd_cls_metrics_compute(bd_cls_metrics *m, const int *pred, const int *gold, int n, int k, bd_err *e);

/* Pearson and Spearman (average ranks for ties) correlation; NaN when a
 * side is constant or n < 2. bd_spearman fails only when out of memory. */
double bd_pearson(const double *x, const double *y, int n);
int bd_spearman(const double *x, const double *y, int n, double *rho, bd_err *e);

/* Least-squares line y = k x + b through n points (with intercept, as
 * numpy.polyfit(x, y, 1)); -1 when fewer than 2 points or x is constant. */
int bd_fit_slope(const double *x, const double *y, int n, double *k, double *b);

#endif
