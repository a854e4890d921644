/* view_run.c: the run view: the status line, the loss chart (train, BiDoRA's
 * upper-level loss on D_val, eval; the eval minimum marked; the overfitting
 * readout), the eval metrics, the hypergradient norm, the weight-decomposition
 * panels (dM or dD per layer over steps beside a layers x modules heatmap; the
 * dD-dM scatter coloured by step with its least-squares slope k; the change of
 * the magnitude vector of one layer) and the log. Under each chart a key line
 * names every series with its value (the newest, or at the cursor's step).
 * Each chart is described by bd_run_panel_spec, which drawing and export share. */
#include "app.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "draw.h"
#include "model.h"
#include "text.h"

static void add(bd_chart_spec *s, const bd_run_data *d, const char *name, int colour, const char *label, int smooth) {
    const bd_series *se = bd_run_data_find(d, name);
    if (!se || !se->n || s->ns >= BD_CHART_SERIES) return;
    s->s[s->ns++] = (bd_chart_series){se->x, se->y, se->n, colour, label, 0, smooth};
}

/* " EMA 0.60" / " log-y" for a title. */
static void smooth_tag(char *buf, size_t n, const bd_chart_spec *s, int smoothed) {
    char e[32] = "";
    if (smoothed) bd_fmt(e, sizeof e, s->ema > 0 ? "  EMA %.2f" : "  EMA off", s->ema);
    bd_fmt(buf, n, "%s%s", e, s->logy ? "  log-y" : "");
}

static const char *module_name(const bd_app *a) {
    return a->module >= 0 && a->module < BD_N_MODS ? bd_mod_names[a->module] : "query";
}

/* One series per layer of the selected module: dM (or dD) over steps. */
static void wd_lines(bd_app *a, const bd_run_data *d, bd_chart_spec *s) {
    bd_wd_key keys[BD_WD_MAX];
    int nk = bd_wd_keys(d, keys, BD_WD_MAX);
    char (*labels)[16] = a->labels;
    for (int i = 0; i < nk && s->ns < BD_CHART_SERIES; i++) {
        if (strcmp(keys[i].module, module_name(a))) continue;
        char name[128];
        bd_fmt(name, sizeof name, "wd/layer.%d.%s/%s", keys[i].layer, keys[i].module, a->wd_dd ? "dD" : "dM");
        bd_fmt(labels[s->ns], 16, "L%d", keys[i].layer);
        add(s, d, name, BD_C_SERIES0 + keys[i].layer % BD_N_SERIES_COLOURS, labels[s->ns], 0);
    }
}

/* dD (x) against dM (y): one point per layer per checkpoint, coloured by
 * the checkpoint's step: early, middle and late thirds of the run so far. */
