/* view_runs.c: the runs browser. Lists earlier runs in out_dir (every
 * DIR/metrics.csv, parsed), narrowed by a filter (/) as you type, opens one
 * in the run view, overlays a metric of the tagged runs on one chart (e.g.
 * LoRA vs DoRA vs BiDoRA eval accuracy), compares the tagged runs in a
 * table (c; view_compare.c draws it), exports the overlay as CSV, resumes,
 * renames and deletes a stopped run (runs_edit.c). Its prompts (filter,
 * rename, delete) take the keys first. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "draw.h"
#include "runlock.h"
#include "runs_edit.h"
#include "text.h"

#define R (BD_KEY_HANDLED | BD_KEY_REDRAW)

const char *const bd_overlay_metrics[] = {"eval/accuracy", "eval/f1", "eval/mcc", "eval/loss", "train/loss",
                                          "val/loss", "eval/pearson", "eval/spearman", "upper/hypergrad_norm", "lr"};
const int bd_n_overlay_metrics = (int)(sizeof bd_overlay_metrics / sizeof bd_overlay_metrics[0]);

static int shown(const bd_app *a, int i) { return bd_run_matches(&a->runs.r[i], a->runs_filter.buf); }

/* The selection on a run the filter shows (the first one, when it hid the selected). */
static void keep_selection_shown(bd_app *a) {
    if (a->runs_sel >= a->runs.n) a->runs_sel = a->runs.n ? a->runs.n - 1 : 0;
    if (a->runs.n && shown(a, a->runs_sel)) return;
    for (int i = 0; i < a->runs.n; i++)
        if (shown(a, i)) { a->runs_sel = i; return; }
}

void bd_runs_rescan(bd_app *a) {
    bd_err e = {{0}};
    a->runs_scanned = 1;
    /* the tags and the selection stay on their runs (by name) */
    int nt = 0;
    char (*tags)[256] = malloc(sizeof *tags * (size_t)(a->runs.n + 1));
    char sel[256] = "";
    for (int i = 0; tags && i < a->runs.n; i++)
        if (a->runs.r[i].tagged) bd_fmt(tags[nt++], sizeof tags[0], "%s", a->runs.r[i].name);
    if (a->runs_sel < a->runs.n) bd_fmt(sel, sizeof sel, "%s", a->runs.r[a->runs_sel].name);
    if (bd_runs_scan(&a->runs, a->cfg.out_dir, &e)) { free(tags); bd_app_message(a, 1, "%s", e.msg); return; }
    for (int i = 0; i < a->runs.n; i++) {
        for (int t = 0; t < nt; t++)
            if (!strcmp(tags[t], a->runs.r[i].name)) a->runs.r[i].tagged = 1;
        if (!strcmp(sel, a->runs.r[i].name)) a->runs_sel = i;
    }
    free(tags);
    keep_selection_shown(a);
    bd_app_message(a, 0, "%d %s in %s", a->runs.n, bd_plural(a->runs.n, "run", "runs"), a->cfg.out_dir);
}

static bd_run_info *selected(bd_app *a) {
    /* (the comparison's rows are the tagged runs, filtered or not) */
    return a->runs.n && a->runs_sel < a->runs.n && (a->runs_compare || shown(a, a->runs_sel)) ? &a->runs.r[a->runs_sel] : NULL;
}

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
        if (tagged ? !r->tagged : i != a->runs_sel || !shown(a, i)) continue;
        const bd_series *se = bd_run_data_find(&r->data, *metric);
        if (!se || !se->n) continue;
        int smooth = strncmp(*metric, "eval/", 5) != 0; /* evals are sparse: never smoothed */
        s->s[s->ns] = (bd_chart_series){se->x, se->y, se->n, BD_C_SERIES0 + s->ns % BD_N_SERIES_COLOURS, r->name, 0, smooth};
        s->ns++;
    }
    return s->ns;
}

