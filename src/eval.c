#include "eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int bd_evaluate(const bd_bert *m, const bd_encoded *enc, const int *rows, int n,
                const int *labels, const float *targets, bd_task task, int batch_size,
                int pad_id, bd_eval_result *r, bd_err *e) {
    memset(r, 0, sizeof *r);
    const int L = m->cfg.num_labels, T = enc->max_length;
    if (batch_size < 1) batch_size = 1;
    if (n <= 0) return bd_errf(e, "nothing to evaluate: 0 rows");
    if (task == BD_TASK_REGRESSION && L != 1)
        return bd_errf(e, "regression needs a 1-output head, the model has %d", L);
    bd_bert_acts a;
    if (bd_bert_acts_alloc(&a, m, batch_size, T, 0, e)) return -1;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)batch_size * T);
    int32_t *tids = malloc(sizeof(int32_t) * (size_t)batch_size * T);
    float *mask = malloc(sizeof(float) * (size_t)batch_size * T);
    float *probs = malloc(sizeof(float) * (size_t)batch_size * L);
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)batch_size);
    r->logits = malloc(sizeof(float) * (size_t)n * L);
    r->pred = malloc(sizeof(int) * (size_t)n);
    double *px = malloc(sizeof(double) * (size_t)n), *py = malloc(sizeof(double) * (size_t)n);
    int *gold = malloc(sizeof(int) * (size_t)n);
    int rc = -1;
    if (!ids || !tids || !mask || !probs || !lab || !r->logits || !r->pred || !px || !py || !gold) {
        bd_errf(e, "out of memory evaluating %d rows", n);
        goto out;
    }
    r->n = n; r->num_labels = L; r->task = task;
    double loss_sum = 0.0;
    for (int s = 0; s < n; s += batch_size) {
        int B = n - s < batch_size ? n - s : batch_size;
        int Tb = bd_make_batch(enc, rows + s, B, pad_id, ids, tids, mask);
        bd_bert_forward(m, &a, ids, tids, mask, B, Tb, NULL);
        memcpy(r->logits + (size_t)s * L, a.logits, sizeof(float) * (size_t)B * L);
        if (task == BD_TASK_CLASSIFICATION) {
            for (int b = 0; b < B; b++) lab[b] = labels[rows[s + b]];
            loss_sum += (double)bd_xent_fwd(probs, a.logits, lab, B, L) * B;
        } else {
            for (int b = 0; b < B; b++) {
                double d = (double)a.logits[b] - targets[rows[s + b]];
                loss_sum += d * d;
            }
        }
    }
    r->loss = loss_sum / n;
    for (int i = 0; i < n; i++) {
        const float *z = r->logits + (size_t)i * L;
        int best = 0;
        for (int l = 1; l < L; l++) if (z[l] > z[best]) best = l;
        r->pred[i] = best;
        if (task == BD_TASK_CLASSIFICATION) gold[i] = labels[rows[i]];
        else { px[i] = z[0]; py[i] = targets[rows[i]]; }
    }
    if (task == BD_TASK_CLASSIFICATION) {
        bd_cls_metrics_compute(&r->cls, r->pred, gold, n, L);
    } else {
        r->pearson = bd_pearson(px, py, n);
        r->spearman = bd_spearman(px, py, n);
    }
    rc = 0;
out:
    bd_bert_acts_free(&a);
    free(ids); free(tids); free(mask); free(probs); free(lab); free(px); free(py); free(gold);
    if (rc) bd_eval_result_free(r);
    return rc;
}

void bd_eval_result_free(bd_eval_result *r) {
    free(r->logits);
    free(r->pred);
    r->logits = NULL;
    r->pred = NULL;
}
