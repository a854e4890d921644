#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int bd_optim_init_on(bd_optim *o, bd_backend *be, bd_optim_kind kind, size_t n, float beta1, float beta2,
                     float eps, float weight_decay, bd_err *e) {
    memset(o, 0, sizeof *o);
    o->be = be;
    o->kind = kind;
    o->beta1 = beta1; o->beta2 = beta2; o->eps = eps; o->weight_decay = weight_decay;
    o->n = n;
    if (kind == BD_OPT_ADAMW) {
        o->m1 = bd_be_allocf(be, n ? 2 * n : 1, "optimizer state"); /* m1 and m2 in one allocation */
        if (!o->m1) return bd_be_check(be, e);
        be->zero(be, o->m1, sizeof(float) * 2 * n);
        o->m2 = o->m1 + n;
    }
    return 0;
}

int bd_optim_init(bd_optim *o, bd_optim_kind kind, size_t n, float beta1, float beta2, float eps,
                  float weight_decay, bd_err *e) {
    return bd_optim_init_on(o, bd_backend_cpu(), kind, n, beta1, beta2, eps, weight_decay, e);
}

void bd_optim_free(bd_optim *o) {
    if (o->be) bd_be_free(o->be, o->m1);
    memset(o, 0, sizeof *o);
}

void bd_optim_step(bd_optim *o, float *w, const float *g, float lr) {
    o->t++;
    if (o->kind == BD_OPT_SGD) o->be->sgd_step(o->be, w, g, o->n, lr, o->weight_decay);
    else o->be->adamw_step(o->be, w, g, o->m1, o->m2, o->n, o->t, lr, o->beta1, o->beta2, o->eps, o->weight_decay);
}

double bd_lr_factor(bd_schedule s, long step, long total, long warmup) {
    if (warmup > 0 && step < warmup) return (double)step / (double)warmup;
    if (s == BD_SCHED_CONSTANT) return 1.0;
    if (total <= warmup) return 0.0;
    double f = (double)(total - step) / (double)(total - warmup);
    return f > 0.0 ? f : 0.0;
}

double bd_sumsq(const float *g, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return s;
}

void bd_scale(float *g, size_t n, float s) {
    for (size_t i = 0; i < n; i++) g[i] *= s;
}
