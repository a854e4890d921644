/* bidora ps [OUT_DIR], bidora stop|pause|resume RUN: live runs through
 * their control sockets (src/train/control.h). RUN is a run directory, or
 * a run's name under the default out_dir (configs/default.ini's, else
 * "runs"). stop waits until the run has checkpointed and ended; pause and
 * resume wait until the trainer says it did (within one step). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "control.h"
#include "fmt.h"
#include "runlock.h"

void bd_default_out_dir(char *buf, size_t n) {
    snprintf(buf, n, "runs");
    bd_config *c = malloc(sizeof *c);
    if (!c) return;
    bd_config_defaults(c);
    bd_err e;
    if (access("configs/default.ini", R_OK) == 0 && bd_config_load(c, "configs/default.ini", &e) == 0)
        snprintf(buf, n, "%s", c->out_dir);
    free(c);
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int bd_find_run(const char *arg, char *out, size_t n, bd_err *e) {
    char path[4200];
    if (is_dir(arg)) {
        if (snprintf(out, n, "%s", arg) >= (int)n) return bd_errf(e, "%s: path too long", arg);
        return 0;
    }
    char od[BD_STR];
    bd_default_out_dir(od, sizeof od);
    if (!strchr(arg, '/') && snprintf(path, sizeof path, "%s/%s", od, arg) < (int)sizeof path && is_dir(path)) {
        snprintf(out, n, "%s", path);
        return 0;
    }
    return bd_errf(e, "%s: no such run (neither a directory nor a run in %s; bidora ps lists the live ones)", arg, od);
}

/* The live runs of out_dir (a process holds their lock), sorted by name. */
static int live_runs(const char *out_dir, char (**names)[256], bd_err *e) {
    *names = NULL;
    DIR *d = opendir(out_dir);
    if (!d) return bd_errf(e, "%s: cannot open: %s", out_dir, strerror(errno));
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || strlen(de->d_name) >= 256) continue;
        char dir[4400];
        snprintf(dir, sizeof dir, "%s/%s", out_dir, de->d_name);
        if (!bd_runlock_holder(dir)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char (*p)[256] = realloc(*names, sizeof **names * (size_t)cap);
            if (!p) { closedir(d); return bd_errf(e, "out of memory"); }
            *names = p;
        }
        snprintf((*names)[n++], 256, "%s", de->d_name);
    }
    closedir(d);
    if (n) qsort(*names, (size_t)n, sizeof **names, (int (*)(const void *, const void *))strcmp);
    return n;
}

int bd_newest_live_run(const char *out_dir, char *out, size_t n, bd_err *e) {
    char (*names)[256];
    int k = live_runs(out_dir, &names, e);
    if (k < 0) return -1;
    if (k == 0) { free(names); return bd_errf(e, "no live run in %s (bidora ps lists them; a RUN argument picks one)", out_dir); }
    /* the newest by the time its process opened it (names need not sort by time) */
    long long best = -1;
    for (int i = 0; i < k; i++) {
        char dir[4400];
        snprintf(dir, sizeof dir, "%s/%s", out_dir, names[i]);
        bd_ctl_conn c;
        bd_err ce;
        long long started = 0;
        if (bd_ctl_connect(&c, dir, &ce) == 0) {
            json_t *j;
            if (bd_ctl_call(&c, "status", 2000, &j, &ce) == 0) {
                started = (long long)json_integer_value(json_object_get(j, "started"));
                json_decref(j);
            }
            bd_ctl_close(&c);
        }
        if (started >= best) { best = started; snprintf(out, n, "%s", dir); }
    }
    free(names);
    return 0;
}

