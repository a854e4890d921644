/* trainer.h: one training run: data, model, adapters, optimizers, the step
 * loop (full fine-tuning, LoRA, DoRA, BiDoRA phase 1 and 2), evaluation,
 * metrics.csv, checkpoints and resume, the run directory. It publishes to a
 * channel and never prints. */
#ifndef BD_TRAINER_H
#define BD_TRAINER_H

#include "channel.h"
#include "config.h"
#include "err.h"

typedef struct bd_trainer bd_trainer;

/* Set up a run from c (bd_config_finish already applied). resume_dir: a
 * run directory to continue from its checkpoint (c is then read from its
 * config.ini by the caller). Creates the run directory. */
int bd_trainer_open(bd_trainer **t, const bd_config *c, const char *resume_dir, bd_channel *ch, bd_err *e);

/* Train until the end or until the channel asks to stop. Returns 0 when
 * finished, 1 when stopped early (a checkpoint was written), -1 on failure
 * (e says why; the last good checkpoint stays). */
int bd_trainer_run(bd_trainer *t, bd_err *e);

/* Write a checkpoint now (temp name + rename). */
int bd_trainer_checkpoint(bd_trainer *t, bd_err *e);

const char *bd_trainer_dir(const bd_trainer *t);

/* For tests: one training step; the trainable values (V or the whole model,
 * and M); the planned steps (and those of phase 1). */
int bd_trainer_step(bd_trainer *t, bd_err *e);
void bd_trainer_params(const bd_trainer *t, const float **v, size_t *nv, const float **m, size_t *nm);
long bd_trainer_steps(const bd_trainer *t, long *phase1);
void bd_trainer_close(bd_trainer *t);

#endif