/* ---- keys ---- */

/* Move among the runs the filter shows. */
static int k_move(bd_app *a, int key) {
    int n = a->runs.n, at = -1, nv = 0;
    int *vis = malloc(sizeof *vis * (size_t)(n + 1));
    if (!vis) return R;
    for (int i = 0; i < n; i++)
        if (shown(a, i)) { if (i == a->runs_sel) at = nv; vis[nv++] = i; }
    if (nv) {
        if (at < 0) at = 0;
        if (key == BD_FN(KEY_UP) || key == 'k') at--;
        else if (key == BD_FN(KEY_DOWN) || key == 'j') at++;
        else if (key == BD_FN(KEY_PPAGE)) at -= 10;
        else if (key == BD_FN(KEY_NPAGE)) at += 10;
        else if (key == BD_FN(KEY_HOME)) at = 0;
        else if (key == BD_FN(KEY_END)) at = nv - 1;
        if (at >= nv) at = nv - 1;
        if (at < 0) at = 0;
        a->runs_sel = vis[at];
    }
    free(vis);
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

static int n_tagged(const bd_app *a) {
    int n = 0;
    for (int i = 0; i < a->runs.n; i++) n += a->runs.r[i].tagged;
    return n;
}

static int k_tag(bd_app *a, int key) {
    bd_run_info *r = selected(a);
    if (key == 'u') {
        for (int i = 0; i < a->runs.n; i++) a->runs.r[i].tagged = 0;
        bd_app_message(a, 0, "no run tagged");
        return R;
    }
    if (r) {
        r->tagged = !r->tagged;
        bd_app_message(a, 0, "%s %s: %d tagged%s", r->tagged ? "tagged" : "untagged", r->name, n_tagged(a),
                       n_tagged(a) >= 2 ? " (c compares them)" : "");
        if (!a->runs_compare) k_move(a, BD_FN(KEY_DOWN));
    }
    return R;
}

static int k_compare(bd_app *a, int key) {
    (void)key;
    if (a->runs_compare) {
        a->runs_compare = 0;
        a->rebuild = 1;
        return R;
    }
    int n = n_tagged(a);
    if (n < 2) { bd_app_message(a, 1, "tag 2 or more runs (t) to compare them; %d tagged", n); return R; }
    bd_compare_open(a);
    return R;
}

static int k_filter(bd_app *a, int key) {
    (void)key;
    a->runs_prompt = BD_RP_FILTER;
    return R;
}

/* Esc: a filter clears first; then it means back, as everywhere. */
static int k_escape(bd_app *a, int key) {
    (void)key;
    if (a->runs_compare) { a->runs_compare = 0; a->rebuild = 1; return R; }
    if (!a->runs_filter.buf[0]) return BD_KEY_UNHANDLED;
    bd_line_set(&a->runs_filter, "");
    keep_selection_shown(a);
    bd_app_message(a, 0, "filter cleared: %d runs", a->runs.n);
    return R;
}

/* A live run (as of now) cannot be renamed, deleted or resumed here. */
static int refuse_live(bd_app *a, bd_run_info *r, const char *what) {
    r->running_pid = bd_runlock_holder(r->dir);
    if (!r->running_pid) return 0;
    if (r->running_pid > 0) bd_app_message(a, 1, "%s is running (pid %ld): it cannot be %s here", r->name, r->running_pid, what);
    else bd_app_message(a, 1, "%s is running in another process: it cannot be %s here", r->name, what);
    return 1;
}

static int k_rename(bd_app *a, int key) {
    (void)key;
    bd_run_info *r = selected(a);
    if (!r || refuse_live(a, r, "renamed")) return R;
    bd_fmt(a->runs_target, sizeof a->runs_target, "%s", r->name);
    bd_line_set(&a->runs_edit, r->name);
    a->runs_prompt = BD_RP_RENAME;
    return R;
}

static int k_delete(bd_app *a, int key) {
    (void)key;
    bd_run_info *r = selected(a);
    if (!r || refuse_live(a, r, "deleted")) return R;
    bd_fmt(a->runs_target, sizeof a->runs_target, "%s", r->name);
    a->runs_prompt = BD_RP_DELETE;
    return R;
}

static int find_run(const bd_app *a, const char *name) {
    for (int i = 0; i < a->runs.n; i++)
        if (!strcmp(a->runs.r[i].name, name)) return i;
    return -1;
}

static void do_rename(bd_app *a, const char *to) {
    int i = find_run(a, a->runs_target);
    if (i < 0) { bd_app_message(a, 1, "%s is not in the list any more", a->runs_target); return; }
    bd_err e = {{0}};
    char old_dir[4096], parent[4096];
    bd_fmt(old_dir, sizeof old_dir, "%s", a->runs.r[i].dir);
    /* the folder the listed run is in (out_dir as of the scan, not as the set-up view may have it now) */
    size_t k = strlen(old_dir) - strlen(a->runs_target);
    bd_fmt(parent, sizeof parent, "%.*s", (int)(k ? k - 1 : 0), old_dir);
    if (bd_run_rename(parent, a->runs_target, to, &e)) { bd_app_message(a, 1, "not renamed: %s", e.msg); return; }
    a->runs_sel = bd_runs_renamed(&a->runs, i, to);
    if (!strcmp(a->opened_dir, old_dir)) { /* the run view follows it under its new name */
        bd_fmt(a->opened_dir, sizeof a->opened_dir, "%s", a->runs.r[a->runs_sel].dir);
        bd_fmt(a->opened_mf.path, sizeof a->opened_mf.path, "%s/metrics.csv", a->opened_dir);
        bd_fmt(a->opened_name, sizeof a->opened_name, "%s", to);
    }
    keep_selection_shown(a);
    bd_app_message(a, 0, "renamed %s to %s (%s)", a->runs_target, to, a->runs.r[a->runs_sel].dir);
}

static void do_delete(bd_app *a) {
    int i = find_run(a, a->runs_target);
    if (i < 0) { bd_app_message(a, 1, "%s is not in the list any more", a->runs_target); return; }
    bd_err e = {{0}};
    char dir[4096];
    bd_fmt(dir, sizeof dir, "%s", a->runs.r[i].dir);
    if (bd_run_delete(dir, &e)) { bd_app_message(a, 1, "not deleted: %s", e.msg); return; }
    bd_runs_remove(&a->runs, i);
    if (!strcmp(a->opened_dir, dir)) { a->show_opened = 0; a->opened_dir[0] = '\0'; }
    if (a->runs_sel > i) a->runs_sel--;
    keep_selection_shown(a);
    bd_app_message(a, 0, "deleted %s (%s)", a->runs_target, dir);
}

/* The text prompts' editing keys; 1 when key was one. */
static int edit_key(bd_line *l, int key) {
    if (key == BD_BACKSPACE || key == 8) bd_line_backspace(l);
    else if (key == 21) bd_line_set(l, ""); /* Ctrl-U */
    else if (key >= 32 && key != 127) bd_line_insert(l, (unsigned)key);
    else return 0;
    return 1;
}

static int is_fkey(int key) { return key <= BD_FN(KEY_F(1)) && key >= BD_FN(KEY_F(12)); }

int bd_runs_modal(bd_app *a, int key) {
    int p = a->runs_prompt;
    if (p == BD_RP_DELETE) { /* y deletes; any other key keeps it */
        a->runs_prompt = BD_RP_NONE;
        if (key == 'y' || key == 'Y') do_delete(a);
        else bd_app_message(a, 0, "kept %s (only y deletes)", a->runs_target);
        return R;
    }
    if (is_fkey(key)) { a->runs_prompt = BD_RP_NONE; return BD_KEY_UNHANDLED; } /* F-keys always work */
    if (p == BD_RP_FILTER) {
        if (key == BD_ENTER) { a->runs_prompt = BD_RP_NONE; return R; }
        if (key == BD_ESC) {
            a->runs_prompt = BD_RP_NONE;
            bd_line_set(&a->runs_filter, "");
            keep_selection_shown(a);
            return R;
        }
        if (!edit_key(&a->runs_filter, key)) return BD_KEY_UNHANDLED; /* arrows move in the narrowed list */
        a->runs_top = 0;
        keep_selection_shown(a);
        return R;
    }
    if (p == BD_RP_RENAME) {
        if (key == BD_ESC) { a->runs_prompt = BD_RP_NONE; bd_app_message(a, 0, "rename cancelled"); return R; }
        if (key == BD_ENTER) {
            a->runs_prompt = BD_RP_NONE;
            do_rename(a, a->runs_edit.buf);
            return R;
        }
        edit_key(&a->runs_edit, key);
        return R;
    }
    a->runs_prompt = BD_RP_NONE;
    return BD_KEY_UNHANDLED;
}

int bd_runs_prompt_draw(bd_app *a, WINDOW *w) {
    if (a->view != BD_VIEW_RUNS || !a->runs_prompt) return 0;
    int W = getmaxx(w), used = 0;
    attr_t warn = bd_attr(&a->term, BD_C_WARN), edit = bd_attr(&a->term, BD_C_NORMAL) | A_UNDERLINE;
    char q[600];
    const bd_line *l = NULL;
    if (a->runs_prompt == BD_RP_FILTER) {
        bd_fmt(q, sizeof q, "Filter by name or method (Enter keeps, Esc clears): ");
        l = &a->runs_filter;
    } else if (a->runs_prompt == BD_RP_RENAME) {
        bd_fmt(q, sizeof q, "Rename %s to (Enter renames, Esc cancels): ", a->runs_target);
        l = &a->runs_edit;
    } else {
        bd_fmt(q, sizeof q, "Delete run %s and all its files? y: delete, any other key: keep", a->runs_target);
    }
    used = bd_put(w, 0, 0, W, warn, q);
    if (l) {
        used += bd_put(w, 0, used, W - used, edit, l->buf);
        bd_put(w, 0, used, 1, A_REVERSE, " ");
    }
    return 1;
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
    if (!r || refuse_live(a, r, "resumed")) return R; /* as of now, not of the last scan */
    if (r->done) { bd_app_message(a, 1, "%s is finished: nothing to resume", r->name); return R; }
    if (!r->has_ckpt && !r->has_config) { bd_app_message(a, 1, "%s has no checkpoint and no config.ini to resume from", r->name); return R; }
    bd_app_start_run(a, r->dir);
    return R;
}

const bd_binding bd_keys_runs[] = {
    {{BD_FN(KEY_UP), BD_FN(KEY_DOWN), 'k', 'j'}, "Up Down j k", NULL, "select a run", k_move},
    {{BD_FN(KEY_PPAGE), BD_FN(KEY_NPAGE), BD_FN(KEY_HOME), BD_FN(KEY_END)}, "PgUp PgDn Home End", NULL, "move by pages", k_move},
    {{BD_ENTER}, "Enter", NULL, "open the run in the run view; a live run of another process: attach to it", k_open},
    {{'t', 'u'}, "t u", "Tag", "tag the run (overlay chart, comparison) / untag all", k_tag},
    {{'c'}, "c", "Compare", "compare the tagged runs (2 or more) in a table: differing settings, metrics", k_compare},
    {{'/'}, "/", "Filter", "filter by name or method as you type (Enter keeps it, Esc clears it)", k_filter},
    {{BD_ESC}, "Esc", NULL, "clear the filter (none: back, as everywhere)", k_escape},
    {{BD_FN(KEY_LEFT), BD_FN(KEY_RIGHT), 'h', 'm'}, "Left Right h m", NULL, "metric of the overlay chart", k_metric},
    {{'e'}, "e", NULL, "export the overlay chart's series as CSV (into out_dir)", k_export},
    {{'R'}, "R", NULL, "resume the selected (stopped) run from its checkpoint", k_resume},
    {{'n'}, "n", "Rename", "rename the selected (stopped) run's directory", k_rename},
    {{'D', BD_FN(KEY_DC)}, "D Del", "Delete", "delete the selected (stopped) run's directory (asks: y deletes)", k_delete},
    {{0}, NULL, NULL, NULL, NULL},
};

/* ---- the comparison table's keys (drawing: view_compare.c) ---- */

static int k_cmp_move(bd_app *a, int key) {
    int n = a->cmp.n;
    if (key == BD_FN(KEY_UP) || key == 'k') a->cmp_sel--;
    else if (key == BD_FN(KEY_DOWN) || key == 'j') a->cmp_sel++;
    else if (key == BD_FN(KEY_PPAGE)) a->cmp_sel -= 10;
    else if (key == BD_FN(KEY_NPAGE)) a->cmp_sel += 10;
    else if (key == BD_FN(KEY_HOME)) a->cmp_sel = 0;
    else if (key == BD_FN(KEY_END)) a->cmp_sel = n - 1;
    if (a->cmp_sel >= n) a->cmp_sel = n - 1;
    if (a->cmp_sel < 0) a->cmp_sel = 0;
    if (n) { int i = find_run(a, a->cmp.rows[a->cmp_sel].name); if (i >= 0) a->runs_sel = i; }
    return R;
}

static int k_cmp_scroll(bd_app *a, int key) {
    int back = key == BD_FN(KEY_LEFT) || key == 'h';
    a->cmp_left += back ? -1 : 1;
    if (a->cmp_left > a->cmp.ncols - 2) a->cmp_left = a->cmp.ncols - 2;
    if (a->cmp_left < 0) a->cmp_left = 0;
    return R;
}

static int k_cmp_sort(bd_app *a, int key) {
    bd_cmp_table *t = &a->cmp;
    if (!t->ncols) return R;
    if (key == 'I') t->sort_desc = !t->sort_desc;
    else t->sort_col = (t->sort_col + (key == '<' ? t->ncols - 1 : 1)) % t->ncols;
    bd_cmp_sort(t);
    for (int i = 0; i < t->n; i++) /* the selection stays on its run */
        if (a->runs_sel < a->runs.n && !strcmp(t->rows[i].name, a->runs.r[a->runs_sel].name)) a->cmp_sel = i;
    bd_app_message(a, 0, "sorted by %s, %s", t->cols[t->sort_col].title, t->sort_desc ? "descending" : "ascending");
    return R;
}

const bd_binding bd_keys_compare[] = {
    {{BD_FN(KEY_UP), BD_FN(KEY_DOWN), 'k', 'j'}, "Up Down j k", NULL, "select a run", k_cmp_move},
    {{BD_FN(KEY_PPAGE), BD_FN(KEY_NPAGE), BD_FN(KEY_HOME), BD_FN(KEY_END)}, "PgUp PgDn Home End", NULL, "move by pages", k_cmp_move},
    {{BD_FN(KEY_LEFT), BD_FN(KEY_RIGHT), 'h', 'l'}, "Left Right h l", NULL, "scroll the columns (the name stays)", k_cmp_scroll},
    {{'>', '<', BD_FN(KEY_F(6))}, "F6 > <", "SortBy", "sort by the next / previous column", k_cmp_sort},
    {{'I'}, "I", "Invert", "invert the sort order", k_cmp_sort},
    {{BD_ENTER}, "Enter", NULL, "open the selected run in the run view", k_open},
    {{'t'}, "t", NULL, "untag the selected run (it leaves the table)", k_tag},
    {{'n'}, "n", "Rename", "rename the selected (stopped) run's directory", k_rename},
    {{'D', BD_FN(KEY_DC)}, "D Del", "Delete", "delete the selected (stopped) run's directory (asks: y deletes)", k_delete},
    {{'c', BD_ESC}, "c Esc", "Back", "back to the list of runs", k_compare},
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
    int n_live = 0, n_tag = n_tagged(a), nv = 0, sel_at = 0;
    int *vis = malloc(sizeof *vis * (size_t)(a->runs.n + 1));
    if (!vis) { wnoutrefresh(w); return; }
    for (int i = 0; i < a->runs.n; i++) {
        n_live += a->runs.r[i].running_pid != 0;
        if (!shown(a, i)) continue;
        if (i == a->runs_sel) sel_at = nv;
        vis[nv++] = i;
    }
    char title[BD_STR + 64];
    if (n_live) bd_fmt(title, sizeof title, "runs in %s  %s %d live", a->cfg.out_dir, live_mark(a), n_live);
    else bd_fmt(title, sizeof title, "runs in %s", a->cfg.out_dir);
    bd_box(w, &a->term, title, 1);
    int H = getmaxy(w) - 2, W = getmaxx(w) - 2;
    attr_t dim = bd_attr(&a->term, BD_C_DIM);
    /* the bottom border: the filter and the tags, or what the keys do */
    char foot[BD_STR + 96];
    if (a->runs_filter.buf[0] || a->runs_prompt == BD_RP_FILTER)
        bd_fmt(foot, sizeof foot, " filter \"%s\": %d of %d  %d tagged ", a->runs_filter.buf, nv, a->runs.n, n_tag);
    else if (n_tag)
        bd_fmt(foot, sizeof foot, " %d tagged%s  / filter ", n_tag, n_tag >= 2 ? ": c compares" : "");
    else
        bd_fmt(foot, sizeof foot, " t tag  c compare  / filter  n rename  D delete ");
    bd_put(w, H + 1, 2, W - 2, a->runs_filter.buf[0] ? bd_attr(&a->term, BD_C_WARN) : dim, foot);
    int name_w = W - 48 > 8 ? W - 48 : 8;
    bd_putf(w, 1, 1, W, dim | A_BOLD, "   %-*s %-6s %8s %7s %-20s", name_w, "name", "method", "steps", "best", "state");
    int rows = H - 1;
    if (sel_at < a->runs_top) a->runs_top = sel_at;
    if (sel_at >= a->runs_top + rows) a->runs_top = sel_at - rows + 1;
    if (a->runs_top > nv - 1) a->runs_top = nv > 0 ? nv - 1 : 0;
    if (!a->runs.n) bd_put(w, 3, 2, W - 2, dim, "(no runs yet: F5 starts one)");
    else if (!nv) bd_put(w, 3, 2, W - 2, dim, "(no run matches the filter: Esc clears it)");
    for (int r = 0; r < rows && a->runs_top + r < nv; r++) {
        const bd_run_info *ri = &a->runs.r[vis[a->runs_top + r]];
        int sel = vis[a->runs_top + r] == a->runs_sel;
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
    free(vis);
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
        bd_legend_mark(w, 1 + H - legend + i, 2, W - 2, &a->term, se->colour, i, buf); /* its character with --ascii, --mono */
    }
    wnoutrefresh(w);
}

void bd_runs_view_draw(bd_app *a) {
    if (a->runs_compare) {
        bd_compare_refresh(a, 0);
        if (a->n_panel == 1 && a->panel[0]) bd_compare_draw(a, a->panel[0]);
        return;
    }
    if (a->n_panel < BD_RUNS_PANELS) return;
    if (a->panel[BD_R_LIST]) draw_list(a, a->panel[BD_R_LIST]);
    if (a->panel[BD_R_CHART]) draw_overlay(a, a->panel[BD_R_CHART]);
}
