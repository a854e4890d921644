/* keys.c: the key tables and the one dispatcher (htop's lesson): every
 * binding names its keys, its help line and a handler that returns flags
 * (HANDLED, REDRAW, QUIT). A view's table is searched before the global
 * one, so a view can give a letter a local meaning (in the set-up form, l
 * moves right; in the charts it toggles log-y). The help screen and the
 * key bar are generated from these tables. */
#include "app.h"

#include <stdio.h>
#include <string.h>

#include "channel.h"
#include "model.h"
#include "text.h"

#define R (BD_KEY_HANDLED | BD_KEY_REDRAW)

static const double smooth_levels[] = {0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.98, 0.99};
#define N_SMOOTH (int)(sizeof smooth_levels / sizeof smooth_levels[0])

/* ---- global ---- */

static int k_help(bd_app *a, int key) {
    (void)key;
    if (a->view == BD_VIEW_HELP) { a->view = a->back; a->rebuild = 1; }
    else { a->help_scroll = 0; bd_app_set_view(a, BD_VIEW_HELP); }
    return R;
}

static int k_setup(bd_app *a, int key) { (void)key; bd_app_set_view(a, BD_VIEW_SETUP); return R; }

static int k_runs(bd_app *a, int key) {
    (void)key;
    if (a->view == BD_VIEW_RUNS) bd_runs_rescan(a);
    else bd_app_set_view(a, BD_VIEW_RUNS);
    return R;
}

static int k_run_view(bd_app *a, int key) {
    (void)key;
    if (a->channel_used) a->show_opened = 0; /* back to the live run */
    bd_app_set_view(a, BD_VIEW_RUN);
    return R;
}

static int k_start(bd_app *a, int key) { (void)key; bd_app_start_run(a, NULL); return R; }

static int k_pause(bd_app *a, int key) {
    (void)key;
    if (!a->run_active || a->stopping) { bd_app_message(a, 1, "no run is active (F5 starts one)"); return R; }
    /* the flag, not a copy of it: a viewer on the control socket (bidora
     * pause, an attached workbench) may have changed it */
    a->paused = !bd_channel_pause_requested(a->ch);
    bd_channel_pause(a->ch, a->paused); /* the trainer checks before every step */
    bd_app_message(a, 0, a->paused ? "paused (Space resumes)" : "resumed");
    return R;
}

static int k_checkpoint(bd_app *a, int key) {
    (void)key;
    if (!a->run_active || a->stopping) { bd_app_message(a, 1, "no run is active"); return R; }
    bd_channel_save(a->ch); /* before the next step, or at once when paused */
    bd_app_message(a, 0, "checkpoint asked: the log says when it is written");
    return R;
}

static int k_stop(bd_app *a, int key) {
    (void)key;
    if (!a->run_active || a->stopping) { bd_app_message(a, 1, "no run is active"); return R; }
    bd_channel_stop(a->ch);
    a->stopping = 1;
    bd_app_message(a, 0, "stopping: the trainer checkpoints after this step");
    return R;
}

static int k_next_panel(bd_app *a, int key) {
    (void)key;
    if (a->view == BD_VIEW_RUN) {
        a->focus = (a->focus + 1) % BD_RUN_PANELS;
        if (a->zoom) a->rebuild = 1;
    } else if (a->view == BD_VIEW_SETUP) {
        int next = bd_form_step(&a->cfg, a->form_sel, 1);
        a->form_sel = next == a->form_sel ? bd_form_step(&a->cfg, 0, 0) : next; /* past the last: the first */
    }
    return R;
}

void bd_smooth_default(bd_app *a) {
    a->smooth = 2; /* 0.6, TensorBoard's default */
    a->ema = smooth_levels[a->smooth];
}

static int k_smooth(bd_app *a, int key) {
    a->smooth += key == '-' ? -1 : 1;
    if (a->smooth < 0) a->smooth = 0;
    if (a->smooth >= N_SMOOTH) a->smooth = N_SMOOTH - 1;
    a->ema = smooth_levels[a->smooth];
    bd_app_message(a, 0, "smoothing (EMA) %.2f", smooth_levels[a->smooth]);
    return R;
}

