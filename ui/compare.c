/* compare.c: see compare.h. */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "text.h"

double bd_cmp_gap(const bd_run_data *d) {
    const bd_series *ev = bd_run_data_find(d, "eval/loss"), *tr = bd_run_data_find(d, "train/loss");
    if (!ev || !ev->n || !tr || !tr->n) return NAN;
    double last = ev->x[ev->n - 1], prev = ev->n > 1 ? ev->x[ev->n - 2] : 0;
    double sum = 0;
    int k = 0;
    for (int i = 0; i < tr->n; i++)
        if (tr->x[i] > prev && tr->x[i] <= last && isfinite(tr->y[i])) { sum += tr->y[i]; k++; }
    if (!k || !isfinite(ev->y[ev->n - 1])) return NAN;
    return ev->y[ev->n - 1] - sum / k;
}

void bd_cmp_row_metrics(bd_cmp_row *row, const bd_run_data *d, double wall_s, long last_step) {
    row->metric = NULL;
    row->has_best = row->has_final = 0;
    const char *name = NULL;
    if (bd_best_eval(d, &row->best_step, &row->best, &name) == 0) {
        row->has_best = 1;
        row->metric = name;
        const bd_series *s = bd_run_data_find(d, name);
        if (s && s->n) {
            row->has_final = 1;
            row->final_step = (long)s->x[s->n - 1];
            row->final = s->y[s->n - 1];
        }
    }
    row->gap = bd_cmp_gap(d);
    row->wall = wall_s > 0 && isfinite(wall_s) ? wall_s : NAN;
    row->sps = last_step > 0 && !isnan(row->wall) ? (double)last_step / row->wall : NAN;
}

int bd_cmp_row_config(bd_cmp_row *row, const char *dir) {
    char path[4400];
    bd_err e = {{0}};
    bd_cmp_row_free(row);
    bd_config *c = malloc(sizeof *c);
    int nk = bd_config_n_keys();
    char **vals = calloc((size_t)nk, sizeof *vals);
    if (!c || !vals) { free(c); free(vals); bd_fmt(row->err, sizeof row->err, "out of memory"); return -1; }
    bd_config_defaults(c);
    if (bd_fmt(path, sizeof path, "%s/config.ini", dir) || bd_config_load(c, path, &e)) {
        bd_fmt(row->err, sizeof row->err, "%s", e.msg[0] ? e.msg : "config.ini: path too long");
        free(c);
        free(vals);
        return -1;
    }
    char *buf = malloc(BD_STR + 64);
    for (int i = 0; i < nk && buf; i++) {
        bd_config_key_info k;
        bd_config_key(i, &k);
        buf[0] = '\0';
        bd_config_get(c, k.name, buf, BD_STR + 64);
        vals[i] = strdup(buf);
    }
    free(buf);
    free(c);
    row->vals = vals;
    return 0;
}

int bd_cmp_differing(const bd_cmp_row *rows, int n, int *keys, int cap) {
    int nk = bd_config_n_keys(), found = 0, first = -1, with = 0;
    for (int r = 0; r < n; r++)
        if (rows[r].vals) { with++; if (first < 0) first = r; }
    if (with < 2) return 0;
    for (int k = 0; k < nk && found < cap; k++) {
        bd_config_key_info ki;
        bd_config_key(k, &ki);
        if (!strcmp(ki.name, "run_name")) continue;
        const char *v0 = rows[first].vals[k] ? rows[first].vals[k] : "";
        for (int r = first + 1; r < n; r++) {
            if (!rows[r].vals) continue;
            if (strcmp(v0, rows[r].vals[k] ? rows[r].vals[k] : "")) { keys[found++] = k; break; }
        }
    }
    return found;
}

static void add_col(bd_cmp_table *t, bd_cmp_kind kind, int key, const char *title) {
    if (t->ncols >= BD_CMP_MAX_COLS) return;
    bd_cmp_col *c = &t->cols[t->ncols++];
    c->kind = kind;
    c->key = key;
    bd_fmt(c->title, sizeof c->title, "%s", title);
}

void bd_cmp_build_cols(bd_cmp_table *t) {
    int keys[BD_CMP_MAX_COLS];
    int nd = bd_cmp_differing(t->rows, t->n, keys, BD_CMP_MAX_COLS - 6);
    t->ncols = 0;
    add_col(t, BD_CMP_NAME, -1, "name");
    for (int i = 0; i < nd; i++) {
        bd_config_key_info k;
        bd_config_key(keys[i], &k);
        add_col(t, BD_CMP_KEY, keys[i], k.name);
    }
    add_col(t, BD_CMP_BEST, -1, "best@step");
    add_col(t, BD_CMP_FINAL, -1, "final");
    add_col(t, BD_CMP_GAP, -1, "gap");
    add_col(t, BD_CMP_SPS, -1, "steps/s");
    add_col(t, BD_CMP_WALL, -1, "wall");
    if (t->sort_col >= t->ncols || t->sort_col < 0) t->sort_col = 0;
}

