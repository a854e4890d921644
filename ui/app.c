/* app.c: `bidora tui` and `bidora attach`: the main loop, the terminal's
 * life, run control. The loop waits at most 100 ms for a key (the poll
 * period), drains the channel, and redraws at most ~10 times a second with
 * one doupdate() a frame. Signals only set a flag here. SIGINT and SIGTERM
 * stop the run (the trainer checkpoints), the worker is joined, then the
 * terminal is restored. SIGHUP (the terminal went away) detaches instead
 * when on_hangup = detach: the run trains on headless in the same thread,
 * and the loop only waits for it. The training thread never touches curses.
 *
 * Detaching must give the shell its prompt back, but the shell waits for
 * the process it started, and the trainer is a thread of ours. So the
 * workbench forks once at start, before any thread exists: the parent (the
 * keeper) is what the shell waits for; it forwards SIGINT, SIGTERM and
 * SIGHUP to the workbench and exits with its status, or at once with 0 when
 * the workbench writes "detached" into their pipe. */
#include "app.h"
#include "draw.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "control.h"
#include "dataset.h"
#include "model.h"
#include "runlock.h"
#include "text.h"

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

/* ---- the keeper ---- */

static int keeper_fd = -1;            /* the workbench's end of the keeper's pipe */
static volatile sig_atomic_t keeper_child;
static void keeper_forward(int sig) {
    if (keeper_child > 0) kill((pid_t)keeper_child, sig);
}

/* Returns in the workbench (the child), or -1 when there is no keeper (the
 * fork failed: detaching then keeps the shell waiting). Never returns in
 * the keeper. */
static int fork_keeper(void) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) { close(p[0]); close(p[1]); return -1; }
    if (pid == 0) {
        close(p[0]);
        keeper_fd = p[1];
        /* the keeper killed outright is a hang-up too */
        prctl(PR_SET_PDEATHSIG, SIGHUP);
        if (getppid() != parent) raise(SIGHUP);
        return 0;
    }
    close(p[1]);
    keeper_child = pid;
    bd_catch_signals(keeper_forward);
    signal(SIGWINCH, SIG_IGN);
    char c;
    ssize_t r;
    do r = read(p[0], &c, 1); while (r < 0 && errno == EINTR);
    if (r == 1) _exit(0); /* detached: it trains on without us */
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (WIFSIGNALED(st)) {
        signal(WTERMSIG(st), SIG_DFL);
        raise(WTERMSIG(st));
    }
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 2);
}

static const char *const tui_usage =
    "usage: bidora [tui] [-c FILE] [--ascii] [--block] [--mono] [key=value ...]\n"
    "The workbench: set up a run, train it in the background, watch its curves.\n"
    "  -c FILE, --config FILE   the configuration to open (default configs/default.ini)\n"
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
    /* the message line only: the log pane is the trainer's (pause, checkpoint and stop are
     * logged there by the trainer itself, so an echo here would show each twice) */
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

static void fresh_channel(bd_app *a) {
    if (a->channel_used) { /* counters and commands from zero */
        bd_channel_destroy(a->ch);
        bd_channel_init(a->ch);
    }
    a->channel_used = 1;
    bd_live_reset(a->live);
    a->show_opened = 0;
    a->paused = a->stopping = 0;
    a->run_result[0] = '\0';
}

void bd_app_box(bd_app *a, const char *title, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->box, sizeof a->box, fmt, ap);
    va_end(ap);
    bd_fmt(a->box_title, sizeof a->box_title, "%s", title);
}

int bd_app_preflight_current(const bd_app *a) {
    return a->pf_done && !memcmp(&a->pf_cfg, &a->cfg, sizeof a->cfg);
}

