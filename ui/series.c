/* series.c: see series.h. */
#include "series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text.h"

void bd_run_data_init(bd_run_data *d) { memset(d, 0, sizeof *d); }

void bd_run_data_clear(bd_run_data *d) {
    for (int i = 0; i < d->n; i++) { free(d->s[i].x); free(d->s[i].y); }
    d->n = 0;
    d->last = 0;
    d->max_step = 0;
}

void bd_run_data_free(bd_run_data *d) {
    bd_run_data_clear(d);
    free(d->s);
    memset(d, 0, sizeof *d);
}

static int find_index(const bd_run_data *d, const char *name) {
    if (d->last < d->n && !strcmp(d->s[d->last].name, name)) return d->last;
    for (int i = 0; i < d->n; i++)
        if (!strcmp(d->s[i].name, name)) return i;
    return -1;
}

const bd_series *bd_run_data_find(const bd_run_data *d, const char *name) {
    int i = find_index(d, name);
    return i < 0 ? NULL : &d->s[i];
}

int bd_run_data_add(bd_run_data *d, const char *name, long step, double value) {
    int i = find_index(d, name);
    if (i < 0) {
        if (d->n == d->cap) {
            int nc = d->cap ? d->cap * 2 : 32;
            bd_series *ns = realloc(d->s, sizeof *ns * (size_t)nc);
            if (!ns) return -1;
            d->s = ns;
            d->cap = nc;
        }
        i = d->n++;
        memset(&d->s[i], 0, sizeof d->s[i]);
        bd_fmt(d->s[i].name, sizeof d->s[i].name, "%s", name);
    }
    d->last = i;
    bd_series *s = &d->s[i];
    if (s->n && (double)step <= s->x[s->n - 1]) return 0;
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 256;
        double *nx = realloc(s->x, sizeof(double) * (size_t)nc);
        if (!nx) return -1;
        s->x = nx;
        double *ny = realloc(s->y, sizeof(double) * (size_t)nc);
        if (!ny) return -1;
        s->y = ny;
        s->cap = nc;
    }
    s->x[s->n] = (double)step;
    s->y[s->n] = value;
    s->n++;
    if (step > d->max_step) d->max_step = step;
    return 0;
}

/* A follower's row into the run data (the path names an allocation failure). */
typedef struct add_ctx { bd_run_data *d; const char *path; } add_ctx;

static int add_row(void *ctx, double wall, long step, int phase, const char *name, double value, bd_err *e) {
    (void)wall;
    (void)phase;
    add_ctx *c = ctx;
    if (bd_run_data_add(c->d, name, step, value)) return bd_errf(e, "%s: out of memory", c->path);
    return 0;
}

int bd_run_data_load_csv(bd_run_data *d, const char *path, bd_err *e) {
    bd_mfollow f;
    if (bd_mfollow_init(&f, path, e)) return -1;
    add_ctx c = {d, path};
    int restarted;
    return bd_mfollow_poll(&f, BD_MF_FINAL, add_row, &c, &restarted, e) < 0 ? -1 : 0;
}

int bd_run_data_follow(bd_run_data *d, bd_mfollow *f, int *restarted, bd_err *e) {
    add_ctx c = {d, f->path};
    int again, r = bd_mfollow_poll(f, 0, add_row, &c, restarted, e);
    if (*restarted) { /* a step not after a series' last is dropped: start empty */
        bd_run_data_clear(d);
        r = bd_mfollow_poll(f, 0, add_row, &c, &again, e);
    }
    return r;
}

int bd_best_eval(const bd_run_data *d, long *step, double *value, const char **name) {
    static const char *const names[] = {"eval/accuracy", "eval/pearson"};
    for (int k = 0; k < 2; k++) {
        const bd_series *s = bd_run_data_find(d, names[k]);
        if (!s || !s->n) continue;
        int best = -1;
        for (int i = 0; i < s->n; i++)
            if (!isnan(s->y[i]) && (best < 0 || s->y[i] > s->y[best])) best = i;
        if (best < 0) continue;
        *step = (long)s->x[best];
        *value = s->y[best];
        if (name) *name = names[k];
        return 0;
    }
    return -1;
}

double bd_series_at(const bd_series *s, long step) {
    if (!s) return NAN;
    int lo = 0, hi = s->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (s->x[mid] == (double)step) return s->y[mid];
        if (s->x[mid] < (double)step) lo = mid + 1;
        else hi = mid - 1;
    }
    return NAN;
}

/* The mean of s over steps in (from, to], from index *j on (s sorted by step; *j
 * is left at the first step after to, so the windows of a run cost one pass);
 * NaN when it has none there. */