/* A cell's value for sorting: a number (ok = 1), text (ok = 2), or unknown (ok = 0). */
static double sort_value(const bd_cmp_row *r, const bd_cmp_col *c, const char **text, int *ok) {
    *ok = 1;
    *text = NULL;
    double v = NAN;
    switch (c->kind) {
    case BD_CMP_NAME: *text = r->name; *ok = 2; return 0;
    case BD_CMP_KEY: {
        if (!r->vals || !r->vals[c->key]) { *ok = 0; return 0; }
        const char *s = r->vals[c->key];
        char *end;
        v = strtod(s, &end);
        if (s[0] && !*end && isfinite(v)) return v;
        *text = s;
        *ok = 2;
        return 0;
    }
    case BD_CMP_BEST: v = r->has_best ? r->best : NAN; break;
    case BD_CMP_FINAL: v = r->has_final ? r->final : NAN; break;
    case BD_CMP_GAP: v = r->gap; break;
    case BD_CMP_SPS: v = r->sps; break;
    case BD_CMP_WALL: v = r->wall; break;
    }
    if (isnan(v)) *ok = 0;
    return v;
}

static int cmp_rows(const bd_cmp_row *a, const bd_cmp_row *b, const bd_cmp_col *c, int desc) {
    const char *ta, *tb;
    int oa, ob;
    double va = sort_value(a, c, &ta, &oa), vb = sort_value(b, c, &tb, &ob);
    int d = 0;
    if (!oa || !ob) {
        if (oa != ob) return oa ? -1 : 1; /* unknown last, in either direction */
    } else if (oa != ob) {
        d = oa < ob ? -1 : 1; /* numbers before text */
    } else if (oa == 1) {
        d = va < vb ? -1 : va > vb;
    } else {
        d = strcmp(ta, tb);
    }
    if (desc) d = -d;
    return d ? d : strcmp(a->name, b->name);
}

void bd_cmp_sort(bd_cmp_table *t) {
    if (t->sort_col < 0 || t->sort_col >= t->ncols) return;
    const bd_cmp_col *c = &t->cols[t->sort_col];
    /* insertion sort: a handful of rows, and stable */
    for (int i = 1; i < t->n; i++) {
        bd_cmp_row x = t->rows[i];
        int j = i - 1;
        while (j >= 0 && cmp_rows(&t->rows[j], &x, c, t->sort_desc) > 0) { t->rows[j + 1] = t->rows[j]; j--; }
        t->rows[j + 1] = x;
    }
}

void bd_cmp_fmt_wall(char *buf, size_t n, double s) {
    if (isnan(s) || s < 0) bd_fmt(buf, n, "-");
    else if (s < 60) bd_fmt(buf, n, "%.1fs", s);
    else if (s < 3600) bd_fmt(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else bd_fmt(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

static void fmt_num(char *buf, size_t n, double v, const char *fmt) {
    if (isnan(v)) bd_fmt(buf, n, "-");
    else bd_fmt(buf, n, fmt, v);
}

void bd_cmp_cell(const bd_cmp_table *t, int row, int col, char *buf, size_t n) {
    const bd_cmp_row *r = &t->rows[row];
    const bd_cmp_col *c = &t->cols[col];
    switch (c->kind) {
    case BD_CMP_NAME: bd_fmt(buf, n, "%s", r->name); break;
    case BD_CMP_KEY: bd_fmt(buf, n, "%s", r->vals && r->vals[c->key] ? r->vals[c->key] : "?"); break;
    case BD_CMP_BEST:
        if (r->has_best) bd_fmt(buf, n, "%.4f@%ld", r->best, r->best_step);
        else bd_fmt(buf, n, "-");
        break;
    case BD_CMP_FINAL: fmt_num(buf, n, r->has_final ? r->final : NAN, "%.4f"); break;
    case BD_CMP_GAP: fmt_num(buf, n, r->gap, "%+.4f"); break;
    case BD_CMP_SPS: fmt_num(buf, n, r->sps, r->sps >= 100 ? "%.0f" : "%.1f"); break;
    case BD_CMP_WALL: bd_cmp_fmt_wall(buf, n, r->wall); break;
    }
}

void bd_cmp_row_free(bd_cmp_row *row) {
    if (row->vals) {
        int nk = bd_config_n_keys();
        for (int i = 0; i < nk; i++) free(row->vals[i]);
        free(row->vals);
        row->vals = NULL;
    }
}

void bd_cmp_free(bd_cmp_table *t) {
    for (int i = 0; i < t->n; i++) bd_cmp_row_free(&t->rows[i]);
    free(t->rows);
    t->rows = NULL;
    t->n = 0;
    t->ncols = 0;
}