static int k_logy(bd_app *a, int key) {
    (void)key;
    int *flag;
    if (a->view == BD_VIEW_RUNS) flag = &a->runs_logy;
    else if (a->view == BD_VIEW_RUN && a->focus != BD_P_LOG) flag = &a->logy[a->focus];
    else return BD_KEY_UNHANDLED;
    *flag = !*flag;
    bd_app_message(a, 0, "log-y %s", *flag ? "on" : "off");
    return R;
}

static int k_quit(bd_app *a, int key) {
    (void)key;
    if (a->run_active && a->attached) { /* the viewer leaves; the run is another process's */
        bd_channel_detach(a->ch);
        a->quit_after_stop = 1;
        bd_app_message(a, 0, "leaving the run; it trains on");
        return R;
    }
    if (a->run_active) {
        if (a->stopping) { a->quit_after_stop = 1; return R; }
        a->confirm_quit = 1;
        return R;
    }
    return BD_KEY_HANDLED | BD_KEY_QUIT;
}

static int k_back(bd_app *a, int key) {
    (void)key;
    if (a->view == BD_VIEW_HELP) { a->view = a->back; a->rebuild = 1; }
    else if (a->view == BD_VIEW_RUN && a->zoom) { a->zoom = 0; a->rebuild = 1; }
    else if (a->view == BD_VIEW_RUN && a->cursor_on) a->cursor_on = 0;
    a->msg[0] = '\0';
    return R;
}

const bd_binding bd_keys_global[] = {
    {{BD_FN(KEY_F(1)), '?'}, "F1 ?", "Help", "this help", k_help},
    {{BD_FN(KEY_F(2)), 'c'}, "F2 c", "Setup", "set-up view: model, data, split, method, hyperparameters", k_setup},
    {{BD_FN(KEY_F(3)), '/'}, "F3 /", "Runs", "runs browser: earlier runs, overlays, export (again: rescan)", k_runs},
    {{BD_FN(KEY_F(4)), 'v'}, "F4 v", "Run", "run view of the live run (an opened run when none ran yet)", k_run_view},
    {{BD_FN(KEY_F(5))}, "F5", "Start", "start a run of the current config (in the background)", k_start},
    {{' '}, "Space", "Pause", "pause / resume the run (within one step)", k_pause},
    {{BD_FN(KEY_F(7))}, "F7", NULL, "write a checkpoint of the run now (also while paused)", k_checkpoint},
    {{BD_FN(KEY_F(8)), 'x'}, "F8 x", "Stop", "stop the run (it checkpoints; resume from the runs browser)", k_stop},
    {{BD_TAB}, "Tab", "Panel", "next panel (set-up: next key)", k_next_panel},
    {{'+', '=', '-'}, "+ -", NULL, "more / less EMA smoothing of the curves", k_smooth},
    {{'l'}, "l", NULL, "log-y on the focused chart (set-up: move right)", k_logy},
    {{BD_ESC}, "Esc", NULL, "back: leave help, unzoom, cancel a prompt", k_back},
    {{BD_FN(KEY_F(10)), 'q'}, "F10 q", "Quit",
     "quit; with a run active: d detaches (it trains on), s stops it (checkpoint); attached: leave it running", k_quit},
    {{0}, NULL, NULL, NULL, NULL},
};

/* ---- run view ---- */

/* Modules of the run, in bd_mod_names order (for magnitude selection). */
static int run_modules(bd_app *a, int *idx, int cap) {
    int n = 0;
    for (int k = 0; k < BD_N_MODS && n < cap; k++) {
        const char *t = a->cfg.target_modules;
        int want = !strcmp(t, "all");
        for (const char *p = t; *p && !want;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            want = len == strlen(bd_mod_names[k]) && !strncmp(p, bd_mod_names[k], len);
            p = comma ? comma + 1 : p + len;
        }
        if (want) idx[n++] = k;
    }
    if (!n) idx[n++] = 0;
    return n;
}