static void wd_scatter(bd_app *a, const bd_run_data *d, bd_chart_spec *s) {
    bd_wd_key keys[BD_WD_MAX];
    int nk = bd_wd_keys(d, keys, BD_WD_MAX), used = 0;
    double steps[BD_SCATTER_MAX], last = 0;
    for (int pass = 0; pass < 2; pass++) /* pass 0: the last step; pass 1: the points, a third at a time */
        for (int third = 0; third < (pass ? 3 : 1); third++) {
            int start = used;
            for (int i = 0; i < nk; i++) {
                if (strcmp(keys[i].module, module_name(a))) continue;
                char nm[128], nd[128];
                bd_fmt(nm, sizeof nm, "wd/layer.%d.%s/dM", keys[i].layer, keys[i].module);
                bd_fmt(nd, sizeof nd, "wd/layer.%d.%s/dD", keys[i].layer, keys[i].module);
                const bd_series *sm = bd_run_data_find(d, nm), *sd = bd_run_data_find(d, nd);
                if (!sm || !sd) continue;
                for (int j = 0; j < sm->n; j++) {
                    double x = bd_series_at(sd, (long)sm->x[j]);
                    if (!isfinite(x) || !isfinite(sm->y[j])) continue;
                    if (a->cursor_on && sm->x[j] > (double)a->cursor_step) continue;
                    if (!pass) { last = fmax(last, sm->x[j]); continue; }
                    int t = last > 0 ? (int)(3 * sm->x[j] / (last + 1)) : 0;
                    if (t != third || used >= BD_SCATTER_MAX) continue;
                    a->sc_x[used] = x;
                    a->sc_y[used] = sm->y[j];
                    steps[used++] = sm->x[j];
                }
            }
            if (!pass || used == start) continue;
            static const int colours[3] = {BD_C_SERIES1, BD_C_SERIES2, BD_C_SERIES0}; /* early, middle, late */
            double lo = steps[start], hi = steps[start];
            for (int k = start; k < used; k++) { lo = fmin(lo, steps[k]); hi = fmax(hi, steps[k]); }
            int k = s->ns++;
            bd_fmt(a->labels[k], 16, "%s%.0f-%.0f", s->ns > 1 ? "" : "steps ", lo, hi);
            s->s[k] = (bd_chart_series){a->sc_x + start, a->sc_y + start, used - start, colours[third], a->labels[k], 1, 0};
        }
    s->fit = 1;
    s->fit_colour = BD_C_FIT;
    s->x_from_zero = 0;
    s->xtitle = "dD";
    s->ytitle = "dM";
}

/* The change of the magnitude vector, m - ||W0 row||, per row (the W0 row
 * norms are the reference: the key line gives their range). */
static void magnitudes(bd_app *a, bd_chart_spec *s) {
    if (a->show_opened || !a->live->have_mag) return;
    const bd_mag_snapshot *m = &a->live->mag;
    for (int j = 0; j < m->n; j++) {
        a->mag_x[j] = j;
        a->mag_y[j] = m->m[j] - m->m0[j];
        a->mag_y0[j] = 0;
    }
    s->s[s->ns++] = (bd_chart_series){a->mag_x, a->mag_y0, m->n, BD_C_DIM, "0", 0, 0};
    s->s[s->ns++] = (bd_chart_series){a->mag_x, a->mag_y, m->n, BD_C_SERIES0, "m - ||W0||", 0, 0};
    s->x_from_zero = 1;
    s->xtitle = "row";
}

