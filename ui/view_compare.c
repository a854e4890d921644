/* view_compare.c: the comparison table of the tagged runs (c in the runs
 * browser; compare.h computes it, view_runs.c has its keys). Rows are runs,
 * columns the settings that differ among them, then best@step, final, gap,
 * steps/s, wall. The name column stays; the others scroll (Left/Right) with
 * a marker on the side where columns are hidden. The sort column's title
 * carries an arrow. A run whose config.ini or metrics.csv is bad is marked
 * '!' and the footer says what is wrong with the selected one. */
#include "app.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "text.h"

/* A digest of what the table shows of the tagged runs (FNV-1a). */
static unsigned long long signature(const bd_app *a) {
    unsigned long long h = 1469598103934665603ULL;
#define MIX(p, n) for (size_t k_ = 0; k_ < (n); k_++) { h ^= ((const unsigned char *)(p))[k_]; h *= 1099511628211ULL; }
    for (int i = 0; i < a->runs.n; i++) {
        const bd_run_info *r = &a->runs.r[i];
        if (!r->tagged) continue;
        MIX(r->name, strlen(r->name) + 1);
        MIX(r->err, strlen(r->err) + 1);
        MIX(&r->steps, sizeof r->steps);
        MIX(&r->mf.off, sizeof r->mf.off);
        MIX(&r->wall_mf.off, sizeof r->wall_mf.off);
        MIX(&r->cfg_mtime_ns, sizeof r->cfg_mtime_ns);
    }
#undef MIX
    return h;
}

/* Drop every "DIR/" from msg. */
static void strip_dir(char *msg, const char *dir) {
    char pre[4200];
    bd_fmt(pre, sizeof pre, "%s/", dir);
    size_t n = strlen(pre);
    for (char *p = strstr(msg, pre); p; p = strstr(p, pre)) memmove(p, p + n, strlen(p + n) + 1);
}

void bd_compare_refresh(bd_app *a, int force) {
    unsigned long long sig = signature(a);
    if (!force && sig == a->cmp_sig && a->cmp.rows) return;
    a->cmp_sig = sig;
    bd_cmp_table *t = &a->cmp;
    /* the sort column by what it is (the differing keys may change) */
    bd_cmp_kind kind = BD_CMP_NAME;
    int key = -1;
    if (t->sort_col < t->ncols) { kind = t->cols[t->sort_col].kind; key = t->cols[t->sort_col].key; }
    bd_cmp_free(t);
    int n = 0;
    for (int i = 0; i < a->runs.n; i++) n += a->runs.r[i].tagged;
    t->rows = calloc((size_t)(n ? n : 1), sizeof *t->rows);
    if (!t->rows) { bd_app_message(a, 1, "out of memory"); return; }
    for (int i = 0; i < a->runs.n; i++) {
        const bd_run_info *r = &a->runs.r[i];
        if (!r->tagged) continue;
        bd_cmp_row *row = &t->rows[t->n++];
        bd_fmt(row->name, sizeof row->name, "%s", r->name);
        bd_fmt(row->method, sizeof row->method, "%s", r->method);
        bd_cmp_row_config(row, r->dir);
        bd_cmp_row_metrics(row, &r->data, r->wall_s, r->wall_step);
        if (r->err[0]) { /* metrics.csv is bad: what was read before the bad row is shown, and the error */
            char both[sizeof row->err];
            bd_fmt(both, sizeof both, "%s%s%s", row->err, row->err[0] ? "; " : "", r->err);
            bd_fmt(row->err, sizeof row->err, "%s", both);
        }
        strip_dir(row->err, r->dir); /* the row names the run: "config.ini:1: ..." */
    }
    bd_cmp_build_cols(t);
    t->sort_col = 0;
    for (int c = 0; c < t->ncols; c++)
        if (t->cols[c].kind == kind && t->cols[c].key == key) t->sort_col = c;
    bd_cmp_sort(t);
    a->cmp_sel = 0;
    const char *sel = a->runs_sel < a->runs.n ? a->runs.r[a->runs_sel].name : "";
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->rows[i].name, sel)) a->cmp_sel = i;
    if (a->cmp_left > t->ncols - 2) a->cmp_left = t->ncols > 2 ? t->ncols - 2 : 0;
    if (!t->n) { a->runs_compare = 0; a->rebuild = 1; } /* nothing tagged any more: back to the list */
}

