#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "control.h"
#include "model.h"
#include "trainer.h"

static void *worker_main(void *arg) {
    bd_worker *w = arg;
    bd_trainer *t = NULL;
    int r = bd_trainer_open(&t, &w->c, w->resume[0] ? w->resume : NULL, w->ch, &w->err);
    if (r == 1) {
        r = 2;
    } else if (r == 0) {
        r = bd_trainer_run(t, &w->err);
        if (r < 0) r = -2;
        bd_trainer_close(t);
    }
    pthread_mutex_lock(&w->ch->mu);
    w->result = r;
    w->finished = 1;
    pthread_mutex_unlock(&w->ch->mu);
    return NULL;
}

/* The magnitude snapshot of an "mag" event into the channel's back buffer, then flipped. */
static void proxy_mag(bd_channel *ch, const json_t *j) {
    const json_t *m = json_object_get(j, "m"), *m0 = json_object_get(j, "m0");
    const char *module = json_string_value(json_object_get(j, "module"));
    size_t n = json_array_size(m);
    if (!module || n == 0 || n != json_array_size(m0) || n > BD_CH_MAG) return;
    pthread_mutex_lock(&ch->mu);
    bd_mag_snapshot *s = &ch->mag[1 - ch->mag_front]; /* viewers read only mag[front] */
    pthread_mutex_unlock(&ch->mu);
    s->step = (long)json_integer_value(json_object_get(j, "step"));
    s->layer = (int)json_integer_value(json_object_get(j, "layer"));
    snprintf(s->module, sizeof s->module, "%s", module);
    for (size_t i = 0; i < n; i++) {
        s->m[i] = (float)json_number_value(json_array_get(m, i));
        s->m0[i] = (float)json_number_value(json_array_get(m0, i));
    }
    s->n = (int)n;
    pthread_mutex_lock(&ch->mu);
    ch->mag_front = 1 - ch->mag_front;
    pthread_mutex_unlock(&ch->mu);
}

/* Commands the viewer posted since the last round, sent to the run. The
 * viewer's pause flag follows the run's state (another viewer may pause or
 * resume it); a change of the flag that the run has not seen is the
 * viewer's own and is sent. */
static int proxy_commands(bd_worker *w, bd_ctl_conn *c, int *sent_pause, int *sent_stop, int *mag_l, int *mag_k, bd_err *e) {
    bd_channel *ch = w->ch;
    pthread_mutex_lock(&ch->mu);
    int p = ch->cmd_pause, s = ch->cmd_stop, save = ch->cmd_save, d = ch->cmd_detach;
    int wl = ch->want_mag_layer, wk = ch->want_mag_module;
    ch->cmd_save = 0;
    pthread_mutex_unlock(&ch->mu);
    if (d) return 1;
    if (s && !*sent_stop && bd_ctl_send(c, "stop", e)) return -1;
    *sent_stop |= s;
    if (save && bd_ctl_send(c, "checkpoint", e)) return -1;
    if (*sent_pause >= 0 && p != *sent_pause) {
        if (bd_ctl_send(c, p ? "pause" : "resume", e)) return -1;
        *sent_pause = p;
    }
    if ((wl != *mag_l || wk != *mag_k) && wk >= 0 && wk < BD_N_MODS) {
        char cmd[96];
        snprintf(cmd, sizeof cmd, "mag %d %s", wl, bd_mod_names[wk]);
        if (bd_ctl_send(c, cmd, e)) return -1;
        *mag_l = wl;
        *mag_k = wk;
    }
    return 0;
}

