/* view_run.c: the run view: the status line, the loss chart (train, val =
 * BiDoRA's upper level, eval; best eval marked), the eval metrics, the
 * hypergradient norm, the weight-decomposition panels (dM or dD per layer
 * over steps; the dD-dM scatter with its least-squares slope k; the
 * magnitude vector of one layer) and the log. Each chart is described by
 * bd_run_panel_spec, which drawing and export share. */
#include "app.h"

#include <math.h>
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

/* dD (x) against dM (y): one point per layer per checkpoint, a colour per layer. */
static void wd_scatter(bd_app *a, const bd_run_data *d, bd_chart_spec *s) {
    bd_wd_key keys[BD_WD_MAX];
    int nk = bd_wd_keys(d, keys, BD_WD_MAX), used = 0;
    char (*labels)[16] = a->labels;
    for (int i = 0; i < nk && s->ns < BD_CHART_SERIES; i++) {
        if (strcmp(keys[i].module, module_name(a))) continue;
        char nm[128], nd[128];
        bd_fmt(nm, sizeof nm, "wd/layer.%d.%s/dM", keys[i].layer, keys[i].module);
        bd_fmt(nd, sizeof nd, "wd/layer.%d.%s/dD", keys[i].layer, keys[i].module);
        const bd_series *sm = bd_run_data_find(d, nm), *sd = bd_run_data_find(d, nd);
        if (!sm || !sd) continue;
        int start = used;
        for (int j = 0; j < sm->n && used < BD_SCATTER_MAX; j++) {
            double x = bd_series_at(sd, (long)sm->x[j]);
            if (!isfinite(x) || !isfinite(sm->y[j])) continue;
            a->sc_x[used] = x;
            a->sc_y[used] = sm->y[j];
            used++;
        }
        if (used == start) continue;
        int k = s->ns++;
        bd_fmt(labels[k], 16, "L%d", keys[i].layer);
        s->s[k] = (bd_chart_series){a->sc_x + start, a->sc_y + start, used - start,
                                    BD_C_SERIES0 + keys[i].layer % BD_N_SERIES_COLOURS, labels[k], 1, 0};
    }
    s->fit = 1;
    s->fit_colour = BD_C_FIT;
    s->x_from_zero = 0;
}

static void magnitudes(bd_app *a, bd_chart_spec *s) {
    if (a->show_opened || !a->live->have_mag) return;
    const bd_mag_snapshot *m = &a->live->mag;
    for (int j = 0; j < m->n; j++) {
        a->mag_x[j] = j;
        a->mag_y[j] = m->m[j];
        a->mag_y0[j] = m->m0[j];
    }
    s->s[s->ns++] = (bd_chart_series){a->mag_x, a->mag_y0, m->n, BD_C_DIM, "||W0 row||", 0, 0};
    s->s[s->ns++] = (bd_chart_series){a->mag_x, a->mag_y, m->n, BD_C_SERIES0, "m", 0, 0};
}