int bd_app_preflight(bd_app *a, int time_steps) {
    bd_config *c = malloc(sizeof *c);
    if (!c) { bd_app_message(a, 1, "out of memory"); return -1; }
    *c = a->cfg;
    a->pf_cfg = a->cfg;
    a->pf_n = 0;
    bd_app_message(a, 0, time_steps ? "pre-flight: loading the model, tokenising the data, timing a few steps ..."
                                    : "pre-flight: loading the model, tokenising the data ...");
    if (!a->no_draw && a->term.scr) bd_app_draw(a);
    bd_err e = {{0}};
    bd_preflight pf;
    int rc = bd_config_finish(c, &e) ? -1 : bd_trainer_preflight(c, &pf, time_steps, &e);
    if (rc) {
        a->pf_done = -1;
        bd_fmt(a->pf_lines[0], sizeof a->pf_lines[0], "%s", e.msg);
        a->pf_n = 1;
        bd_app_box(a, "the run would not start", "%s", e.msg);
        bd_app_message(a, 1, "pre-flight: the run would not start (the box says why)");
    } else {
        a->pf_done = 1;
        a->pf_n = bd_preflight_lines(&pf, c, a->pf_lines, 8);
        bd_app_message(a, 0, "pre-flight passed: F5 starts the run");
    }
    free(c);
    return rc;
}

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
            bd_app_box(a, "cannot start the run", "%s", err);
            bd_app_message(a, 1, "cannot start: %s", err);
            bd_app_set_view(a, BD_VIEW_SETUP);
            free(c);
            return -1;
        }
        /* "ready" means it will start: the pre-flight, unless this config passed it already */
        /* (without timing steps: the run is about to time its own) */
        if (!(bd_app_preflight_current(a) && a->pf_done == 1) && bd_app_preflight(a, 0)) {
            bd_app_set_view(a, BD_VIEW_SETUP);
            free(c);
            return -1;
        }
        *c = a->cfg;
        bd_config_finish(c, &e);
    }
    fresh_channel(a);
    a->attached = 0;
    if (resume_dir) bd_live_follow_file(a->live); /* the charts keep the history before the checkpoint */
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

int bd_app_attach(bd_app *a, const char *run_dir) {
    if (a->run_active) {
        bd_app_message(a, 1, "a run is active here; attach to %s from another terminal (bidora attach)", run_dir);
        return -1;
    }
    fresh_channel(a);
    a->attached = 1;
    bd_live_follow_file(a->live); /* metrics are not on the socket: the whole history, then what it gains */
    bd_fmt(a->run_method, sizeof a->run_method, "?");
    bd_fmt(a->run_backend, sizeof a->run_backend, "?");
    bd_config *c = malloc(sizeof *c);
    bd_err ce;
    if (c && bd_run_config(c, run_dir, &ce) == 0) {
        bd_fmt(a->run_method, sizeof a->run_method, "%s", bd_method_names[c->method & 3]);
        static const char *const backends[] = {"auto", "cpu", "cuda"};
        bd_fmt(a->run_backend, sizeof a->run_backend, "%s", backends[c->backend % 3]);
    }
    free(c);
    bd_live_select_mag(a->ch, a->layer, a->module);
    bd_err e = {{0}};
    if (bd_worker_attach(&a->w, run_dir, a->ch, &e)) {
        a->attached = 0;
        bd_app_message(a, 1, "%s", e.msg);
        return -1;
    }
    a->run_active = 1;
    bd_app_message(a, 0, "attached to %s: Space pauses it, F7 checkpoints, F8 stops it; q leaves it running", run_dir);
    bd_app_set_view(a, BD_VIEW_RUN);
    return 0;
}

void bd_app_detach(bd_app *a, int have_terminal, const char *why) {
    if (a->detached || !a->run_active || a->attached) return;
    bd_live_poll(a->live, a->ch);
    const char *dir = a->live->st.run_dir[0] ? a->live->st.run_dir : a->w.c.out_dir;
    if (have_terminal && !a->term_gone) {
        bd_app_free_windows(a);
        bd_term_close(&a->term);
        printf("bidora: detached: pid %ld trains %s on without a screen\n"
               "  follow it: bidora attach %s    list runs: bidora ps    stop it: bidora stop %s\n",
               (long)getpid(), dir, dir, dir);
        fflush(stdout);
    }
    a->term_gone = 1;
    bd_run_detach_output(dir); /* no more hang-ups or Ctrl-C from the terminal */
    signal(SIGHUP, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, 0);
    char line[BD_CH_LOGLEN];
    bd_fmt(line, sizeof line, "detached (%s): pid %ld trains on headless; bidora attach %s", why, (long)getpid(), dir);
    bd_channel_log(a->ch, "%s", line);
    if (a->live->st.run_dir[0]) bd_run_log_line(dir, "workbench", line);
    if (keeper_fd >= 0) { /* the keeper exits: the shell has its prompt back */
        if (write(keeper_fd, "d", 1) != 1) { /* it is gone already */ }
        close(keeper_fd);
        keeper_fd = -1;
    }
    a->detached = 1;
}