static int k_layer(bd_app *a, int key) {
    int up = key == BD_FN(KEY_UP) || key == 'k';
    if (a->focus == BD_P_LOG) {
        a->log_scroll += up ? 1 : -1;
        if (a->log_scroll < 0) a->log_scroll = 0;
        return R;
    }
    int n = a->n_layers > 0 ? a->n_layers : 1;
    a->layer = (a->layer + (up ? -1 : 1) + n) % n;
    bd_live_select_mag(a->ch, a->layer, a->module);
    return R;
}

static int k_module(bd_app *a, int key) {
    int idx[BD_N_MODS], n = run_modules(a, idx, BD_N_MODS), at = 0;
    for (int i = 0; i < n; i++) if (idx[i] == a->module) at = i;
    int back = key == 'M' || key == 'h';
    a->module = idx[(at + (back ? n - 1 : 1)) % n];
    bd_live_select_mag(a->ch, a->layer, a->module);
    return R;
}

static int k_dd(bd_app *a, int key) { (void)key; a->wd_dd = !a->wd_dd; return R; }

/* The cursor: Left / Right move it over the steps the run logged (train/loss, else any series),
 * Shift moves ten; the first press puts it on the newest step; Esc removes it. */
static int k_cursor(bd_app *a, int key) {
    const bd_run_data *d = bd_app_shown(a);
    const bd_series *s = bd_run_data_find(d, "train/loss");
    if (!s || !s->n) s = d->n ? &d->s[0] : NULL;
    if (!s || !s->n) { bd_app_message(a, 1, "no steps to put the cursor on yet"); return R; }
    int back = key == BD_FN(KEY_LEFT) || key == BD_FN(KEY_SLEFT);
    int by = key == BD_FN(KEY_SLEFT) || key == BD_FN(KEY_SRIGHT) ? 10 : 1;
    int i = s->n - 1;
    if (a->cursor_on) {
        i = 0;
        while (i < s->n - 1 && s->x[i] < (double)a->cursor_step) i++;
        i += back ? -by : by;
        if (i < 0) i = 0;
        if (i > s->n - 1) i = s->n - 1;
    }
    a->cursor_on = 1;
    a->cursor_step = (long)s->x[i];
    return R;
}

static int k_zoom(bd_app *a, int key) {
    (void)key;
    a->zoom = !a->zoom;
    a->rebuild = 1;
    return R;
}

static int k_export(bd_app *a, int key) { (void)key; bd_run_export(a); return R; }

static int k_page_log(bd_app *a, int key) {
    a->log_scroll += key == BD_FN(KEY_PPAGE) ? 10 : -10;
    if (a->log_scroll < 0) a->log_scroll = 0;
    return R;
}

const bd_binding bd_keys_run[] = {
    {{BD_FN(KEY_UP), BD_FN(KEY_DOWN), 'k', 'j'}, "Up Down j k", NULL, "layer of the magnitude panel (log focused: scroll)", k_layer},
    {{BD_FN(KEY_LEFT), BD_FN(KEY_RIGHT), BD_FN(KEY_SLEFT), BD_FN(KEY_SRIGHT)}, "Left Right", NULL,
     "cursor: a line over the charts at a step, their keys read the values there (Shift: 10 steps; Esc: off)", k_cursor},
    {{'m', 'M', 'h'}, "m M", NULL, "next / previous module (query, value, ...) of the weight panels", k_module},
    {{'d'}, "d", NULL, "weight panel: dM or dD per layer over steps", k_dd},
    {{BD_ENTER}, "Enter", NULL, "zoom the focused panel (again or Esc: back)", k_zoom},
    {{'e'}, "e", NULL, "export the focused chart's series as CSV (into out_dir)", k_export},
    {{BD_FN(KEY_PPAGE), BD_FN(KEY_NPAGE)}, "PgUp PgDn", NULL, "scroll the log", k_page_log},
    {{0}, NULL, NULL, NULL, NULL},
};