static double window_mean(const bd_series *s, int *j, double from, double to) {
    double sum = 0;
    int n = 0;
    while (*j < s->n && s->x[*j] <= from) (*j)++;
    for (; *j < s->n && s->x[*j] <= to; (*j)++)
        if (isfinite(s->y[*j])) { sum += s->y[*j]; n++; }
    return n ? sum / n : NAN;
}

int bd_overfit_readout(const bd_run_data *d, long at_step, bd_overfit *o) {
    memset(o, 0, sizeof *o);
    const bd_series *ev = bd_run_data_find(d, "eval/loss"), *tr = bd_run_data_find(d, "train/loss");
    if (!ev || !tr) return -1;
    double gaps[3];
    int ng = 0, best = -1, j = 0;
    double prev = -INFINITY;
    for (int i = 0; i < ev->n && ev->x[i] <= (double)at_step; i++) {
        if (!isfinite(ev->y[i])) { prev = ev->x[i]; continue; }
        o->n_evals++;
        o->last_step = (long)ev->x[i];
        if (best < 0 || ev->y[i] <= ev->y[best]) best = i; /* the last time it reached the minimum */
        double t = window_mean(tr, &j, prev, ev->x[i]);
        prev = ev->x[i];
        if (isnan(t)) continue;
        if (ng == 3) { gaps[0] = gaps[1]; gaps[1] = gaps[2]; ng = 2; }
        gaps[ng++] = ev->y[i] - t;
        o->gap = gaps[ng - 1];
    }
    if (best < 0 || !ng) return -1;
    o->min_step = (long)ev->x[best];
    o->min_value = ev->y[best];
    for (int i = best + 1; i < ev->n && ev->x[i] <= (double)at_step; i++) o->rising += isfinite(ev->y[i]);
    /* the slope of the last gaps against 0, 1, 2 */
    if (ng >= 2) {
        double mx = (ng - 1) / 2.0, my = 0, sxy = 0, sxx = 0;
        for (int i = 0; i < ng; i++) my += gaps[i] / ng;
        for (int i = 0; i < ng; i++) { sxy += (i - mx) * (gaps[i] - my); sxx += (i - mx) * (i - mx); }
        o->trend = sxy / sxx;
    }
    return 0;
}

/* "wd/layer.N.MODULE/dM" -> N and MODULE (MODULE may hold dots). */
static int parse_wd(const char *name, int *layer, char *module, size_t n) {
    if (strncmp(name, "wd/layer.", 9)) return -1;
    char *end;
    long l = strtol(name + 9, &end, 10);
    if (end == name + 9 || *end != '.') return -1;
    const char *mod = end + 1, *slash = strrchr(mod, '/');
    if (!slash || strcmp(slash, "/dM") || slash == mod) return -1;
    *layer = (int)l;
    bd_fmt(module, n, "%.*s", (int)(slash - mod), mod);
    return 0;
}

int bd_wd_keys(const bd_run_data *d, bd_wd_key *out, int cap) {
    int n = 0;
    for (int i = 0; i < d->n && n < cap; i++) {
        bd_wd_key k;
        if (parse_wd(d->s[i].name, &k.layer, k.module, sizeof k.module)) continue;
        out[n++] = k;
    }
    return n;
}

int bd_wd_modules(const bd_wd_key *k, int n, char (*out)[48], int cap) {
    int m = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < m; j++) seen |= !strcmp(out[j], k[i].module);
        if (!seen && m < cap) bd_fmt(out[m++], 48, "%s", k[i].module);
    }
    return m;
}

int bd_wd_points(const bd_run_data *d, const char *module, double *dd, double *dm, int cap) {
    bd_wd_key keys[BD_WD_MAX];
    int nk = bd_wd_keys(d, keys, BD_WD_MAX), n = 0;
    for (int i = 0; i < nk; i++) {
        if (strcmp(keys[i].module, module)) continue;
        char name[160];
        bd_fmt(name, sizeof name, "wd/layer.%d.%s/dM", keys[i].layer, keys[i].module);
        const bd_series *sm = bd_run_data_find(d, name);
        bd_fmt(name, sizeof name, "wd/layer.%d.%s/dD", keys[i].layer, keys[i].module);
        const bd_series *sd = bd_run_data_find(d, name);
        if (!sm || !sd) continue;
        for (int j = 0; j < sm->n && n < cap; j++) {
            double x = bd_series_at(sd, (long)sm->x[j]);
            if (!isfinite(x) || !isfinite(sm->y[j])) continue;
            dd[n] = x;
            dm[n] = sm->y[j];
            n++;
        }
    }
    return n;
}