int bd_run_panel_spec(bd_app *a, int p, bd_chart_spec *s, char *title, int title_n) {
    const bd_run_data *d = bd_app_shown(a);
    memset(s, 0, sizeof *s);
    s->ema = a->ema;
    s->logy = p >= 0 && p < BD_RUN_PANELS ? a->logy[p] : 0;
    s->x_from_zero = 1;
    long best_step;
    double best;
    const char *best_name;
    int has_best = bd_best_eval(d, &best_step, &best, &best_name) == 0;
    size_t tn = (size_t)title_n;
    switch (p) {
    case BD_P_LOSS:
        add(s, d, "train/loss", BD_C_TRAIN, "train", 1);
        add(s, d, "val/loss", BD_C_VAL, "val", 1);
        add(s, d, "eval/loss", BD_C_EVAL, "eval", 0);
        if (has_best) {
            s->has_marker = 1;
            s->mx = (double)best_step;
            s->my = bd_series_at(bd_run_data_find(d, "eval/loss"), best_step);
            s->marker_colour = BD_C_MARKER;
        }
        bd_fmt(title, tn, "loss%s%s", s->logy ? " (log)" : "", a->ema > 0 ? " ema" : "");
        return 0;
    case BD_P_EVAL:
        add(s, d, "eval/accuracy", BD_C_SERIES2, "acc", 0);
        add(s, d, "eval/f1", BD_C_SERIES0, "f1", 0);
        add(s, d, "eval/mcc", BD_C_SERIES1, "mcc", 0);
        add(s, d, "eval/pearson", BD_C_SERIES2, "pearson", 0);
        add(s, d, "eval/spearman", BD_C_SERIES0, "spearman", 0);
        if (has_best) {
            s->has_marker = 1;
            s->mx = (double)best_step;
            s->my = best;
            s->marker_colour = BD_C_MARKER;
            bd_fmt(title, tn, "eval  best %.4f @ %ld", best, best_step);
        } else {
            bd_fmt(title, tn, "eval metrics");
        }
        return 0;
    case BD_P_HYPER:
        if (bd_run_data_find(d, "upper/hypergrad_norm")) {
            add(s, d, "upper/hypergrad_norm", BD_C_VAL, "||h||", 1);
            bd_fmt(title, tn, "hypergradient norm (upper level)");
        } else {
            add(s, d, "train/grad_norm", BD_C_TRAIN, "||g||", 1);
            bd_fmt(title, tn, "gradient norm (no upper level)");
        }
        return 0;
    case BD_P_WD:
        wd_lines(a, d, s);
        bd_fmt(title, tn, "%s per layer: %s", a->wd_dd ? "dD" : "dM", module_name(a));
        return 0;
    case BD_P_SCATTER: {
        wd_scatter(a, d, s);
        int pts = 0;
        for (int i = 0; i < s->ns; i++) pts += s->s[i].n;
        double k, b;
        /* the same fit the chart draws: every point of the module */
        if (pts >= 2 && !bd_fit_slope(a->sc_x, a->sc_y, pts, &k, &b))
            bd_fmt(title, tn, "dD-dM %s  k = %.3g (%d pts)", module_name(a), k, pts);
        else bd_fmt(title, tn, "dD-dM %s  k: needs 2 checkpoints", module_name(a));
        return 0;
    }
    case BD_P_MAG:
        magnitudes(a, s);
        if (a->show_opened) bd_fmt(title, tn, "magnitudes: live runs only");
        else if (!strcmp(a->run_method, "full")) bd_fmt(title, tn, "magnitudes: none in full fine-tuning");
        else if (a->live->have_mag)
            bd_fmt(title, tn, "m layer %d %s @%ld", a->live->mag.layer, a->live->mag.module, a->live->mag.step);
        else bd_fmt(title, tn, "magnitude m: layer %d %s", a->layer, module_name(a));
        return 0;
    default:
        return -1;
    }
}

/* The newest value of each series, after its label, on the top border. */
static void draw_legend(bd_app *a, WINDOW *w, int x, const bd_chart_spec *s, int p) {
    int W = getmaxx(w) - 2;
    if (p == BD_P_SCATTER || p == BD_P_MAG) return;
    for (int i = 0; i < s->ns && x < W - 4; i++) {
        char buf[64], num[16];
        bd_fmt_num(num, 8, s->s[i].y[s->s[i].n - 1]);
        bd_fmt(buf, sizeof buf, "%s %s", s->s[i].label, num);
        x += bd_legend(w, 0, x, W - x, &a->term, s->s[i].colour, buf) + 1;
    }
}

static void draw_chart_panel(bd_app *a, WINDOW *w, int p, int focused) {
    bd_chart_spec s;
    char title[160];
    bd_run_panel_spec(a, p, &s, title, sizeof title);
    werase(w);
    bd_box(w, &a->term, title, focused);
    draw_legend(a, w, 5 + bd_text_width(title), &s, p);
    int H = getmaxy(w) - 2, W = getmaxx(w) - 2;
    bd_chart_frame f;
    if (H >= 1 && W >= 4 && !bd_chart_build(&f, &s, W, H, a->term.glyphs)) {
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

static void fmt_time(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e7) { bd_fmt(buf, n, "--:--"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) bd_fmt(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else bd_fmt(buf, n, "%ld:%02ld", t / 60, t % 60);
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
        fmt_time(eta, sizeof eta, st->eta_s);
        fmt_time(el, sizeof el, st->elapsed_s);
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