static void *proxy_main(void *arg) {
    bd_worker *w = arg;
    bd_channel *ch = w->ch;
    bd_ctl_conn c;
    json_t *j = NULL;
    int r = -1, sent_pause = -1, sent_stop = 0, mag_l = -1, mag_k = -1, remote_paused = -1;
    if (bd_ctl_connect(&c, w->resume, &w->err)) goto out;
    if (bd_ctl_call(&c, "subscribe", 10000, &j, &w->err)) goto out;
    json_decref(j);
    r = -2;
    for (;;) {
        int cr = proxy_commands(w, &c, &sent_pause, &sent_stop, &mag_l, &mag_k, &w->err);
        if (cr) { r = cr > 0 ? 3 : -2; break; }
        int got = bd_ctl_next(&c, 100, &j, &w->err);
        if (got < 0) break;
        if (got) continue;
        const char *type = json_string_value(json_object_get(j, "type"));
        if (!type) type = "";
        if (!strcmp(type, "status") || !strcmp(type, "end")) {
            bd_status st;
            bd_ctl_status_from_json(j, &st);
            bd_channel_status(ch, &st);
            int paused = st.state == BD_RUN_PAUSED;
            if ((st.state == BD_RUN_PAUSED || st.state == BD_RUN_RUNNING) && paused != remote_paused) {
                remote_paused = paused; /* the run's state changed: the viewer's flag follows it */
                pthread_mutex_lock(&ch->mu);
                ch->cmd_pause = paused;
                pthread_mutex_unlock(&ch->mu);
                sent_pause = paused;
            }
            if (!strcmp(type, "end")) {
                r = st.state == BD_RUN_DONE ? 0 : st.state == BD_RUN_STOPPED ? 1 : -2;
                if (r == -2) bd_errf(&w->err, "%s", st.message[0] ? st.message : "the run failed");
                json_decref(j);
                break;
            }
        } else if (!strcmp(type, "log")) {
            const char *line = json_string_value(json_object_get(j, "line"));
            if (line) bd_channel_log(ch, "%s", line);
        } else if (!strcmp(type, "mag")) {
            proxy_mag(ch, j);
        } else if (!strcmp(type, "error")) {
            const char *m = json_string_value(json_object_get(j, "message"));
            bd_channel_log(ch, "control: %s", m ? m : "error");
        }
        json_decref(j);
    }
out:
    bd_ctl_close(&c);
    pthread_mutex_lock(&ch->mu);
    w->result = r;
    w->finished = 1;
    pthread_mutex_unlock(&ch->mu);
    return NULL;
}

/* A thread with the viewer's signals blocked (they reach the viewer's thread). */
static int spawn(bd_worker *w, void *(*fn)(void *), bd_err *e) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &block, &old); /* the new thread inherits the mask */
    int rc = pthread_create(&w->th, NULL, fn, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) return bd_errf(e, "cannot start the training thread: %s", strerror(rc));
    w->started = 1;
    return 0;
}

int bd_worker_start(bd_worker *w, const bd_config *c, const char *resume_dir, bd_channel *ch, bd_err *e) {
    memset(w, 0, sizeof *w);
    w->c = *c;
    w->ch = ch;
    if (resume_dir) snprintf(w->resume, sizeof w->resume, "%s", resume_dir);
    return spawn(w, worker_main, e);
}

int bd_worker_attach(bd_worker *w, const char *run_dir, bd_channel *ch, bd_err *e) {
    memset(w, 0, sizeof *w);
    bd_config_defaults(&w->c);
    w->ch = ch;
    w->attached = 1;
    if (bd_path(w->resume, sizeof w->resume, e, "%s", run_dir)) return -1;
    return spawn(w, proxy_main, e);
}

int bd_worker_finished(bd_worker *w) {
    pthread_mutex_lock(&w->ch->mu);
    int f = w->finished;
    pthread_mutex_unlock(&w->ch->mu);
    return f;
}

int bd_worker_join(bd_worker *w, bd_err *e) {
    if (!w->started) return -1;
    pthread_join(w->th, NULL);
    w->started = 0;
    if ((w->result < 0 || w->result == 2) && e) *e = w->err;
    return w->result;
}

int bd_run_config(bd_config *c, const char *run_dir, bd_err *e) {
    char path[4200];
    if (bd_path(path, sizeof path, e, "%s/config.ini", run_dir)) return -1;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT && stat(run_dir, &st) == 0 && S_ISDIR(st.st_mode))
        /* a run killed in the instant between taking its directory and writing config.ini */
        return bd_errf(e, "%s has no config.ini: the run was stopped as it started, before it wrote its "
                          "configuration, so there is nothing to resume; start it again with its config "
                          "(a new run of the same run_name takes the directory over)", run_dir);
    bd_config_defaults(c);
    if (bd_config_load(c, path, e)) return -1;
    return bd_config_finish(c, e);
}
