/* app.c: `bidora tui`: the main loop, the terminal's life, run control.
 * The loop waits at most 100 ms for a key (the poll period), drains the
 * channel, and redraws at most ~10 times a second with one doupdate() a
 * frame. Signals only set a flag here; SIGINT, SIGTERM and SIGHUP stop the
 * run (the trainer checkpoints), the worker is joined, then the terminal
 * is restored. The training thread never touches curses. */
#include "app.h"

#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "dataset.h"
#include "model.h"
#include "text.h"

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

static const char *const tui_usage =
    "usage: bidora [tui] [-c FILE] [--ascii] [--block] [--mono] [key=value ...]\n"
    "The workbench: set up a run, train it in the background, watch its curves.\n"
    "  -c FILE   the configuration to open (default configs/default.ini)\n"
    "  --ascii   ASCII plots (also when the locale is not UTF-8)\n"
    "  --block   block-character plots instead of braille\n"
    "  --mono    no colours (also when NO_COLOR is set)\n"
    "  key=value override a key of the config (bidora train --help lists them)\n"
    "Press F1 or ? inside for the keys; docs/TUI.md describes the screens.\n";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void bd_app_message(bd_app *a, int error, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
    a->msg_error = error;
    if (a->live) bd_live_add_log(a->live, a->msg); /* the log pane keeps a history */
}

const bd_run_data *bd_app_shown(const bd_app *a) { return a->show_opened ? &a->opened : &a->live->data; }

void bd_app_set_view(bd_app *a, bd_view v) {
    if (v == a->view) return;
    if (v == BD_VIEW_HELP) a->back = a->view;
    if (v == BD_VIEW_RUNS && !a->runs_scanned) bd_runs_rescan(a);
    a->view = v;
    a->rebuild = 1;
}

void bd_app_refresh_model(bd_app *a) {
    bd_model_info *m = &a->model;
    if (!strcmp(m->path, a->cfg.model) && (m->ok || m->err[0])) return;
    memset(m, 0, sizeof *m);
    bd_fmt(m->path, sizeof m->path, "%s", a->cfg.model);
    char path[BD_STR + 32];
    bd_fmt(path, sizeof path, "%s/config.json", a->cfg.model);
    bd_bert_config bc;
    bd_err e = {{0}};
    if (access(a->cfg.model, F_OK)) {
        bd_fmt(m->err, sizeof m->err, "%s: not found. Run `make model` (fetches all-MiniLM-L6-v2), "
               "or press Enter on model to pick a directory holding config.json", a->cfg.model);
    } else if (bd_bert_config_load(&bc, path, &e)) {
        bd_fmt(m->err, sizeof m->err, "%s", e.msg);
    } else {
        m->ok = 1;
        m->n_layers = bc.n_layers;
        m->hidden = bc.hidden;
        m->heads = bc.n_heads;
        m->vocab = bc.vocab_size;
        bd_fmt(m->type, sizeof m->type, "%s", bc.model_type);
        a->n_layers = bc.n_layers;
        bd_bert_config_free(&bc);
    }
}

void bd_app_refresh_data(bd_app *a) {
    bd_data_info *d = &a->data;
    char key[600];
    bd_fmt(key, sizeof key, "%s|%s|%s|%d", a->cfg.text_column, a->cfg.text_pair_column, a->cfg.label_column, a->cfg.task);
    if (!strcmp(d->path, a->cfg.data) && !strcmp(d->columns_for, key)) return;
    memset(d, 0, sizeof *d);
    d->n_rows = -1;
    bd_fmt(d->path, sizeof d->path, "%s", a->cfg.data);
    bd_fmt(d->columns_for, sizeof d->columns_for, "%s", key);
    bd_err e = {{0}};
    if (access(a->cfg.data, R_OK)) {
        bd_fmt(d->err, sizeof d->err, "%s: not found. Run `make data` (fetches rotten_tomatoes.csv), "
               "or press Enter on data to pick a CSV", a->cfg.data);
        return;
    }
    if (bd_csv_header(a->cfg.data, d->cols, BD_MAX_COLS, &d->ncols, &e)) {
        bd_fmt(d->err, sizeof d->err, "%s", e.msg);
        return;
    }
    /* the exact row count the trainer will see (blank lines skipped, ...) */
    bd_dataset ds;
    bd_csv_opts o = {a->cfg.text_column, a->cfg.text_pair_column[0] ? a->cfg.text_pair_column : NULL,
                     a->cfg.label_column, (bd_task)a->cfg.task};
    if (bd_dataset_load(&ds, a->cfg.data, &o, &e)) {
        bd_fmt(d->err, sizeof d->err, "%s", e.msg);
        return;
    }
    d->n_rows = ds.n_rows;
    bd_dataset_free(&ds);
}

