/* optim.h: AdamW and SGD over one parameter group (values, gradients and
 * moments each one allocation), the learning-rate schedule and gradient
 * clipping by global norm. Formulas as torch.optim computes them. */
#ifndef BD_OPTIM_H
#define BD_OPTIM_H

#include <stddef.h>
#include "backend.h"
#include "err.h"

typedef enum bd_optim_kind { BD_OPT_ADAMW = 0, BD_OPT_SGD = 1 } bd_optim_kind;

typedef struct bd_optim {
    bd_backend *be;      /* where the moments live and the step runs */
    bd_optim_kind kind;
    float beta1, beta2, eps, weight_decay;
    long t;              /* steps taken */
    size_t n;
    float *m1, *m2;      /* AdamW moments [n] (one allocation of be's memory, zeroed) */
} bd_optim;

/* On the CPU backend; bd_optim_init_on: on be (w and g given to the step are be's memory). */
int bd_optim_init(bd_optim *o, bd_optim_kind kind, size_t n, float beta1, float beta2, float eps,
                  float weight_decay, bd_err *e);
int bd_optim_init_on(bd_optim *o, bd_backend *be, bd_optim_kind kind, size_t n, float beta1, float beta2,
                     float eps, float weight_decay, bd_err *e);
void bd_optim_free(bd_optim *o);

/* One step on w[n] with gradient g[n] at learning rate lr.
 * AdamW (torch): w *= 1 - lr wd; m1 = b1 m1 + (1-b1) g; m2 = b2 m2 + (1-b2) g^2;
 *   w -= lr / (1 - b1^t) * m1 / (sqrt(m2) / sqrt(1 - b2^t) + eps).
 * SGD (torch, no momentum): w -= lr (g + wd w). */
void bd_optim_step(bd_optim *o, float *w, const float *g, float lr);

/* The schedule's multiplier of the base lr at step (0-based) of total:
 * linear warm-up over warmup steps, then linear decay to 0 (schedule
 * linear, as transformers' get_linear_schedule_with_warmup) or constant. */
typedef enum bd_schedule { BD_SCHED_LINEAR = 0, BD_SCHED_CONSTANT = 1 } bd_schedule;
double bd_lr_factor(bd_schedule s, long step, long total, long warmup);

/* Sum of squares of g[n] (accumulate over groups, then sqrt). */
double bd_sumsq(const float *g, size_t n);
void bd_scale(float *g, size_t n, float s);

#endif
