#include "worker.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

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

int bd_worker_start(bd_worker *w, const bd_config *c, const char *resume_dir, bd_channel *ch, bd_err *e) {
    memset(w, 0, sizeof *w);
    w->c = *c;
    w->ch = ch;
    if (resume_dir) snprintf(w->resume, sizeof w->resume, "%s", resume_dir);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &block, &old); /* the new thread inherits the mask */
    int rc = pthread_create(&w->th, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) return bd_errf(e, "cannot start the training thread: %s", strerror(rc));
    w->started = 1;
    return 0;
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
    bd_config_defaults(c);
    if (bd_config_load(c, path, e)) return -1;
    return bd_config_finish(c, e);
}
