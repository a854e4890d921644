#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int bd_optim_init(bd_optim *o, bd_optim_kind kind, size_t n, float beta1, float beta2, float eps,
                  float weight_decay, bd_err *e) {
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->beta1 = beta1; o->beta2 = beta2; o->eps = eps; o->weight_decay = weight_decay;
    o->n = n;
    if (kind == BD_OPT_ADAMW) {
        o->m1 = calloc(n ? 2 * n : 1, sizeof(float)); /* m1 and m2 in one allocation */
        if (!o->m1) return bd_errf(e, "out of memory for optimizer state (%zu values)", 2 * n);
        o->m2 = o->m1 + n;
    }
    return 0;
}

void bd_optim_free(bd_optim *o) {
    free(o->m1);
    memset(o, 0, sizeof *o);
}

void bd_optim_step(bd_optim *o, float *w, const float *g, float lr) {
    o->t++;
    if (o->kind == BD_OPT_SGD) {
        for (size_t i = 0; i < o->n; i++) w[i] -= lr * (g[i] + o->weight_decay * w[i]);
        return;
    }
    const float b1 = o->beta1, b2 = o->beta2;
    const double bc1 = 1.0 - pow(b1, (double)o->t), bc2 = 1.0 - pow(b2, (double)o->t);
    const float step = (float)(lr / bc1), inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    const float decay = 1.0f - lr * o->weight_decay;
    for (size_t i = 0; i < o->n; i++) {
        w[i] *= decay;
        o->m1[i] = b1 * o->m1[i] + (1.0f - b1) * g[i];
        o->m2[i] = b2 * o->m2[i] + (1.0f - b2) * g[i] * g[i];
        w[i] -= step * o->m1[i] / (sqrtf(o->m2[i]) * inv_sqrt_bc2 + o->eps);
    }
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
