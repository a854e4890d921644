/* view_runs.c: the runs browser. Lists earlier runs in out_dir (every
 * DIR/metrics.csv, parsed), opens one in the run view, overlays a metric
 * of the tagged runs on one chart (e.g. LoRA vs DoRA vs BiDoRA eval
 * accuracy), exports that chart's series as CSV, resumes a stopped run. */
#include "app.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "draw.h"
#include "runlock.h"
#include "text.h"

#define R (BD_KEY_HANDLED | BD_KEY_REDRAW)

const char *const bd_overlay_metrics[] = {"eval/accuracy", "eval/f1", "eval/mcc", "eval/loss", "train/loss",
                                          "val/loss", "eval/pearson", "eval/spearman", "upper/hypergrad_norm", "lr"};
const int bd_n_overlay_metrics = (int)(sizeof bd_overlay_metrics / sizeof bd_overlay_metrics[0]);

void bd_runs_rescan(bd_app *a) {
    bd_err e = {{0}};
    a->runs_scanned = 1;
    if (bd_runs_scan(&a->runs, a->cfg.out_dir, &e)) { bd_app_message(a, 1, "%s", e.msg); return; }
    if (a->runs_sel >= a->runs.n) a->runs_sel = a->runs.n ? a->runs.n - 1 : 0;
    bd_app_message(a, 0, "%d %s in %s", a->runs.n, bd_plural(a->runs.n, "run", "runs"), a->cfg.out_dir);
}

static bd_run_info *selected(bd_app *a) { return a->runs.n ? &a->runs.r[a->runs_sel] : NULL; }

int bd_runs_spec(bd_app *a, bd_chart_spec *s, const char **metric) {
    memset(s, 0, sizeof *s);
    *metric = bd_overlay_metrics[a->runs_metric];
    s->x_from_zero = 1;
    s->logy = a->runs_logy;
    s->ema = a->ema;
    int tagged = 0;
    for (int i = 0; i < a->runs.n; i++) tagged += a->runs.r[i].tagged;
    for (int i = 0; i < a->runs.n && s->ns < BD_CHART_SERIES; i++) {
        bd_run_info *r = &a->runs.r[i];
        if (tagged ? !r->tagged : i != a->runs_sel) continue;
        const bd_series *se = bd_run_data_find(&r->data, *metric);
        if (!se || !se->n) continue;
        int smooth = strncmp(*metric, "eval/", 5) != 0; /* evals are sparse: never smoothed */
        s->s[s->ns] = (bd_chart_series){se->x, se->y, se->n, BD_C_SERIES0 + s->ns % BD_N_SERIES_COLOURS, r->name, 0, smooth};
        s->ns++;
    }
    return s->ns;
}

/* ---- keys ---- */

static int k_move(bd_app *a, int key) {
    int n = a->runs.n;
    if (key == BD_FN(KEY_UP) || key == 'k') a->runs_sel--;
    else if (key == BD_FN(KEY_DOWN) || key == 'j') a->runs_sel++;
    else if (key == BD_FN(KEY_PPAGE)) a->runs_sel -= 10;
    else if (key == BD_FN(KEY_NPAGE)) a->runs_sel += 10;
    else if (key == BD_FN(KEY_HOME)) a->runs_sel = 0;
    else if (key == BD_FN(KEY_END)) a->runs_sel = n - 1;
    if (a->runs_sel >= n) a->runs_sel = n - 1;
    if (a->runs_sel < 0) a->runs_sel = 0;
    return R;
}

static int k_open(bd_app *a, int key) {
    (void)key;
    bd_run_info *r = selected(a);
    if (!r) return R;
    long pid = bd_runlock_holder(r->dir); /* as of now */
    if (pid > 0 && pid == (long)getpid() && a->run_active && !a->attached) { /* our own run */
        a->show_opened = 0;
        bd_app_set_view(a, BD_VIEW_RUN);
        return R;
    }
    if (pid != 0 && !a->run_active) { /* another process trains it: attach (live status, control) */
        if (bd_app_attach(a, r->dir) == 0) return R;
    }
    bd_err e = {{0}};
    if (bd_app_follow_open(a, r->dir, &e)) { bd_app_message(a, 1, "%s", e.msg); return R; } /* then followed */
    bd_fmt(a->opened_name, sizeof a->opened_name, "%s", r->name);
    bd_fmt(a->opened_method, sizeof a->opened_method, "%s", r->method);
    a->show_opened = 1;
    bd_app_message(a, 0, "opened %s (F4 returns to the live run)", r->dir);
    bd_app_set_view(a, BD_VIEW_RUN);
    return R;
}

