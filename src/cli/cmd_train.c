/* bidora train [-c FILE] [--resume RUN_DIR] [key=value ...]: headless
 * training. The trainer runs in its own thread (the same one the TUI
 * uses); this thread prints progress on stderr and turns SIGINT and SIGTERM
 * into "checkpoint and stop"; SIGHUP too with on_hangup = stop, else it
 * detaches (progress and messages go to RUN/detached.log) and trains on. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "runlock.h"
#include "commands.h"
#include "config.h"
#include "fmt.h"
#include "trainer.h"
#include "worker.h"

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

static const char *const train_usage =
    "usage: bidora train [-c FILE | --config FILE] [key=value ...]\n"
    "       bidora train --resume RUN_DIR [key=value ...]   (max_steps, epochs, retrain_steps, eval_every,\n"
    "                                                     checkpoint_every may change)\n"
    "       bidora train --check [-c FILE] [key=value ...]  the pre-flight: checks the whole configuration as a\n"
    "                                                     run would, tokenises the data, times a few real steps\n"
    "                                                     and prints rows, tokens, trainable values, step and run\n"
    "                                                     time; writes nothing (exit 0: it would start, 1: not)\n"
    "Trains headless; progress on stderr; writes the run directory (out_dir/run_name).\n"
    "SIGINT/SIGTERM checkpoint the run and stop it (exit status 128 + the signal); SIGHUP (the terminal\n"
    "went away) does too with on_hangup=stop, else the run trains on (on_hangup=detach, the default).\n"
    "bidora ps lists it, bidora attach/pause/resume/stop control it (its RUN/control.sock).\n"
    "Keys (default, meaning [allowed]):\n";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The progress line. On a terminal one line, rewritten in place (\r) at most
 * five times a second; elsewhere (a file, a pipe, detached.log) whole lines,
 * as tqdm does without a terminal: one each time the step passes a multiple
 * of every (5% of the run), or a minute after the last, never two for a step. */
typedef struct progress {
    long last_step;   /* the step of the last whole line (0: none yet) */
    double last_t;    /* when the last line was printed */
} progress;

static long progress_every(long total) { return total >= 20 ? total / 20 : 1; }

static void progress_tick(progress *pg, const bd_status *st, int tty, double t) {
    if (st->step <= 0) return;
    if (tty) {
        if (t - pg->last_t < 0.2) return;
    } else {
        long every = progress_every(st->total);
        if (st->step <= pg->last_step) return;
        if (st->step / every == pg->last_step / every && st->step != st->total && t - pg->last_t < 60) return;
        pg->last_step = st->step;
    }
    pg->last_t = t;
    char eta[32], el[32], rate[32];
    bd_fmt_duration(eta, sizeof eta, st->eta_s);
    bd_fmt_duration(el, sizeof el, st->elapsed_s);
    fprintf(stderr, "%sstep %ld/%ld%s  loss %.4f  %s  elapsed %s  ETA %s%s", tty ? "\r\033[K" : "", st->step,
            st->total, st->phase == 2 ? " (phase 2)" : "", st->loss, bd_fmt_rate(rate, sizeof rate, st->steps_per_s),
            el, eta, tty ? "" : "\n");
}

