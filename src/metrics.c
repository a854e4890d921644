#include "metrics.h"

#include <math.h>
#include <stdlib.h>

void bd_cls_metrics_compute(bd_cls_metrics *m, const int *pred, const int *gold, int n, int k) {
    long *conf = calloc((size_t)k * k, sizeof *conf); /* conf[gold][pred] */
    m->accuracy = m->macro_f1 = m->mcc = NAN;
    if (!conf || n <= 0) { free(conf); return; }
    long correct = 0;
    for (int i = 0; i < n; i++) {
        conf[(size_t)gold[i] * k + pred[i]]++;
        correct += pred[i] == gold[i];
    }
    m->accuracy = (double)correct / n;
    double f1sum = 0.0;
    double t_sum = 0.0, p_sum = 0.0, tp = 0.0, pp = 0.0;
    for (int c = 0; c < k; c++) {
        long tpc = conf[(size_t)c * k + c], gold_c = 0, pred_c = 0;
        for (int j = 0; j < k; j++) { gold_c += conf[(size_t)c * k + j]; pred_c += conf[(size_t)j * k + c]; }
        double denom = (double)gold_c + pred_c;
        f1sum += denom > 0 ? 2.0 * tpc / denom : 0.0;
        t_sum += (double)gold_c * gold_c;
        p_sum += (double)pred_c * pred_c;
        tp += (double)gold_c * pred_c;
        pp += tpc;
    }
    m->macro_f1 = f1sum / k;
    /* Gorodkin's R_K, as sklearn.metrics.matthews_corrcoef */
    double s = n, cov_ytyp = pp * s - tp, cov_ypyp = s * s - p_sum, cov_ytyt = s * s - t_sum;
    m->mcc = (cov_ypyp * cov_ytyt == 0.0) ? 0.0 : cov_ytyp / sqrt(cov_ytyt * cov_ypyp);
    free(conf);
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

static int ranks(const double *x, int n, double *r) {
    ranked *t = malloc(sizeof *t * (size_t)n);
    if (!t) return -1;
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

double bd_spearman(const double *x, const double *y, int n) {
    if (n < 2) return NAN;
    double *rx = malloc(sizeof *rx * (size_t)n), *ry = malloc(sizeof *ry * (size_t)n);
    double r = NAN;
    if (rx && ry && !ranks(x, n, rx) && !ranks(y, n, ry)) r = bd_pearson(rx, ry, n);
    free(rx); free(ry);
    return r;
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