static int k_tag(bd_app *a, int key) {
    bd_run_info *r = selected(a);
    if (key == 'u') {
        for (int i = 0; i < a->runs.n; i++) a->runs.r[i].tagged = 0;
        return R;
    }
    if (r) {
        r->tagged = !r->tagged;
        k_move(a, BD_FN(KEY_DOWN));
    }
    return R;
}

static int k_metric(bd_app *a, int key) {
    int back = key == BD_FN(KEY_LEFT) || key == 'h';
    a->runs_metric = (a->runs_metric + (back ? bd_n_overlay_metrics - 1 : 1)) % bd_n_overlay_metrics;
    return R;
}

static int k_export(bd_app *a, int key) {
    (void)key;
    bd_chart_spec s;
    const char *metric;
    if (!bd_runs_spec(a, &s, &metric)) { bd_app_message(a, 1, "nothing to export: no run has %s", metric); return R; }
    bd_export_series ex[BD_CHART_SERIES];
    for (int i = 0; i < s.ns; i++) ex[i] = (bd_export_series){s.s[i].label, s.s[i].x, s.s[i].y, s.s[i].n};
    char path[BD_STR + 200];
    bd_export_path(path, sizeof path, a->cfg.out_dir, metric);
    mkdir(a->cfg.out_dir, 0755);
    bd_err e = {{0}};
    int rows = bd_export_csv(path, "step", ex, s.ns, &e);
    if (rows < 0) bd_app_message(a, 1, "export failed: %s", e.msg);
    else bd_app_message(a, 0, "exported %s of %d %s (%d %s) to %s", metric, s.ns, bd_plural(s.ns, "run", "runs"), rows,
                               bd_plural(rows, "row", "rows"), path);
    return R;
}

static int k_resume(bd_app *a, int key) {
    (void)key;
    bd_run_info *r = selected(a);
    if (!r) return R;
    r->running_pid = bd_runlock_holder(r->dir); /* as of now, not of the last scan */
    if (r->running_pid) {
        if (r->running_pid > 0) bd_app_message(a, 1, "%s is running (pid %ld): it cannot be resumed here", r->name, r->running_pid);
        else bd_app_message(a, 1, "%s is running in another process: it cannot be resumed here", r->name);
        return R;
    }
    if (r->done) { bd_app_message(a, 1, "%s is finished: nothing to resume", r->name); return R; }
    if (!r->has_ckpt && !r->has_config) { bd_app_message(a, 1, "%s has no checkpoint and no config.ini to resume from", r->name); return R; }
    bd_app_start_run(a, r->dir);
    return R;
}

const bd_binding bd_keys_runs[] = {
    {{BD_FN(KEY_UP), BD_FN(KEY_DOWN), 'k', 'j'}, "Up Down j k", NULL, "select a run", k_move},
    {{BD_FN(KEY_PPAGE), BD_FN(KEY_NPAGE), BD_FN(KEY_HOME), BD_FN(KEY_END)}, "PgUp PgDn Home End", NULL, "move by pages", k_move},
    {{BD_ENTER}, "Enter", NULL, "open the run in the run view; a live run of another process: attach to it", k_open},
    {{'t', 'u'}, "t u", NULL, "tag the run for the overlay chart / untag all", k_tag},
    {{BD_FN(KEY_LEFT), BD_FN(KEY_RIGHT), 'h', 'm'}, "Left Right h m", NULL, "metric of the overlay chart", k_metric},
    {{'e'}, "e", NULL, "export the overlay chart's series as CSV (into out_dir)", k_export},
    {{'R'}, "R", NULL, "resume the selected (stopped) run from its checkpoint", k_resume},
    {{0}, NULL, NULL, NULL, NULL},
};

/* ---- drawing ---- */

/* Names end in their time stamp: keep the head and the tail, drop the middle. */
static void elide(char *out, size_t n, const char *name, int width) {
    int len = (int)strlen(name);
    if (len <= width || width < 8) { bd_fmt(out, n, "%.*s", width, name); return; }
    int tail = width / 2, head = width - tail - 1;
    bd_fmt(out, n, "%.*s~%s", head, name, name + len - tail);
}

/* Live runs (a process holds their lock) are marked in front of the name
 * and their state stands out; the title counts them. */
static const char *live_mark(const bd_app *a) { return a->term.utf8 ? "\u25cf" : ">"; }