/* The worker is done: drain the last records, join it, say how it ended. */
static void reap_worker(bd_app *a) {
    bd_live_poll(a->live, a->ch);
    bd_err e = {{0}};
    int r = bd_worker_join(&a->w, &e);
    int attached = a->attached;
    a->run_active = a->paused = a->stopping = a->attached = 0;
    const bd_status *st = &a->live->st;
    if (attached && r == 3) bd_app_message(a, 0, "left %s; it trains on (pid %ld)", st->run_dir, st->pid);
    else if (attached && r == -1) bd_app_message(a, 1, "cannot attach: %s", e.msg);
    else if (attached && r == -2 && st->state != BD_RUN_FAILED) bd_app_message(a, 1, "lost the run: %s", e.msg);
    else if (r == 0) bd_app_message(a, 0, "run finished: %ld %s; adapter in %s/adapter", st->step,
                                      bd_plural(st->step, "step", "steps"), st->run_dir);
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
        if (a->runs_compare) { a->panel[0] = win_of(a->lay.content); a->n_panel = 1; break; }
        for (int i = 0; i < BD_RUNS_PANELS; i++) a->panel[i] = win_of(a->lay.runs[i]);
        a->n_panel = BD_RUNS_PANELS;
        break;
    default:
        a->panel[0] = win_of(a->lay.help);
        a->n_panel = 1;
    }
}

