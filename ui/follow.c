/* follow.c: the workbench follows runs as their metrics.csv grows: every
 * run the runs browser lists (and runs that appear in out_dir), and a run
 * opened from it into the run view. About once a second, while they are
 * on screen, each metrics.csv is read from where the last look stopped
 * (src/io/mfollow.h: nothing is read twice; a file a resume replaced or
 * cut is cleared and reread), and each lock holder is asked again, so a
 * run another process trains shows as live and stops showing so when it
 * ends. The live run of this workbench comes through the channel instead
 * (live.c). */
#include "app.h"

#include <stdio.h>
#include <string.h>

#include "runlock.h"
#include "text.h"

#define FOLLOW_PERIOD_S 1.0

int bd_app_follow_open(bd_app *a, const char *dir, bd_err *e) {
    char path[BD_STR + 32];
    bd_mfollow f;
    if (bd_path(path, sizeof path, e, "%s/metrics.csv", dir) || bd_mfollow_init(&f, path, e)) return -1;
    bd_run_data d;
    bd_run_data_init(&d);
    int restarted;
    if (bd_run_data_follow(&d, &f, &restarted, e) < 0) { bd_run_data_free(&d); return -1; }
    bd_run_data_free(&a->opened);
    a->opened = d;
    a->opened_mf = f;
    bd_fmt(a->opened_dir, sizeof a->opened_dir, "%s", dir);
    a->opened_pid = bd_runlock_holder(dir);
    a->opened_err[0] = '\0';
    return 0;
}

static int follow_opened(bd_app *a) {
    bd_err e = {{0}};
    int restarted, n = bd_run_data_follow(&a->opened, &a->opened_mf, &restarted, &e);
    int changed = n > 0 || restarted;
    const char *err = n < 0 ? e.msg : "";
    if (strcmp(err, a->opened_err)) { /* said once, not every second */
        bd_fmt(a->opened_err, sizeof a->opened_err, "%s", err);
        if (err[0]) bd_app_message(a, 1, "%s", err);
        changed = 1;
    }
    long pid = bd_runlock_holder(a->opened_dir);
    if (pid != a->opened_pid) { a->opened_pid = pid; changed = 1; }
    return changed;
}

static int follow_runs(bd_app *a) {
    int changed = 0;
    for (int i = 0; i < a->runs.n; i++) changed |= bd_run_follow(&a->runs.r[i]);
    /* a run started since the scan (headless, another workbench) joins the
     * list; the selection stays on the run it was on */
    char sel[256] = "";
    if (a->runs_sel < a->runs.n) bd_fmt(sel, sizeof sel, "%s", a->runs.r[a->runs_sel].name);
    if (bd_runs_add_new(&a->runs, a->cfg.out_dir)) {
        for (int i = 0; i < a->runs.n; i++)
            if (!strcmp(a->runs.r[i].name, sel)) a->runs_sel = i;
        changed = 1;
    }
    return changed;
}

int bd_app_follow_tick(bd_app *a, double now_s) {
    if (now_s - a->follow_at < FOLLOW_PERIOD_S) return 0;
    a->follow_at = now_s;
    int redraw = 0;
    /* (runs_scanned may be 0 here: a run that ended asks for a rescan on the next visit) */
    if (a->view == BD_VIEW_RUNS) redraw |= follow_runs(a);
    if (a->view == BD_VIEW_RUN && a->show_opened) redraw |= follow_opened(a);
    return redraw;
}