void bd_compare_open(bd_app *a) {
    a->runs_compare = 1;
    a->rebuild = 1;
    a->cmp_top = a->cmp_left = 0;
    bd_compare_refresh(a, 1);
    /* the selection on a row, so that Enter, n, D act on what is highlighted */
    if (a->cmp.n) {
        for (int i = 0; i < a->runs.n; i++)
            if (!strcmp(a->runs.r[i].name, a->cmp.rows[a->cmp_sel].name)) a->runs_sel = i;
    }
    bd_app_message(a, 0, "comparing %d runs: F6 > < sort, I inverts, Left/Right scroll, Esc back", a->cmp.n);
}

/* text clipped to width columns: the head, a marker, the tail */
static void clip(char *out, size_t n, const char *text, int width, int utf8) {
    int len = (int)strlen(text);
    if (len <= width || width < 3) { bd_fmt(out, n, "%.*s", width, text); return; }
    int tail = (width - 1) / 2, head = width - 1 - tail;
    bd_fmt(out, n, "%.*s%s%s", head, text, utf8 ? "\u2026" : "~", text + len - tail);
}

#define KEY_W_MAX 18
#define NAME_W_MAX 28

void bd_compare_draw(bd_app *a, WINDOW *w) {
    werase(w);
    const bd_cmp_table *t = &a->cmp;
    int utf8 = a->term.utf8 && a->term.glyphs != BD_GLYPH_ASCII; /* --ascii: ASCII markers too */
    const char *metric = NULL;
    int mixed = 0;
    for (int i = 0; i < t->n; i++)
        if (t->rows[i].metric) {
            if (metric && strcmp(metric, t->rows[i].metric)) mixed = 1;
            metric = t->rows[i].metric;
        }
    char title[300];
    bd_fmt(title, sizeof title, "compare %d tagged runs: %d setting%s differ%s; eval metric %s", t->n, t->ncols - 6,
           t->ncols - 6 == 1 ? "" : "s", t->ncols - 6 == 1 ? "s" : "", mixed ? "(mixed)" : metric ? metric : "(none yet)");
    bd_box(w, &a->term, title, 1);
    int H = getmaxy(w) - 2, W = getmaxx(w) - 2;
    if (!t->ncols || H < 3) { wnoutrefresh(w); return; }
    attr_t dim = bd_attr(&a->term, BD_C_DIM), head = dim | A_BOLD;
    const char *up = utf8 ? "\u25b2" : "^", *down = utf8 ? "\u25bc" : "v";
    /* column widths: the widest cell or title (+ the sort arrow), capped */
    int width[BD_CMP_MAX_COLS];
    char cell[BD_STR + 64];
    for (int c = 0; c < t->ncols; c++) {
        int wmax = bd_text_width(t->cols[c].title) + 1;
        for (int r = 0; r < t->n; r++) {
            bd_cmp_cell(t, r, c, cell, sizeof cell);
            int cw = bd_text_width(cell) + (c == 0 ? 1 : 0); /* the name's '!' */
            if (cw > wmax) wmax = cw;
        }
        int cap = c == 0 ? NAME_W_MAX : t->cols[c].kind == BD_CMP_KEY ? KEY_W_MAX : 24;
        width[c] = wmax < cap ? wmax : cap;
    }
    if (width[0] > W / 3) width[0] = W / 3 > 8 ? W / 3 : 8;
    /* the scrolled columns that fit after the name and a marker column on each side */
    int x0 = 1 + width[0] + 2, right = W; /* x of the first scrolled column; last usable x + 1 (the > marker at W) */
    int first = 1 + a->cmp_left, last = first;
    for (int x = x0; last < t->ncols && x + width[last] <= right - 1; last++) x += width[last] + 1;
    int more_left = first > 1, more_right = last < t->ncols;
    /* the header: titles, the sort column's arrow */
    for (int c = 0, x = 1; c < t->ncols; c++) {
        if (c > 0 && c < first) continue;
        if (c >= last) break;
        if (c == first) x = x0;
        char ttl[80];
        bd_fmt(ttl, sizeof ttl, "%s", t->cols[c].title);
        clip(cell, sizeof cell, ttl, width[c] - (c == t->sort_col), utf8);
        attr_t at = c == t->sort_col ? bd_attr(&a->term, BD_C_FOCUS) | A_BOLD : head;
        int used = bd_put(w, 1, x, width[c], at, cell);
        if (c == t->sort_col) bd_put(w, 1, x + used, 1, at, t->sort_desc ? down : up);
        x += width[c] + (c == 0 ? 2 : 1);
    }
    attr_t mark = bd_attr(&a->term, BD_C_WARN) | A_BOLD;
    const char *lm = utf8 ? "\u25c0" : "<", *rm = utf8 ? "\u25b6" : ">";
    if (more_left) bd_put(w, 1, x0 - 1, 1, mark, lm);
    if (more_right) bd_put(w, 1, W, 1, mark, rm);
    /* the footer: what is wrong with the selected run (up to 3 lines), or the keys */
    char foot[1200];
    const bd_cmp_row *sr = t->n && a->cmp_sel < t->n ? &t->rows[a->cmp_sel] : NULL;
    int foot_h = 1;
    if (sr && sr->err[0]) {
        bd_fmt(foot, sizeof foot, "! %s: %s", sr->name, sr->err);
        /* wrapped at blanks, up to 3 lines */
        int starts[4] = {0}, lens[3] = {0}, len = (int)strlen(foot), nl = 0;
        for (int at = 0; at < len && nl < 3; nl++) {
            int cut = len - at <= W ? len - at : W;
            if (at + cut < len)
                for (int k = cut; k > W / 2; k--)
                    if (foot[at + k] == ' ') { cut = k; break; }
            starts[nl] = at;
            lens[nl] = cut;
            at += cut;
            while (at < len && foot[at] == ' ') at++;
        }
        foot_h = nl > H - 3 ? (H - 3 > 1 ? H - 3 : 1) : nl ? nl : 1;
        for (int i = 0; i < foot_h; i++) {
            char line[1200];
            bd_fmt(line, sizeof line, "%.*s", lens[i], foot + starts[i]);
            bd_put(w, H - foot_h + 1 + i, 1, W, bd_attr(&a->term, BD_C_ERROR), line);
        }
    }
    /* the rows */
    int rows = H - 1 - foot_h; /* the header above, the footer below */
    if (a->cmp_sel < a->cmp_top) a->cmp_top = a->cmp_sel;
    if (a->cmp_sel >= a->cmp_top + rows) a->cmp_top = a->cmp_sel - rows + 1;
    for (int r = 0; r < rows && a->cmp_top + r < t->n; r++) {
        int ri = a->cmp_top + r, y = 2 + r, sel = ri == a->cmp_sel;
        const bd_cmp_row *row = &t->rows[ri];
        attr_t at = bd_attr(&a->term, sel ? BD_C_SELECT : BD_C_NORMAL);
        if (sel) mvwhline(w, y, 1, ' ' | at, W);
        char name[300];
        clip(name, sizeof name, row->name, width[0] - 1, utf8);
        if (row->err[0]) bd_put(w, y, 1, 1, sel ? at | A_BOLD : bd_attr(&a->term, BD_C_ERROR), "!");
        bd_put(w, y, 2, width[0] - 1, at, name);
        for (int c = first, x = x0; c < last; c++) {
            bd_cmp_cell(t, ri, c, cell, sizeof cell);
            char shown_text[BD_STR + 64];
            clip(shown_text, sizeof shown_text, cell, width[c], utf8);
            int numeric = t->cols[c].kind != BD_CMP_KEY;
            int cw = bd_text_width(shown_text);
            attr_t ca = at;
            if (!sel && t->cols[c].kind == BD_CMP_KEY && !row->vals) ca = bd_attr(&a->term, BD_C_ERROR);
            bd_put(w, y, numeric ? x + width[c] - cw : x, width[c], ca, shown_text); /* numbers right-aligned */
            x += width[c] + 1;
        }
        if (more_left) bd_put(w, y, x0 - 1, 1, sel ? at : mark, lm);
        if (more_right) bd_put(w, y, W, 1, sel ? at : mark, rm);
    }
    if (!sr || !sr->err[0]) {
        bd_fmt(foot, sizeof foot, "columns %d-%d of %d  F6 > < sort  I invert  %s  gap = final eval loss - train loss",
               first, last - 1, t->ncols - 1, more_left || more_right ? "Left/Right scroll" : "Esc back");
        bd_put(w, H, 1, W, dim, foot);
    }
    wnoutrefresh(w);
}
