/* trainer.h: one training run: data, model, adapters, optimizers, the step
 * loop (full fine-tuning, LoRA, DoRA, BiDoRA phase 1 and 2), evaluation,
 * metrics.csv, checkpoints and resume, the run directory. It publishes to a
 * channel and never prints. */
#ifndef BD_TRAINER_H
#define BD_TRAINER_H

#include "channel.h"
#include "config.h"
#include "dataset.h"
#include "err.h"
#include "eval.h"

typedef struct bd_trainer bd_trainer;

/* Set up a run from c (bd_config_finish already applied). resume_dir: a
 * run directory to continue from its checkpoint, or from step 0 when it has
 * none (c is then read from its config.ini by the caller; only the keys
 * bd_trainer_key_resumable names may differ from it, and config.ini is
 * rewritten with them). Without resume_dir it creates out_dir/run_name
 * exclusively (or takes over one without a checkpoint). Either way it holds
 * the directory's lock (runlock.h) until bd_trainer_close.
 * Returns 0, -1 on failure (e says why: bad input, or another process holds
 * the run), or 1 when the resumed run is already finished (e says so, and
 * nothing in the directory was changed). */
int bd_trainer_open(bd_trainer **t, const bd_config *c, const char *resume_dir, bd_channel *ch, bd_err *e);

/* Keys a resume may change: max_steps, epochs (train longer), retrain_steps,
 * eval_every, checkpoint_every; the list as text for messages. */
int bd_trainer_key_resumable(const char *key);
const char *bd_trainer_resumable_keys(void);

/* Train until the end or until the channel asks to stop. Returns 0 when
 * finished, 1 when stopped early (a checkpoint was written), -1 on failure
 * (e says why; the last good checkpoint stays). Rows reach metrics.csv
 * whole, a step's at a time; a failed write of metrics.csv or log.txt stops
 * the run (-1, naming the file and the error) after a checkpoint if one can
 * be written. */
int bd_trainer_run(bd_trainer *t, bd_err *e);

/* Write a checkpoint now (temp name + rename). */
int bd_trainer_checkpoint(bd_trainer *t, bd_err *e);

const char *bd_trainer_dir(const bd_trainer *t);

/* A run's held-out evaluation, again: the eval rows of the run configured by c
 * (its config.ini), built by the trainer's own loading code (the same files,
 * labels, tokenizer, max_length, split and seed), scored in batches of
 * c->batch_size by model_dir: an adapter of the run (best/ or adapter/), or
 * for method full a model directory. Fills r, the label names (classification)
 * and, per scored row, its gold label or target and its row in its CSV file. */
typedef struct bd_run_eval {
    bd_eval_result r;
    bd_labels labels;
    int *gold;          /* [r.n] class ids (classification) */
    float *target;      /* [r.n] targets (regression) */
    int *file_row;      /* [r.n] the row's index in eval_file (0 = first data row) */
    char eval_file[BD_STR];
} bd_run_eval;
int bd_trainer_eval_run(const bd_config *c, const char *model_dir, bd_eval_progress progress, void *ctx,
                        bd_run_eval *out, bd_err *e);
void bd_run_eval_free(bd_run_eval *x);

/* What a run of c would be, found the way the run finds it (bd_trainer_open's own
 * set-up: tokenizer, model limits, columns, labels, tokens, split, model, adapters,
 * target_modules), without a run directory; then, with time_steps, real steps on real
 * batches, timed: a warm-up step, then steps for about a second (each kind's median);
 * when the warm-up step alone takes over a second, only the kinds still missing get one
 * step each (a large model's BiDoRA step is seconds). Returns -1 with e saying why the run
 * would fail. */
typedef struct bd_preflight {
    int n_tr, n_va, n_ev, n_fit;        /* rows of D_tr, D_val (BiDoRA's upper level), eval; rows trained on */
    int n_rows;                         /* all rows tokenised */
    int tok_median, tok_p95, tok_max;   /* tokens a row (after truncation) */
    int n_truncated, max_length;        /* rows cut by max_length */
    size_t n_adapter, n_mag, n_head, n_full; /* trainable values: A and B, m, the head; full fine-tuning's */
    long total, total_phase1;           /* planned steps (and phase 1's) */
    long n_upper;                       /* of phase 1's steps, those with an upper-level step */
    double ms_lower, ms_upper, ms_phase2; /* measured step times (NAN: not measured) */
    double est_s;                       /* the run's steps at those times (evaluations not counted) */
    int from_warmup;                    /* ms_upper (BiDoRA) or ms_lower is the warm-up step's */
    int timed;                          /* the steps were timed */
    char device[160];
} bd_preflight;
int bd_trainer_preflight(const bd_config *c, bd_preflight *p, int time_steps, bd_err *e);
/* The pre-flight as lines of text (rows, tokens, trainable values, step times,
 * the run's time) into lines[max]; returns how many. The CLI and the workbench
 * both show these. */
int bd_preflight_lines(const bd_preflight *p, const bd_config *c, char (*lines)[320], int max);

/* For tests: one training step; the trainable values (V or the whole model,
 * and M); the planned steps (and those of phase 1). */
int bd_trainer_step(bd_trainer *t, bd_err *e);
void bd_trainer_params(const bd_trainer *t, const float **v, size_t *nv, const float **m, size_t *nm);
long bd_trainer_steps(const bd_trainer *t, long *phase1);
void bd_trainer_close(bd_trainer *t);

#endif