/* ---- run control ---- */

int bd_app_start_run(bd_app *a, const char *resume_dir) {
    if (a->run_active) {
        bd_app_message(a, 1, "a run is active (Space pauses it, F8 stops it)");
        return -1;
    }
    bd_err e = {{0}};
    char err[BD_ERR_MAX];
    bd_config *c = malloc(sizeof *c); /* 22 KB: off the stack; the worker copies it */
    if (!c) { bd_app_message(a, 1, "out of memory"); return -1; }
    if (resume_dir) {
        if (bd_run_config(c, resume_dir, &e)) { bd_app_message(a, 1, "%s", e.msg); free(c); return -1; }
    } else {
        if (bd_form_ready(&a->cfg, err, sizeof err)) {
            bd_app_message(a, 1, "cannot start: %s", err);
            bd_app_set_view(a, BD_VIEW_SETUP);
            free(c);
            return -1;
        }
        *c = a->cfg;
        bd_config_finish(c, &e);
    }
    if (a->channel_used) { /* a fresh channel: counters and commands from zero */
        bd_channel_destroy(a->ch);
        bd_channel_init(a->ch);
    }
    a->channel_used = 1;
    bd_live_reset(a->live);
    if (resume_dir) bd_live_follow_file(a->live); /* the charts keep the history before the checkpoint */
    a->show_opened = 0;
    a->paused = a->stopping = 0;
    a->run_result[0] = '\0';
    bd_fmt(a->run_method, sizeof a->run_method, "%s", bd_method_names[c->method & 3]);
    /* what the config asks for, until the trainer says which device it opened */
    static const char *const backends[] = {"auto", "cpu", "cuda"};
    bd_fmt(a->run_backend, sizeof a->run_backend, "%s", backends[c->backend % 3]);
    bd_live_select_mag(a->ch, a->layer, a->module);
    int rc = bd_worker_start(&a->w, c, resume_dir, a->ch, &e);
    if (rc) bd_app_message(a, 1, "%s", e.msg);
    else bd_app_message(a, 0, "%s %s run on %s (Space pauses, F8 stops)", resume_dir ? "resuming" : "started",
                        bd_method_names[c->method & 3], c->data);
    free(c);
    if (rc) return -1;
    a->run_active = 1;
    bd_app_set_view(a, BD_VIEW_RUN);
    return 0;
}

/* The worker is done: drain the last records, join it, say how it ended. */
static void reap_worker(bd_app *a) {
    bd_live_poll(a->live, a->ch);
    bd_err e = {{0}};
    int r = bd_worker_join(&a->w, &e);
    a->run_active = a->paused = a->stopping = 0;
    const bd_status *st = &a->live->st;
    if (r == 0) bd_app_message(a, 0, "run finished: %ld steps; adapter in %s/adapter", st->step, st->run_dir);
    else if (r == 2) bd_app_message(a, 0, "%s", e.msg);
    else if (r == 1)
        bd_app_message(a, 0, "run stopped at step %ld; checkpoint in %s/checkpoint (continue: bidora train --resume %s, "
                       "or R in the runs browser)", st->step, st->run_dir, st->run_dir);
    else bd_app_message(a, 1, "run failed: %s", e.msg[0] ? e.msg : st->message);
    bd_fmt(a->run_result, sizeof a->run_result, "%s", a->msg);
    a->runs_scanned = 0; /* the runs browser rescans on its next visit */
}

/* ---- windows and frames ---- */

void bd_app_free_windows(bd_app *a) {
    WINDOW **all[3] = {&a->win_status, &a->win_msg, &a->win_keys};
    for (int i = 0; i < 3; i++) if (*all[i]) { delwin(*all[i]); *all[i] = NULL; }
    for (int i = 0; i < a->n_panel; i++) if (a->panel[i]) delwin(a->panel[i]);
    memset(a->panel, 0, sizeof a->panel);
    a->n_panel = 0;
}

static WINDOW *win_of(bd_rect r) { return r.h > 0 && r.w > 0 ? newwin(r.h, r.w, r.y, r.x) : NULL; }