/* The message box: centred, its text wrapped whole, over whatever is drawn. */
static void draw_box(bd_app *a) {
    const int H = LINES, W = COLS;
    int bw = W - 8 < 100 ? W - 8 : 100;
    if (bw < 20) bw = W;
    int rows = bd_put_wrapped(NULL, 0, 0, bw - 4, 1000, 0, a->box);
    int bh = rows + 4 < H ? rows + 4 : H;
    WINDOW *w = newwin(bh, bw, (H - bh) / 2, (W - bw) / 2);
    if (!w) return;
    werase(w);
    bd_box(w, &a->term, a->box_title, 1);
    bd_put_wrapped(w, 1, 2, bw - 4, bh - 3, bd_attr(&a->term, BD_C_ERROR), a->box);
    bd_put(w, bh - 2, 2, bw - 4, bd_attr(&a->term, BD_C_DIM), "any key closes this");
    wnoutrefresh(w);
    delwin(w);
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
    if (a->box[0]) draw_box(a);
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

/* A signal: 0 go on, 1 leave the loop now. */
static int on_got_signal(bd_app *a, int sig) {
    if (sig == SIGHUP) a->no_draw = 1; /* whatever follows, nobody sees the screen */
    if (a->exit_code) return 0;          /* already on the way out */
    if (a->attached && a->run_active) {
        /* a viewer's signal ends the viewer, never the other process's run */
        bd_channel_detach(a->ch);
        a->exit_code = 128 + sig;
        a->quit_after_stop = 1;
        return 0;
    }
    if (sig == SIGHUP && a->detached) return 0;
    if (sig == SIGHUP && a->run_active && !a->stopping && a->w.c.on_hangup == 0) {
        bd_app_detach(a, 0, "the terminal went away (SIGHUP)");
        return 0;
    }
    /* SIGINT / SIGTERM, or SIGHUP with on_hangup = stop: checkpoint the run,
     * then leave (also when it is already stopping after F8 or q) */
    a->exit_code = 128 + sig;
    a->quit_after_stop = 1;
    if (!a->run_active) return 1;
    if (!a->stopping) bd_channel_stop(a->ch);
    a->stopping = 1;
    bd_app_message(a, 0, "signal %d: checkpointing the run and quitting", sig);
    return 0;
}

static void main_loop(bd_app *a) {
    double last_draw = 0;
    int dirty = 1;
    while (!a->quit) {
        int sig = got_signal;
        if (sig) {
            got_signal = 0;
            if (on_got_signal(a, sig)) break;
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
        if (a->term_gone || a->no_draw) { /* no screen: train on (detached) or wait for the checkpoint */
            if (a->detached && !a->run_active) break;
            struct timespec ts = {0, (a->detached ? 100 : 20) * 1000 * 1000};
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

/* The workbench on argv's config; on the live run attach_dir when it is set. */
static int app_main(int argc, char **argv, const char *attach_dir) {
    setlocale(LC_ALL, "");
    bd_app *a = calloc(1, sizeof *a);
    bd_channel *ch = calloc(1, sizeof *ch);
    bd_live *lv = calloc(1, sizeof *lv);
    int rc = 2;
    if (!a || !ch || !lv) { bd_report("out of memory"); goto out; }
    bd_term_opts o = {0};
    if ((rc = parse_args(a, &o, argc, argv)) >= 0) goto out;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        bd_report(attach_dir ? "bidora attach needs a terminal (bidora ps and bidora stop work without one)"
                             : "the workbench needs a terminal (use bidora train for headless runs)");
        rc = 1;
        goto out;
    }
    /* before any thread: only a single-threaded process forks cleanly */
    if (!attach_dir) fork_keeper();
    if (bd_channel_init(ch)) { bd_report("cannot create the channel"); rc = 2; goto out; }
    a->ch = ch;
    bd_live_init(lv);
    a->live = lv;
    bd_run_data_init(&a->opened);
    a->layer = 0;
    a->module = 0;
    bd_smooth_default(a);
    a->focus = BD_P_LOSS;
    /* our handlers first: ncurses then leaves SIGINT/SIGTERM to us */
    bd_catch_signals(on_signal);
    signal(SIGPIPE, SIG_IGN); /* a closed socket or terminal is an error return, not a death */
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
    if (attach_dir) {
        /* the run's own configuration: its model (layers), its modules */
        bd_config *rc_cfg = malloc(sizeof *rc_cfg);
        bd_err ce;
        if (rc_cfg && bd_run_config(rc_cfg, attach_dir, &ce) == 0) {
            a->cfg = *rc_cfg;
            bd_fmt(a->cfg_path, sizeof a->cfg_path, "%s/config.ini", attach_dir);
            bd_app_refresh_model(a);
            bd_app_refresh_data(a);
        }
        free(rc_cfg);
        a->quit_after_stop = 1; /* the viewer ends with the run it shows */
        if (bd_app_attach(a, attach_dir)) { bd_term_close(&a->term); bd_report(a->msg); rc = 1; goto out; }
    }
    a->rebuild = 1;
    main_loop(a);
    if (a->run_active) { /* only on a path that left the loop early */
        if (a->attached) bd_channel_detach(a->ch);
        else bd_channel_stop(a->ch);
        reap_worker(a);
    }
    if (!a->term_gone) {
        bd_app_free_windows(a);
        bd_term_close(&a->term);
    }
    rc = a->exit_code;
    if (a->run_result[0]) fprintf(stderr, "bidora: %s\n", a->run_result);
out:
    if (a) {
        bd_runs_free(&a->runs);
        bd_cmp_free(&a->cmp);
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

int bd_cmd_tui(int argc, char **argv) { return app_main(argc, argv, NULL); }

static const char *const attach_usage =
    "usage: bidora attach [RUN] [--ascii] [--block] [--mono]\n"
    "The workbench on a live run of another process (a detached workbench, a headless bidora train):\n"
    "its whole history from metrics.csv, then live. Space pauses / resumes it, F7 checkpoints it,\n"
    "F8 stops it (with a checkpoint); q leaves the viewer and the run goes on.\n"
    "RUN: a run directory or a run's name in out_dir; default: the newest live run (bidora ps lists them).\n";

int bd_cmd_attach(int argc, char **argv) {
    const char *run = NULL;
    char tui[] = "tui";
    char *args[8] = {tui};
    int n = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(attach_usage, stdout); return 0; }
        if (!strcmp(argv[i], "--ascii") || !strcmp(argv[i], "--block") || !strcmp(argv[i], "--mono")) {
            if (n < 7) args[n++] = argv[i];
        } else if (argv[i][0] != '-' && !run) {
            run = argv[i];
        } else {
            fprintf(stderr, "bidora: attach: unexpected argument \"%s\"\n%s", argv[i], attach_usage);
            return 1;
        }
    }
    bd_err e = {{0}};
    char dir[4200];
    char od[BD_STR];
    bd_default_out_dir(od, sizeof od);
    if (run ? bd_find_run(run, dir, sizeof dir, &e) : bd_newest_live_run(od, dir, sizeof dir, &e)) {
        bd_report(e.msg);
        return 1;
    }
    /* reachable? say so before the screen opens */
    bd_ctl_conn c;
    if (bd_ctl_connect(&c, dir, &e)) { bd_report(e.msg); return 1; }
    bd_ctl_close(&c);
    return app_main(n, args, dir);
}