/* ---- help ---- */

static int k_help_scroll(bd_app *a, int key) {
    int d = key == BD_FN(KEY_UP) || key == 'k' ? -1 : key == BD_FN(KEY_PPAGE) ? -10 : key == BD_FN(KEY_NPAGE) ? 10 : 1;
    a->help_scroll += d;
    if (a->help_scroll < 0) a->help_scroll = 0;
    return R;
}

static const bd_binding keys_help[] = {
    {{BD_FN(KEY_UP), BD_FN(KEY_DOWN), 'k', 'j'}, "Up Down", NULL, "scroll", k_help_scroll},
    {{BD_FN(KEY_PPAGE), BD_FN(KEY_NPAGE)}, "PgUp PgDn", NULL, "scroll a page", k_help_scroll},
    {{0}, NULL, NULL, NULL, NULL},
};

/* ---- prompts ---- */

/* q with a run active: d detach, s (or y) stop and quit, anything else cancels. */
static int confirm(bd_app *a, int key) {
    int stop = key == 's' || key == 'S' || key == 'y' || key == 'Y', detach = key == 'd' || key == 'D';
    a->confirm_quit = 0;
    if ((stop || detach) && !a->run_active) return BD_KEY_HANDLED | BD_KEY_QUIT; /* it ended meanwhile */
    if (detach) {
        bd_app_detach(a, 1, "q, then d");
    } else if (stop) {
        bd_channel_stop(a->ch);
        a->stopping = 1;
        a->quit_after_stop = 1;
        bd_app_message(a, 0, "stopping: checkpointing the run, then quitting");
    } else {
        bd_app_message(a, 0, "quit cancelled");
    }
    return R;
}

static const bd_binding *view_table(const bd_app *a) {
    switch (a->view) {
    case BD_VIEW_RUN: return bd_keys_run;
    case BD_VIEW_SETUP: return bd_keys_setup;
    case BD_VIEW_RUNS: return a->runs_compare ? bd_keys_compare : bd_keys_runs;
    default: return keys_help;
    }
}

static int run_table(bd_app *a, const bd_binding *t, int key) {
    for (; t->fn; t++)
        for (int i = 0; i < 4 && t->keys[i]; i++)
            if (t->keys[i] == key) {
                int fl = t->fn(a, key);
                if (fl) return fl | BD_KEY_HANDLED;
            }
    return BD_KEY_UNHANDLED;
}

int bd_dispatch(bd_app *a, int key) {
    if (a->box[0]) { /* the message box takes the first key, whatever it is */
        a->box[0] = '\0';
        a->rebuild = 1;
        return R;
    }
    if (a->confirm_quit) return confirm(a, key);
    if (a->view == BD_VIEW_SETUP || a->prompt_save) {
        int fl = bd_setup_modal(a, key);
        if (fl) return fl;
    }
    if (a->view == BD_VIEW_RUNS && a->runs_prompt) {
        int fl = bd_runs_modal(a, key);
        if (fl) return fl;
    }
    int fl = run_table(a, view_table(a), key);
    if (fl) return fl;
    return run_table(a, bd_keys_global, key);
}

void bd_key_name(int key, char *buf, int n) {
    if (key <= BD_FN(KEY_F(1)) && key >= BD_FN(KEY_F(12))) bd_fmt(buf, (size_t)n, "F%d", -key - KEY_F0);
    else if (key == ' ') bd_fmt(buf, (size_t)n, "Space");
    else if (key == BD_ENTER) bd_fmt(buf, (size_t)n, "Enter");
    else if (key == BD_TAB) bd_fmt(buf, (size_t)n, "Tab");
    else if (key == BD_ESC) bd_fmt(buf, (size_t)n, "Esc");
    else if (key > 0 && key < 128) bd_fmt(buf, (size_t)n, "%c", key);
    else bd_fmt(buf, (size_t)n, "key %d", key);
}