int bd_run_panel_spec(bd_app *a, int p, bd_chart_spec *s, char *title, int title_n) {
    const bd_run_data *d = bd_app_shown(a);
    memset(s, 0, sizeof *s);
    s->ema = a->ema;
    s->logy = p >= 0 && p < BD_RUN_PANELS ? a->logy[p] : 0;
    s->x_from_zero = 1;
    s->xtitle = "step";
    s->has_cursor = a->cursor_on && p != BD_P_SCATTER && p != BD_P_MAG;
    s->cx = (double)a->cursor_step;
    long best_step;
    double best;
    const char *best_name;
    int has_best = bd_best_eval(d, &best_step, &best, &best_name) == 0;
    size_t tn = (size_t)title_n;
    char tag[48], at[32] = "";
    if (s->has_cursor) bd_fmt(at, sizeof at, "  @ step %ld", a->cursor_step);
    switch (p) {
    case BD_P_LOSS: {
        add(s, d, "train/loss", BD_C_TRAIN, "train", 1);
        add(s, d, "val/loss", BD_C_VAL, "upper: m's loss on D_val", 1);
        add(s, d, "eval/loss", BD_C_EVAL, "eval", 0);
        a->have_overfit = !bd_overfit_readout(d, a->cursor_on ? a->cursor_step : LONG_MAX, &a->overfit);
        if (a->have_overfit) {
            s->has_marker = 1; /* where eval loss last reached its minimum */
            s->mx = (double)a->overfit.min_step;
            s->my = a->overfit.min_value;
            s->marker_colour = BD_C_MARKER;
        }
        smooth_tag(tag, sizeof tag, s, 1);
        bd_fmt(title, tn, "loss%s%s", tag, at);
        return 0;
    }
    case BD_P_EVAL:
        add(s, d, "eval/accuracy", BD_C_SERIES2, "acc", 0);
        add(s, d, "eval/f1", BD_C_SERIES0, "f1", 0);
        add(s, d, "eval/mcc", BD_C_SERIES1, "mcc", 0);
        add(s, d, "eval/pearson", BD_C_SERIES2, "pearson", 0);
        add(s, d, "eval/spearman", BD_C_SERIES0, "spearman", 0);
        smooth_tag(tag, sizeof tag, s, 0);
        if (has_best) {
            s->has_marker = 1;
            s->mx = (double)best_step;
            s->my = best;
            s->marker_colour = BD_C_MARKER;
            bd_fmt(title, tn, "eval  best %s %.4f @ %ld%s%s", best_name + 5, best, best_step, tag, at);
        } else {
            bd_fmt(title, tn, "eval metrics%s%s", tag, at);
        }
        return 0;
    case BD_P_HYPER:
        smooth_tag(tag, sizeof tag, s, 1);
        if (bd_run_data_find(d, "upper/hypergrad_norm")) {
            add(s, d, "upper/hypergrad_norm", BD_C_VAL, "||h||", 1);
            bd_fmt(title, tn, "hypergradient norm (upper level)%s%s", tag, at);
        } else {
            add(s, d, "train/grad_norm", BD_C_TRAIN, "||g||", 1);
            bd_fmt(title, tn, "gradient norm (no upper level)%s%s", tag, at);
        }
        return 0;
    case BD_P_WD:
        wd_lines(a, d, s);
        smooth_tag(tag, sizeof tag, s, 0);
        bd_fmt(title, tn, "%s per layer: %s%s%s", a->wd_dd ? "dD" : "dM", module_name(a), tag, at);
        return 0;
    case BD_P_SCATTER: {
        wd_scatter(a, d, s);
        int pts = 0;
        for (int i = 0; i < s->ns; i++) pts += s->s[i].n;
        double k, b;
        /* the same fit the chart draws: every point of the module */
        if (pts >= 2 && !bd_fit_slope(a->sc_x, a->sc_y, pts, &k, &b))
            bd_fmt(title, tn, "dD-dM %s  k = %+.3g %s 0 (%d pts)%s", module_name(a), k, k < 0 ? "<" : ">=", pts,
                   a->cursor_on ? "  to the cursor" : "");
        else bd_fmt(title, tn, "dD-dM %s  k: needs 2 checkpoints", module_name(a));
        return 0;
    }
    case BD_P_MAG:
        magnitudes(a, s);
        if (a->show_opened) bd_fmt(title, tn, "magnitudes: live runs only");
        else if (!strcmp(a->run_method, "full")) bd_fmt(title, tn, "magnitudes: none in full fine-tuning");
        else if (a->live->have_mag)
            bd_fmt(title, tn, "m - ||W0|| layer %d %s @%ld", a->live->mag.layer, a->live->mag.module, a->live->mag.step);
        else bd_fmt(title, tn, "magnitude m: layer %d %s", a->layer, module_name(a));
        return 0;
    default:
        return -1;
    }
}

/* The value of se at step (the last point at or before it); its newest without a cursor. */
static double value_at(const bd_app *a, const bd_chart_series *se) {
    if (!se->n) return NAN;
    if (!a->cursor_on) return se->y[se->n - 1];
    double v = NAN;
    for (int i = 0; i < se->n && se->x[i] <= (double)a->cursor_step; i++) v = se->y[i];
    return v;
}

#define BD_KEYS 32
typedef struct key_line {
    int n;
    char text[BD_KEYS][96];
    int colour[BD_KEYS], series[BD_KEYS]; /* series -1: a note, no line or mark */
} key_line;

