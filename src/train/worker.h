/* worker.h: the training thread. Opens and runs a trainer in its own
 * pthread (loading too, so a viewer never waits), with SIGINT, SIGTERM,
 * SIGHUP and SIGWINCH blocked there: signals reach the viewer's thread,
 * which turns them into channel commands. */
#ifndef BD_WORKER_H
#define BD_WORKER_H

#include <pthread.h>
#include "channel.h"
#include "config.h"
#include "err.h"

typedef struct bd_worker {
    pthread_t th;
    bd_channel *ch;
    bd_config c;
    char resume[4096];
    int result;              /* 0 done, 1 stopped, 2 already finished (nothing done; err says so),
                                -1 set-up failed (bad input, run held by another), -2 training failed */
    bd_err err;
    int started;
    int finished;            /* guarded by ch->mu */
} bd_worker;

int bd_worker_start(bd_worker *w, const bd_config *c, const char *resume_dir, bd_channel *ch, bd_err *e);
int bd_worker_finished(bd_worker *w);
/* Wait for the thread; returns its result (e gets the failure). */
int bd_worker_join(bd_worker *w, bd_err *e);

/* Read DIR/config.ini of an earlier run (for --resume). */
int bd_run_config(bd_config *c, const char *run_dir, bd_err *e);

#endif