/* Resize and view changes rebuild every window from the layout. */
void bd_app_build_windows(bd_app *a) {
    bd_app_free_windows(a);
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    bd_layout_compute(&a->lay, rows, cols);
    werase(stdscr);
    clearok(curscr, TRUE); /* repaint everything: the old screen is gone */
    a->rebuild = 0;
    if (a->lay.too_small) return;
    a->win_status = win_of(a->lay.status);
    a->win_msg = win_of(a->lay.message);
    a->win_keys = win_of(a->lay.keybar);
    switch (a->view) {
    case BD_VIEW_RUN:
        if (a->zoom) { a->panel[0] = win_of(a->lay.content); a->n_panel = 1; break; }
        for (int i = 0; i < BD_RUN_PANELS; i++) a->panel[i] = win_of(a->lay.run[i]);
        a->n_panel = BD_RUN_PANELS;
        break;
    case BD_VIEW_SETUP:
        for (int i = 0; i < BD_SETUP_PANELS; i++) a->panel[i] = win_of(a->lay.setup[i]);
        a->n_panel = BD_SETUP_PANELS;
        break;
    case BD_VIEW_RUNS:
        for (int i = 0; i < BD_RUNS_PANELS; i++) a->panel[i] = win_of(a->lay.runs[i]);
        a->n_panel = BD_RUNS_PANELS;
        break;
    default:
        a->panel[0] = win_of(a->lay.help);
        a->n_panel = 1;
    }
}

void bd_app_draw(bd_app *a) {
    wnoutrefresh(stdscr); /* first, so the getch refresh of stdscr never paints over the panels */
    if (a->lay.too_small) {
        bd_too_small_draw(a);
        doupdate();
        return;
    }
    bd_status_draw(a);
    switch (a->view) {
    case BD_VIEW_RUN: bd_run_view_draw(a); break;
    case BD_VIEW_SETUP: bd_setup_view_draw(a); break;
    case BD_VIEW_RUNS: bd_runs_view_draw(a); break;
    default: bd_help_view_draw(a); break;
    }
    bd_message_draw(a);
    bd_keybar_draw(a);
    doupdate();
}

/* Characters as code points, curses keys negative; Enter and Backspace unified. */
static int read_key(void) {
    wint_t wc;
    int r = wget_wch(stdscr, &wc);
    if (r == ERR) return 0;
    if (r == KEY_CODE_YES) {
        if (wc == KEY_ENTER) return BD_ENTER;
        if (wc == KEY_BACKSPACE) return BD_BACKSPACE;
        return BD_FN((int)wc);
    }
    if (wc == '\n') return BD_ENTER;
    if (wc == 8) return BD_BACKSPACE;
    return (int)wc;
}

static void main_loop(bd_app *a) {
    double last_draw = 0;
    int dirty = 1, hangup = 0;
    while (!a->quit) {
        if (got_signal && !a->exit_code) {
            /* SIGINT / SIGTERM / SIGHUP: checkpoint the run, then leave
             * (also when it is already stopping after F8 or q) */
            hangup = got_signal == SIGHUP;
            a->exit_code = 128 + got_signal;
            a->quit_after_stop = 1;
            if (!a->run_active) break;
            if (!a->stopping) bd_channel_stop(a->ch);
            a->stopping = 1;
            bd_app_message(a, 0, "signal %d: checkpointing the run and quitting", (int)got_signal);
            dirty = 1;
        }
        if (bd_app_follow_tick(a, now_s())) dirty = 1;
        if (a->run_active) {
            if (bd_live_poll(a->live, a->ch)) dirty = 1;
            if (bd_worker_finished(&a->w)) {
                reap_worker(a);
                dirty = 1;
                if (a->exit_code || a->quit_after_stop) a->quit = 1;
            }
        }
        if (a->quit) break;
        if (hangup) { /* no terminal left: wait for the checkpoint without drawing */
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (a->rebuild) { bd_app_build_windows(a); dirty = 1; }
        double since = now_s() - last_draw;
        if (dirty && since >= 0.1) {
            bd_app_draw(a);
            last_draw = now_s();
            dirty = 0;
            since = 0;
        }
        /* wait for a key, but no longer than the next frame is due */
        int wait_ms = dirty ? (int)((0.1 - since) * 1000) + 1 : 100;
        wtimeout(stdscr, wait_ms < 1 ? 1 : wait_ms > 100 ? 100 : wait_ms);
        int key = read_key();
        if (!key) continue;
        if (key == BD_FN(KEY_RESIZE)) { a->rebuild = 1; continue; }
        /* a key redraws at once when a frame is due, else with the next one:
         * held-down keys are coalesced into at most ~10 frames a second */
        int fl = bd_dispatch(a, key);
        if (fl & BD_KEY_QUIT) a->quit = 1;
        if (fl) dirty = 1;
    }
}

/* Parse the command line into the config and terminal options. */
static int parse_args(bd_app *a, bd_term_opts *o, int argc, char **argv) {
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "tui")) continue;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(tui_usage, stdout); return 0; }
        if (!strcmp(argv[i], "--ascii")) o->ascii = 1;
        else if (!strcmp(argv[i], "--block")) o->block = 1;
        else if (!strcmp(argv[i], "--mono")) o->mono = 1;
        else if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) { bd_report("-c needs a file"); return 1; }
            path = argv[++i];
        } else if (argv[i][0] == '-' || !strchr(argv[i], '=')) {
            fprintf(stderr, "bidora: unknown argument \"%s\"\n%s", argv[i], tui_usage);
            return 1;
        }
    }
    bd_config_defaults(&a->cfg);
    bd_err e = {{0}};
    if (!path && access("configs/default.ini", R_OK) == 0) path = "configs/default.ini";
    if (path) {
        if (bd_config_load(&a->cfg, path, &e)) { bd_report(e.msg); return 1; }
        bd_fmt(a->cfg_path, sizeof a->cfg_path, "%s", path);
    } else {
        bd_fmt(a->cfg_path, sizeof a->cfg_path, "configs/my.ini");
    }
    /* key=value overrides, in order, after the file (as bidora train) */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) { i++; continue; }
        const char *eq = strchr(argv[i], '=');
        if (argv[i][0] == '-' || !eq) continue;
        char key[128];
        bd_fmt(key, sizeof key, "%.*s", (int)(eq - argv[i]), argv[i]);
        if (bd_config_set(&a->cfg, key, eq + 1, &e)) { bd_report(e.msg); return 1; }
    }
    return -1;
}