static void key_add(key_line *k, int colour, int series, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void key_add(key_line *k, int colour, int series, const char *fmt, ...) {
    if (k->n >= BD_KEYS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->text[k->n], sizeof k->text[0], fmt, ap);
    va_end(ap);
    k->colour[k->n] = colour;
    k->series[k->n++] = series;
}

/* What the key line under panel p says: every series with its value, then the panel's notes. */
static void panel_keys(bd_app *a, int p, const bd_chart_spec *s, key_line *k) {
    memset(k, 0, sizeof *k);
    for (int i = 0; i < s->ns; i++) {
        if (p == BD_P_MAG && i == 0) continue; /* the zero line */
        char num[16];
        if (p == BD_P_SCATTER) { key_add(k, s->s[i].colour, i, "%s", s->s[i].label); continue; }
        bd_fmt_num(num, 9, value_at(a, &s->s[i]));
        key_add(k, s->s[i].colour, i, "%s %s", s->s[i].label, num);
    }
    if (p == BD_P_LOSS) {
        const bd_overfit o = a->overfit; /* bd_run_panel_spec's, for this frame */
        if (a->have_overfit) {
            char g[16], t[16];
            bd_fmt_num(g, 8, o.gap);
            bd_fmt_num(t, 8, o.trend);
            key_add(k, o.gap > 0 && o.trend > 0 ? BD_C_WARN : BD_C_DIM, -1, "eval-train gap %s%s (%s%s/eval)",
                    o.gap > 0 ? "+" : "", g, o.trend > 0 ? "+" : "", t);
            if (o.rising)
                key_add(k, BD_C_WARN, -1, "eval loss has risen for %d evaluation%s since step %ld", o.rising,
                        o.rising == 1 ? "" : "s", o.min_step);
            else key_add(k, BD_C_DIM, -1, "eval loss at its minimum (step %ld)", o.min_step);
        }
    } else if (p == BD_P_SCATTER && s->ns) {
        key_add(k, BD_C_DIM, -1, "papers: LoRA k > 0; DoRA, FT k < 0");
    } else if (p == BD_P_MAG && a->live->have_mag && !a->show_opened) {
        const bd_mag_snapshot *m = &a->live->mag;
        double lo = INFINITY, hi = -INFINITY, mean = 0;
        for (int j = 0; j < m->n; j++) { lo = fmin(lo, m->m0[j]); hi = fmax(hi, m->m0[j]); mean += m->m0[j] / m->n; }
        char l[16], h[16], mn[16];
        bd_fmt_num(l, 8, lo);
        bd_fmt_num(h, 8, hi);
        bd_fmt_num(mn, 8, mean);
        key_add(k, BD_C_DIM, -1, "||W0 row|| %s..%s, mean %s", l, h, mn);
    }
}

/* The key line on rows [y, y + rows) of w, from column x, width W: entries whole or not at all;
 * "+N" when some do not fit. Returns the rows used. */
static int draw_keys(bd_app *a, WINDOW *w, int y, int x, int W, int rows, const key_line *k) {
    int wid[BD_KEYS], row[BD_KEYS], col[BD_KEYS];
    for (int i = 0; i < k->n; i++) wid[i] = bd_text_width(k->text[i]) + (k->series[i] >= 0 ? 3 : 0);
    int placed = bd_key_layout(wid, k->n, W - (k->n > 1 ? 4 : 0), rows, 2, row, col), used = 0;
    for (int i = 0; i < placed; i++) {
        if (k->series[i] >= 0)
            bd_legend_mark(w, y + row[i], x + col[i], wid[i], &a->term, k->colour[i], k->series[i], k->text[i]);
        else bd_put(w, y + row[i], x + col[i], wid[i], bd_attr(&a->term, k->colour[i]), k->text[i]);
        if (row[i] + 1 > used) used = row[i] + 1;
    }
    if (placed < k->n && placed > 0) {
        char more[16];
        bd_fmt(more, sizeof more, "+%d", k->n - placed);
        bd_put(w, y + row[placed - 1], x + W - (int)strlen(more), (int)strlen(more), bd_attr(&a->term, BD_C_DIM), more);
    }
    return used;
}

/* Rows the key line needs at width W (at most max). */
static int key_rows(const key_line *k, int W, int max) {
    int wid[BD_KEYS], row[BD_KEYS], col[BD_KEYS];
    for (int i = 0; i < k->n; i++) wid[i] = bd_text_width(k->text[i]) + (k->series[i] >= 0 ? 3 : 0);
    for (int r = 1; r < max; r++)
        if (bd_key_layout(wid, k->n, W - 4, r, 2, row, col) == k->n) return r;
    return max;
}

/* Layers x modules of the newest dM (or dD), shaded on one scale from 0 to the largest cell,
 * with the scale under it. */
static int heatmap_width(bd_app *a) {
    bd_wd_key keys[BD_WD_MAX];
    char mods[BD_N_MODS + 4][48];
    int nk = bd_wd_keys(bd_app_shown(a), keys, BD_WD_MAX), nm = bd_wd_modules(keys, nk, mods, BD_N_MODS + 4);
    return nk ? 4 + 5 * (nm > 2 ? nm : 2) + 8 : 0; /* layer names, a cell a module, the scale's number */
}

static void draw_heatmap(bd_app *a, WINDOW *w, int y, int x, int W, int H) {
    const bd_run_data *d = bd_app_shown(a);
    bd_wd_key keys[BD_WD_MAX];
    int nk = bd_wd_keys(d, keys, BD_WD_MAX), nl = 0;
    char mods[BD_N_MODS + 4][48];
    int nm = bd_wd_modules(keys, nk, mods, BD_N_MODS + 4);
    for (int i = 0; i < nk; i++) if (keys[i].layer + 1 > nl) nl = keys[i].layer + 1;
    attr_t dim = bd_attr(&a->term, BD_C_DIM);
    if (!nk || H < 4) return;
    const int cw = 5, rows = H - 2 < nl ? H - 2 : nl;
    double vmax = 0, val[64][BD_N_MODS + 4];
    for (int l = 0; l < rows && l < 64; l++)
        for (int m = 0; m < nm; m++) {
            char name[128];
            bd_fmt(name, sizeof name, "wd/layer.%d.%s/%s", l, mods[m], a->wd_dd ? "dD" : "dM");
            const bd_series *se = bd_run_data_find(d, name);
            double v = NAN;
            if (se) for (int i = 0; i < se->n && (!a->cursor_on || se->x[i] <= (double)a->cursor_step); i++) v = se->y[i];
            val[l][m] = v;
            if (isfinite(v)) vmax = fmax(vmax, fabs(v));
        }
    static const unsigned shade_u[5] = {' ', 0x2591, 0x2592, 0x2593, 0x2588};
    static const char shade_a[6] = " .:=#@";
    const int ns = a->term.utf8 ? 5 : 6;
    for (int m = 0; m < nm && 4 + (m + 1) * cw <= W; m++) bd_putf(w, y, x + 4 + m * cw, cw, dim, "%.4s", mods[m]);
    for (int l = 0; l < rows; l++) {
        bd_putf(w, y + 1 + l, x, 4, dim, "L%d", l);
        for (int m = 0; m < nm && 4 + (m + 1) * cw <= W; m++) {
            double v = val[l][m];
            int lvl = !isfinite(v) || vmax <= 0 ? 0 : (int)lround(fabs(v) / vmax * (ns - 1));
            for (int c = 0; c < cw - 1; c++)
                bd_put_glyph(w, y + 1 + l, x + 4 + m * cw + c, a->term.utf8 ? shade_u[lvl] : (unsigned)shade_a[lvl],
                             bd_attr(&a->term, BD_C_SERIES0));
        }
    }
    char hi[16];
    bd_fmt_num(hi, 8, vmax);
    int cx = bd_putf(w, y + 1 + rows, x, W, dim, "0 ");
    for (int lvl = 1; lvl < ns && cx < W; lvl++, cx++)
        bd_put_glyph(w, y + 1 + rows, x + cx, a->term.utf8 ? shade_u[lvl] : (unsigned)shade_a[lvl], bd_attr(&a->term, BD_C_SERIES0));
    bd_put(w, y + 1 + rows, x + cx, W - cx, dim, " ");
    bd_put(w, y + 1 + rows, x + cx + 1, W - cx - 1, dim, hi);
}

static void draw_chart_panel(bd_app *a, WINDOW *w, int p, int focused) {
    bd_chart_spec s;
    char title[200];
    bd_run_panel_spec(a, p, &s, title, sizeof title);
    werase(w);
    bd_box(w, &a->term, title, focused);
    int H = getmaxy(w) - 2, W = getmaxx(w) - 2;
    key_line k;
    panel_keys(a, p, &s, &k);
    /* the key line under the chart: up to a third of the rows (one at least from 5 rows) */
    int kr = H >= 5 && k.n ? key_rows(&k, W, H / 3 > 1 ? H / 3 : 1) : 0;
    if (kr) draw_keys(a, w, 1 + H - kr, 1, W, kr, &k);
    int CW = W, ch = H - kr;
    /* the weight panel keeps its curves and, where there is room, the heatmap beside them */
    int hw = p == BD_P_WD && ch >= 5 ? heatmap_width(a) : 0;
    if (hw && W - hw - 1 >= 24) {
        CW = W - hw - 1;
        draw_heatmap(a, w, 1, 1 + CW + 1, hw, ch);
    }
    bd_chart_frame f;
    if (ch >= 1 && CW >= 4 && !bd_chart_build(&f, &s, CW, ch, a->term.glyphs)) {
        bd_draw_chart(w, 1, 1, &f, &a->term);
        bd_chart_frame_free(&f);
    }
    wnoutrefresh(w);
}

static void draw_log(bd_app *a, WINDOW *w, int focused) {
    werase(w);
    char title[64];
    bd_fmt(title, sizeof title, a->log_scroll ? "log (scrolled %d)" : "log", a->log_scroll);
    bd_box(w, &a->term, title, focused);
    int H = getmaxy(w) - 2, W = getmaxx(w) - 2;
    for (int r = 0; r < H; r++) {
        const char *line = bd_live_log(a->live, a->log_scroll + (H - 1 - r));
        if (line) bd_put(w, 1 + r, 1, W, bd_attr(&a->term, BD_C_NORMAL), line);
    }
    wnoutrefresh(w);
}

void bd_run_view_draw(bd_app *a) {
    if (a->zoom) {
        if (!a->panel[0]) return;
        if (a->focus == BD_P_LOG) draw_log(a, a->panel[0], 1);
        else draw_chart_panel(a, a->panel[0], a->focus, 1);
        return;
    }
    for (int p = 0; p < BD_RUN_PANELS && p < a->n_panel; p++) {
        if (!a->panel[p]) continue;
        if (p == BD_P_LOG) draw_log(a, a->panel[p], a->focus == p);
        else draw_chart_panel(a, a->panel[p], p, a->focus == p);
    }
}

static const char *state_name(const bd_app *a) {
    if (a->stopping) return "stopping";
    int paused = a->run_active && bd_channel_pause_requested(a->ch); /* also when a remote viewer paused it */
    if (paused) return a->live->st.state == BD_RUN_PAUSED ? "paused" : "pausing";
    if (a->run_active && a->live->st.state == BD_RUN_PAUSED) return "resuming"; /* until the next step */
    static const char *const names[] = {"starting", "loading", "running", "paused", "done", "stopped", "failed"};
    int s = a->live->st.state;
    if (!a->run_active && s == BD_RUN_IDLE) return "idle";
    return s >= 0 && s <= BD_RUN_FAILED ? names[s] : "?";
}

void bd_status_draw(bd_app *a) {
    WINDOW *w = a->win_status;
    if (!w) return;
    const bd_status *st = &a->live->st;
    const char *sep = a->term.utf8 ? " \u2502 " : " | ";
    char line[2048], eta[32], el[32];
    if (a->view == BD_VIEW_RUN && a->show_opened) {
        char live[64] = "from metrics.csv"; /* followed either way (follow.c); live when a process trains it */
        if (a->opened_pid > 0) bd_fmt(live, sizeof live, "live (pid %ld): following metrics.csv", a->opened_pid);
        else if (a->opened_pid) bd_fmt(live, sizeof live, "live: following metrics.csv");
        bd_fmt(line, sizeof line, " bidora%sviewing %s%s%s%s%ld %s%s%s", sep, a->opened_name, sep,
               a->opened_method, sep, a->opened.max_step, bd_plural(a->opened.max_step, "step", "steps"), sep, live);
    } else if (!a->channel_used) {
        bd_fmt(line, sizeof line, " bidora%sidle%s%s%s%s%sF5 starts a run", sep, sep, a->cfg_path, sep,
               bd_method_names[a->cfg.method & 3], sep);
    } else {
        bd_fmt_duration(eta, sizeof eta, st->eta_s);
        bd_fmt_duration(el, sizeof el, st->elapsed_s);
        const char *dir = st->run_dir[0] ? st->run_dir : "(creating run directory)";
        char state[64];
        if (a->attached) bd_fmt(state, sizeof state, "%s (attached to pid %ld)", state_name(a), st->pid);
        else bd_fmt(state, sizeof state, "%s", state_name(a));
        char rate[32];
        bd_fmt(line, sizeof line, " %s%sstep %ld/%ld%s%s%sphase %d%s%s%sETA %s%s%s%smem %.1f MB%s%s",
               state, sep, st->step, st->total, sep, st->method[0] ? st->method : a->run_method, sep, st->phase ? st->phase : 1, sep,
               bd_fmt_rate(rate, sizeof rate, st->steps_per_s), sep, eta, sep, st->device[0] ? st->device : a->run_backend, sep,
               st->mem_bytes / 1048576.0, sep, dir);
    }
    werase(w);
    attr_t at = bd_attr(&a->term, BD_C_STATUS);
    wbkgdset(w, (chtype)at | ' ');
    werase(w);
    bd_put(w, 0, 0, getmaxx(w), at, line);
    wnoutrefresh(w);
}

int bd_run_export(bd_app *a) {
    int p = a->view == BD_VIEW_RUN ? a->focus : -1;
    bd_chart_spec s;
    char title[160];
    if (p < 0 || p == BD_P_LOG || bd_run_panel_spec(a, p, &s, title, sizeof title)) {
        bd_app_message(a, 1, "focus a chart (Tab) to export its series");
        return -1;
    }
    if (!s.ns) { bd_app_message(a, 1, "this chart has no data yet"); return -1; }
    bd_export_series ex[BD_CHART_SERIES];
    static const char *const panel_names[] = {"loss", "eval", "hypergrad", "wd", "scatter", "magnitudes"};
    for (int i = 0; i < s.ns; i++) ex[i] = (bd_export_series){s.s[i].label, s.s[i].x, s.s[i].y, s.s[i].n};
    char what[128], path[BD_STR + 200];
    bd_fmt(what, sizeof what, "%s-%s", panel_names[p], p >= BD_P_WD && p <= BD_P_MAG ? module_name(a) : "run");
    bd_export_path(path, sizeof path, a->cfg.out_dir, what);
    mkdir(a->cfg.out_dir, 0755); /* a first export may come before any run made it */
    bd_err e = {{0}};
    int rows = bd_export_csv(path, p == BD_P_SCATTER ? "dD" : p == BD_P_MAG ? "row" : "step", ex, s.ns, &e);
    if (rows < 0) { bd_app_message(a, 1, "export failed: %s", e.msg); return -1; }
    bd_app_message(a, 0, "exported %d series (%d %s) to %s", s.ns, rows, bd_plural(rows, "row", "rows"), path);
    return 0;
}