int bd_cmd_train(int argc, char **argv) {
    bd_err e = {{0}};
    bd_config c;
    bd_config_defaults(&c);
    const char *resume = NULL;
    int check = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--check")) check = 1;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(train_usage, stdout);
            bd_config_help(stdout);
            return 0;
        }
    }
    /* -c first (the file is the base), then key=value overrides in order */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) { bd_report("-c needs a file"); return 1; }
            if (bd_config_load(&c, argv[++i], &e)) { bd_report(e.msg); return 1; }
        } else if (!strcmp(argv[i], "--resume")) {
            if (i + 1 >= argc) { bd_report("--resume needs a run directory"); return 1; }
            resume = argv[++i];
        }
    }
    if (resume && bd_run_config(&c, resume, &e)) { bd_report(e.msg); return 1; }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config") || !strcmp(argv[i], "--resume")) { i++; continue; }
        if (!strcmp(argv[i], "--check")) continue;
        char *eq = strchr(argv[i], '=');
        if (!eq || argv[i][0] == '-') {
            bd_report(argv[i][0] == '-' ? "unknown option (see bidora train --help)" : "expected key=value");
            fprintf(stderr, "bidora: the argument was \"%s\"\n", argv[i]);
            return 1;
        }
        char key[128], cur[8];
        if ((size_t)(eq - argv[i]) >= sizeof key) {
            fprintf(stderr, "bidora: unknown key \"%.40s...\" (%d bytes; see bidora train --help)\n", argv[i], (int)(eq - argv[i]));
            return 1;
        }
        snprintf(key, sizeof key, "%.*s", (int)(eq - argv[i]), argv[i]);
        if (resume && bd_config_get(&c, key, cur, sizeof cur) == 0 && !bd_trainer_key_resumable(key)) {
            char msg[512];
            snprintf(msg, sizeof msg, "--resume %s: %s cannot change on resume (the keys that can: %s)", resume, key,
                     bd_trainer_resumable_keys());
            bd_report(msg);
            return 1;
        }
        if (bd_config_set(&c, key, eq + 1, &e)) { bd_report(e.msg); return 1; }
    }
    if (bd_config_finish(&c, &e)) { bd_report(e.msg); return 1; }
    if (check) {
        if (resume) { bd_report("--check takes a configuration, not --resume"); return 1; }
        bd_preflight pf;
        if (bd_trainer_preflight(&c, &pf, 1, &e)) {
            fprintf(stderr, "bidora: the run would not start: %s\n", e.msg);
            return 1;
        }
        char lines[8][320];
        int n = bd_preflight_lines(&pf, &c, lines, 8);
        for (int i = 0; i < n; i++) printf("%s\n", lines[i]);
        return 0;
    }
    bd_channel ch;
    if (bd_channel_init(&ch)) { bd_report("cannot create the channel"); return 2; }
    bd_catch_signals(on_signal);
    bd_worker w;
    if (bd_worker_start(&w, &c, resume, &ch, &e)) { bd_report(e.msg); bd_channel_destroy(&ch); return 2; }
    int tty = isatty(2), detached = 0;
    long next_log = 0;
    progress pg = {0};
    int stop_sent = 0;
    char logs[64][BD_CH_LOGLEN];
    bd_status st;
    memset(&st, 0, sizeof st);
    while (!bd_worker_finished(&w)) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int sig = got_signal;
        got_signal = 0;
        if (sig == SIGHUP && c.on_hangup == 0 && !stop_sent) {
            /* the terminal went away: train on headless (on_hangup = detach) */
            if (!detached) {
                bd_channel_get_status(&ch, &st);
                char line[BD_CH_LOGLEN];
                snprintf(line, sizeof line, "detached (SIGHUP; on_hangup = detach): pid %ld trains on headless",
                         (long)getpid());
                if (st.run_dir[0]) bd_run_log_line(st.run_dir, "train", line);
                bd_channel_log(&ch, "%s", line);
                if (tty || isatty(1)) bd_run_detach_output(st.run_dir[0] ? st.run_dir : c.out_dir);
                signal(SIGHUP, SIG_IGN);
                detached = 1;
            }
        } else if (sig && !stop_sent) {
            if (tty && !detached) fputc('\n', stderr);
            fprintf(stderr, "bidora: signal %d: checkpointing and stopping\n", sig);
            bd_channel_stop(&ch);
            stop_sent = sig;
        }
        int n = bd_channel_read_logs(&ch, &next_log, logs, 64);
        for (int i = 0; i < n; i++) fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", logs[i]);
        bd_channel_get_status(&ch, &st);
        if (detached) tty = 0; /* stderr is detached.log now: whole lines */
        if (st.state == BD_RUN_RUNNING) progress_tick(&pg, &st, tty, now_s());
    }
    int n = bd_channel_read_logs(&ch, &next_log, logs, 64);
    for (int i = 0; i < n; i++) fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", logs[i]);
    int r = bd_worker_join(&w, &e);
    bd_channel_destroy(&ch);
    if (r == 2) { fprintf(stderr, "bidora: %s\n", e.msg); return 0; } /* finished already: nothing to do */
    if (r < 0) { bd_report(e.msg); return r == -1 ? 1 : 2; }
    if (r == 1) return stop_sent ? 128 + stop_sent : 130;
    return 0;
}