static void fmt_dur(char *buf, size_t n, double s) {
    if (!isfinite(s) || s < 0 || s > 1e8) { snprintf(buf, n, "-"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static const char *const ps_usage =
    "usage: bidora ps [OUT_DIR]\n"
    "Lists the live runs in OUT_DIR (default: configs/default.ini's out_dir, else runs):\n"
    "every run a process trains now, in the workbench or headless, detached or not.\n";

int bd_cmd_ps(int argc, char **argv) {
    char od[BD_STR];
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        int help = argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
        fputs(ps_usage, help ? stdout : stderr);
        return help ? 0 : 1;
    }
    if (argc == 2) snprintf(od, sizeof od, "%s", argv[1]);
    else bd_default_out_dir(od, sizeof od);
    bd_err e = {{0}};
    char (*names)[256];
    int k = live_runs(od, &names, &e);
    if (k < 0) { bd_report(e.msg); return 1; }
    if (!k) { printf("no live runs in %s\n", od); free(names); return 0; }
    printf("%-28s %7s %-8s %-6s %13s %13s %8s %-7s %s\n", "NAME", "PID", "STATE", "METHOD", "STEP/TOTAL", "RATE", "ETA",
           "BACKEND", "STARTED");
    for (int i = 0; i < k; i++) {
        char dir[4400];
        snprintf(dir, sizeof dir, "%s/%s", od, names[i]);
        bd_ctl_conn c;
        bd_status st;
        memset(&st, 0, sizeof st);
        int have = 0;
        if (bd_ctl_connect(&c, dir, &e) == 0) {
            json_t *j;
            if (bd_ctl_call(&c, "status", 2000, &j, &e) == 0) {
                bd_ctl_status_from_json(j, &st);
                json_decref(j);
                have = 1;
            }
            bd_ctl_close(&c);
        }
        if (!have) { /* held, but no answer: loading, or an older bidora */
            printf("%-28s %7ld %-8s (%s)\n", names[i], bd_runlock_holder(dir), "?", e.msg);
            continue;
        }
        char steps[48], rate[32], eta[48], when[32] = "-";
        snprintf(steps, sizeof steps, "%ld/%ld", st.step, st.total);
        bd_fmt_rate(rate, sizeof rate, st.steps_per_s); /* "12.34 steps/s", or "3.2 s/step" when slower */
        fmt_dur(eta, sizeof eta, st.state == BD_RUN_RUNNING ? st.eta_s : NAN);
        time_t ts = (time_t)st.started;
        struct tm tm;
        if (st.started > 0 && localtime_r(&ts, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        printf("%-28s %7ld %-8s %-6s %13s %13s %8s %-7s %s\n", names[i], st.pid, bd_run_state_name(st.state),
               st.method, steps, rate, eta, st.backend[0] ? st.backend : "-", when);
    }
    free(names);
    return 0;
}

static const char *const ctl_usage =
    "usage: bidora stop RUN [--no-wait]     checkpoint the live run RUN and stop it (waits until it has)\n"
    "       bidora pause RUN [--no-wait]    pause it within one step (the trainer keeps its memory)\n"
    "       bidora resume RUN [--no-wait]   resume a paused run\n"
    "       bidora checkpoint RUN [--no-wait]  write a checkpoint now (paused or not)\n"
    "--no-wait: return once the run has the command, without waiting for its effect.\n"
    "RUN: a run directory, or a run's name in the default out_dir. bidora ps lists the live runs.\n";

/* Wait for a subscription event: "end" (want_state < 0), a status in
 * want_state, or (want_log) a log line starting with want_log. */
static int wait_for(bd_ctl_conn *c, int want_state, const char *want_log, int timeout_ms, bd_status *st, bd_err *e) {
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        int left = timeout_ms - (int)((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (timeout_ms >= 0 && left <= 0) return bd_errf(e, "the run did not answer within %d s", timeout_ms / 1000);
        json_t *j;
        int r = bd_ctl_next(c, timeout_ms < 0 ? -1 : left, &j, e);
        if (r < 0) return -1;
        if (r == 1) continue;
        const char *type = json_string_value(json_object_get(j, "type"));
        int is_end = type && !strcmp(type, "end"), is_status = type && !strcmp(type, "status");
        if (is_end || is_status) bd_ctl_status_from_json(j, st);
        const char *line = json_string_value(json_object_get(j, "line"));
        int logged = want_log && type && !strcmp(type, "log") && line && !strncmp(line, want_log, strlen(want_log));
        json_decref(j); /* type and line are gone with it */
        if (logged) return 0;
        if (is_end) return want_state == -1 ? 0 : bd_errf(e, "the run ended (%s): %s", bd_run_state_name(st->state), st->message);
        if (is_status && want_state >= 0 && (int)st->state == want_state) return 0;
    }
}

int bd_cmd_control(int argc, char **argv) {
    const char *verb = argv[0], *run = NULL;
    int no_wait = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(ctl_usage, stdout); return 0; }
        if (!strcmp(argv[i], "--no-wait")) no_wait = 1;
        else if (argv[i][0] != '-' && !run) run = argv[i];
        else { fprintf(stderr, "bidora: %s: unexpected argument \"%s\"\n%s", verb, argv[i], ctl_usage); return 1; }
    }
    if (!run) { fprintf(stderr, "bidora: %s needs a RUN\n%s", verb, ctl_usage); return 1; }
    bd_err e = {{0}};
    char dir[4200];
    if (bd_find_run(run, dir, sizeof dir, &e)) { bd_report(e.msg); return 1; }
    bd_ctl_conn c;
    if (bd_ctl_connect(&c, dir, &e)) { bd_report(e.msg); return 1; }
    json_t *j = NULL;
    bd_status st;
    memset(&st, 0, sizeof st);
    int rc = 0;
    if (bd_ctl_call(&c, "status", 5000, &j, &e)) goto fail;
    bd_ctl_status_from_json(j, &st);
    json_decref(j);
    int want = !strcmp(verb, "pause") ? BD_RUN_PAUSED : !strcmp(verb, "resume") ? BD_RUN_RUNNING : -1;
    if (want >= 0 && (int)st.state == want) {
        printf("%s: already %s (step %ld)\n", dir, bd_run_state_name(st.state), st.step);
        bd_ctl_close(&c);
        return 0;
    }
    if (!no_wait && bd_ctl_call(&c, "subscribe", 5000, &j, &e)) goto fail;
    json_decref(j);
    if (bd_ctl_call(&c, verb, 5000, &j, &e)) goto fail;
    json_decref(j);
    if (no_wait) {
        printf("%s: %s asked\n", dir, verb);
    } else if (!strcmp(verb, "stop")) {
        if (wait_for(&c, -1, NULL, -1, &st, &e)) goto fail;
        if (st.state == BD_RUN_STOPPED)
            printf("%s: stopped at step %ld; checkpoint in %s/checkpoint (continue: bidora train --resume %s)\n", dir,
                   st.step, dir, dir);
        else printf("%s: ended (%s) at step %ld: %s\n", dir, bd_run_state_name(st.state), st.step, st.message);
        rc = st.state == BD_RUN_FAILED ? 2 : 0;
    } else if (!strcmp(verb, "pause") || !strcmp(verb, "resume")) {
        if (wait_for(&c, want, NULL, 600000, &st, &e)) goto fail;
        printf("%s: %s at step %ld\n", dir, verb[0] == 'p' ? "paused" : "running", st.step);
    } else {
        if (wait_for(&c, -2, "checkpoint at step", 600000, &st, &e)) goto fail;
        printf("%s: checkpoint written (%s/checkpoint)\n", dir, dir);
    }
    bd_ctl_close(&c);
    return rc;
fail:
    bd_ctl_close(&c);
    bd_report(e.msg);
    return 2;
}
