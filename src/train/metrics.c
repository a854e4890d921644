/* metrics.c: classification and correlation metrics, the slope fit. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

int bd_cls_metrics_compute(bd_cls_metrics *m, const int *pred, const int *gold, int n, int k, bd_err *e) {
    m->accuracy = m->macro_f1 = m->mcc = NAN;
    if (n < 1 || k < 1) return bd_errf(e, "metrics: %d rows of %d classes: nothing to score", n, k);
    /* per class: true positives, gold rows, predicted rows (all the
     * confusion matrix these metrics need) */
    long *cnt = bd_calloc((size_t)k * 3, sizeof *cnt, e);
    if (!cnt) return bd_err_prefix(e, "metrics: counts of %d classes", k);
    long *tpc = cnt, *gold_c = cnt + k, *pred_c = cnt + 2 * (size_t)k;
    long correct = 0;
    for (int i = 0; i < n; i++) {
        if (pred[i] < 0 || pred[i] >= k || gold[i] < 0 || gold[i] >= k) {
            free(cnt);
            return bd_errf(e, "metrics: row %d: class id %d / %d outside 0..%d", i, pred[i], gold[i], k - 1);
        }
        gold_c[gold[i]]++;
        pred_c[pred[i]]++;
        if (pred[i] == gold[i]) { tpc[gold[i]]++; correct++; }
    }
    m->accuracy = (double)correct / n;
    double f1sum = 0.0;
    double t_sum = 0.0, p_sum = 0.0, tp = 0.0, pp = 0.0;
    for (int c = 0; c < k; c++) {
        double denom = (double)gold_c[c] + pred_c[c];
        f1sum += denom > 0 ? 2.0 * tpc[c] / denom : 0.0;
        t_sum += (double)gold_c[c] * gold_c[c];
        p_sum += (double)pred_c[c] * pred_c[c];
        tp += (double)gold_c[c] * pred_c[c];
        pp += tpc[c];
    }
    m->macro_f1 = f1sum / k;
    /* Gorodkin's R_K, as sklearn.metrics.matthews_corrcoef */
    double s = n, cov_ytyp = pp * s - tp, cov_ypyp = s * s - p_sum, cov_ytyt = s * s - t_sum;
    m->mcc = (cov_ypyp * cov_ytyt == 0.0) ? 0.0 : cov_ytyp / sqrt(cov_ytyt * cov_ypyp);
    free(cnt);
    return 0;
}

double bd_pearson(const double *x, const double *y, int n) {
    if (n < 2) return NAN;
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
    mx /= n; my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        double dx = x[i] - mx, dy = y[i] - my;
        sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
    }
    if (sxx == 0.0 || syy == 0.0) return NAN;
    return sxy / sqrt(sxx * syy);
}

typedef struct { double v; int i; } ranked;

static int cmp_ranked(const void *a, const void *b) {
    double x = ((const ranked *)a)->v, y = ((const ranked *)b)->v;
    return (x > y) - (x < y);
}

static int ranks(const double *x, int n, double *r, bd_err *e) {
    ranked *t = bd_malloc(sizeof *t * (size_t)n, e);
    if (!t) return bd_err_prefix(e, "spearman: ranking %d values", n);
    for (int i = 0; i < n; i++) { t[i].v = x[i]; t[i].i = i; }
    qsort(t, (size_t)n, sizeof *t, cmp_ranked);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && t[j + 1].v == t[i].v) j++;
        double avg = 0.5 * (i + j) + 1.0;
        for (int k = i; k <= j; k++) r[t[k].i] = avg;
        i = j + 1;
    }
    free(t);
    return 0;
}

int bd_spearman(const double *x, const double *y, int n, double *rho, bd_err *e) {
    *rho = NAN;
    if (n < 2) return 0;
    double *rx = bd_malloc(sizeof *rx * (size_t)n, e), *ry = rx ? bd_malloc(sizeof *ry * (size_t)n, e) : NULL;
    int rc = -1;
    if (!rx || !ry) bd_err_prefix(e, "spearman: ranks of %d values", n);
    else if (!ranks(x, n, rx, e) && !ranks(y, n, ry, e)) { *rho = bd_pearson(rx, ry, n); rc = 0; }
    free(rx); free(ry);
    return rc;
}

int bd_fit_slope(const double *x, const double *y, int n, double *k, double *b) {
    if (n < 2) return -1;
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
    mx /= n;
    my /= n;
    double sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    /* relative test: dD values are ~1e-4, an absolute epsilon would reject them */
    if (!(sxx > 1e-300) || !(sxx > 1e-24 * (mx * mx * n + 1e-300))) return -1;
    *k = sxy / sxx;
    *b = my - *k * mx;
    return 0;
}
