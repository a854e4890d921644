/* cmp_runs.c: compare two run directories of the same configuration trained on two
 * backends (tests/cli/cuda_parity.sh): every metric row but the timings, value by value,
 * and every tensor of the final adapter (or model, for full fine-tuning).
 *
 *   cmp_runs RUN_A RUN_B TOL [FROM_STEP]
 *
 * A metric matches when |a - b| <= TOL * max(|a|, |b|) + 1e-7 (the floor for values
 * that are 0 on one side: an MCC of 0, a gradient of an untouched row); a tensor when
 * max |a - b| <= TOL * max |b| (relative to the tensor's scale). Two exceptions, both
 * amplifiers of rounding rather than results:
 * - the slope k of the weight decomposition (wd/MODULE/k) is a least-squares fit over a
 *   few (dD, dM) points whose dD differ by ~1e-4 of their size: it amplifies its inputs'
 *   relative differences by their mean over their spread, so it is held to 100 x TOL
 *   (its inputs, the dD and dM rows, are held to TOL);
 * - the key projection's bias (attention.self.key.bias, full fine-tuning): its gradient is
 *   zero in exact arithmetic (it adds q . b to every score of a query row, and the softmax
 *   ignores a constant per row), so both backends' gradients are rounding noise, which
 *   AdamW's normalisation turns into steps of about lr either way: it is reported, not
 *   compared. The two files must
 * hold the same (step, phase, name) rows in the same order. FROM_STEP skips earlier
 * rows. Prints the largest errors; exit 0 when all match, 1 when not, 2 on bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

typedef struct row { long step; char phase[16], name[96]; double value; } row;

static int load_metrics(const char *dir, long from, row **out, int *n) {
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "cmp_runs: %s: cannot open\n", path); return -1; }
    char line[512];
    int cap = 0, k = 0;
    row *r = NULL;
    if (!fgets(line, sizeof line, f)) { fclose(f); fprintf(stderr, "cmp_runs: %s: empty\n", path); return -1; }
    while (fgets(line, sizeof line, f)) {
        row x;
        double wall;
        if (sscanf(line, "%lf,%ld,%15[^,],%95[^,],%lf", &wall, &x.step, x.phase, x.name, &x.value) != 5) {
            fprintf(stderr, "cmp_runs: %s: bad row: %s", path, line);
            fclose(f);
            free(r);
            return -1;
        }
        if (!strncmp(x.name, "time/", 5) || x.step < from) continue;
        if (k == cap) {
            cap = cap ? 2 * cap : 256;
            row *nr = realloc(r, sizeof *r * (size_t)cap);
            if (!nr) { fclose(f); free(r); return -1; }
            r = nr;
        }
        r[k++] = x;
    }
    fclose(f);
    *out = r;
    *n = k;
    return 0;
}

static int open_weights(const char *dir, bd_st *st, char *path, size_t n) {
    bd_err e;
    snprintf(path, n, "%s/adapter/adapter_model.safetensors", dir);
    if (!bd_st_open(st, path, &e)) return 0;
    snprintf(path, n, "%s/adapter/model.safetensors", dir);
    if (!bd_st_open(st, path, &e)) return 0;
    fprintf(stderr, "cmp_runs: %s: no adapter/adapter_model.safetensors or adapter/model.safetensors\n", dir);
    return -1;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: cmp_runs RUN_A RUN_B TOL [FROM_STEP]\n"); return 2; }
    const double tol = atof(argv[3]);
    const long from = argc > 4 ? atol(argv[4]) : 0;
    row *a, *b;
    int na, nb;
    if (load_metrics(argv[1], from, &a, &na) || load_metrics(argv[2], from, &b, &nb)) return 2;
    int bad = 0;
    if (na != nb) { printf("metrics: %d rows against %d\n", na, nb); bad = 1; }
    double worst = 0, kworst = 0;
    int wi = -1;
    for (int i = 0; i < na && i < nb; i++) {
        if (a[i].step != b[i].step || strcmp(a[i].phase, b[i].phase) || strcmp(a[i].name, b[i].name)) {
            printf("metrics: row %d is %ld %s %s against %ld %s %s\n", i, a[i].step, a[i].phase, a[i].name, b[i].step,
                   b[i].phase, b[i].name);
            bad = 1;
            break;
        }
        double d = fabs(a[i].value - b[i].value), s = fmax(fabs(a[i].value), fabs(b[i].value));
        size_t nl = strlen(a[i].name);
        const int slope = !strncmp(a[i].name, "wd/", 3) && nl > 2 && !strcmp(a[i].name + nl - 2, "/k");
        const double t = slope ? 100 * tol : tol;
        double rel = d / (s + 1e-7 / t);
        if (slope) {
            if (rel > kworst) kworst = rel;
        } else if (rel > worst) {
            worst = rel;
            wi = i;
        }
        if (d > t * s + 1e-7) {
            if (bad < 6) printf("metrics: step %ld %s: %.9g against %.9g\n", a[i].step, a[i].name, a[i].value, b[i].value);
            bad++;
        }
    }
    printf("metrics: %d rows, largest relative difference %.2g", na, worst);
    if (wi >= 0) printf(" (step %ld %s: %.9g against %.9g)", a[wi].step, a[wi].name, a[wi].value, b[wi].value);
    printf(", slopes k %.2g\n", kworst);
    free(a);
    free(b);

    bd_st sa, sb;
    char pa[4300], pb[4300];
    if (open_weights(argv[1], &sa, pa, sizeof pa)) return 2;
    if (open_weights(argv[2], &sb, pb, sizeof pb)) { bd_st_close(&sa); return 2; }
    double tworst = 0, kbias = -1;
    const char *tw = "";
    for (int i = 0; i < sa.n_tensors; i++) {
        const bd_st_tensor *ta = &sa.tensors[i], *tb = bd_st_find(&sb, ta->name);
        if (!tb || tb->numel != ta->numel) { printf("weights: %s missing or of another size in %s\n", ta->name, pb); bad = 1; continue; }
        float *x = malloc(sizeof(float) * (size_t)(ta->numel ? ta->numel : 1));
        float *y = malloc(sizeof(float) * (size_t)(ta->numel ? ta->numel : 1));
        bd_err e;
        if (!x || !y || bd_st_read_f32(&sa, ta, x, &e) || bd_st_read_f32(&sb, tb, y, &e)) {
            fprintf(stderr, "cmp_runs: cannot read %s\n", ta->name);
            return 2;
        }
        double dmax = 0, smax = 0;
        for (int64_t j = 0; j < ta->numel; j++) {
            dmax = fmax(dmax, fabs((double)x[j] - y[j]));
            smax = fmax(smax, fabs((double)y[j]));
        }
        double rel = smax > 0 ? dmax / smax : dmax;
        if (strstr(ta->name, "attention.self.key.bias")) {
            if (rel > kbias) kbias = rel;
        } else {
            if (rel > tworst) { tworst = rel; tw = ta->name; }
            if (rel > tol) { printf("weights: %s differs by %.2g of its scale %.3g\n", ta->name, rel, smax); bad = 1; }
        }
        free(x);
        free(y);
    }
    printf("weights: %d tensors, largest relative difference %.2g (%s)", sa.n_tensors, tworst, tw);
    if (kbias >= 0) printf("; key biases (zero gradient, not compared) %.2g", kbias);
    printf("\n");
    if (sa.n_tensors != sb.n_tensors) { printf("weights: %d tensors against %d\n", sa.n_tensors, sb.n_tensors); bad = 1; }
    bd_st_close(&sa);
    bd_st_close(&sb);
    return bad ? 1 : 0;
}
