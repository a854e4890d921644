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
                                -1 set-up failed (bad input, run held by another), -2 training failed,
                                3 (attached) the viewer left; the run goes on */
    int attached;            /* a proxy of another process's run (bd_worker_attach) */
    bd_err err;
    int started;
    int finished;            /* guarded by ch->mu */
} bd_worker;

int bd_worker_start(bd_worker *w, const bd_config *c, const char *resume_dir, bd_channel *ch, bd_err *e);
/* A proxy of the live run in run_dir (another process's; control.h): it
 * publishes that run's status, log lines and magnitudes on ch as a trainer
 * would, and sends ch's commands (pause, stop, save, the magnitude
 * selection) to it; cmd_detach disconnects (result 3). Metrics are not on
 * the socket: the viewer follows run_dir/metrics.csv. */
int bd_worker_attach(bd_worker *w, const char *run_dir, bd_channel *ch, bd_err *e);
int bd_worker_finished(bd_worker *w);
/* Wait for the thread; returns its result (e gets the failure). */
int bd_worker_join(bd_worker *w, bd_err *e);

/* Read DIR/config.ini of an earlier run (for --resume). */
int bd_run_config(bd_config *c, const char *run_dir, bd_err *e);

#endif
