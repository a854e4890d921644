/* trainer_priv.h: the trainer's state, shared by its files (trainer.c: set-up
 * and the loop; trainer_wd.c: weight decomposition; trainer_files.c: the run
 * directory's files and checkpoints). Not part of the public API. */
#ifndef BD_TRAINER_PRIV_H
#define BD_TRAINER_PRIV_H

#include <stdio.h>

#include "bilevel.h"
#include "channel.h"
#include "config.h"
#include "control.h"
#include "dataset.h"
#include "encode.h"
#include "model.h"
#include "optim.h"
#include "runlock.h"
#include "tokenizer.h"
#include "trainable.h"
#include "trainer.h"



struct bd_trainer {
    bd_config c;
    bd_channel *ch;
    char dir[4096];
    /* data: every row of every file in one encoded table */
    bd_dataset ds[3];          /* data, val_data, eval_data (unused ones empty) */
    bd_labels labels;
    bd_encoded enc;
    int n_truncated[3];        /* rows of each file cut to max_length (logged) */
    int *label_of;             /* [enc.n] class id (classification) */
    float *target_of;          /* [enc.n] target (regression) */
    int *tr, *va, *ev;         /* row lists: D_tr, D_val, eval */
    int n_tr, n_va, n_ev;
    int *fit;                  /* rows the lower level trains on (D_tr, or D_tr + D_val) */
    int n_fit;
    bd_tokenizer *tok;
    int pad_id;
    /* model */
    bd_bert m;
    bd_backend *be;            /* where the run computes (m.be) */
    char be_note[BD_ERR_MAX + 64]; /* why backend auto chose the CPU, or "" */
    bd_trainable t;
    bd_bert_acts a;
    bd_optim opt_dir, opt_mag, opt_full;
    bd_bilevel bl;             /* batch loss and BiDoRA's hypergradient */
    float *init_dir;           /* V at the start (phase 2 re-initialises to it) */
    float *full_w0;            /* full FT: initial query/value weights (for dM, dD) */
    /* position */
    long step, total_phase1, total, mstep;
    int phase;
    long epoch, pos;           /* shuffled order of fit rows, position in it */
    int *order;
    long val_epoch, val_pos;
    int *val_order;
    double best;
    long best_step;
    double wall0, wall_offset;
    /* the run directory: its lock, its files (one write(2) per commit, so a
     * row is in metrics.csv whole or not at all) */
    bd_runlock lock;
    bd_control *ctl;           /* RUN/control.sock while the lock is held (NULL if it could not be made) */
    long long started;         /* Unix time this process opened the run */
    int created_dir;           /* this process made t->dir (removed again if set-up fails) */
    char open_note[512];       /* what opening the directory did (logged once log.txt is open) */
    int metrics_fd, log_fd;
    char *mbuf;                /* metrics rows not yet committed to metrics.csv */
    size_t mlen, mcap;
    long long metrics_off;     /* bytes of metrics.csv committed (a checkpoint records it) */
    int io_failed;             /* a write failed: the run stops; io_err says where */
    bd_err io_err;
    long last_eval;            /* step of the last evaluation (-1: none) */
    int has_ckpt;              /* a checkpoint of this run exists on disk */
    long ckpt_logged;          /* the step of the last "checkpoint at step N" line (-1: none) */
    int ckpt_version;          /* of the one loaded on resume (1: metrics.csv is cut by step) */
    int done;                  /* the final evaluation and adapter are written */
    /* batch buffers */
    int32_t *ids, *tids, *lab, *vids, *vtids, *vlab;
    float *mask, *vmask, *tg, *vtg;
    int *rows;
    double last_loss;
    double rate;               /* steps per second, smoothed */
    /* weight-decomposition points (dD, dM) so far, per module kind, for the slope k */
    double *wd_x[BD_N_MODS], *wd_y[BD_N_MODS];
    int wd_n[BD_N_MODS], wd_cap[BD_N_MODS];
};

/* seconds since the run started (across resumes) */
double bd_tr_wall(const bd_trainer *t);
/* a line in log.txt and on the channel */
void bd_tr_log(bd_trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* one metrics.csv row (and a channel record) at the current metric step */
void bd_tr_metric(bd_trainer *t, const char *name, double v);

/* trainer_wd.c */
void bd_tr_wd_point(bd_trainer *t, const char *mod, double dD, double dM);
void bd_tr_weight_decomposition(bd_trainer *t);
void bd_tr_publish_magnitudes(bd_trainer *t);

/* Record the first failure of a write or allocation that cannot return an
 * error where it happens; the loop stops the run with it (exit status 2). */
void bd_tr_fail(bd_trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append metrics rows not yet in metrics.csv in one write; on failure the
 * file is cut back to its last whole row and t->io_err says why. */
int bd_tr_commit_metrics(bd_trainer *t);

/* trainer_files.c */
int bd_tr_save_model_dir(bd_trainer *t, const char *sub, bd_err *e);
/* 0 loaded; 1 there is no checkpoint (a run killed before its first) */
int bd_tr_load_checkpoint(bd_trainer *t, bd_err *e);
/* metrics.csv as the checkpoint left it (cut to its committed length, the
 * rows it carried appended), or just the header when there is none */
int bd_tr_restore_metrics(bd_trainer *t, const char *path, int have_ckpt, bd_err *e);

#endif