int bd_cmd_tui(int argc, char **argv) {
    setlocale(LC_ALL, "");
    bd_app *a = calloc(1, sizeof *a);
    bd_channel *ch = calloc(1, sizeof *ch);
    bd_live *lv = calloc(1, sizeof *lv);
    int rc = 2;
    if (!a || !ch || !lv) { bd_report("out of memory"); goto out; }
    bd_term_opts o = {0};
    if ((rc = parse_args(a, &o, argc, argv)) >= 0) goto out;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        bd_report("the workbench needs a terminal (use bidora train for headless runs)");
        rc = 1;
        goto out;
    }
    if (bd_channel_init(ch)) { bd_report("cannot create the channel"); rc = 2; goto out; }
    a->ch = ch;
    bd_live_init(lv);
    a->live = lv;
    bd_run_data_init(&a->opened);
    a->layer = 0;
    a->module = 0;
    a->smooth = 0;
    a->focus = BD_P_LOSS;
    /* our handlers first: ncurses then leaves SIGINT/SIGTERM to us */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: a signal wakes the key wait */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (bd_term_open(&a->term, &o, NULL, stdout, stdin)) {
        bd_report("cannot open the terminal (is TERM set to a known type?)");
        rc = 2;
        goto out;
    }
    bd_app_refresh_model(a);
    bd_app_refresh_data(a);
    a->view = BD_VIEW_SETUP;
    a->back = BD_VIEW_SETUP;
    /* start on what is missing, so the first screen says how to get it */
    a->form_sel = 0;
    if (a->model.ok && a->data.err[0]) a->form_sel = 1;
    if (!a->model.ok || a->data.err[0])
        bd_app_message(a, 1, "%s", !a->model.ok ? a->model.err : a->data.err);
    else
        bd_app_message(a, 0, "%s loaded: F5 starts the run, F1 lists the keys", a->cfg_path);
    a->rebuild = 1;
    main_loop(a);
    if (a->run_active) { /* only on a path that left the loop early */
        bd_channel_stop(a->ch);
        reap_worker(a);
    }
    bd_app_free_windows(a);
    bd_term_close(&a->term);
    rc = a->exit_code;
    if (a->run_result[0]) fprintf(stderr, "bidora: %s\n", a->run_result);
out:
    if (a) {
        bd_runs_free(&a->runs);
        bd_run_data_free(&a->opened);
        bd_browser_free(&a->br);
        if (a->ch) bd_channel_destroy(a->ch);
    }
    if (lv) bd_live_free(lv);
    free(lv);
    free(ch);
    free(a);
    return rc;
}