static void draw_list(bd_app *a, WINDOW *w) {
    werase(w);
    int n_live = 0;
    for (int i = 0; i < a->runs.n; i++) n_live += a->runs.r[i].running_pid != 0;
    char title[BD_STR + 64];
    if (n_live) bd_fmt(title, sizeof title, "runs in %s  %s %d live", a->cfg.out_dir, live_mark(a), n_live);
    else bd_fmt(title, sizeof title, "runs in %s", a->cfg.out_dir);
    bd_box(w, &a->term, title, 1);
    int H = getmaxy(w) - 2, W = getmaxx(w) - 2;
    attr_t dim = bd_attr(&a->term, BD_C_DIM);
    int name_w = W - 48 > 8 ? W - 48 : 8;
    bd_putf(w, 1, 1, W, dim | A_BOLD, "   %-*s %-6s %8s %7s %-20s", name_w, "name", "method", "steps", "best", "state");
    int rows = H - 1;
    if (a->runs_sel < a->runs_top) a->runs_top = a->runs_sel;
    if (a->runs_sel >= a->runs_top + rows) a->runs_top = a->runs_sel - rows + 1;
    if (!a->runs.n) bd_put(w, 3, 2, W - 2, dim, "(no runs yet: F5 starts one)");
    for (int r = 0; r < rows && a->runs_top + r < a->runs.n; r++) {
        const bd_run_info *ri = &a->runs.r[a->runs_top + r];
        int sel = a->runs_top + r == a->runs_sel;
        attr_t at = bd_attr(&a->term, sel ? BD_C_SELECT : ri->err[0] ? BD_C_ERROR : BD_C_NORMAL);
        if (sel) mvwhline(w, 2 + r, 1, ' ' | at, W);
        char best[16] = "-", name[300];
        elide(name, sizeof name, ri->name, name_w);
        if (ri->has_best) bd_fmt(best, sizeof best, "%.4f", ri->best);
        char state[32];
        if (ri->running_pid > 0) bd_fmt(state, sizeof state, "running (pid %ld)", ri->running_pid);
        else bd_fmt(state, sizeof state, "%s", ri->running_pid ? "running" : ri->done ? "done" : ri->has_ckpt ? "ckpt" : "");
        int live = ri->running_pid != 0;
        bd_putf(w, 2 + r, 1, W, at, "%c%s %-*s %-6s %8ld %7s %-20s", ri->tagged ? '*' : ' ', live ? live_mark(a) : " ",
                name_w, name, ri->method, ri->steps, best, state);
        if (live) { /* the marker and the state in the live colour, bold (on the selection too) */
            attr_t la = (sel ? at : bd_attr(&a->term, BD_C_OK)) | A_BOLD;
            bd_put(w, 2 + r, 2, 1, la, live_mark(a));
            int x = 4 + name_w + 1 + 6 + 1 + 8 + 1 + 7 + 1; /* tag, marker, space, then the columns */
            if (x < W) bd_put(w, 2 + r, x, W - x + 1, la, state);
        }
    }
    wnoutrefresh(w);
}

static void draw_overlay(bd_app *a, WINDOW *w) {
    werase(w);
    bd_chart_spec s;
    const char *metric;
    bd_runs_spec(a, &s, &metric);
    char title[160];
    bd_fmt(title, sizeof title, "%s%s: %d run%s%s", metric, s.logy ? " (log)" : "", s.ns, s.ns == 1 ? "" : "s",
           getmaxx(w) > 64 ? "  (m metric, t tag, e export)" : "");
    bd_box(w, &a->term, title, 0);
    int H = getmaxy(w) - 2, W = getmaxx(w) - 2;
    int legend = s.ns < H / 3 ? s.ns : H / 3;
    bd_chart_frame f;
    if (H - legend >= 2 && W >= 4 && !bd_chart_build(&f, &s, W, H - legend, a->term.glyphs)) {
        bd_draw_chart(w, 1, 1, &f, &a->term);
        bd_chart_frame_free(&f);
    }
    for (int i = 0; i < legend; i++) {
        const bd_chart_series *se = &s.s[i];
        char buf[320], num[16];
        bd_fmt_num(num, 8, se->y[se->n - 1]);
        bd_fmt(buf, sizeof buf, "%s  last %s", se->label, num);
        bd_legend(w, 1 + H - legend + i, 2, W - 2, &a->term, se->colour, buf);
    }
    wnoutrefresh(w);
}

void bd_runs_view_draw(bd_app *a) {
    if (a->n_panel < BD_RUNS_PANELS) return;
    if (a->panel[BD_R_LIST]) draw_list(a, a->panel[BD_R_LIST]);
    if (a->panel[BD_R_CHART]) draw_overlay(a, a->panel[BD_R_CHART]);
}
